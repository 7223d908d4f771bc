"""`solvency prove`: one proof of a snapshot with its users' leaves, or, above --batch-size,
batches on Dask and an aggregation; then the publication and the private store.

The default `proven` preset gives at least 100 provable bits (unique decoding); `fast` claims
only conjectured security. The issuer and the snapshot time (ISO 8601 with a timezone, stored
as UTC) are bound into the proof. `--insecure-seed` makes the masks reproducible, for tests
only: such a proof does not hide balances, is marked so in statement.json and in the proof
itself, and `verify` says so."""

from __future__ import annotations

import hashlib
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

from circuits.poseidon2 import DIGEST
from circuits.solvency import (
    MAX_TRACE_LEN,
    MIN_TRACE_LEN,
    Market,
    SolvencyAir,
    padded_size,
)
from solvency import batches, inclusion
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
from solvency.commands.page import write_page
from solvency.files import write_atomically
from solvency.publication.statement import STATEMENT_NAME, batch_name
from solvency.snapshot import (
    InputError,
    Snapshot,
    load_assets,
    load_snapshot,
    parse_as_of,
    parse_issuer,
)
from stark.params import DEFAULT_PRESET, PRESETS

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
    """The main trace's columns for this market's AIR with leaves, as a batch of several
    proves it (hidden totals: the wider of the two shapes, by the totals' sponge)."""
    k = len(market.symbols)
    probe = market.statement((0,) * k, MIN_TRACE_LEN, hidden_totals=True, equity=(0,) * k)
    air = SolvencyAir(
        probe,
        np.zeros((MIN_TRACE_LEN, DIGEST), dtype=np.uint64),
        leaf_width=inclusion.LEAF_WIDTH,
        sbox_registers=inclusion.LEAF_REGISTERS,
        totals_commitment=np.zeros(DIGEST, dtype=np.uint64),
    )
    return air.main_width


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


def plan_run(
    snapshot: Path,
    assets_path: Path,
    users: int,
    private: Path,
    preset: str,
    identity: Identity,
    batch_size: int,
    resume: bool,
    insecure_seed: int | None = None,
) -> batches.Plan:
    """The run's plan: a new one (a fresh salt; derived from the seed with --insecure-seed),
    or with --resume the interrupted run's, which must be for the same inputs and options
    (exit 2 otherwise). Written to PRIVATE/plan.json with the first batch (`prove_all`): a run
    stopped before leaves nothing behind."""
    try:
        inputs = batches.inputs_digest(
            [snapshot, assets_path], batch_size, identity.issuer, identity.as_of
        )
    except InputError as e:  # a file replaced since it was loaded
        fail(EXIT_INPUT, str(e))
    salt = None
    if insecure_seed is not None:
        salt = hashlib.sha256(b"snapshot salt" + str(insecure_seed).encode()).digest()
    plan = batches.make_plan(
        users, batch_size, inputs, identity.issuer, identity.as_of, preset, salt
    )
    try:
        earlier = batches.read_plan(private)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    except (ValueError, OSError, TypeError) as e:
        fail(EXIT_INPUT, f"--private {private}: {e}")
    if earlier is not None and not resume:
        fail(EXIT_INPUT, f"--private {private} holds a run already; --resume goes on")
    if resume and earlier is None:
        fail(EXIT_INPUT, f"--resume: --private {private} holds no run to go on with")
    if earlier is not None:
        if not earlier.same_run(plan):
            fail(
                EXIT_INPUT, "--resume: the inputs or the options differ from the interrupted run's"
            )
        return earlier
    return plan


def prove_one(task: batches.BatchTask) -> batches.BatchResult:
    """A publication of one batch, proved here with a progress line per phase."""
    if task.seed is not None:
        console.print(f"[bold yellow]warning:[/] {INSECURE_SEED_WARNING}")
    with PhaseProgress() as bars:
        bars.phase("leaves, witness")
        return batches.prove_batch(task, on_phase=bars.phase)


