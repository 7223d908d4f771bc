"""Version 2 of the aggregation AIR (circuits/aggregate.py, issue 17): every batch commitment
also holds the batch's gross equities E_bj, the AIR opens them and proves the public grand
equities E_j = sum_b E_bj. An honest proof verifies; each cheating prover (self-checks off) is
rejected, the first constraint it breaks being the one meant to catch it, and where a
weakened check is meaningful, a control shows the attack passing without it. Version 1 is
unchanged: same encoding (a hard-coded SHA-256) and the same seeded proof, byte for byte, as
the module of the commit before version 2."""

import hashlib
import sys
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.aggregate import (
    BASE,
    EQUITY_CARRIES,
    EQUITY_LIMBS,
    LIMB_BITS,
    LIMBS,
    OFFSET,
    AggregateAir,
    TotalsCommitmentGadget,
    aggregate_witness,
    grand_equity,
    grand_totals,
)
from circuits.totals import (
    CHUNKS,
    new_blinding,
    offset_totals,
    sponge_iv,
    totals_commitment,
)
from stark.field import GF, ExtensionField, P, reduced
from stark.proof import VerificationError
from stark.prover import ProverError, prove
from stark.randomness import ProverRandomness
from stark.verifier import verify
from tests.circuits.test_aggregate import CONTEXT, SIZES, batch_totals, blindings
from tests.history import module_at
from tests.quick import QUICK

K = 3
START = "b6947ee"  # the last commit before version 2


def batch_equity(ot: list[list[int]], seed: int = 4) -> list[list[int]]:
    """Gross equities consistent with the offset totals: E_bj = max(T_bj, 0) + x, x in
    [1, 2^60) (so E_bj - 1 is still consistent), each far below n_b (2^63 - 1)."""
    rng = np.random.default_rng(seed)
    out = []
    for row, n in zip(ot, SIZES, strict=True):
        out.append([max(t - n * OFFSET, 0) + int(rng.integers(1, 1 << 60)) for t in row])
    return out


@pytest.fixture(scope="module")
def honest():
    ot, bl = batch_totals(), blindings()
    eq = batch_equity(ot)
    statement, trace = aggregate_witness(CONTEXT, ot, bl, SIZES, equity=eq)
    air = AggregateAir(statement)
    return air, trace, ot, bl, eq, prove(air, trace, QUICK).to_bytes()


def accepted(air: AggregateAir, proof: bytes) -> None:
    verify(air, proof, accepted_params=[QUICK])


def rejected(air: AggregateAir, trace: GF) -> None:
    with pytest.raises(ProverError):
        prove(air, trace, QUICK)
    proof = prove(air, trace, QUICK, check=False)
    with pytest.raises(VerificationError):
        accepted(air, proof.to_bytes())


def first_violation(air: AggregateAir, trace: GF) -> str | None:
    """Which group of constraints fails first (LogUp with a random challenge), v1 or v2."""
    challenges = ExtensionField(QUICK.extension_degree).random((1,), seed=3)
    found = air.find_violation(trace, air.build_aux_trace(trace, challenges), challenges)
    if found is None:
        return None
    what, _ = found
    if what.startswith("boundary"):
        return "boundary"
    i = int(what.split()[-1])
    k = air.statement.num_assets
    e = EQUITY_LIMBS if air.equity else 0
    groups = [
        ("padding", 1),
        ("running sums", LIMBS * k),
        ("equity running sums", e * k),
        ("normalisation", LIMBS),
        ("equity normalisation", e),
        ("logup", air.aux_width),
        ("sponge", len(air.sponge.transition_constraints())),
        ("commitment", 8),
    ]
    for name, count in groups:
        if i < count:
            return name
        i -= count
    raise AssertionError(what)


def _sums(t: np.ndarray, limbs: np.ndarray, column) -> None:
    k, count, _ = limbs.shape
    for j in range(k):
        for l in range(count):
            rotated = np.roll(limbs[j, l], -(j + 1))
            prefix = np.concatenate([[0], np.cumsum(rotated[:-1])])
            t[column(j, l)] = np.roll(prefix, j + 1) % P


