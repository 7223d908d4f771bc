"""The `solvency` command line: generate, prove, verify, bench, demo, snapshot build/explain.

    solvency prove SNAPSHOT --assets ASSETS --out DIR --issuer NAME --as-of ISO8601
                   [--preset proven|fast] [--insecure-seed N]
    solvency verify DIR [--reserves RESERVES.json] [--accept-conjectured-security]
                   [--min-security BITS] [--json]

`prove` defaults to the `proven` preset (at least 100 provable bits, unique decoding); `fast`
claims only conjectured security. The issuer and the snapshot time (ISO 8601 with a timezone,
stored as UTC) are bound into the proof. `--insecure-seed` makes the masks reproducible, for
tests only: such a proof does not hide balances, is marked so in statement.json and in the
proof itself, and `verify` says so.

`verify` trusts nothing in statement.json as written (see solvency/publish.py): every field is
bound into the proof's transcript or recomputed and compared. It accepts only the named
presets' exact parameter blocks and requires at least 100 provable bits, or, with
`--accept-conjectured-security` only, 100 conjectured bits; `--min-security` can only raise
that bar. It ends with one verdict line, `VALID: ...` or `INVALID: ...` (then a `detail:` line
with the technical reason); `--json` prints one JSON object instead.

Exit codes: 0 success (a valid proof for verify); 1 an invalid proof or a false statement;
2 unreadable or bad input (one line naming the file and the field, or the option); 3 a
snapshot that does not satisfy the statement (the offending users are named); 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from circuits.solvency import (
    MAX_TRACE_LEN,
    MIN_TRACE_LEN,
    Insolvent,
    Market,
    SolvencyAir,
    Statement,
    padded_size,
)
from solvency import batched_publish, batches, inclusion
from solvency import generate as synthetic
from solvency.publish import (
    Checked,
    Published,
    StatementMismatch,
    check_published,
    coins,
    leaves_bytes,
    load_json_strict,
    plain,
    price_decimal,
    read_published,
    solvency_air,
    statement_json,
    write_atomically,
)
from solvency.snapshot import (
    InputError,
    Snapshot,
    load_assets,
    load_snapshot,
    parse_as_of,
    parse_issuer,
)
from stark.params import PRESETS
from stark.proof import VerificationError
from stark.prover import prove
from stark.randomness import ProverRandomness
from stark.verifier import verify as verify_proof

try:
    from stark.params import DEFAULT_PRESET
except ImportError:  # pragma: no cover - older stark/
    DEFAULT_PRESET = "proven"

EXIT_INVALID, EXIT_INPUT, EXIT_UNSATISFIED, EXIT_INTERRUPTED = 1, 2, 3, 130
REQUIRED_BITS = 100.0
console = Console(stderr=True)


def fail(code: int, message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


class PhaseProgress:
    """One progress bar per phase (witness, then the prover's phases)."""

    def __init__(self, enabled: bool = True):
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self.current = None

    def __enter__(self) -> PhaseProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.finish()
        self.progress.__exit__(*exc)

    def phase(self, name: str) -> None:
        self.finish()
        self.current = self.progress.add_task(name, total=1)

    def finish(self) -> None:
        if self.current is not None:
            self.progress.update(self.current, completed=1)
            self.current = None


@dataclass
class ProveResult:
    """A proof and what goes with it: the AIR (statement and leaves) for the public directory,
    the users' ids, nonces and balances for the private store."""

    air: SolvencyAir
    proof: bytes
    ids: list[str]
    rows: np.ndarray  # (users,) each user's row
    nonces: np.ndarray  # (users, 5)
    balances: np.ndarray  # (users, K) base units
    seconds: float

    @property
    def statement(self) -> Statement:
        return self.air.statement

    @property
    def users(self) -> int:
        return len(self.ids)


#: The most main-trace cells one proof with inclusion takes: about 81 bytes of peak memory per
#: cell were measured (6.65 GB for 65,536 x 22 assets, 1,256 columns), so about 16 GB here.
MAX_TRACE_CELLS = 3 << 26


def check_capacity(snapshot: Path, market: Market, users: int) -> None:
    """Refuse (exit 2) a snapshot too large for one proof: more users than MAX_TRACE_LEN, or
    more trace cells (padded users x columns with the leaf hash) than MAX_TRACE_CELLS."""
    if users > MAX_TRACE_LEN:
        fail(
            EXIT_INPUT,
            f"{snapshot}: {users:,} users exceed one proof's capacity of {MAX_TRACE_LEN:,}; "
            "split the snapshot into batches",
        )
    k = len(market.symbols)
    width = inclusion_width(market)
    n = padded_size(users)
    if n * width > MAX_TRACE_CELLS:
        most = 1 << (MAX_TRACE_CELLS // width).bit_length() - 1
        fail(
            EXIT_INPUT,
            f"{snapshot}: {users:,} users x {k} assets need {n:,} rows of {width:,} columns "
            f"with the leaf hash, more than one proof holds ({MAX_TRACE_CELLS:,} cells); at "
            f"{k} assets one proof takes at most {most:,} users: split the snapshot into batches",
        )


def inclusion_width(market: Market) -> int:
    """The main trace's columns for this market's AIR with leaves."""
    k = len(market.symbols)
    probe = market.statement((0,) * k, MIN_TRACE_LEN)
    gadget = SolvencyAir(probe).layout.leaf_gadget(
        inclusion.LEAF_WIDTH, sbox_registers=inclusion.LEAF_REGISTERS
    )
    return gadget.offset + gadget.num_columns


@dataclass(frozen=True)
class Identity:
    """Who makes the claim and for which snapshot, bound into the proof."""

    issuer: str
    as_of: str  # canonical UTC ISO 8601


def parse_identity(issuer: str, as_of: str) -> Identity:
    """Validate --issuer and --as-of; exits 2 with one line naming the option."""
    try:
        name = parse_issuer(issuer)
    except ValueError as e:
        fail(EXIT_INPUT, f"--issuer: {e}")
    try:
        moment = parse_as_of(as_of)
    except ValueError as e:
        fail(EXIT_INPUT, f"--as-of: {e}")
    return Identity(name, moment)


INSECURE_SEED_WARNING = (
    "--insecure-seed makes the proof's masks predictable: this proof does NOT hide users' "
    "balances. It is marked as such; never publish it."
)


def load_inputs(snapshot: Path, assets_path: Path) -> tuple[Market, Snapshot]:
    """The assets' market and the snapshot's users; exits 2 with one line on bad input."""
    try:
        assets = load_assets(assets_path)
        market = assets.market(assets_path)
        with console.status(f"loading {snapshot}"):
            return market, load_snapshot(snapshot, assets)
    except InputError as e:
        fail(EXIT_INPUT, str(e))


def prove_files(
    snapshot: Path,
    market: Market,
    snap: Snapshot,
    preset: str,
    identity: Identity,
    insecure_seed: int | None = None,
    show_progress: bool = True,
) -> ProveResult:
    """Prove a loaded snapshot in one proof with its users' leaves: fresh nonces, id
    commitments, the witness with the leaf hash, the proof. Exits with code 2 or 3 on bad or
    false input."""
    if insecure_seed is not None:
        console.print(f"[bold yellow]warning:[/] {INSECURE_SEED_WARNING}", soft_wrap=True)
    # the nonces hide the leaves: from the operating system, or reproducible for tests only
    rng = (
        None if insecure_seed is None else ProverRandomness(b"nonces" + str(insecure_seed).encode())
    )
    try:
        with PhaseProgress(show_progress) as bars:
            check_capacity(snapshot, market, len(snap.ids))
            start = time.perf_counter()
            bars.phase("leaves, witness")
            try:
                wit = inclusion.witness(market, snap.ids, snap.balances, rng)
            except Insolvent as e:
                named = ", ".join(snap.ids[r] for r in e.rows[:5])
                more = f" and {len(e.rows) - 5} more" if len(e.rows) > 5 else ""
                fail(
                    EXIT_UNSATISFIED,
                    f"{snapshot}: {len(e.rows)} user(s) have a negative "
                    f"total value at the given prices: {named}{more}; nothing was written",
                )
            except ValueError as e:  # an id with no UTF-8 form
                fail(EXIT_INPUT, f"{snapshot}: id: {e}")
            try:
                statement = dataclasses.replace(
                    wit.statement,
                    issuer=identity.issuer,
                    as_of=identity.as_of,
                    insecure_seeded=insecure_seed is not None,
                )
            except ValueError as e:
                fail(EXIT_INPUT, f"{snapshot}: {e}")
            air = solvency_air(statement, wit.leaves)
            proof = prove(
                air,
                wit.trace,
                PRESETS[preset],
                seed=insecure_seed,
                on_phase=bars.phase,
            ).to_bytes()
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    seconds = time.perf_counter() - start
    return ProveResult(air, proof, snap.ids, wit.rows, wit.nonces, snap.balances, seconds)


def publish(result: ProveResult, preset: str, out: Path, private_store: Path) -> dict:
    """Write the private store, then leaves.bin, proof.bin and statement.json, each atomically.
    The store first: published leaves whose nonces were lost could never be shown to anyone.
    The statement last: it never points at files that are not there."""
    document = statement_json(result.air, PRESETS[preset], result.proof)
    inclusion.write_store(
        private_store,
        result.statement,
        result.air.leaves,
        document["inclusion"]["leaves_root"],
        result.ids,
        result.rows,
        result.nonces,
        result.balances,
    )
    files = {
        "leaves.bin": leaves_bytes(result.air.leaves),
        "proof.bin": result.proof,
        "statement.json": (json.dumps(document, indent=2) + "\n").encode(),
    }
    written = [private_store]
    try:
        for name, data in files.items():
            write_atomically(out / name, data)
            written.append(out / name)
    except BaseException:  # a publication half written is none: remove it, so a retry may run
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return document


def summary(result: ProveResult, document: dict) -> str:
    sec = document["security"]
    preset = document["preset"]
    regime = (
        f"{preset} preset: conjectured security only; verifiers must pass "
        "--accept-conjectured-security"
        if sec["provable_bits"] < REQUIRED_BITS
        else f"{preset} preset"
    )
    line = (
        f"{result.users:,} users ({result.statement.trace_len:,} padded), "
        f"{result.statement.num_assets} assets, proved in {result.seconds:.1f} s, "
        f"proof {len(result.proof):,} bytes, security {sec['provable_bits']} bits provable / "
        f"{sec['conjectured_bits']} bits conjectured ({regime})"
    )
    if result.statement.insecure_seeded:
        line += "; NOT zero-knowledge (--insecure-seed)"
    return line


class _Group(click.Group):
    """Ctrl-C is not an invalid proof: exit 130 with "interrupted", not click's exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            console.print("interrupted", highlight=False)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Zero-knowledge STARK proofs of solvency."""


@main.command("generate")
@click.option("--users", type=click.IntRange(1), required=True)
@click.option("--assets", "num_assets", type=click.IntRange(1, 200), required=True)
@click.option("--seed", type=int, default=0, show_default=True, help="the synthetic data's seed")
@click.option("--out", type=click.Path(path_type=Path), required=True)
def generate_cmd(users: int, num_assets: int, seed: int, out: Path) -> None:
    """Write a realistic synthetic snapshot.csv and assets.json to OUT."""
    assets_path, snapshot_path = synthetic.write(synthetic.generate(users, num_assets, seed), out)
    console.print(
        f"wrote {snapshot_path} ({users:,} users) and {assets_path} ({num_assets} assets)"
    )


@main.command("prove")
@click.argument("snapshot", type=click.Path(path_type=Path))
@click.option("--assets", "assets_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="the public directory: proof.bin, leaves.bin, statement.json",
)
@click.option(
    "--private",
    "private",
    type=click.Path(path_type=Path),
    required=True,
    metavar="PRIVATE_DIR",
    help="where the users' nonces and balances are kept (users.sqlite) to export their "
    "inclusion files; secret, never inside --out",
)
@click.option(
    "--issuer",
    required=True,
    metavar="NAME",
    help="the exchange making the claim; bound into the proof",
)
@click.option(
    "--as-of",
    "as_of",
    required=True,
    metavar="ISO8601",
    help="the snapshot time with a timezone, e.g. 2025-06-30T23:59:59Z or "
    "2025-07-01T01:59:59+02:00; stored in UTC and bound into the proof",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default=DEFAULT_PRESET,
    show_default=True,
    help="proven: at least 100 provable bits (unique decoding); fast: quicker and smaller, "
    "conjectured security only (verify then needs --accept-conjectured-security)",
)
@click.option(
    "--insecure-seed",
    type=click.IntRange(-(1 << 63), (1 << 63) - 1),
    default=None,
    metavar="N",
    help="TESTING ONLY: reproducible masks for tests; the proof does NOT hide balances "
    "(statement.json and verify say so)",
)
@click.option(
    "--batch-size",
    type=int,
    default=batches.DEFAULT_BATCH_SIZE,
    show_default=True,
    help="a larger snapshot is proved in batches of this many users (a power of two), only "
    "the grand totals published",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    default=None,
    help="batches: local Dask workers (default: one per core; 0: no Dask, one by one)",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="batches: an existing Dask scheduler, e.g. tcp://10.0.0.5:8786, whose workers have "
    "this package installed",
)
@click.option(
    "--resume",
    is_flag=True,
    help="batches: go on with an interrupted run (same inputs), proving only what is missing",
)
def prove_cmd(
    snapshot: Path,
    assets_path: Path,
    out: Path,
    private: Path,
    issuer: str,
    as_of: str,
    preset: str,
    insecure_seed: int | None,
    batch_size: int,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
) -> None:
    """Prove SNAPSHOT (CSV or JSON) against the assets file; write OUT/proof.bin,
    OUT/leaves.bin and OUT/statement.json, and the private store PRIVATE_DIR/users.sqlite.
    A snapshot of more than --batch-size users is proved in batches (docs/batches.md)."""
    identity = parse_identity(issuer, as_of)
    try:
        batches.check_batch_size(batch_size)
    except ValueError as e:
        fail(EXIT_INPUT, f"--batch-size: {e}")
    store = private_store_path(private, out)
    prepare_outputs(out, private)
    market, snap = load_inputs(snapshot, assets_path)
    if len(snap.ids) > batch_size or resume:
        if insecure_seed is not None:
            fail(EXIT_INPUT, "--insecure-seed is for a single proof, not for batches")
        prove_in_batches(
            snapshot, assets_path, market, snap, out, private, preset, identity, batch_size,
            workers, scheduler, resume,
        )  # fmt: skip
        return
    result = prove_files(snapshot, market, snap, preset, identity, insecure_seed)
    try:
        document = publish(result, preset, out, store)
    except OSError as e:
        fail(EXIT_INPUT, f"cannot write the proof: {e.filename or out}: {e.strerror or e}")
    console.print(summary(result, document), highlight=False, soft_wrap=True)


PUBLISHED_FILES = ("statement.json", "proof.bin", "leaves.bin")


def prepare_outputs(out: Path, private: Path) -> None:
    """Before any work: refuse an --out that holds a publication already (nothing is
    overwritten), and directories that could not be created or written (exit 2). Nothing is
    created yet: a run that fails on its input leaves no trace."""
    if out.exists() and not out.is_dir():
        fail(EXIT_INPUT, f"--out {out}: not a directory")
    held = [name for name in PUBLISHED_FILES if (out / name).exists()]
    if held:
        fail(
            EXIT_INPUT,
            f"--out {out} already holds a publication ({', '.join(held)}); nothing is "
            "overwritten: choose a new directory",
        )
    for option, path in (("--out", out), ("--private", private)):
        if any(len(part.encode(errors="surrogateescape")) > 255 for part in path.parts):
            fail(EXIT_INPUT, f"{option} {path}: a name in this path is too long")
        existing = next(p for p in (path, *path.parents) if p.exists() or p == Path(p.anchor))
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            fail(EXIT_INPUT, f"{option} {path}: cannot be created or written ({existing})")


def prove_in_batches(
    snapshot: Path,
    assets_path: Path,
    market: Market,
    snap: Snapshot,
    out: Path,
    private: Path,
    preset: str,
    identity: Identity,
    batch_size: int,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
) -> None:
    """Prove the snapshot in batches on Dask (or one by one with --workers 0), writing each
    batch as it completes, then the aggregation and the publication (docs/batches.md)."""
    start = time.perf_counter()
    check_capacity(snapshot, market, batch_size)
    digest = batches.snapshot_digest(
        [snapshot, assets_path], batch_size, identity.issuer, identity.as_of
    )
    plan = batches.make_plan(len(snap.ids), batch_size, digest, identity.issuer, identity.as_of)
    try:
        earlier = batches.read_plan(private)
    except (ValueError, OSError, TypeError) as e:
        fail(EXIT_INPUT, f"--private {private}: {e}")
    if earlier is not None and not resume:
        fail(EXIT_INPUT, f"--private {private} holds a batch run already; --resume goes on")
    if resume and earlier is None:
        fail(EXIT_INPUT, f"--resume: --private {private} holds no batch run to go on with")
    if earlier is not None and earlier != plan:
        fail(EXIT_INPUT, "--resume: the inputs or the options differ from the interrupted run's")
    write_atomically(private / "plan.json", plan.to_json(), private=True)
    done = batches.finished(plan, out, private)
    tasks = [
        batches.BatchTask(
            b, plan.count, [snap.ids[i] for i in plan.users_of(b)],
            snap.balances[plan.users_of(b).start : plan.users_of(b).stop], market,
            identity.issuer, identity.as_of, preset, digest,
        )
        for b in range(plan.count)
        if b not in done
    ]  # fmt: skip
    if done:
        console.print(f"resuming: {len(done)} of {plan.count} batches already proved")
    results: dict[int, batches.BatchResult] = {}
    with Progress(
        TextColumn("batches"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    ) as bars:
        bar = bars.add_task("batches", total=plan.count, completed=len(done))

        def finished(result: batches.BatchResult) -> None:
            batches.write_batch(result, out, private)
            results[result.index] = result
            bars.advance(bar)

        try:
            batches.run(tasks, finished, scheduler=scheduler, workers=workers)
        except batches.InsolventUsers as e:
            named = ", ".join(e.ids[:5]) + (f" and {len(e.ids) - 5} more" if len(e.ids) > 5 else "")
            fail(EXIT_UNSATISFIED, f"{snapshot}: user(s) with a negative total value: {named}")
    base = dataclasses.replace(
        market.statement((0,) * len(market.symbols), batch_size),
        issuer=identity.issuer,
        as_of=identity.as_of,
    )
    for b in done:
        n = len(plan.users_of(b))
        statement = batched_publish.batch_statement(base, b, plan.count, digest, padded_size(n))
        results[b] = batches.load_result(out, private, b, statement)
    with console.status("aggregation"):
        aggregate, aggregate_proof = batches.prove_aggregate(list(results.values()), preset)
        batched_publish.publish_snapshot(
            out, list(results.values()), aggregate, aggregate_proof, plan, PRESETS[preset]
        )
    console.print(
        f"{len(snap.ids):,} users in {plan.count} batches of {batch_size:,}, "
        f"{len(market.symbols)} assets, proved in {time.perf_counter() - start:.1f} s "
        f"({preset} preset); only the grand totals are published"
    )


def private_store_path(private: Path, out: Path) -> Path:
    """PRIVATE_DIR/users.sqlite, checked before any work (exit 2 if unusable)."""
    try:
        return inclusion.check_private_location(private, out)
    except ValueError as e:
        fail(EXIT_INPUT, str(e))


def _reserves(path: Path | None, statement: Statement) -> dict[str, Decimal]:
    if path is None:
        return {}
    data = load_json_strict(path)
    if not isinstance(data, dict):
        raise InputError(path, 1, None, 'expected {"SYMBOL": "amount", ...}')
    out = {}
    for symbol, raw in data.items():
        if symbol not in statement.symbols:
            raise InputError(path, None, symbol, "not an asset of this statement")
        try:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise InvalidOperation
            amount = Decimal(str(raw))
            if not amount.is_finite() or amount < 0:
                raise InvalidOperation
        except InvalidOperation:
            raise InputError(path, None, symbol, f"not a non-negative number: {raw!r}") from None
        out[symbol] = amount
    return out


@dataclass(frozen=True)
class AssetLine:
    """One asset as `verify` reports it, every figure from the checked statement."""

    symbol: str
    price: str
    total: str
    reserves: str | None
    ratio_percent: float | None  # None without reserves or with zero liabilities
    below: bool  # reserves below liabilities, compared exactly


def asset_lines(statement: Statement, reserve: dict[str, Decimal]) -> list[AssetLine]:
    out = []
    for sym, dec, p_int, total in zip(
        statement.symbols, statement.decimals, statement.prices, statement.totals, strict=True
    ):
        held = reserve.get(sym)
        liabilities = Decimal(total).scaleb(-dec)
        ratio = None
        if held is not None and liabilities > 0:
            ratio = float(held / liabilities * 100)
        out.append(
            AssetLine(
                sym,
                plain(price_decimal(p_int, statement.scale, dec)),
                coins(total, dec),
                None if held is None else plain(held),
                ratio,
                held is not None and liabilities > 0 and held < liabilities,
            )
        )
    return out


def totals_table(
    statement: Statement, reserve: dict[str, Decimal] | None = None
) -> tuple[Table, list[str]]:
    """The proved per-asset prices and totals, with reserves and ratios when given; also the
    assets whose reserves fall below their liabilities."""
    table = Table()
    table.add_column("asset")
    table.add_column(f"price ({escape(statement.quote)})", justify="right")
    table.add_column("total owed to users", justify="right")
    if reserve:
        table.add_column("reserves", justify="right")
        table.add_column("reserve ratio", justify="right")
    below = []
    for line in asset_lines(statement, reserve or {}):
        row = [line.symbol, line.price, line.total]
        if reserve:
            if line.reserves is None:
                row += ["-", "-"]
            elif line.ratio_percent is None:
                row += [line.reserves, "n/a"]
            else:
                if line.below:
                    below.append(line.symbol)
                flag = "  [bold red]BELOW 100%[/]" if line.below else ""
                row += [line.reserves, f"{line.ratio_percent:.1f}%{flag}"]
        table.add_row(*row)
    return table, below


# -- verify ----------------------------------------------------------------------------------------
DOES_NOT_MATCH = (
    "the proof does not match this statement: the issuer, date, totals, prices, assets or "
    "parameters were changed, or the proof is corrupt"
)


def customer_reason(reason: str) -> str:
    """A VerificationError's reason in words a customer understands."""
    r = reason.lower()
    if r.startswith("malformed proof") or "format version" in r:
        return "the proof file is corrupt or is not a solvency proof"
    if "accepted" in r or "unacceptable" in r or " bits" in r:
        return "the proof's security parameters are not ones this verifier accepts"
    if "trace length" in r:
        return "the proof is for a different number of users than the statement says"
    return DOES_NOT_MATCH


def mismatch_reason(e: StatementMismatch) -> str:
    """A false statement.json in words a customer understands."""
    if e.field in ("proof_sha256", "proof_bytes"):
        return "proof.bin is not the proof this statement names: the files were changed or mixed up"
    if e.field == "params" and "none of the accepted presets" in str(e):
        return (
            "the proof uses security parameters this verifier does not accept "
            f"(only the presets {', '.join(sorted(PRESETS))})"
        )
    if e.field.startswith("security."):
        return (
            "the security figures in statement.json are not what the proof's parameters give "
            "for this statement: it was changed or is false; nothing in it can be relied on"
        )
    if e.field in ("params", "preset", "zero_knowledge"):
        return (
            f"statement.json misreports the proof's parameters or security ({e.field}); "
            "nothing in it can be relied on"
        )
    return (
        f"statement.json says something the proof does not prove ({e.field}); "
        "nothing in it can be relied on"
    )


class Verdict(Exception):
    """An INVALID verdict: the customer's sentence and the technical detail."""

    def __init__(self, message: str, detail: str):
        super().__init__(message)
        self.message, self.detail = message, detail


def _emit_json(document: dict) -> None:
    click.echo(json.dumps(document, indent=None))


def zero_priced(statement: Statement) -> list[str]:
    """The assets priced at 0: a debt in them costs a user nothing in value, so a row of such
    debts (a user who does not exist, say) could lower their total and still pass."""
    return [sym for sym, p in zip(statement.symbols, statement.prices, strict=True) if p == 0]


def verified_publication(pub: Published, regime: str, min_bits: float) -> Checked:
    """Check a publication in full: statement.json against what is recomputed (including the
    leaves' root), the security bar, and the STARK proof for the statement and the leaves.
    Returns the `Checked` publication; raises Verdict with the reason."""
    try:
        checked = check_published(pub)
    except StatementMismatch as e:
        raise Verdict(mismatch_reason(e), str(e)) from None
    except VerificationError as e:
        raise Verdict(customer_reason(e.reason), e.reason) from None
    report = checked.security
    bits = report.provable_bits if regime == "provable" else report.conjectured_bits
    if bits < min_bits:
        hint = (
            ""
            if regime == "conjectured"
            else "; a proof made with --preset fast is accepted only with "
            "--accept-conjectured-security"
        )
        raise Verdict(
            f"the proof's security is below what this verifier requires: {bits:.1f} "
            f"{regime} bits, fewer than {min_bits:g}{hint}",
            f"{checked.preset} preset: {report.provable_bits:.2f} provable bits, "
            f"{report.conjectured_bits:.2f} conjectured bits",
        )
    try:
        verify_proof(
            checked.air,
            checked.proof,
            accepted_params=list(PRESETS.values()),
            min_bits=min_bits,
            regime=regime,
        )
    except VerificationError as e:
        raise Verdict(customer_reason(e.reason), e.reason) from None
    return checked


def run_verify(
    directory: Path,
    reserves: Path | None = None,
    accept_conjectured: bool = False,
    min_bits: float = REQUIRED_BITS,
    as_json: bool = False,
) -> int:
    """Check DIRECTORY/proof.bin against DIRECTORY/statement.json; print the report and
    return the exit code (0 valid, 1 invalid, 2 unreadable input)."""
    regime = "conjectured" if accept_conjectured else "provable"
    start = time.perf_counter()
    if batched_publish.is_batched(directory):
        return run_verify_snapshot(directory, reserves, regime, min_bits, as_json=as_json)
    try:
        pub = read_published(directory)
        reserve = _reserves(reserves, pub.statement)
    except InputError as e:
        if as_json:
            _emit_json({"verdict": "unreadable", "reason": str(e)})
        fail(EXIT_INPUT, str(e))
    statement = pub.statement
    try:
        checked = verified_publication(pub, regime, min_bits)
    except Verdict as v:
        seconds = time.perf_counter() - start
        if as_json:
            _emit_json(
                {
                    "verdict": "invalid",
                    "message": v.message,
                    "reason": v.detail,
                    "seconds": round(seconds, 3),
                }
            )
        else:
            click.echo(f"INVALID: {v.message}")
            click.echo(f"detail: {v.detail}")
        return EXIT_INVALID
    seconds = time.perf_counter() - start
    report = checked.security
    zk = checked.params.zk and not statement.insecure_seeded
    verdict = (
        f"the liabilities of {statement.issuer} as of {statement.as_of} are proved: each "
        f"total is the exact sum of {statement.trace_len:,} padded user balances and no "
        f"user's total value is below zero"
    )
    if regime == "conjectured":
        verdict = "at conjectured security only, " + verdict
    if not zk:
        verdict += "; this proof does NOT hide user balances (made for testing)"
    if as_json:
        lines = asset_lines(statement, reserve)
        _emit_json(
            {
                "verdict": "valid",
                "message": verdict,
                "issuer": statement.issuer,
                "as_of": statement.as_of,
                "quote": statement.quote,
                "users_padded": statement.trace_len,
                "assets": [
                    {
                        "symbol": a.symbol,
                        "price": a.price,
                        "total": a.total,
                        **(
                            {"reserves": a.reserves, "reserve_ratio_percent": a.ratio_percent}
                            if reserve
                            else {}
                        ),
                    }
                    for a in lines
                ],
                "reserves_below_liabilities": [a.symbol for a in lines if a.below],
                "zero_priced": zero_priced(statement),
                "preset": checked.preset,
                "security": {
                    "regime_required": regime,
                    "min_bits": min_bits,
                    "provable_bits": round(report.provable_bits, 2),
                    "conjectured_bits": round(report.conjectured_bits, 2),
                    "recomputed": True,
                },
                "zero_knowledge": zk,
                "seconds": round(seconds, 3),
            }
        )
        return 0
    table, below = totals_table(statement, reserve)
    click.echo(
        f"Liabilities of {statement.issuer} as of {statement.as_of}, "
        f"{statement.trace_len:,} users (padded), prices in {statement.quote}:"
    )
    Console(file=sys.stdout).print(table)
    click.echo(
        f"security, recomputed from the proof's parameters ({checked.preset} preset): "
        f"{report.provable_bits:.1f} bits provable (unique decoding), "
        f"{report.conjectured_bits:.1f} bits conjectured; required: {min_bits:g} {regime} bits"
    )
    if regime == "conjectured":
        click.echo(
            "note: conjectured security rests on the ethSTARK conjecture, known since 2025 to "
            "be false in general; accepted only because --accept-conjectured-security was given"
        )
    if below:
        click.echo(f"reserves below liabilities: {', '.join(below)}")
    unpriced = zero_priced(statement)
    if unpriced:
        click.echo(
            f"warning: {', '.join(unpriced)} priced at 0: negative balances in "
            f"{'it' if len(unpriced) == 1 else 'them'} do not lower any user's value, so "
            "the proof does not stop rows with such debts from lowering the total; check "
            "that a price of 0 is right"
        )
    if not zk:
        click.echo(
            "WARNING: this proof was made with --insecure-seed (testing only): it does NOT "
            "hide user balances"
        )
    click.echo(f"verified in {seconds:.2f} s")
    click.echo(f"VALID: {verdict}")
    return 0


def run_verify_snapshot(
    directory: Path,
    reserves: Path | None,
    regime: str,
    min_bits: float,
    *,
    quiet: bool = False,
    as_json: bool = False,
) -> int:
    """`verify` of a snapshot proved in batches (solvency/batched_publish.py): every batch
    proof, the aggregation, and the grand totals."""
    start = time.perf_counter()
    try:
        try:
            checked = batched_publish.check_snapshot(directory, list(PRESETS.values()))
        except StatementMismatch as e:
            raise Verdict(mismatch_reason(e), str(e)) from None
        except (batches.SnapshotError, VerificationError) as e:
            raise Verdict(str(e), str(e)) from None
        bits = getattr(checked.security, f"{regime}_bits")
        if bits < min_bits:
            raise Verdict(
                f"the proofs' security is below what this verifier requires: {bits:.1f} "
                f"{regime} bits, fewer than {min_bits:g}",
                f"{checked.preset} preset",
            )
        reserve = _reserves(reserves, checked.statement)
    except InputError as e:
        if as_json:
            _emit_json({"verdict": "unreadable", "reason": str(e)})
        fail(EXIT_INPUT, str(e))
    except Verdict as v:
        if as_json:
            _emit_json({"verdict": "invalid", "message": v.message, "reason": v.detail})
        else:
            click.echo(f"INVALID: {v.message}")
            if v.detail != v.message:
                click.echo(f"detail: {v.detail}")
        return EXIT_INVALID
    if as_json:
        statement = checked.statement
        _emit_json(
            {
                "verdict": "valid",
                "issuer": statement.issuer,
                "as_of": statement.as_of,
                "quote": statement.quote,
                "users_padded": statement.trace_len,
                "batches": checked.count,
                "assets": [
                    {"symbol": a.symbol, "price": a.price, "total": a.total}
                    for a in asset_lines(statement, reserve)
                ],
                "preset": checked.preset,
                "security": {
                    "regime_required": regime,
                    "min_bits": min_bits,
                    "provable_bits": round(checked.security.provable_bits, 2),
                    "conjectured_bits": round(checked.security.conjectured_bits, 2),
                    "recomputed": True,
                },
                "zero_knowledge": checked.params.zk,
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
        return 0
    if quiet:
        return 0
    statement = checked.statement
    table, below = totals_table(statement, reserve)
    click.echo(
        f"Liabilities of {statement.issuer} as of {statement.as_of}, "
        f"{statement.trace_len:,} users (padded) in {checked.count} batches, prices in "
        f"{statement.quote}:"
    )
    Console(file=sys.stdout).print(table)
    click.echo(
        f"security, recomputed ({checked.preset} preset, the weaker of a batch proof and the "
        f"aggregation): {checked.security.provable_bits:.1f} bits provable, "
        f"{checked.security.conjectured_bits:.1f} bits conjectured"
    )
    if below:
        click.echo(f"reserves below liabilities: {', '.join(below)}")
    click.echo(f"verified in {time.perf_counter() - start:.2f} s")
    click.echo(
        f"VALID: the liabilities of {statement.issuer} as of {statement.as_of} are proved: "
        f"each total is the exact sum of {statement.trace_len:,} padded user balances in "
        f"{checked.count} batches (no batch's totals revealed) and no user's total value is "
        "below zero"
    )
    return 0


@main.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--reserves",
    type=click.Path(path_type=Path),
    default=None,
    help='JSON {"BTC": "142014", ...}: adds reserve ratios',
)
@click.option(
    "--accept-conjectured-security",
    "accept_conjectured",
    is_flag=True,
    help="accept 100 conjectured bits (ethSTARK conjecture, e.g. the fast preset) instead of "
    "requiring 100 provable bits; the output then says so",
)
@click.option(
    "--min-security",
    type=click.FloatRange(min=REQUIRED_BITS),
    default=REQUIRED_BITS,
    show_default=True,
    metavar="BITS",
    help="require more bits (in the regime above); it cannot go below 100",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def verify_cmd(
    directory: Path,
    reserves: Path | None,
    accept_conjectured: bool,
    min_security: float,
    as_json: bool,
) -> None:
    """Check DIRECTORY/proof.bin against DIRECTORY/statement.json and print the verdict."""
    code = run_verify(directory, reserves, accept_conjectured, min_security, as_json)
    sys.exit(code)


MAX_BENCH_USERS = 1 << 24  # above 65,536 the bench proves in batches, as `prove` does


@main.command("bench")
@click.option(
    "--users",
    "sizes",
    default="1024,4096,16384,65536",
    show_default=True,
    help="comma-separated user counts",
)
@click.option("--assets", "num_assets", type=click.IntRange(1, 200), default=22, show_default=True)
@click.option(
    "--preset", type=click.Choice(sorted(PRESETS)), default=DEFAULT_PRESET, show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object per size")
def bench_cmd(sizes: str, num_assets: int, preset: str, as_json: bool) -> None:
    """Run the whole job on generated snapshots of several sizes: prove (with the leaves and
    the private store; in batches of 65,536 above that), verify, check one user's inclusion
    file, export every user's file.
    Prints a table; saves CSV and a plot under ./benches/results."""
    from solvency import bench

    try:
        counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        fail(EXIT_INPUT, f"--users: expected comma-separated integers, got {sizes!r}")
    if not counts or min(counts) < 1 or max(counts) > MAX_BENCH_USERS:
        fail(EXIT_INPUT, f"--users: each size must be in [1, {MAX_BENCH_USERS:,}]")
    rows = []
    table = Table(title=f"solvency bench: {num_assets} assets, {preset} preset")
    columns = {
        "users": lambda r: f"{r['users']:,}",
        "prove (s)": lambda r: f"{r['prove_s']:.1f}",
        "verify (s)": lambda r: f"{r['verify_s']:.3f}",
        "proof (KB)": lambda r: f"{r['proof_bytes'] / 1000:,.0f}",
        "inclusion check (ms)": lambda r: f"{r['verify_inclusion_ms']:.1f}",
        "export all (s)": lambda r: f"{r['export_all_s']:.1f}",
        "peak RSS (MB)": lambda r: f"{r['peak_rss_mb']:,.0f}",
    }
    for column in columns:
        table.add_column(column, justify="right")
    for users in counts:
        console.print(f"proving {users:,} users x {num_assets} assets ...")
        try:
            row = bench.measure_isolated(users, num_assets, preset)
        except RuntimeError as e:
            fail(EXIT_INVALID, f"bench at {users:,} users failed: {e}")
        rows.append(row)
        if as_json:
            click.echo(bench.as_json_line(row))
        table.add_row(*(cell(row) for cell in columns.values()))
    console.print(table)
    csv_path, png_path = bench.save(rows, preset, num_assets)
    console.print(f"saved {csv_path} and {png_path}")
    biggest = rows[-1]
    targets = {}
    if num_assets == 22 and preset == DEFAULT_PRESET:
        if biggest["users"] >= 1 << 20:
            targets = bench.TARGETS_MILLION
        elif biggest["users"] >= 65536:
            targets = bench.TARGETS
    for key, target in targets.items():
        verdict = "met" if biggest[key] <= target else "MISSED"
        console.print(f"target {key} <= {target:,g}: {biggest[key]:,} ({verdict})")


# -- inclusion -------------------------------------------------------------------------------------
@main.group("inclusion")
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
    if out is not None and out.exists():
        fail(EXIT_INPUT, f"--out {out} already exists; nothing is overwritten")
    try:
        stores = inclusion.open_stores(private)
        if everyone:
            _export_all(stores, out)
            return
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


@main.command("verify-inclusion")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--published",
    type=click.Path(path_type=Path),
    required=True,
    metavar="DIR",
    help="the published proof directory (statement.json, proof.bin, leaves.bin)",
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
    try:
        raw = load_json_strict(file, inclusion.MAX_INCLUSION_BYTES, "inclusion file")
        try:
            claim = inclusion.parse_inclusion(raw)
        except ValueError as e:
            raise InputError(file, None, None, str(e)) from None
        if batched_publish.is_batched(published):
            code = verify_inclusion_in_batches(
                claim, published, user_id, skip_proof, accept_conjectured, start
            )
            sys.exit(code)
        pub = read_published(published)
        root = inclusion.parse_elements_hex(pub.data["inclusion"]["leaves_root"], 8)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    except ValueError as e:
        fail(EXIT_INPUT, f"{pub.path}: inclusion.leaves_root: {e}")
    statement = pub.statement
    try:
        if user_id is not None and user_id != claim.user_id:
            raise inclusion.NotIncluded(
                f"this file is for the user id {claim.user_id!r}, not for {user_id!r}"
            )
        balances = inclusion.check_inclusion(claim, statement, root)
    except inclusion.NotIncluded as e:
        click.echo(f"NOT INCLUDED: {e}")
        sys.exit(EXIT_INVALID)
    if not skip_proof:
        regime = "conjectured" if accept_conjectured else "provable"
        try:
            verified_publication(pub, regime, REQUIRED_BITS)
        except Verdict as v:
            click.echo(f"NOT INCLUDED: the published proof is not valid: {v.message}")
            click.echo(f"detail: {v.detail}")
            sys.exit(EXIT_INVALID)
    _included(claim, statement, balances, user_id, skip_proof, start)


def _included(
    claim: inclusion.InclusionClaim,
    statement: Statement,
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
    click.echo(
        f"INCLUDED: your balances as user {claim.user_id!r}, {listed}, are included in the "
        f"liabilities proved as of {statement.as_of} by {statement.issuer}{note}"
    )


def verify_inclusion_in_batches(
    claim: inclusion.InclusionClaim,
    published: Path,
    user_id: str | None,
    skip_proof: bool,
    accept_conjectured: bool,
    start: float,
) -> int:
    """verify-inclusion against a snapshot proved in batches: the path climbs from the leaf
    to the batch's root, then to the users' root of statement.json; the whole publication is
    then checked as `verify` does (unless --skip-proof)."""
    head = batched_publish.read_header(published)
    try:
        root = inclusion.parse_elements_hex(head.data["users_root"], 8)
    except ValueError as e:
        raise InputError(head.path, None, "users_root", str(e)) from None
    count = len(head.records)
    try:
        if user_id is not None and user_id != claim.user_id:
            raise inclusion.NotIncluded(
                f"this file is for the user id {claim.user_id!r}, not for {user_id!r}"
            )
        if claim.batch is not None and claim.batch >= count:
            raise inclusion.NotIncluded(f"this file names batch {claim.batch}; there are {count}")
        statement = head.batch(claim.batch or 0)
        width = 1 << max(0, (count - 1).bit_length())
        balances = inclusion.check_inclusion(claim, statement, root, batches=(count, width))
    except inclusion.NotIncluded as e:
        click.echo(f"NOT INCLUDED: {e}")
        return EXIT_INVALID
    if not skip_proof:
        regime = "conjectured" if accept_conjectured else "provable"
        code = run_verify_snapshot(published, None, regime, REQUIRED_BITS, quiet=True)
        if code:
            click.echo("NOT INCLUDED: the published proof is not valid (solvency verify says why)")
            return EXIT_INVALID
    _included(claim, statement, balances, user_id, skip_proof, start)
    return 0


@main.group("snapshot")
def snapshot_group() -> None:
    """Derive the snapshot from account positions, and explain it to a user."""


def _load_views(accounts_path: Path, prices_path: Path | None):
    from solvency import accounts as acc

    try:
        records, prices = acc.load_accounts(accounts_path)
        if prices_path is not None:
            prices = acc.load_prices(prices_path)
        acc.check_consistency(records, prices, prices_path or accounts_path)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    return records, prices, [acc.derive(r, prices) for r in records]


def _plain(amount: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros; empty for zero."""
    return "" if amount == 0 else f"{amount.normalize():f}"


@snapshot_group.command("build")
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(path_type=Path),
    default=None,
    help="mark prices (JSON {SYMBOL: price} or an assets file); default: the "
    "accounts file's mark_prices",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="the snapshot CSV that `solvency prove` takes",
)
@click.option(
    "--account-view",
    type=click.Path(path_type=Path),
    default=None,
    help="also write the account-view equity per asset (default: OUT with '.account-view.csv')",
)
def snapshot_build_cmd(
    accounts_path: Path, prices_path: Path | None, out: Path, account_view: Path | None
) -> None:
    """Write every user's per-asset snapshot equity (and account-view equity) as CSV."""
    from solvency.accounts import symbols_of

    records, prices, views = _load_views(accounts_path, prices_path)
    symbols = [s for s in prices if s in set(symbols_of(views))]
    for path, pick in (
        (out, "snapshot"),
        (account_view or out.with_suffix(".account-view.csv"), "account"),
    ):
        lines = [",".join(["id", *symbols])]
        for record, view in zip(records, views, strict=True):
            amounts = getattr(view, pick)
            lines.append(
                ",".join([record.id, *(_plain(amounts.get(s, Decimal(0))) for s in symbols)])
            )
        write_atomically(path, ("\n".join(lines) + "\n").encode())
        console.print(f"wrote {path} ({len(records)} users, {len(symbols)} assets, {pick} equity)")


@snapshot_group.command("explain")
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@click.option("--user", "user_id", required=True)
@click.option("--prices", "prices_path", type=click.Path(path_type=Path), default=None)
def snapshot_explain_cmd(accounts_path: Path, user_id: str, prices_path: Path | None) -> None:
    """Why a user's snapshot differs from their account view, asset by asset."""
    from solvency.accounts import COMPONENTS

    records, prices, views = _load_views(accounts_path, prices_path)
    matches = [v for r, v in zip(records, views, strict=True) if r.id == user_id]
    if not matches:
        fail(EXIT_INPUT, f"{accounts_path}: no user {user_id!r}")
    view = matches[0]
    assets = [a for a in prices if a in view.snapshot or a in view.account]
    used = [c for c in COMPONENTS if any(view.components.get(a, {}).get(c) for a in assets)]
    table = Table(title=f"{user_id}: account equity and snapshot equity")
    for column in (
        "asset",
        "account equity",
        "snapshot equity",
        "D-value",
        *used,
        "D-value in USD",
    ):
        table.add_column(column, justify="left" if column == "asset" else "right")
    total = Decimal(0)
    for a in assets:
        d = view.difference(a)
        total += d * prices[a]
        parts = view.components.get(a, {})
        table.add_row(
            a,
            _plain(view.account.get(a, Decimal(0))) or "0",
            _plain(view.snapshot.get(a, Decimal(0))) or "0",
            _plain(d) or "0",
            *[_plain(parts.get(c, Decimal(0))) or "0" for c in used],
            f"{d * prices[a]:,.4f}",
        )
    Console(width=200).print(table)
    acc_usd, snap_usd = view.value(view.account, prices), view.value(view.snapshot, prices)
    print(f"total value: account {acc_usd:,.4f} USD, snapshot {snap_usd:,.4f} USD")
    if total:
        print(f"the difference, {total:,.4f} USD, is the rounding of the quoted unrealised PnL")
    else:
        print("the two views hold the same value; only the split between assets differs")


DEMO_ISSUER = "Demo Exchange (synthetic data)"


@main.command("demo")
@click.option("--users", type=click.IntRange(1), default=4096, show_default=True)
@click.option("--assets", "num_assets", type=click.IntRange(1, 200), default=22, show_default=True)
def demo_cmd(users: int, num_assets: int) -> None:
    """Generate a snapshot, prove it with the default preset, verify the proof, and check the
    first user's inclusion file."""
    identity = Identity(
        DEMO_ISSUER, parse_as_of(datetime.now(UTC).replace(microsecond=0).isoformat())
    )
    with tempfile.TemporaryDirectory(prefix="solvency-demo-") as tmp:
        out = Path(tmp)
        assets_path, snapshot_path = synthetic.write(synthetic.generate(users, num_assets, 1), out)
        console.print(f"generated {users:,} users x {num_assets} assets in {out}")
        store = private_store_path(out / "private", out / "proof")
        market, snap = load_inputs(snapshot_path, assets_path)
        result = prove_files(snapshot_path, market, snap, DEFAULT_PRESET, identity)
        document = publish(result, DEFAULT_PRESET, out / "proof", store)
        console.print(summary(result, document), highlight=False, soft_wrap=True)
        code = run_verify(out / "proof")
        user = result.ids[0]
        with inclusion.PrivateStore(out / "private") as private:
            doc = inclusion.inclusion_documents(private, [private.user(user)])[0]
        write_atomically(out / "inclusion.json", inclusion.document_bytes(doc), private=True)
        click.echo(
            "\n$ solvency verify-inclusion inclusion.json --published proof "
            f"--user {user} --skip-proof"
        )
        click.echo(f"  (the inclusion file of user {user!r}, exported from the private store)")
        ctx = click.get_current_context()
        try:
            ctx.invoke(
                verify_inclusion_cmd,
                file=out / "inclusion.json",
                published=out / "proof",
                user_id=user,
                skip_proof=True,
                accept_conjectured=False,
            )
        except SystemExit as e:
            code = code or e.code
    sys.exit(code)


if __name__ == "__main__":
    main()
