"""Inclusion end to end through the command line: prove with a private store, export users'
files, check them with `verify-inclusion`; every tampering case is refused with exit 1, and a
publication whose leaves or root were changed does not verify."""

import csv
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.leaf import leaf_path, leaves_root, new_nonces
from solvency.cli import main
from solvency.inclusion import (
    INCLUSION_FIELDS,
    PrivateStore,
    check_inclusion,
    elements_hex,
    inclusion_filename,
    parse_inclusion,
)
from solvency.publication.check import read_leaves
from solvency.publication.statement import batch_dir, read_statement

from .conftest import ASSETS, IDENTITY

USERS = 512  # exactly one full trace: the last user sits on the last row


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def snapshot_text() -> str:
    """512 users; user-0001 and user-0002 hold identical balances; user-0003 owes ETH and USDT
    (negative balances, solvent through BTC); the last user owes BTC."""
    lines = ["id,BTC,ETH,USDT"]
    for i in range(USERS):
        btc, eth, usdt = f"0.{i:04d}", str(i % 3), f"{i * 7}.25"
        if i in (1, 2):
            btc, eth, usdt = "0.1", "1", "100"
        if i == 3:
            btc, eth, usdt = "1.5", "-2.25", "-1000.000001"
        if i == USERS - 1:
            btc, eth, usdt = "-0.00000001", "1", "0"
        lines.append(f"user-{i:04d},{btc},{eth},{usdt}")
    return "\n".join(lines) + "\n"


def prove(inputs: Path, out: Path, private: Path, *extra):
    """`solvency prove` of inputs/snapshot.csv against inputs/assets.json."""
    return run(
        "prove", inputs / "snapshot.csv", "--assets", inputs / "assets.json",
        "--out", out, "--private", private, *IDENTITY, *extra,
    )  # fmt: skip


