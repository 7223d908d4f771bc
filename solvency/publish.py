"""What `prove` publishes and `verify` reads: proof.bin, leaves.bin and statement.json, written
atomically.

leaves.bin is the users' leaves (docs/inclusion.md), n x 8 field elements as little-endian
32-bit words in row order; they are the AIR's periodic columns, so the proof is for exactly
these leaves, and statement.json's root is recomputed from them.

statement.json is for people and other tools; `verify` trusts none of it as written. Every field
is either bound into the proof's Fiat-Shamir transcript (through `Statement.encode()`, the
AIR's public inputs, or the proof's own parameter block) or recomputed by the verifier and
compared, and a mismatch is refused:

==========================  =====================================================================
field                       how `verify` trusts it
==========================  =====================================================================
format                      must be exactly ``STATEMENT_FORMAT``
issuer, as_of               bound (Statement.encode); as_of must be canonical UTC ISO 8601
quote, price_scale          bound
users_padded                bound (and the proof's trace length)
insecure_seeded             bound: a seeded (testing) proof cannot pass as a hiding one
zero_knowledge              recomputed: params.zk and not insecure_seeded
assets[].symbol, decimals   bound; symbols must be distinct
assets[].integer_price      bound
assets[].total_base_units   bound
assets[].price              recomputed: integer_price / 10^(price_scale - decimals), exactly
assets[].total              recomputed: total_base_units / 10^decimals, exactly
params                      must equal the proof's parameter block (itself bound)
preset                      recomputed: the name of the preset whose block `params` is
security                    recomputed with stark.security.estimate_security; a block that
                            differs in any figure is refused (never printed as written)
proof_sha256, proof_bytes   recomputed from proof.bin
inclusion.leaf_hash         must be exactly ``LEAF_HASH`` (bound: the AIR's public inputs)
inclusion.leaves_root       recomputed: the Merkle root of leaves.bin (bound: periodic columns)
==========================  =====================================================================

Unknown fields, missing fields, duplicate JSON keys, duplicate symbols and values of the wrong
type are malformed input (`InputError`, exit 2). A well-formed statement that says something
the verifier recomputes differently is a false statement (`StatementMismatch`, exit 1).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from circuits.leaf import leaves_root
from circuits.poseidon2 import DIGEST
from circuits.solvency import MAX_TRACE_LEN, SolvencyAir, Statement
from solvency.inclusion import LEAF_HASH, LEAF_REGISTERS, LEAF_WIDTH, elements_hex
from solvency.snapshot import InputError, decode_utf8, read_input
from stark.field import P
from stark.params import PRESETS, StarkParams
from stark.proof import MAX_PROOF_BYTES, Proof, deserialize
from stark.security import SecurityReport, estimate_security

STATEMENT_FORMAT = "stark-solvency-statement/3"
REGIMES_NOTE = "conjectured: ethSTARK conjecture; provable: unique decoding, every round"
FIELDS = (
    "format",
    "issuer",
    "as_of",
    "quote",
    "price_scale",
    "users_padded",
    "insecure_seeded",
    "zero_knowledge",
    "assets",
    "preset",
    "params",
    "security",
    "proof_sha256",
    "proof_bytes",
    "inclusion",
)
INCLUSION_BLOCK = ("leaf_hash", "leaves_root")
ASSET_FIELDS = ("symbol", "decimals", "price", "integer_price", "total", "total_base_units")
SECURITY_FIELDS = ("conjectured_bits", "provable_bits", "terms", "regimes")
DECIMAL_PATTERN = re.compile(r"-?\d+(\.\d+)?")
MAX_STATEMENT_BYTES = 1 << 22


class StatementMismatch(ValueError):
    """statement.json says something the verifier recomputes differently: `file: field: what`."""

    def __init__(self, file: str | Path, field: str, problem: str):
        super().__init__(f"{file}: {field}: {problem}")
        self.field = field


def write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write to a temporary file in the same directory, then rename over `path`. Private files
    stay readable by their owner only (mkstemp's 0600); others get the usual permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; published files are readable
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def coins(base_units: int, decimals: int) -> str:
    """An amount in base units as a plain decimal with the asset's decimals: 0 -> "0.00000000",
    never an exponent."""
    return f"{Decimal(base_units).scaleb(-decimals):f}"


def price_decimal(integer_price: int, scale: int, decimals: int) -> Decimal:
    """The price of one whole coin in the quote currency: integer_price / 10^(scale - decimals)."""
    return Decimal(integer_price).scaleb(decimals - scale)


def plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros ("97000.12", "0", "1.5")."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def preset_name(params: StarkParams) -> str | None:
    """The name of the preset whose parameter block is exactly `params`, if any."""
    return next((name for name, p in PRESETS.items() if p == params), None)


def security_block(report: SecurityReport) -> dict:
    return {
        "conjectured_bits": round(report.conjectured_bits, 2),
        "provable_bits": round(report.provable_bits, 2),
        "terms": {
            name: round(bits, 2) if math.isfinite(bits) else None
            for name, bits in report.terms.items()
        },
        "regimes": REGIMES_NOTE,
    }


def solvency_air(statement: Statement, leaves: np.ndarray) -> SolvencyAir:
    """The AIR the application proves: the solvency AIR with these leaves, at the application's
    leaf layout."""
    return SolvencyAir(statement, leaves, leaf_width=LEAF_WIDTH, sbox_registers=LEAF_REGISTERS)


def leaves_bytes(leaves: np.ndarray) -> bytes:
    """leaves.bin: (n, 8) elements as little-endian 32-bit words, row by row."""
    return np.asarray(leaves, dtype="<u4").tobytes()


def asset_records(statement: Statement, totals) -> list[dict]:
    """statement.json's assets: symbol, decimals, price (as a plain decimal and as the proved
    integer), total (likewise), in the statement's order."""
    return [
        {
            "symbol": sym,
            "decimals": dec,
            "price": plain(price_decimal(p_int, statement.scale, dec)),
            "integer_price": str(p_int),
            "total": coins(total, dec),
            "total_base_units": str(total),
        }
        for sym, dec, p_int, total in zip(
            statement.symbols, statement.decimals, statement.prices, totals, strict=True
        )
    ]


