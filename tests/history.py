"""A module as it was at an earlier commit, for the tests that compare proofs byte for byte
with what the code made before a change."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_at(commit: str, path: str) -> ModuleType:
    """`path` (e.g. circuits/solvency.py) at `commit`, imported as its own module; the test
    is skipped where the repository's history is not available."""
    try:
        source = subprocess.run(
            ["git", "show", f"{commit}:{path}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"the repository's history (commit {commit}) is not available")
    name = f"_{Path(path).stem}_at_{commit}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    try:
        exec(compile(source, f"{commit}:{path}", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module