def prove_all(
    snapshot: Path,
    plan: batches.Plan,
    tasks: list[batches.BatchTask],
    done: set[int],
    out: Path,
    private: Path,
    cluster: Cluster,
) -> list[batches.BatchResult]:
    """Prove the batches not `done` and write each as it completes: one batch here with a line
    per phase, several on the cluster (this process by default). Exits 3 naming insolvent
    users, 2 when the cluster is lost, 130 on Ctrl-C (--resume goes on then)."""
    results: list[batches.BatchResult] = []

    def finished(result: batches.BatchResult) -> None:
        if not (private / "plan.json").is_file():
            write_atomically(private / "plan.json", plan.to_json(), private=True)
        batches.write_batch(result, out, private)
        results.append(result)

    todo = [t for t in tasks if t.index not in done]
    try:
        if plan.count == 1:
            if todo:
                finished(prove_one(todo[0]))
            return results
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

            def advance(result: batches.BatchResult, worker: str) -> None:
                finished(result)
                bars.console.print(proved_line(result, plan.count, worker), highlight=False)
                bars.advance(bar)

            console.print(cluster.describe(len(todo)), highlight=False)
            cluster.run(todo, advance)
    except ClusterError as e:
        fail(
            EXIT_INPUT,
            f"{e}; {len(done) + len(results)} of {plan.count} batches are proved and written: "
            "the same command with --resume goes on from there",
        )
    except batches.InsolventUsers as e:
        named = ", ".join(e.ids[:5]) + (f" and {len(e.ids) - 5} more" if len(e.ids) > 5 else "")
        fail(
            EXIT_UNSATISFIED,
            f"{snapshot}: {len(e.ids)} user(s) {e.reason_of(e.haircuts)}: {named}; "
            "nothing was published",
        )
    except KeyboardInterrupt:
        if plan.count > 1:
            console.print(
                f"interrupted after {len(done) + len(results)} of {plan.count} batches; the "
                "same command with --resume goes on from there"
            )
        raise
    finally:
        cluster.close()
    return results


