"""`solvency bench`: the whole job on generated snapshots of several sizes, as `prove`, `verify`,
`inclusion export` and `verify-inclusion` do it; the command prints a table and saves CSV and a
PNG plot in its --out folder. Each size runs in its own process, so that its peak memory is its
own.

Besides the job's seconds, each size reports where the STARK prover spends its time: the
seconds inside prove() summed over the job's proofs (`proofs_s`), by phase (`phase_*_s`, the
prover's own `timings`), the witness built outside prove() (`witness_s`), and the prover's lower
bound measured in the same process (`bound_s`, see `stark.bound`) with `prove_over_bound`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from circuits.haircut import table_of_json
from circuits.solvency import Market
from solvency import inclusion
from solvency.files import write_atomically
from solvency.generate import generate
from solvency.publication.statement import publication_air
from solvency.snapshot import Asset, Assets
from stark.bound import prover_bound
from stark.params import AirShape, StarkParams
from stark.prover import AUX_PHASES, LATER_PHASES, TRACE_PHASES

#: Every phase of prove(), in the prover's order: each size's row has all of them (0 where a
#: proof has no such phase), so that the CSV's columns do not depend on the size.
PHASES = TRACE_PHASES + AUX_PHASES + LATER_PHASES

#: Targets of issue 9 (22 assets, the default proven preset, 65,536 users on 2 cores): prove
#: with the leaves and the private store, verify with the leaves' root, the proof's bytes, a
#: user's check without the STARK, every user's file exported.
TARGETS = {
    "prove_s": 120.0,
    "peak_rss_mb": 8000.0,
    "verify_s": 0.5,
    "proof_bytes": 1_000_000,
    "verify_inclusion_ms": 100.0,
    "export_all_s": 60.0,
}


BENCH_AS_OF = "2026-01-01T00:00:00Z"
BATCH_SIZE = 1 << 16  # as `prove`'s default


#: Targets of issue 10 (1,048,576 users x 22 assets, the default preset, in batches).
TARGETS_MILLION = {
    "prove_s": 1800.0,
    "peak_rss_mb": 12000.0,
    "verify_s": 10.0,
    "export_all_s": 600.0,
}


def market_of(spec: list[dict]) -> Market:
    """The generated assets, with their haircut tables, through the same price rule as the
    command line."""
    assets = Assets(
        "USD",
        tuple(
            Asset(
                a["symbol"],
                a["decimals"],
                Decimal(a["price"]),
                table_of_json(a["haircut"]) if a.get("haircut") else None,
            )
            for a in spec
        ),
    )
    return assets.market()


def phase_key(name: str) -> str:
    """The row's key of one prover phase: "main trace LDE" -> "phase_main_trace_LDE_s"."""
    return "phase_" + name.replace(" ", "_") + "_s"


@dataclass(frozen=True)
class ProveCall:
    """One call of prove(): its AIR's shape, its parameters, its seconds and its phases (the
    prover's `timings`, which add up to the call)."""

    shape: AirShape
    params: StarkParams
    seconds: float
    phases: dict[str, float]


@contextmanager
def recorded_proofs() -> Iterator[list[ProveCall]]:
    """Record every stark.prover.prove() made inside the block (the batches' and the
    aggregation's, which import it when they run), unchanged but for a `timings` dict.

    The job's code stays as `prove` runs it; only this process's module attribute is wrapped,
    and restored on the way out."""
    import stark.prover

    calls: list[ProveCall] = []
    original = stark.prover.prove

    def prove(air, main_trace, params, **options):
        phases = options.setdefault("timings", {})
        start = time.perf_counter()
        proof = original(air, main_trace, params, **options)
        calls.append(ProveCall(air.shape(), params, time.perf_counter() - start, dict(phases)))
        return proof

    stark.prover.prove = prove
    try:
        yield calls
    finally:
        stark.prover.prove = original


