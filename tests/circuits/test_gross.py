"""Format 2 of the solvency AIR (issue 17): gross equity and debt per asset, and the haircut rule.

Every attack is forced through by a cheating prover (self-checks off) and must be rejected by
the verifier at the named constraint group; where the test could pass for another reason, a
control weakens exactly that group and shows the attack then verifies."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import haircut, solvency
from circuits.haircut import Tier, Tiers
from circuits.leaf import id_commitments, new_nonces
from circuits.solvency import (
    Insolvent,
    Market,
    SolvencyAir,
    Undercollateralised,
    build_hidden_witness,
    build_witness,
    build_witness_with_leaves,
)
from circuits.totals import totals_commitment
from stark.field import GF, ExtensionField
from stark.params import PRESETS
from stark.proof import VerificationError
from stark.prover import ProverError, prove
from stark.randomness import ProverRandomness
from stark.verifier import verify

PARAMS = replace(PRESETS["fast"], grinding_bits=2)
COIN = {"BTC": 10**8, "USDT": 10**6}
# USD per base unit times 10^6: BTC at 97,000 and USDT at 1 (docs/equity-debt-haircuts.md, 8.6)
PRICES = {"BTC": 970, "USDT": 1}
USDT_TIERS = (Tier(100_000, 100), Tier(1_000_000, 80), Tier(None, 50))


def market(usdt: tuple | None = USDT_TIERS, btc: tuple | None = None) -> Market:
    tables = () if usdt is None and btc is None else (btc, usdt)
    return Market("USD", 6, ("BTC", "USDT"), (8, 6), (970, 1), tables)


def users(*rows: tuple[int, int], padding: int = 20) -> np.ndarray:
    """The given (BTC, USDT) balances in base units, then solvent users holding a little."""
    extra = [(10**6 * (i + 1), 10**7 * (i + 2)) for i in range(padding)]
    return np.array([*rows, *extra], dtype=np.int64)


def proves(air: SolvencyAir, trace: GF) -> None:
    verify(air, prove(air, trace, PARAMS).to_bytes(), min_bits=0)


def first_violation(air: SolvencyAir, trace: GF) -> str | None:
    """The group of the first violated constraint (LogUp with any challenge), or None."""
    challenges = ExtensionField(PARAMS.extension_degree).random((1,), seed=3)
    found = air.find_violation(trace, air.build_aux_trace(trace, challenges), challenges)
    if found is None:
        return None
    return air.constraint_name(int(found[0].split()[-1])) if "transition" in found[0] else found[0]


def rejected(air: SolvencyAir, trace: GF) -> None:
    with pytest.raises(ProverError):
        prove(air, trace, PARAMS)
    proof = prove(air, trace, PARAMS, check=False)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), min_bits=0)


def forced(market_: Market, b: np.ndarray, monkeypatch, **kwargs):
    """The witness builder with its solvency check off: a cheating prover's trace."""
    original = solvency._user_value

    def lenient(*args):
        with contextlib.suppress(Insolvent):
            original(*args)

    monkeypatch.setattr(solvency, "_user_value", lenient)
    return build_witness(market_, b, **kwargs)


class Without(SolvencyAir):
    """A weakened control: the named constraint groups evaluate to 0 (a check removed)."""

    def __init__(self, statement, dropped: tuple[str, ...], **kwargs):
        super().__init__(statement, **kwargs)
        self.dropped = dropped

    def evaluate_transition(self, f):
        values = super().evaluate_transition(f)
        start, out = 0, list(values)
        for name, group in self.constraint_groups():
            if name in self.dropped:
                for i in range(start, start + len(group)):
                    out[i] = values[i] * GF(0)
            start += len(group)
        return out


# -- gross equity and debt -------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**40), 2**40)),
        min_size=1,
        max_size=8,
    )
)
def test_equity_and_debt_are_the_exact_gross_sums(rows):
    b = np.array(rows, dtype=np.int64)
    flat = Market("USD", 0, ("A", "B"), (0, 0), (0, 0))  # price 0: any balances are solvent
    statement, _ = build_witness(flat, b)
    for j in range(2):
        column = [int(v) for v in b[:, j]]
        assert statement.equity[j] == sum(v for v in column if v > 0)
        assert statement.equity[j] - statement.totals[j] == sum(-v for v in column if v < 0)


def test_honest_format_2_proofs_verify_with_and_without_tables():
    b = users((-2 * COIN["BTC"], 300_000 * COIN["USDT"]), (5 * COIN["BTC"], -COIN["USDT"]))
    for m in (market(None), market(), market(btc=(Tier(None, 80),))):
        statement, trace = build_witness(m, b)
        assert statement.equity == (int(b[b[:, 0] > 0, 0].sum()), int(b[b[:, 1] > 0, 1].sum()))
        proves(SolvencyAir(statement), trace)


