"""`solvency bench`: the whole job measured on generated snapshots of several sizes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from solvency.commands.common import (
    EXIT_INPUT,
    EXIT_INVALID,
    announce_compilation,
    check_new_file,
    claim_dir,
    console,
    fail,
)
from stark.params import DEFAULT_PRESET, PRESETS

MAX_BENCH_USERS = 1 << 24  # above 65,536 the bench proves in batches, as `prove` does


def parse_sizes(text: str) -> list[int]:
    """--users: comma-separated user counts, each in [1, MAX_BENCH_USERS]; exit 2 otherwise."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        fail(EXIT_INPUT, "--users: give at least one size, e.g. --users 1024,4096")
    if not all(part.isascii() and part.isdigit() for part in parts):
        fail(EXIT_INPUT, f"--users: expected comma-separated whole numbers, got {text!r}")
    counts = [int(part) for part in parts]
    if min(counts) < 1 or max(counts) > MAX_BENCH_USERS:
        fail(EXIT_INPUT, f"--users: each size must be in [1, {MAX_BENCH_USERS:,}]")
    return counts


def default_folder() -> Path:
    """A new folder per run, outside any source tree: ~/solvency-bench/<UTC time>."""
    return Path.home() / "solvency-bench" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def prover_table(rows: list[dict], phases: tuple[str, ...], phase_key) -> Table:
    """Seconds by prover phase (summed over each size's proofs), one column per size, then the
    witness (outside prove()), prove() in all, the bound and prove()'s ratio to it."""
    table = Table(title="the prover: seconds in prove() by phase, and its bound")
    table.add_column("users")
    for r in rows:
        table.add_column(f"{r['users']:,}", justify="right")
    for name in phases:
        if any(r[phase_key(name)] for r in rows):
            table.add_row(f"  {name}", *(f"{r[phase_key(name)]:.2f}" for r in rows))
    table.add_row("prove() in all", *(f"{r['proofs_s']:.2f}" for r in rows))
    table.add_row("witness, outside prove()", *(f"{r['witness_s']:.2f}" for r in rows))
    table.add_row("bound: LDEs", *(f"{r['bound_lde_s']:.2f}" for r in rows))
    table.add_row("bound: hashing", *(f"{r['bound_hash_s']:.2f}" for r in rows))
    table.add_row("bound", *(f"{r['bound_s']:.2f}" for r in rows))
    table.add_row("prove() / bound", *(f"{r['prove_over_bound']:.2f} x" for r in rows))
    return table


@click.command("bench")
@click.option(
    "--users",
    "sizes",
    default="1024,4096,16384,65536",
    show_default=True,
    help="comma-separated user counts, one run each",
)
@click.option(
    "--assets",
    "num_assets",
    type=click.IntRange(1, 200),
    default=22,
    show_default=True,
    help="assets per user",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default=DEFAULT_PRESET,
    show_default=True,
    help="the proof parameters, as for `prove`",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="where the CSV table and the PNG plot go [default: a new ~/solvency-bench/<time>]",
)
@click.option("--force", is_flag=True, help="replace the CSV and PNG of an earlier run in DIR")
@click.option("--json", "as_json", is_flag=True, help="also print one JSON object per size")
def bench_cmd(
    sizes: str, num_assets: int, preset: str, out: Path | None, force: bool, as_json: bool
) -> None:
    """Run the whole job on generated snapshots of several sizes, each in its own process:
    prove (with the leaves and the private store; in batches of 65,536 above that), verify,
    check one user's inclusion file, export every user's file.

    Prints a table, saves DIR/solvency_PRESET_Nassets.csv and .png, and compares the largest
    size with the project's targets (at 22 assets and the default preset). A second table
    shows where the STARK prover spends its time: the seconds in prove() by phase, the witness
    built outside it, and the prover's bound (the LDEs and the hashing of the committed
    matrices alone, measured in the same process) with prove()'s ratio to it."""
    from solvency import bench

    counts = parse_sizes(sizes)
    folder = out or default_folder()
    for path in bench.result_paths(folder, preset, num_assets):
        check_new_file("--out", path, force, {})
    claim_dir("--out", folder)
    announce_compilation()
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
    console.print(prover_table(rows, bench.PHASES, bench.phase_key))
    csv_path, png_path = bench.save(rows, folder, preset, num_assets)
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
