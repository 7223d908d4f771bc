"""The snapshot model and its loaders: the assets file (symbols, decimals, prices, haircut
tables) and the users' balances (CSV or JSON), converted exactly to integers in base units.

Every problem with the input raises InputError naming the file, the line and the field.

Price scale (documented in docs/circuit.md): prices are given per whole coin in the quote
currency; the circuit needs one integer per asset, quote units per base unit times 10^scale.
The scale is the smallest one at which every price is an exact integer, so no price loses any
precision at all; a snapshot whose prices then need more than 90 bits is refused.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from circuits.haircut import Table, TableError, Tier, Tiers, check_table
from circuits.solvency import (
    MAX_ASSETS,
    MAX_ISSUER_BYTES,
    MAX_PRICE_BITS,
    SYMBOL_PATTERN,
    Market,
    format_as_of,
)
from solvency.files import (
    BOM,
    MAX_ASSETS_BYTES,
    MAX_INPUT_BYTES,
    InputError,
    decode_utf8,
    read_regular,
)
from solvency.ids import canonical_id, id_problem

#: The largest price scale: price digits plus decimals (the statement's price strings, which
#: `verify` bounds at 200 characters, then stay well within that).
MAX_PRICE_SCALE = 150
AMOUNT_PATTERN = r"[+-]?(\d+(\.\d*)?|\.\d+)"
PLAIN_AMOUNT = re.compile(AMOUNT_PATTERN, re.ASCII)  # ASCII digits only, as in the CSV reader
MAX_DECIMALS = 30
MAX_EXPONENT = 100  # a JSON number such as 1e999999999 is refused, not expanded
MAX_RESERVES_BYTES = 1 << 20
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass(frozen=True)
class Asset:
    symbol: str
    decimals: int
    price: Decimal  # quote currency per whole coin
    haircut: Table | None = None  # its collateral haircut tiers; None: it counts at 100%


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

    @property
    def haircuts(self) -> tuple[Table | None, ...]:
        """One haircut table or None (100%) per asset; () when no asset has a table, as
        `Market.haircuts` takes them."""
        tables = tuple(a.haircut for a in self.assets)
        return tables if any(t is not None for t in tables) else ()

    def market(self, file: str | Path = "assets") -> Market:
        """The public description of the assets, with exact integer prices and the haircut
        tables."""
        prices, scale = self.integer_prices(file)
        return Market(
            self.quote,
            scale,
            tuple(self.symbols),
            tuple(a.decimals for a in self.assets),
            tuple(prices),
            self.haircuts,
        )

    def integer_prices(self, file: str | Path = "assets") -> tuple[list[int], int]:
        """(integer prices, scale): P_j = price_j * 10^(scale - decimals_j), all exact."""
        scale = self.scale()
        if scale > MAX_PRICE_SCALE:
            raise InputError(
                file,
                None,
                "price",
                f"a price needs 10^{scale} to be exact; at most 10^{MAX_PRICE_SCALE} is "
                "supported (a published price is a decimal of at most 200 characters)",
            )
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
    try:
        return format_as_of(moment)
    except OverflowError:  # 9999-12-31T23:59:59-05:00 is in the year 10000 in UTC
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


def parse_issuer(text: str) -> str:
    """The issuer's name, trimmed; non-empty, printable, at most 256 bytes of UTF-8."""
    name = text.strip()
    if not name:
        raise ValueError("the issuer's name is empty")
    if any(
        unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") for c in name
    ):
        raise ValueError("the issuer's name contains control characters or line separators")
    if len(name.encode()) > MAX_ISSUER_BYTES:
        raise ValueError(f"the issuer's name is longer than {MAX_ISSUER_BYTES} bytes")
    return name


# -- reading input files ------------------------------------------------------------------------


def read_input(
    path: str | Path, expected: str, max_bytes: int | None = None, what: str = ""
) -> bytes:
    """The bytes of an input file (`solvency.files.read_regular`): anything but a regular file
    of at most `max_bytes` (default MAX_INPUT_BYTES) raises InputError; `expected` says what
    the file should be ("a JSON file"), `what` what it is ("reserves file")."""
    limit = MAX_INPUT_BYTES if max_bytes is None else max_bytes
    return read_regular(path, limit, what, expected)


# -- JSON with line numbers ---------------------------------------------------------------------
class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str):
    raise ValueError(name)


def _line_of(text: str, pattern: str, nth: int = 1) -> int | None:
    """The line of the nth match of `pattern` in `text`, if there are that many."""
    for k, match in enumerate(re.finditer(pattern, text), 1):
        if k == nth:
            return text.count("\n", 0, match.start()) + 1
    return None


