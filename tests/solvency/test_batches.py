"""Batches as tasks (solvency/batches.py): the plan, a local Dask cluster of two workers, the
same batches without Dask, and resuming after an interruption."""

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits.leaf import leaf_path, leaves_root
from solvency import batched_publish, batches, inclusion
from solvency.cli import main
from solvency.snapshot import load_assets, load_snapshot
from stark.field import P
from stark.params import PRESETS

from .conftest import ASSETS

USERS, SIZE = 1300, 512  # 3 batches: 512, 512 and 276 users
ISSUER, AS_OF = "Test Exchange", "2025-06-30T23:59:59Z"


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
    digest = batches.snapshot_digest([snapshot_path, assets_path], SIZE, ISSUER, AS_OF)
    plan = batches.make_plan(len(snap.ids), SIZE, digest, ISSUER, AS_OF)
    tasks = [
        batches.BatchTask(
            b, plan.count, [snap.ids[i] for i in plan.users_of(b)],
            snap.balances[plan.users_of(b).start : plan.users_of(b).stop],
            assets.market(), ISSUER, AS_OF, "proven", digest,
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


@pytest.fixture(scope="module")
def proved(tmp_path_factory):
    """The snapshot's 3 batches proved without Dask, and the aggregation over them."""
    plan, tasks = tasks_for(tmp_path_factory.mktemp("batches"))
    results = []
    batches.run(tasks, results.append, workers=0)
    aggregate, aggregate_proof = batches.prove_aggregate(results, "proven")
    return plan, tasks, sorted(results, key=lambda r: r.index), aggregate, aggregate_proof


def check(plan, proofs, aggregate, aggregate_proof) -> list[int]:
    return batches.verify_snapshot(
        proofs, aggregate, aggregate_proof, issuer=ISSUER, as_of=AS_OF, digest=plan.digest,
        count=plan.count, accepted_params=[PRESETS["proven"]],
    )  # fmt: skip


def exact_totals(tasks) -> list[int]:
    return [int(sum(t.balances[:, j].sum() for t in tasks)) for j in range(3)]


def test_the_snapshot_verifies_and_shows_only_the_grand_totals(proved):
    plan, tasks, results, aggregate, aggregate_proof = proved
    totals = check(plan, [r.public for r in results], aggregate, aggregate_proof)
    assert totals == exact_totals(tasks)
    for r in results:  # each batch publishes a commitment, not its totals
        assert r.statement.hidden_totals and r.statement.totals == (0, 0, 0)
        assert r.statement.batch == (r.index, 3, plan.digest)


def test_a_user_of_each_batch_is_included(proved):
    _, tasks, results, *_ = proved
    for r in results:
        b = r.index
        user = tasks[b].ids[-1]
        i = len(tasks[b].ids) - 1
        claim = inclusion.InclusionClaim(
            ISSUER, AS_OF, user, int(r.rows[i]), r.nonces[i],
            {s: inclusion.amount_text(v, d) for s, d, v in
             zip(r.statement.symbols, r.statement.decimals, tasks[b].balances[i], strict=True)},
            leaves_root(r.leaves), list(leaf_path(r.leaves, int(r.rows[i]))),
        )  # fmt: skip
        inclusion.check_inclusion(claim, r.statement, leaves_root(r.leaves))


def drop(items, b):
    return [x for x in items if x.index != b]


def test_each_attack_is_refused(proved):
    plan, _, results, aggregate, aggregate_proof = proved
    public = [r.public for r in results]
    cases = {
        "a batch missing": (drop(public, 1), aggregate, "missing: [1]"),
        "a batch twice": ([*public, public[2]], aggregate, "batch 2 appears twice"),
        "a batch in another slot": (
            [
                public[0],
                dataclasses.replace(public[2], index=1),
                dataclasses.replace(public[1], index=2),
            ],
            aggregate,
            "batch 1 is not batch 1 of this snapshot",
        ),
        "the same proof twice": (
            [public[0], dataclasses.replace(public[0], index=1), public[2]],
            aggregate,
            "the same proof stands for two batches",
        ),
        "a changed proof": (
            [public[0], dataclasses.replace(public[1], proof=flip(public[1].proof)), public[2]],
            aggregate,
            "the aggregation is not over these batch proofs",
        ),
        "a changed commitment": (
            [
                public[0],
                dataclasses.replace(public[1], commitment=(public[1].commitment + 1) % P),
                public[2],
            ],
            aggregate,
            "the aggregation's commitments are not the batches'",
        ),
        "other grand totals": (
            public,
            dataclasses.replace(aggregate, totals=(aggregate.totals[0] + 1, *aggregate.totals[1:])),
            "the aggregation: the proof is not valid",
        ),
    }
    for name, (proofs, agg, reason) in cases.items():
        with pytest.raises(batches.SnapshotError, match=re.escape(reason)):
            check(plan, proofs, agg, aggregate_proof)
            pytest.fail(f"{name}: accepted")


def test_a_batch_of_another_snapshot_is_refused(proved, tmp_path):
    """Batch 1 of the same users proved for another snapshot digest: refused by its binding,
    and, with the records rewritten to claim this snapshot, by its proof."""
    plan, tasks, results, aggregate, aggregate_proof = proved
    other = batches.prove_batch(dataclasses.replace(tasks[1], digest="ee" * 32))
    public = [results[0].public, other.public, results[2].public]
    with pytest.raises(batches.SnapshotError, match="is not batch 1 of this snapshot"):
        check(plan, public, aggregate, aggregate_proof)
    forged = dataclasses.replace(
        other.public, statement=results[1].statement, commitment=results[1].commitment
    )
    public = [results[0].public, forged, results[2].public]
    with pytest.raises(batches.SnapshotError, match="aggregation is not over these"):
        check(plan, public, aggregate, aggregate_proof)
    aggregate2, proof2 = batches.prove_aggregate([results[0], other, results[2]], "proven")
    aggregate2 = dataclasses.replace(aggregate2, commitments=aggregate.commitments,
                                     context=batches.aggregate_context(
                                         ISSUER, AS_OF, plan.digest,
                                         [p.proof for p in public]))  # fmt: skip
    with pytest.raises(batches.SnapshotError, match="batch 1: the proof is not valid"):
        check(plan, public, aggregate2, proof2)


def test_an_aggregation_opening_other_totals_is_refused(proved):
    """The aggregator opens batch 0's commitment to totals one unit higher (same blinding): the
    commitments it proves are not the batches'; and stated with the batches' commitments, the
    proof does not verify."""
    plan, _, results, aggregate, _ = proved
    cheat = [
        dataclasses.replace(
            results[0],
            opening=dataclasses.replace(
                results[0].opening,
                offset_totals=(results[0].opening.offset_totals[0] + 1,
                               *results[0].opening.offset_totals[1:]),
            ),
        ),
        *results[1:],
    ]  # fmt: skip
    agg, proof = batches.prove_aggregate(cheat, "proven")
    public = [r.public for r in results]
    with pytest.raises(batches.SnapshotError, match="commitments are not the batches'"):
        check(plan, public, agg, proof)
    restated = dataclasses.replace(agg, commitments=aggregate.commitments)
    with pytest.raises(batches.SnapshotError, match="the aggregation: the proof is not valid"):
        check(plan, public, restated, proof)


def flip(data: bytes) -> bytes:
    return data[:-40] + bytes([data[-40] ^ 1]) + data[-39:]


def test_three_batches_on_two_dask_workers(tmp_path):
    plan, tasks = tasks_for(tmp_path)
    out, private = tmp_path / "out", tmp_path / "private"
    results = []

    def write(result):
        batches.write_batch(result, out, private)
        results.append(result)

    batches.run(tasks, write, workers=2)
    assert sorted(r.index for r in results) == [0, 1, 2]
    assert batches.finished(plan, out, private) == {0, 1, 2}
    aggregate, proof = batches.prove_aggregate(results, "proven")
    assert check(plan, [r.public for r in results], aggregate, proof) == exact_totals(tasks)


def test_resume_proves_only_what_is_missing(tmp_path):
    """Batch 1 is written, then the run stops; resuming proves only 0 and 2."""
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
    assert seen == [0, 2] and batches.finished(plan, out, private) == {0, 1, 2}


# -- the publication ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def published(proved, tmp_path_factory):
    """The fixture's batches written and published as `prove` would: DIR/statement.json,
    DIR/aggregate.bin, DIR/batches/b0000i/."""
    plan, _, results, aggregate, aggregate_proof = proved
    base = tmp_path_factory.mktemp("published")
    out, private = base / "out", base / "private"
    for r in results:
        batches.write_batch(r, out, private)
    batched_publish.publish_snapshot(
        out, results, aggregate, aggregate_proof, plan, PRESETS["proven"]
    )
    return out


def verify_cli(directory: Path):
    return CliRunner().invoke(main, ["verify", str(directory)], catch_exceptions=False)


def test_verify_a_batched_publication(published, proved):
    _, tasks, *_ = proved
    result = verify_cli(published)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert (
        lines[-1].startswith("VALID: ") and "in 3 batches (no batch's totals revealed)" in lines[-1]
    )
    document = json.loads((published / "statement.json").read_text())
    assert [int(a["total_base_units"]) for a in document["assets"]] == exact_totals(tasks)
    assert "total_base_units" not in json.dumps(document["batches"])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(batches.public_dir(d, 1)), "INVALID: batch 1 of 3 is missing"),
        (
            lambda d: shutil.copy(
                batches.public_dir(d, 0) / "proof.bin", batches.public_dir(d, 2) / "proof.bin"
            ),
            "batches[2].proof_sha256",
        ),
        (
            lambda d: edit_statement(d, lambda s: s["assets"][0].update(total="1")),
            "BTC.total",
        ),
        (
            lambda d: edit_statement(d, lambda s: s["batches"].pop()),
            "INVALID:",
        ),
        (
            lambda d: edit_statement(d, lambda s: s["batches"].insert(1, dict(s["batches"][0]))),
            "INVALID:",
        ),
    ],
)
def test_a_damaged_publication_is_invalid(published, tmp_path, damage, message):
    directory = Path(shutil.copytree(published, tmp_path / "out"))
    damage(directory)
    result = verify_cli(directory)
    assert result.exit_code == 1, result.output
    assert message in result.stdout


