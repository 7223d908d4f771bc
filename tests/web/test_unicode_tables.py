"""web/src/unicode_tables.js is Python's unicodedata, as web/tools/gen_unicode.py writes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "web" / "tools" / "gen_unicode.py"


def test_the_unicode_tables_are_pythons() -> None:
    spec = importlib.util.spec_from_file_location("gen_unicode", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.OUT.read_text(encoding="utf-8") == tool.module_text(), (
        "web/src/unicode_tables.js is stale: run python web/tools/gen_unicode.py"
    )
