"""Every output of every command is tried before any work (README: "every output is checked
before any work"): a directory that cannot be created or written fails at once with one line
and exit 2, and a failed run leaves no trace. Tests run as root, for whom permission bits do
not apply: /proc and /sys refuse new files even to root."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency.cli import main

from .conftest import ASSETS, IDENTITY, SNAPSHOT

UNWRITABLE = [Path("/proc/x"), Path("/sys/x")]


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_error_line(result, option: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {option} ") and "Traceback" not in result.output
    return lines[0]


def inputs(folder: Path) -> tuple[Path, Path]:
    (folder / "snapshot.csv").write_text(SNAPSHOT)
    (folder / "assets.json").write_text(json.dumps(ASSETS))
    return folder / "snapshot.csv", folder / "assets.json"


def prove(folder: Path, out: Path, private: Path):
    snapshot, assets = inputs(folder)
    return run("prove", snapshot, "--assets", assets, "--out", out, "--private", private, *IDENTITY)


@pytest.mark.parametrize("bad", UNWRITABLE)
def test_prove_out_unwritable_before_the_proof(tmp_path, bad):
    """Refused before proving (no "cannot write the proof" afterwards), and the --private
    directory it would have made is not left behind."""
    private = tmp_path / "new" / "private"
    start = time.perf_counter()
    line = one_error_line(prove(tmp_path, bad, private), "--out")
    assert "cannot" in line and time.perf_counter() - start < 5
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("bad", UNWRITABLE)
def test_prove_private_unwritable_leaves_no_out(tmp_path, bad):
    line = one_error_line(prove(tmp_path, tmp_path / "new" / "out", bad), "--private")
    assert "cannot" in line
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("bad", UNWRITABLE)
def test_generate_out_unwritable(bad):
    one_error_line(run("generate", "--users", 10, "--assets", 2, "--out", bad), "--out")


@pytest.mark.parametrize("bad", UNWRITABLE)
def test_demo_out_unwritable(bad):
    one_error_line(run("demo", "--users", 8, "--assets", 2, "--out", bad), "--out")


@pytest.mark.parametrize("bad", UNWRITABLE)
def test_bench_out_unwritable(bad):
    one_error_line(run("bench", "--users", 8, "--assets", 2, "--out", bad), "--out")


@pytest.mark.parametrize("bad", UNWRITABLE)
def test_inclusion_export_out_unwritable(tmp_path, bad):
    for args in (("--user", "alice", "--out", bad / "alice.json"), ("--all", "--out", bad / "all")):
        one_error_line(run("inclusion", "export", tmp_path, *args), "--out")


@pytest.mark.parametrize("bad", UNWRITABLE)
def test_snapshot_build_outputs_unwritable(tmp_path, bad):
    accounts = tmp_path / "accounts.json"
    accounts.write_text("{}")
    one_error_line(run("snapshot", "build", accounts, "--out", bad / "s.csv"), "--out")
    one_error_line(
        run("snapshot", "build", accounts, "--out", tmp_path / "new" / "s.csv",
            "--account-view", bad / "v.csv"),
        "--account-view",
    )  # fmt: skip
    assert not (tmp_path / "new").exists()