def _chain(t: np.ndarray, limbs: np.ndarray, digits, lo: int, hi: int) -> None:
    k, count, _ = limbs.shape
    for j in range(k):
        carry = 0
        for l in range(count - 1):
            carry = (int(limbs[j, l].sum()) + carry - digits[j][l]) // BASE
            t[lo + l, j] = carry % BASE
            t[hi + l, j] = (carry // BASE) % P


def repaired(air: AggregateAir, cells: np.ndarray, *, sponge: bool = True) -> GF:
    """A cheating prover's v2 trace from its limb and blinding cells: running sums, both carry
    chains (against the statement's totals and equities) and the LogUp multiplicities
    recomputed from the limb cells as they are (values outside the table not counted), and,
    with sponge=True, the sponge refilled from them; so only the constraint under test fails."""
    lay, k = air.layout, air.statement.num_assets
    t = cells.astype(np.uint64) % np.uint64(P)
    u = np.stack([[t[lay.u(j, l)] for l in range(LIMBS)] for j in range(k)]).astype(np.int64)
    ue = np.stack([[t[lay.ue(j, l)] for l in range(EQUITY_LIMBS)] for j in range(k)])
    ue = ue.astype(np.int64)
    _sums(t, u, lay.r)
    _sums(t, ue, lay.re)
    t[lay.carry_lo : lay.mult] = 0
    _chain(t, u, air._total_digits, lay.carry_lo, lay.carry_hi)
    _chain(t, ue, air._equity_digits, lay.carry_e_lo, lay.carry_e_hi)
    looked = t[lay.range_checked()].astype(np.int64).reshape(-1)
    counts = np.bincount(looked[looked < BASE], minlength=BASE)
    t[lay.mult] = 0
    t[lay.mult, :BASE] = counts
    if sponge:
        blind = t[lay.blind.start : lay.blind.stop].T.copy()
        air.sponge.fill(t, u.transpose(2, 0, 1), blind, ue.transpose(2, 0, 1))
    return reduced(t)


def with_equity(air: AggregateAir, j: int, delta: int) -> AggregateAir:
    e = list(air.statement.equity)
    e[j] += delta
    return AggregateAir(replace(air.statement, equity=tuple(e)))


# -- honest ---------------------------------------------------------------------------------------
def test_honest_v2_proof_verifies(honest):
    air, trace, ot, bl, eq, proof = honest
    accepted(air, proof)
    s = air.statement
    assert s.version == 2 and air.name == "solvency-aggregate-v2-noreg"
    assert list(s.totals) == grand_totals(ot, SIZES)
    assert list(s.equity) == grand_equity(eq)
    for j in range(K):
        assert s.equity[j] == eq[0][j] + eq[1][j] + eq[2][j]
    for b in range(len(SIZES)):  # the commitments computed on the rows are the reference's
        assert np.array_equal(
            np.array(s.commitments[b]), totals_commitment(ot[b], bl[b], equity=eq[b])
        )
        assert not np.array_equal(np.array(s.commitments[b]), totals_commitment(ot[b], bl[b]))
    assert first_violation(air, trace) is None
    v1 = AggregateAir(replace(s, equity=None))
    assert air.main_width - v1.main_width == 18 * K + 16
    assert air.num_lookups - v1.num_lookups == 9 * K + 16
    lay = air.layout  # every new limb and carry cell is looked up
    new_cells = {lay.ue(j, l) for j in range(K) for l in range(EQUITY_LIMBS)}
    new_cells |= set(range(lay.carry_e_lo, lay.carry_e_lo + 2 * EQUITY_CARRIES))
    assert new_cells <= set(lay.range_checked())
    assert lay.mult == lay.carry_e_hi + EQUITY_CARRIES


def test_extreme_equities():
    """One batch: E = n (2^63 - 1) (every balance 2^63 - 1), E = 0 with the total at -n 2^63
    (every balance -2^63, the largest debt) and E = 0 with T = 0."""
    n = 512
    ot = [[(n << 64) - n, 0, n << 63]]
    eq = [[n * (OFFSET - 1), 0, 0]]
    statement, trace = aggregate_witness(b"", ot, blindings()[:1], (n,), equity=eq)
    assert statement.totals == (n * (OFFSET - 1), -n * OFFSET, 0)
    assert statement.equity == (n * (OFFSET - 1), 0, 0)
    air = AggregateAir(statement)
    assert first_violation(air, trace) is None
    accepted(air, prove(air, trace, QUICK).to_bytes())


def test_v2_with_sbox_registers(honest):
    air, _, ot, bl, eq, _ = honest
    statement, trace = aggregate_witness(CONTEXT, ot, bl, SIZES, sbox_registers=True, equity=eq)
    assert statement == air.statement
    reg = AggregateAir(statement, sbox_registers=True)
    assert reg.name == "solvency-aggregate-v2" and reg.sponge.degree == 3
    assert first_violation(reg, trace) is None


def test_gadget_is_the_reference_commitment_v2():
    """The v2 sponge on the rows computes totals_commitment(..., equity=E): the E limbs packed
    as the reference's three 27-bit chunks, the extremes 0 and 2^81 - 1 included."""
    rng = np.random.default_rng(5)
    rows = 4
    ot = [[int(v) * (1 << 28) + 3 for v in rng.integers(0, 1 << 52, size=K)] for _ in range(rows)]
    eq = [[int(v) * (1 << 21) + 1 for v in rng.integers(0, 1 << 59, size=K)] for _ in range(rows)]
    eq[0] = [0, (1 << 81) - 1, 1 << 80]
    bl = np.stack([new_blinding(ProverRandomness(b)) for b in range(rows)])

    def limbs(values, count):
        return np.array(
            [[[(t >> (LIMB_BITS * l)) % BASE for l in range(count)] for t in r] for r in values]
        )

    limb_cols = [[LIMBS * j + l for l in range(LIMBS)] for j in range(K)]
    e_cols = [[LIMBS * K + EQUITY_LIMBS * j + l for l in range(EQUITY_LIMBS)] for j in range(K)]
    start = (LIMBS + EQUITY_LIMBS) * K
    g = TotalsCommitmentGadget(start + 8, limb_cols, range(start, start + 8), equity_cols=e_cols)
    assert g.version == 2 and g.iv[8] == sponge_iv(K, 2)[8]
    trace = np.zeros((g.offset + g.num_columns, rows), dtype=np.uint64)
    digests = g.fill(trace, limbs(ot, LIMBS), bl, limbs(eq, EQUITY_LIMBS))
    for b in range(rows):
        assert np.array_equal(digests[b], totals_commitment(ot[b], bl[b], equity=eq[b]))


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda b: st.integers(1, 3).flatmap(
            lambda k: st.tuples(
                st.lists(
                    st.lists(st.integers(-(1 << 70), 1 << 70), min_size=k, max_size=k),
                    min_size=b,
                    max_size=b,
                ),
                st.lists(
                    st.lists(st.integers(0, 1 << 70), min_size=k, max_size=k),
                    min_size=b,
                    max_size=b,
                ),
            )
        )
    )
)
def test_grand_equity_is_the_exact_sum(table):
    """On small random batches (T_bj of either sign, E_bj = max(T_bj, 0) + x), the witness's
    grand equity (limb sums and carries) is the integer sum of the E_bj, and the public digits
    and final carry of the AIR's equity chain recompose it."""
    totals, extra = table
    b, k = len(totals), len(totals[0])
    n = 512
    ot = [offset_totals(row, n) for row in totals]
    pairs = zip(totals, extra, strict=True)
    eq = [[max(t, 0) + x for t, x in zip(tr, xr, strict=True)] for tr, xr in pairs]
    bl = np.stack([new_blinding(ProverRandomness(i)) for i in range(b)])
    statement, _ = aggregate_witness(b"", ot, bl, (n,) * b, equity=eq)
    assert list(statement.equity) == [sum(row[j] for row in eq) for j in range(k)]
    assert list(statement.equity) == grand_equity(eq)
    assert list(statement.totals) == [sum(row[j] for row in totals) for j in range(k)]
    air = AggregateAir(statement)
    for j in range(k):
        d = air._equity_digits[j]
        assert sum(v << (LIMB_BITS * l) for l, v in enumerate(d)) == statement.equity[j]


