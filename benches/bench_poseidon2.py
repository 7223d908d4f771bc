"""Benchmark layouts of the Poseidon2 AIR: prove and verify n permutations with each.

    .venv/bin/python benches/bench_poseidon2.py --log-perms 12,14 --preset proven
    .venv/bin/python benches/bench_poseidon2.py --log-perms 12 --layouts horizontal --width 24

Layouts (docs/poseidon2.md discusses the results):
  horizontal        one permutation per row, an x^3 register per S-box: degree 3
                    (circuits.poseidon2_air.Poseidon2Air, the gadget's default);
  horizontal-noreg  one permutation per row, no registers: half the columns, degree 7;
  vertical          one round per row, 32 rows per permutation (1 linear-layer row, 8 + R_p
                    round rows, the output row, padding), 2t columns (state and x^3 registers);
                    round constants and round-kind selectors are periodic columns: degree 4.

Each (layout, size) runs in a fresh process (so peak RSS is its own) that first proves and
verifies a tiny instance of the same layout to compile numba's and galois's kernels, then
times the witness, `prove` (with its self-checks, as the command line runs it) by phase, and
`verify` (median of 3); with --repeat R each configuration runs R times and the table keeps the
fastest prove (the machine may be shared). The proof-of-work before the queries is left out
unless --grinding (it costs every layout the same, about 2^20 hashes at the presets, and its
time is random). Prints a table and one JSON object per run; --save writes
OUT/poseidon2_w<width>_<preset>.csv (OUT: benches/results by default).
"""

from __future__ import annotations

import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cli import comma_choices, comma_ints, run

from circuits.poseidon2 import (
    HALF_EXTERNAL_ROUNDS,
    external_linear,
    internal_linear,
    params,
    permute,
    sbox,
)
from circuits.poseidon2_air import (
    Poseidon2Air,
    external_linear_expr,
    internal_linear_expr,
    poseidon2_trace,
)
from stark.air import Air, BoundaryConstraint, Frame, TransitionConstraint
from stark.field import GF, P, reduced
from stark.params import PRESETS, Domains
from stark.prover import prove
from stark.verifier import verify

RESULTS = Path(__file__).resolve().parent / "results"
LAYOUTS = ("horizontal", "horizontal-noreg", "vertical")
BLOCK = 32  # rows per permutation in the vertical layout