def prove_into(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    (base / "assets.json").write_text(json.dumps(ASSETS))
    (base / "snapshot.csv").write_text(snapshot_text())
    result = prove(base, base / "out", base / "private")
    assert result.exit_code == 0, result.stderr
    return base


@pytest.fixture(scope="module")
def proved(tmp_path_factory) -> Path:
    """base/out (public) and base/private (the store) for the 512-user snapshot."""
    return prove_into(tmp_path_factory.mktemp("inclusion"))


@pytest.fixture(scope="module")
def proved_again(tmp_path_factory) -> Path:
    """The same snapshot proved a second time (fresh nonces)."""
    return prove_into(tmp_path_factory.mktemp("inclusion-again"))


def store_of(base: Path) -> PrivateStore:
    """The private store of the publication's one batch."""
    return PrivateStore(batch_dir(base / "private", 0))


def leaves_of(out: Path) -> np.ndarray:
    return read_leaves(batch_dir(out, 0) / "leaves.bin")


def set_leaves(out: Path, leaves: np.ndarray) -> str:
    """Publish other leaves for the one batch, with their root in statement.json (as the
    batch's root and the users' root): only the proof can tell. Returns the root."""
    (batch_dir(out, 0) / "leaves.bin").write_bytes(leaves.astype("<u4").tobytes())
    root = elements_hex(leaves_root(leaves))
    document = json.loads((out / "statement.json").read_text())
    document["batches"][0]["leaves_root"] = document["users_root"] = root
    (out / "statement.json").write_text(json.dumps(document))
    return root


def export(proved: Path, user: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{user}.json"
    result = run("inclusion", "export", proved / "private", "--user", user, "--out", out)
    assert result.exit_code == 0, result.stderr
    return out


def check(file: Path, proved: Path, *flags):
    return run("verify-inclusion", file, "--published", proved / "out", *flags)


def included(result) -> str:
    assert result.exit_code == 0, result.output
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("INCLUDED: your balances ")
    return line


def not_included(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = result.stdout.strip().splitlines()[0]
    assert line.startswith("NOT INCLUDED: ")
    return line


# -- honest users ---------------------------------------------------------------------------------
def test_first_user_is_included_and_the_proof_verifies(proved, tmp_path):
    line = included(check(export(proved, "user-0000", tmp_path), proved))
    assert "Test Exchange" in line and "2025-06-30T23:59:59Z" in line and "proof verified" in line


@pytest.mark.parametrize(
    ("user", "shown"),
    [
        ("user-0003", "BTC 1.5, ETH -2.25, USDT -1000.000001"),
        (f"user-{USERS - 1:04d}", "BTC -0.00000001, ETH 1 (and zero in the 1 other asset)"),
        ("user-0001", "BTC 0.1, ETH 1, USDT 100"),
    ],
)
def test_negative_balances(proved, tmp_path, user, shown):
    line = included(check(export(proved, user, tmp_path), proved, "--skip-proof"))
    assert f"your balances as user {user!r}, {shown}, are included" in line
    assert "--skip-proof relies on an earlier `solvency verify`" in line


def test_the_first_and_the_last_row(proved, tmp_path):
    """Every row holds a user here (512 users): the ones on rows 0 and 511 are included."""
    with store_of(proved) as store:
        by_row = {record[1]: record[0] for records in store.users() for record in records}
    assert sorted(by_row) == list(range(USERS))
    for row in (0, USERS - 1):
        file = export(proved, by_row[row], tmp_path)
        assert json.loads(file.read_text())["row"] == row
        included(check(file, proved, "--skip-proof", "--user", by_row[row]))


def test_rows_are_random(proved, proved_again):
    """Users sit on random rows, drawn afresh for each proof: a row says nothing of a user's
    place in the snapshot, and the same snapshot gives another order the next time."""
    with store_of(proved) as a, store_of(proved_again) as b:
        rows_a = [a.user(f"user-{i:04d}")[1] for i in range(USERS)]
        rows_b = [b.user(f"user-{i:04d}")[1] for i in range(USERS)]
    assert sorted(rows_a) == list(range(USERS)) and rows_a != list(range(USERS))
    assert rows_a != rows_b


def test_the_verdict_names_the_user(proved, tmp_path):
    """A file for alice passes as alice's only: the verdict names the id, and --user checks it
    (an exchange could otherwise hand carol alice's file when they hold the same balances)."""
    file = export(proved, "user-0001", tmp_path)
    result = check(file, proved, "--skip-proof")
    assert "note: this file is for the user id 'user-0001': check that it is yours" in result.stdout
    included(check(file, proved, "--skip-proof", "--user", "user-0001"))
    line = not_included(check(file, proved, "--skip-proof", "--user", "user-0002"))
    assert "this file is for the user id 'user-0001', not for 'user-0002'" in line


def test_export_to_standard_output(proved):
    result = run("inclusion", "export", proved / "private", "--user", "user-0005")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["user_id"] == "user-0005"


# -- what a user's file holds ------------------------------------------------------------------
def test_the_file_holds_only_the_users_own_data(proved, tmp_path):
    document = json.loads(export(proved, "user-0004", tmp_path).read_text())
    assert tuple(document) == INCLUSION_FIELDS
    assert document["user_id"] == "user-0004"
    assert document["balances"] == {"BTC": "0.00040000", "ETH": "1.00000000", "USDT": "28.250000"}
    assert len(document["path"]) == 9  # log2(512) sibling hashes, nothing else about others
    text = json.dumps(document)
    for other in ("user-0005", "user-0003", "0.00050000"):
        assert other not in text
    leaves = leaves_of(proved / "out")
    assert document["path"] == [elements_hex(s) for s in leaf_path(leaves, document["row"])]


def test_identical_balances_give_different_leaves_and_proofs_are_unlinkable(proved, proved_again):
    first, second = (leaves_of(p / "out") for p in (proved, proved_again))
    assert not np.array_equal(first[1], first[2])  # users 1 and 2 hold the same balances
    assert not (first[:, None, :] == second[None, :, :]).all(axis=2).any()  # no leaf in common
    with store_of(proved) as a, store_of(proved_again) as b:
        assert a.user("user-0000")[2] != b.user("user-0000")[2]  # fresh nonces


def test_the_private_store_is_the_owners_only(proved):
    mode = stat.S_IMODE(os.stat(batch_dir(proved / "private", 0) / "users.sqlite").st_mode)
    assert mode & 0o077 == 0
    published = sorted(str(p.relative_to(proved / "out")) for p in (proved / "out").rglob("*"))
    assert published == [
        "batches",
        "batches/b00000",
        "batches/b00000/leaves.bin",
        "batches/b00000/proof.bin",
        "index.html",
        "statement.json",
    ]


# -- tampering: exit 1 with a reason --------------------------------------------------------------
def tampered(proved: Path, tmp_path: Path, change) -> Path:
    file = export(proved, "user-0003", tmp_path)
    document = json.loads(file.read_text())
    change(document)
    file.write_text(json.dumps(document))
    return file


def flip_hex(text: str) -> str:
    return ("1" if text[7] == "0" else "0").join([text[:7], text[8:]])


TAMPER = {
    "balance one base unit up": (
        lambda d: d["balances"].update(USDT="-1000.000000"),
        "do not lead to the published root",
    ),
    "another id": (lambda d: d.update(user_id="user-0004"), "do not lead to the published root"),
    "another nonce": (
        lambda d: d.update(nonce=flip_hex(d["nonce"])),
        "do not lead to the published root",
    ),
    "a path element": (
        lambda d: d["path"].__setitem__(4, flip_hex(d["path"][4])),
        "do not lead to the published root",
    ),
    "another row": (lambda d: d.update(row=d["row"] ^ 1), "do not lead to the published root"),
    "a row outside the proof": (lambda d: d.update(row=USERS), "cannot belong to a batch"),
    "a path too short": (lambda d: d["path"].pop(), "cannot belong to a batch"),
    "another batch": (lambda d: d.update(batch=1), "this file names batch 1; there are 1"),
    "another issuer": (lambda d: d.update(issuer="Other Exchange"), "is for the proof of"),
    "another date": (lambda d: d.update(as_of="2025-07-31T23:59:59Z"), "is for the proof of"),
    "another root": (
        lambda d: d.update(users_root=flip_hex(d["users_root"])),
        "belongs to another snapshot",
    ),
    "an asset missing": (lambda d: d["balances"].pop("ETH"), "lists the assets"),
    "too many decimals": (
        lambda d: d["balances"].update(USDT="-1000.0000011"),
        "more than the asset's 6 decimals",
    ),
}


@pytest.mark.parametrize("case", TAMPER)
def test_tampering_is_not_included(proved, tmp_path, case):
    change, reason = TAMPER[case]
    line = not_included(check(tampered(proved, tmp_path, change), proved, "--skip-proof"))
    assert reason in line, line


def test_a_file_from_another_snapshot_is_not_included(proved, proved_again, tmp_path):
    """The same user's honest file from the other proof of the same balances."""
    file = export(proved_again, "user-0003", tmp_path)
    line = not_included(check(file, proved, "--skip-proof"))
    assert "belongs to another snapshot" in line


def test_a_padding_row_holds_no_user(proved, tmp_path):
    """Prove 3 users, so that 509 of the 512 rows are padding, and claim one of those rows with
    the real user's nonce or a new one, and zero balances."""
    base = tmp_path / "small"
    base.mkdir()
    (base / "assets.json").write_text(json.dumps(ASSETS))
    (base / "snapshot.csv").write_text("id,BTC,ETH,USDT\na,1,,\nb,,1,\nc,,,1\n")
    assert prove(base, base / "out", base / "private").exit_code == 0
    document = json.loads(export(base, "c", tmp_path).read_text())
    leaves = leaves_of(base / "out")
    with store_of(base) as store:
        used = {store.user(u)[1] for u in "abc"}
    padding = next(r for r in range(512) if r not in used)
    for user_id, nonce in (("c", document["nonce"]), ("ghost", elements_hex(new_nonces(1)[0]))):
        forged = dict(document, user_id=user_id, nonce=nonce, row=padding)
        forged["balances"] = {"BTC": "0.00000000", "ETH": "0.00000000", "USDT": "0.000000"}
        forged["path"] = [elements_hex(s) for s in leaf_path(leaves, padding)]
        file = tmp_path / "forged.json"
        file.write_text(json.dumps(forged))
        assert "do not lead to the published root" in not_included(check(file, base))
    missing = run("inclusion", "export", base / "private", "--user", "ghost")
    assert missing.exit_code == 2 and "no user 'ghost'" in missing.stderr


def test_a_changed_publication_is_not_included(proved, tmp_path):
    """A cheating exchange changes another user's leaf after proving, publishes the new root
    and hands out files with the new root and paths: the user's leaf and path check out, only
    the proof refuses. With --skip-proof the user relies on an earlier `verify`."""
    out = Path(shutil.copytree(proved / "out", tmp_path / "out"))
    leaves = leaves_of(out).copy()
    leaves[100, 0] = (leaves[100, 0] + 1) % (15 * 2**27 + 1)
    root = set_leaves(out, leaves)

    def new_root_and_path(d):
        d.update(users_root=root, path=[elements_hex(s) for s in leaf_path(leaves, d["row"])])

    file = tampered(proved, tmp_path, new_root_and_path)
    line = not_included(run("verify-inclusion", file, "--published", out))
    assert "the published proof is not valid" in line
    included(run("verify-inclusion", file, "--published", out, "--skip-proof"))


# -- the public verifier and the leaves -------------------------------------------------------
def test_verify_recomputes_the_root(proved, tmp_path):
    out = Path(shutil.copytree(proved / "out", tmp_path / "out"))
    document = json.loads((out / "statement.json").read_text())
    document["batches"][0]["leaves_root"] = flip_hex(document["batches"][0]["leaves_root"])
    (out / "statement.json").write_text(json.dumps(document))
    result = run("verify", out)
    assert result.exit_code == 1
    assert "batches[0].leaves_root: is not the root of " in result.stdout


def test_verify_refuses_other_leaves(proved, tmp_path):
    """One leaf changed and the root recomputed to match: only the proof can tell."""
    out = Path(shutil.copytree(proved / "out", tmp_path / "out"))
    leaves = leaves_of(out).copy()
    leaves[[0, 1]] = leaves[[1, 0]]  # two users' leaves swapped
    set_leaves(out, leaves)
    result = run("verify", out)
    assert result.exit_code == 1
    assert result.stdout.strip().splitlines()[-2].startswith("INVALID: the proof does not match")


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (lambda b: b[:-32], 1, "batches[0].users_padded: says 512, "),
        (lambda b: b[:-3], 2, "not a whole number of leaves"),
        (lambda b: b"\xff\xff\xff\xff" + b[4:], 2, "leaf 0: an element is not below"),
        (None, 2, "leaves.bin: no such file"),
    ],
)
def test_leaves_file_problems(proved, tmp_path, change, code, message):
    out = Path(shutil.copytree(proved / "out", tmp_path / "out"))
    leaves = batch_dir(out, 0) / "leaves.bin"
    if change is None:
        leaves.unlink()
    else:
        leaves.write_bytes(change(leaves.read_bytes()))
    result = run("verify", out)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_leaf_hash_is_fixed(proved, tmp_path):
    out = Path(shutil.copytree(proved / "out", tmp_path / "out"))
    document = json.loads((out / "statement.json").read_text())
    document["inclusion"]["leaf_hash"] = "poseidon2-babybear-w16"
    (out / "statement.json").write_text(json.dumps(document))
    result = run("verify", out)
    assert result.exit_code == 1 and "inclusion.leaf_hash" in result.stdout


# -- exporting everyone --------------------------------------------------------------------------
def test_export_all(proved, tmp_path):
    folder = tmp_path / "files"
    result = run("inclusion", "export", proved / "private", "--all", "--out", folder)
    assert result.exit_code == 0, result.stderr
    with (folder / "index.csv").open() as fh:
        index = list(csv.DictReader(fh))
    assert len(index) == USERS and len(list(folder.glob("*.json"))) == USERS
    statement, _ = read_statement(proved / "out")
    for entry in [*index[:: USERS // 8], index[-1]]:
        document = json.loads((folder / entry["file"]).read_text())
        assert document["user_id"] == entry["id"]
        assert f"{document['batch']}:{document['row']}" == entry["row"]
        check_inclusion(parse_inclusion(document), statement)  # raises if not
    again = run("inclusion", "export", proved / "private", "--all", "--out", folder)
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_file_names_are_injective_and_safe():
    names = {inclusion_filename(u) for u in ("a/b", "a%2Fb", "..", "x" * 300, "y" * 300, "é")}
    assert len(names) == 6
    assert all("/" not in n and len(n) < 255 and n not in (".", "..") for n in names)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "user-0000", "--all"), "exactly one of --user ID and --all"),
        (("--all",), "--all needs --out FOLDER"),
        ((), "exactly one of --user ID and --all"),
    ],
)
def test_export_usage_errors(proved, args, message):
    result = run("inclusion", "export", proved / "private", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_export_from_a_folder_without_a_store(tmp_path):
    result = run("inclusion", "export", tmp_path, "--user", "x")
    assert result.exit_code == 2 and "no private store here" in result.stderr


# -- where the private store may go ------------------------------------------------------------
@pytest.mark.parametrize("private", ["out", "out/private", "."])
def test_private_store_never_inside_the_public_directory(tmp_path, private):
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    (tmp_path / "snapshot.csv").write_text("id,BTC\na,1\n")
    result = prove(tmp_path, tmp_path / "out", tmp_path / private)
    assert result.exit_code == 2 and "must be outside --out" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_existing_store_is_never_replaced(proved, tmp_path):
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    (tmp_path / "snapshot.csv").write_text("id,BTC\na,1\n")
    store = batch_dir(proved / "private", 0) / "users.sqlite"
    before = store.read_bytes()
    result = prove(tmp_path, tmp_path / "out", proved / "private")
    assert result.exit_code == 2 and "holds a run already" in result.stderr
    assert store.read_bytes() == before


# -- malformed inclusion files: exit 2 ----------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"format": "x"}', "format: expected"),
        ('{"format": "stark-solvency-inclusion/3"}', "missing field"),
        ('{"format": "stark-solvency-inclusion/1"}', "format: expected"),
    ],
)
def test_unreadable_inclusion_file(proved, tmp_path, content, message):
    file = tmp_path / "bad.json"
    file.write_text(content)
    result = check(file, proved)
    assert result.exit_code == 2 and message in result.stderr, result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(nonce="xyz"), "nonce: expected 40 lowercase hex digits"),
        (lambda d: d.update(extra=1), "extra: unknown field"),
        (lambda d: d.update(row=-1), "row: expected a non-negative integer"),
        (lambda d: d["path"].__setitem__(0, "f" * 64), "path[0]: an element is not below"),
    ],
)
def test_malformed_inclusion_file(proved, tmp_path, change, message):
    result = check(tampered(proved, tmp_path, change), proved)
    assert result.exit_code == 2 and message in result.stderr, result.output