# -- the statement ---------------------------------------------------------------------------------
def test_statement_checks_v2(honest):
    air, *_ = honest
    s = air.statement
    n_total = sum(SIZES)
    e, g = list(s.equity), list(s.totals)

    def with_e(j, value):
        out = list(e)
        out[j] = value
        return replace(s, equity=tuple(out))

    j = next(j for j in range(K) if g[j] > 0)
    with_e(j, g[j])  # E_j = G_j (no debt): accepted, the control of the next line
    with pytest.raises(ValueError, match="debt"):
        with_e(j, g[j] - 1)  # E_j < G_j
    with pytest.raises(ValueError):
        with_e(j, -1)
    with_e(j, n_total * (OFFSET - 1))  # the largest equity: accepted
    with pytest.raises(ValueError):
        with_e(j, n_total * (OFFSET - 1) + 1)
    neg = next(j for j in range(K) if g[j] < 0)
    with_e(neg, g[neg] + n_total * OFFSET)  # the debt at its bound N 2^63 (E within bounds)
    with pytest.raises(ValueError, match="debt"):
        # G = -N 2^63 + 1 ... the debt E - G beyond N 2^63 with E in range
        replace(
            s,
            totals=tuple(-n_total * OFFSET if i == neg else t for i, t in enumerate(g)),
            equity=tuple(1 if i == neg else v for i, v in enumerate(e)),
        )
    with pytest.raises(ValueError):
        replace(s, equity=tuple(e[:-1]))
    with pytest.raises(ValueError):
        replace(s, equity=(True, *e[1:]))
    with pytest.raises(ValueError):
        replace(s, equity=list(e))