def edit_statement(directory: Path, change) -> None:
    path = directory / "statement.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


# -- the command line ---------------------------------------------------------------------------
def prove_cli(tmp_path: Path, out: str, *extra):
    snapshot_path, assets_path = tmp_path / "snapshot.csv", tmp_path / "assets.json"
    if not snapshot_path.exists():
        inputs(tmp_path)
    return CliRunner().invoke(
        main,
        ["prove", str(snapshot_path), "--assets", str(assets_path), "--out", str(tmp_path / out),
         "--private", str(tmp_path / f"{out}-private"), "--issuer", ISSUER, "--as-of", AS_OF,
         "--batch-size", str(SIZE), *extra],
        catch_exceptions=False,
    )  # fmt: skip


@pytest.mark.parametrize("workers", ["2", "0"])
def test_prove_in_batches_then_verify(tmp_path, workers):
    """On a local Dask cluster of two workers, and without Dask: the same statement."""
    result = prove_cli(tmp_path, "out", "--workers", workers)
    assert result.exit_code == 0, result.output
    assert "1,300 users in 3 batches of 512" in " ".join(result.stderr.split())
    verified = verify_cli(tmp_path / "out")
    assert verified.exit_code == 0, verified.output
    document = json.loads((tmp_path / "out" / "statement.json").read_text())
    assert document["format"] == batched_publish.SNAPSHOT_FORMAT and len(document["batches"]) == 3