# -- capacity ---------------------------------------------------------------------------------
def test_capacity_with_the_leaf_hash(capsys):
    """200 assets take about 11,200 columns with the leaf hash (format 2, hidden totals):
    16,384 users fit, 16,385 do not (they pad to 32,768 rows); 22 assets fit 65,536 (the
    default batch size) but not 2^17."""
    from decimal import Decimal

    from solvency.commands.prove import MAX_TRACE_CELLS, check_capacity, inclusion_width
    from solvency.snapshot import Asset, Assets

    def market(k):
        return Assets("USD", tuple(Asset(f"A{j}", 8, Decimal(1)) for j in range(k))).market()

    width = inclusion_width(market(200))
    assert 32768 * width > MAX_TRACE_CELLS >= 16384 * width
    check_capacity(Path("s.csv"), market(200), 16384)
    check_capacity(Path("s.csv"), market(22), 1 << 16)
    with pytest.raises(SystemExit):
        check_capacity(Path("s.csv"), market(22), 1 << 17)
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        check_capacity(Path("s.csv"), market(200), 16385)
    assert refused.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "at 200 assets one proof takes at most 16,384 users" in message


# -- found by the review (helper attack): each fails on the code before it --------------------
@pytest.mark.parametrize(
    "amount",
    [
        "-1000.0000010000000000000000000000001",  # rounds to the true value at 28 digits
        "-１０００.000001",  # fullwidth digits
        "-১০০০.000001",  # Bengali digits
    ],
)
def test_only_exact_ascii_amounts(proved, tmp_path, amount):
    line = not_included(
        check(tampered(proved, tmp_path, lambda d: d["balances"].update(USDT=amount)), proved)
    )
    assert "your USDT balance cannot have been counted" in line


