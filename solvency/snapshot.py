"""The snapshot model and its loaders: the assets file (symbols, decimals, prices) and the
users' balances (CSV or JSON), converted exactly to integers in base units.

Every problem with the input raises InputError naming the file, the line and the field.

Price scale (documented in docs/circuit.md): prices are given per whole coin in the quote
currency; the circuit needs one integer per asset, quote units per base unit times 10^scale.
The scale is the smallest one at which every price is an exact integer, so no price loses any
precision at all; a snapshot whose prices then need more than 90 bits is refused.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the readers import pandas and pyarrow when called: a verifier needs neither
    import pandas as pd

from circuits.solvency import (
    MAX_ASSETS,
    MAX_ISSUER_BYTES,
    MAX_PRICE_BITS,
    SYMBOL_PATTERN,
    Market,
    format_as_of,
)

AMOUNT_PATTERN = r"[+-]?(\d+(\.\d*)?|\.\d+)"
MAX_DECIMALS = 30
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class InputError(ValueError):
    """Bad input, located: `file:line: field: problem`."""

    def __init__(self, file: str | Path, line: int | None, field: str | None, problem: str):
        where = f"{file}" + (f":{line}" if line else "")
        what = f" {field}:" if field else ""
        super().__init__(f"{where}:{what} {problem}")


@dataclass(frozen=True)
class Asset:
    symbol: str
    decimals: int
    price: Decimal  # quote currency per whole coin


@dataclass(frozen=True)
class Assets:
    quote: str
    assets: tuple[Asset, ...]

    @property
    def symbols(self) -> list[str]:
        return [a.symbol for a in self.assets]

    def scale(self) -> int:
        """The smallest s with every price * 10^(s - decimals) an integer."""
        need = 0
        for a in self.assets:
            exponent = a.price.normalize().as_tuple().exponent
            need = max(need, a.decimals + max(0, -int(exponent)))
        return need

    def market(self, file: str | Path = "assets") -> Market:
        """The public description of the assets, with exact integer prices."""
        prices, scale = self.integer_prices(file)
        return Market(
            self.quote,
            scale,
            tuple(self.symbols),
            tuple(a.decimals for a in self.assets),
            tuple(prices),
        )

    def integer_prices(self, file: str | Path = "assets") -> tuple[list[int], int]:
        """(integer prices, scale): P_j = price_j * 10^(scale - decimals_j), all exact."""
        scale = self.scale()
        prices = []
        for a in self.assets:
            value = a.price.scaleb(scale - a.decimals)
            if value != value.to_integral_value():
                raise AssertionError("scale rule violated")  # unreachable by construction
            prices.append(int(value))
        if max(prices).bit_length() > MAX_PRICE_BITS:
            raise InputError(
                file,
                None,
                "price",
                f"the prices span too wide a range: at the "
                f"exact scale 10^{scale} the largest needs more than "
                f"{MAX_PRICE_BITS} bits; round the smallest prices",
            )
        return prices, scale


# -- the snapshot's identity -------------------------------------------------------------------
def parse_as_of(text: str) -> str:
    """An ISO 8601 date and time with a timezone (`2025-06-30T23:59:59Z`, `...+02:00`) as the
    canonical UTC string the statement holds. Raises ValueError (one line) otherwise: a time
    without a timezone is refused rather than guessed."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date and time (e.g. 2025-06-30T23:59:59Z)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no timezone: add Z for UTC or an offset such as +02:00")
    return format_as_of(moment)


def parse_issuer(text: str) -> str:
    """The issuer's name, trimmed; non-empty, printable, at most 256 bytes of UTF-8."""
    name = text.strip()
    if not name:
        raise ValueError("the issuer's name is empty")
    if any(unicodedata.category(c)[0] == "C" for c in name):
        raise ValueError("the issuer's name contains control characters")
    if len(name.encode()) > MAX_ISSUER_BYTES:
        raise ValueError(f"the issuer's name is longer than {MAX_ISSUER_BYTES} bytes")
    return name


# -- JSON with line numbers ---------------------------------------------------------------------
def _item_lines(text: str) -> list[int]:
    """The line on which each object of the first JSON array in `text` starts."""
    lines, depth, in_string, escape, line, array_depth = [], 0, False, False, 1, None
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if ch == "[" and array_depth is None:
                array_depth = depth
            elif ch == "{" and array_depth is not None and depth == array_depth + 1:
                lines.append(line)
        elif ch in "]}":
            depth -= 1
    return lines


