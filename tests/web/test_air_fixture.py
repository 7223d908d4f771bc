"""web/test/fixtures/air_values.json, which web/test/solvency_air.test.js checks the hand port
web/src/solvency_air.js against, is what tests/web/trace_air.py computes from the Python of
this checkout: a change of SolvencyAir (its layout, constraints, boundaries, periodic
columns or public inputs) or of Statement.encode must regenerate it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.web.fixtures import assert_fresh

ROOT = Path(__file__).resolve().parents[2]


def test_air_fixture_is_up_to_date():
    path = ROOT / "tests" / "web" / "trace_air.py"
    spec = importlib.util.spec_from_file_location("trace_air", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert_fresh(module, "tests/web/trace_air.py")


def test_solvency_proofs_fixture_is_up_to_date():
    """web/test/fixtures/solvency_proofs.json (real proofs and Python's verdicts on mutated
    statements, for web/test/solvency_proof.test.js) is what its exporter writes now."""
    path = ROOT / "web" / "tools" / "export_solvency_proofs.py"
    spec = importlib.util.spec_from_file_location("export_solvency_proofs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert_fresh(module, "web/tools/export_solvency_proofs.py")
