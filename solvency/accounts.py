"""From account positions to the proof-of-reserves snapshot (docs/snapshot.md).

An exchange shows a user their *account equity* per asset: balances, collateral and unrealised
PnL. The snapshot that gets proved holds their *snapshot equity* per asset instead: every asset
and liability of their margin positions and loans in full. The per-asset amounts differ, while
the total value at the mark prices is the same. Both views are derived here from one account
record, in exact decimals, with the difference per asset (the "D-value") broken into its
components.

Per asset a (all amounts in units of a):

    account  = funding + cross + derivatives isolated margin
               + sum(isolated-auto margin) + sum(cross and isolated-auto margin UPL)
               + sum(quick-margin assets - liabilities)
               + futures UPL + perpetual UPL + option value
               + sum(loan collateral equity)
    snapshot = funding + cross + derivatives isolated margin
               + sum(every margin position's assets - liabilities)
               + futures UPL + perpetual UPL + option value
               + sum(loan collateral - borrowed - accrued interest)

A loan's collateral equity, in the collateral asset, is collateral - borrowed * P_b / P_c -
accrued interest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path

from circuits.solvency import SYMBOL_PATTERN
from solvency.files import MAX_ASSETS_BYTES, MAX_INPUT_BYTES
from solvency.ids import canonical_id, id_problem
from solvency.snapshot import (
    PLAIN_AMOUNT,
    InputError,
    amount_problem,
    item_lines,
    read_json,
)

MODES = ("cross", "isolated_auto", "isolated_quick")
COMPONENTS = (
    "isolated margin (margin trading)",
    "margin position assets",
    "margin position liabilities",
    "margin UPL",
    "loan collateral",
    "loan borrowed",
    "loan accrued interest",
    "loan collateral equity",
)
PRECISION = 60  # decimal digits for the one division (a loan's value in collateral units)

Amounts = dict[str, Decimal]


@dataclass(frozen=True)
class MarginPosition:
    mode: str
    assets: Amounts
    liabilities: Amounts
    upl: Amounts = field(default_factory=dict)  # quoted unrealised PnL (cross, isolated_auto)
    margin: Amounts = field(default_factory=dict)  # isolated margin (isolated modes)


@dataclass(frozen=True)
class Loan:
    collateral: tuple[str, Decimal]
    borrowed: tuple[str, Decimal]
    interest: Decimal = Decimal(0)  # accrued, owed in the collateral asset


@dataclass(frozen=True)
class Account:
    id: str
    funding: Amounts = field(default_factory=dict)
    cross: Amounts = field(default_factory=dict)
    derivatives_isolated_margin: Amounts = field(default_factory=dict)
    positions: tuple[MarginPosition, ...] = ()
    futures_upl: Amounts = field(default_factory=dict)
    perpetual_upl: Amounts = field(default_factory=dict)
    options_value: Amounts = field(default_factory=dict)
    loans: tuple[Loan, ...] = ()
    line: int | None = None  # where the record starts in its file, for error messages

    @property
    def same_in_both_views(self) -> tuple[Amounts, ...]:
        """The amounts that count identically in the account view and the snapshot."""
        return (
            self.funding,
            self.cross,
            self.derivatives_isolated_margin,
            self.futures_upl,
            self.perpetual_upl,
            self.options_value,
        )


@dataclass
class Views:
    """Both views of one account, and the D-value's components per asset."""

    account: Amounts
    snapshot: Amounts
    components: dict[str, Amounts]  # asset -> component -> signed contribution to D

    def difference(self, asset: str) -> Decimal:
        return self.snapshot.get(asset, Decimal(0)) - self.account.get(asset, Decimal(0))

    def value(self, amounts: Amounts, prices: Amounts) -> Decimal:
        return _value(amounts, prices)


def _add(target: dict, source: Amounts, sign: int = 1) -> None:
    for asset, amount in source.items():
        target[asset] = target.get(asset, Decimal(0)) + sign * amount


