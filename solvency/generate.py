"""Synthetic snapshots for demos, tests and benchmarks.

Users hold a few assets each, with heavy-tailed (log-normal) USD values. Real symbols come
first. Each asset has a collateral haircut table (issue 17; `haircuts=False` leaves them out):
stablecoins and majors count in full up to a first boundary and a little less beyond, mid caps
less, small caps little, and an illiquid tail of the synthetic tokens not at all (`TIERS_USD`).

About 10% of users carry a margin or loan position: a negative balance in one asset, worth
10-60% of what the collateral they hold in another counts for after its haircut (computed
exactly, `scaled_haircuts`), so that every user meets the collateral rule
`sum_j P_j debt_ij <= sum_j P_j haircut_j(equity_ij)` under the tables written, and so is
solvent too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from circuits.haircut import BALANCE_LIMIT, Table, Tier, Tiers, check_table, table_json
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
MAX_VALUE_USD = 5e7  # per user and asset
#: The largest balance (or debt) in base units: a token priced at a fraction of a cent would
#: otherwise pass 2^63, and 100 times it stays inside int64 (`scaled_haircuts`).
MAX_BALANCE = 9 * 10**16
MIN_PRICE = Decimal("0.000001")  # a synthetic price is never rounded to 0
MARGIN_SHARE = 0.10
MAX_USERS = 1 << 24
MAX_ASSETS = 200

# -- haircut tables: (boundary in USD, percent) per tier, the last tier open (None) ----------
STABLECOINS = ("USDT", "USDC")
MAJORS = ("BTC", "ETH")
MID_CAPS = ("XRP", "BNB", "SOL", "DOGE", "TRX", "ADA", "TON", "LINK", "AVAX")
TIERS_USD: dict[str, tuple[tuple[int | None, int], ...]] = {
    "stablecoin": ((1_000_000, 100), (10_000_000, 95), (None, 90)),
    "major": ((1_000_000, 100), (5_000_000, 95), (20_000_000, 90), (None, 80)),
    "mid cap": ((100_000, 90), (1_000_000, 80), (5_000_000, 70), (None, 50)),
    "small cap": ((10_000, 70), (100_000, 50), (1_000_000, 30), (None, 10)),
    "illiquid": ((None, 0),),
}


@dataclass(frozen=True)
class Generated:
    assets: list[dict]
    ids: list[str]
    balances: np.ndarray  # (users, K) int64 base units


def asset_list(count: int, rng: np.random.Generator) -> list[dict]:
    out = [{"symbol": s, "decimals": d, "price": p} for s, d, p in REAL_ASSETS[:count]]
    for i in range(len(out), count):
        price = Decimal(str(round(float(np.exp(rng.normal(0, 3))), 6))).normalize()
        price = max(price, MIN_PRICE)
        out.append({"symbol": f"TKN{i + 1:03d}", "decimals": 8, "price": f"{price:f}"})
    return out


def asset_class(index: int, symbol: str, count: int) -> str:
    """The liquidity class of asset `index` (of `count`): the real symbols by name (the real
    ones past the mid caps are small caps), the synthetic tokens small caps for the first half
    of them and illiquid for the rest (the tail)."""
    if symbol in STABLECOINS:
        return "stablecoin"
    if symbol in MAJORS:
        return "major"
    if symbol in MID_CAPS:
        return "mid cap"
    real = min(count, len(REAL_ASSETS))
    if index < real:
        return "small cap"
    synthetic = count - real
    return "small cap" if index - real < (synthetic + 1) // 2 else "illiquid"


def round_coins(coins: float) -> int:
    """A whole number of coins near `coins` on the 1-2-5 scale (1, 2, 5, 10, 20, ...), at
    least 1: a boundary as an exchange would publish it."""
    if coins < 1.5:
        return 1
    power = 10 ** math.floor(math.log10(coins))
    steps = (1, 2, 5, 10)
    best = min(steps, key=lambda m: abs(math.log(coins / (m * power))))
    return best * power


def haircut_table(kind: str, price: Decimal, decimals: int) -> Table | None:
    """The table of an asset of this class at this price: TIERS_USD's boundaries in whole
    coins (`round_coins`). A tier the rounding leaves empty is dropped; a boundary past 2^63
    base units (a token priced at a fraction of a cent) makes its tier the open one."""
    tiers: list[Tier] = []
    for usd, percent in TIERS_USD[kind]:
        up_to = None if usd is None else round_coins(usd / float(price))
        if up_to is None or up_to * 10**decimals > BALANCE_LIMIT:
            tiers.append(Tier(None, percent))
            break
        if tiers and up_to <= tiers[-1].up_to:
            continue
        tiers.append(Tier(up_to, percent))
    table = tuple(tiers)
    if table == (Tier(None, 100),):
        return None
    check_table(table, decimals)
    return table


def scaled_haircuts(tiers: Tiers | None, equity: np.ndarray) -> np.ndarray:
    """`Tiers.scaled_haircut` (100 * haircut(x), exact) of every equity x (int64 base units in
    [0, MAX_BALANCE]) at once, in int64; None (no table) is 100 x. Exact without overflow:
    every term is at most 100 x <= 9 * 10^18 < 2^63."""
    x = np.asarray(equity, dtype=np.int64)
    if len(x) and (x.min() < 0 or x.max() > MAX_BALANCE):
        raise ValueError(f"equity outside [0, {MAX_BALANCE}]")
    if tiers is None:
        return 100 * x
    t = tiers.tier_of(x)
    lower = np.asarray(tiers.lower, dtype=np.int64)[t]
    ratio = np.asarray(tiers.ratio, dtype=np.int64)[t]
    # Lambda_t of a tier no x reaches may pass int64; x reaches only those below 100 x
    below = np.asarray([min(v, BALANCE_LIMIT) for v in tiers.loss_below], dtype=np.int64)[t]
    return 100 * x - ((100 - ratio) * (x - lower) + below)


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


def generate(users: int, assets: int, seed: int, haircuts: bool = True) -> Generated:
    """A synthetic snapshot, with haircut tables unless `haircuts` is False; ValueError (see
    check_inputs) for counts or a seed out of range."""
    check_inputs(users, assets, seed)
    rng = np.random.default_rng(seed)
    spec = asset_list(assets, rng)
    tiers: list[Tiers | None] = [None] * assets
    if haircuts:
        for j, a in enumerate(spec):
            kind = asset_class(j, a["symbol"], assets)
            table = haircut_table(kind, Decimal(a["price"]), a["decimals"])
            if table is not None:
                a["haircut"] = table_json(table)
                tiers[j] = Tiers.of(table, a["decimals"])
    price = np.array([float(a["price"]) for a in spec])
    unit = np.array([10.0 ** a["decimals"] for a in spec])  # base units per coin
    holds = rng.random((users, assets)) < np.minimum(1.0, 3.0 / assets)
    holds[np.arange(users), rng.integers(0, assets, users)] = True  # everyone holds something
    value_usd = (
        np.minimum(rng.lognormal(mean=6.0, sigma=2.5, size=(users, assets)), MAX_VALUE_USD) * holds
    )
    balances = np.floor(np.minimum(value_usd / price * unit, MAX_BALANCE)).astype(np.int64)
    _borrow(balances, price, unit, tiers, rng)
    ids = [f"user{i:07d}" for i in range(users)]
    return Generated(spec, ids, balances)


def _borrow(
    balances: np.ndarray,
    price: np.ndarray,
    unit: np.ndarray,
    tiers: list[Tiers | None],
    rng: np.random.Generator,
) -> None:
    """Margin and loans, in place: about MARGIN_SHARE of the users borrow an asset worth
    10-60% of what one asset they hold counts for after its haircut (one that counts for
    something; a user holding only illiquid tokens borrows nothing). The haircut value is
    exact; the debt, rounded down, is sized from it in floating point, which errs by far less
    than the 40% left over, so the rule holds exactly."""
    users, k = balances.shape
    margin = np.flatnonzero(rng.random(users) < MARGIN_SHARE)
    if k < 2 or not len(margin):
        return
    counted = np.stack(  # 100 x what each holding of these users counts for, in base units
        [scaled_haircuts(tiers[j], np.maximum(balances[margin, j], 0)) for j in range(k)], axis=1
    )
    eligible = counted > 0
    keep = eligible.any(axis=1)
    margin, counted, eligible = margin[keep], counted[keep], eligible[keep]
    collateral = np.where(eligible, rng.random(eligible.shape), -1.0).argmax(axis=1)
    borrowed = (collateral + rng.integers(1, k, len(margin))) % k
    share = rng.uniform(0.1, 0.6, len(margin))
    counted_usd = counted[np.arange(len(margin)), collateral] / 100 / unit[collateral]
    counted_usd *= price[collateral]
    debt = np.minimum(share * counted_usd / price[borrowed] * unit[borrowed], MAX_BALANCE)
    balances[margin, borrowed] = -np.floor(debt).astype(np.int64)


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
