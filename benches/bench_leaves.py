"""Solvency AIR with and without user leaves: prove / verify / size / peak RSS, one fresh process
per (users, layout).

    python benches/bench_leaves.py 4096,16384 none,w24,w24-noreg

USERS is a comma-separated list of snapshot sizes, LAYOUTS one of none, w24, w24-noreg, w16
each (preset proven, 22 assets, seed 1). Prints one JSON line per measurement and a table
against issue 9's targets at 65,536 x 22 (prove <= 120 s, peak < 8 GB, proof < 1 MB, verify <
0.5 s); saves JSON and CSV as OUT/leaves_<sizes>.* (OUT: benches/results by default). Each
measurement runs in a fresh process (peak RSS is per process). Exit 1 if a measurement failed.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cli import comma_choices, comma_ints, run, stop

RESULTS = Path(__file__).resolve().parent / "results"
LAYOUTS = ("none", "w24", "w24-noreg", "w16")
TARGETS = {"prove_s": 120.0, "peak_mb": 8192, "proof_kb": 1024, "verify_s": 0.5}


def measure(users: int, layout: str) -> dict:
    """Prove and verify `users` generated users with this layout (after a warm-up)."""
    from circuits.leaf import id_commitments, leaves_root, new_nonces
    from circuits.solvency import SolvencyAir, build_witness, build_witness_with_leaves
    from solvency.bench import market_of
    from solvency.generate import generate
    from stark.params import PRESETS
    from stark.prover import prove
    from stark.verifier import verify

    params = PRESETS["proven"]
    width = 16 if layout.startswith("w16") else 24
    regs = not layout.endswith("noreg")

    def run(data, timings=None):
        market = market_of(data.assets)
        t0 = time.perf_counter()
        if layout == "none":
            statement, trace = build_witness(market, data.balances)
            air, leaves, idc_s = SolvencyAir(statement), None, 0.0
        else:
            ids = [f"user-{i}" for i in range(len(data.balances))]
            idc = id_commitments(ids, new_nonces(len(ids)))
            idc_s = time.perf_counter() - t0
            statement, trace, leaves = build_witness_with_leaves(
                market, data.balances, idc, leaf_width=width, sbox_registers=regs
            )
            air = SolvencyAir(statement, leaves, leaf_width=width, sbox_registers=regs)
        witness_s = time.perf_counter() - t0
        proof = prove(air, trace, params, timings=timings).to_bytes()
        prove_s = time.perf_counter() - t0
        return statement, leaves, proof, prove_s, witness_s, idc_s, air

    run(generate(8, 22, seed=0))  # compile kernels outside the timings
    data = generate(users, 22, seed=1)
    timings: dict[str, float] = {}
    statement, leaves, proof, prove_s, witness_s, idc_s, air = run(data, timings)
    verify_s = []
    for _ in range(3):
        t0 = time.perf_counter()
        fresh = (
            SolvencyAir(statement)
            if leaves is None
            else SolvencyAir(statement, leaves, leaf_width=width, sbox_registers=regs)
        )
        verify(fresh, proof, accepted_params=[params])
        verify_s.append(time.perf_counter() - t0)
    root_s = 0.0
    if leaves is not None:
        t0 = time.perf_counter()
        leaves_root(leaves)
        root_s = time.perf_counter() - t0
    shape = air.shape()
    return {
        "users": users,
        "layout": layout,
        "main_cols": shape.main_width,
        "aux_cols": shape.aux_width,
        "degree": shape.max_constraint_degree,
        "prove_s": round(prove_s, 2),
        "witness_s": round(witness_s, 2),
        "idc_s": round(idc_s, 2),
        "phases": {k: round(v, 2) for k, v in timings.items()},
        "verify_s": round(float(np.median(verify_s)), 3),
        "root_s": round(root_s, 3),
        "proof_kb": round(len(proof) / 1024),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _child(conn, users: int, layout: str) -> None:
    """In the fresh process: the measurement, or what went wrong, sent to the parent."""
    try:
        conn.send(measure(users, layout))
    except BaseException as e:
        conn.send({"users": users, "layout": layout, "error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


def report(rows: list[dict], sizes: list[int], out: Path) -> None:
    """The table against the targets, and OUT/leaves_<sizes>.json and .csv."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="solvency AIR with user leaves (proven, 22 assets)")
    keys = ("users", "layout", "main_cols", "degree", "prove_s", "verify_s", "proof_kb", "peak_mb")
    for key in (*keys, "targets"):
        table.add_column(key, justify="right")
    for row in rows:
        missed = [k for k, limit in TARGETS.items() if row.get(k, 0) > limit]
        verdict = (
            "-" if row["users"] < 65536 else ("met" if not missed else "MISSED " + ",".join(missed))
        )
        table.add_row(*(str(row.get(k, row.get("error", ""))) for k in keys), verdict)
    Console().print(table)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"leaves_{'_'.join(map(str, sizes))}"
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    with stem.with_suffix(".csv").open("w", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=[*keys, "witness_s", "root_s"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    print(f"saved {stem}.json and {stem}.csv")


def measure_in_fresh_process(users: int, layout: str) -> dict:
    """One measurement in a spawned process (its own peak RSS)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, users, layout))
    process.start()
    child.close()
    try:
        row = parent.recv()
    except EOFError:  # the process died without a word (killed for memory, say)
        row = {"users": users, "layout": layout, "error": f"exit code {process.exitcode}"}
    process.join()
    return row


@click.command()
@click.argument("users", metavar="USERS")
@click.argument("layouts", metavar="LAYOUTS")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS,
    show_default=True,
    help="directory for the JSON and CSV results",
)
def main(users: str, layouts: str, out: Path) -> None:
    """Solvency AIR with and without user leaves: prove, verify, proof size and peak RSS at
    each size in USERS (comma-separated: 4096,16384) for each of LAYOUTS (comma-separated, of
    none, w24, w24-noreg, w16), one fresh process per measurement; preset proven, 22 assets.
    Prints one JSON line per measurement and a table; exit 1 if a measurement failed."""
    sizes = comma_ints("USERS", users)
    chosen = comma_choices("LAYOUTS", layouts, LAYOUTS)
    rows = []
    for size in sizes:
        for layout in chosen:
            rows.append(measure_in_fresh_process(size, layout))
            print(json.dumps(rows[-1]), flush=True)
    report(rows, sizes, out)
    failed = [row for row in rows if "error" in row]
    if failed:
        stop(1, f"error: {len(failed)} measurement(s) failed: {failed[0]['error']}")


if __name__ == "__main__":
    run(main)