def parse_json(text: str, path: str | Path):
    """JSON text read exactly (numbers as int or Decimal). Duplicate keys and NaN or Infinity
    raise InputError with their line."""
    try:
        return json.loads(
            text, parse_float=Decimal, object_pairs_hook=_unique_keys, parse_constant=_no_constant
        )
    except json.JSONDecodeError as e:
        raise InputError(path, e.lineno, None, f"not valid JSON: {e.msg}") from None
    except _DuplicateKey as e:
        line = _line_of(text, re.escape(json.dumps(e.key)) + r"\s*:", 2)
        raise InputError(path, line, e.key, "appears twice in the same object") from None
    except RecursionError:
        raise InputError(path, None, None, "not valid JSON: nested too deeply") from None
    except ValueError as e:  # NaN, Infinity, -Infinity
        line = _line_of(text, rf"(?<![\w\"]){re.escape(str(e))}(?![\w\"])")
        raise InputError(
            path, line, None, f"not valid JSON: {e} is not a number (write amounts as strings)"
        ) from None


def item_lines(text: str) -> list[int]:
    """The line on which each object of the first JSON array in `text` starts."""
    return [line for _, line in item_starts(text)]


def item_starts(text: str) -> list[tuple[int, int]]:
    """(offset, line) at which each object of the first JSON array in `text` starts."""
    starts, depth, in_string, escape, line, array_depth = [], 0, False, False, 1, None
    for at, ch in enumerate(text):
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
                starts.append((at, line))
        elif ch in "]}":
            depth -= 1
    return starts


def read_json(path: Path, max_bytes: int | None = None, what: str = ""):
    """(the document, its text) of a JSON input file: UTF-8, with or without a byte-order
    mark; see parse_json."""
    text = decode_utf8(read_input(path, "a JSON file", max_bytes, what), path)
    return parse_json(text, path), text


