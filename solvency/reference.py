"""Published prices against prices the verifier trusts (`verify --reference-prices`).

A proof binds the prices the exchange chose; it cannot say that they are the market's. An
exchange that prices an illiquid token high, or a debt asset near zero, can make users it
invented look solvent and move liabilities between assets. So a verifier brings its own
prices, in the assets file's shape, and every published price that deviates from its
reference by more than a bound (default 5%) is flagged by name. The comparison is exact
(decimal arithmetic on the published price, which `verify` recomputed from the proved integer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

from solvency.files import InputError
from solvency.snapshot import load_assets

DEFAULT_MAX_DEVIATION = Decimal(5)


@dataclass(frozen=True)
class PriceCheck:
    """One published price against its reference: deviation = |published / reference - 1|,
    in percent (None when there is no reference, or when the reference is 0)."""

    symbol: str
    published: Decimal
    reference: Decimal | None
    deviation_percent: Decimal | None
    flagged: bool  # no reference, or a deviation above the bound


def load_reference_prices(path: Path, quote: str) -> dict[str, Decimal]:
    """The reference prices of an assets-shaped file, in the publication's quote currency
    (InputError if the file cannot be read, is malformed or quotes another currency)."""
    reference = load_assets(path)
    if reference.quote != quote:
        raise InputError(
            path, None, "quote", f"prices in {reference.quote}, the publication's are in {quote}"
        )
    return {a.symbol: a.price for a in reference.assets}


def check_prices(
    symbols: Sequence[str],
    published: Sequence[Decimal],
    reference: dict[str, Decimal],
    max_deviation: Decimal = DEFAULT_MAX_DEVIATION,
) -> list[PriceCheck]:
    """Each published price against the reference. Flagged: an asset without a reference
    price, a deviation above `max_deviation` percent, or any price other than 0 where the
    reference is 0."""
    out = []
    with localcontext() as exact:  # published prices have at most 200 characters: no rounding
        exact.prec = 1000
        for symbol, price in zip(symbols, published, strict=True):
            out.append(_check(symbol, price, reference.get(symbol), max_deviation))
    return out


def _check(symbol: str, price: Decimal, ref: Decimal | None, max_deviation: Decimal):
    if ref is None:
        return PriceCheck(symbol, price, None, None, True)
    if ref == 0:
        return PriceCheck(symbol, price, ref, None, price != 0)
    # flagged without a division: |p - r| * 100 > bound * r is exact at this precision
    flagged = abs(price - ref) * 100 > max_deviation * ref
    return PriceCheck(symbol, price, ref, abs(price - ref) / ref * 100, flagged)
