"""What `prove` publishes and `verify` reads: proof.bin and statement.json, written atomically.

statement.json holds the public statement for people and other tools: the assets with their
decimal prices and the exact integer prices and scale, the per-asset totals as exact decimal
strings and in base units, the padded user count, the proof parameters and estimated
security in both regimes, and the proof's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

from circuits.snapshot import InputError
from circuits.solvency import SolvencyAir, Statement
from stark.params import StarkParams
from stark.security import estimate_security

STATEMENT_FORMAT = "stark-solvency-statement/1"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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
    """An exact decimal string of an amount in base units."""
    return str(Decimal(base_units).scaleb(-decimals)) if decimals else str(base_units)


def statement_json(
    statement: Statement, prices: list[Decimal], params: StarkParams, preset: str, proof: bytes
) -> dict:
    report = estimate_security(params, SolvencyAir(statement).shape())
    return {
        "format": STATEMENT_FORMAT,
        "quote": statement.quote,
        "price_scale": statement.scale,
        "users_padded": statement.trace_len,
        "assets": [
            {
                "symbol": sym,
                "decimals": dec,
                "price": str(price),
                "integer_price": str(p_int),
                "total": coins(total, dec),
                "total_base_units": str(total),
            }
            for sym, dec, price, p_int, total in zip(
                statement.symbols,
                statement.decimals,
                prices,
                statement.prices,
                statement.totals,
                strict=True,
            )
        ],
        "preset": preset,
        "params": asdict(params),
        "security": {
            "conjectured_bits": round(report.conjectured_bits, 2),
            "provable_bits": round(report.provable_bits, 2),
            "regimes": "conjectured: ethSTARK conjecture; provable: unique decoding",
        },
        "proof_sha256": hashlib.sha256(proof).hexdigest(),
        "proof_bytes": len(proof),
    }


def read_published(directory: Path) -> tuple[Statement, StarkParams, bytes, dict]:
    """(statement, declared params, proof bytes, raw JSON) from a proof directory.

    Raises InputError if the files cannot be read or the statement is malformed.
    """
    statement_path, proof_path = directory / "statement.json", directory / "proof.bin"
    try:
        data = json.loads(statement_path.read_text())
    except FileNotFoundError:
        raise InputError(statement_path, None, None, "no such file") from None
    except json.JSONDecodeError as e:
        raise InputError(statement_path, e.lineno, None, f"not valid JSON: {e.msg}") from None
    try:
        proof = proof_path.read_bytes()
    except FileNotFoundError:
        raise InputError(proof_path, None, None, "no such file") from None
    try:
        if data.get("format") != STATEMENT_FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r}")
        assets = data["assets"]
        statement = Statement(
            quote=str(data["quote"]),
            scale=int(data["price_scale"]),
            symbols=tuple(str(a["symbol"]) for a in assets),
            decimals=tuple(int(a["decimals"]) for a in assets),
            prices=tuple(int(a["integer_price"]) for a in assets),
            totals=tuple(int(a["total_base_units"]) for a in assets),
            trace_len=int(data["users_padded"]),
        )
        for a, total in zip(assets, statement.totals, strict=True):
            if Decimal(a["total"]) != Decimal(total).scaleb(-int(a["decimals"])):
                raise ValueError(f"{a['symbol']}: total and total_base_units disagree")
        params = StarkParams(**data["params"])
    except (KeyError, TypeError, ValueError, ArithmeticError) as e:
        raise InputError(statement_path, None, None, f"malformed statement: {e}") from None
    return statement, params, proof, data
