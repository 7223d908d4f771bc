"""`solvency generate`: a realistic synthetic snapshot and assets file."""

from __future__ import annotations

from pathlib import Path

import click

from solvency.commands.common import EXIT_INPUT, check_new_file, claim_dir, console, fail

FILES = ("snapshot.csv", "assets.json")


@click.command("generate")
@click.option(
    "--users", type=click.IntRange(1, 1 << 24), required=True, help="how many users (rows)"
)
@click.option(
    "--assets",
    "num_assets",
    type=click.IntRange(1, 200),
    required=True,
    help="how many assets (columns); real symbols first, then synthetic ones",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="the synthetic data's seed (the same seed gives the same files)",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    metavar="DIR",
    help="a directory (created if needed) for snapshot.csv and assets.json",
)
@click.option(
    "--haircuts/--no-haircuts",
    default=True,
    show_default=True,
    help="give the assets collateral haircut tables (majors and stablecoins high, small caps "
    "low, an illiquid tail at 0%); --no-haircuts: none (every asset counts at 100%)",
)
@click.option("--force", is_flag=True, help="replace snapshot.csv and assets.json if in DIR")
def generate_cmd(
    users: int, num_assets: int, seed: int, out: Path, haircuts: bool, force: bool
) -> None:
    """Write a realistic synthetic DIR/snapshot.csv and DIR/assets.json: heavy-tailed
    balances, haircut tables, about 10% of users with a loan (a negative balance), everyone
    meeting the collateral rule under the tables (so solvent)."""
    if out.exists() and not out.is_dir():
        fail(EXIT_INPUT, f"--out {out}: not a directory (generate writes {' and '.join(FILES)})")
    for name in FILES:
        check_new_file("--out", out / name, force, {})
    claim_dir("--out", out)
    from solvency import generate as synthetic
    from solvency.bench import market_of
    from solvency.commands.prove import largest_batch

    try:
        generated = synthetic.generate(users, num_assets, seed, haircuts)
        assets_path, snapshot_path = synthetic.write(generated, out)
    except ValueError as e:  # its messages name the option
        fail(EXIT_INPUT, str(e))
    tabled = sum("haircut" in a for a in generated.assets)
    tables = f"{tabled} with a haircut table" if tabled else "no haircut tables"
    console.print(
        f"wrote {snapshot_path} ({users:,} users) and {assets_path} ({num_assets} assets, {tables})"
    )
    most = largest_batch(market_of(generated.assets))
    if users > most:
        console.print(
            f"note: at {num_assets} assets one proof holds at most {most:,} users: "
            f"`solvency prove` proves this snapshot in batches (--batch-size {most:,} or less)"
        )