def test_lowered_equity_is_rejected_at_the_equity_totals():
    """The dummy user's 2 BTC of debt hidden: E_BTC claimed 2 BTC lower (so that D_BTC looks
    as without the dummy) is rejected by the equity chain; without that chain it verifies."""
    b = users((-2 * COIN["BTC"], 300_000 * COIN["USDT"]))
    statement, trace = build_witness(market(None), b)
    equity = (statement.equity[0] - 2 * COIN["BTC"], statement.equity[1])
    # the totals are honest; only the equity moves (the debt E - T then looks 2 BTC lower)
    lying = replace(statement, equity=equity)
    assert first_violation(SolvencyAir(lying), trace) == "equity totals"
    rejected(SolvencyAir(lying), trace)
    control = Without(lying, ("equity totals",))
    verify(control, prove(control, trace, PARAMS).to_bytes(), min_bits=0)


def test_format_2_proof_does_not_verify_as_format_1_nor_with_another_table():
    b = users((-2 * COIN["BTC"], 300_000 * COIN["USDT"]))
    statement, trace = build_witness(market(), b)
    proof = prove(SolvencyAir(statement), trace, PARAMS).to_bytes()
    v1, _ = build_witness(replace(market(), haircuts=()), b, gross=False)
    lenient = (Tier(100_000, 100), Tier(1_000_000, 90), Tier(None, 50))
    for other in (
        v1,
        replace(statement, haircuts=(None, lenient)),
        replace(statement, haircuts=()),
    ):
        with pytest.raises(VerificationError):
            verify(SolvencyAir(other), proof, min_bits=0)


# -- the haircut rule at its limit (docs/equity-debt-haircuts.md, 8.6) ----------------------------
# -2 BTC is 194,000 USD of debt; 217,500 USDT counts 100,000 + 0.8 * 117,500 = 194,000 exactly
AT_LIMIT = (-2 * COIN["BTC"], 217_500 * COIN["USDT"])


def test_user_exactly_at_the_limit_proves():
    statement, trace = build_witness(market(), users(AT_LIMIT))
    proves(SolvencyAir(statement), trace)


def test_one_base_unit_under_the_limit_is_named_and_rejected(monkeypatch):
    short = (AT_LIMIT[0], AT_LIMIT[1] - 1)
    with pytest.raises(Undercollateralised) as err:
        build_witness(market(), users((0, 0), short))
    assert err.value.rows == [1]
    statement, trace = forced(market(), users((0, 0), short), monkeypatch)
    air = SolvencyAir(statement)
    assert first_violation(air, trace) == "user value"
    rejected(air, trace)
    # without tables the same user is solvent at 100% (217,500 USD against 194,000)
    build_witness(market(None), users((0, 0), short))


@pytest.mark.parametrize("usdt", [100_000 * COIN["USDT"] + d for d in (-1, 0, 1)])
def test_either_side_of_a_boundary(usdt):
    """One base unit below, at and above the first boundary: each proves, and the debt each
    carries at the limit (computed exactly) is accepted where one unit more is refused."""
    tiers = Tiers.of(USDT_TIERS, 6)
    collateral = tiers.scaled_haircut(usdt)  # 100 * haircut in USDT base units, price 1
    debt = collateral // (100 * 970)  # BTC base units: 100 P_BTC debt <= P_USDT H
    statement, trace = build_witness(market(), users((-debt, usdt)))
    proves(SolvencyAir(statement), trace)
    if collateral % (100 * 970) == 0:  # only then is one more base unit of debt over
        with pytest.raises(Undercollateralised):
            build_witness(market(), users((-debt - 1, usdt)))


def test_at_a_boundary_both_tiers_give_the_same_proof_value(monkeypatch):
    """The equity exactly at a boundary may be named in the tier below (hi = 0) or above
    (lo = 0): both witnesses verify (the haircut function is continuous)."""
    b = users((-COIN["BTC"], 100_000 * COIN["USDT"]))
    statement, trace = build_witness(market(), b)
    assert int(trace[SolvencyAir(statement).layout.selector(1, 1), 0]) == 1  # the tier above
    proves(SolvencyAir(statement), trace)

    def lower_tier(self, equity):
        lower = np.asarray(self.lower, dtype=np.int64)
        return np.searchsorted(lower[1:], equity, side="left")

    monkeypatch.setattr(Tiers, "tier_of", lower_tier)
    statement, trace = build_witness(market(), b)
    air = SolvencyAir(statement)
    assert int(trace[air.layout.selector(1, 1), 0]) == 0  # named in tier 0 this time
    proves(air, trace)