def statement_json(air: SolvencyAir, params: StarkParams, proof: bytes) -> dict:
    """The published statement for a proof of `air` (with leaves): see the module docstring for
    how each field is checked."""
    statement = air.statement
    report = estimate_security(params, air.shape())
    return {
        "format": STATEMENT_FORMAT,
        "issuer": statement.issuer,
        "as_of": statement.as_of,
        "quote": statement.quote,
        "price_scale": statement.scale,
        "users_padded": statement.trace_len,
        "insecure_seeded": statement.insecure_seeded,
        "zero_knowledge": params.zk and not statement.insecure_seeded,
        "assets": asset_records(statement, statement.totals),
        "preset": preset_name(params),
        "params": dataclasses.asdict(params),
        "security": security_block(report),
        "proof_sha256": hashlib.sha256(proof).hexdigest(),
        "proof_bytes": len(proof),
        "inclusion": {
            "leaf_hash": LEAF_HASH,
            "leaves_root": elements_hex(leaves_root(air.leaves)),
        },
    }


# -- reading -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    """A proof directory as written, parsed strictly but not yet checked (`check_published`)."""

    path: Path  # statement.json
    statement: Statement
    data: dict  # the JSON as read
    proof: bytes
    leaves: np.ndarray  # (n, 8) canonical elements, from leaves.bin


def _strict_object(pairs: list[tuple[str, object]]) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def load_json_strict(path: Path, max_bytes: int = MAX_STATEMENT_BYTES, what: str = "statement"):
    """JSON with duplicate keys and NaN/Infinity refused, at most `max_bytes` read (a device
    or a huge file is refused, not read whole). UTF-8, with or without a byte-order mark; a
    byte that is not UTF-8 is named with its line and column. Raises InputError."""
    raw = read_input(path, "a JSON file", max_bytes, what)
    text = decode_utf8(raw, path)
    try:
        return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise InputError(path, e.lineno, None, f"not valid JSON: {e.msg}") from None
    except (ValueError, RecursionError) as e:
        raise InputError(path, None, None, f"not valid JSON: {e}") from None


def _fields(obj: object, names: tuple[str, ...], path: Path, where: str) -> dict:
    if not isinstance(obj, dict):
        raise InputError(path, None, where or None, "expected a JSON object")
    for name in obj:
        if name not in names:
            raise InputError(path, None, f"{where}{name}", "unknown field")
    for name in names:
        if name not in obj:
            raise InputError(path, None, f"{where}{name}", "missing field")
    return obj


def _int(value: object, path: Path, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, None, field, f"expected an integer, got {value!r}")
    return value


def _str(value: object, path: Path, field: str) -> str:
    if not isinstance(value, str):
        raise InputError(path, None, field, f"expected a string, got {value!r}")
    return value


def _int_string(value: object, path: Path, field: str, signed: bool) -> int:
    text = _str(value, path, field)
    if not re.fullmatch(r"-?\d{1,40}" if signed else r"\d{1,40}", text):
        raise InputError(path, None, field, f"expected an integer as a string, got {text!r}")
    return int(text)


def _decimal_string(value: object, path: Path, field: str) -> Decimal:
    text = _str(value, path, field)
    if not DECIMAL_PATTERN.fullmatch(text) or len(text) > 200:
        raise InputError(path, None, field, f"expected a plain decimal string, got {text!r}")
    return Decimal(text)


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most `max_bytes` (InputError otherwise): a published file
    that is a device or a pipe (/dev/zero, say) must not exhaust the verifier's memory."""
    return read_input(path, "a regular file", max_bytes)


