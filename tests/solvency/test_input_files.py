"""Every file a command reads goes through one bounded reader (solvency.files.read_regular): a
named pipe (FIFO) in its place is refused at once (it blocked the command forever), and so are a
directory, a link to /dev/zero and a file over the limit. Exit 2, one line naming the file, no
traceback. Each case runs under a timeout (SIGALRM), so that a command that blocks fails."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits.poseidon2 import DIGEST
from circuits.solvency import MAX_TRACE_LEN
from solvency import batches, files
from solvency.cli import main
from solvency.files import (
    MAX_ASSETS_BYTES,
    MAX_INPUT_BYTES,
    MAX_RECORD_BYTES,
    InputError,
    read_json_record,
    read_regular,
)
from solvency.inclusion import MAX_INCLUSION_BYTES
from solvency.publication.statement import MAX_STATEMENT_BYTES, batch_dir
from solvency.snapshot import MAX_RESERVES_BYTES, load_assets
from stark.proof import MAX_PROOF_BYTES

from .conftest import ASSETS, IDENTITY, SNAPSHOT

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
TIMEOUT = 60  # seconds: far more than any refusal takes, far less than forever
ACCOUNTS = {
    "mark_prices": {"BTC": "97000", "USDT": "1"},
    "users": [{"id": "u", "funding": {"BTC": "0.5"}}],
}
PROVE = ("prove", "snapshot.csv", "--assets", "assets.json", "--out", "o", "--private", "p")
VERIFY_INCLUSION = ("verify-inclusion", "alice.json", "--published", "published", "--skip-proof")


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    target: str  # the file replaced, relative to the case's folder
    limit: int | None  # its size limit in bytes (None: no limit is read, an SQLite file)


LEAVES_LIMIT = 4 * DIGEST * MAX_TRACE_LEN
CASES = {
    "prove: the snapshot": Case((*PROVE, *IDENTITY), "snapshot.csv", MAX_INPUT_BYTES),
    "prove: a JSON snapshot": Case(
        ("prove", "snapshot.json", *PROVE[2:], *IDENTITY), "snapshot.json", MAX_INPUT_BYTES
    ),
    "prove: the assets file": Case((*PROVE, *IDENTITY), "assets.json", MAX_ASSETS_BYTES),
    "prove --resume: the batch plan": Case(
        (*PROVE, *IDENTITY, "--resume", "--workers", "0"), "p/plan.json", MAX_RECORD_BYTES
    ),
    "snapshot build: the accounts file": Case(
        ("snapshot", "build", "accounts.json", "--out", "built.csv"),
        "accounts.json",
        MAX_INPUT_BYTES,
    ),
    "snapshot build: the prices file": Case(
        ("snapshot", "build", "accounts.json", "--prices", "prices.json", "--out", "built.csv"),
        "prices.json",
        MAX_ASSETS_BYTES,
    ),
    "snapshot explain: the accounts file": Case(
        ("snapshot", "explain", "accounts.json", "--user", "u"), "accounts.json", MAX_INPUT_BYTES
    ),
    "verify: statement.json": Case(
        ("verify", "published"), "published/statement.json", MAX_STATEMENT_BYTES
    ),
    "verify: proof.bin": Case(
        ("verify", "published"), "published/batches/b00000/proof.bin", MAX_PROOF_BYTES
    ),
    "verify: leaves.bin": Case(
        ("verify", "published"), "published/batches/b00000/leaves.bin", LEAVES_LIMIT
    ),
    "verify: the reserves file": Case(
        ("verify", "published", "--reserves", "reserves.json"), "reserves.json", MAX_RESERVES_BYTES
    ),
    "verify-inclusion: the inclusion file": Case(
        VERIFY_INCLUSION, "alice.json", MAX_INCLUSION_BYTES
    ),
    "verify-inclusion: statement.json": Case(
        VERIFY_INCLUSION, "published/statement.json", MAX_STATEMENT_BYTES
    ),
    "inclusion export: the private store": Case(
        ("inclusion", "export", "private", "--user", "alice"),
        "private/batches/b00000/users.sqlite",
        None,
    ),
    "inclusion export: a batch plan": Case(
        ("inclusion", "export", "private", "--user", "alice"), "private/plan.json", MAX_RECORD_BYTES
    ),
}
#: What each kind of file must be refused with.
KINDS = {
    "fifo": "is a named pipe (FIFO), not a regular file",
    "directory": "is a directory",
    "dev-zero": "is a character device, not a regular file",
    "too large": "larger than the {limit:,} bytes allowed",  # the limit named
}


class Blocked(Exception):
    """The command blocked (not an OSError, which the code under test would catch)."""


@pytest.fixture
def timeout():
    """Fail (Blocked) instead of hanging if the test blocks for TIMEOUT seconds."""

    def expired(signum, frame):
        raise Blocked(f"blocked for {TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def sources(honest_proof, tmp_path_factory) -> Path:
    """Every input of CASES, valid: the snapshot (CSV and JSON), the assets, accounts, prices
    and reserves files, the publication and its private store, alice's inclusion file."""
    base = tmp_path_factory.mktemp("sources")
    (base / "snapshot.csv").write_text(SNAPSHOT)
    (base / "snapshot.json").write_text(json.dumps([{"id": "alice", "BTC": "1"}]))
    (base / "assets.json").write_text(json.dumps(ASSETS))
    (base / "accounts.json").write_text(json.dumps(ACCOUNTS))
    (base / "prices.json").write_text(json.dumps(ACCOUNTS["mark_prices"]))
    (base / "reserves.json").write_text(json.dumps({"BTC": "1"}))
    (base / "p").mkdir()
    shutil.copytree(honest_proof, base / "published")
    shutil.copytree(honest_proof.parent / "private", base / "private")
    exported = CliRunner().invoke(
        main, ["inclusion", "export", str(base / "private"), "--user", "alice",
               "--out", str(base / "alice.json")],
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    return base


def replace(target: Path, kind: str, limit: int | None) -> None:
    """Put a file of this kind at `target`."""
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    else:
        with target.open("wb") as fh:  # sparse: no disk space is used
            fh.truncate(limit + 1)


def refused(result, target: str, problem: str) -> None:
    """Exit 2, one line naming the file and the problem, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert Path(target).name in lines[0] and problem in lines[0], lines[0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", CASES)
def test_only_a_regular_file_is_read(sources, tmp_path, monkeypatch, timeout, name, kind):
    case = CASES[name]
    if kind == "too large" and case.limit is None:
        pytest.skip("sqlite reads the store page by page: no size limit")
    folder = Path(shutil.copytree(sources, tmp_path / "case"))
    replace(folder / case.target, kind, case.limit)
    monkeypatch.chdir(folder)
    problem = KINDS[kind].format(limit=case.limit)
    refused(CliRunner().invoke(main, list(case.args)), case.target, problem)


# -- in-process: the reader and the batch records -----------------------------------------------
def test_a_fifo_swapped_in_after_the_check_does_not_block(tmp_path, monkeypatch, timeout):
    """The check on the path is only a first one: the file opened is checked again (fstat)."""
    fifo = tmp_path / "statement.json"
    os.mkfifo(fifo)
    monkeypatch.setattr(files, "check_regular", lambda path, expected="": None)
    with pytest.raises(InputError, match=r"statement\.json: is a named pipe"):
        read_regular(fifo, 100)


def test_the_limit_is_named_and_a_file_at_the_limit_is_read(tmp_path):
    path = tmp_path / "r.json"
    path.write_bytes(b"x" * 10)
    assert read_regular(path, 10) == b"x" * 10
    with pytest.raises(InputError, match=r"r\.json: larger than the 9 bytes allowed for any plan"):
        read_regular(path, 9, "plan")


def assets_file(directory: Path) -> Path:
    (directory / "assets.json").write_text(json.dumps(dict(ASSETS, assets=ASSETS["assets"][:1])))
    return directory / "assets.json"


def test_a_record_that_is_not_json(tmp_path):
    (tmp_path / "batch.json").write_text('{\n "a": 1,\n}')
    with pytest.raises(InputError, match=r"batch\.json:3: not valid JSON"):
        read_json_record(tmp_path / "batch.json")


@pytest.mark.parametrize("name", ["batch.json", "opening.json", "proof.bin", "plan.json"])
def test_batch_records_are_read_as_regular_files(tmp_path, timeout, name):
    """prove --resume reads the plan, each batch's record, opening and proof."""
    private, out = tmp_path / "private", tmp_path / "out"
    batch, public = batch_dir(private, 0), batch_dir(out, 0)
    batch.mkdir(parents=True)
    public.mkdir(parents=True)
    record = {"commitment": "0" * 64, "totals": ["0"], "equity": ["0"], "insecure_seeded": False}
    (batch / "batch.json").write_text(json.dumps(record))
    opening = {"offset_totals": ["0"], "blinding": "0" * 64, "equity": ["0"]}
    (batch / "opening.json").write_text(json.dumps(opening))
    (public / "leaves.bin").write_bytes(bytes(4 * DIGEST * 512))
    (public / "proof.bin").write_bytes(b"proof")
    target = {"proof.bin": public, "plan.json": private}.get(name, batch) / name
    replace(target, "fifo", None)
    with pytest.raises(InputError, match=rf"{name}: is a named pipe"):
        if name == "plan.json":
            batches.read_plan(private)
        else:
            market = load_assets(assets_file(tmp_path)).market()
            plan = batches.make_plan(600, 512, "00" * 32, "X", "2025-06-30T23:59:59Z")
            batches.load_result(out, private, plan, market, 0)


@pytest.mark.skipif(sys.platform != "linux", reason="sparse files")
def test_a_huge_snapshot_is_refused_before_it_is_read(tmp_path, timeout):
    """A snapshot over MAX_INPUT_BYTES (a sparse file: no disk used) is refused from its size,
    not read into memory."""
    from solvency.snapshot import load_assets, load_snapshot

    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    replace(tmp_path / "s.csv", "too large", MAX_INPUT_BYTES)
    with pytest.raises(InputError, match=f"larger than the {MAX_INPUT_BYTES:,} bytes allowed"):
        load_snapshot(tmp_path / "s.csv", load_assets(tmp_path / "assets.json"))