def test_resume_after_an_interruption(tmp_path):
    assert prove_cli(tmp_path, "out", "--workers", "0").exit_code == 0
    out = tmp_path / "out"
    before = (batches.public_dir(out, 0) / "proof.bin").read_bytes()
    for name in ("statement.json", "aggregate.bin"):
        (out / name).unlink()  # as if stopped while batch 2 was being written
    (batches.private_dir(tmp_path / "out-private", 2) / "batch.json").unlink()
    again = prove_cli(tmp_path, "out", "--workers", "0")
    assert again.exit_code == 2 and "--resume goes on" in again.stderr
    resumed = prove_cli(tmp_path, "out", "--workers", "0", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 2 of 3 batches already proved" in resumed.stderr
    assert (batches.public_dir(out, 0) / "proof.bin").read_bytes() == before  # not redone
    assert verify_cli(out).exit_code == 0


def test_resume_needs_the_same_inputs(tmp_path):
    assert prove_cli(tmp_path, "out", "--workers", "0").exit_code == 0
    (tmp_path / "out" / "statement.json").unlink()
    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_text(snapshot.read_text().replace("u00001,", "u00001x,"))
    result = prove_cli(tmp_path, "out", "--workers", "0", "--resume")
    assert result.exit_code == 2 and "differ from the interrupted run's" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--batch-size", "500"), "--batch-size: the batch size must be a power of two"),
        (("--insecure-seed", "1"), "--insecure-seed is for a single proof"),
        (("--resume",), "holds no batch run to go on with"),
    ],
)
def test_batch_options_refused(tmp_path, extra, message):
    result = prove_cli(tmp_path, "out", "--workers", "0", *extra)
    assert result.exit_code == 2 and message in result.stderr, result.output


