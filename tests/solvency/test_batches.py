"""Batches as tasks (solvency/batches.py): the plan, a local Dask cluster of two workers, the
same batches without Dask, and resuming after an interruption."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency import batches
from solvency.cli import main
from solvency.snapshot import load_assets, load_snapshot

from .conftest import ASSETS

USERS, SIZE = 1300, 512  # 3 batches: 512, 512 and 276 users


def inputs(tmp_path: Path) -> tuple[Path, Path]:
    lines = ["id,BTC,ETH,USDT"] + [
        f"u{i:05d},0.{i:05d},{i % 7 - 3},{i * 10 + 20000}" for i in range(USERS)
    ]
    (tmp_path / "snapshot.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    return tmp_path / "snapshot.csv", tmp_path / "assets.json"


def tasks_for(tmp_path: Path) -> tuple[batches.Plan, list[batches.BatchTask]]:
    snapshot_path, assets_path = inputs(tmp_path)
    assets = load_assets(assets_path)
    snap = load_snapshot(snapshot_path, assets)
    issuer, as_of = "Test Exchange", "2025-06-30T23:59:59Z"
    digest = batches.snapshot_digest([snapshot_path, assets_path], SIZE, issuer, as_of)
    plan = batches.make_plan(len(snap.ids), SIZE, digest, issuer, as_of)
    tasks = [
        batches.BatchTask(
            b, plan.count, [snap.ids[i] for i in plan.users_of(b)],
            snap.balances[plan.users_of(b).start : plan.users_of(b).stop],
            assets.market(), issuer, as_of, "proven", digest,
        )
        for b in range(plan.count)
    ]  # fmt: skip
    return plan, tasks


def test_the_plan():
    plan = batches.make_plan(USERS, SIZE, "d", "X", "2025-06-30T23:59:59Z")
    assert plan.count == 3 and [len(plan.users_of(b)) for b in range(3)] == [512, 512, 276]
    for bad in (500, 256, 1 << 18):
        with pytest.raises(ValueError, match="power of two"):
            batches.make_plan(USERS, bad, "d", "X", "2025-06-30T23:59:59Z")


def test_the_digest_names_the_inputs_and_the_plan(tmp_path):
    snapshot_path, assets_path = inputs(tmp_path)
    files = [snapshot_path, assets_path]
    base = batches.snapshot_digest(files, SIZE, "X", "T")
    assert base == batches.snapshot_digest(files, SIZE, "X", "T")
    assert base != batches.snapshot_digest(files, 2 * SIZE, "X", "T")
    assert base != batches.snapshot_digest(files, SIZE, "Y", "T")
    snapshot_path.write_text(snapshot_path.read_text().replace("u00000,", "u00000x,"))
    assert base != batches.snapshot_digest(files, SIZE, "X", "T")


def check_batches(out: Path, private: Path, plan: batches.Plan) -> None:
    """Every batch verifies as a publication of its own, and its users' files are included."""
    runner = CliRunner()
    for b in range(plan.count):
        directory = batches.public_dir(out, b)
        assert runner.invoke(main, ["verify", str(directory)]).exit_code == 0
        user = f"u{plan.users_of(b).stop - 1:05d}"
        file = out.parent / f"{user}.json"
        exported = runner.invoke(
            main,
            ["inclusion", "export", str(batches.private_dir(private, b)), "--user", user,
             "--out", str(file)],
        )  # fmt: skip
        assert exported.exit_code == 0, exported.stderr
        checked = runner.invoke(
            main,
            ["verify-inclusion", str(file), "--published", str(directory), "--user", user,
             "--skip-proof"],
        )  # fmt: skip
        assert checked.exit_code == 0, checked.output


def test_three_batches_on_two_dask_workers(tmp_path):
    plan, tasks = tasks_for(tmp_path)
    out, private = tmp_path / "out", tmp_path / "private"
    done = []

    def write(result):
        batches.write_batch(result, out, private)
        done.append(result.index)

    batches.run(tasks, write, workers=2)
    assert sorted(done) == [0, 1, 2]
    assert batches.finished(plan, out, private) == {0, 1, 2}
    check_batches(out, private, plan)


def test_without_dask_and_resume(tmp_path):
    """Batch 1 is written, then the run is interrupted; resuming proves only 0 and 2, and the
    result verifies as the Dask run's does."""
    plan, tasks = tasks_for(tmp_path)
    out, private = tmp_path / "out", tmp_path / "private"
    batches.run([tasks[1]], lambda r: batches.write_batch(r, out, private), workers=0)
    assert batches.finished(plan, out, private) == {1}
    seen = []

    def write(result):
        seen.append(result.index)
        batches.write_batch(result, out, private)

    todo = [t for t in tasks if t.index not in batches.finished(plan, out, private)]
    batches.run(todo, write, workers=0)
    assert seen == [0, 2]
    check_batches(out, private, plan)
    totals = [
        json.loads((batches.public_dir(out, b) / "statement.json").read_text())["assets"]
        for b in range(3)
    ]
    btc = sum(int(t[0]["total_base_units"]) for t in totals)
    assert btc == 1000 * sum(range(USERS))  # user i holds 0.iiiii BTC = 1000 i base units