def test_untrusted_text_is_escaped(proved, tmp_path):
    """A file cannot print a fake verdict on the user's terminal."""
    fake = "\r\x1b[2KINCLUDED: your balances are fine\x1b[8m"
    result = check(tampered(proved, tmp_path, lambda d: d.update(as_of=fake)), proved)
    line = not_included(result)
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert "\\x1b[2KINCLUDED" in line


def test_a_damaged_store_is_refused(proved, tmp_path):
    import sqlite3

    private = Path(shutil.copytree(proved / "private", tmp_path / "private"))
    db = sqlite3.connect(batch_dir(private, 0) / "users.sqlite")
    with db:
        db.execute("UPDATE users SET balances = '[1]' WHERE id = 'user-0002'")
        db.execute("DELETE FROM meta WHERE key = 'issuer'")
    db.close()
    result = run("inclusion", "export", private, "--user", "user-0002")
    assert result.exit_code == 2 and "damaged private store" in result.stderr
    db = sqlite3.connect(batch_dir(private, 0) / "users.sqlite")
    with db:
        db.execute("INSERT INTO meta VALUES ('issuer', 'Test Exchange')")
    db.close()
    result = run("inclusion", "export", private, "--user", "user-0002")
    assert result.exit_code == 2 and "a user record is malformed" in result.stderr
    assert run("inclusion", "export", private, "--user", "user-0001").exit_code == 0