# -- users' inclusion across batches ---------------------------------------------------------------
@pytest.fixture(scope="module")
def proved_cli(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    assert prove_cli(base, "out", "--workers", "0").exit_code == 0
    return base


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("user", ["u00000", "u00700", "u01299"])  # batches 0, 1 and 2 (smaller)
def test_a_user_of_each_batch_checks_their_file(proved_cli, tmp_path, user):
    file = tmp_path / "mine.json"
    exported = run("inclusion", "export", proved_cli / "out-private", "--user", user, "--out", file)
    assert exported.exit_code == 0, exported.output
    document = json.loads(file.read_text())
    assert document["format"] == "stark-solvency-inclusion/2"
    assert document["batch"] == int(user[1:]) // SIZE
    published = json.loads((proved_cli / "out" / "statement.json").read_text())
    assert document["leaves_root"] == published["users_root"]
    result = run("verify-inclusion", file, "--published", proved_cli / "out", "--user", user)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .startswith(f"INCLUDED: your balances as user {user!r}")
    )
    # another batch index, or a balance changed: not included
    for change in (
        lambda d: d.update(batch=(d["batch"] + 1) % 3),
        lambda d: d["balances"].update(BTC="1.00000000"),
    ):
        forged = dict(document, balances=dict(document["balances"]))
        change(forged)
        file.write_text(json.dumps(forged))
        refused = run("verify-inclusion", file, "--published", proved_cli / "out", "--skip-proof")
        assert refused.exit_code == 1 and "NOT INCLUDED" in refused.stdout


def test_export_everyone_across_batches(proved_cli, tmp_path):
    result = run(
        "inclusion", "export", proved_cli / "out-private", "--all", "--out", tmp_path / "f"
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "f").glob("*.json"))) == USERS


def test_a_single_proof_file_is_not_a_batch_file(proved_cli, tmp_path):
    file = tmp_path / "mine.json"
    run("inclusion", "export", proved_cli / "out-private", "--user", "u00001", "--out", file)
    document = json.loads(file.read_text())
    document["format"] = "stark-solvency-inclusion/1"
    del document["batch"]
    file.write_text(json.dumps(document))
    result = run("verify-inclusion", file, "--published", proved_cli / "out", "--skip-proof")
    assert result.exit_code == 1 and "proved in batches" in result.stdout


# -- found by the review (helper attack) ----------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (lambda s: s.update(issuer=""), 2, "issuer: empty"),
        (lambda s: s.update(batch_size=1024), 2, "every batch but the last has batch_size"),
        (lambda s: s.update(batch_size="lol"), 2, "batch_size: expected an integer"),
        (lambda s: s.update(preset="fast"), 1, "preset"),
        (lambda s: s["aggregate"].update(proof_bytes=1), 1, "aggregate.proof_sha256"),
        (lambda s: s["aggregate"].update(note="x"), 2, "aggregate.note: unknown field"),
        (lambda s: s.update(users_padded=1536.0), 2, "users_padded: expected an integer"),
        (lambda s: s["assets"][0].update(price="abc"), 2, "assets[0].price"),
        (lambda s: s["assets"][0].update(total="844350000e-8"), 2, "assets[0].total"),
        (
            lambda s: s["assets"][0].update(total_base_units=str(10**35), total="1" + "0" * 27),
            2,
            "malformed statement",
        ),
    ],
)
def test_every_field_is_checked(published, tmp_path, change, code, message):
    directory = Path(shutil.copytree(published, tmp_path / "out"))
    edit_statement(directory, change)
    result = verify_cli(directory)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_context_stays_small():
    """The aggregation's context does not grow with the number of batches."""
    many = batches.aggregate_context("X", "T", "ab" * 32, [b"p%d" % i for i in range(20000)])
    assert len(many) == len(batches.aggregate_context("X", "T", "ab" * 32, [b"p"]))


def test_verify_json_for_batches(published, tmp_path):
    result = CliRunner().invoke(main, ["verify", str(published), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["verdict"] == "valid" and document["batches"] == 3
    assert [a["symbol"] for a in document["assets"]] == ["BTC", "ETH", "USDT"]
    directory = Path(shutil.copytree(published, tmp_path / "out"))
    shutil.rmtree(batches.public_dir(directory, 1))
    result = CliRunner().invoke(main, ["verify", str(directory), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["verdict"] == "invalid"


def test_bench_runs_the_batched_job():
    """`solvency bench` above the batch size measures the batched job (here 3 batches)."""
    from solvency import bench

    row = bench.measure(1300, 3, "proven", batch_size=512)
    assert row["users_padded"] == 1536 and row["export_all_s"] >= 0
    assert row["proof_bytes"] > 3 * 100_000 and row["verify_s"] > 0


def test_bench_runs_the_single_proof_job():
    from solvency import bench

    row = bench.measure(600, 2, "proven")
    assert row["users_padded"] == 1024 and row["verify_inclusion_ms"] > 0
