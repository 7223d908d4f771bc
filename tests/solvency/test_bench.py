"""`solvency bench`: the prover's seconds by phase, its bound and its ratio to the bound."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import stark.prover
from solvency import bench
from stark.examples import WideAir, wide_trace
from stark.params import PRESETS

SCRIPT = Path(sys.executable).with_name("solvency")

PROVER_KEYS = ["witness_s", "proofs", "proofs_s", "bound_lde_s", "bound_hash_s", "bound_s"]


def solvency(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def assert_consistent(row: dict, proofs: int) -> None:
    """Every prover field is there; the ratio is prove() over the bound; the phases add up to
    prove(), which is part of the job's prove_s."""
    for key in [*PROVER_KEYS, "prove_over_bound", "peak_rss_mb"]:
        assert key in row, key
    assert row["proofs"] == proofs
    phases = [bench.phase_key(name) for name in bench.PHASES]
    assert [k for k in row if k.startswith("phase_")] == phases
    assert abs(sum(row[k] for k in phases) - row["proofs_s"]) <= 0.01 * len(phases) + 0.05
    assert 0 < row["proofs_s"] <= row["prove_s"] and row["witness_s"] >= 0
    assert row["bound_s"] > 0
    assert abs(row["bound_lde_s"] + row["bound_hash_s"] - row["bound_s"]) <= 0.011
    # the ratio is of the unrounded seconds; the row holds them to 0.01 s (tiny at small sizes)
    low = (row["proofs_s"] - 0.005) / (row["bound_s"] + 0.005)
    high = (row["proofs_s"] + 0.005) / max(row["bound_s"] - 0.005, 1e-9)
    assert low - 0.005 <= row["prove_over_bound"] <= high + 0.005


def test_one_batch_reports_the_prover_against_its_bound():
    row = bench.measure(64, 2, "proven")
    assert_consistent(row, proofs=1)
    assert "phase_auxiliary_trace_s" in row and row["phase_constraints_s"] > 0


def test_several_batches_count_every_proof():
    """Three batches and the aggregation: four proofs, their phases summed."""
    row = bench.measure(1100, 2, "proven", batch_size=512)
    assert_consistent(row, proofs=4)


def test_the_recorder_sees_every_prove_and_leaves_prove_as_it_was():
    original = stark.prover.prove
    air, trace = WideAir(16, 4), wide_trace(16, 4)
    with bench.recorded_proofs() as calls:
        stark.prover.prove(air, trace, PRESETS["fast"])
        with pytest.raises(ValueError, match="trace has shape"):
            stark.prover.prove(air, trace[:3], PRESETS["fast"])
    assert stark.prover.prove is original
    (call,) = calls  # the failed call is not recorded
    assert call.shape == air.shape() and call.params == PRESETS["fast"]
    assert sum(call.phases.values()) == pytest.approx(call.seconds, abs=0.02)


def test_the_command_prints_and_saves_the_prover_fields(tmp_path):
    result = solvency("bench", "--users", "16", "--assets", "2", "--json", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert_consistent(row, proofs=1)
    assert "prove() / bound" in result.stderr and "constraints" in result.stderr  # the tables
    with (tmp_path / "solvency_proven_2assets.csv").open() as fh:
        (saved,) = list(csv.DictReader(fh))
    assert float(saved["prove_over_bound"]) == row["prove_over_bound"]
    assert (tmp_path / "solvency_proven_2assets.png").stat().st_size > 0


@pytest.mark.parametrize(
    "args, words",
    [
        (["--users", "16,x"], "--users"),
        (["--users", "0"], "must be in"),
        (["--assets", "0"], "--assets"),
        (["--preset", "slow"], "--preset"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, words):
    result = solvency("bench", *args, "--out", tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error:") and words in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "proving" not in result.stdout + result.stderr
