"""Attack tool (issue 18, the JS verifier as a cheating exchange sees it): random statements of
the batch AIR, far outside the tracer's 14 (tests/web/trace_air.py), each evaluated by
Python's SolvencyAir at a random extension-field frame; web/tools/attack_air_random.mjs
compares every part with solvency_air.js (name, shape, transition list, boundaries, periodic
columns, public-input bytes, every constraint value).

A difference in any constraint value at a random frame means the JS composition is another
polynomial than Python's: a cheating prover could satisfy the JS one while violating
Python's (or the reverse). The statements vary what a cheating exchange controls in
statement.json within what read_statement accepts: 1 to 12 assets (one of 40, one of 200),
formats 1 and 2, haircut tables of 1 to 8 tiers with extreme boundaries and percents (0, 100),
decimals 0 to 18, prices 0 to 2^90 - 1 (digit patterns with zero digits), scale up to
2^16 - 1, totals and equities at their bounds (negative totals, n 2^63), hidden totals,
leaves (widths 16 and 24, with or without registers), issuer texts with non-ASCII.

    PYTHONPATH=$PWD python web/tools/attack_air_random.py COUNT SEED [N] > cases.json
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from circuits.haircut import BALANCE_LIMIT, Tier
from circuits.solvency import OFFSET, Statement

ROOT = Path(__file__).resolve().parents[2]
N = 512
SNAPSHOT = "c3" * 32


def _trace_air():
    spec = importlib.util.spec_from_file_location(
        "trace_air", ROOT / "tests" / "web" / "trace_air.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_table(rng: np.random.Generator, decimals: int):
    m = int(rng.integers(1, 9))
    limit = BALANCE_LIMIT // 10**decimals  # up_to * 10^decimals <= 2^63 - 1
    if limit < m:
        m = 1
    drawn = [int(rng.choice([0, 100, int(rng.integers(0, 101))])) for _ in range(m)]
    percents = sorted(drawn, reverse=True)
    if all(p == 100 for p in percents):
        percents[-1] = int(rng.integers(0, 100))
    bounds: list[int] = []
    for t in range(m - 1):
        low = (bounds[-1] if bounds else 0) + 1
        high = limit - (m - 2 - t)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            b = low
        elif kind == 1:
            b = high
        else:
            b = int(rng.integers(low, high + 1)) if high > low else low
        bounds.append(max(low, min(b, high)))
    return tuple(Tier(bounds[t] if t < m - 1 else None, percents[t]) for t in range(m))


def random_price(rng: np.random.Generator) -> int:
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return 0
    if kind == 1:
        return (1 << 90) - 1
    if kind == 2:  # digits with zeros in the middle
        return 512 ** int(rng.integers(1, 10)) + int(rng.integers(0, 3))
    bits = int(rng.integers(1, 91))
    if bits <= 62:
        return int(rng.integers(0, 1 << bits))
    return int(rng.integers(0, 1 << 62)) * (1 << (bits - 62)) + int(rng.integers(0, 2))


def random_statement(rng: np.random.Generator, index: int, n: int = N) -> tuple[Statement, dict]:
    k = {7: 40, 19: 200}.get(index, int(rng.integers(1, 13)))
    gross = bool(rng.integers(0, 2))
    hidden = bool(rng.integers(0, 2))
    decimals = tuple(int(rng.choice([0, 2, 6, 8, 18, int(rng.integers(0, 19))])) for _ in range(k))
    prices = tuple(random_price(rng) for _ in range(k))
    if gross:
        haircuts = tuple(random_table(rng, d) if rng.integers(0, 3) else None for d in decimals)
        if not rng.integers(0, 4):
            haircuts = ()
    else:
        haircuts = ()
    if hidden:
        totals = (0,) * k
        equity = (0,) * k if gross else None
    else:
        totals_l, equity_l = [], []
        for _ in range(k):
            kind = int(rng.integers(0, 4))
            big = int(rng.integers(0, 1 << 62))
            if gross:  # 0 <= E <= n (2^63 - 1) and 0 <= E - T <= n 2^63
                e = [0, n * BALANCE_LIMIT, big * int(rng.integers(1, n)), 1][kind]
                d = [0, n * OFFSET, int(rng.integers(0, 1 << 62)), e][int(rng.integers(0, 4))]
                equity_l.append(e)
                totals_l.append(e - min(d, n * OFFSET))
            else:  # |T| <= n 2^63
                totals_l.append([-n * OFFSET, n * OFFSET, (big - (1 << 61)) * 7, 0][kind])
        totals = tuple(totals_l)
        equity = tuple(equity_l) if gross else None
    batch = (int(rng.integers(0, 3)), 3, SNAPSHOT) if hidden else (0, 1, SNAPSHOT)
    issuer = ["Exchange Ä", "交易所", "X", "a" * 256, "Ünïcödé 𝔘"][int(rng.integers(0, 5))]
    s = Statement(
        quote=["USD", "EUR", "usdt.e-1"][int(rng.integers(0, 3))],
        scale=int(rng.choice([0, 2, 8, 65535, int(rng.integers(0, 1 << 16))])),
        symbols=tuple(f"A{j}" for j in range(k)),
        decimals=decimals,
        prices=prices,
        totals=totals,
        trace_len=n,
        issuer=issuer,
        as_of=["2026-06-30T23:59:59Z", "2024-02-29T00:00:00.123456Z"][int(rng.integers(0, 2))],
        insecure_seeded=bool(rng.integers(0, 2)),
        hidden_totals=hidden,
        batch=batch,
        equity=equity,
        haircuts=haircuts,
    )
    choice = int(rng.integers(0, 4))
    options = [
        {"leaves": True, "leaf_width": 24, "sbox_registers": False},  # publication_air
        {"leaves": True, "leaf_width": 16, "sbox_registers": True},
        {"leaves": False, "sbox_registers": bool(rng.integers(0, 2))},
        {"leaves": True, "leaf_width": 24, "sbox_registers": False},
    ][choice]
    return s, options


def build(count: int, seed: int, n: int = N) -> list[dict]:
    trace_air = _trace_air()
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        s, options = random_statement(rng, i, n)
        out.append(trace_air.case(f"random {seed}/{i}", s, 5 if i % 2 else 4, rng, options))
    return out


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    n = int(sys.argv[3]) if len(sys.argv) > 3 else N
    json.dump(build(count, seed, n), sys.stdout, separators=(",", ":"))