def test_the_private_store_through_a_link_in_the_public_directory(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "snapshot.csv").write_text("id,BTC\na,1\n")
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    result = prove(tmp_path, tmp_path / "out", tmp_path / "out" / "link")
    assert result.exit_code == 2 and "must be outside --out" in result.stderr


def test_prove_never_overwrites_a_publication(proved, tmp_path):
    before = (proved / "out" / "statement.json").read_bytes()
    result = prove(proved, proved / "out", tmp_path / "private")
    assert result.exit_code == 2 and "already holds a publication" in result.stderr
    assert (proved / "out" / "statement.json").read_bytes() == before
    assert not (tmp_path / "private").exists()


def test_a_failed_publication_publishes_nothing_and_resumes(tmp_path, monkeypatch):
    """statement.json cannot be written (a full disk): nothing is published (no statement),
    and the same command with --resume publishes the batch already proved, without proving
    it again (its users' nonces are in the store)."""
    import solvency.publication.write as write

    (tmp_path / "snapshot.csv").write_text("id,BTC\na,1\n")
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    args = (tmp_path, tmp_path / "out", tmp_path / "private")
    real = write.write_atomically

    def failing(path, data, **kw):
        if path.name == "statement.json":
            raise OSError(28, "No space left on device", str(path))
        return real(path, data, **kw)

    monkeypatch.setattr(write, "write_atomically", failing)
    result = prove(*args)
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert not (tmp_path / "out" / "statement.json").exists()
    monkeypatch.setattr(write, "write_atomically", real)
    store = batch_dir(tmp_path / "private", 0) / "users.sqlite"
    before = store.read_bytes()
    resumed = prove(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 1 of 1 batches already proved" in resumed.stderr
    assert store.read_bytes() == before
    assert run("verify", tmp_path / "out").exit_code == 0


@pytest.mark.parametrize("seed", [str(1 << 63), str(-(1 << 63) - 1)])
def test_insecure_seed_range(tmp_path, seed):
    (tmp_path / "snapshot.csv").write_text("id,BTC\na,1\n")
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    result = prove(tmp_path, tmp_path / "out", tmp_path / "private", "--insecure-seed", seed)
    assert result.exit_code == 2 and "--insecure-seed" in result.stderr


def test_statement_is_read_once_by_verify_inclusion(proved, tmp_path, monkeypatch):
    """A statement read twice (once for the user's file, once for the proofs) lets an exchange
    that controls the files swap them between the reads: the user's file is then checked
    against a statement no proof was checked against (found by the review, helper attack)."""
    import solvency.publication.statement as statement_module

    reads = []
    real = statement_module.load_json_strict

    def counting(path, *args, **kwargs):
        reads.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(statement_module, "load_json_strict", counting)
    result = check(export(proved, "user-0003", tmp_path), proved)
    included(result)
    assert reads == ["statement.json"]
    document = json.loads((proved / "out" / "statement.json").read_text())
    assert f"publication: users' root {document['users_root']}, snapshot " in result.stdout
