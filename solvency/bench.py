"""`solvency bench`: the whole job on generated snapshots of several sizes, as `prove`, `verify`,
`inclusion export` and `verify-inclusion` do it; the command prints a table and saves CSV and a
PNG plot in its --out folder. Each size runs in its own process, so that its peak memory is its
own."""

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
from decimal import Decimal
from pathlib import Path

from circuits.haircut import table_of_json
from circuits.solvency import Market
from solvency import inclusion
from solvency.files import write_atomically
from solvency.generate import generate
from solvency.publication.statement import publication_air
from solvency.snapshot import Asset, Assets

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


def _job(users: int, assets: int, preset: str, work: Path, batch_size: int) -> dict:
    """The whole job as `prove` does it, in this process (no Dask): every batch proved and
    written (one batch, or several and the aggregation), the publication; then `verify` of it,
    one user's check as `verify-inclusion --skip-proof` does it, and every user's file
    exported. Seconds of each."""
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

    for task in batches.tasks_of(plan, ids, data.balances, market):
        write(batches.prove_batch(task))
    document = batches.publish(plan, results, out)
    prove_s = time.perf_counter() - start

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
    size above batch_size is proved in batches."""
    with tempfile.TemporaryDirectory(prefix="solvency-bench-") as tmp:
        _job(8, assets, preset, Path(tmp) / "warm", batch_size)
        got = _job(users, assets, preset, Path(tmp) / "run", batch_size)
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
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
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
