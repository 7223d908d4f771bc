"""web/test/fixtures/stark_values.json, which web/'s node tests check the JavaScript STARK
modules against (ext.js, transcript.js, proof.js, stark_merkle.js), is what
web/tools/export_stark_values.py computes from the Python of this checkout: a change of the
transcript, the extension field, the proof format or the golden proofs must regenerate it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.web.fixtures import assert_fresh

ROOT = Path(__file__).resolve().parents[2]


def test_stark_fixture_is_up_to_date():
    path = ROOT / "web" / "tools" / "export_stark_values.py"
    spec = importlib.util.spec_from_file_location("export_stark_values", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert_fresh(module, "web/tools/export_stark_values.py")