def test_witness_refuses_inconsistent_equity(honest):
    _, _, ot, bl, eq, _ = honest
    bad = [list(r) for r in eq]
    t00 = ot[0][0] - SIZES[0] * OFFSET
    bad[0][0] = t00 - 1 if t00 > 0 else -1  # below the batch's total, or negative
    with pytest.raises(ValueError):
        aggregate_witness(CONTEXT, ot, bl, SIZES, equity=bad)
    bad[0][0] = SIZES[0] * (OFFSET - 1) + 1  # more than n_b users can hold
    with pytest.raises(ValueError):
        aggregate_witness(CONTEXT, ot, bl, SIZES, equity=bad)
    with pytest.raises(ValueError):
        aggregate_witness(CONTEXT, ot, bl, SIZES, equity=eq[:2])


def test_v2_encoding(honest):
    air, *_ = honest
    s = air.statement
    v1 = replace(s, equity=None).encode()
    v2 = s.encode()
    assert v2.startswith(b"stark-solvency aggregate v2\0")
    assert v1.startswith(b"stark-solvency aggregate v1\0")
    head = len(v1) - 16 * K
    assert v2[28:head] == v1[28:head]  # everything up to the first total is unchanged
    tail = b"".join(
        t.to_bytes(16, "little", signed=True) + e.to_bytes(16, "little")
        for t, e in zip(s.totals, s.equity, strict=True)
    )
    assert v2[head:] == tail and len(v2) == len(v1) + 16 * K


# -- cheating provers -----------------------------------------------------------------------------
@pytest.mark.parametrize("delta", [-1, 1, P])
def test_grand_equity_off_is_rejected(honest, delta):
    """The honest trace, the grand equity of asset 1 claimed off by delta: the equity chain."""
    air, trace, *_ = honest
    liar = with_equity(air, 1, delta)
    assert first_violation(liar, trace) == "equity normalisation"
    rejected(liar, trace)


def _lowered(honest, j: int = 1):
    """The claim 1 lower for asset j, batch 0 opened to E_0j - 1, everything else (limbs,
    running sums, carries, multiplicities) consistent, the honest sponge cells kept."""
    air, _, ot, bl, eq, _ = honest
    cheat_eq = [list(r) for r in eq]
    cheat_eq[0][j] -= 1
    cheat_st, cheat = aggregate_witness(CONTEXT, ot, bl, SIZES, equity=cheat_eq)
    assert cheat_st.equity[j] == air.statement.equity[j] - 1
    return cheat_st, np.asarray(cheat, dtype=np.uint64).copy()


def test_grand_equity_claimed_lower_is_rejected(honest):
    """The grand equity claimed 1 lower with a consistent-looking trace (batch 0 opened to 1
    base unit less equity, the honest commitment and its sponge cells kept): the sponge.
    Control: the honest proof verifies (test_honest_v2_proof_verifies)."""
    air, trace, *_ = honest
    cheat_st, cells = _lowered(honest)
    liar = AggregateAir(replace(air.statement, equity=cheat_st.equity))
    cols = list(range(air.layout.sponge, air.main_width))
    cells[cols] = np.asarray(trace, dtype=np.uint64)[cols]
    assert first_violation(liar, reduced(cells)) == "sponge"
    rejected(liar, reduced(cells))
    # the sponge refilled for the lower equity: its digest is no longer C_0
    refilled = repaired(liar, cells)
    assert first_violation(liar, refilled) == "commitment"


