"""Collateral haircut tiers (issue 17): how much of a user's equity in one asset counts as
collateral for their debts. docs/circuit.md, "Haircut tiers", has the rule and its bounds.

A table is 1 to 8 tiers, filled in order. Tier t holds the coins from its lower boundary
`beta_t` (0 for the first) up to its `up_to` (whole coins; the last tier is open) and counts
them at `percent` (a whole percent, 0..100, non-increasing down the table). With
`H(x) = 100 * haircut(x)` for an equity of x base units, everything is an exact integer:

    H(x) = 100 x - loss(x),   loss(x) = (100 - rho_tau) (x - beta_tau) + Lambda_tau

where tau is the tier x ends in and `Lambda_t = sum_(t' < t) (100 - rho_t') W_t'` is the loss
on the full tiers below it (W_t = beta_(t+1) - beta_t, the tier's width in base units).
Boundaries are in base units of the asset, not in value: the price is public and fixed, so the
two say the same, and a base-unit boundary is compared with the equity's own 9-bit limbs (7 of
them), where a value boundary would need the product price * equity as limbs (17).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_TIERS = 8
BALANCE_LIMIT = (1 << 63) - 1  # the largest equity of one user in one asset, in base units


@dataclass(frozen=True)
class Tier:
    """One tier: coins up to `up_to` whole coins (None: the last, open tier) count at
    `percent` percent."""

    up_to: int | None
    percent: int


#: A table: its tiers in order. An asset without a table counts in full (100%).
Table = tuple[Tier, ...]


class TableError(ValueError):
    """A table outside the limits: `tier` (0-based, None for the table as a whole) and `field`
    ("percent", "up_to" or None) say where, `problem` says what, and the message says both."""

    def __init__(self, what: str, problem: str, tier: int | None = None, field: str | None = None):
        where = what if tier is None else f"{what}, tier {tier + 1}"
        super().__init__(f"{where}: {problem}")
        self.problem, self.tier, self.field = problem, tier, field


def check_table(table: Table, decimals: int, what: str = "the haircut table") -> None:
    """TableError (naming the tier and field) unless the table is 1 to 8 tiers, boundaries
    positive whole coins strictly increasing with `boundary * 10^decimals < 2^63`, only the
    last tier open, percents whole in 0..100 and non-increasing, and not every tier at 100%
    (that is no table, which has one encoding). These limits are what the circuit's bound
    arguments assume."""
    if not isinstance(table, tuple) or not 1 <= len(table) <= MAX_TIERS:
        raise TableError(what, f"must have 1 to {MAX_TIERS} tiers")
    previous_up_to, previous_percent = 0, 100
    for t, tier in enumerate(table):
        if not isinstance(tier, Tier):
            raise TableError(what, "not a tier", t)
        percent, up_to, last = tier.percent, tier.up_to, t == len(table) - 1
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise TableError(what, "the percent must be a whole number from 0 to 100", t, "percent")
        if percent > previous_percent:
            raise TableError(
                what,
                f"{percent}% is more than the tier before ({previous_percent}%); "
                "percents must not increase down the table",
                t,
                "percent",
            )
        if last != (up_to is None):
            problem = "the last tier is open (no up_to)" if last else "needs an up_to"
            raise TableError(what, problem, t, "up_to")
        if not last:
            if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to <= previous_up_to:
                problem = "up_to must be a whole number of coins above the tier before's"
                raise TableError(what, problem, t, "up_to")
            if up_to * 10**decimals > BALANCE_LIMIT:
                raise TableError(what, f"up_to {up_to} is at least 2^63 base units", t, "up_to")
            previous_up_to = up_to
        previous_percent = percent
    if all(tier.percent == 100 for tier in table):
        raise TableError(what, "every tier at 100% is no table; leave the table out")


def table_json(table: Table | None) -> list[dict] | None:
    """A table as the assets file and statement.json write it: `up_to` a decimal string of
    whole coins, the last tier without one; None (no table) as null."""
    if table is None:
        return None
    return [
        {"percent": t.percent} if t.up_to is None else {"up_to": str(t.up_to), "percent": t.percent}
        for t in table
    ]


def table_of_json(tiers: list[dict]) -> Table:
    """The inverse of `table_json` for a document already checked (the readers check theirs
    with their own messages); `check_table` still applies wherever the table is used."""
    return tuple(Tier(None if "up_to" not in t else int(t["up_to"]), t["percent"]) for t in tiers)


@dataclass(frozen=True)
class Tiers:
    """A checked table in base units: `lower[t]` = beta_t, `width[t]` = W_t (the last tier's
    is 2^63 - 1 - beta_(m-1), so every tier has one), `ratio[t]` = rho_t, and `loss_below[t]`
    = Lambda_t (module docstring)."""

    lower: tuple[int, ...]
    width: tuple[int, ...]
    ratio: tuple[int, ...]
    loss_below: tuple[int, ...]

    @classmethod
    def of(cls, table: Table, decimals: int) -> Tiers:
        check_table(table, decimals)
        unit = 10**decimals
        lower = (0, *(tier.up_to * unit for tier in table[:-1]))
        width = tuple(b - a for a, b in zip(lower, (*lower[1:], BALANCE_LIMIT), strict=True))
        ratio = tuple(tier.percent for tier in table)
        loss_below, loss = [], 0
        for w, rho in zip(width, ratio, strict=True):
            loss_below.append(loss)
            loss += (100 - rho) * w
        return cls(lower, width, ratio, tuple(loss_below))

    @property
    def count(self) -> int:
        return len(self.lower)

    def tier_of(self, equity: np.ndarray) -> np.ndarray:
        """The tier each equity (int64 array, in [0, 2^63)) ends in: the last t with
        beta_t <= x (a boundary itself goes to the tier above; both give the same value)."""
        return np.searchsorted(np.asarray(self.lower[1:], dtype=np.int64), equity, side="right")

    def loss(self, equity: int) -> int:
        """100 x - H(x) for one equity x in base units (exact)."""
        t = int(self.tier_of(np.asarray([equity], dtype=np.int64))[0])
        return (100 - self.ratio[t]) * (equity - self.lower[t]) + self.loss_below[t]

    def scaled_haircut(self, equity: int) -> int:
        """H(x) = 100 * haircut(x): the collateral the equity x counts for, times 100."""
        return 100 * equity - self.loss(equity)
