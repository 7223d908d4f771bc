"""benches/bench_web_verify.py runs as a person runs it: `--help`, a mistake (one line, exit 2),
and a tiny run on a golden publication (512 users x 3 assets) in node, and in Chromium where
/usr/bin/chromium exists. The run checks more than that it finishes: bench_verify.mjs fails
unless the JS verifier accepts the proof, the leaves' root and the proof's SHA-256 are the
statement's. Timings are recorded, never asserted. Without node the tests skip, or fail when
the environment variable CI is set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benches" / "bench_web_verify.py"
GOLDEN = ROOT / "tests" / "golden" / "publication-2" / "one-batch"


def _needs_node() -> None:
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node (Node.js 20 or later) is not installed: web/'s tests cannot run")
        pytest.skip("node is not installed")


def bench(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_help():
    result = bench("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage:") and "--out" in result.stdout


@pytest.mark.parametrize(
    "args, words",
    [((GOLDEN, "--repeat", "0"), "--repeat"), ((GOLDEN.parent,), "statement.json")],
)
def test_a_mistake_is_one_line(args, words):
    result = bench(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error:") and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("engines", ["node", "chromium"])
def test_a_tiny_run_on_a_golden_publication(tmp_path, engines):
    _needs_node()
    if engines == "chromium" and not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    result = bench(GOLDEN, "--repeat", "1", "--engines", engines, "--label", "smoke",
                   "--out", tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "web_verify_512x3_proven_smoke.json").read_text())
    assert (saved["users"], saved["assets"], saved["repeat"]) == (512, 3, 1)
    run = saved["engines"][engines]
    assert run["median_ms"]["total"] > 0
    assert list(run["median_ms"]) == [
        "read leaves.bin", "leaves' root", "SHA-256 of proof.bin", "parse proof", "parameters",
        "transcript start", "transcript replay", "periodic columns at z", "constraints at z",
        "openings", "DEEP", "FRI", "total",
    ]  # fmt: skip
    assert all(len(times) == 1 for times in run["runs_ms"].values())
