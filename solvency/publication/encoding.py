"""The text forms of what a publication holds, and strict JSON: what every file of the format
(statement.json, inclusion files, the private records) is written and read with.

Strict means: duplicate keys, NaN and Infinity, unknown and missing fields and values of the
wrong type are refused with one `InputError` naming the file and the field. Numbers that must
stay exact (prices, totals, balances) travel as decimal strings, never as JSON numbers."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import numpy as np

from solvency.files import InputError, decode_utf8, read_regular
from stark.field import P

DECIMAL_PATTERN = re.compile(r"-?\d+(\.\d+)?", re.ASCII)  # never other scripts' digits


# -- values as text ------------------------------------------------------------------------------
def elements_hex(values) -> str:
    """Field elements as one hex string, 8 digits (big-endian) per element."""
    return "".join(f"{int(v):08x}" for v in np.asarray(values).reshape(-1))


def parse_elements_hex(text: object, count: int) -> np.ndarray:
    """The inverse of `elements_hex` for exactly `count` canonical elements (ValueError else)."""
    if not isinstance(text, str) or not re.fullmatch(rf"[0-9a-f]{{{8 * count}}}", text):
        raise ValueError(f"expected {8 * count} lowercase hex digits")
    values = np.array([int(text[i : i + 8], 16) for i in range(0, len(text), 8)], dtype=np.uint64)
    if values.max(initial=0) >= P:
        raise ValueError("an element is not below the field's modulus")
    return values


def coins(base_units: int, decimals: int) -> str:
    """An amount in base units as a plain decimal with the asset's decimals: 0 -> "0.00000000",
    never an exponent."""
    return f"{Decimal(int(base_units)).scaleb(-decimals):f}"


def price_decimal(integer_price: int, scale: int, decimals: int) -> Decimal:
    """The price of one whole coin in the quote currency: integer_price / 10^(scale - decimals)."""
    return Decimal(integer_price).scaleb(decimals - scale)


def plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros ("97000.12", "0", "1.5")."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- writing -------------------------------------------------------------------------------------
def json_bytes(document: dict) -> bytes:
    """A JSON document as the format writes it: indented, UTF-8, one final newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


# -- strict reading ------------------------------------------------------------------------------
def _strict_object(pairs: list[tuple[str, object]]) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def load_json_strict(path: Path, max_bytes: int, what: str):
    """JSON with duplicate keys and NaN/Infinity refused, at most `max_bytes` read (a device
    or a huge file is refused, not read whole). UTF-8, with or without a byte-order mark; a
    byte that is not UTF-8 is named with its line and column. Raises InputError."""
    raw = read_regular(path, max_bytes, what, "a JSON file")
    text = decode_utf8(raw, path)
    try:
        return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise InputError(path, e.lineno, None, f"not valid JSON: {e.msg}") from None
    except (ValueError, RecursionError) as e:
        raise InputError(path, None, None, f"not valid JSON: {e}") from None


class Fields:
    """Typed access to one JSON object of a file, each problem an InputError naming the file
    and the field (`where` is the object's place: "" at the top, "batches[2]." below)."""

    def __init__(self, obj: object, names: tuple[str, ...], path: Path, where: str = ""):
        if not isinstance(obj, dict):
            raise InputError(path, None, where.rstrip(".") or None, "expected a JSON object")
        for name in obj:
            if name not in names:
                raise InputError(path, None, f"{where}{name}", "unknown field")
        for name in names:
            if name not in obj:
                raise InputError(path, None, f"{where}{name}", "missing field")
        self.obj, self.path, self.where = obj, path, where

    def error(self, name: str, problem: str) -> InputError:
        return InputError(self.path, None, f"{self.where}{name}", problem)

    def raw(self, name: str) -> object:
        return self.obj[name]

    def integer(self, name: str, low: int = 0, high: int = 1 << 62) -> int:
        value = self.obj[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(name, f"expected an integer in [{low}, {high}], got {value!r}")
        return value

    def boolean(self, name: str) -> bool:
        value = self.obj[name]
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {value!r}")
        return value

    def string(self, name: str, *, nonempty: bool = False) -> str:
        value = self.obj[name]
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {value!r}")
        if nonempty and not value:
            raise self.error(name, "empty")
        return value

    def int_string(self, name: str, *, signed: bool) -> int:
        text = self.string(name)
        if not re.fullmatch(r"-?\d{1,40}" if signed else r"\d{1,40}", text, re.ASCII):
            raise self.error(name, f"expected an integer as a string, got {text!r}")
        return int(text)

    def decimal_string(self, name: str) -> Decimal:
        text = self.string(name)
        if not DECIMAL_PATTERN.fullmatch(text) or len(text) > 200:
            raise self.error(name, f"expected a plain decimal string, got {text!r}")
        return Decimal(text)

    def hex_elements(self, name: str, count: int) -> np.ndarray:
        try:
            return parse_elements_hex(self.obj[name], count)
        except ValueError as e:
            raise self.error(name, str(e)) from None

    def sha256(self, name: str) -> str:
        text = self.string(name)
        if not re.fullmatch(r"[0-9a-f]{64}", text):
            raise self.error(name, "expected a SHA-256 digest (64 lowercase hex digits)")
        return text

    def objects(self, name: str, names: tuple[str, ...], most: int) -> list[Fields]:
        """A non-empty list of at most `most` objects, each with exactly `names`."""
        value = self.obj[name]
        if not isinstance(value, list) or not 1 <= len(value) <= most:
            raise self.error(name, f"expected a list of 1 to {most:,} objects")
        return [
            Fields(v, names, self.path, f"{self.where}{name}[{i}].") for i, v in enumerate(value)
        ]

    def object(self, name: str, names: tuple[str, ...]) -> Fields:
        return Fields(self.obj[name], names, self.path, f"{self.where}{name}.")