def read_leaves(path: Path) -> np.ndarray:
    """leaves.bin as (n, 8) uint64; InputError unless it is whole leaves of canonical elements
    (their number is checked against the statement by `check_published`)."""
    raw = read_bounded(path, 4 * DIGEST * MAX_TRACE_LEN)
    if len(raw) % (4 * DIGEST):
        raise InputError(path, None, None, f"{len(raw):,} bytes are not a whole number of leaves")
    leaves = np.frombuffer(raw, dtype="<u4").astype(np.uint64).reshape(-1, DIGEST)
    if leaves.max(initial=0) >= P:
        row = int(np.flatnonzero((leaves >= P).any(axis=1))[0])
        raise InputError(path, None, f"leaf {row}", "an element is not below the field's modulus")
    return leaves


def read_published(directory: Path) -> Published:
    """Parse DIRECTORY/statement.json strictly and read DIRECTORY/proof.bin and leaves.bin.

    Raises InputError (one line naming the file and the field) if a file cannot be read or
    the statement is malformed: not JSON, a duplicate key, an unknown or missing field, a value
    of the wrong type, duplicate symbols, or a statement `Statement` refuses.
    """
    statement_path, proof_path = directory / "statement.json", directory / "proof.bin"
    data = load_json_strict(statement_path)
    path = statement_path
    _fields(data, FIELDS, path, "")
    if data["format"] != STATEMENT_FORMAT:
        raise InputError(
            path, None, "format", f"unknown format {data['format']!r}, expected {STATEMENT_FORMAT}"
        )
    assets = data["assets"]
    if not isinstance(assets, list) or not assets:
        raise InputError(path, None, "assets", "expected a non-empty list")
    for i, a in enumerate(assets):
        _fields(a, ASSET_FIELDS, path, f"assets[{i}].")
    symbols = [_str(a["symbol"], path, f"assets[{i}].symbol") for i, a in enumerate(assets)]
    for i, sym in enumerate(symbols):
        if sym in symbols[:i]:
            raise InputError(path, None, f"assets[{i}].symbol", f"duplicate asset symbol {sym!r}")
    for name in ("issuer", "as_of", "quote", "preset", "proof_sha256"):
        if name != "preset" or data[name] is not None:
            _str(data[name], path, name)
    for name in ("insecure_seeded", "zero_knowledge"):
        if not isinstance(data[name], bool):
            raise InputError(path, None, name, f"expected true or false, got {data[name]!r}")
    _fields(data["security"], SECURITY_FIELDS, path, "security.")
    _fields(data["inclusion"], INCLUSION_BLOCK, path, "inclusion.")
    for name in INCLUSION_BLOCK:
        _str(data["inclusion"][name], path, f"inclusion.{name}")
    if not isinstance(data["params"], dict):
        raise InputError(path, None, "params", "expected a JSON object")
    _int(data["proof_bytes"], path, "proof_bytes")
    for i, a in enumerate(assets):
        _decimal_string(a["price"], path, f"assets[{i}].price")
        _decimal_string(a["total"], path, f"assets[{i}].total")
    try:
        statement = Statement(
            quote=data["quote"],
            scale=_int(data["price_scale"], path, "price_scale"),
            symbols=tuple(symbols),
            decimals=tuple(
                _int(a["decimals"], path, f"{s}.decimals")
                for s, a in zip(symbols, assets, strict=True)
            ),
            prices=tuple(
                _int_string(a["integer_price"], path, f"{s}.integer_price", signed=False)
                for s, a in zip(symbols, assets, strict=True)
            ),
            totals=tuple(
                _int_string(a["total_base_units"], path, f"{s}.total_base_units", signed=True)
                for s, a in zip(symbols, assets, strict=True)
            ),
            trace_len=_int(data["users_padded"], path, "users_padded"),
            issuer=data["issuer"],
            as_of=data["as_of"],
            insecure_seeded=data["insecure_seeded"],
        )
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(path, None, None, f"malformed statement: {e}") from None
    if not statement.issuer or not statement.as_of:
        raise InputError(path, None, "issuer" if not statement.issuer else "as_of", "empty")
    proof = read_bounded(proof_path, MAX_PROOF_BYTES)
    leaves = read_leaves(directory / "leaves.bin")
    return Published(statement_path, statement, data, proof, leaves)


@dataclass(frozen=True)
class Checked:
    """What `check_published` established: the AIR (with the published leaves), the parsed
    proof, its parameter block and preset name, and the security recomputed from them."""

    air: SolvencyAir
    proof: Proof
    params: StarkParams
    preset: str
    security: SecurityReport


