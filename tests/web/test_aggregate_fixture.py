"""web/test/fixtures/aggregate_values.json, which web/test/aggregate_air.test.js checks the hand
port web/src/aggregate_air.js against, is what tests/web/trace_aggregate.py computes from the
Python of this checkout: a change of AggregateAir (its layout, constraints, boundaries,
periodic columns or public inputs), of TotalsCommitmentGadget, of the Poseidon2 gadget or of
AggregateStatement (its checks or encode) must regenerate it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.web.fixtures import assert_fresh

ROOT = Path(__file__).resolve().parents[2]


def _load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_aggregate_fixture_is_up_to_date():
    module = _load("tests/web/trace_aggregate.py", "trace_aggregate")
    assert_fresh(module, "tests/web/trace_aggregate.py")


def test_aggregate_proofs_fixture_is_up_to_date():
    """web/test/fixtures/aggregate_proofs.json (the golden aggregation statements, the SHA-256
    of their aggregate.bin, and Python's verdicts on changed statements and policies, for
    web/test/aggregate_proof.test.js) is what its exporter writes now."""
    module = _load("web/tools/export_aggregate_proofs.py", "export_aggregate_proofs")
    assert_fresh(module, "web/tools/export_aggregate_proofs.py")
