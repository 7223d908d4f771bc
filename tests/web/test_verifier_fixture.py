"""web/test/fixtures/verifier_values.json, which web/test/verifier.test.js checks verifier.js
against, is what web/tools/export_verifier_values.py computes from the Python of this
checkout: a change of the verifier, the prover or the example proofs must regenerate it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_verifier_fixture_is_up_to_date():
    path = ROOT / "web" / "tools" / "export_verifier_values.py"
    spec = importlib.util.spec_from_file_location("export_verifier_values", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.render(module.build())
    committed = module.OUT.read_text()
    assert fresh == committed, (
        "web/test/fixtures/verifier_values.json is stale: run "
        "PYTHONPATH=$PWD .venv/bin/python web/tools/export_verifier_values.py"
    )