def check_published(pub: Published) -> Checked:
    """Compare every field of statement.json that is not bound into the transcript with what
    the verifier recomputes; see the module docstring. Does not run the STARK verifier.

    Raises StatementMismatch (a false statement) or stark.proof.VerificationError (proof.bin is
    not a well-formed proof). The order is: the proof file's hash and size, the decimal
    representations, the padded user count against the proof's trace length, the parameter
    block against the proof's, the preset name, the leaf hash and the leaves' root, the
    security figures, the zero-knowledge flag.
    """
    s, data, path = pub.statement, pub.data, pub.path
    if hashlib.sha256(pub.proof).hexdigest() != data["proof_sha256"]:
        raise StatementMismatch(path, "proof_sha256", "differs from the SHA-256 of proof.bin")
    if len(pub.proof) != data["proof_bytes"]:
        raise StatementMismatch(
            path, "proof_bytes", f"says {data['proof_bytes']}, proof.bin has {len(pub.proof)}"
        )
    for a, sym, dec, p_int, total in zip(
        data["assets"], s.symbols, s.decimals, s.prices, s.totals, strict=True
    ):
        proved = price_decimal(p_int, s.scale, dec)
        if Decimal(a["price"]) != proved:
            raise StatementMismatch(
                path,
                f"{sym}.price",
                f"{a['price']} is not the proved price {plain(proved)} "
                f"(integer_price {p_int} / 10^{s.scale - dec})",
            )
        if Decimal(a["total"]) != Decimal(total).scaleb(-dec):
            raise StatementMismatch(
                path,
                f"{sym}.total",
                f"{a['total']} is not the proved total {coins(total, dec)} "
                f"(total_base_units {total})",
            )
    proof = deserialize(pub.proof)  # VerificationError if malformed
    if 1 << proof.log_trace_len != s.trace_len:
        raise StatementMismatch(
            path,
            "users_padded",
            f"says {s.trace_len}, the proof is for {1 << proof.log_trace_len} padded users",
        )
    if len(pub.leaves) != s.trace_len:
        raise StatementMismatch(
            path, "users_padded", f"says {s.trace_len}, leaves.bin has {len(pub.leaves)} leaves"
        )
    params = proof.params
    if not _same(data["params"], dataclasses.asdict(params)):
        raise StatementMismatch(path, "params", "differ from the proof's own parameter block")
    name = preset_name(params)
    if name is None:
        raise StatementMismatch(
            path,
            "params",
            f"the proof's parameters are none of the accepted presets ({', '.join(PRESETS)})",
        )
    if data["preset"] != name:
        raise StatementMismatch(
            path, "preset", f"says {data['preset']!r}, but the parameters are the {name!r} preset"
        )
    if data["inclusion"]["leaf_hash"] != LEAF_HASH:
        raise StatementMismatch(
            path,
            "inclusion.leaf_hash",
            f"says {data['inclusion']['leaf_hash']!r}; this verifier knows only {LEAF_HASH!r}",
        )
    root = elements_hex(leaves_root(pub.leaves))
    if data["inclusion"]["leaves_root"] != root:
        raise StatementMismatch(
            path, "inclusion.leaves_root", f"is not the root of leaves.bin ({root})"
        )
    air = solvency_air(s, pub.leaves)
    try:
        report = estimate_security(params, air.shape())
    except ValueError as e:
        raise StatementMismatch(path, "params", f"unacceptable parameters: {e}") from None
    expected = security_block(report)
    declared = data["security"]
    for key in SECURITY_FIELDS:
        if not _same(declared[key], expected[key]):
            raise StatementMismatch(
                path,
                f"security.{key}",
                f"says {declared[key]!r}, the parameters give {expected[key]!r}",
            )
    zk = params.zk and not s.insecure_seeded
    if data["zero_knowledge"] != zk:
        raise StatementMismatch(
            path,
            "zero_knowledge",
            f"says {str(data['zero_knowledge']).lower()}, but the proof "
            + ("hides balances" if zk else "does not hide balances"),
        )
    return Checked(air, proof, params, name, report)


def _same(declared: object, expected: object) -> bool:
    """Equal JSON values; numbers within rounding (both are rounded to 0.01 bits)."""
    if isinstance(expected, dict):
        return (
            isinstance(declared, dict)
            and declared.keys() == expected.keys()
            and all(_same(declared[k], expected[k]) for k in expected)
        )
    if isinstance(expected, int) and not isinstance(expected, bool):
        return type(declared) is int and declared == expected
    if isinstance(expected, float):
        return (
            isinstance(declared, float | int)
            and not isinstance(declared, bool)
            and math.isclose(declared, expected, rel_tol=0, abs_tol=1e-9)
        )
    return type(declared) is type(expected) and declared == expected