# -- amounts ------------------------------------------------------------------------------------
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?P<sep>[,' _\u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*(\.\d*)?")
_EUROPEAN = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d*")
_EXPONENT = re.compile(r"(?P<mantissa>[+-]?(?:\d+\.?\d*|\.\d+))[eE](?P<exponent>[+-]?\d+)")
_MINUS_LOOKALIKES = "\u2212\u2013\u2014\u2010\u2011\ufe63\uff0d"


def _plain(text: str) -> str | None:
    """`text` if it is a plain decimal amount, else None: a suggestion is only ever valid."""
    return text if PLAIN_AMOUNT.fullmatch(text) else None


def _write(suggestion: str | None, problem: str) -> str:
    return f"{problem}; write {suggestion}" if suggestion else problem


def _why_not_a_number(text: str) -> str | None:
    """The reason `text` (stripped) is not a plain decimal, for the forms people write."""
    bare = text.lower().lstrip("+-")
    checks = (
        ("\n" in text or "\r" in text, "it contains a line break (a quote left open?)"),
        (bare in ("nan", "snan", "qnan"), "NaN is not an amount"),
        (bare in ("inf", "infinity", "\u221e"), "infinity is not an amount"),
    )
    for hit, why in checks:
        if hit:
            return why
    for rule in (
        _why_exponent,
        _why_parentheses,
        _why_currency,
        _why_separators,
        _why_signs,
        _why_other,
    ):
        why = rule(text)
        if why:
            return why
    return None


def _why_exponent(text: str) -> str | None:
    match = _EXPONENT.fullmatch(text)
    if not match:
        return None
    small = abs(int(match["exponent"])) <= 40
    plain = _plain(f"{Decimal(text):f}") if small else None
    return _write(plain, "exponent notation is not accepted") + (
        "" if plain else " a plain decimal"
    )


def _why_parentheses(text: str) -> str | None:
    if not (text.startswith("(") and text.endswith(")")):
        return None
    inner = _plain(text[1:-1].strip())
    return _write(inner and f"-{inner}", "parentheses for a negative amount are not accepted")


def _why_currency(text: str) -> str | None:
    if text.endswith("%"):
        return "a percent sign is not accepted"
    if not any(unicodedata.category(c) == "Sc" for c in text):
        return None
    rest = "".join(c for c in text if unicodedata.category(c) != "Sc").strip()
    return _write(_plain(rest), "a currency sign is not accepted")


def _why_separators(text: str) -> str | None:
    if _EUROPEAN.fullmatch(text):
        plain = _plain(text.replace(".", "").replace(",", "."))
        return _write(plain, "thousands separators and a decimal comma are not accepted")
    match = _THOUSANDS.fullmatch(text)
    if match:
        plain = text.replace(match["sep"], "")
        if match["sep"] == "," and "." not in text:
            return (
                f"a comma is not accepted: write {plain} if it separates thousands, "
                f"{text.replace(',', '.')} if it is a decimal comma"
            )
        return _write(_plain(plain), "thousands separators are not accepted")
    if re.fullmatch(r"[+-]?\d*,\d+", text):
        return _write(_plain(text.replace(",", ".")), "a decimal comma is not accepted")
    if text.count(".") > 1 and re.fullmatch(r"[+-]?[\d.]+", text):
        return "more than one decimal point"
    return None


def _why_signs(text: str) -> str | None:
    if text[:1] in _MINUS_LOOKALIKES:
        return _write(_plain("-" + text[1:]), f"the minus sign must be '-', not {text[0]!r}")
    if re.fullmatch(r"[+-]{2,}.*", text):
        return "more than one sign"
    if text in ("+", "-", "."):
        return "no digits"
    if re.fullmatch(r"\d+(\.\d*)?-", text):
        return _write(_plain("-" + text[:-1]), "the minus sign goes first")
    return None


def _why_other(text: str) -> str | None:
    if any(c.isdigit() and not c.isascii() for c in text):
        return "only the ASCII digits 0-9 are accepted"
    if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", text):
        return "hexadecimal is not accepted"
    if any(c.isalpha() for c in text):
        return "letters are not accepted: write the amount alone"
    if any(c.isspace() for c in text):
        return "spaces inside a number are not accepted"
    return None


def amount_problem(raw: str, what: str = "a number") -> str:
    """The one-line problem with an amount that is not a plain decimal (digits with an
    optional sign and decimal point), saying why for the forms people commonly write."""
    why = _why_not_a_number(raw.strip())
    return f"not {what}: {raw!r}: " + (why or "expected a plain decimal such as -1250.75")


def _decimal(raw, path: Path, line: int | None, field: str) -> Decimal:
    """A decimal from a JSON string or number (read exactly), or InputError."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise InputError(path, line, field, f"expected a decimal number, got {raw!r}")
    if isinstance(raw, Decimal) and abs(raw.as_tuple().exponent) > MAX_EXPONENT:
        raise InputError(path, line, field, f"{raw} is outside any supported range")
    text = f"{raw:f}" if isinstance(raw, Decimal) else str(raw).strip()
    if not PLAIN_AMOUNT.fullmatch(text):
        raise InputError(path, line, field, amount_problem(str(raw), "a decimal number"))
    return Decimal(text)


def load_reserves(path: str | Path, symbols: Iterable[str] | None = None) -> dict[str, Decimal]:
    """A reserves file, `{"BTC": "142014", ...}`: each asset's non-negative reserves in whole
    coins. With `symbols`, an asset outside them is refused. Raises InputError."""
    path = Path(path)
    data, text = read_json(path, MAX_RESERVES_BYTES, "reserves file")
    if not isinstance(data, dict):
        raise InputError(path, 1, None, 'expected {"SYMBOL": "amount", ...}')
    known = None if symbols is None else set(symbols)
    out = {}
    for symbol, raw in data.items():
        line = _line_of(text, re.escape(json.dumps(symbol)) + r"\s*:")
        if known is not None and symbol not in known:
            raise InputError(path, line, symbol, "not an asset of this statement")
        amount = _decimal(raw, path, line, symbol)
        if amount < 0:
            raise InputError(path, line, symbol, f"a reserve cannot be negative: {raw!r}")
        out[symbol] = amount
    return out


def load_assets(path: str | Path) -> Assets:
    """An assets file, `{"quote": "USD", "assets": [{"symbol": "BTC", "decimals": 8, "price":
    "97000.12", "haircut": [...]}, ...]}`, checked (docs/formats.md). Raises InputError naming
    the file, the line and the field (`BTC.haircut[2].percent`)."""
    path = Path(path)
    data, text = read_json(path, MAX_ASSETS_BYTES, "assets file")
    if not isinstance(data, dict) or not isinstance(data.get("assets"), list):
        raise InputError(path, 1, "assets", 'expected {"quote": ..., "assets": [...]}')
    quote = data.get("quote", "USD")
    if not isinstance(quote, str) or not SYMBOL_PATTERN.fullmatch(quote):
        raise InputError(
            path, 1, "quote", f"invalid quote currency {quote!r}: 1 to 32 ASCII letters or digits"
        )
    starts = item_starts(text)
    assets, seen = [], set()
    for i, item in enumerate(data["assets"]):
        offset, line = starts[i] if i < len(starts) else (None, None)
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
        _check_haircut_key(item, path, line, symbol)
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        tier_lines = _tier_lines(text, offset, end, line) if "haircut" in item else []
        table = _haircut(item.get("haircut"), decimals, path, symbol, tier_lines, line)
        assets.append(Asset(symbol, decimals, price, table))
    if not assets:
        raise InputError(path, 1, "assets", "no assets")
    if len(assets) > MAX_ASSETS:
        raise InputError(path, 1, "assets", f"at most {MAX_ASSETS} assets are supported")
    return Assets(quote, tuple(assets))


# -- haircut tables -----------------------------------------------------------------------------
TIER_KEYS = ("up_to", "percent")
TIER_EXAMPLE = '[{"up_to": "10", "percent": 100}, {"up_to": "100", "percent": 90}, {"percent": 50}]'
MAX_BOUNDARY_DIGITS = 40  # far past 2^63 base units at any decimals; longer is refused unread


def _check_haircut_key(item: dict, path: Path, line: int | None, symbol: str) -> None:
    """An asset's other keys are ignored, as they always were, but a misspelt `haircut` is
    refused: ignoring it would prove a statement without the table the exchange wrote."""
    for key in item:
        if key != "haircut" and "haircut" in re.sub(r"[^a-z]", "", str(key).lower()):
            raise InputError(
                path, line, f"{symbol}.{key}", "unknown key; the tier table's key is 'haircut'"
            )


def _tier_lines(text: str, offset: int | None, end: int, line: int | None) -> list[int]:
    """The line of each tier of the asset whose object is text[offset:end] (its `haircut`
    array's objects), as far as they are found."""
    if offset is None or line is None:
        return []
    key = re.compile(r'"haircut"\s*:\s*\[').search(text, offset, end)
    if key is None:
        return []
    start = key.end() - 1
    before = line + text.count("\n", offset, start)
    return [before + at - 1 for _, at in item_starts(text[start:end])]


def _haircut(
    raw, decimals: int, path: Path, symbol: str, lines: list[int], line: int | None
) -> Table | None:
    """An asset's `haircut` (absent or null: no table) as a checked Table, or InputError
    naming the field: `BTC.haircut`, `BTC.haircut[2]`, `BTC.haircut[2].percent`."""
    if raw is None:
        return None
    name = f"{symbol}.haircut"
    if not isinstance(raw, list):
        raise InputError(path, line, name, f"expected a list of tiers such as {TIER_EXAMPLE}")

    objects = [t for t, tier in enumerate(raw) if isinstance(tier, dict)]  # what `lines` has
    at = {t: lines[k] for k, t in enumerate(objects) if k < len(lines)}

    def where(t: int) -> int | None:
        return at.get(t, line)

    table = tuple(
        _tier(tier, t, t == len(raw) - 1, path, f"{name}[{t}]", where(t))
        for t, tier in enumerate(raw)
    )
    try:
        check_table(table, decimals, name)
    except TableError as e:
        raise _table_problem(e, name, table, decimals, path, where, line) from None
    return table


def _tier(raw, t: int, last: bool, path: Path, name: str, line: int | None) -> Tier:
    """One tier's JSON as a Tier (its rules are check_table's): `percent` a JSON integer,
    `up_to` a positive whole number of coins as a string of digits, absent (or null) only on
    the last tier."""
    example = '{"up_to": "10", "percent": 100}' if not last else '{"percent": 50}'
    if not isinstance(raw, dict):
        raise InputError(path, line, name, f"expected an object such as {example}")
    for key in raw:
        if key not in TIER_KEYS:
            hint = "; the ratio's key is 'percent'" if "percent" in str(key).lower() else ""
            raise InputError(
                path, line, f"{name}.{key}", f"unknown key: a tier has up_to and percent{hint}"
            )
    if "percent" not in raw:
        raise InputError(path, line, f"{name}.percent", f"missing; a tier is like {example}")
    percent = raw["percent"]
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise InputError(
            path,
            line,
            f"{name}.percent",
            "must be a whole percent written as a JSON integer such as 90, not "
            + (f"{percent}" if isinstance(percent, Decimal) else json.dumps(percent)),
        )
    up_to = raw.get("up_to")
    return Tier(None if up_to is None else _boundary(up_to, path, line, f"{name}.up_to"), percent)


def _boundary(raw, path: Path, line: int | None, name: str) -> int:
    """A tier's `up_to`: a positive whole number of coins, plain ASCII digits in a string."""
    if isinstance(raw, bool) or not isinstance(raw, str):
        shown = f"{raw:f}" if isinstance(raw, Decimal) else repr(raw)
        raise InputError(
            path,
            line,
            name,
            f'write the boundary as a string of whole coins such as "10", not {shown}',
        )
    why = _why_not_whole(raw)
    if why:
        raise InputError(path, line, name, f"{raw!r} is not a whole number of coins: {why}")
    if len(raw) > MAX_BOUNDARY_DIGITS:
        raise InputError(path, line, name, f"{raw[:12]}... is more than 2^63 base units")
    return int(raw)


def _why_not_whole(text: str) -> str | None:
    """Why `text` is not a positive whole number in plain ASCII digits without a leading zero,
    or None."""
    if re.fullmatch(r"[1-9][0-9]*", text, re.ASCII):
        return None
    if text != text.strip():
        return "spaces are not accepted"
    if text[:1] and text[0] in "+-" + _MINUS_LOOKALIKES:
        return "no sign: a boundary is positive"
    if re.fullmatch(r"0+", text):
        return "a boundary is positive (at least 1)"
    if re.fullmatch(r"0[0-9]+", text, re.ASCII):
        return "no leading zeros"
    if re.fullmatch(r"[0-9.]+[eE][+-]?[0-9]+", text, re.ASCII):
        return "exponent notation is not accepted"
    if re.fullmatch(r"[0-9]*[.,][0-9]*", text, re.ASCII):
        return "boundaries are whole coins (no fraction, no separator)"
    if any(c.isdigit() and not c.isascii() for c in text):
        return "only the ASCII digits 0-9 are accepted"
    return 'expected digits such as "10"'


def _table_problem(
    e: TableError, name: str, table: Table, decimals: int, path: Path, where, line: int | None
) -> InputError:
    """check_table's TableError as an InputError naming the field: the tier's `percent` or
    `up_to`, or the table, with the figures that make the problem plain."""
    problem = e.problem
    if e.tier is None:
        if problem.endswith("tiers"):
            problem += f" (this one has {len(table)})"
        return InputError(path, line, name, problem)
    t = e.tier
    if "above the tier before" in problem and t > 0 and table[t].up_to is not None:
        problem += f" ({table[t].up_to} after {table[t - 1].up_to})"
    elif problem.endswith("base units"):
        problem += f" at {decimals} decimals"
    elif problem.endswith("needs an up_to"):
        problem += " (only the last tier is open)"
    field = f"{name}[{t}]" + (f".{e.field}" if e.field else "")
    return InputError(path, where(t), field, problem)


def haircut_coins(table: Table, decimals: int, equity: Decimal) -> Decimal:
    """What `equity` whole coins (>= 0, a whole number of base units below 2^63) count for
    under the table, exactly, in whole coins: `Tiers.scaled_haircut` / (100 * 10^decimals).
    ValueError for an equity that is not such a number."""
    units = equity.scaleb(decimals)
    if equity < 0 or units != units.to_integral_value() or units >= 1 << 63:
        raise ValueError(f"{equity} is not a whole number of base units below 2^63")
    return Decimal(Tiers.of(table, decimals).scaled_haircut(int(units))).scaleb(-decimals - 2)


# -- balances -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """User ids and balances (users, K) in base units, columns in the assets file's order."""

    ids: list[str]
    balances: np.ndarray


def load_snapshot(path: str | Path, assets: Assets) -> Snapshot:
    """A snapshot file (CSV, or JSON by its `.json` suffix), checked and converted exactly to
    base units. Every problem raises InputError naming the file, the line and the field."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        columns, line_of = _json_columns(path, assets)
    else:
        columns, line_of = _csv_columns(path, assets)
    return _convert(columns, line_of, path, assets)


LineOf = Callable[[int], "int | None"]  # data row -> its line in the file


def _check_symbols(path: Path, lines: dict[str, int | None], assets: Assets) -> None:
    """Every column after `id` names an asset of the assets file (`lines`: each column's
    name -> the line that names it first)."""
    known = set(assets.symbols)
    folded = {s.upper(): s for s in known}
    for name, line in lines.items():
        if name == "id" or name in known:
            continue
        hint = (
            f"; the assets file has {folded[name.upper()]!r} (symbols are case-sensitive)"
            if name.upper() in folded
            else " (not in the assets file)"
        )
        raise InputError(path, line, name, f"unknown asset symbol {name!r}{hint}")


def _convert(columns: dict, line_of: LineOf, path: Path, assets: Assets) -> Snapshot:
    """Ids checked (canonical, non-empty, distinct) and amounts converted, from string
    columns."""
    id_list = _canonical_ids(columns["id"].to_pylist(), line_of, path)
    if len(set(id_list)) != len(id_list):
        _duplicate_id(id_list, line_of, path)
    balances = np.zeros((len(id_list), len(assets.assets)), dtype=np.int64)
    for j, asset in enumerate(assets.assets):
        if asset.symbol in columns:
            balances[:, j] = _parse_amounts(columns[asset.symbol], asset, path, line_of)
    return Snapshot(id_list, balances)


def _canonical_ids(raw: list[str], line_of: LineOf, path: Path) -> list[str]:
    """Each id in its canonical form (`canonical_id`); InputError at the first that cannot be
    an id (`id_problem`: empty, a control character...)."""
    if not raw:
        raise InputError(path, None, None, "no users (the file has no line after the header)")
    ids = [canonical_id(text) for text in raw]
    for row, user in enumerate(ids):
        problem = None if user.isprintable() and user else id_problem(user)  # fast path first
        if problem is not None:
            raise InputError(path, line_of(row), "id", problem)
    return ids


def _duplicate_id(ids: list[str], line_of: LineOf, path: Path) -> None:
    first: dict[str, int] = {}
    for row, user in enumerate(ids):
        if user in first:
            where = line_of(first[user])
            raise InputError(
                path,
                line_of(row),
                "id",
                f"duplicate user id {user!r}" + (f" (first on line {where})" if where else ""),
            )
        first[user] = row


_AMOUNT_PARTS = r"^(?P<sign>[+-]?)(?P<whole>\d*)(?:\.(?P<frac>\d*))?$"


def _parse_amounts(text, asset: Asset, path: Path, line_of: LineOf) -> np.ndarray:
    """Decimal strings in whole coins -> int64 base units, exactly, in pyarrow's compiled
    string kernels. Empty cells (most of them: a user holds a few assets) are 0 and skipped
    before any parsing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    filled = pc.greater(pc.binary_length(text), 0).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(filled)
    out = np.zeros(len(text), dtype=np.int64)
    if len(rows):
        values = pc.utf8_trim_whitespace(text.filter(pa.array(filled)))

        def fail(k: int, problem: str) -> InputError:
            row = int(rows[k])
            return InputError(path, line_of(row), asset.symbol, problem.format(text[row].as_py()))

        out[rows] = _parse_filled(values, asset, fail)
    return out


def _parse_filled(text, asset: Asset, fail: Callable[[int, str], InputError]) -> np.ndarray:
    """_parse_amounts on the non-empty cells (a cell of spaces is 0); `fail(k, problem)` is
    the error for cell k, `{}` in `problem` standing for its text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    parts = pc.extract_regex(text, _AMOUNT_PARTS)  # null where the text does not match
    fraction = pc.if_else(pc.is_null(parts.field("frac")), "", parts.field("frac"))
    digit_count = pc.add(pc.utf8_length(parts.field("whole")), pc.utf8_length(fraction))
    valid = pc.fill_null(pc.greater(digit_count, 0), False).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(~(valid | empty))
    if len(bad):
        k = int(bad[0])
        raise fail(k, amount_problem(text[k].as_py()).replace("{", "{{").replace("}", "}}"))
    negative = pc.fill_null(pc.equal(parts.field("sign"), "-"), False).to_numpy(
        zero_copy_only=False
    )
    precise = pc.utf8_length(pc.utf8_rtrim(fraction, "0")).to_numpy(zero_copy_only=False)
    too_precise = np.flatnonzero(precise > asset.decimals)
    if len(too_precise):
        raise fail(int(too_precise[0]), f"{{!r}} has more than {asset.decimals} decimals")
    kept = pc.utf8_rpad(pc.utf8_slice_codeunits(fraction, 0, asset.decimals), asset.decimals, "0")
    digits = pc.utf8_ltrim(pc.binary_join_element_wise(parts.field("whole"), kept, ""), "0")
    digits = pc.if_else(pc.equal(digits, ""), "0", digits)
    length = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    out = np.zeros(len(text), dtype=np.int64)
    short = (length < 19) & ~empty  # below 10^18: always inside int64
    out[short] = pc.cast(pc.filter(digits, pa.array(short)), pa.int64()).to_numpy()
    for k in np.flatnonzero((length >= 19) & ~empty):  # near or past 2^63: check exactly
        value = int(digits[k].as_py()) * (-1 if negative[k] else 1)
        if not INT64_MIN <= value <= INT64_MAX:
            raise fail(int(k), "{!r} is outside the supported range [-2^63, 2^63) base units")
        out[k] = value
    out[short & negative] *= -1
    return out


# -- JSON snapshots -----------------------------------------------------------------------------
def _json_columns(path: Path, assets: Assets) -> tuple[dict, LineOf]:
    """`[{"id": ..., "<SYMBOL>": "amount", ...}, ...]` as string columns. Keys and values are
    stripped of surrounding whitespace, as in a CSV file; a JSON number is read exactly."""
    import pyarrow as pa

    data, text = read_json(path, MAX_INPUT_BYTES, "snapshot")
    if not isinstance(data, list):
        raise InputError(path, 1, None, 'expected a list of {"id": ..., "<SYMBOL>": ...}')
    lines = item_lines(text)

    def line_of(row: int) -> int | None:
        return lines[row] if row < len(lines) else None

    rows = [_json_row(item, path, line_of(i), f"[{i}]") for i, item in enumerate(data)]
    first: dict[str, int | None] = {}
    for i, row in enumerate(rows):
        for name in row:
            first.setdefault(name, line_of(i))
    names = list(first)
    if rows and "id" not in names:
        raise InputError(path, line_of(0), "id", "no user has an 'id'")
    _check_symbols(path, first, assets)
    columns = {n: pa.array([row.get(n, "") for row in rows], pa.string()) for n in names}
    return columns or {"id": pa.array([], pa.string())}, line_of


def _json_row(item, path: Path, line: int | None, where: str) -> dict[str, str]:
    if not isinstance(item, dict):
        raise InputError(path, line, where, "expected an object")
    row: dict[str, str] = {}
    for key, value in item.items():
        name = key.strip()
        if name in row:
            raise InputError(path, line, name, "appears twice in this user's record")
        if value is None:
            row[name] = ""
        elif isinstance(value, str):
            row[name] = value
        elif isinstance(value, int | Decimal) and not isinstance(value, bool):
            if abs(value.as_tuple().exponent if isinstance(value, Decimal) else 0) > MAX_EXPONENT:
                raise InputError(path, line, name, f"{value} is outside any supported range")
            row[name] = f"{value:f}" if isinstance(value, Decimal) else str(value)
        else:
            raise InputError(path, line, name, f"expected a string or a number, got {value!r}")
    return row


# -- CSV snapshots ------------------------------------------------------------------------------
# The format: one user per line, fields separated by commas, a field may be quoted ("...", with
# "" for a quote inside) but a quoted field cannot span lines, blank lines are skipped, and
# surrounding spaces are removed from every field (header names, ids and amounts). The header
# may end with a comma (an empty last column, as some spreadsheets export) if every line then
# ends with an empty field too. The fast path is pyarrow's parser; when it refuses a file,
# _check_lines re-reads it line by line to say where and why.
SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}
_TRAILING = "\x00trailing"  # pyarrow's name for the header's empty last column


@dataclass(frozen=True)
class _Header:
    names: list[str]  # stripped, without the empty trailing column
    trailing: bool  # the header ends with a comma
    end: int  # offset of the first data byte

    @property
    def width(self) -> int:
        return len(self.names) + self.trailing

    def name(self, index: int) -> str:
        return self.names[index] if index < len(self.names) else f"field {index + 1}"


def _csv_columns(path: Path, assets: Assets) -> tuple[dict, LineOf]:
    """The CSV file's columns as pyarrow strings (the trailing empty column checked and
    dropped), and the line of each data row, computed only when an error needs it."""
    data = read_input(path, "a CSV or JSON file", MAX_INPUT_BYTES, "snapshot")
    header = _csv_header(path, data)
    _check_symbols(path, {n: 1 for n in header.names}, assets)
    if not re.compile(rb"\S").search(data, header.end):
        raise InputError(path, None, None, "no users (the file has no line after the header)")
    quotes = data.count(b'"', header.end)
    if quotes % 2:  # some quote may be left open: find it, before pyarrow swallows lines
        _check_lines(path, data, header)
    table = _read_table(path, data, header)

    found: list[list[int]] = []

    def line_of(row: int) -> int | None:
        if not found:
            found.append(_data_lines(path))
        return found[0][row] if row < len(found[0]) else None

    columns = {name: table.column(i).combine_chunks() for i, name in enumerate(table.column_names)}
    if quotes:
        _check_no_line_breaks(path, data, header, columns)
    if header.trailing:
        _check_trailing(path, columns.pop(_TRAILING), line_of)
    return columns, line_of


def _csv_header(path: Path, data: bytes) -> _Header:
    """The header line, checked: separator, quotes, names (stripped, non-empty, distinct),
    `id` first."""
    start = len(BOM) if data.startswith(BOM) else 0
    newline = data.find(b"\n", start)
    end = len(data) if newline < 0 else newline + 1
    line = decode_utf8(data[:end], path).rstrip("\r\n")
    if not line.strip():
        problem = "empty file" if not data[start:].strip() else "the first line is empty"
        raise InputError(path, 1, None, f"{problem}; expected a header line 'id,<SYMBOL>,...'")
    if "\r" in line:
        raise InputError(
            path, 1, None, "lines end with a carriage return only; save with LF or CRLF line ends"
        )
    _check_separator(path, line)
    fields = _split(path, 1, line, None)
    names = [f.strip() for f in fields]
    trailing = len(names) > 1 and names[-1] == ""
    if trailing:
        names.pop()
    _check_names(path, names)
    return _Header(names, trailing, end)


def _check_separator(path: Path, line: str) -> None:
    first = line.split(",")[0].strip().strip('"')
    if first == "id":
        return
    for separator, name in SEPARATORS.items():
        if separator in first:
            raise InputError(
                path,
                1,
                None,
                f"this file is separated by {name}, the snapshot must be comma-separated (CSV)",
            )


def _check_names(path: Path, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for column, name in enumerate(names, 1):
        if not name:
            raise InputError(path, 1, None, f"column {column} of the header has no name")
        if name in seen:
            raise InputError(
                path, 1, name, f"column {name!r} appears twice (columns {seen[name]} and {column})"
            )
        seen[name] = column
    if names[0] != "id":
        hint = " (lowercase)" if names[0].lower() == "id" else ""
        raise InputError(path, 1, "id", f"the first column must be 'id'{hint}, not {names[0]!r}")


def _open_quote(line: str) -> int | None:
    """The field in which a quote opens and is not closed by the end of `line`, if any. As in
    pyarrow, a quote opens a quoted field only as its first character."""
    field, at_start, quoted, i = 0, True, False, 0
    while i < len(line):
        c = line[i]
        if quoted:
            if c == '"' and line[i + 1 : i + 2] == '"':
                i += 1
            elif c == '"':
                quoted = False
        elif c == ",":
            field, at_start = field + 1, True
            i += 1
            continue
        elif c == '"' and at_start:
            quoted = True
        at_start = False
        i += 1
    return field if quoted else None


def _split(path: Path, number: int, line: str, header: _Header | None) -> list[str]:
    """The fields of one line; a quote left open raises InputError at this line."""
    if '"' not in line:
        return line.split(",")
    field = _open_quote(line)
    if field is not None:
        name = header.name(field) if header else f"column {field + 1}"
        raise InputError(path, number, name, "a quote opens here and is not closed on this line")
    return next(csv.reader([line]))


def _read_table(path: Path, data: bytes, header: _Header):
    """pyarrow's parse of the data lines, every column a string; on failure, _check_lines
    says where."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = header.names + ([_TRAILING] if header.trailing else [])
    try:
        return pcsv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(header.end)),
            read_options=pcsv.ReadOptions(column_names=names),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        _check_lines(path, data, header)
        reason = str(e).splitlines()[0]
        raise InputError(path, None, None, f"not a readable CSV: {reason}") from None