def test_naming_a_better_tier_is_rejected_at_its_upper_bound(monkeypatch):
    """The dummy-user attack against a 100/95 USDT table: -1.56 BTC against 151,320 USDT.
    Named in tier 0 (all at 100%), the user would pass; lo + hi = W_0 then has no
    non-negative hi and the upper bound fails. Control: without the upper-bound chain and
    the range check (which sees hi's limbs) the attack verifies."""
    table = (Tier(100_000, 100), Tier(None, 95))
    m = market(table)
    dummy = (-156_000_000, 151_320 * COIN["USDT"])  # net 0 at 97,000 USD per BTC
    with pytest.raises(Undercollateralised) as err:
        build_witness(m, users(dummy))
    assert err.value.rows == [0]
    build_witness(market(None), users(dummy))  # at 100% it passes: today's rule
    monkeypatch.setattr(Tiers, "tier_of", lambda self, eq: np.zeros(len(eq), dtype=np.int64))
    statement, trace = build_witness(m, users(dummy))  # tier 0 for everyone: no loss
    air = SolvencyAir(statement)
    assert first_violation(air, trace) == "USDT tier upper bound"
    rejected(air, trace)
    control = Without(statement, ("USDT tier upper bound", "range check", "range check sum"))
    verify(control, prove(control, trace, PARAMS).to_bytes(), min_bits=0)


def test_illiquid_token_at_zero_counts_for_nothing(monkeypatch):
    """-10 BTC against 1,000 JUNK priced at 1,000 USD: fine at 100%, refused under
    "1,000 @ 50, rest @ 0" (JUNK then counts 500,000 USD at most, however priced)."""
    junk = Market("USD", 6, ("BTC", "JUNK"), (8, 0), (970, 1_000_000_000), ((None, None)))
    b = np.array([(-10 * COIN["BTC"], 1_000), (COIN["BTC"], 0)], dtype=np.int64)
    build_witness(junk, b)
    tabled = replace(junk, haircuts=(None, (Tier(1_000, 50), Tier(None, 0))))
    with pytest.raises(Undercollateralised):
        build_witness(tabled, b)
    rich = b.copy()
    rich[0, 1] = 10**9  # a million times more JUNK counts no more than 1,000 of them
    with pytest.raises(Undercollateralised):
        build_witness(tabled, rich)
    statement, trace = forced(tabled, b, monkeypatch)
    assert first_violation(SolvencyAir(statement), trace) == "user value"
    rejected(SolvencyAir(statement), trace)


def test_debt_in_an_asset_with_a_table():
    """A user owing USDT (which has a table) against BTC collateral: the table applies to
    equity only, the debt counts in full."""
    b = users((COIN["BTC"], -96_999 * COIN["USDT"]))
    statement, trace = build_witness(market(), b)
    air = SolvencyAir(statement)
    assert int(trace[air.layout.lo(1, 0), 0]) == 0
    proves(air, trace)
    with pytest.raises(Undercollateralised):
        build_witness(market(), users((COIN["BTC"], -97_001 * COIN["USDT"])))


def test_flat_single_tier_table():
    """One tier at 80%: no columns, the loss is affine in the equity limbs."""
    flat = market(btc=(Tier(None, 80),), usdt=None)
    b = users((COIN["BTC"], -77_600 * COIN["USDT"]))  # 0.8 * 97,000 = 77,600 exactly
    statement, trace = build_witness(flat, b)
    air = SolvencyAir(statement)
    plain = SolvencyAir(build_witness(replace(flat, haircuts=()), b)[0])
    more_positions = air.layout.positions - plain.layout.positions  # Q = 100 P: a digit more
    assert air.main_width == plain.main_width + 4 * more_positions  # a value digit, 3 carries
    proves(air, trace)
    with pytest.raises(Undercollateralised):
        build_witness(flat, users((COIN["BTC"], -77_600 * COIN["USDT"] - 1)))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 10**4), min_size=0, max_size=7, unique=True),
    st.lists(st.integers(0, 100), min_size=8, max_size=8),
    st.integers(0, 10**5 * 10**6),
    st.integers(0, 10**5 * 10**6),
)
def test_rule_matches_its_reference(bounds, ratios, equity, debt):
    """The witness builder accepts a user exactly when the rule holds by the reference
    haircut (each tier's share of the equity at its ratio), and its trace satisfies every
    constraint when it does."""
    bounds = sorted(bounds)
    ratios = sorted(ratios, reverse=True)[: len(bounds) + 1]
    table = (*(Tier(b, r) for b, r in zip(bounds, ratios, strict=False)), Tier(None, ratios[-1]))
    if all(t.percent == 100 for t in table):
        return  # no table, which has one encoding (refused as a table)
    decimals = 6
    reference = 0
    lower = [0, *(b * 10**decimals for b in bounds)]
    upper = [*lower[1:], haircut.BALANCE_LIMIT]
    for lo, hi, tier in zip(lower, upper, table, strict=True):
        reference += tier.percent * min(max(equity - lo, 0), hi - lo)
    assert Tiers.of(table, decimals).scaled_haircut(equity) == reference
    m = Market("USD", 6, ("USDT", "EUR"), (6, 6), (1, 1), (table, None))
    b = np.array([(equity, -debt)], dtype=np.int64)
    if 100 * debt <= reference:
        statement, trace = build_witness(m, b)
        assert first_violation(SolvencyAir(statement), trace) is None
    else:
        with pytest.raises(Undercollateralised):
            build_witness(m, b)