# -- the vertical layout (for comparison only) ---------------------------------------------------
class VerticalPoseidon2Air(Air):
    """One round per row. Columns: the state s (t) and registers r_i = (s_i + rc_i)^3 (t).
    In each block of 32 rows, row 0 holds the input; the transition from row k applies the
    initial linear layer (k = 0), an external round (k = 1..4 and 5 + R_p..8 + R_p) or a
    partial round (k = 5..4 + R_p); row 9 + R_p holds the output. Periodic columns: the round
    constants rc_i of each row's round, and three selectors (linear, external, partial)."""

    def __init__(self, num_perms: int, width: int, public_outputs: dict[int, list[int]]):
        super().__init__(num_perms * BLOCK)
        self.width, self.prm = width, params(width)
        self.name = f"poseidon2-vertical-w{width}"
        self.main_width = 2 * width
        self.output_row = 2 + 2 * HALF_EXTERNAL_ROUNDS + self.prm.partial_rounds - 1
        self.public_outputs = public_outputs
        self.diagonal = [GF(int(d)) for d in self.prm.diagonal]

    def schedule(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rc (BLOCK, t), linear, external, partial selectors (BLOCK,)) per row of a block."""
        t, rp, h = self.width, self.prm.partial_rounds, HALF_EXTERNAL_ROUNDS
        rc = np.zeros((BLOCK, t), dtype=np.int64)
        lin, ext, part = (np.zeros(BLOCK, dtype=np.int64) for _ in range(3))
        lin[0] = 1
        rc[1 : 1 + h] = self.prm.external_initial
        ext[1 : 1 + h] = 1
        rc[1 + h : 1 + h + rp, 0] = self.prm.internal
        part[1 + h : 1 + h + rp] = 1
        rc[1 + h + rp : 1 + 2 * h + rp] = self.prm.external_final
        ext[1 + h + rp : 1 + 2 * h + rp] = 1
        return rc, lin, ext, part

    def periodic_columns(self) -> list[list[int]]:
        rc, lin, ext, part = self.schedule()
        return [rc[:, i].tolist() for i in range(self.width)] + [
            lin.tolist(),
            ext.tolist(),
            part.tolist(),
        ]

    def transition_constraints(self) -> list[TransitionConstraint]:
        t = self.width
        return [TransitionConstraint(3, all_rows=True)] * t + [
            TransitionConstraint(4, all_rows=True)
        ] * t

    def evaluate_transition(self, f: Frame) -> list:
        t = self.width
        s, r, nxt = [f.main[i] for i in range(t)], [f.main[t + i] for i in range(t)], f.main_next
        rc, (lin, ext, part) = f.periodic[:t], f.periodic[t:]
        x = [s[i] + rc[i] for i in range(t)]
        out = [r[i] - x[i] * x[i] * x[i] for i in range(t)]
        y = [r[i] * r[i] * x[i] for i in range(t)]
        after_lin = external_linear_expr(s)
        after_ext = external_linear_expr(y)
        after_part = internal_linear_expr([y[0], *s[1:]], self.diagonal)
        for i in range(t):
            n = nxt[i]
            out.append(
                lin * (n - after_lin[i]) + ext * (n - after_ext[i]) + part * (n - after_part[i])
            )
        return out

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        return [
            BoundaryConstraint(i, BLOCK * perm + self.output_row, v)
            for perm, values in sorted(self.public_outputs.items())
            for i, v in enumerate(values)
        ]


def vertical_trace(inputs: np.ndarray) -> tuple[GF, np.ndarray]:
    """The vertical layout's trace for inputs (m, t), and the outputs."""
    m, t = inputs.shape
    prm = params(t)
    air = VerticalPoseidon2Air(m, t, {})
    rc, _, _, _ = air.schedule()
    pm = np.uint64(P)
    state = inputs.astype(np.uint64) % pm
    states = [state, external_linear(state)]
    rounds = [("e", c) for c in prm.external_initial] + [("p", c) for c in prm.internal]
    rounds += [("e", c) for c in prm.external_final]
    for kind, c in rounds:
        s = states[-1]
        if kind == "e":
            states.append(external_linear(sbox((s + c) % pm)))
        else:
            y = sbox((s[:, 0] + c) % pm)
            states.append(internal_linear(np.concatenate([y[:, None], s[:, 1:]], 1), prm.diagonal))
    trace = np.zeros((2 * t, m * BLOCK), dtype=np.uint64)
    for k, s in enumerate(states):
        trace[:t, k::BLOCK] = s.T
    for k in range(BLOCK):
        x = (trace[:t, k::BLOCK] + rc[k].astype(np.uint64)[:, None]) % pm
        trace[t:, k::BLOCK] = x * x % pm * x % pm
    return reduced(trace), states[-1]


# -- one measurement -----------------------------------------------------------------------------
def build(layout: str, num_perms: int, width: int, seed: int = 1):
    inputs = np.random.default_rng(seed).integers(0, P, (num_perms, width))
    start = time.perf_counter()
    if layout == "vertical":
        trace, outputs = vertical_trace(inputs)
        public = {0: outputs[0][:8].tolist(), num_perms - 1: outputs[-1][:8].tolist()}
        air = VerticalPoseidon2Air(num_perms, width, public)
    else:
        regs = layout == "horizontal"
        trace, outputs = poseidon2_trace(inputs, sbox_registers=regs)
        public = {0: outputs[0][:8].tolist(), num_perms - 1: outputs[-1][:8].tolist()}
        air = Poseidon2Air(num_perms, width, public, sbox_registers=regs)
    witness_s = time.perf_counter() - start
    if not np.array_equal(outputs, permute(inputs)):
        raise AssertionError("the layout's outputs differ from the reference permutation")
    return air, trace, witness_s