def proofs_summary(calls: list[ProveCall]) -> dict:
    """The job's proofs, with the bound of each: seconds in prove(), the phases summed over the
    proofs (every phase of PHASES), the bound measured once per distinct (shape, parameters)
    and counted once per proof, and the ratio."""
    bounds: dict[tuple, dict[str, float]] = {}
    for call in calls:
        key = (call.shape, call.params)
        if key not in bounds:
            bounds[key] = prover_bound(call.shape, call.params)
    proofs_s = sum(call.seconds for call in calls)
    bound = {
        part: sum(bounds[(c.shape, c.params)][part] for c in calls)
        for part in ("lde_s", "hash_s", "bound_s")
    }
    return {
        "proofs": len(calls),
        "proofs_s": round(proofs_s, 2),
        **{
            phase_key(name): round(sum(c.phases.get(name, 0.0) for c in calls), 2)
            for name in PHASES
        },
        "bound_lde_s": round(bound["lde_s"], 2),
        "bound_hash_s": round(bound["hash_s"], 2),
        "bound_s": round(bound["bound_s"], 2),
        "prove_over_bound": round(proofs_s / bound["bound_s"], 2),
    }


def _job(users: int, assets: int, preset: str, work: Path, batch_size: int) -> dict:
    """The whole job as `prove` does it, in this process (no Dask): every batch proved and
    written (one batch, or several and the aggregation), the publication; then `verify` of it,
    one user's check as `verify-inclusion --skip-proof` does it, and every user's file
    exported. Seconds of each; the witness's seconds (each batch's work outside prove()) and
    the record of every prove() call."""
    from solvency import batches
    from solvency.commands.verify import checked_publication
    from solvency.publication.statement import read_statement

    data = generate(users, assets, seed=1)
    ids = [f"user-{i:07d}" for i in range(users)]
    market = market_of(data.assets)
    inputs = hashlib.sha256(f"bench {users} {assets} {batch_size}".encode()).hexdigest()
    out, private = work / "out", work / "private"
    start = time.perf_counter()
    plan = batches.make_plan(users, batch_size, inputs, "Bench Exchange", BENCH_AS_OF, preset)
    write_atomically(private / "plan.json", plan.to_json(), private=True)
    results = []

    def write(result: batches.BatchResult) -> None:
        batches.write_batch(result, out, private)
        results.append(result)

    with recorded_proofs() as calls:
        for task in batches.tasks_of(plan, ids, data.balances, market):
            write(batches.prove_batch(task))
        document = batches.publish(plan, results, out)
    prove_s = time.perf_counter() - start
    # each batch's seconds minus its prove(): the witness (nonces, leaf hash, trace), the AIR
    # and the proof's bytes; the batches prove first, in order, then the aggregation
    witness_s = sum(r.seconds for r in results) - sum(c.seconds for c in calls[: len(results)])

    start = time.perf_counter()
    # as `verify` does, with --accept-conjectured-security for a preset without provable bits
    checked_publication(out, "provable" if preset == "proven" else "conjectured", 100.0)
    verify_s = time.perf_counter() - start

    stores = batches.open_stores(private)
    claim_doc = inclusion.inclusion_documents(stores[-1], [stores[-1].user(ids[-1])])[0]
    start = time.perf_counter()
    count = inclusion.export_all(stores, work / "files")
    export_s = time.perf_counter() - start
    start = time.perf_counter()
    statement, _ = read_statement(out)
    claim = inclusion.parse_inclusion(json.loads(inclusion.document_bytes(claim_doc)))
    inclusion.check_inclusion(claim, statement)
    check_ms = (time.perf_counter() - start) * 1000
    assert count == users
    return {
        "prove_s": prove_s,
        "witness_s": witness_s,
        "calls": calls,
        "verify_s": verify_s,
        "proof_bytes": sum(b["proof_bytes"] for b in document["batches"])
        + (document["aggregate"] or {}).get("proof_bytes", 0),
        "verify_inclusion_ms": check_ms,
        "export_all_s": export_s,
        "users_padded": document["users_padded"],
        "main_columns": publication_air(
            results[0].statement, results[0].leaves, results[0].commitment
        ).main_width,
    }


