"""`solvency bench`: prove and verify generated snapshots of several sizes; print a table, save
CSV and a PNG plot under benches/results/. Each size runs in its own process, so that its peak
memory is its own."""

from __future__ import annotations

import csv
import json
import multiprocessing
import resource
import time
from decimal import Decimal
from pathlib import Path

from circuits.solvency import Market, SolvencyAir, build_witness
from solvency.generate import generate
from solvency.snapshot import Asset, Assets
from stark.params import PRESETS
from stark.prover import prove
from stark.verifier import verify

RESULTS = Path("benches") / "results"
#: Targets of issue 4 (22 assets, fast preset, 65,536 users on 2 cores).
TARGETS = {"prove_s": 120.0, "peak_rss_mb": 8192.0, "verify_s": 1.0, "proof_bytes": 1 << 20}


def _market(spec: list[dict]) -> Market:
    """The generated assets through the same price rule as the command line."""
    assets = Assets(
        "USD", tuple(Asset(a["symbol"], a["decimals"], Decimal(a["price"])) for a in spec)
    )
    return assets.market()


def measure(users: int, assets: int, preset: str) -> dict:
    """One size, in the current process: generate, witness, prove, verify."""
    warm = generate(8, assets, seed=0)  # compile kernels outside the timings
    statement, trace = build_witness(_market(warm.assets), warm.balances)
    accepted = [PRESETS[preset]]
    warm_air = SolvencyAir(statement)
    verify(warm_air, prove(warm_air, trace, PRESETS[preset]), accepted_params=accepted)
    data = generate(users, assets, seed=1)
    start = time.perf_counter()
    statement, trace = build_witness(_market(data.assets), data.balances)
    air = SolvencyAir(statement)
    proof = prove(air, trace, PRESETS[preset]).to_bytes()
    prove_s = time.perf_counter() - start
    start = time.perf_counter()
    verify(air, proof, accepted_params=accepted)
    verify_s = time.perf_counter() - start
    return {
        "users": users,
        "assets": assets,
        "preset": preset,
        "users_padded": statement.trace_len,
        "prove_s": round(prove_s, 2),
        "verify_s": round(verify_s, 3),
        "proof_bytes": len(proof),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _child(conn, users: int, assets: int, preset: str) -> None:
    try:
        conn.send(measure(users, assets, preset))
    except BaseException as e:  # report, do not hang the parent
        conn.send({"error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


def measure_isolated(users: int, assets: int, preset: str) -> dict:
    # spawn, not fork: a forked child may not use the OpenMP threads the parent started
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, users, assets, preset))
    process.start()
    child.close()
    result = parent.recv()
    process.join()
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def save(rows: list[dict], preset: str, assets: int) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"solvency_{preset}_{assets}assets"
    with stem.with_suffix(".csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [r["users"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].plot(users, [r["prove_s"] for r in rows], "o-", label="prove")
    axes[0].plot(users, [r["verify_s"] for r in rows], "s-", label="verify")
    axes[0].set_ylabel("seconds")
    axes[0].legend()
    axes[1].plot(users, [r["proof_bytes"] / 1024 for r in rows], "o-")
    axes[1].set_ylabel("proof size (KiB)")
    axes[2].plot(users, [r["peak_rss_mb"] for r in rows], "o-")
    axes[2].set_ylabel("peak RSS (MB)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("users")
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"solvency proofs, {assets} assets, {preset} preset (2 cores)")
    fig.tight_layout()
    fig.savefig(stem.with_suffix(".png"), dpi=100)
    plt.close(fig)
    return stem.with_suffix(".csv"), stem.with_suffix(".png")


def as_json_line(row: dict) -> str:
    return json.dumps(row)