def run_one(layout: str, log_perms: int, width: int, preset: str, grinding: bool) -> dict:
    prm = PRESETS[preset] if grinding else replace(PRESETS[preset], grinding_bits=0)
    tiny, tiny_trace, _ = build(layout, 4, width)  # compile every kernel outside the timings
    verify(tiny, prove(tiny, tiny_trace, prm).to_bytes(), accepted_params=[prm])
    load = os.getloadavg()[0]  # other work on the machine, before this run
    air, trace, witness_s = build(layout, 1 << log_perms, width)
    phases: dict[str, float] = {}
    start = time.perf_counter()
    blob = prove(air, trace, prm, timings=phases).to_bytes()
    prove_s = time.perf_counter() - start
    verify_runs = []
    for _ in range(3):
        start = time.perf_counter()
        verify(air, blob, accepted_params=[prm])
        verify_runs.append(time.perf_counter() - start)
    shape, dom = air.shape(), Domains.of(prm, air.shape())
    return {
        "layout": layout,
        "width": width,
        "preset": preset,
        "grinding_bits": prm.grinding_bits,
        "perms": 1 << log_perms,
        "rows": air.trace_len,
        "cols": air.main_width,
        "cells_per_perm": air.trace_len * air.main_width >> log_perms,
        "constraints": shape.num_transition_constraints,
        "degree": shape.max_constraint_degree,
        "eval_size": dom.eval_size,
        "witness_s": round(witness_s, 3),
        "prove_s": round(prove_s, 3),
        "verify_s": round(statistics.median(verify_runs), 4),
        "proof_bytes": len(blob),
        "load_before": round(load, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **{"phase_" + k.replace(" ", "_") + "_s": round(v, 3) for k, v in phases.items()},
    }


def report(results: list[dict], console: Console) -> None:
    table = Table(title="Poseidon2 AIR layouts")
    heads = ["layout", "t", "perms", "rows", "cols", "cells/perm", "deg", "witness s"]
    heads += ["prove s", "constraints s", "verify s", "proof KB", "peak MB", "load"]
    for h in heads:
        table.add_column(h, justify="left" if h == "layout" else "right")
    for r in results:
        table.add_row(
            r["layout"],
            str(r["width"]),
            f"{r['perms']:,}",
            f"{r['rows']:,}",
            str(r["cols"]),
            f"{r['cells_per_perm']:,}",
            str(r["degree"]),
            f"{r['witness_s']:.2f}",
            f"{r['prove_s']:.2f}",
            f"{r['phase_constraints_s']:.2f}",
            f"{r['verify_s']:.3f}",
            f"{r['proof_bytes'] / 1000:.0f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['load_before']:.1f}",
        )
    console.print(table)


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--log-perms", default="12,14", show_default=True, help="log2 of n, comma-separated")
@click.option(
    "--layouts",
    default=",".join(LAYOUTS),
    show_default=True,
    help="comma-separated, of " + ", ".join(LAYOUTS),
)
@click.option("--width", type=click.Choice(["16", "24"]), default="16", show_default=True)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default="proven",
    show_default=True,
    help="the proof's parameters",
)
@click.option(
    "--grinding/--no-grinding",
    default=False,
    show_default=True,
    help="keep the preset's proof-of-work before the queries (the same random cost for every "
    "layout, so the comparison leaves it out by default)",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="runs per configuration; the table keeps the fastest prove (the machine may be shared)",
)
@click.option("--save", is_flag=True, help="write OUT/poseidon2_w<t>_<preset>.csv")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS,
    show_default=True,
    help="directory for --save's CSV",
)
@click.option("--single", is_flag=True, hidden=True, help="one run in this process (internal)")
def main(
    log_perms: str,
    layouts: str,
    width: str,
    preset: str,
    grinding: bool,
    repeat: int,
    save: bool,
    out: Path,
    single: bool,
) -> None:
    sizes = comma_ints("--log-perms", log_perms)
    chosen = comma_choices("--layouts", layouts, LAYOUTS)
    if single:
        print(json.dumps(run_one(chosen[0], sizes[0], int(width), preset, grinding)))
        return
    console = Console(stderr=True, width=160)
    results = []
    for log_n in sizes:
        for layout in chosen:
            console.print(f"[dim]{layout}, 2^{log_n} permutations, width {width}...[/dim]")
            cmd = [sys.executable, __file__, "--single", "--log-perms", str(log_n)]
            cmd += ["--layouts", layout, "--width", width, "--preset", preset]
            cmd += ["--grinding" if grinding else "--no-grinding"]
            runs = []
            for _ in range(repeat):
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode:
                    console.print(done.stderr)
                    raise SystemExit(f"{layout} at 2^{log_n} failed")
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(json.dumps(runs[-1]), flush=True)
            results.append(min(runs, key=lambda r: r["prove_s"]))
    report(results, console)
    if save:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"poseidon2_w{width}_{preset}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(results[0]))
            writer.writeheader()
            writer.writerows(results)
        console.print(f"saved {path}")


if __name__ == "__main__":
    run(main)
