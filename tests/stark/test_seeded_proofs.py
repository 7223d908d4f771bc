"""Seeded proofs are byte-identical across prover optimisations (issue 19).

Every optimisation of the prover (fused constraint kernels, reused buffers, compiled helper
constraints, chunked commitments) must compute the same field elements in the same order, so a
proof made with a fixed seed must not change by one byte. The digests below were recorded at
b35a08b, before any of that work; a change to them is a change of the proof system, not an
optimisation. The cases cover each kind of constraint the prover evaluates: the batch AIR of
format 2 with haircut tables and the leaf hash (width 24, without and with S-box registers),
its hidden-totals form, the aggregation AIR (version 2), and the generic example AIR, under
the fast preset and the default (`proven`, zero knowledge) one."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from circuits.aggregate import AggregateAir, aggregate_witness
from circuits.haircut import Tier
from circuits.leaf import id_commitments, new_nonces
from circuits.solvency import (
    Market,
    SolvencyAir,
    build_hidden_witness,
    build_witness_with_leaves,
)
from stark.examples import WideAir, wide_trace
from stark.params import PRESETS
from stark.prover import prove
from stark.randomness import ProverRandomness
from tests.circuits.test_aggregate import CONTEXT, SIZES, batch_totals, blindings
from tests.circuits.test_aggregate_equity import batch_equity
from tests.quick import QUICK

PROVEN = PRESETS["proven"]
FAST = replace(PRESETS["fast"], grinding_bits=2)
MARKET = Market(
    "USD",
    6,
    ("BTC", "USDT", "ETH"),
    (8, 6, 8),
    (970, 1, 35),
    ((Tier(10**8, 100), Tier(None, 90)), (Tier(100_000 * 10**6, 100), Tier(None, 50)), None),
)


def balances(users: int = 100) -> np.ndarray:
    """Solvent users, some with debt in one asset covered by another."""
    rng = np.random.default_rng(5)
    b = rng.integers(0, 10**9, size=(users, 3), dtype=np.int64)
    b[::7, 1] = -rng.integers(1, 10**6, size=len(b[::7]), dtype=np.int64)
    return b


def ids(users: int) -> np.ndarray:
    rng = ProverRandomness(3)
    return id_commitments([f"user-{i}" for i in range(users)], new_nonces(users, rng))


def batch_proof(params, *, sbox_registers: bool, users: int = 100) -> bytes:
    b = balances(users)
    statement, trace, leaves = build_witness_with_leaves(
        MARKET, b, ids(len(b)), sbox_registers=sbox_registers, rng=ProverRandomness(2)
    )
    air = SolvencyAir(statement, leaves, sbox_registers=sbox_registers)
    return prove(air, trace, params, seed=7).to_bytes()


def hidden_proof(params) -> bytes:
    b = balances()
    statement, trace, leaves, opening = build_hidden_witness(
        MARKET, b, ids(len(b)), sbox_registers=False, rng=ProverRandomness(2)
    )
    air = SolvencyAir(statement, leaves, sbox_registers=False, totals_commitment=opening.commitment)
    return prove(air, trace, params, seed=7).to_bytes()


def aggregate_proof(params) -> bytes:
    ot = batch_totals()
    statement, trace = aggregate_witness(CONTEXT, ot, blindings(), SIZES, equity=batch_equity(ot))
    return prove(AggregateAir(statement), trace, params, seed=7).to_bytes()


def wide_proof(params) -> bytes:
    air = WideAir(256, 6)
    return prove(air, wide_trace(256, 6), params, seed=7).to_bytes()


CASES = {
    "batch, leaves, no registers, proven": lambda: batch_proof(PROVEN, sbox_registers=False),
    "batch, leaves, no registers, fast": lambda: batch_proof(FAST, sbox_registers=False),
    # 8,192 rows: the constraint domain spans several chunks and the parallel kernels run
    "batch of 6,000 users, proven": lambda: batch_proof(PROVEN, sbox_registers=False, users=6000),
    "batch, leaves, registers, quick": lambda: batch_proof(QUICK, sbox_registers=True),
    "batch, hidden totals, proven": lambda: hidden_proof(PROVEN),
    "aggregation v2, proven": lambda: aggregate_proof(PROVEN),
    "wide example, proven": lambda: wide_proof(PROVEN),
}

DIGESTS = {
    "aggregation v2, proven": ("0265876628b83dab838a44dd2b4cd6aae8ffa4bb9a7e2fc2d9ede94f41e87759"),
    "batch of 6,000 users, proven": (
        "70708fe4e813ff1b776abed71fb434ea7338b2990104349c0c06f8b37fdf4b1f"
    ),
    "batch, hidden totals, proven": (
        "321f8769240056c57e015d4b72b67a6bf115a2e69df75499a6c387c6c0adc77c"
    ),
    "batch, leaves, no registers, fast": (
        "5d47b5f95f6b40e4a06e7082cfd191282f287a4c9fa154d822435c16e1aa19c2"
    ),
    "batch, leaves, no registers, proven": (
        "afe1e3a7cbb2e2aaee72fe48a90c11fd0e82a2d6da53478caed6c79380c65d32"
    ),
    "batch, leaves, registers, quick": (
        "7f790cff20fc0ba68df74b5a7917f7bedde8532ecb9481497a322d038eb9fee9"
    ),
    "wide example, proven": ("44ba29d935e71c9aeeb3a8526745f7dbef23f205469a2e4e0c07d01edbbb48d1"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_seeded_proof_is_byte_identical_to_the_recorded_one(case):
    digest = hashlib.sha256(CASES[case]()).hexdigest()
    assert digest == DIGESTS[case], f"{case}: the seeded proof changed"
