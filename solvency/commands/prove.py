"""`solvency prove`: one proof of a snapshot with its users' leaves, or, above --batch-size,
batches on Dask and an aggregation; then the publication and the private store.

The default `proven` preset gives at least 100 provable bits (unique decoding); `fast` claims
only conjectured security. The issuer and the snapshot time (ISO 8601 with a timezone, stored
as UTC) are bound into the proof. `--insecure-seed` makes the masks reproducible, for tests
only: such a proof does not hide balances, is marked so in statement.json and in the proof
itself, and `verify` says so."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

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
from solvency.cluster import (
    CONNECT_TIMEOUT,
    Cluster,
    ClusterError,
    Target,
    check_tls,
    open_cluster,
    parse_address,
)
from solvency.commands.common import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_UNSATISFIED,
    REQUIRED_BITS,
    PhaseProgress,
    announce_compilation,
    check_creatable,
    check_fresh_dir,
    claim_dir,
    console,
    fail,
    inside_publication,
)
from solvency.publish import (
    leaves_bytes,
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
from stark.params import DEFAULT_PRESET, PRESETS
from stark.prover import prove
from stark.randomness import ProverRandomness


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


def largest_batch(market: Market) -> int:
    """The most users one proof with inclusion takes at this market: a power of two, at most
    MAX_TRACE_LEN, whose rows of inclusion_width columns fit in MAX_TRACE_CELLS."""
    fits = 1 << (MAX_TRACE_CELLS // inclusion_width(market)).bit_length() - 1
    return min(MAX_TRACE_LEN, fits)


def check_capacity(snapshot: Path, market: Market, users: int, batched: bool = False) -> None:
    """Refuse (exit 2) more users in one proof than it holds (largest_batch), naming the
    option that fixes it."""
    most = largest_batch(market)
    if users <= most:
        return
    k = len(market.symbols)
    if batched:
        fail(
            EXIT_INPUT,
            f"--batch-size {users:,}: at {k} assets one proof takes at most {most:,} users "
            f"with the leaf hash; use --batch-size {most:,} or less",
        )
    if users > MAX_TRACE_LEN:
        fail(
            EXIT_INPUT,
            f"{snapshot}: {users:,} users exceed one proof's capacity of {MAX_TRACE_LEN:,}; "
            f"prove in batches (--batch-size {most:,} or less)",
        )
    fail(
        EXIT_INPUT,
        f"{snapshot}: {users:,} users x {k} assets need {padded_size(users):,} rows of "
        f"{inclusion_width(market):,} columns with the leaf hash, more than one proof holds "
        f"({MAX_TRACE_CELLS:,} cells); at {k} assets one proof takes at most {most:,} users: "
        f"prove in batches (--batch-size {most:,} or less)",
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
        console.print(f"[bold yellow]warning:[/] {INSECURE_SEED_WARNING}")
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


@click.command("prove")
@click.argument("snapshot", type=click.Path(path_type=Path))
@click.option(
    "--assets",
    "assets_path",
    type=click.Path(path_type=Path),
    required=True,
    metavar="ASSETS",
    help="the assets file (JSON): the quote currency, and each asset's symbol, decimals and price",
)
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
    default=None,
    metavar="USERS",
    help="a larger snapshot is proved in batches of this many users (a power of two), only "
    f"the grand totals published [default: {batches.DEFAULT_BATCH_SIZE:,}, or the most one "
    "proof takes at this many assets if fewer]",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 256),
    default=None,
    help="batches: a local Dask cluster of this many single-threaded workers [default: 0, "
    "none: the batches one after the other in this process, which keeps every core busy "
    "(docs/batches.md measures it); a local cluster only pays where one process cannot]",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="batches: an existing Dask scheduler, tcp://HOST:PORT or tls://HOST:PORT, whose "
    "workers have this package installed; reached, then a worker found, within "
    f"{CONNECT_TIMEOUT} s each, before anything is written. Its workers see the balances and "
    "nonces: use tls:// on a cluster you trust (docs/batches.md)",
)
@click.option(
    "--tls-ca-file",
    type=click.Path(path_type=Path),
    default=None,
    metavar="PEM",
    help="with a tls:// scheduler: the CA certificate that signed the cluster's certificates",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path),
    default=None,
    metavar="PEM",
    help="with a tls:// scheduler: this client's certificate",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path),
    default=None,
    metavar="PEM",
    help="with a tls:// scheduler: this client's private key",
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
    batch_size: int | None,
    workers: int | None,
    scheduler: str | None,
    tls_ca_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    resume: bool,
) -> None:
    """Prove SNAPSHOT (a CSV or JSON file of user ids and balances) against ASSETS (the assets
    file: symbols, decimals, prices); write OUT/proof.bin, OUT/leaves.bin and
    OUT/statement.json, and the private store PRIVATE_DIR/users.sqlite. A snapshot of more than
    --batch-size users is proved in batches (docs/batches.md). Nothing is ever overwritten."""
    identity = parse_identity(issuer, as_of)
    if batch_size is not None:
        try:
            batches.check_batch_size(batch_size)
        except ValueError as e:
            fail(EXIT_INPUT, f"--batch-size: {e}")
    target = parse_target(scheduler, workers, tls_ca_file, tls_cert, tls_key)
    store = private_store_path(private, out)
    prepare_outputs(out, private, resume)
    market, snap = load_inputs(snapshot, assets_path)
    announce_compilation()
    if batch_size is None:
        batch_size = min(batches.DEFAULT_BATCH_SIZE, largest_batch(market))
    if len(snap.ids) > batch_size or resume:
        if insecure_seed is not None:
            fail(EXIT_INPUT, "--insecure-seed is for a single proof, not for batches")
        prove_in_batches(
            snapshot, assets_path, market, snap, out, private, preset, identity, batch_size,
            target, resume,
        )  # fmt: skip
        return
    result = prove_files(snapshot, market, snap, preset, identity, insecure_seed)
    try:
        document = publish(result, preset, out, store)
    except OSError as e:
        fail(EXIT_INPUT, f"cannot write the proof: {e.filename or out}: {e.strerror or e}")
    console.print(summary(result, document), highlight=False)


PUBLISHED_FILES = ("statement.json", "proof.bin", "leaves.bin")


def prepare_outputs(out: Path, private: Path, resume: bool) -> None:
    """Before any work: refuse an --out that holds a publication already (nothing is
    overwritten), directories that could not be created or written, a --private inside a
    publication, and (but to --resume) directories that are not new or empty, whose contents
    would be published or mixed with the store (exit 2). Then both directories are created
    and written to (claim_dir), so that an output that cannot be written fails now, not after
    the proof; they are removed again if the run ends with them empty."""
    if out.exists() and not out.is_dir():
        fail(EXIT_INPUT, f"--out {out}: not a directory")
    held = [name for name in PUBLISHED_FILES if (out / name).exists()]
    if held:
        fail(
            EXIT_INPUT,
            f"--out {out} already holds a publication ({', '.join(held)}); nothing is "
            "overwritten: choose a new directory",
        )
    home = inside_publication(private)
    if home is not None:
        fail(EXIT_INPUT, f"--private {private} is in the publication {home}: it would be published")
    if not resume and (private / "plan.json").is_file():
        fail(EXIT_INPUT, f"--private {private} holds a batch run already; --resume goes on")
    for option, path in (("--out", out), ("--private", private)):
        (check_creatable if resume else check_fresh_dir)(option, path)
    claim_dir("--out", out)
    claim_dir("--private", private, mode=0o700)


def parse_target(
    scheduler: str | None,
    workers: int | None,
    tls_ca_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> Target:
    """Where batches would be proved, from --scheduler, --workers and the TLS files: checked
    before any work (exit 2, one line naming the option). Nothing is connected yet."""
    files = {"--tls-ca-file": tls_ca_file, "--tls-cert": tls_cert, "--tls-key": tls_key}
    if scheduler is None:
        given = [option for option, path in files.items() if path is not None]
        if given:
            fail(EXIT_INPUT, f"{', '.join(given)}: only with --scheduler tls://HOST:PORT")
        return Target(None, workers, None)
    if workers is not None:
        fail(EXIT_INPUT, "--workers is for a local cluster; --scheduler names an existing one")
    try:
        address = parse_address(scheduler)
        return Target(address, None, check_tls(address, files))
    except ValueError as e:
        fail(EXIT_INPUT, f"--scheduler: {e}")


def cluster_status(target: Target) -> str:
    if target.scheduler is not None:
        return f"connecting to {target.scheduler} (at most {2 * CONNECT_TIMEOUT} s)"
    return f"starting a local cluster of {target.workers} workers"


def connect(target: Target) -> Cluster:
    """The cluster of `target`, reached before anything is written; exit 2 if it cannot be."""
    try:
        with console.status(cluster_status(target)):
            return open_cluster(target)
    except ClusterError as e:
        fail(EXIT_INPUT, f"{e}; nothing was written")


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
    target: Target,
    resume: bool,
) -> None:
    """Prove the snapshot in batches on Dask (or one by one with --workers 0), writing each
    batch as it completes, then the aggregation and the publication (docs/batches.md)."""
    start = time.perf_counter()
    check_capacity(snapshot, market, batch_size, batched=True)
    digest = batches.snapshot_digest(
        [snapshot, assets_path], batch_size, identity.issuer, identity.as_of
    )
    plan = batches.make_plan(
        len(snap.ids), batch_size, digest, identity.issuer, identity.as_of, preset
    )
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
    done = batches.finished(plan, out, private)
    elsewhere = sorted(batches.recorded(plan, private) - done)
    if elsewhere:  # proving them again would replace their users' nonces
        fail(
            EXIT_INPUT,
            f"--private {private} holds batch {elsewhere[0]} of a run whose public files are not "
            f"in --out {out}: resume with that run's --out; nothing was changed",
        )
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
    cluster = connect(target if tasks else Target(None, 0, None))
    write_atomically(private / "plan.json", plan.to_json(), private=True)
    if tasks:
        console.print(cluster.describe(len(tasks)), highlight=False)
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

        def finished(result: batches.BatchResult, worker: str) -> None:
            batches.write_batch(result, out, private)
            results[result.index] = result
            bars.console.print(proved_line(result, plan.count, worker), highlight=False)
            bars.advance(bar)

        try:
            cluster.run(tasks, finished)
        except ClusterError as e:
            fail(
                EXIT_INPUT,
                f"{e}; {len(done) + len(results)} of {plan.count} batches are proved and "
                "written: the same command with --resume goes on from there",
            )
        except batches.InsolventUsers as e:
            named = ", ".join(e.ids[:5]) + (f" and {len(e.ids) - 5} more" if len(e.ids) > 5 else "")
            fail(EXIT_UNSATISFIED, f"{snapshot}: user(s) with a negative total value: {named}")
        except KeyboardInterrupt:
            proved = len(done) + len(results)
            console.print(
                f"interrupted after {proved} of {plan.count} batches; the same command with "
                "--resume goes on from there"
            )
            sys.exit(EXIT_INTERRUPTED)
        finally:
            cluster.close()
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


def proved_line(result: batches.BatchResult, count: int, worker: str) -> str:
    """What is said as a batch completes: which, where, how long."""
    name = batches.batch_name(result.index)
    seconds = f"{result.seconds:.1f} s"
    return f"{name} (batch {result.index + 1} of {count}) proved by {worker} in {seconds}"


def private_store_path(private: Path, out: Path) -> Path:
    """PRIVATE_DIR/users.sqlite, checked before any work (exit 2 if unusable)."""
    try:
        return inclusion.check_private_location(private, out)
    except ValueError as e:
        fail(EXIT_INPUT, str(e))