def derive(account: Account, prices: Amounts) -> Views:
    """Account and snapshot equity per asset, with the D-value's components."""
    acc: dict[str, Decimal] = defaultdict(Decimal)
    snap: dict[str, Decimal] = defaultdict(Decimal)
    parts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for both in account.same_in_both_views:
        _add(acc, both)
        _add(snap, both)
    for pos in account.positions:
        _add(snap, pos.assets)
        _add(snap, pos.liabilities, -1)
        if pos.mode == "isolated_quick":  # identical in both views
            _add(acc, pos.assets)
            _add(acc, pos.liabilities, -1)
            continue
        _add(acc, pos.upl)
        for a, v in pos.assets.items():
            parts[a]["margin position assets"] += v
        for a, v in pos.liabilities.items():
            parts[a]["margin position liabilities"] -= v
        for a, v in pos.upl.items():
            parts[a]["margin UPL"] -= v
        if pos.mode == "isolated_auto":  # the margin sits inside the position's assets
            _add(acc, pos.margin)
            for a, v in pos.margin.items():
                parts[a]["isolated margin (margin trading)"] -= v
    for loan in account.loans:
        (c_asset, collateral), (b_asset, borrowed) = loan.collateral, loan.borrowed
        with localcontext() as ctx:
            ctx.prec = PRECISION
            owed = borrowed * prices[b_asset] / prices[c_asset]
        equity = collateral - owed - loan.interest
        acc[c_asset] += equity
        snap[c_asset] += collateral - loan.interest
        snap[b_asset] -= borrowed
        parts[c_asset]["loan collateral"] += collateral
        parts[c_asset]["loan accrued interest"] -= loan.interest
        parts[c_asset]["loan collateral equity"] -= equity
        parts[b_asset]["loan borrowed"] -= borrowed
    return Views(dict(acc), dict(snap), {a: dict(c) for a, c in parts.items()})


# -- loading ------------------------------------------------------------------------------------
def exact_amount(raw) -> Decimal:
    """A decimal string or JSON number (read exactly) as a Decimal; ValueError saying why
    otherwise (exponent notation in a string, thousands separators, NaN, ...)."""
    if isinstance(raw, Decimal) and raw.is_finite() and abs(raw.as_tuple().exponent) <= 100:
        return raw
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError(f"expected a decimal number, got {raw!r}")
    if not PLAIN_AMOUNT.fullmatch(str(raw).strip()):
        raise ValueError(amount_problem(str(raw), "a decimal number"))
    return Decimal(str(raw).strip())


