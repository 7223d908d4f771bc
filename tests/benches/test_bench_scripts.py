"""Every script under benches/ runs: `--help` (exit 0), a mistake (one line, exit 2) and a run
at a tiny size (exit 0, its JSON and its files). The scripts import the packages they measure,
so a renamed function breaks this test instead of rotting unseen until someone benchmarks."""

import hashlib
import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from solvency.generate import generate

ROOT = Path(__file__).resolve().parent.parent.parent
BENCHES = ROOT / "benches"
SCRIPTS = (
    "bench_stark.py", "bench_leaves.py", "bench_poseidon2.py", "bench_verify.py",
    "bench_haircuts.py", "bench_web_verify.py", "bench_okx.py",
)  # fmt: skip


def bench(script: str, *args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """One benchmark script as a person runs it: `python benches/SCRIPT ARGS`."""
    return subprocess.run(
        [sys.executable, str(BENCHES / script), *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout,
    )  # fmt: skip


def json_lines(stdout: str) -> list[dict]:
    """The JSON objects a script printed, one a line."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_every_script_is_tested():
    assert sorted(p.name for p in BENCHES.glob("bench_*.py")) == sorted(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    result = bench(script, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage:") and "--out" in result.stdout


@pytest.mark.parametrize(
    "script, args, words",
    [
        ("bench_stark.py", ["--cols", "2"], "--cols"),
        ("bench_leaves.py", ["x", "none"], "USERS"),
        ("bench_leaves.py", ["8", "w99"], "w99"),
        ("bench_poseidon2.py", ["--log-perms", "2,x"], "--log-perms"),
        ("bench_verify.py", ["--users", "0"], "--users"),
        ("bench_haircuts.py", ["--tiers", "9"], "--tiers"),
        ("bench_web_verify.py", ["--repeat", "0"], "--repeat"),
        ("bench_okx.py", ["--users", "4096"], "--users"),
    ],
)
def test_a_mistake_is_one_line(script, args, words):
    result = bench(script, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error:") and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_make_bench_core_at_a_tiny_size(tmp_path):
    """`make bench-core` (bench_stark.py with and without zero knowledge), at 8 rows x 3."""
    venv = Path(sys.executable).parent.parent
    # -o install: never (re)install into the running environment (from another checkout's
    # sources, say, when pyproject.toml is newer than the venv's stamp)
    result = subprocess.run(
        ["make", "-s", "-o", "install", "bench-core", f"VENV={venv}", "BENCH_LOG_ROWS=3",
         "BENCH_COLS=3", f"BENCH_OUT={tmp_path}"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    runs = json_lines(result.stdout)
    assert [(r["rows"], r["cols"], r["zk"]) for r in runs] == [(8, 3, True), (8, 3, False)]
    for r in runs:
        phases = [k for k in r if k.startswith("phase_")]
        assert phases[0] == "phase_main_trace_LDE_s" and phases[-1] == "phase_queries_s"
        assert r["prove_s"] > 0 and r["proof_bytes"] > 0
    assert "prove: main trace LDE" in result.stderr  # the table, by phase
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"stark_fast_{m}_8x3.{e}" for m in ("plain", "zk") for e in ("csv", "json")]


def test_bench_leaves_at_a_tiny_size(tmp_path):
    result = bench("bench_leaves.py", "8", "none", "--out", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (row,) = json_lines(result.stdout)
    assert "error" not in row and row["users"] == 8 and row["prove_s"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaves_8.csv", "leaves_8.json"]


def test_bench_poseidon2_at_a_tiny_size(tmp_path):
    args = ("--log-perms", "2", "--layouts", "horizontal", "--preset", "fast", "--save")
    result = bench("bench_poseidon2.py", *args, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = json_lines(result.stdout)
    assert row["layout"] == "horizontal" and row["perms"] == 4 and row["prove_s"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["poseidon2_w16_fast.csv"]


def test_bench_verify_at_a_tiny_size(tmp_path):
    args = ("--users", "16", "--assets", "2", "--repeat", "1", "--busy", "0", "--preset", "fast")
    result = bench("bench_verify.py", *args, "--out", tmp_path / "out", "--cache", tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out" / "verify_16x2_fast.json").read_text())
    assert summary["users"] == 16 and summary["runs"][0]["verdict"] in ("met", "MISSED")
    assert len(summary["times_s"]["idle (no added load)"]) == 1


def test_bench_haircuts_at_a_tiny_size(tmp_path):
    """The three forms of the same users at 600 x 2, fast: columns grow with each, the
    summary and its targets are computed from the rows measured."""
    args = ("--users", "600", "--assets", "2", "--preset", "fast", "--out", tmp_path)
    result = bench("bench_haircuts.py", *args)
    assert result.returncode == 0, result.stderr
    (summary,) = json_lines(result.stdout)
    columns = [row["main_columns"] for row in summary["rows"]]
    assert [row["form"] for row in summary["rows"]] == ["format-1", "gross", "tables"]
    assert columns[0] < columns[1] < columns[2]
    assert summary["gross_columns"] == columns[1] - columns[0] == 7 * 2 + 12
    assert set(summary["targets"]) == {
        "tables_over_gross",
        "peak_rss_mb",
        "proof_bytes",
        "verify_s",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["haircuts_600x2_fast.json"]


def test_bench_okx_without_okx_at_a_tiny_size(tmp_path):
    """OKX's code is not here: the script converts the snapshot, measures ours, says in one
    line that OKX's prover was not found and exits 3; its input file holds the snapshot's
    balances in micro-USD, floor(e * price * 10^6 / 10^decimals), under SHA-256 ids."""
    args = ("--users", "8", "--assets", "2", "--preset", "fast", "--okx", tmp_path / "absent")
    result = bench("bench_okx.py", *args, "--work", tmp_path / "work", "--out", tmp_path / "out")
    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("OKX's prover not found at") and "absent" in last, result.stderr
    (summary,) = json_lines(result.stdout)
    assert summary["okx"] == {"skipped": f"not found at {tmp_path / 'absent'}"}
    (ours,) = summary["ours"]
    assert ours["users"] == 8 and ours["rows"] == 512 and ours["total_s"] > 0
    assert "okx_over_ours" not in ours
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["okx_8x2_fast.json"]

    data = generate(8, 2, seed=1)
    config = json.loads((tmp_path / "work" / "okx_config.json").read_text())
    rows = json.loads((tmp_path / "work" / "okx_input.json").read_text())
    symbols = [a["symbol"] for a in data.assets]
    assert config == {"main_coins_num": 2, "coins": symbols}
    assert [r["id"] for r in rows] == [hashlib.sha256(i.encode()).hexdigest() for i in data.ids]
    for row, balances in zip(rows, data.balances.tolist(), strict=True):
        for a, e in zip(data.assets, balances, strict=True):
            micro = Fraction(a["price"]) * e * 10**6 / 10 ** a["decimals"]
            assert int(row[a["symbol"]]) == math.floor(micro)
    assert (data.balances < 0).any()  # a debt among them: rounded down, not towards zero


def test_bench_okx_ours_only(tmp_path):
    """--ours-only skips OKX on purpose: exit 0, and the summary says it was skipped; --ours-at
    measures ours alone past OKX's 4,095 users."""
    args = ("--users", "8", "--assets", "1", "--preset", "fast", "--ours-only", "--ours-at", 4100)
    result = bench("bench_okx.py", *args, "--okx", tmp_path / "absent", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    (summary,) = json_lines(result.stdout)
    assert summary["okx"] == {"skipped": "--ours-only"} and summary["okx_input"] is None
    assert [(r["users"], r["rows"]) for r in summary["ours"]] == [(8, 512), (4100, 8192)]
    assert "not found" not in result.stderr
