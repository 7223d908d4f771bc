"""Batches as tasks (solvency/batches.py): the plan, a local Dask cluster of two workers, the
same batches without Dask, and resuming after an interruption; the publication of several
batches (solvency/publication/) and each attack on it, checked by `check_publication` and the
command line."""

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency import batches, cluster, inclusion
from solvency.cli import main
from solvency.files import write_atomically
from solvency.publication import statement as pub
from solvency.publication.check import (
    ProofInvalid,
    StatementMismatch,
    check_publication,
)
from solvency.publication.encoding import coins, elements_hex, parse_elements_hex
from solvency.publication.write import write_batch_files, write_statement
from solvency.snapshot import InputError, load_assets, load_snapshot
from stark.field import P

from .conftest import ASSETS, batched_snapshot, prove_into

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
    digest = batches.inputs_digest([snapshot_path, assets_path], SIZE, ISSUER, AS_OF)
    plan = batches.make_plan(len(snap.ids), SIZE, digest, ISSUER, AS_OF, "proven")
    return plan, batches.tasks_of(plan, snap.ids, snap.balances, assets.market())


def test_the_plan():
    plan = batches.make_plan(USERS, SIZE, "d" * 64, "X", "2025-06-30T23:59:59Z")
    assert plan.count == 3 and [len(plan.users_of(b)) for b in range(3)] == [512, 512, 276]
    for bad in (500, 256, 1 << 18):
        with pytest.raises(ValueError, match="power of two"):
            batches.make_plan(USERS, bad, "d" * 64, "X", "2025-06-30T23:59:59Z")
    again = batches.make_plan(USERS, SIZE, "d" * 64, "X", "2025-06-30T23:59:59Z")
    assert again.salt != plan.salt and again.snapshot != plan.snapshot  # a fresh salt each run
    assert again.same_run(plan)  # ... but the same inputs and options
    assert not batches.make_plan(USERS, SIZE, "e" * 64, "X", "2025-06-30T23:59:59Z").same_run(plan)


def test_the_digest_names_the_inputs_and_the_plan(tmp_path):
    snapshot_path, assets_path = inputs(tmp_path)
    files = [snapshot_path, assets_path]
    base = batches.inputs_digest(files, SIZE, "X", "T")
    assert base == batches.inputs_digest(files, SIZE, "X", "T")
    assert base != batches.inputs_digest(files, 2 * SIZE, "X", "T")
    assert base != batches.inputs_digest(files, SIZE, "Y", "T")
    snapshot_path.write_text(snapshot_path.read_text().replace("u00000,", "u00000x,"))
    assert base != batches.inputs_digest(files, SIZE, "X", "T")


def test_the_snapshot_field_cannot_be_recomputed_from_the_files(honest_proof, tmp_path):
    """The public `snapshot` is a salted commitment: two proofs of the same files (same
    identity, same options) publish different ones, and neither is the unsalted digest of the
    files (`inputs_digest`), which anyone holding a guess of the files could recompute. With
    the salt of the private store, the exchange can show an auditor which files it proved."""
    from .conftest import SNAPSHOT

    first = json.loads((honest_proof / "statement.json").read_text())
    again = prove_into(tmp_path, SNAPSHOT)
    second = json.loads((again / "statement.json").read_text())
    assert first["snapshot"] != second["snapshot"]
    for out in (honest_proof, again):
        plan = batches.read_plan(out.parent / "private")
        files = [out.parent / "snapshot.csv", out.parent / "assets.json"]
        unsalted = batches.inputs_digest(files, plan.size, ISSUER, AS_OF)
        assert plan.inputs == unsalted  # the private plan names the files...
        published = json.loads((out / "statement.json").read_text())["snapshot"]
        assert published != unsalted  # ...the publication does not
        assert published == pub.snapshot_commitment(bytes.fromhex(plan.salt), unsalted)
        assert hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest() != published


@pytest.fixture(scope="module")
def proved(tmp_path_factory):
    """The snapshot's 3 batches proved without Dask, and the aggregation over them."""
    plan, tasks = tasks_for(tmp_path_factory.mktemp("batches"))
    results = []
    cluster.run(tasks, results.append, workers=0)
    aggregate, aggregate_proof = batches.prove_aggregate(results, "proven")
    return plan, tasks, sorted(results, key=lambda r: r.index), aggregate, aggregate_proof