class _Reader:
    """Validates one user's record, naming the file, the line, the user and the field."""

    def __init__(self, path: Path, line: int | None, user: str):
        self.path, self.line, self.user = path, line, user

    def fail(self, field_name: str, problem: str) -> InputError:
        return InputError(self.path, self.line, f"user {self.user!r} {field_name}", problem)

    def amount(self, raw, field_name: str) -> Decimal:
        try:
            return exact_amount(raw)
        except ValueError as e:
            raise self.fail(field_name, str(e)) from None

    def amounts(self, raw, field_name: str, non_negative: bool = False) -> Amounts:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(field_name, 'expected {"SYMBOL": "amount", ...}')
        out = {}
        for symbol, value in raw.items():
            if not SYMBOL_PATTERN.fullmatch(str(symbol)):
                raise self.fail(field_name, f"invalid asset symbol {symbol!r}")
            out[symbol] = self.amount(value, f"{field_name}.{symbol}")
            if non_negative and out[symbol] < 0:
                raise self.fail(f"{field_name}.{symbol}", "cannot be negative")
        return out

    def single(self, raw, field_name: str) -> tuple[str, Decimal]:
        amounts = self.amounts(raw, field_name, non_negative=True)
        if len(amounts) != 1:
            raise self.fail(field_name, "expected exactly one asset")
        return next(iter(amounts.items()))

    def position(self, raw, index: int) -> MarginPosition:
        name = f"margin[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(name, "expected an object")
        mode = raw.get("mode")
        if mode not in MODES:
            raise self.fail(f"{name}.mode", f"must be one of {', '.join(MODES)}")
        pos = MarginPosition(
            mode=mode,
            assets=self.amounts(raw.get("assets"), f"{name}.assets", non_negative=True),
            liabilities=self.amounts(
                raw.get("liabilities"), f"{name}.liabilities", non_negative=True
            ),
            upl=self.amounts(raw.get("upl"), f"{name}.upl"),
            margin=self.amounts(
                raw.get("margin"), f"{name}.margin", non_negative=mode == "isolated_auto"
            ),
        )
        if mode == "cross" and pos.margin:
            raise self.fail(f"{name}.margin", "a cross position has no isolated margin")
        if mode == "isolated_quick":
            if pos.upl:
                raise self.fail(f"{name}.upl", "quick-margin equity excludes the UPL")
            equity = dict(pos.assets)
            _add(equity, pos.liabilities, -1)
            for asset in set(pos.margin) | set(equity):
                if pos.margin.get(asset, Decimal(0)) != equity.get(asset, Decimal(0)):
                    raise self.fail(
                        f"{name}.margin",
                        f"quick-margin equity in {asset} must be "
                        f"assets minus liabilities ({equity.get(asset, 0)}), "
                        f"not {pos.margin.get(asset, 0)}",
                    )
        return pos

    def loan(self, raw, index: int) -> Loan:
        name = f"loans[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(name, "expected an object")
        interest = self.amount(raw.get("interest", "0"), f"{name}.interest")
        if interest < 0:
            raise self.fail(f"{name}.interest", "cannot be negative")
        return Loan(
            self.single(raw.get("collateral"), f"{name}.collateral"),
            self.single(raw.get("borrowed"), f"{name}.borrowed"),
            interest,
        )


FIELDS = {
    "id",
    "funding",
    "cross",
    "derivatives_isolated_margin",
    "margin",
    "futures_upl",
    "perpetual_upl",
    "options_value",
    "loans",
}


def load_accounts(path: str | Path) -> tuple[list[Account], Amounts]:
    """Accounts and the mark prices embedded in the file (possibly empty)."""
    path = Path(path)
    data, text = read_json(path, MAX_INPUT_BYTES, "accounts file")
    if not isinstance(data, dict) or not isinstance(data.get("users"), list):
        raise InputError(path, 1, "users", 'expected {"mark_prices": {...}, "users": [...]}')
    lines = item_lines(text[text.index('"users"') :])
    offset = text[: text.index('"users"')].count("\n")
    accounts, seen = [], set()
    for i, raw in enumerate(data["users"]):
        line = lines[i] + offset if i < len(lines) else None
        user = _user_id(raw, path, line, i)
        if user in seen:
            raise InputError(path, line, f"users[{i}].id", f"duplicate user id {user!r}")
        seen.add(user)
        r = _Reader(path, line, user)
        unknown = set(raw) - FIELDS
        if unknown:
            raise r.fail(sorted(unknown)[0], "unknown field")
        positions = raw.get("margin") or []
        loans = raw.get("loans") or []
        if not isinstance(positions, list) or not isinstance(loans, list):
            raise r.fail("margin/loans", "expected lists")
        accounts.append(
            Account(
                id=user,
                funding=r.amounts(raw.get("funding"), "funding"),
                cross=r.amounts(raw.get("cross"), "cross"),
                derivatives_isolated_margin=r.amounts(
                    raw.get("derivatives_isolated_margin"), "derivatives_isolated_margin", True
                ),
                positions=tuple(r.position(p, k) for k, p in enumerate(positions)),
                futures_upl=r.amounts(raw.get("futures_upl"), "futures_upl"),
                perpetual_upl=r.amounts(raw.get("perpetual_upl"), "perpetual_upl"),
                options_value=r.amounts(raw.get("options_value"), "options_value"),
                loans=tuple(r.loan(x, k) for k, x in enumerate(loans)),
                line=line,
            )
        )
    prices = _prices(data.get("mark_prices", {}), path)
    return accounts, prices