class _SpongeWithoutEquity(TotalsCommitmentGadget):
    """The weakened sponge of the control: v2's IV, but the E chunks are not absorbed."""

    def chunk_expressions(self, main, j):
        return super().chunk_expressions(main, j)[:CHUNKS]

    def fill(self, trace, limbs, blinding, equity_limbs=None):
        return super().fill(trace, limbs, blinding, np.zeros_like(equity_limbs))


def _weakened(air: AggregateAir) -> AggregateAir:
    lay = air.layout
    air.sponge = _SpongeWithoutEquity(
        lay.sponge, lay.limb_cols(), lay.blind, equity_cols=lay.equity_cols()
    )
    return air


def test_control_a_sponge_without_equity_lets_the_lower_claim_through(honest):
    """The control of the previous test: with a sponge that does not absorb the E chunks (and
    commitments made by it), the same lowered opening verifies."""
    air, *_ = honest
    cheat_st, cells = _lowered(honest)
    weak = _weakened(AggregateAir(replace(air.statement, equity=cheat_st.equity)))
    trace = repaired(weak, cells)
    digests = np.asarray(trace, dtype=np.uint64)[list(weak.sponge.digest_cols)]
    commitments = tuple(tuple(int(v) for v in digests[:, b]) for b in range(len(SIZES)))
    weak = _weakened(AggregateAir(replace(weak.statement, commitments=commitments)))
    assert first_violation(weak, trace) is None
    accepted(weak, prove(weak, trace, QUICK).to_bytes())


def test_equity_limb_of_512_compensated_by_the_next_is_rejected(honest):
    """uE_0 + 512 and uE_1 - 1 on row 0: the same E, chunks and commitment, the same sums; only
    the range check catches it."""
    air, trace, *_ = honest
    lay = air.layout
    cells = np.asarray(trace, dtype=np.uint64).copy()
    j = next(j for j in range(K) if cells[lay.ue(j, 1), 0] > 0)
    cells[lay.ue(j, 0), 0] += BASE
    cells[lay.ue(j, 1), 0] -= 1
    cheat = repaired(air, cells)
    digest = list(air.sponge.digest_cols)
    assert np.array_equal(np.asarray(cheat)[digest, 0], np.asarray(trace)[digest, 0])
    assert first_violation(air, cheat) == "logup"
    rejected(air, cheat)


def test_padding_row_carrying_equity_is_rejected(honest):
    """A padding row with 5 base units of asset 0's equity, the grand equity claimed 5 larger,
    sums, carries, multiplicities and sponge consistent: the padding constraint."""
    air, trace, *_ = honest
    liar = with_equity(air, 0, 5)
    cells = np.asarray(trace, dtype=np.uint64).copy()
    cells[liar.layout.ue(0, 0), len(SIZES)] = 5
    cheat = repaired(liar, cells)
    assert first_violation(liar, cheat) == "padding"
    rejected(liar, cheat)


def test_v1_commitment_cannot_be_opened_as_v2():
    """Batch 0's commitment made by version 1 (no equity), opened by the v2 AIR as E = 0 (its
    totals are all negative, so E = 0 is consistent): with the sponge cells made under the v1
    tag the digest is C_0, and the sponge fails (its IV is v2's). Control: if v2's IV used the
    v1 tag, the commitments of (T', blinding, E = 0) would coincide with v1's, and the same
    opening verifies."""
    n = SIZES[0]
    ot = batch_totals()
    ot[0] = offset_totals([-5, -(1 << 40), -(n << 62)], n)
    eq = batch_equity(ot)
    eq[0] = [0] * K
    bl = blindings()
    v1_c0 = tuple(int(v) for v in totals_commitment(ot[0], bl[0]))
    honest_st, trace = aggregate_witness(CONTEXT, ot, bl, SIZES, equity=eq)
    assert honest_st.commitments[0] != v1_c0  # the v2 commitment of E = 0 is another one
    statement = replace(honest_st, commitments=(v1_c0, *honest_st.commitments[1:]))

    def v1_tagged(a: AggregateAir) -> AggregateAir:
        a.sponge.iv = sponge_iv(K, 1)
        return a

    # the cheating prover's sponge for row 0 computed under the v1 tag: its digest is v1's C_0
    cells = np.asarray(trace, dtype=np.uint64).copy()
    tagged = v1_tagged(AggregateAir(statement))
    lay = tagged.layout
    u = np.stack([[cells[lay.u(j, l)] for l in range(LIMBS)] for j in range(K)]).astype(np.int64)
    ue = np.stack([[cells[lay.ue(j, l)] for l in range(EQUITY_LIMBS)] for j in range(K)])
    blind = cells[lay.blind.start : lay.blind.stop].T.copy()
    work = cells.copy()
    digests = tagged.sponge.fill(
        work, u.transpose(2, 0, 1), blind, ue.astype(np.int64).transpose(2, 0, 1)
    )
    assert tuple(int(v) for v in digests[0]) == v1_c0  # the control's coincidence
    cols = list(range(lay.sponge, tagged.main_width))
    cells[cols, 0] = work[cols, 0]
    cheat = reduced(cells)
    air = AggregateAir(statement)
    assert first_violation(air, cheat) == "sponge"
    rejected(air, cheat)
    # control: in a world where v2's IV used the v1 tag (every batch's commitment made so),
    # the v1 commitment C_0 opens as E = 0 and the proof verifies
    commitments = tuple(tuple(int(v) for v in d) for d in digests[: len(SIZES)])
    assert commitments[0] == v1_c0
    tagged = v1_tagged(AggregateAir(replace(statement, commitments=commitments)))
    assert first_violation(tagged, reduced(work)) is None
    accepted(tagged, prove(tagged, reduced(work), QUICK).to_bytes())