# -- hidden equity (batches) -----------------------------------------------------------------------
def test_hidden_equity_is_committed_and_opened():
    b = users((-2 * COIN["BTC"], 300_000 * COIN["USDT"]))
    statement, trace, _, opening = build_hidden_witness(market(), b, rng=ProverRandomness(4))
    assert statement.equity == (0, 0) and statement.hidden_totals
    public, _ = build_witness(market(), b)
    assert opening.equity == public.equity
    expected = totals_commitment(opening.offset_totals, opening.blinding, opening.equity)
    assert np.array_equal(opening.commitment, expected)
    v1 = totals_commitment(opening.offset_totals, opening.blinding)
    assert not np.array_equal(opening.commitment, v1)
    air = SolvencyAir(statement, totals_commitment=opening.commitment)
    assert air.name == "solvency-v2-hidden"
    proves(air, trace)


def test_hidden_equity_lowered_in_the_cells_is_rejected():
    """Batch 0's equity digit cells lowered by the dummy's 2 BTC, its commitment recomputed
    to match: the hidden equity chain fails."""
    b = users((-2 * COIN["BTC"], 300_000 * COIN["USDT"]))
    statement, trace, _, opening = build_hidden_witness(market(), b, rng=ProverRandomness(4))
    air = SolvencyAir(statement, totals_commitment=opening.commitment)
    lowered = (opening.equity[0] - 2 * COIN["BTC"], opening.equity[1])
    cheat = np.asarray(trace, dtype=np.int64).copy()
    lay = air.layout
    cheat[lay.teq : lay.teq + solvency.EQUITY_DIGITS, 0] = solvency.digits(
        lowered[0], solvency.EQUITY_DIGITS
    )
    states = solvency.commitment_states(opening.offset_totals, opening.blinding, lowered)
    inputs = np.zeros((air.trace_len, 16), dtype=np.uint64)
    inputs[: len(states)] = states
    outputs = lay.totals_gadget.fill(cheat, inputs)
    lying = SolvencyAir(statement, totals_commitment=outputs[statement.num_assets, :8])
    assert first_violation(lying, GF(cheat)) == "equity totals"
    rejected(lying, GF(cheat))


class WithoutEquityStart(SolvencyAir):
    """The control: the equity running sums without their starting value (the AIR as first
    written, which a cold attack broke)."""

    def boundary_constraints(self):
        starts = {
            self.layout.r_eq(j, l) for j in range(self.statement.num_assets) for l in range(7)
        }
        return [b for b in super().boundary_constraints() if b.column not in starts or b.aux]