def _read_json(path: Path):
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(path, None, None, f"cannot read: {e.strerror}") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_int=int), text
    except json.JSONDecodeError as e:
        raise InputError(path, e.lineno, None, f"not valid JSON: {e.msg}") from None


def _decimal(raw, path: Path, line: int | None, field: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise InputError(path, line, field, f"expected a decimal number, got {raw!r}")
    text = str(raw).strip()
    if not re.fullmatch(AMOUNT_PATTERN, text):
        raise InputError(path, line, field, f"not a decimal number: {raw!r}")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InputError(path, line, field, f"not a decimal number: {raw!r}") from None


def load_assets(path: str | Path) -> Assets:
    path = Path(path)
    data, text = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("assets"), list):
        raise InputError(path, 1, "assets", 'expected {"quote": ..., "assets": [...]}')
    quote = data.get("quote", "USD")
    if not isinstance(quote, str) or not SYMBOL_PATTERN.fullmatch(quote):
        raise InputError(
            path, 1, "quote", f"invalid quote currency {quote!r}: 1 to 32 ASCII letters or digits"
        )
    lines = _item_lines(text)
    assets, seen = [], set()
    for i, item in enumerate(data["assets"]):
        line = lines[i] if i < len(lines) else None
        if not isinstance(item, dict):
            raise InputError(path, line, f"assets[{i}]", "expected an object")
        symbol = item.get("symbol")
        if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol) or symbol == "id":
            raise InputError(path, line, "symbol", f"invalid asset symbol {symbol!r}")
        if symbol in seen:
            raise InputError(path, line, "symbol", f"duplicate asset symbol {symbol}")
        seen.add(symbol)
        decimals = item.get("decimals")
        if (
            isinstance(decimals, bool)
            or not isinstance(decimals, int)
            or not (0 <= decimals <= MAX_DECIMALS)
        ):
            raise InputError(
                path, line, f"{symbol}.decimals", f"must be an integer in [0, {MAX_DECIMALS}]"
            )
        if "price" not in item:
            raise InputError(path, line, f"{symbol}.price", "missing price")
        price = _decimal(item["price"], path, line, f"{symbol}.price")
        if price < 0:
            raise InputError(path, line, f"{symbol}.price", "a price cannot be negative")
        assets.append(Asset(symbol, decimals, price))
    if not assets:
        raise InputError(path, 1, "assets", "no assets")
    if len(assets) > MAX_ASSETS:
        raise InputError(path, 1, "assets", f"at most {MAX_ASSETS} assets are supported")
    return Assets(quote, tuple(assets))


# -- balances -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """User ids and balances (users, K) in base units, columns in the assets file's order."""

    ids: list[str]
    balances: np.ndarray


def load_snapshot(path: str | Path, assets: Assets) -> Snapshot:
    path = Path(path)
    if path.suffix.lower() == ".json":
        frame, first_line = _json_frame(path)
    else:
        frame, first_line = _csv_frame(path)
    return _convert(frame, first_line, path, assets)


def _csv_frame(path: Path) -> tuple[pd.DataFrame, list[int] | int]:
    import pandas as pd

    try:
        # Arrow-backed strings: the .str operations below then run in pyarrow's compiled kernels
        frame = pd.read_csv(path, dtype="string[pyarrow]", keep_default_na=False, engine="pyarrow")
    except FileNotFoundError:
        raise InputError(path, None, None, "no such file") from None
    except Exception as e:  # pyarrow's parse errors carry their own description
        raise InputError(
            path, None, None, f"not a readable CSV: {str(e).splitlines()[0]}"
        ) from None
    return frame, 2  # data row i is on line i + 2 (the header is line 1)


def _json_frame(path: Path) -> tuple[pd.DataFrame, list[int]]:
    import pandas as pd

    data, text = _read_json(path)
    if not isinstance(data, list):
        raise InputError(path, 1, None, 'expected a list of {"id": ..., "<SYMBOL>": ...}')
    lines = _item_lines(text)
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise InputError(
                path, lines[i] if i < len(lines) else None, f"[{i}]", "expected an object"
            )
    rows = [{k: ("" if v is None else str(v)) for k, v in item.items()} for item in data]
    return pd.DataFrame(rows, dtype="string[pyarrow]").fillna(""), lines


