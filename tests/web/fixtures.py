"""The staleness check every exported fixture of web/test/fixtures shares."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def assert_fresh(module, tool: str) -> None:
    """`module` (an exporter with build, render and OUT) writes exactly the committed fixture.
    A stale one fails with one line naming the command that rewrites it, never with a diff:
    pytest's difflib takes many minutes over megabytes of JSON."""
    fresh = module.render(module.build())
    committed = module.OUT.read_text()
    if fresh != committed:
        at = next(
            (i for i, (a, b) in enumerate(zip(fresh, committed, strict=False)) if a != b),
            min(len(fresh), len(committed)),
        )
        name = Path(module.OUT).resolve().relative_to(ROOT)
        pytest.fail(
            f"{name} is stale (they differ from character {at}): "
            f"run PYTHONPATH=$PWD .venv/bin/python {tool}",
            pytrace=False,
        )
