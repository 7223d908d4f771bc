"""`solvency snapshot build` and `explain`: derive the snapshot from account positions."""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext
from pathlib import Path

import click
from rich.table import Table

from solvency.commands.common import (
    EXIT_INPUT,
    PipeConsole,
    check_new_file,
    claim_file,
    console,
    fail,
)
from solvency.files import MAX_ASSETS_BYTES, write_atomically
from solvency.ids import canonical_id
from solvency.snapshot import Assets, InputError


@click.group("snapshot")
def snapshot_group() -> None:
    """Derive the snapshot from account positions, and explain it to a user."""


def _load_views(accounts_path: Path, prices_path: Path | None):
    from solvency import accounts as acc

    try:
        records, prices = acc.load_accounts(accounts_path)
        if prices_path is not None:
            prices = acc.load_prices(prices_path)
        acc.check_consistency(records, prices, prices_path or accounts_path)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    return records, prices, [acc.derive(r, prices) for r in records]


def _assets_file(prices_path: Path | None) -> Assets | None:
    """The assets file given as --prices, read as `prove` reads it (with its haircut tables);
    None for a prices file or none."""
    from solvency.snapshot import load_assets, read_json

    if prices_path is None:
        return None
    try:
        data, _ = read_json(prices_path, MAX_ASSETS_BYTES, "prices file")
        if isinstance(data, dict) and isinstance(data.get("assets"), list):
            return load_assets(prices_path)
    except InputError as e:
        fail(EXIT_INPUT, str(e))
    return None


def _csv_field(text: str) -> str:
    """A field of the snapshot CSV: quoted (a quote doubled) if it holds a comma or a quote."""
    return '"' + text.replace('"', '""') + '"' if "," in text or '"' in text else text