def _check_lines(path: Path, data: bytes, header: _Header) -> None:
    """Each data line, for the first problem pyarrow does not locate: bytes that are not
    UTF-8, a quote left open, a number of fields other than the header's. (The error path.)"""
    text = decode_utf8(data, path)
    for number, line in enumerate(text.split("\n")[1:], 2):
        line = line.removesuffix("\r")
        if line:
            fields = _split(path, number, line, header)
            if len(fields) != header.width:
                raise InputError(path, number, None, _count_problem(fields, header))


def _count_problem(fields: list[str], header: _Header) -> str:
    count, width = len(fields), header.width
    problem = f"{count} field{'s' * (count != 1)}, the header has {width}"
    if count == width + 1 and not fields[-1].strip() and not header.trailing:
        return f"{problem} (this line ends with a comma, the header does not)"
    if count == width - 1 and header.trailing:
        return f"{problem} (the header ends with a comma, this line does not)"
    if count > width:
        return f"{problem} (a comma inside a value? quote the value; amounts take no commas)"
    return problem


def _data_lines(path: Path) -> list[int]:
    """The line of each data row, as pyarrow counts rows (blank lines skipped). The error
    path: the file is read again."""
    text = decode_utf8(read_input(path, "a CSV file", MAX_INPUT_BYTES, "snapshot"), path)
    lines = text.split("\n")
    return [n for n, line in enumerate(lines[1:], 2) if line.removesuffix("\r")]


def _check_no_line_breaks(path: Path, data: bytes, header: _Header, columns: dict) -> None:
    """A quoted field spanning lines is refused: it hides where rows begin."""
    import pyarrow.compute as pc

    for column in columns.values():
        if pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py():
            _check_lines(path, data, header)
            raise InputError(path, None, None, "a quoted value spans lines")


def _check_trailing(path: Path, column, line_of: LineOf) -> None:
    import pyarrow.compute as pc

    filled = np.flatnonzero(
        pc.not_equal(pc.utf8_trim_whitespace(column), "").to_numpy(zero_copy_only=False)
    )
    if len(filled):
        row = int(filled[0])
        raise InputError(
            path,
            line_of(row),
            None,
            f"a value {column[row].as_py()!r} under the header's empty last column "
            "(the header ends with a comma)",
        )