@pytest.mark.parametrize("hidden", [False, True])
def test_equity_running_sums_shifted_by_a_constant_are_rejected(hidden):
    """Adding c_l to a whole equity running-sum column keeps every transition and moves the
    sum the equity chain reads by c_l: the chain would close on any claimed equity (here: no
    BTC debt at all, and USDT equity inflated; hidden, the commitment opened to it). The
    boundary r_eq = 0 on row j + 1 stops it; the control without it verifies."""
    b = users((-2 * COIN["BTC"], 300_000 * COIN["USDT"]))
    if hidden:
        statement, trace, _, opening = build_hidden_witness(market(), b, rng=ProverRandomness(4))
        true, totals = opening.equity, opening.totals
    else:
        statement, trace = build_witness(market(), b)
        true, totals = statement.equity, statement.totals
    claimed = (totals[0], true[1] + 123_456_789)

    def chain(e: int) -> list[int]:  # what the equity chain reads on row j, limb by limb
        d = solvency.digits(e % (1 << 63), 7)
        d[-1] += 512 * (e >> 63)
        return d

    cheat = np.asarray(trace, dtype=np.int64).copy()
    if hidden:
        lay = SolvencyAir(statement, totals_commitment=opening.commitment).layout
        for j in range(2):
            cells = slice(lay.teq, lay.teq + solvency.EQUITY_DIGITS)
            cheat[cells, j] = solvency.digits(claimed[j], solvency.EQUITY_DIGITS)
        remultiplied(cheat, SolvencyAir(statement, totals_commitment=opening.commitment))
        states = solvency.commitment_states(opening.offset_totals, opening.blinding, claimed)
        inputs = np.zeros((statement.trace_len, 16), dtype=np.uint64)
        inputs[: len(states)] = states
        commitment = lay.totals_gadget.fill(cheat, inputs)[2, :8]

        def make(cls):
            return cls(statement, totals_commitment=commitment)
    else:
        lay = SolvencyAir(statement).layout
        lying = replace(statement, equity=claimed)

        def make(cls):
            return cls(lying)

    for j in range(2):
        for l in range(7):
            cheat[lay.r_eq(j, l)] += chain(claimed[j])[l] - chain(true[j])[l]
    forged = GF(cheat % solvency.P)
    rejected(make(SolvencyAir), forged)
    control = make(WithoutEquityStart)
    verify(control, prove(control, forged, PARAMS).to_bytes(), min_bits=0)


def remultiplied(trace: np.ndarray, air: SolvencyAir) -> None:
    """The multiplicities recounted in place (the cheating prover's digit cells changed)."""
    lay = air.layout
    looked = np.stack(
        [trace[c] for c in lay.range_checked()] + [64 * trace[c] for c in lay.kappa2()]
    )
    flat = looked.reshape(-1)
    trace[lay.mult] = 0
    trace[lay.mult, : solvency.BASE] = np.bincount(flat, minlength=solvency.BASE)[: solvency.BASE]


def test_the_open_tier_reaches_the_largest_balance():
    """The last tier is open: its width is 2^63 - 1 - its lower boundary, so a user holding
    the largest balance there proves (and owes what that counts for, exactly)."""
    table = (Tier(92_233_720_368, 100), Tier(None, 50))  # the largest boundary at 8 decimals
    m = Market("USD", 0, ("BTC", "USD"), (8, 0), (1, 1), (table, None))
    top = haircut.BALANCE_LIMIT
    owed = Tiers.of(table, 8).scaled_haircut(top) // 100
    statement, trace = build_witness(m, np.array([(top, -owed), (0, 0)], dtype=np.int64))
    air = SolvencyAir(statement)
    assert int(trace[air.layout.selector(0, 1), 0]) == 1  # named in the open tier
    proves(air, trace)
    with pytest.raises(Undercollateralised):
        build_witness(m, np.array([(top, -owed - 1), (0, 0)], dtype=np.int64))


@pytest.mark.parametrize("shift", [1, -1])
def test_helpers_of_six_still_range_check(shift):
    """With the leaf hash without S-box registers (degree 7) a LogUp helper sums 6 values. An
    upper-bound limb moved by 512 (to 512 + x, or to x - 512 = p - ...) with the next limb
    moved back keeps every chunk, so only the range check can see it, and it does."""
    b = users((-2 * COIN["BTC"], 300_000 * COIN["USDT"]))
    rng = ProverRandomness(3)
    ids = id_commitments([f"u{i}" for i in range(len(b))], new_nonces(len(b), rng))
    statement, trace, leaves = build_witness_with_leaves(
        market(), b, ids, sbox_registers=False, rng=rng
    )
    air = SolvencyAir(statement, leaves, sbox_registers=False)
    assert air.lookup_group == 6
    cheat = np.asarray(trace, dtype=np.int64).copy()
    row, lay = air.trace_len - 1, air.layout  # a padding row: hi = W_0, 10^11 base units
    assert 1 <= cheat[lay.hi(1, 1), row] < solvency.BASE - 1
    cheat[lay.hi(1, 0), row] += solvency.BASE * shift
    cheat[lay.hi(1, 1), row] -= shift
    forged = GF(cheat % solvency.P)
    assert first_violation(air, forged) == "range check sum"
    rejected(air, forged)
    control = Without(statement, ("range check sum",), leaves=leaves, sbox_registers=False)
    verify(control, prove(control, forged, PARAMS).to_bytes(), min_bits=0)