def _line(first_line: list[int] | int, row: int) -> int:
    return first_line + row if isinstance(first_line, int) else first_line[row]


def _convert(frame: pd.DataFrame, first_line, path: Path, assets: Assets) -> Snapshot:
    columns = list(frame.columns)
    if not columns or columns[0] != "id":
        raise InputError(path, 1, "id", "the first column must be 'id'")
    known = {a.symbol: a for a in assets.assets}
    for c in columns[1:]:
        if c not in known:
            raise InputError(path, 1, c, f"unknown asset symbol {c!r} (not in the assets file)")
    if len(set(columns)) != len(columns):
        raise InputError(path, 1, None, "a column appears twice")
    if len(frame) == 0:
        raise InputError(path, None, None, "no users")
    ids = frame["id"].str.strip()
    empty = np.flatnonzero((ids == "").to_numpy())
    if len(empty):
        raise InputError(path, _line(first_line, int(empty[0])), "id", "empty user id")
    duplicated = np.flatnonzero(ids.duplicated().to_numpy())
    if len(duplicated):
        row = int(duplicated[0])
        raise InputError(path, _line(first_line, row), "id", f"duplicate user id {ids[row]!r}")
    balances = np.zeros((len(frame), len(assets.assets)), dtype=np.int64)
    for j, asset in enumerate(assets.assets):
        if asset.symbol in frame.columns:
            balances[:, j] = _parse_amounts(frame[asset.symbol], asset, path, first_line)
    return Snapshot(ids.tolist(), balances)


_AMOUNT_PARTS = r"^(?P<sign>[+-]?)(?P<whole>\d*)(?:\.(?P<frac>\d*))?$"


def _parse_amounts(column: pd.Series, asset: Asset, path: Path, first_line) -> np.ndarray:
    """Decimal strings in whole coins -> int64 base units, exactly, in pyarrow's compiled
    string kernels (a million rows in about a second per column)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(column.array).cast(pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    stripped = pc.utf8_trim_whitespace(text)
    empty = pc.equal(stripped, "").to_numpy(zero_copy_only=False)
    parts = pc.extract_regex(stripped, _AMOUNT_PARTS)  # null where the text does not match
    fraction = pc.if_else(pc.is_null(parts.field("frac")), "", parts.field("frac"))
    digit_count = pc.add(pc.utf8_length(parts.field("whole")), pc.utf8_length(fraction))
    valid = pc.fill_null(pc.greater(digit_count, 0), False).to_numpy(zero_copy_only=False)
    bad = ~(valid | empty)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            path, _line(first_line, row), asset.symbol, f"not a number: {column.iloc[row]!r}"
        )
    negative = pc.fill_null(pc.equal(parts.field("sign"), "-"), False).to_numpy(
        zero_copy_only=False
    )
    precise = pc.utf8_length(pc.utf8_rtrim(fraction, "0")).to_numpy(zero_copy_only=False)
    too_precise = precise > asset.decimals
    if too_precise.any():
        row = int(np.flatnonzero(too_precise)[0])
        raise InputError(
            path,
            _line(first_line, row),
            asset.symbol,
            f"{column.iloc[row]!r} has more than {asset.decimals} decimals",
        )
    kept = pc.utf8_rpad(pc.utf8_slice_codeunits(fraction, 0, asset.decimals), asset.decimals, "0")
    digits = pc.utf8_ltrim(pc.binary_join_element_wise(parts.field("whole"), kept, ""), "0")
    digits = pc.if_else(pc.equal(digits, ""), "0", digits)
    length = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    out = np.zeros(len(column), dtype=np.int64)
    short = (length < 19) & ~empty  # below 10^18: always inside int64
    out[short] = pc.cast(pc.filter(digits, pa.array(short)), pa.int64()).to_numpy()
    for row in np.flatnonzero((length >= 19) & ~empty):  # near or past 2^63: check exactly
        value = int(digits[row].as_py()) * (-1 if negative[row] else 1)
        if not INT64_MIN <= value <= INT64_MAX:
            raise InputError(
                path,
                _line(first_line, int(row)),
                asset.symbol,
                f"{column.iloc[row]!r} is outside the supported range [-2^63, 2^63) base units",
            )
        out[row] = value
    out[short & negative] *= -1
    return out