def measure(users: int, assets: int, preset: str, batch_size: int = BATCH_SIZE) -> dict:
    """One size, in the current process, after a warm-up at 8 users (compiled kernels). A
    size above batch_size is proved in batches. The peak memory is the job's: it is read
    before the prover's bound is measured (after the job, in the same process)."""
    with tempfile.TemporaryDirectory(prefix="solvency-bench-") as tmp:
        _job(8, assets, preset, Path(tmp) / "warm", batch_size)
        got = _job(users, assets, preset, Path(tmp) / "run", batch_size)
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return {
        "users": users,
        "assets": assets,
        "preset": preset,
        "users_padded": got["users_padded"],
        "main_columns": got["main_columns"],
        "prove_s": round(got["prove_s"], 2),
        "verify_s": round(got["verify_s"], 3),
        "proof_bytes": got["proof_bytes"],
        "verify_inclusion_ms": round(got["verify_inclusion_ms"], 1),
        "export_all_s": round(got["export_all_s"], 2),
        "peak_rss_mb": peak_rss_mb,
        "witness_s": round(got["witness_s"], 2),
        **proofs_summary(got["calls"]),
    }


def _child(conn, users: int, assets: int, preset: str) -> None:
    try:
        result = measure(users, assets, preset)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the parent reports it
        return
    except BaseException as e:  # report, do not hang the parent
        result = {"error": f"{type(e).__name__}: {e}"}
    try:
        conn.send(result)
    except OSError:  # the parent is gone (interrupted): nobody to tell
        pass
    finally:
        conn.close()


def measure_isolated(users: int, assets: int, preset: str) -> dict:
    # spawn, not fork: a forked child may not use the OpenMP threads the parent started
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, users, assets, preset))
    process.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:  # killed (out of memory, say) before it could answer
        process.join()
        raise RuntimeError(f"the measuring process died (exit code {process.exitcode})") from None
    except BaseException:  # interrupted (or the child died): do not leave it running
        process.terminate()
        process.join()
        raise
    process.join()
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def result_paths(folder: Path, preset: str, assets: int) -> tuple[Path, Path]:
    """The CSV table and the PNG plot of one bench run in `folder`."""
    stem = folder / f"solvency_{preset}_{assets}assets"
    return stem.with_suffix(".csv"), stem.with_suffix(".png")


def save(rows: list[dict], folder: Path, preset: str, assets: int) -> tuple[Path, Path]:
    """Write the rows as CSV and plot them (seconds, proof KB, peak MB against users)."""
    csv_path, png_path = result_paths(folder, preset, assets)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(csv_path, table.getvalue().encode())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [r["users"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].plot(users, [r["prove_s"] for r in rows], "o-", label="prove")
    axes[0].plot(users, [r["verify_s"] for r in rows], "s-", label="verify")
    axes[0].plot(users, [r["bound_s"] for r in rows], "^:", label="prover's bound")
    axes[0].set_ylabel("seconds")
    axes[0].legend()
    axes[1].plot(users, [r["proof_bytes"] / 1000 for r in rows], "o-")
    axes[1].set_ylabel("proof size (KB)")
    axes[2].plot(users, [r["peak_rss_mb"] for r in rows], "o-")
    axes[2].set_ylabel("peak RSS (MB)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("users")
        ax.grid(True, alpha=0.3)
    cores = os.cpu_count() or 1
    fig.suptitle(f"solvency proofs, {assets} assets, {preset} preset ({cores} cores)")
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=100)
    plt.close(fig)
    write_atomically(png_path, image.getvalue())
    return csv_path, png_path


def as_json_line(row: dict) -> str:
    return json.dumps(row)
