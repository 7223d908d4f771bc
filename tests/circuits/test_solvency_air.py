"""The solvency AIR: honest proofs verify, and every known attack is rejected when a cheating
prover forces its proof through (self-checks off)."""

import contextlib
from dataclasses import replace

import numpy as np
import pytest

from circuits import solvency
from circuits.solvency import (
    BASE,
    LIMBS,
    Insolvent,
    Market,
    SolvencyAir,
    build_witness,
)
from stark.field import GF, P
from stark.params import PRESETS
from stark.proof import VerificationError
from stark.prover import ProverError, prove
from stark.verifier import verify

PARAMS = replace(PRESETS["fast"], grinding_bits=2)
MARKET = Market(
    "USD",
    10,
    ("BTC", "ETH", "USDT"),
    (8, 8, 6),
    (97_000_120_000_00, 3_400_550_000_00, 1_000_100_000_000),
)


def balances(users: int = 40, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 10**10, size=(users, 3))
    b[3, 0] = -(10**6)  # a margin user: owes BTC, holds plenty of the rest
    return b


def rejected(air: SolvencyAir, trace: GF) -> None:
    with pytest.raises(ProverError):
        prove(air, trace, PARAMS)
    proof = prove(air, trace, PARAMS, check=False)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), min_bits=0)


def test_honest_proof_verifies():
    statement, trace = build_witness(MARKET, balances())
    air = SolvencyAir(statement)
    verify(air, prove(air, trace, PARAMS).to_bytes(), min_bits=0)
    assert list(statement.totals) == [int(c) for c in balances().sum(axis=0)]


@pytest.mark.parametrize("value", [-(1 << 63), (1 << 63) - 1, -1, 0])
def test_extreme_balances(value):
    """The ends of the supported range [-2^63, 2^63) (others hold enough to stay solvent)."""
    b = np.zeros((3, 3), dtype=np.int64)
    b[0, 2] = value
    if value < 0:
        b[0, 0] = (1 << 63) - 1  # BTC is worth far more than USDT per base unit
    statement, trace = build_witness(MARKET, b)
    assert statement.totals[2] == value
    air = SolvencyAir(statement)
    verify(air, prove(air, trace, PARAMS), min_bits=0)


def test_insolvent_user_is_named():
    b = balances()
    b[7] = [-(10**9), 0, 0]
    b[9] = [0, -5, 0]
    with pytest.raises(Insolvent) as err:
        build_witness(MARKET, b)
    assert err.value.rows == [7, 9]


def forced_witness(b: np.ndarray, monkeypatch) -> tuple[SolvencyAir, GF]:
    """The witness builder with its insolvency check disabled: a cheating prover's trace."""

    def lenient(*args):
        with contextlib.suppress(Insolvent):
            original(*args)

    original = solvency._user_value
    monkeypatch.setattr(solvency, "_user_value", lenient)
    statement, trace = build_witness(MARKET, b)
    return SolvencyAir(statement), trace


def test_negative_user_value_is_rejected(monkeypatch):
    b = balances()
    b[5] = [-(10**9), 10, 10]
    air, trace = forced_witness(b, monkeypatch)
    rejected(air, trace)


def test_user_value_must_come_from_the_same_balances(monkeypatch):
    """The known attack: the value digits computed from different balances than the limbs
    that the totals use."""
    insolvent = balances()
    insolvent[5] = [-(10**9), 10, 10]
    air, trace = forced_witness(insolvent, monkeypatch)
    solvent = insolvent.copy()
    solvent[5, 0] = 0
    _, honest = build_witness(MARKET, solvent)
    lay = air.layout
    cheat = trace.copy()
    rows = slice(lay.value, lay.mult)  # value digits and carries of the solvent user
    cheat[rows, 5] = honest[rows, 5]
    rejected(air, cheat)


@pytest.mark.parametrize("bad", [P - 1, BASE, 1 << 20])
def test_limb_outside_its_range_is_rejected(bad):
    """A limb of p - 1 (a negative balance encoded as p - x) or just past 9 bits, with the
    running sums patched to stay consistent, fails the range check."""
    statement, trace = build_witness(MARKET, balances())
    air = SolvencyAir(statement)
    lay = air.layout
    cheat = np.asarray(trace, dtype=np.int64).copy()
    old = cheat[lay.u(1, 0), 10]
    cheat[lay.u(1, 0), 10] = bad
    # keep r' = r + u true after row 10 by moving the difference into the next user's limb
    cheat[lay.u(1, 0), 11] = (cheat[lay.u(1, 0), 11] - (bad - old)) % P
    rejected(air, GF(cheat % P))


def test_bit_limb_must_be_a_bit():
    statement, trace = build_witness(MARKET, balances())
    air = SolvencyAir(statement)
    cheat = trace.copy()
    cheat[air.layout.u(0, LIMBS - 1), 4] = 2
    rejected(air, cheat)


@pytest.mark.parametrize("gross", [True, False])
@pytest.mark.parametrize("delta", [1, -1, P, -P, 1 << 64])
def test_total_off_by_anything_is_rejected(delta, gross):
    """A statement whose total differs by one base unit, by p (what a wrapped per-limb sum
    would hide) or by 2^64 cannot be proved, in both formats (in format 2 the equity moves
    with it, so that the debt E - T stays what the balances owe)."""
    statement, trace = build_witness(MARKET, balances(), gross=gross)
    changes = {"totals": (statement.totals[0] + delta, *statement.totals[1:])}
    if gross:
        changes["equity"] = (statement.equity[0] + max(delta, 0), *statement.equity[1:])
    rejected(SolvencyAir(replace(statement, **changes)), trace)


def test_impossible_total_is_refused_as_a_public_parameter():
    """A total beyond what n balances can reach (e.g. one shifted by 2^72, the top carry's
    weight) is refused before any proving or verifying."""
    statement, _ = build_witness(MARKET, balances())
    with pytest.raises(ValueError, match="larger than"):
        replace(statement, totals=(statement.totals[0] + (1 << 72), *statement.totals[1:]))


def test_proof_moved_to_another_statement_is_rejected():
    statement, trace = build_witness(MARKET, balances())
    proof = prove(SolvencyAir(statement), trace, PARAMS).to_bytes()
    others = [
        replace(statement, totals=(statement.totals[0] + 1, *statement.totals[1:])),
        replace(statement, prices=(statement.prices[0] + 1, *statement.prices[1:])),
        replace(statement, symbols=("XBT", "ETH", "USDT")),
        replace(statement, decimals=(9, 8, 6)),
        replace(statement, scale=11),
        replace(statement, quote="EUR"),
    ]
    for other in others:
        with pytest.raises(VerificationError):
            verify(SolvencyAir(other), proof, min_bits=0)


def test_unchecked_carry_cannot_wrap():
    """A totals carry outside [0, 2^18) (here: shifted by p / 512 to fake a wrap) is refused."""
    statement, trace = build_witness(MARKET, balances())
    air = SolvencyAir(statement)
    cheat = trace.copy()
    cheat[air.layout.carry_hi, 0] = (int(cheat[air.layout.carry_hi, 0]) + BASE) % P
    rejected(air, cheat)