def _user_id(raw, path: Path, line: int | None, index: int) -> str:
    """users[index].id in its canonical form (`canonical_id`, as in a snapshot); InputError if
    it is missing, empty or holds a character an id may not (`id_problem`)."""
    user = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(user, str) or not user.strip():
        raise InputError(path, line, f"users[{index}].id", "missing or empty user id")
    user = canonical_id(user)
    problem = id_problem(user)
    if problem is not None:
        raise InputError(path, line, f"users[{index}].id", problem)
    return user


def _prices(raw, path: Path) -> Amounts:
    if isinstance(raw, dict) and isinstance(raw.get("assets"), list):  # an assets file
        raw = {a.get("symbol"): a.get("price") for a in raw["assets"] if isinstance(a, dict)}
    if not isinstance(raw, dict):
        raise InputError(path, None, "mark_prices", 'expected {"SYMBOL": "price", ...}')
    out = {}
    for symbol, value in raw.items():
        try:
            out[str(symbol)] = exact_amount(value)
        except ValueError as e:
            raise InputError(path, None, f"mark_prices.{symbol}", str(e)) from None
        if out[str(symbol)] <= 0:
            raise InputError(path, None, f"mark_prices.{symbol}", "must be positive")
    return out


def load_prices(path: str | Path) -> Amounts:
    """Mark prices from {"SYMBOL": "price"} or from an assets file."""
    path = Path(path)
    data, _ = read_json(path, MAX_ASSETS_BYTES, "prices file")
    return _prices(data, path)


def check_consistency(accounts: list[Account], prices: Amounts, path: Path) -> None:
    """Refuse records that contradict themselves at the mark prices.

    Every asset needs a mark price. A cross or isolated-auto position's quoted UPL must match
    its assets minus liabilities (minus the isolated margin) at the mark prices, within one
    unit in the last quoted digit of the UPL (exchanges quote it rounded).
    """
    for account in accounts:
        views = derive_assets(account)
        for asset in views:
            if asset not in prices:
                raise InputError(
                    path, account.line, f"user {account.id!r}", f"no mark price for {asset}"
                )
        for k, pos in enumerate(account.positions):
            if pos.mode == "isolated_quick":
                continue
            implied = (
                _value(pos.assets, prices)
                - _value(pos.liabilities, prices)
                - _value(pos.margin, prices)
            )
            quoted = _value(pos.upl, prices)
            slack = sum(
                (
                    Decimal(1).scaleb(min(0, v.as_tuple().exponent)) * prices[a]
                    for a, v in pos.upl.items()
                ),
                Decimal(0),
            )
            if abs(quoted - implied) > slack:
                raise InputError(
                    path,
                    account.line,
                    f"user {account.id!r} margin[{k}].upl",
                    f"UPL worth {quoted:f} does not match the position's "
                    f"{implied:f} at the mark prices",
                )


def derive_assets(account: Account) -> set[str]:
    """Every asset an account record mentions."""
    names: set[str] = set()
    for amounts in account.same_in_both_views:
        names |= set(amounts)
    for pos in account.positions:
        names |= set(pos.assets) | set(pos.liabilities) | set(pos.upl) | set(pos.margin)
    for loan in account.loans:
        names |= {loan.collateral[0], loan.borrowed[0]}
    return names


def _value(amounts: Amounts, prices: Amounts) -> Decimal:
    return sum((v * prices[a] for a, v in amounts.items()), Decimal(0))


def symbols_of(views: list[Views]) -> list[str]:
    """Every asset that appears, in first-seen order."""
    seen: dict[str, None] = {}
    for v in views:
        for amounts in (v.snapshot, v.account):
            for a in amounts:
                seen.setdefault(a, None)
    return list(seen)