#: Exact decimal arithmetic for the amounts shown (sums, products, normalize()): Decimal's
#: default context keeps 28 digits, and rounds even in normalize().
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _plain(amount: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros; empty for zero."""
    return "" if amount == 0 else f"{amount.normalize(EXACT):f}"


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
    metavar="FILE",
    help="the snapshot CSV to write, the file `solvency prove` takes",
)
@click.option(
    "--account-view",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="also write the account-view equity per asset (default: OUT with '.account-view.csv')",
)
@click.option("--force", is_flag=True, help="replace OUT and the account view if they exist")
def snapshot_build_cmd(
    accounts_path: Path,
    prices_path: Path | None,
    out: Path,
    account_view: Path | None,
    force: bool,
) -> None:
    """Write every user's per-asset snapshot equity (the amounts `prove` proves) and their
    account-view equity, as CSV, from ACCOUNTS (a JSON file of account positions)."""
    from solvency.accounts import symbols_of

    account_view = account_view or out.with_suffix(".account-view.csv")
    inputs = {"ACCOUNTS": accounts_path, **({"--prices": prices_path} if prices_path else {})}
    check_new_file("--out", out, force, inputs)
    check_new_file("--account-view", account_view, force, {**inputs, "--out": out})
    claim_file("--out", out)
    claim_file("--account-view", account_view)
    records, prices, views = _load_views(accounts_path, prices_path)
    symbols = [s for s in prices if s in set(symbols_of(views))]
    for path, pick in ((out, "snapshot"), (account_view, "account")):
        lines = [",".join(["id", *symbols])]
        for record, view in zip(records, views, strict=True):
            amounts = getattr(view, pick)
            lines.append(
                ",".join(
                    [_csv_field(record.id), *(_plain(amounts.get(s, Decimal(0))) for s in symbols)]
                )
            )
        write_atomically(path, ("\n".join(lines) + "\n").encode())
        console.print(f"wrote {path} ({len(records)} users, {len(symbols)} assets, {pick} equity)")


@snapshot_group.command("explain")
@click.argument("accounts_path", metavar="ACCOUNTS", type=click.Path(path_type=Path))
@click.option("--user", "user_id", required=True, metavar="ID", help="the user to explain")
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(path_type=Path),
    default=None,
    help="mark prices, as for `snapshot build`; an assets file also gives its haircut tables",
)
def snapshot_explain_cmd(accounts_path: Path, user_id: str, prices_path: Path | None) -> None:
    """Why a user's snapshot differs from their account view, asset by asset, and whether
    their snapshot meets the collateral rule under the haircut tables (those of the assets
    file given as --prices)."""
    from solvency.accounts import COMPONENTS

    records, prices, views = _load_views(accounts_path, prices_path)
    user_id = canonical_id(user_id)  # as the accounts file's ids
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
    PipeConsole(width=200).print(table)
    acc_usd, snap_usd = view.value(view.account, prices), view.value(view.snapshot, prices)
    print(f"total value: account {acc_usd:,.4f} USD, snapshot {snap_usd:,.4f} USD")
    if total:
        print(f"the difference, {total:,.4f} USD, is the rounding of the quoted unrealised PnL")
    else:
        print("the two views hold the same value; only the split between assets differs")
    _explain_rule(user_id, view.snapshot, assets, prices, _assets_file(prices_path))


def _exact(amount: Decimal) -> str:
    """An exact decimal with thousands separators, without exponent or trailing zeros."""
    return f"{amount.normalize(EXACT):,f}" if amount else "0"


def _table_text(table) -> str:
    """A haircut table in one line: `100% to 10, 90% to 100, then 50%`."""
    if table is None:
        return "none: 100%"
    parts = [f"{t.percent}% to {t.up_to:,}" for t in table[:-1]]
    last = f"{table[-1].percent}%"
    return ", ".join([*parts, f"then {last}"]) if parts else f"{last} of all"


def _explain_rule(
    user_id: str,
    snapshot: dict[str, Decimal],
    symbols: list[str],
    prices: dict[str, Decimal],
    assets_file: Assets | None,
) -> None:
    """The collateral rule for one user's snapshot equity, exactly: per asset the equity, the
    debt, what the equity counts for after the asset's haircut table, and their values; then
    sum_j P_j debt_j <= sum_j P_j haircut_j(equity_j) or not."""
    from solvency.snapshot import haircut_coins

    known = {a.symbol: a for a in assets_file.assets} if assets_file else {}
    quote = assets_file.quote if assets_file else "USD"
    table = Table(title=f"{user_id}: the collateral rule on the snapshot equity")
    for column in (
        "asset",
        "equity",
        "debt",
        "haircut table",
        "equity counts for",
        f"collateral value in {quote}",
        f"debt value in {quote}",
    ):
        table.add_column(
            column, justify="left" if column in ("asset", "haircut table") else "right"
        )
    collateral = debt = Decimal(0)
    problems = []
    with localcontext(EXACT):  # every sum and product exact
        for a in symbols:
            amount = snapshot.get(a, Decimal(0))
            equity, owed = max(amount, Decimal(0)), max(-amount, Decimal(0))
            asset = known.get(a)
            haircut = asset.haircut if asset else None
            counts: Decimal | None = equity
            if haircut is not None:
                try:
                    counts = haircut_coins(haircut, asset.decimals, equity)
                except ValueError:
                    counts = None
                    problems.append(
                        f"{a}'s snapshot equity {_plain(equity)} is not a whole number of its "
                        f"base units (10^-{asset.decimals}) below 2^63; `prove` would refuse it"
                    )
            value = None if counts is None else counts * prices[a]
            collateral += value or 0
            debt += owed * prices[a]
            table.add_row(
                a,
                _plain(equity) or "0",
                _plain(owed) or "0",
                _table_text(haircut),
                "?" if counts is None else _plain(counts) or "0",
                "?" if value is None else _exact(value),
                _exact(owed * prices[a]),
            )
        spare = collateral - debt
    PipeConsole(width=200).print(table)
    if assets_file is None or not any(a.haircut for a in assets_file.assets):
        where = "the assets file has none" if assets_file else "give the assets file as --prices"
        print(f"no haircut tables ({where}): every asset counts at 100%")
    print(f"collateral after haircuts: {_exact(collateral)} {quote}; debts: {_exact(debt)} {quote}")
    if problems:
        print("the collateral rule cannot be checked: " + "; ".join(problems))
    elif spare >= 0:
        print(
            f"meets the collateral rule: the debts are worth no more than the collateral after "
            f"haircuts ({_exact(spare)} {quote} to spare)"
        )
    else:
        print(
            f"does NOT meet the collateral rule: the debts exceed the collateral after haircuts "
            f"by {_exact(-spare)} {quote}; `prove` refuses such a snapshot"
        )
