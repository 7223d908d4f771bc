"""`solvency demo`: the whole job on a generated snapshot, with its files kept."""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from solvency import batches, inclusion
from solvency import generate as synthetic
from solvency.commands.common import (
    announce_compilation,
    check_fresh_dir,
    claim_dir,
    console,
)
from solvency.commands.inclusion import verify_inclusion_cmd
from solvency.commands.prove import Identity, prove_snapshot
from solvency.commands.verify import run_verify
from solvency.files import write_atomically
from solvency.snapshot import parse_as_of
from stark.params import DEFAULT_PRESET

DEMO_ISSUER = "Demo Exchange (synthetic data)"


@click.command("demo")
@click.option(
    "--users",
    type=click.IntRange(1, 1 << 16),
    default=4096,
    show_default=True,
    help="users in the generated snapshot",
)
@click.option(
    "--assets",
    "num_assets",
    type=click.IntRange(1, 200),
    default=22,
    show_default=True,
    help="assets in the generated snapshot",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="a new directory for the demo's files (kept) [default: a new solvency-demo-* "
    "directory in the system's temporary folder]",
)
def demo_cmd(users: int, num_assets: int, out: Path | None) -> None:
    """Generate a snapshot, prove it with the default preset, verify the proof, and check the
    first user's inclusion file. Every file stays in DIR, which the summary names."""
    identity = Identity(
        DEMO_ISSUER, parse_as_of(datetime.now(UTC).replace(microsecond=0).isoformat())
    )
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="solvency-demo-"))
    else:
        check_fresh_dir("--out", out)
        claim_dir("--out", out)
    announce_compilation()
    assets_path, snapshot_path = synthetic.write(synthetic.generate(users, num_assets, 1), out)
    console.print(f"generated {users:,} users x {num_assets} assets in {out}")
    prove_snapshot(
        snapshot_path, assets_path, out / "proof", out / "private", identity, DEFAULT_PRESET
    )
    code = run_verify(out / "proof")
    stores = batches.open_stores(out / "private")
    with stores[0] as private:
        record = next(private.users(1))[0]
        doc = inclusion.inclusion_documents(private, [record])[0]
    user = record[0]
    write_atomically(out / "inclusion.json", inclusion.document_bytes(doc), private=True)
    click.echo(
        f"\n$ solvency verify-inclusion inclusion.json --published proof --user {user} --skip-proof"
    )
    click.echo(f"  (the inclusion file of user {user!r}, exported from the private store)")
    try:
        click.get_current_context().invoke(
            verify_inclusion_cmd,
            file=out / "inclusion.json",
            published=out / "proof",
            user_id=user,
            skip_proof=True,
            accept_conjectured=False,
        )
    except SystemExit as e:
        code = code or e.code
    click.echo(
        f"\nthe demo's files are in {out}: snapshot.csv and assets.json (the input), proof/ "
        "(what an exchange publishes), private/ (the users' nonces: secret), inclusion.json "
        f"(one user's file); try `solvency verify {out / 'proof'}`, or open "
        f"{out / 'proof' / 'index.html'} in a browser, choose the folder proof/ and drop "
        "inclusion.json on the page"
    )
    sys.exit(code)
