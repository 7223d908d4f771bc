"""`solvency inclusion export` and `solvency verify-inclusion`: a user's inclusion file, from
the private store to the user's check."""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from solvency import batches, inclusion
from solvency.commands.common import (
    EXIT_INPUT,
    EXIT_INVALID,
    REQUIRED_BITS,
    VERIFIER_KERNELS,
    announce_compilation,
    check_creatable,
    claim_file,
    console,
    fail,
    inside_publication,
)
from solvency.commands.verify import Verdict, checked_publication, identify, publication_dir
from solvency.files import write_atomically
from solvency.ids import canonical_id
from solvency.publication.encoding import load_json_strict, plain
from solvency.publication.statement import PublishedStatement, read_statement
from solvency.snapshot import InputError


# -- inclusion -------------------------------------------------------------------------------------
@click.group("inclusion")
def inclusion_group() -> None:
    """Users' inclusion files, from the private store that `prove --private` wrote."""


@inclusion_group.command("export")
@click.argument("private", metavar="PRIVATE_DIR", type=click.Path(path_type=Path))
@click.option("--user", "user_id", default=None, metavar="ID", help="the user whose file to write")
@click.option("--all", "everyone", is_flag=True, help="write every user's file into --out FOLDER")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="with --user: the file to write (default: standard output); with --all: a new "
    "folder, one file per user named by the percent-encoded id, plus index.csv",
)
def inclusion_export_cmd(private: Path, user_id: str | None, everyone: bool, out: Path | None):
    """Write one user's inclusion file (--user ID), or every user's (--all --out FOLDER).

    An inclusion file holds the user's secret nonce and balances: give it to that user only."""
    if everyone == (user_id is not None):
        fail(EXIT_INPUT, "give exactly one of --user ID and --all")
    if everyone and out is None:
        fail(EXIT_INPUT, "--all needs --out FOLDER")
    if out is not None:
        if out.exists() or out.is_symlink():
            fail(EXIT_INPUT, f"--out {out} already exists; nothing is overwritten")
        check_creatable("--out", out)
        home = inside_publication(out)
        if home is not None:
            fail(
                EXIT_INPUT,
                f"--out {out} is in the publication {home}: inclusion files are secret, each "
                "for its user only",
            )
        claim_file("--out", out)
    if out is None and sys.stdout is None:
        fail(EXIT_INPUT, "standard output is closed: give --out FILE")
    try:
        stores = batches.open_stores(private)
        if everyone:
            _export_all(stores, out)
            return
        user_id = canonical_id(user_id)  # as the snapshot's ids were read
        # an id that is not UTF-8 (bytes on the command line) is no user's
        found = [(s, r) for s in stores if _utf8(user_id) and (r := s.user(user_id))]
        if not found:
            fail(EXIT_INPUT, f"{private}: no user {user_id!r} in this proof")
        store, record = found[0]
        data = inclusion.document_bytes(inclusion.inclusion_documents(store, [record])[0])
        if out is None:
            sys.stdout.buffer.write(data)
        else:
            write_atomically(out, data, private=True)
            console.print(f"wrote {out}: {user_id!r}'s inclusion file (secret: theirs only)")
    except inclusion.StoreError as e:
        fail(EXIT_INPUT, str(e))
    except OSError as e:
        fail(EXIT_INPUT, f"--out {out}: cannot write: {e.strerror or e}")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _export_all(stores: list[inclusion.PrivateStore], out: Path) -> None:
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
    ) as bars:
        total = sum(s.count() for s in stores)
        task = bars.add_task("inclusion files", total=total)
        count = inclusion.export_all(stores, out, lambda done: bars.advance(task, done))
    console.print(
        f"wrote {count:,} inclusion files and index.csv to {out} in "
        f"{time.perf_counter() - start:.1f} s (secret: each file is for its user only)"
    )


@click.command("verify-inclusion")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--published",
    type=click.Path(path_type=Path),
    required=True,
    metavar="DIR",
    help="the publication's directory (statement.json and the batches' proofs and leaves)",
)
@click.option(
    "--user",
    "user_id",
    default=None,
    metavar="ID",
    help="your user id: the file must be for it (without it, the verdict names the file's id "
    "and you must check that it is yours)",
)
@click.option(
    "--skip-proof",
    is_flag=True,
    help="do not verify the STARK proof again: only if you already verified this "
    "publication with `solvency verify`",
)
@click.option(
    "--accept-conjectured-security",
    "accept_conjectured",
    is_flag=True,
    help="as for `solvency verify`",
)
def verify_inclusion_cmd(
    file: Path,
    published: Path,
    user_id: str | None,
    skip_proof: bool,
    accept_conjectured: bool,
) -> None:
    """Check that FILE (your inclusion file) shows your balances in the proved liabilities.

    Recomputes your leaf from your id, nonce and balances, follows the path to the root the
    published proof binds, and verifies the proof. Exit 0 included, 1 not included or an
    invalid proof, 2 unreadable input."""
    start = time.perf_counter()
    published = publication_dir(published)
    user_id = None if user_id is None else canonical_id(user_id)  # as the snapshot's ids
    regime = "conjectured" if accept_conjectured else "provable"
    if not skip_proof:
        announce_compilation(VERIFIER_KERNELS)
    try:
        raw = load_json_strict(file, inclusion.MAX_INCLUSION_BYTES, "inclusion file")
        try:
            claim = inclusion.parse_inclusion(raw)
        except ValueError as e:
            raise InputError(file, None, None, str(e)) from None
        if skip_proof:
            statement, _ = read_statement(published)
        else:  # the statement the proofs were checked against: read once, never twice
            statement = checked_publication(published, regime, REQUIRED_BITS).statement
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    except Verdict as v:
        click.echo(f"NOT INCLUDED: the published proof is not valid: {v.message}")
        click.echo(f"detail: {v.detail}")
        sys.exit(EXIT_INVALID)
    try:
        if user_id is not None and user_id != claim.user_id:
            raise inclusion.NotIncluded(
                f"this file is for the user id {claim.user_id!r}, not for {user_id!r}"
            )
        balances = inclusion.check_inclusion(claim, statement)
    except inclusion.NotIncluded as e:
        click.echo(f"NOT INCLUDED: {e}")
        sys.exit(EXIT_INVALID)
    _included(claim, statement, balances, user_id, skip_proof, start)


def _included(
    claim: inclusion.InclusionClaim,
    statement: PublishedStatement,
    balances: list[int],
    user_id: str | None,
    skip_proof: bool,
    start: float,
) -> None:
    """The INCLUDED verdict: the user's balances, with the note that names the file's id."""
    held = [
        f"{sym} {plain(Decimal(b).scaleb(-dec))}"
        for sym, dec, b in zip(statement.symbols, statement.decimals, balances, strict=True)
        if b
    ]
    zeros = len(balances) - len(held)
    listed = ", ".join(held) if held else "all zero"
    if held and zeros:
        listed += f" (and zero in the {zeros} other asset{'s' if zeros > 1 else ''})"
    note = (
        " (the publication was not verified again: --skip-proof relies on an earlier "
        "`solvency verify` of these same files)"
        if skip_proof
        else f" (proof verified in {time.perf_counter() - start:.2f} s)"
    )
    if user_id is None:
        click.echo(
            f"note: this file is for the user id {claim.user_id!r}: check that it is yours "
            "(--user ID checks it), or these may be someone else's balances"
        )
    click.echo(identify(statement))
    click.echo(
        f"INCLUDED: your balances as user {claim.user_id!r}, {listed}, are included in the "
        f"liabilities proved as of {statement.as_of} by {statement.issuer}{note}"
    )
