"""`solvency bench`: the whole job on generated snapshots of several sizes, as `prove`, `verify`,
`inclusion export` and `verify-inclusion` do it; the command prints a table and saves CSV and a
PNG plot in its --out folder. Each size runs in its own process, so that its peak memory is its
own."""

from __future__ import annotations

import csv
import dataclasses
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

from circuits.solvency import Market
from solvency import inclusion
from solvency.generate import generate
from solvency.publish import (
    leaves_bytes,
    read_published,
    solvency_air,
    statement_json,
    write_atomically,
)
from solvency.snapshot import Asset, Assets
from stark.params import PRESETS
from stark.prover import prove

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
    """The generated assets through the same price rule as the command line."""
    assets = Assets(
        "USD", tuple(Asset(a["symbol"], a["decimals"], Decimal(a["price"])) for a in spec)
    )
    return assets.market()


def _job(users: int, assets: int, preset: str, work: Path) -> dict:
    """Prove (nonces, witness with leaves, proof, private store, publication), verify the
    publication, check one user's file, export every user's file; seconds of each."""
    from solvency.commands.verify import verified_publication

    data = generate(users, assets, seed=1)
    ids = [f"user-{i:07d}" for i in range(users)]
    start = time.perf_counter()
    wit = inclusion.witness(market_of(data.assets), ids, data.balances)
    statement = dataclasses.replace(wit.statement, issuer="Bench Exchange", as_of=BENCH_AS_OF)
    air = solvency_air(statement, wit.leaves)
    proof = prove(air, wit.trace, PRESETS[preset]).to_bytes()
    document = statement_json(air, PRESETS[preset], proof)
    root = document["inclusion"]["leaves_root"]
    inclusion.write_store(
        work / "private" / inclusion.STORE_NAME,
        statement,
        wit.leaves,
        root,
        ids,
        wit.rows,
        wit.nonces,
        data.balances,
    )
    write_atomically(work / "out" / "leaves.bin", leaves_bytes(wit.leaves))
    write_atomically(work / "out" / "proof.bin", proof)
    write_atomically(work / "out" / "statement.json", json.dumps(document).encode())
    prove_s = time.perf_counter() - start

    start = time.perf_counter()
    pub = read_published(work / "out")
    # as `verify` does, with --accept-conjectured-security for a preset without provable bits
    verified_publication(pub, "provable" if preset == "proven" else "conjectured", 100.0)
    verify_s = time.perf_counter() - start

    with inclusion.PrivateStore(work / "private") as store:
        claim_doc = inclusion.inclusion_documents(store, [store.user(ids[-1])])[0]
        start = time.perf_counter()
        count = inclusion.export_all([store], work / "files")
        export_s = time.perf_counter() - start
    start = time.perf_counter()
    pub = read_published(work / "out")  # as verify-inclusion --skip-proof does
    claim = inclusion.parse_inclusion(json.loads(inclusion.document_bytes(claim_doc)))
    inclusion.check_inclusion(
        claim, pub.statement, inclusion.parse_elements_hex(pub.data["inclusion"]["leaves_root"], 8)
    )
    check_ms = (time.perf_counter() - start) * 1000
    assert count == users
    return {
        "prove_s": prove_s,
        "verify_s": verify_s,
        "proof_bytes": len(proof),
        "verify_inclusion_ms": check_ms,
        "export_all_s": export_s,
        "users_padded": wit.statement.trace_len,
        "main_columns": air.main_width,
    }


def _batched_job(users: int, assets: int, preset: str, work: Path, batch_size: int) -> dict:
    """A snapshot larger than one batch, as `prove` does it (one process, no Dask): every
    batch proved and written, the aggregation and the publication; then `verify` of the
    publication, one user's check, and every user's file exported."""
    from solvency import batched_publish, batches
    from stark.params import PRESETS

    data = generate(users, assets, seed=1)
    ids = [f"user-{i:07d}" for i in range(users)]
    market = market_of(data.assets)
    digest = hashlib.sha256(f"bench {users} {assets} {batch_size}".encode()).hexdigest()
    start = time.perf_counter()
    plan = batches.make_plan(users, batch_size, digest, "Bench Exchange", BENCH_AS_OF)
    tasks = [
        batches.BatchTask(
            b, plan.count, ids[r.start : r.stop], data.balances[r.start : r.stop], market,
            "Bench Exchange", BENCH_AS_OF, preset, digest,
        )
        for b, r in ((b, plan.users_of(b)) for b in range(plan.count))
    ]  # fmt: skip
    out, private = work / "out", work / "private"
    write_atomically(private / "plan.json", plan.to_json(), private=True)
    results = []

    def write(result):
        batches.write_batch(result, out, private)
        results.append(result)

    batches.run(tasks, write, workers=0)
    aggregate, aggregate_proof = batches.prove_aggregate(results, preset)
    batched_publish.publish_snapshot(
        out, results, aggregate, aggregate_proof, plan, PRESETS[preset]
    )
    prove_s = time.perf_counter() - start
    start = time.perf_counter()
    checked = batched_publish.check_snapshot(out, [PRESETS[preset]])
    verify_s = time.perf_counter() - start
    stores = inclusion.open_stores(private)
    claim_doc = inclusion.inclusion_documents(stores[-1], [stores[-1].user(ids[-1])])[0]
    start = time.perf_counter()
    count = inclusion.export_all(stores, work / "files")
    export_s = time.perf_counter() - start
    start = time.perf_counter()
    head = batched_publish.read_header(out)  # as verify-inclusion --skip-proof does
    claim = inclusion.parse_inclusion(json.loads(inclusion.document_bytes(claim_doc)))
    width = 1 << max(0, (plan.count - 1).bit_length())
    inclusion.check_inclusion(
        claim,
        head.batch(claim.batch),
        inclusion.parse_elements_hex(head.data["users_root"], 8),
        batches=(plan.count, width),
    )
    check_ms = (time.perf_counter() - start) * 1000
    assert count == users and checked.count == plan.count
    return {
        "prove_s": prove_s,
        "verify_s": verify_s,
        "proof_bytes": sum(len(r.proof) for r in results) + len(aggregate_proof),
        "verify_inclusion_ms": check_ms,
        "export_all_s": export_s,
        "users_padded": sum(r.statement.trace_len for r in results),
        "main_columns": results[0].public.air().main_width,
    }


def measure(users: int, assets: int, preset: str, batch_size: int = BATCH_SIZE) -> dict:
    """One size, in the current process, after a warm-up at 8 users (compiled kernels). A
    size above batch_size is proved in batches (`_batched_job`)."""
    with tempfile.TemporaryDirectory(prefix="solvency-bench-") as tmp:
        _job(8, assets, preset, Path(tmp) / "warm")
        if users > batch_size:
            got = _batched_job(users, assets, preset, Path(tmp) / "run", batch_size)
        else:
            got = _job(users, assets, preset, Path(tmp) / "run")
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
