"""Benchmark what issue 17's statement costs: one batch proof (the application's AIR with the
users' leaves) of the same generated users in three forms, each in its own process (so that
its peak memory is its own), in the same run:

    format-1   totals only, as first published;
    gross      format 2 without tables: the gross equity and debt per asset;
    tables     format 2 with a table of --tiers tiers on every asset (100, 95, 90, 80, ... %).

    python benches/bench_haircuts.py --users 65536 --assets 22 --preset proven

Prints a table (main columns, prove, the bare LDE of the same trace, verify, proof size, peak
memory) and each form against the one before it; saves JSON under --out (benches/results/);
prints one JSON object as its last line. Issue 17's targets at 65,536 x 22, proven, 4 tiers:
`tables` within 1.5x of `gross`'s prove time, under 8 GB, a proof under 1.3 MB, verify under
0.5 s.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cli import run as run_command

from circuits.haircut import Tier
from circuits.leaf import id_commitments, new_nonces
from circuits.solvency import SolvencyAir, build_witness_with_leaves
from solvency.generate import generate
from solvency.snapshot import Asset, Assets
from stark.params import PRESETS, Domains
from stark.poly import low_degree_extend
from stark.prover import prove
from stark.randomness import ProverRandomness
from stark.verifier import verify

RESULTS = Path(__file__).resolve().parent / "results"
FORMS = ("format-1", "gross", "tables")
TARGETS = {"tables_over_gross": 1.5, "peak_rss_mb": 8192, "proof_bytes": 1_300_000, "verify_s": 0.5}


def tier_table(price: Decimal, tiers: int) -> tuple[Tier, ...]:
    """`tiers` tiers for an asset at this price: 100% to about 10,000 USD, then 95% to ten
    times that, 90% to a hundred times, ..., the last open; boundaries in whole coins."""
    out, up_to = [], 0
    for t in range(tiers - 1):
        coins = max(up_to + 1, int(Decimal(10_000 * 10**t) / price) + 1)
        out.append(Tier(coins, 100 - 5 * t))
        up_to = coins
    out.append(Tier(None, max(0, 100 - 5 * (tiers - 1))))
    return tuple(out)


def measure(form: str, users: int, assets: int, preset: str, tiers: int) -> dict:
    """One form, after a warm-up at 512 rows (compiled kernels)."""
    data = generate(users, assets, seed=1)
    spec = [(a["symbol"], a["decimals"], Decimal(a["price"])) for a in data.assets]
    table = (lambda price: tier_table(price, tiers)) if form == "tables" else (lambda _: None)
    market = Assets("USD", tuple(Asset(s, d, p, table(p)) for s, d, p in spec)).market()
    params = PRESETS[preset]

    def one(balances: np.ndarray) -> dict:
        rng = ProverRandomness(1)
        ids = id_commitments(
            [f"u{i}" for i in range(len(balances))], new_nonces(len(balances), rng)
        )
        statement, trace, leaves = build_witness_with_leaves(
            market, balances, ids, sbox_registers=False, rng=rng, gross=form != "format-1"
        )
        air = SolvencyAir(statement, leaves, sbox_registers=False)
        start = time.perf_counter()
        blob = prove(air, trace, params).to_bytes()
        prove_s = time.perf_counter() - start
        start = time.perf_counter()
        verify(air, blob, accepted_params=[params])
        verify_s = time.perf_counter() - start
        start = time.perf_counter()
        low_degree_extend(trace, Domains.of(params, air.shape()).lde_size)
        lde_s = time.perf_counter() - start
        return {"main_columns": air.main_width, "prove_s": prove_s, "verify_s": verify_s,
                "lde_s": lde_s, "proof_bytes": len(blob)}  # fmt: skip

    one(data.balances[:512])  # warm-up
    got = one(data.balances)
    return {
        "form": form,
        "users": users,
        "assets": assets,
        "preset": preset,
        "tiers": tiers if form == "tables" else 0,
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in got.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def in_child(form: str, users: int, assets: int, preset: str, tiers: int) -> dict:
    """measure() in a fresh process: its peak memory is this form's alone."""
    args = [sys.executable, __file__, "--users", str(users), "--assets", str(assets),
            "--preset", preset, "--tiers", str(tiers), "--only", form]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.ClickException(f"{form}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@click.command()
@click.option("--users", type=click.IntRange(1, 1 << 17), default=65536, show_default=True)
@click.option("--assets", type=click.IntRange(1, 200), default=22, show_default=True)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="proven", show_default=True)
@click.option("--tiers", type=click.IntRange(2, 8), default=4, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="where the JSON result goes")  # fmt: skip
@click.option("--only", type=click.Choice(FORMS), hidden=True)
def main(users: int, assets: int, preset: str, tiers: int, out: Path, only: str | None) -> None:
    """Prove the same users in format 1, format 2 and format 2 with tables; compare."""
    if only is not None:  # the child
        click.echo(json.dumps(measure(only, users, assets, preset, tiers)))
        return
    console = Console(stderr=True)
    rows = []
    for form in FORMS:
        with console.status(f"{form}: {users:,} users x {assets} assets, {preset}"):
            rows.append(in_child(form, users, assets, preset, tiers))
    gross, tables = rows[1], rows[2]
    summary = {
        "rows": rows,
        "gross_columns": gross["main_columns"] - rows[0]["main_columns"],
        "table_columns_per_asset": (tables["main_columns"] - gross["main_columns"]) / assets,
        "gross_over_format_1": round(gross["prove_s"] / rows[0]["prove_s"], 2),
        "tables_over_gross": round(tables["prove_s"] / gross["prove_s"], 2),
    }
    summary["targets"] = {
        name: {"target": bound, "measured": value, "met": value <= bound}
        for name, bound, value in (
            ("tables_over_gross", TARGETS["tables_over_gross"], summary["tables_over_gross"]),
            ("peak_rss_mb", TARGETS["peak_rss_mb"], tables["peak_rss_mb"]),
            ("proof_bytes", TARGETS["proof_bytes"], tables["proof_bytes"]),
            ("verify_s", TARGETS["verify_s"], tables["verify_s"]),
        )
    }
    table = Table(title=f"issue 17's statement: {users:,} users x {assets} assets, {preset}")
    for name in ("form", "main columns", "prove s", "bare LDE s", "verify s", "proof bytes",
                 "peak MB"):  # fmt: skip
        table.add_column(name, justify="left" if name == "form" else "right")
    for r in rows:
        table.add_row(r["form"], f"{r['main_columns']:,}", f"{r['prove_s']:.2f}",
                      f"{r['lde_s']:.2f}", f"{r['verify_s']:.3f}", f"{r['proof_bytes']:,}",
                      f"{r['peak_rss_mb']:,.0f}")  # fmt: skip
    console.print(table)
    per_asset = summary["table_columns_per_asset"]
    console.print(
        f"gross equity: +{summary['gross_columns']} columns, prove "
        f"x{summary['gross_over_format_1']} of format 1; {tiers}-tier tables: "
        f"+{per_asset:.0f} columns per asset, prove x{summary['tables_over_gross']} of gross"
    )
    for name, t in summary["targets"].items():
        console.print(f"  {name}: {t['measured']} (target {t['target']}): "
                      + ("met" if t["met"] else "MISSED"))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"haircuts_{users}x{assets}_{preset}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    click.echo(json.dumps(summary))


if __name__ == "__main__":
    run_command(main)
