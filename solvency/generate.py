"""Synthetic snapshots for demos, tests and benchmarks.

Users hold a few assets each, with heavy-tailed (log-normal) USD values. About 10% of users
carry a margin or loan position: a negative balance in one asset, worth 10-60% of the
collateral they hold in another, so that every user stays solvent. Real symbols come first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from solvency.files import write_atomically

# symbol, decimals (base-unit precision of the exchange's ledger), price in USD
REAL_ASSETS = [
    ("BTC", 8, "97000.12"),
    ("ETH", 8, "3400.55"),
    ("USDT", 6, "1.0001"),
    ("USDC", 6, "0.9998"),
    ("XRP", 6, "2.31"),
    ("BNB", 8, "690.4"),
    ("SOL", 8, "230.15"),
    ("DOGE", 8, "0.3812"),
    ("TRX", 6, "0.2456"),
    ("ADA", 6, "1.02"),
    ("TON", 8, "5.43"),
    ("LINK", 8, "24.7"),
    ("AVAX", 8, "45.12"),
    ("SHIB", 4, "0.00002412"),
    ("DOT", 8, "8.91"),
    ("LTC", 8, "110.25"),
    ("BCH", 8, "520.8"),
    ("UNI", 8, "15.3"),
    ("XLM", 6, "0.45"),
    ("NEAR", 8, "6.7"),
    ("APT", 8, "12.4"),
    ("OKB", 8, "52.1"),
]
MAX_VALUE_USD = 5e7  # per user and asset: keeps every balance far inside int64
MARGIN_SHARE = 0.10
MAX_USERS = 1 << 24
MAX_ASSETS = 200


@dataclass(frozen=True)
class Generated:
    assets: list[dict]
    ids: list[str]
    balances: np.ndarray  # (users, K) int64 base units


def asset_list(count: int, rng: np.random.Generator) -> list[dict]:
    out = [{"symbol": s, "decimals": d, "price": p} for s, d, p in REAL_ASSETS[:count]]
    for i in range(len(out), count):
        price = Decimal(str(round(float(np.exp(rng.normal(0, 3))), 6))).normalize()
        out.append({"symbol": f"TKN{i + 1:03d}", "decimals": 8, "price": f"{price:f}"})
    return out


def check_inputs(users: int, assets: int, seed: int) -> None:
    """Raise ValueError, one line naming the option, for a count or seed out of range."""
    for option, value, low, high in (
        ("--users", users, 1, MAX_USERS),
        ("--assets", assets, 1, MAX_ASSETS),
        ("--seed", seed, 0, None),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{option}: must be a whole number, not {value!r}")
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise ValueError(f"{option}: must be {bounds}, not {value}")


def generate(users: int, assets: int, seed: int) -> Generated:
    """A synthetic snapshot; ValueError (see check_inputs) for counts or a seed out of range."""
    check_inputs(users, assets, seed)
    rng = np.random.default_rng(seed)
    spec = asset_list(assets, rng)
    price = np.array([float(a["price"]) for a in spec])
    unit = np.array([10.0 ** a["decimals"] for a in spec])  # base units per coin
    holds = rng.random((users, assets)) < np.minimum(1.0, 3.0 / assets)
    holds[np.arange(users), rng.integers(0, assets, users)] = True  # everyone holds something
    value_usd = (
        np.minimum(rng.lognormal(mean=6.0, sigma=2.5, size=(users, assets)), MAX_VALUE_USD) * holds
    )
    balances = np.floor(value_usd / price * unit).astype(np.int64)
    # margin and loans: borrow an asset worth 10-60% of one asset the user holds
    margin = np.flatnonzero(rng.random(users) < MARGIN_SHARE)
    for i in margin:  # a loop over ~10% of users, only in the generator
        held = np.flatnonzero(balances[i] > 0)
        if len(held) == 0 or assets < 2:
            continue
        collateral = rng.choice(held)
        borrowed = rng.choice([j for j in range(assets) if j != collateral])
        debt_usd = value_usd[i, collateral] * rng.uniform(0.1, 0.6)
        balances[i, borrowed] = -np.floor(debt_usd / price[borrowed] * unit[borrowed])
    ids = [f"user{i:07d}" for i in range(users)]
    return Generated(spec, ids, balances)


def amount_strings(column: np.ndarray, decimals: int) -> pd.Series:
    """Exact decimal strings in whole coins for base-unit integers; empty for zero."""
    sign = np.where(column < 0, "-", "")
    magnitude = np.abs(column)
    whole = (magnitude // 10**decimals).astype(str)
    if decimals:
        frac = pd.Series((magnitude % 10**decimals).astype(str)).str.zfill(decimals)
        frac = frac.str.rstrip("0")
        text = pd.Series(whole) + np.where(frac == "", "", "." + frac)
    else:
        text = pd.Series(whole)
    text = pd.Series(sign) + text
    return text.where(column != 0, "")


def write(generated: Generated, out: Path) -> tuple[Path, Path]:
    """DIR/assets.json and DIR/snapshot.csv, each atomically; ValueError naming --out if the
    directory cannot be made or written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ValueError(f"--out: {out} is not a directory") from None
    except OSError as e:
        raise ValueError(f"--out: cannot create {out}: {e.strerror}") from None
    try:
        return _write_files(generated, out)
    except OSError as e:
        raise ValueError(f"--out: cannot write in {out}: {e.strerror}") from None


def _write_files(generated: Generated, out: Path) -> tuple[Path, Path]:
    assets_path, snapshot_path = out / "assets.json", out / "snapshot.csv"
    document = {"quote": "USD", "assets": generated.assets}
    write_atomically(assets_path, (json.dumps(document, indent=2) + "\n").encode())
    frame = pd.DataFrame({"id": generated.ids})
    for j, a in enumerate(generated.assets):
        frame[a["symbol"]] = amount_strings(generated.balances[:, j], a["decimals"]).to_numpy()
    write_atomically(snapshot_path, frame.to_csv(index=False).encode())
    return assets_path, snapshot_path