def exact_totals(tasks) -> list[int]:
    return [int(sum(t.balances[:, j].sum() for t in tasks)) for j in range(3)]


def write_publication(out: Path, plan, results, aggregate, aggregate_proof) -> Path:
    """The batches' public files and a statement over them, as `publish` writes them, without
    proving the aggregation again (or with another one)."""
    for r in results:
        write_batch_files(out, r.index, r.leaves, r.proof)
    write_statement(
        out, batches.published_statement(plan, results, aggregate, aggregate_proof),
        aggregate_proof,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def published(proved, tmp_path_factory):
    """The fixture's batches written and published as `prove` would: DIR/statement.json,
    DIR/aggregate.bin, DIR/batches/b0000i/, and the private store in the sibling "private"."""
    plan, _, results, aggregate, aggregate_proof = proved
    base = tmp_path_factory.mktemp("published")
    out, private = base / "out", base / "private"
    write_atomically(private / "plan.json", plan.to_json(), private=True)
    for r in results:
        batches.write_batch(r, out, private)
    write_statement(
        out, batches.published_statement(plan, results, aggregate, aggregate_proof),
        aggregate_proof,
    )  # fmt: skip
    return out


def test_the_snapshot_verifies_and_shows_only_the_grand_totals(published, proved):
    plan, tasks, results, *_ = proved
    seen = []
    checked = check_publication(published, on_batch=lambda done, count: seen.append((done, count)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    s = checked.statement
    assert list(s.totals) == exact_totals(tasks) and s.count == 3 and s.snapshot == plan.snapshot
    for r in results:  # each batch proves a commitment, not its totals, bound to its place
        assert r.statement.hidden_totals and r.statement.totals == (0, 0, 0)
        assert r.statement.batch == (r.index, 3, plan.snapshot)
        assert s.batch(r.index) == r.statement
    for b in range(3):
        assert (pub.batch_dir(published, b) / "proof.bin").is_file()
        assert (pub.batch_dir(published, b) / "leaves.bin").is_file()
    assert (published / "aggregate.bin").is_file()


def test_a_user_of_each_batch_is_included(published, proved):
    """Each batch's last user: the file from the batch's store, placed under the users' root,
    checks against the published statement; moved to another batch or row, it does not."""
    _, tasks, *_ = proved
    statement, _ = pub.read_statement(published)
    stores = batches.open_stores(published.parent / "private")
    assert len(stores) == 3
    for b, store in enumerate(stores):
        user = tasks[b].ids[-1]
        document = inclusion.inclusion_documents(store, [store.user(user)])[0]
        assert document["batch"] == b and document["users_root"] == statement.users_root
        claim = inclusion.parse_inclusion(document)
        balances = [int(v) for v in tasks[b].balances[-1]]
        assert inclusion.check_inclusion(claim, statement) == balances
        for moved in (
            dataclasses.replace(claim, batch=(b + 1) % 3),
            dataclasses.replace(claim, row=claim.row ^ 1),
        ):
            with pytest.raises(inclusion.NotIncluded):
                inclusion.check_inclusion(moved, statement)
        store.close()


# -- each attack on a publication of several batches -------------------------------------------
def edit_statement(directory: Path, change) -> None:
    path = directory / "statement.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def swap_batches(directory: Path, a: int, b: int, *, records: bool) -> None:
    """Swap batches a and b's files; with `records`, their records in statement.json too (the
    users' root recomputed), so that only the proofs can tell."""
    da, db = pub.batch_dir(directory, a), pub.batch_dir(directory, b)
    da.rename(directory / "tmp")
    db.rename(da)
    (directory / "tmp").rename(db)
    if records:
        edit_statement(directory, lambda s: swap_records(s, a, b))


def swap_records(s: dict, a: int, b: int) -> None:
    s["batches"][a], s["batches"][b] = s["batches"][b], s["batches"][a]
    restate_users_root(s)


def restate_users_root(s: dict) -> None:
    roots = [parse_elements_hex(r["leaves_root"], 8) for r in s["batches"]]
    s["users_root"] = elements_hex(pub.users_tree(roots)[-1][0])
    s["users_padded"] = sum(r["users_padded"] for r in s["batches"])


def same_proof_twice(directory: Path) -> None:
    """Batch 0's files and record stand for batch 1 too."""
    shutil.rmtree(pub.batch_dir(directory, 1))
    shutil.copytree(pub.batch_dir(directory, 0), pub.batch_dir(directory, 1))

    def change(s):
        s["batches"][1] = dict(s["batches"][0])
        restate_users_root(s)

    edit_statement(directory, change)


def drop_last_batch(directory: Path) -> None:
    """Batch 2 left out (its users' debts, say), the statement made consistent without it:
    every batch proof binds the count, 3."""
    shutil.rmtree(pub.batch_dir(directory, 2))

    def change(s):
        s["batches"].pop()
        restate_users_root(s)

    edit_statement(directory, change)


def repeat_a_batch(directory: Path) -> None:
    """Batch 2 listed twice (its files copied into a fourth slot)."""
    shutil.copytree(pub.batch_dir(directory, 2), pub.batch_dir(directory, 3))

    def change(s):
        s["batches"].append(dict(s["batches"][2]))
        restate_users_root(s)

    edit_statement(directory, change)


def flip_batch_proof(directory: Path) -> None:
    """One bit of batch 1's proof, its SHA-256 updated."""
    path = pub.batch_dir(directory, 1) / "proof.bin"
    data = path.read_bytes()
    data = data[:-40] + bytes([data[-40] ^ 1]) + data[-39:]
    path.write_bytes(data)
    edit_statement(
        directory, lambda s: s["batches"][1].update(proof_sha256=hashlib.sha256(data).hexdigest())
    )


def change_commitment(directory: Path) -> None:
    def change(s):
        values = parse_elements_hex(s["batches"][1]["commitment"], 8)
        values[0] = (values[0] + 1) % P
        s["batches"][1]["commitment"] = elements_hex(values)

    edit_statement(directory, change)


def other_grand_totals(directory: Path) -> None:
    def change(s):
        asset = s["assets"][0]
        less = int(asset["total_base_units"]) - 1
        asset.update(total_base_units=str(less), total=coins(less, asset["decimals"]))
        debt = int(asset["equity_base_units"]) - less  # kept consistent: only proofs tell
        asset.update(debt_base_units=str(debt), debt=coins(debt, asset["decimals"]))

    edit_statement(directory, change)


def other_snapshot(directory: Path) -> None:
    edit_statement(directory, lambda s: s.update(snapshot="ee" * 32))


ATTACKS = {
    # (damage, the exception, what it names)
    "batches 1 and 2 swapped, records and all": (
        lambda d: swap_batches(d, 1, 2, records=True), ProofInvalid, "batch 1"
    ),
    "batches 1 and 2's files swapped": (
        lambda d: swap_batches(d, 1, 2, records=False), StatementMismatch,
        "batches[1].proof_sha256",
    ),
    "the same proof for two batches": (same_proof_twice, ProofInvalid, "batch 1"),
    "a batch left out": (drop_last_batch, ProofInvalid, "batch 0"),
    "a batch twice": (repeat_a_batch, ProofInvalid, "batch 0"),
    "a changed proof": (flip_batch_proof, ProofInvalid, "batch 1"),
    "a changed commitment": (change_commitment, ProofInvalid, "batch 1"),
    "other grand totals": (other_grand_totals, ProofInvalid, "the aggregation"),
    "another snapshot": (other_snapshot, ProofInvalid, "batch 0"),
    "a batch missing": (
        lambda d: shutil.rmtree(pub.batch_dir(d, 1)), InputError, "b00001/proof.bin: no such file"
    ),
    "the aggregation missing": (
        lambda d: (d / "aggregate.bin").unlink(), InputError, "aggregate.bin: no such file"
    ),
}  # fmt: skip


@pytest.mark.parametrize("attack", ATTACKS)
def test_each_attack_is_refused(published, tmp_path, attack):
    damage, error, where = ATTACKS[attack]
    directory = Path(shutil.copytree(published, tmp_path / "out"))
    check_publication(directory)  # the control: the copy verifies before the damage
    damage(directory)
    with pytest.raises(error) as e:
        check_publication(directory)
    assert where in str(e.value)


def test_a_batch_of_another_snapshot_is_refused(proved, tmp_path):
    """Batch 1 of the same users proved for another snapshot commitment, in a publication
    otherwise consistent (records, users' root, an aggregation proved over it): its proof
    binds the other snapshot, so it does not verify in slot 1 of this one."""
    plan, tasks, results, *_ = proved
    other = batches.prove_batch(dataclasses.replace(tasks[1], snapshot="ee" * 32))
    assert other.statement.batch == (1, 3, "ee" * 32)
    mixed = [results[0], other, results[2]]
    aggregate, proof = batches.prove_aggregate(mixed, "proven")  # with results[0]'s snapshot
    directory = write_publication(tmp_path / "out", plan, mixed, aggregate, proof)
    with pytest.raises(ProofInvalid) as e:
        check_publication(directory)
    assert e.value.where == "batch 1"


def test_a_batch_proved_again_after_the_aggregation_is_refused(published, proved, tmp_path):
    """A second honest proof of batch 1 (same place, other nonces and blinding) swapped in
    after the aggregation, its record and the users' root restated: every batch verifies, the
    aggregation (over the first proof and its commitment) does not."""
    _, tasks, *_ = proved
    again = batches.prove_batch(tasks[1])
    directory = Path(shutil.copytree(published, tmp_path / "out"))
    write_batch_files(directory, 1, again.leaves, again.proof)
    record = again.record

    def change(s):
        s["batches"][1].update(
            commitment=elements_hex(record.commitment), leaves_root=record.leaves_root,
            proof_sha256=record.proof_sha256, proof_bytes=record.proof_bytes,
        )  # fmt: skip
        restate_users_root(s)

    edit_statement(directory, change)
    with pytest.raises(ProofInvalid) as e:
        check_publication(directory)
    assert e.value.where == "the aggregation"


def test_an_aggregation_opening_other_totals_is_refused(proved, tmp_path):
    """The aggregator opens batch 0's commitment to totals one unit lower (same blinding) and
    publishes the grand totals so obtained: stated with the batches' commitments (the verifier
    takes them from the batch records, which the batch proofs bind), the aggregation proof
    does not verify."""
    plan, _, results, *_ = proved
    cheat = [
        dataclasses.replace(
            results[0],
            opening=dataclasses.replace(
                results[0].opening,
                offset_totals=(results[0].opening.offset_totals[0] - 1,
                               *results[0].opening.offset_totals[1:]),
            ),
        ),
        *results[1:],
    ]  # fmt: skip
    aggregate, proof = batches.prove_aggregate(cheat, "proven")
    directory = write_publication(tmp_path / "out", plan, results, aggregate, proof)
    with pytest.raises(ProofInvalid) as e:
        check_publication(directory)
    assert e.value.where == "the aggregation"


def test_three_batches_on_two_dask_workers(tmp_path):
    plan, tasks = tasks_for(tmp_path)
    out, private = tmp_path / "out", tmp_path / "private"
    results = []

    def write(result):
        batches.write_batch(result, out, private)
        results.append(result)

    cluster.run(tasks, write, workers=2)
    assert sorted(r.index for r in results) == [0, 1, 2]
    assert batches.finished(plan, out, private) == {0, 1, 2}
    batches.publish(plan, results, out)
    assert list(check_publication(out).statement.totals) == exact_totals(tasks)


def test_resume_proves_only_what_is_missing(tmp_path):
    """Batch 1 is written, then the run stops; resuming proves only 0 and 2."""
    plan, tasks = tasks_for(tmp_path)
    out, private = tmp_path / "out", tmp_path / "private"
    cluster.run([tasks[1]], lambda r: batches.write_batch(r, out, private), workers=0)
    assert batches.finished(plan, out, private) == {1}
    seen = []

    def write(result):
        seen.append(result.index)
        batches.write_batch(result, out, private)

    todo = [t for t in tasks if t.index not in batches.finished(plan, out, private)]
    cluster.run(todo, write, workers=0)
    assert seen == [0, 2] and batches.finished(plan, out, private) == {0, 1, 2}


def verify_cli(directory: Path, *options: str):
    return CliRunner().invoke(main, ["verify", str(directory), *options], catch_exceptions=False)


def test_verify_a_batched_publication(published, proved):
    _, tasks, *_ = proved
    result = verify_cli(published)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert (
        lines[-1].startswith("VALID: ") and "in 3 batches (no batch's totals revealed)" in lines[-1]
    )
    document = json.loads((published / "statement.json").read_text())
    assert document["format"] == pub.PUBLICATION_FORMAT
    assert [int(a["total_base_units"]) for a in document["assets"]] == exact_totals(tasks)
    assert "total_base_units" not in json.dumps(document["batches"])


@pytest.mark.parametrize(
    ("damage", "code", "message"),
    [
        (
            lambda d: shutil.rmtree(pub.batch_dir(d, 1)),
            2,
            "b00001/proof.bin: no such file",
        ),
        (
            lambda d: shutil.copy(
                pub.batch_dir(d, 0) / "proof.bin", pub.batch_dir(d, 2) / "proof.bin"
            ),
            1,
            "batches[2].proof_sha256",
        ),
        (lambda d: swap_batches(d, 0, 2, records=True), 1, "detail: batch 0: the proof is not"),
        (
            lambda d: edit_statement(d, lambda s: s["assets"][0].update(total="1")),
            1,
            "BTC.total",
        ),
        (lambda d: drop_last_batch(d), 1, "INVALID:"),
        (lambda d: repeat_a_batch(d), 1, "INVALID:"),
        (  # a batch dropped from the statement alone: its size no longer adds up
            lambda d: edit_statement(d, lambda s: s["batches"].pop()),
            2,
            "users_padded: is not the sum of the batches' padded users",
        ),
    ],
)
def test_a_damaged_publication_is_invalid(published, tmp_path, damage, code, message):
    directory = Path(shutil.copytree(published, tmp_path / "out"))
    damage(directory)
    result = verify_cli(directory)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "VALID: " not in result.stdout.replace("INVALID: ", "")


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
def test_prove_in_batches_then_verify(tmp_path, workers, recwarn):
    """On a local Dask cluster of two workers, and without Dask: the same statement. Dask's
    warning that a task is a "large graph" (each carries its users' balances) is not shown,
    even with its threshold at one byte."""
    dask = pytest.importorskip("dask")
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "1B"}):
        result = prove_cli(tmp_path, "out", "--workers", workers)
    assert result.exit_code == 0, result.output
    assert not [w for w in recwarn if "large graph" in str(w.message)]
    assert "large graph" not in result.output
    said = " ".join(result.stderr.split())
    assert "1,300 users (1,536 padded), 3 assets, proved in" in said
    assert "(3 batches and their aggregation)" in said and "only the grand totals" in said
    verified = verify_cli(tmp_path / "out")
    assert verified.exit_code == 0, verified.output
    document = json.loads((tmp_path / "out" / "statement.json").read_text())
    assert document["format"] == pub.PUBLICATION_FORMAT and len(document["batches"]) == 3
    assert all(b["commitment"] is not None for b in document["batches"])
    aggregate_bytes = (tmp_path / "out" / "aggregate.bin").stat().st_size
    assert document["aggregate"]["proof_bytes"] == aggregate_bytes
    private = tmp_path / "out-private"
    assert batches.read_plan(private).count == 3
    for b in range(3):
        assert {p.name for p in pub.batch_dir(tmp_path / "out", b).iterdir()} == {
            "proof.bin",
            "leaves.bin",
        }
        assert {p.name for p in pub.batch_dir(private, b).iterdir()} == {
            "users.sqlite",
            "batch.json",
            "opening.json",
        }


def test_resume_after_an_interruption(tmp_path):
    assert prove_cli(tmp_path, "out", "--workers", "0").exit_code == 0
    out = tmp_path / "out"
    before = (pub.batch_dir(out, 0) / "proof.bin").read_bytes()
    for name in ("statement.json", "aggregate.bin"):
        (out / name).unlink()  # as if stopped while batch 2 was being written
    (pub.batch_dir(tmp_path / "out-private", 2) / "batch.json").unlink()
    again = prove_cli(tmp_path, "out", "--workers", "0")
    assert again.exit_code == 2 and "--resume goes on" in again.stderr
    resumed = prove_cli(tmp_path, "out", "--workers", "0", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 2 of 3 batches already proved" in resumed.stderr
    assert (pub.batch_dir(out, 0) / "proof.bin").read_bytes() == before  # not redone
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
        (("--resume",), "holds no run to go on with"),
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
    assert document["format"] == inclusion.INCLUSION_FORMAT == "stark-solvency-inclusion/3"
    assert document["batch"] == int(user[1:]) // SIZE
    published = json.loads((proved_cli / "out" / "statement.json").read_text())
    assert document["users_root"] == published["users_root"]
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


def test_a_file_of_an_earlier_format_is_refused(proved_cli, tmp_path):
    """One inclusion format now (/3, a batch always): a /2 file (with `leaves_root`) or a /1
    file (no batch) is refused as unreadable, naming the format, not checked."""
    file = tmp_path / "mine.json"
    run("inclusion", "export", proved_cli / "out-private", "--user", "u00001", "--out", file)
    document = json.loads(file.read_text())
    old = dict(document, format="stark-solvency-inclusion/2")
    old["leaves_root"] = old.pop("users_root")
    older = {k: v for k, v in old.items() if k != "batch"}
    older["format"] = "stark-solvency-inclusion/1"
    for earlier in (old, older):
        file.write_text(json.dumps(earlier))
        result = run("verify-inclusion", file, "--published", proved_cli / "out", "--skip-proof")
        assert result.exit_code == 2, result.output
        assert f"format: expected 'stark-solvency-inclusion/3', got {earlier['format']!r}" in (
            result.stderr
        )


# -- found by the review (helper attack) ----------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (lambda s: s.update(issuer=""), 2, "issuer: empty"),
        (
            lambda s: s["batches"][0].update(users_padded=1024),
            2,
            "every batch but the last has as many rows as the first",
        ),
        (
            lambda s: s["batches"][2].update(users_padded=1024),
            2,
            "every batch but the last has as many rows as the first",
        ),
        (
            lambda s: s["batches"][0].update(users_padded="lol"),
            2,
            "batches[0].users_padded: expected an integer",
        ),
        (lambda s: s.update(batch_size=512), 2, "batch_size: unknown field"),  # the old format's
        (lambda s: s.update(proof_sha256="ab" * 32), 2, "proof_sha256: unknown field"),
        (lambda s: s.update(format="stark-solvency-snapshot/1"), 2, "format: "),
        (lambda s: s.update(snapshot="ab" * 31), 2, "snapshot: expected a SHA-256 digest"),
        (lambda s: s["batches"][1].update(commitment=None), 2, "batches[1].commitment"),
        (lambda s: s.update(aggregate=None), 2, "aggregate: expected a JSON object"),
        (lambda s: s.update(preset="fast"), 1, "preset"),
        (lambda s: s.update(zero_knowledge=False), 1, "zero_knowledge"),
        (lambda s: s["security"].update(provable_bits=200.0), 1, "security.provable_bits"),
        (lambda s: s["aggregate"].update(proof_bytes=1), 1, "aggregate.proof_bytes"),
        (lambda s: s["aggregate"].update(proof_sha256="ab" * 32), 1, "aggregate.proof_sha256"),
        (lambda s: s["aggregate"].update(note="x"), 2, "aggregate.note: unknown field"),
        (lambda s: s["batches"][1].update(proof_bytes=1), 1, "batches[1].proof_bytes"),
        (lambda s: s["batches"][1].update(leaves_root="00" * 32), 1, "batches[1].leaves_root"),
        (lambda s: s.update(users_root="00" * 32), 1, "users_root"),
        (lambda s: s.update(users_padded=1536.0), 2, "users_padded: expected an integer"),
        (lambda s: s["assets"][0].update(price="abc"), 2, "assets[0].price"),
        (lambda s: s["assets"][0].update(total="844350000e-8"), 2, "assets[0].total"),
        (
            lambda s: s["assets"][0].update(
                total_base_units=str(10**35),
                total="1" + "0" * 27,
                debt_base_units=str(int(s["assets"][0]["equity_base_units"]) - 10**35),
            ),
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
    assert "VALID: " not in result.stdout.replace("INVALID: ", "")


def test_the_context_stays_small():
    """The aggregation's context does not grow with the number of batches."""
    many = pub.aggregate_context("X", "T", "ab" * 32, [b"p%d" % i for i in range(20000)])
    assert len(many) == len(pub.aggregate_context("X", "T", "ab" * 32, [b"p"]))


def test_verify_json(either_publication, tmp_path):
    """--json on both shapes: the verdict, the number of batches, the assets, no warnings; a
    damaged copy is "invalid" (exit 1), a missing file "unreadable" (exit 2)."""
    result = CliRunner().invoke(main, ["verify", str(either_publication), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    count = len(json.loads((either_publication / "statement.json").read_text())["batches"])
    assert document["verdict"] == "valid" and document["batches"] == count
    assert [a["symbol"] for a in document["assets"]] == ["BTC", "ETH", "USDT"]
    assert document["warnings"] == [] and document["zero_priced"] == []
    assert document["zero_knowledge"] is True
    directory = Path(shutil.copytree(either_publication, tmp_path / "out"))
    flip_batch_proof_of(directory, count - 1)
    result = CliRunner().invoke(main, ["verify", str(directory), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["verdict"] == "invalid"
    shutil.rmtree(pub.batch_dir(directory, 0))
    result = CliRunner().invoke(main, ["verify", str(directory), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout.splitlines()[0])["verdict"] == "unreadable"


def flip_batch_proof_of(directory: Path, b: int) -> None:
    path = pub.batch_dir(directory, b) / "proof.bin"
    data = path.read_bytes()
    data = data[:-40] + bytes([data[-40] ^ 1]) + data[-39:]
    path.write_bytes(data)
    edit_statement(
        directory, lambda s: s["batches"][b].update(proof_sha256=hashlib.sha256(data).hexdigest())
    )


@pytest.fixture(scope="module", params=["one batch", "two batches"])
def zero_priced(request, tmp_path_factory) -> Path:
    """A publication in which BTC is priced 0 (every user stays solvent): of 3 users (one
    batch), or of 600 users in two batches of 512."""
    tmp = tmp_path_factory.mktemp("zero-priced")
    assets = json.loads(json.dumps(ASSETS))
    assets["assets"][0]["price"] = "0"
    (tmp / "assets.json").write_text(json.dumps(assets))
    (tmp / "snapshot.csv").write_text(batched_snapshot(3 if request.param == "one batch" else 600))
    options = () if request.param == "one batch" else ("--batch-size", "512", "--workers", "0")
    result = CliRunner().invoke(
        main,
        ["prove", str(tmp / "snapshot.csv"), "--assets", str(tmp / "assets.json"),
         "--out", str(tmp / "out"), "--private", str(tmp / "private"), "--issuer", ISSUER,
         "--as-of", AS_OF, *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    count = len(json.loads((tmp / "out" / "statement.json").read_text())["batches"])
    assert count == (1 if request.param == "one batch" else 2)
    return tmp / "out"


def test_a_zero_price_is_warned_of(zero_priced):
    """An asset priced 0 is a WARNING line in the text and in --json's "warnings", whatever the
    number of batches (it was missing for batched publications)."""
    text = verify_cli(zero_priced)
    assert text.exit_code == 0, text.output
    warnings = [line for line in text.stdout.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING: BTC priced at 0"), text.stdout
    assert text.stdout.strip().splitlines()[-1].startswith("VALID: ")
    as_json = json.loads(verify_cli(zero_priced, "--json").stdout)
    assert as_json["verdict"] == "valid" and as_json["zero_priced"] == ["BTC"]
    assert len(as_json["warnings"]) == 1 and as_json["warnings"][0].startswith("BTC priced at 0")


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
