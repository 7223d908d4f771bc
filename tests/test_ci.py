"""CI's entry point, .ci/run, with `make` replaced by a stub that records how it was called:
it runs exactly `make test` (the README's command) against an empty numba cache of its own,
removed afterwards."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAKE_MAKE = """#!/usr/bin/env bash
{ echo "args=$*"; echo "cache=$NUMBA_CACHE_DIR"; ls -A "$NUMBA_CACHE_DIR" | wc -l; } > "$RECORD"
"""


def test_ci_runs_make_test_with_a_fresh_numba_cache(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").write_text(FAKE_MAKE)
    (bin_dir / "make").chmod(0o755)
    record = tmp_path / "record"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RECORD": str(record)}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "a warm cache")  # what CI must not reuse
    done = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    args, cache, entries = record.read_text().splitlines()
    assert args == "args=test"
    cache_dir = Path(cache.removeprefix("cache="))
    assert cache_dir.name.startswith("numba-cache.") and entries.strip() == "0"
    assert not cache_dir.exists()  # removed after the run
