"""The `solvency` command line: generate, prove, verify, bench, demo.

Exit codes: 0 success (a valid proof for verify); 1 an invalid proof; 2 unreadable or bad
input (one line naming the file, the line and the field); 3 a snapshot that does not satisfy
the statement (the offending users are named).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from circuits import generate as synthetic
from circuits.publish import coins, read_published, statement_json, write_atomically
from circuits.snapshot import InputError, load_assets, load_snapshot
from circuits.solvency import (
    MAX_TRACE_LEN,
    Insolvent,
    SolvencyAir,
    Statement,
    build_witness,
)
from stark.params import PRESETS
from stark.proof import VerificationError, deserialize
from stark.prover import prove
from stark.verifier import verify as verify_proof

EXIT_INVALID, EXIT_INPUT, EXIT_UNSATISFIED = 1, 2, 3
console = Console(stderr=True)


def fail(code: int, message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


class PhaseProgress:
    """One progress bar per phase (witness, then the prover's phases)."""

    def __init__(self, enabled: bool = True):
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self.current = None

    def __enter__(self) -> PhaseProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.finish()
        self.progress.__exit__(*exc)

    def phase(self, name: str) -> None:
        self.finish()
        self.current = self.progress.add_task(name, total=1)

    def finish(self) -> None:
        if self.current is not None:
            self.progress.update(self.current, completed=1)
            self.current = None


@dataclass
class ProveResult:
    statement: Statement
    proof: bytes
    users: int
    seconds: float


def prove_files(
    snapshot: Path, assets_path: Path, preset: str, seed: int | None, show_progress: bool = True
) -> tuple[ProveResult, list[Decimal]]:
    """Load, check and prove a snapshot. Exits with code 2 or 3 on bad or false input."""
    try:
        assets = load_assets(assets_path)
        market = assets.market(assets_path)
        with PhaseProgress(show_progress) as bars:
            bars.phase("load snapshot")
            snap = load_snapshot(snapshot, assets)
            if len(snap.ids) > MAX_TRACE_LEN:
                fail(
                    EXIT_INPUT,
                    f"{snapshot}: {len(snap.ids):,} users exceed one proof's "
                    f"capacity of {MAX_TRACE_LEN:,}; split the snapshot into batches",
                )
            bars.phase("witness")
            start = time.perf_counter()
            try:
                statement, trace = build_witness(market, snap.balances)
            except Insolvent as e:
                named = ", ".join(snap.ids[r] for r in e.rows[:5])
                more = f" and {len(e.rows) - 5} more" if len(e.rows) > 5 else ""
                fail(
                    EXIT_UNSATISFIED,
                    f"{snapshot}: {len(e.rows)} user(s) have a negative "
                    f"total value at the given prices: {named}{more}; nothing was written",
                )
            proof = prove(
                SolvencyAir(statement), trace, PRESETS[preset], seed=seed, on_phase=bars.phase
            ).to_bytes()
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    seconds = time.perf_counter() - start
    return ProveResult(statement, proof, len(snap.ids), seconds), [a.price for a in assets.assets]


def publish(result: ProveResult, prices: list[Decimal], preset: str, out: Path) -> dict:
    document = statement_json(result.statement, prices, PRESETS[preset], preset, result.proof)
    # the proof first: a statement never points at a proof that is not there
    write_atomically(out / "proof.bin", result.proof)
    write_atomically(out / "statement.json", (json.dumps(document, indent=2) + "\n").encode())
    return document


def summary(result: ProveResult, document: dict) -> str:
    sec = document["security"]
    return (
        f"{result.users:,} users ({result.statement.trace_len:,} padded), "
        f"{result.statement.num_assets} assets, proved in {result.seconds:.1f} s, "
        f"proof {len(result.proof):,} bytes, security {sec['conjectured_bits']} bits "
        f"conjectured / {sec['provable_bits']} bits provable ({document['preset']} preset)"
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Zero-knowledge STARK proofs of solvency."""


@main.command("generate")
@click.option("--users", type=click.IntRange(1), required=True)
@click.option("--assets", "num_assets", type=click.IntRange(1, 200), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def generate_cmd(users: int, num_assets: int, seed: int, out: Path) -> None:
    """Write a realistic synthetic snapshot.csv and assets.json to OUT."""
    assets_path, snapshot_path = synthetic.write(synthetic.generate(users, num_assets, seed), out)
    console.print(
        f"wrote {snapshot_path} ({users:,} users) and {assets_path} ({num_assets} assets)"
    )


@main.command("prove")
@click.argument("snapshot", type=click.Path(path_type=Path))
@click.option("--assets", "assets_path", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="fast", show_default=True)
@click.option("--seed", type=int, default=None, help="reproducible masks (tests and audits)")
def prove_cmd(snapshot: Path, assets_path: Path, out: Path, preset: str, seed: int | None) -> None:
    """Prove SNAPSHOT (CSV or JSON) against the assets file; write OUT/proof.bin and
    OUT/statement.json."""
    result, prices = prove_files(snapshot, assets_path, preset, seed)
    document = publish(result, prices, preset, out)
    console.print(summary(result, document))


def _reserves(path: Path | None, statement: Statement) -> dict[str, Decimal]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, None, None, "no such file") from None
    except json.JSONDecodeError as e:
        raise InputError(path, e.lineno, None, f"not valid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise InputError(path, 1, None, 'expected {"SYMBOL": "amount", ...}')
    out = {}
    for symbol, raw in data.items():
        if symbol not in statement.symbols:
            raise InputError(path, None, symbol, "not an asset of this statement")
        try:
            out[symbol] = Decimal(str(raw))
        except InvalidOperation:
            raise InputError(path, None, symbol, f"not a number: {raw!r}") from None
    return out


def totals_table(
    statement: Statement, reserve: dict[str, Decimal] | None = None
) -> tuple[Table, list[str]]:
    """The proved per-asset totals, with reserves and ratios when given; also the assets whose
    reserves fall below their liabilities."""
    table = Table(title=f"Liabilities proved ({statement.trace_len:,} users padded)")
    table.add_column("asset")
    table.add_column("total owed to users", justify="right")
    if reserve:
        table.add_column("reserves", justify="right")
        table.add_column("reserve ratio", justify="right")
    below = []
    for sym, dec, total in zip(
        statement.symbols, statement.decimals, statement.totals, strict=True
    ):
        row = [sym, coins(total, dec)]
        if reserve:
            held = reserve.get(sym)
            liabilities = Decimal(total).scaleb(-dec)
            if held is None:
                row += ["-", "-"]
            elif liabilities <= 0:
                row += [str(held), "n/a"]
            else:
                ratio = held / liabilities * 100
                if ratio < 100:
                    below.append(sym)
                flag = "" if ratio >= 100 else "  [bold red]BELOW 100%[/]"
                row += [str(held), f"{ratio:.1f}%{flag}"]
        table.add_row(*row)
    return table, below


@main.command("verify")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--reserves",
    type=click.Path(path_type=Path),
    default=None,
    help='JSON {"BTC": "142014", ...}: adds reserve ratios',
)
@click.option(
    "--min-security",
    type=float,
    default=100.0,
    show_default=True,
    help="refuse proofs with fewer conjectured bits",
)
def verify_cmd(directory: Path, reserves: Path | None, min_security: float) -> None:
    """Check DIRECTORY/proof.bin against DIRECTORY/statement.json."""
    try:
        statement, declared, proof, data = read_published(directory)
        reserve = _reserves(reserves, statement)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    if hashlib.sha256(proof).hexdigest() != data.get("proof_sha256"):
        fail(EXIT_INVALID, "invalid proof: its SHA-256 differs from the statement's")
    start = time.perf_counter()
    try:
        parsed = deserialize(proof)
        if parsed.params != declared:
            raise VerificationError("the proof's parameters differ from the statement's")
        verify_proof(SolvencyAir(statement), parsed, min_bits=min_security)
    except VerificationError as e:
        fail(EXIT_INVALID, f"invalid proof: {e.reason}")
    seconds = time.perf_counter() - start
    table, below = totals_table(statement, reserve)
    Console().print(table)
    console.print(
        f"valid proof ({seconds:.2f} s); "
        f"{data['security']['conjectured_bits']} bits conjectured, "
        f"{data['security']['provable_bits']} bits provable"
    )
    if below:
        console.print(f"[bold red]reserves below liabilities:[/] {', '.join(below)}")


@main.command("bench")
@click.option(
    "--users",
    "sizes",
    default="1024,4096,16384,65536",
    show_default=True,
    help="comma-separated user counts",
)
@click.option("--assets", "num_assets", type=click.IntRange(1, 200), default=22, show_default=True)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="fast", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object per size")
def bench_cmd(sizes: str, num_assets: int, preset: str, as_json: bool) -> None:
    """Prove and verify generated snapshots of several sizes; save CSV and a plot."""
    from circuits import bench

    try:
        counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        fail(EXIT_INPUT, f"--users: expected comma-separated integers, got {sizes!r}")
    if not counts or min(counts) < 1 or max(counts) > MAX_TRACE_LEN:
        fail(EXIT_INPUT, f"--users: each size must be in [1, {MAX_TRACE_LEN}]")
    rows = []
    table = Table(title=f"solvency bench: {num_assets} assets, {preset} preset")
    for column in ("users", "prove (s)", "verify (s)", "proof (KB)", "peak RSS (MB)"):
        table.add_column(column, justify="right")
    for users in counts:
        console.print(f"proving {users:,} users x {num_assets} assets ...")
        row = bench.measure_isolated(users, num_assets, preset)
        rows.append(row)
        if as_json:
            click.echo(bench.as_json_line(row))
        table.add_row(
            f"{users:,}",
            f"{row['prove_s']:.1f}",
            f"{row['verify_s']:.3f}",
            f"{row['proof_bytes'] / 1000:.0f}",
            f"{row['peak_rss_mb']:.0f}",
        )
    console.print(table)
    csv_path, png_path = bench.save(rows, preset, num_assets)
    console.print(f"saved {csv_path} and {png_path}")
    biggest = rows[-1]
    if biggest["users"] >= 65536 and num_assets == 22 and preset == "fast":
        for key, target in bench.TARGETS.items():
            verdict = "met" if biggest[key] <= target else "MISSED"
            console.print(f"target {key} <= {target:g}: {biggest[key]} ({verdict})")


@main.group("snapshot")
def snapshot_group() -> None:
    """Derive the snapshot from account positions, and explain it to a user."""


def _load_views(accounts_path: Path, prices_path: Path | None):
    from circuits import accounts as acc

    try:
        records, prices = acc.load_accounts(accounts_path)
        if prices_path is not None:
            prices = acc.load_prices(prices_path)
        acc.check_consistency(records, prices, prices_path or accounts_path)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    return records, prices, [acc.derive(r, prices) for r in records]


def _plain(amount: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros; empty for zero."""
    return "" if amount == 0 else f"{amount.normalize():f}"


@snapshot_group.command("build")
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(path_type=Path),
    default=None,
    help="mark prices (JSON {SYMBOL: price} or an assets file); default: the "
    "accounts file's mark_prices",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="the snapshot CSV that `solvency prove` takes",
)
@click.option(
    "--account-view",
    type=click.Path(path_type=Path),
    default=None,
    help="also write the account-view equity per asset (default: OUT with '.account-view.csv')",
)
def snapshot_build_cmd(
    accounts_path: Path, prices_path: Path | None, out: Path, account_view: Path | None
) -> None:
    """Write every user's per-asset snapshot equity (and account-view equity) as CSV."""
    from circuits.accounts import symbols_of

    records, prices, views = _load_views(accounts_path, prices_path)
    symbols = [s for s in prices if s in set(symbols_of(views))]
    for path, pick in (
        (out, "snapshot"),
        (account_view or out.with_suffix(".account-view.csv"), "account"),
    ):
        lines = [",".join(["id", *symbols])]
        for record, view in zip(records, views, strict=True):
            amounts = getattr(view, pick)
            lines.append(
                ",".join([record.id, *(_plain(amounts.get(s, Decimal(0))) for s in symbols)])
            )
        write_atomically(path, ("\n".join(lines) + "\n").encode())
        console.print(f"wrote {path} ({len(records)} users, {len(symbols)} assets, {pick} equity)")


@snapshot_group.command("explain")
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@click.option("--user", "user_id", required=True)
@click.option("--prices", "prices_path", type=click.Path(path_type=Path), default=None)
def snapshot_explain_cmd(accounts_path: Path, user_id: str, prices_path: Path | None) -> None:
    """Why a user's snapshot differs from their account view, asset by asset."""
    from circuits.accounts import COMPONENTS

    records, prices, views = _load_views(accounts_path, prices_path)
    matches = [v for r, v in zip(records, views, strict=True) if r.id == user_id]
    if not matches:
        fail(EXIT_INPUT, f"{accounts_path}: no user {user_id!r}")
    view = matches[0]
    assets = [a for a in prices if a in view.snapshot or a in view.account]
    used = [c for c in COMPONENTS if any(view.components.get(a, {}).get(c) for a in assets)]
    table = Table(title=f"{user_id}: account equity and snapshot equity")
    for column in (
        "asset",
        "account equity",
        "snapshot equity",
        "D-value",
        *used,
        "D-value in USD",
    ):
        table.add_column(column, justify="left" if column == "asset" else "right")
    total = Decimal(0)
    for a in assets:
        d = view.difference(a)
        total += d * prices[a]
        parts = view.components.get(a, {})
        table.add_row(
            a,
            _plain(view.account.get(a, Decimal(0))) or "0",
            _plain(view.snapshot.get(a, Decimal(0))) or "0",
            _plain(d) or "0",
            *[_plain(parts.get(c, Decimal(0))) or "0" for c in used],
            f"{d * prices[a]:,.4f}",
        )
    Console(width=200).print(table)
    acc_usd, snap_usd = view.value(view.account, prices), view.value(view.snapshot, prices)
    print(f"total value: account {acc_usd:,.4f} USD, snapshot {snap_usd:,.4f} USD")
    if total:
        print(f"the difference, {total:,.4f} USD, is the rounding of the quoted unrealised PnL")
    else:
        print("the two views hold the same value; only the split between assets differs")


@main.command("demo")
@click.option("--users", type=click.IntRange(1), default=4096, show_default=True)
@click.option("--assets", "num_assets", type=click.IntRange(1, 200), default=22, show_default=True)
def demo_cmd(users: int, num_assets: int) -> None:
    """Generate a snapshot, prove it, verify the proof, print the summary."""
    with tempfile.TemporaryDirectory(prefix="solvency-demo-") as tmp:
        out = Path(tmp)
        assets_path, snapshot_path = synthetic.write(synthetic.generate(users, num_assets, 1), out)
        console.print(f"generated {users:,} users x {num_assets} assets in {out}")
        result, prices = prove_files(snapshot_path, assets_path, "fast", None)
        document = publish(result, prices, "fast", out / "proof")
        console.print(summary(result, document))
        start = time.perf_counter()
        statement, _, proof, _ = read_published(out / "proof")
        verify_proof(SolvencyAir(statement), proof, min_bits=100)
        console.print(
            f"verified in {time.perf_counter() - start:.2f} s: the totals below are "
            f"exact sums of every user's balance and no user is below zero"
        )
        table, _ = totals_table(statement)
        Console().print(table)


if __name__ == "__main__":
    main()
