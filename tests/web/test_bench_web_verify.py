"""benches/bench_web_verify.py runs as a person runs it: `--help`, a mistake (one line, exit 2),
and tiny runs of the whole JS publication check on the golden publications (one batch, and three
batches with the aggregation) in node, and in Chromium where /usr/bin/chromium exists. A run
checks more than that it finishes: every check must give VALID with Python's verdict line, word
for word (the script compares them; bench_verify.mjs fails on another verdict). Timings are
recorded, never asserted. Without node the tests skip, or fail when the environment variable CI
is set."""

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
GOLDEN = ROOT / "tests" / "golden" / "publication-2"
VERIFY_PHASES = [
    "parse proof", "parameters", "transcript start", "transcript replay", "periodic columns at z",
    "constraints at z", "openings", "DEEP", "FRI",
]  # fmt: skip
BATCH_PHASES = [
    "read files", "statement", "proof digest", "leaves' root", "batch AIR", *VERIFY_PHASES,
    "users' root",
]  # fmt: skip
AGGREGATION_PHASES = ["aggregation: AIR", *(f"aggregation: {p}" for p in VERIFY_PHASES)]


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


def python_line(publication: Path) -> str:
    """`solvency verify PUBLICATION`'s verdict line."""
    from solvency.commands.verify import checked_publication, verdict_line

    return "VALID: " + verdict_line(checked_publication(publication, "provable", 100.0), "provable")


def test_help():
    result = bench("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage:") and "--out" in result.stdout


def tampered(tmp_path: Path) -> Path:
    """The one-batch golden publication with one leaf element changed (Python: INVALID)."""
    copy = tmp_path / "tampered"
    shutil.copytree(GOLDEN / "one-batch", copy)
    leaves = copy / "batches" / "b00000" / "leaves.bin"
    data = bytearray(leaves.read_bytes())
    data[40] ^= 1
    leaves.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize(
    "args, words",
    [
        ((GOLDEN / "one-batch", "--repeat", "0"), "--repeat"),
        ((GOLDEN,), "statement.json"),
        (("TAMPERED",), "INVALID: "),
    ],
)
def test_a_mistake_is_one_line(tmp_path, args, words):
    args = [tampered(tmp_path) if a == "TAMPERED" else a for a in args]
    result = bench(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error:") and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bench_verify_fails_unless_the_check_is_valid(tmp_path):
    """bench_verify.mjs itself refuses to time a publication the JS check does not find VALID."""
    _needs_node()
    result = subprocess.run(
        ["node", str(ROOT / "web" / "tools" / "bench_verify.mjs"), str(tampered(tmp_path)),
         "--repeat", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "the check did not give VALID: INVALID: " in result.stderr, result.stderr


@pytest.mark.parametrize("engines", ["node", "chromium"])
@pytest.mark.parametrize(
    "name, users, batches", [("one-batch", 512, 1), ("three-batches", 1536, 3)]
)
def test_a_tiny_run_on_a_golden_publication(tmp_path, engines, name, users, batches):
    _needs_node()
    if engines == "chromium" and not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    publication = GOLDEN / name
    result = bench(publication, "--repeat", "1", "--engines", engines, "--label", "smoke",
                   "--out", tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    stem = f"web_verify_{users}x3_proven" + ("_3batches" if batches > 1 else "")
    saved = json.loads((tmp_path / f"{stem}_smoke.json").read_text())
    size = (saved["users"], saved["assets"], saved["batches"], saved["runs"])
    assert size == (users, 3, batches, 1)
    assert saved["verdict_line"] == python_line(publication)
    run = saved["engines"][engines]
    phases = [*BATCH_PHASES, *(AGGREGATION_PHASES if batches > 1 else []), "verdict"]
    assert list(run["median_ms"]) == [*phases, "total"]
    assert list(run["cold_median_ms"]) == [*phases, "total"]
    assert all(len(times) == 1 for times in run["runs_ms"].values())
    # every phase was met: once per batch for a batch's, once for the others
    per_batch = {"proof digest", "leaves' root", "batch AIR", *VERIFY_PHASES}
    assert run["visits"] == {p: batches if p in per_batch else 1 for p in phases}
    # and they add up to the total
    total = run["median_ms"]["total"]
    assert sum(run["median_ms"][p] for p in phases) == pytest.approx(total, rel=1e-9)


def test_the_page_itself_on_a_golden_publication(tmp_path):
    """--engines page: the page web/build.py builds from this checkout, loaded twice; each load
    must settle on Python's verdict line (the script compares them)."""
    from tests.web.conftest import _missing  # skip, or fail under CI, as the page's tests do

    if not Path("/usr/bin/chromium").exists():
        _missing("chromium (/usr/bin/chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("playwright (pip install playwright; never `playwright install`)")
    publication = GOLDEN / "one-batch"
    result = bench(publication, "--repeat", "1", "--engines", "page", "--label", "smoke",
                   "--out", tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "web_verify_512x3_proven_smoke.json").read_text())
    assert saved["verdict_line"] == python_line(publication)
    run = saved["engines"]["page"]
    assert list(run["median_ms"]) == ["total"] and len(run["runs_ms"]["total"]) == 1
    assert run["cold_median_ms"]["total"] > 0