def summary(plan: batches.Plan, document: dict, users: int, seconds: float, out: Path) -> str:
    sec = document["security"]
    preset = document["preset"]
    regime = (
        f"{preset} preset: conjectured security only; verifiers must pass "
        "--accept-conjectured-security"
        if sec["provable_bits"] < REQUIRED_BITS
        else f"{preset} preset"
    )
    proof_bytes = sum(b["proof_bytes"] for b in document["batches"])
    shape = "one proof" if plan.count == 1 else f"{plan.count} batches and their aggregation"
    if document["aggregate"] is not None:
        proof_bytes += document["aggregate"]["proof_bytes"]
    line = (
        f"{users:,} users ({document['users_padded']:,} padded), {len(document['assets'])} "
        f"assets, proved in {seconds:.1f} s ({shape}), proofs {proof_bytes:,} bytes, security "
        f"{sec['provable_bits']} bits provable / {sec['conjectured_bits']} bits conjectured "
        f"({regime}); published in {out}"
    )
    if plan.count > 1:
        line += "; only the grand totals are public"
    if document["insecure_seeded"]:
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
    help="the publication's new directory: statement.json and each batch's proof and leaves",
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
    file: symbols, decimals, prices); publish OUT/statement.json, each batch's proof and
    leaves (OUT/batches/) and the browser page OUT/index.html, and keep the users' nonces in
    PRIVATE_DIR. A snapshot of more than --batch-size users is proved in batches
    (docs/batches.md). Nothing is ever overwritten."""
    identity = parse_identity(issuer, as_of)
    if batch_size is not None:
        try:
            batches.check_batch_size(batch_size)
        except ValueError as e:
            fail(EXIT_INPUT, f"--batch-size: {e}")
    target = parse_target(scheduler, workers, tls_ca_file, tls_cert, tls_key)
    prove_snapshot(
        snapshot, assets_path, out, private, identity, preset, batch_size=batch_size,
        insecure_seed=insecure_seed, target=target, resume=resume,
    )  # fmt: skip


def prove_snapshot(
    snapshot: Path,
    assets_path: Path,
    out: Path,
    private: Path,
    identity: Identity,
    preset: str,
    *,
    batch_size: int | None = None,
    insecure_seed: int | None = None,
    target: Target | None = None,
    resume: bool = False,
) -> dict:
    """`prove` once its options are read: check the outputs, load the inputs, plan, prove and
    write every batch, publish, summarise. Returns statement.json's document; exits 2 (bad
    input), 3 (insolvent users) or 130 (interrupted) otherwise."""
    check_private_location(private, out)
    prepare_outputs(out, private, resume)
    market, snap = load_inputs(snapshot, assets_path)
    if batch_size is None:
        batch_size = min(batches.DEFAULT_BATCH_SIZE, largest_batch(market))
    users = len(snap.ids)
    if users > batch_size:
        check_capacity(snapshot, market, batch_size, batched=True)
        if insecure_seed is not None:
            fail(EXIT_INPUT, "--insecure-seed is for a single proof, not for batches")
    else:
        check_capacity(snapshot, market, users)
    start = time.perf_counter()
    plan = plan_run(
        snapshot, assets_path, users, private, preset, identity, batch_size, resume, insecure_seed
    )
    done = batches.finished(plan, out, private)
    elsewhere = sorted(batches.recorded(plan, private) - done)
    if elsewhere:  # proving them again would replace their users' nonces
        fail(
            EXIT_INPUT,
            f"--private {private} holds batch {elsewhere[0]} of a run whose public files are not "
            f"in --out {out}: resume with that run's --out; nothing was changed",
        )
    if done:
        console.print(f"resuming: {len(done)} of {plan.count} batches already proved")
    tasks = batches.tasks_of(plan, snap.ids, snap.balances, market, insecure_seed)
    todo = [t for t in tasks if t.index not in done]
    # connect before anything is written: a wrong address leaves nothing to --resume
    here = Target(None, 0, None)
    if len(todo) > 1 and target is not None:
        cluster = connect(target)
    else:
        if target is not None and (target.scheduler is not None or target.workers):
            console.print("one batch to prove: it is proved in this process, not on a cluster")
        cluster = connect(here)
    announce_compilation()
    try:
        results = prove_all(snapshot, plan, tasks, done, out, private, cluster)
    except ValueError as e:  # an id with no UTF-8 form
        fail(EXIT_INPUT, f"{snapshot}: id: {e}")
    results += [earlier_batch(out, private, plan, market, b) for b in sorted(done)]
    write_page(out)  # before statement.json, which is written last
    with console.status("aggregation" if plan.count > 1 else "publishing"):
        document = batches.publish(plan, results, out)
    console.print(summary(plan, document, users, time.perf_counter() - start, out), highlight=False)
    return document


def earlier_batch(
    out: Path, private: Path, plan: batches.Plan, market: Market, index: int
) -> batches.BatchResult:
    """A batch proved by the interrupted run (`batches.load_result`); exit 2 if its files
    cannot be read or are damaged."""
    try:
        return batches.load_result(out, private, plan, market, index)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    except (ValueError, KeyError, TypeError) as e:
        fail(
            EXIT_INPUT,
            f"--private {private}: batch {index}: a damaged record ({type(e).__name__}: {e})",
        )


def prepare_outputs(out: Path, private: Path, resume: bool) -> None:
    """Before any work: refuse an --out that holds a publication already (nothing is
    overwritten), directories that could not be created or written, a --private inside a
    publication, and (but to --resume) directories that are not new or empty, whose contents
    would be published or mixed with the store (exit 2). Then both directories are created
    and written to (claim_dir), so that an output that cannot be written fails now, not after
    the proof; they are removed again if the run ends with them empty."""
    if out.exists() and not out.is_dir():
        fail(EXIT_INPUT, f"--out {out}: not a directory")
    if (out / STATEMENT_NAME).exists():
        fail(
            EXIT_INPUT,
            f"--out {out} already holds a publication ({STATEMENT_NAME}); nothing is "
            "overwritten: choose a new directory",
        )
    home = inside_publication(private)
    if home is not None:
        fail(EXIT_INPUT, f"--private {private} is in the publication {home}: it would be published")
    if not resume and (private / "plan.json").is_file():
        fail(
            EXIT_INPUT,
            f"--private {private} holds a run already (plan.json, its users' store); --resume "
            "goes on",
        )
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


def check_private_location(private: Path, out: Path) -> None:
    """Before any work: PRIVATE_DIR outside the publication (exit 2 otherwise)."""
    try:
        inclusion.check_private_location(private, out)
    except ValueError as e:
        fail(EXIT_INPUT, str(e))


def proved_line(result: batches.BatchResult, count: int, worker: str) -> str:
    """What is said as a batch completes: which, where, how long."""
    name, seconds = batch_name(result.index), f"{result.seconds:.1f} s"
    return f"{name} (batch {result.index + 1} of {count}) proved by {worker} in {seconds}"
