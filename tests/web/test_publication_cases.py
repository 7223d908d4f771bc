"""web/test/fixtures/publication_cases.json, the corpus web/test/check.test.js checks
web/src/check.js against, is what web/tools/export_publication_cases.py computes from the
Python of this checkout (a change of `solvency verify`, check_publication, read_statement, the
verifier or the golden publications must regenerate it); and the lines the node test derives
from a --json report are the lines `solvency verify` prints without --json."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
from pathlib import Path

import pytest

from solvency.commands.verify import run_verify
from tests.web.fixtures import assert_fresh

ROOT = Path(__file__).resolve().parents[2]


def exporter():
    path = ROOT / "web" / "tools" / "export_publication_cases.py"
    spec = importlib.util.spec_from_file_location("export_publication_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_publication_cases_fixture_is_up_to_date():
    module = exporter()
    assert_fresh(module, "web/tools/export_publication_cases.py")


def printed(folder: Path, accept: bool, min_bits: float, as_json: bool) -> tuple[int, str]:
    out = io.StringIO()
    previous = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = run_verify(Path("."), None, accept, min_bits, as_json)
    finally:
        os.chdir(previous)
    return code, out.getvalue()


@pytest.mark.parametrize(
    "label",
    ["the golden publication (VALID)", "issuer changed", "asset 0 price off by one digit",
     "security.provable_bits +0.01"],
)  # fmt: skip
def test_the_text_lines_are_the_json_reports(tmp_path, label):
    """For a VALID and three INVALID cases of each base: the text output ends with
    "VALID: <message>" after the "WARNING: <warning>" lines, or is "INVALID: <message>" then
    "detail: <reason>", as the node test reads them from the --json report."""
    module = exporter()
    cases = [c for c in module.corpus() if c.label == label]
    assert len(cases) == len(module.BASES)
    for case in cases:
        module.write_files(tmp_path, case.files, {})
        for accept in (False, True):
            code, text = printed(tmp_path, accept, 100.0, as_json=False)
            code_json, report_text = printed(tmp_path, accept, 100.0, as_json=True)
            report = json.loads(report_text)
            lines = text.splitlines()
            assert code == code_json
            if report["verdict"] == "valid":
                assert lines[-1] == f"VALID: {report['message']}"
                warnings = [
                    line.removeprefix("WARNING: ") for line in lines if line.startswith("WARNING: ")
                ]
                assert warnings == report["warnings"]
            else:
                assert lines == [f"INVALID: {report['message']}", f"detail: {report['reason']}"]