def test_versions_do_not_cross(honest):
    """A v2 proof does not verify under the v1 AIR of the same statement, nor a v1 proof under
    a v2 AIR (any consistent equity claimed)."""
    air, _, ot, bl, _, proof = honest
    v1_air = AggregateAir(replace(air.statement, equity=None))
    with pytest.raises(VerificationError):
        accepted(v1_air, proof)
    st1, trace1 = aggregate_witness(CONTEXT, ot, bl, SIZES)
    v1 = AggregateAir(st1)
    proof1 = prove(v1, trace1, QUICK).to_bytes()
    accepted(v1, proof1)  # control
    for equity in (tuple(max(t, 0) for t in st1.totals), air.statement.equity):
        with pytest.raises(VerificationError):
            accepted(AggregateAir(replace(st1, equity=equity)), proof1)


def test_context_is_bound_v2(honest):
    air, *_, proof = honest
    with pytest.raises(VerificationError):
        accepted(AggregateAir(replace(air.statement, context=CONTEXT + b"!")), proof)


# -- version 1 is unchanged -----------------------------------------------------------------------
V1_ENCODING_SHA256 = "7426dfcdb1c06d809f7da6604063bf1f06d472681f6e0926a3c2d5c5ec410e4d"
V1_PUBLIC_INPUTS_SHA256 = "aa7074cd3ae62526f41f7678972265bc9d7659a3699d9f16e443fabcbbd1722a"


def test_v1_encoding_is_unchanged():
    """The SHA-256 of test_aggregate's honest v1 statement's encoding (and public inputs), as
    computed at commit START before version 2 existed."""
    statement, _ = aggregate_witness(CONTEXT, batch_totals(), blindings(), SIZES)
    assert statement.equity is None and statement.version == 1
    assert hashlib.sha256(statement.encode()).hexdigest() == V1_ENCODING_SHA256
    air = AggregateAir(statement)
    assert hashlib.sha256(air.public_inputs()).hexdigest() == V1_PUBLIC_INPUTS_SHA256
    assert air.name == "solvency-aggregate-v1-noreg"


def _aggregate_at_start():
    """circuits/aggregate.py as it was at START (skips without git)."""
    return module_at(START, "circuits/aggregate.py")


def test_v1_proofs_are_byte_identical_to_before():
    """A seeded v1 proof equals, byte for byte, the one START's AIR and witness builder make
    (the same stark/ prover), its shape included."""
    old = _aggregate_at_start()
    proofs, shapes = [], []
    for module in (old, sys.modules["circuits.aggregate"]):
        statement, trace = module.aggregate_witness(CONTEXT, batch_totals(), blindings(), SIZES)
        air = module.AggregateAir(statement)
        shapes.append(air.shape())
        proofs.append(prove(air, trace, QUICK, seed=7).to_bytes())
    assert shapes[0] == shapes[1]
    assert hashlib.sha256(proofs[0]).digest() == hashlib.sha256(proofs[1]).digest()
