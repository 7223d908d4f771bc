"""The aggregation AIR (circuits/aggregate.py): an honest proof of 3 batches verifies and its
grand totals are the sums of the batches' totals; every cheating prover (self-checks off) is
rejected by the verifier, and the first constraint it breaks is the one meant to catch it."""

from dataclasses import replace

import numpy as np
import pytest

from circuits.aggregate import (
    BASE,
    CARRIES,
    LIMB_BITS,
    LIMBS,
    OFFSET,
    AggregateAir,
    TotalsCommitmentGadget,
    aggregate_witness,
    grand_totals,
    padded_rows,
)
from circuits.totals import new_blinding, offset_totals, totals_commitment
from stark.field import GF, ExtensionField, P, reduced
from stark.proof import VerificationError
from stark.prover import ProverError, prove
from stark.randomness import ProverRandomness
from stark.verifier import verify
from tests.quick import QUICK

K = 3
SIZES = (512, 1024, 512)
CONTEXT = b"snapshot Example Exchange 2025-06-30T23:59:59Z; batch proofs ..."


def batch_totals(seed: int = 1) -> list[list[int]]:
    """Random offset totals T'_bj = T_bj + n_b 2^63, T_bj of either sign."""
    rng = np.random.default_rng(seed)
    out = []
    for n in SIZES:
        totals = [
            int(rng.integers(-(1 << 62), 1 << 62)) * int(rng.integers(1, n)) for _ in range(K)
        ]
        out.append(offset_totals(totals, n))
    return out


def blindings() -> np.ndarray:
    return np.stack([new_blinding(ProverRandomness(10 + b)) for b in range(len(SIZES))])


@pytest.fixture(scope="module")
def honest():
    ot, bl = batch_totals(), blindings()
    statement, trace = aggregate_witness(CONTEXT, ot, bl, SIZES)
    air = AggregateAir(statement)
    return air, trace, ot, bl, prove(air, trace, QUICK).to_bytes()


def rejected(air: AggregateAir, trace: GF) -> None:
    with pytest.raises(ProverError):
        prove(air, trace, QUICK)
    proof = prove(air, trace, QUICK, check=False)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), accepted_params=[QUICK])


def first_violation(air: AggregateAir, trace: GF) -> str | None:
    """Which group of constraints fails first (LogUp with a random challenge)."""
    challenges = ExtensionField(QUICK.extension_degree).random((1,), seed=3)
    found = air.find_violation(trace, air.build_aux_trace(trace, challenges), challenges)
    if found is None:
        return None
    what, _ = found
    if what.startswith("boundary"):
        return "boundary"
    i = int(what.split()[-1])
    k = air.statement.num_assets
    groups = [
        ("padding", 1),
        ("running sums", LIMBS * k),
        ("normalisation", LIMBS),
        ("logup", air.aux_width),
        ("sponge", len(air.sponge.transition_constraints())),
        ("commitment", 8),
    ]
    for name, count in groups:
        if i < count:
            return name
        i -= count
    raise AssertionError(what)


def repaired(air: AggregateAir, cells: np.ndarray, *, sponge: bool = True) -> GF:
    """A cheating prover's trace from its limb and blinding cells (uint64 (width, m)): the
    running sums, the carries against the statement's totals and the LogUp multiplicities
    recomputed from the limb cells as they are (values outside the table not counted), and,
    with sponge=True, the sponge refilled from them; so only the constraint under test fails."""
    lay, k = air.layout, air.statement.num_assets
    t = cells.astype(np.uint64) % np.uint64(P)
    limbs = np.stack([[t[lay.u(j, l)] for l in range(LIMBS)] for j in range(k)]).astype(np.int64)
    for j in range(k):
        for l in range(LIMBS):
            rotated = np.roll(limbs[j, l], -(j + 1))
            prefix = np.concatenate([[0], np.cumsum(rotated[:-1])])
            t[lay.r(j, l)] = np.roll(prefix, j + 1) % P
    t[lay.carry_lo : lay.mult] = 0
    for j in range(k):
        carry, digits = 0, air._total_digits[j]
        for l in range(CARRIES):
            carry = (int(limbs[j, l].sum()) + carry - digits[l]) // BASE
            t[lay.carry_lo + l, j] = carry % BASE
            t[lay.carry_hi + l, j] = (carry // BASE) % P
    looked = t[lay.range_checked()].astype(np.int64).reshape(-1)
    counts = np.bincount(looked[looked < BASE], minlength=BASE)
    t[lay.mult] = 0
    t[lay.mult, :BASE] = counts
    if sponge:
        blind = t[lay.blind.start : lay.blind.stop].T.copy()
        air.sponge.fill(t, limbs.transpose(2, 0, 1), blind)
    return reduced(t)


def cheat_air(air: AggregateAir, **changes) -> AggregateAir:
    return AggregateAir(replace(air.statement, **changes))


# -- honest ---------------------------------------------------------------------------------------
def test_honest_proof_verifies(honest):
    air, trace, ot, bl, proof = honest
    verify(air, proof, accepted_params=[QUICK])
    st = air.statement
    assert list(st.totals) == grand_totals(ot, SIZES)
    n_total = sum(SIZES)
    for j in range(K):
        batch = [ot[b][j] - SIZES[b] * OFFSET for b in range(len(SIZES))]
        assert st.totals[j] == sum(batch)
        assert st.offset_totals[j] == sum(ot[b][j] for b in range(len(SIZES)))
        assert st.offset_totals[j] == st.totals[j] + n_total * OFFSET
    for b in range(len(SIZES)):  # the commitments computed on the rows are the reference's
        assert np.array_equal(np.array(st.commitments[b]), totals_commitment(ot[b], bl[b]))
    assert air.trace_len == 512 and first_violation(air, trace) is None


def test_extreme_totals():
    """Offset totals 0 (every balance -2^63) and n_b 2^64 - 1 (every balance 2^63 - 1, one
    short), a single batch."""
    n = 512
    ot = [[0, (n << 64) - 1, n << 63]]
    statement, trace = aggregate_witness(b"", ot, blindings()[:1], (n,))
    assert statement.totals == (-n * OFFSET, n * OFFSET - 1, 0)
    air = AggregateAir(statement)
    assert first_violation(air, trace) is None
    verify(air, prove(air, trace, QUICK).to_bytes(), accepted_params=[QUICK])


def test_more_batches_than_the_table():
    """B = 513 batches of one asset: m = 1024 rows, 511 of them padding."""
    b = 513
    rng = np.random.default_rng(9)
    ot = [[int(v)] for v in rng.integers(0, 1 << 62, size=b)]
    bl = np.stack([new_blinding(ProverRandomness(100 + i)) for i in range(b)])
    statement, trace = aggregate_witness(CONTEXT, ot, bl, (512,) * b)
    assert statement.totals == (sum(t for (t,) in ot) - 512 * b * OFFSET,)
    air = AggregateAir(statement)
    assert air.trace_len == 1024 and first_violation(air, trace) is None
    verify(air, prove(air, trace, QUICK).to_bytes(), accepted_params=[QUICK])


def test_with_sbox_registers():
    ot, bl = batch_totals(2), blindings()
    statement, trace = aggregate_witness(CONTEXT, ot, bl, SIZES, sbox_registers=True)
    air = AggregateAir(statement, sbox_registers=True)
    assert air.sponge.degree == 3
    proof = prove(air, trace, QUICK).to_bytes()
    verify(air, proof, accepted_params=[QUICK])
    with pytest.raises(VerificationError):
        verify(AggregateAir(statement), proof, accepted_params=[QUICK])


def test_statement_checks():
    st, _ = aggregate_witness(CONTEXT, batch_totals(), blindings(), SIZES)
    n_total = sum(SIZES)
    with pytest.raises(ValueError):
        replace(st, totals=(n_total * OFFSET + 1, 0, 0))
    replace(st, totals=(-n_total * OFFSET, n_total * OFFSET, 0))  # the ends are accepted
    with pytest.raises(ValueError):
        replace(st, commitments=(), batch_sizes=())
    with pytest.raises(ValueError):
        replace(st, batch_sizes=(512, 1000, 512))
    with pytest.raises(ValueError):
        replace(st, commitments=(st.commitments[0], st.commitments[1], (P, 0, 0, 0, 0, 0, 0, 0)))
    with pytest.raises(ValueError):
        replace(st, context="text")
    with pytest.raises(ValueError):  # T'_bj beyond n_b 2^64
        aggregate_witness(b"", [[512 << 64, 0, 0]], blindings()[:1], (512,))
    with pytest.raises(ValueError):
        aggregate_witness(b"", [[-1, 0, 0]], blindings()[:1], (512,))
    assert padded_rows(1) == padded_rows(512) == 512 and padded_rows(513) == 1024


def test_gadget_is_the_reference_commitment():
    """The sponge on the rows computes totals_commitment, limbs packed as the reference's
    27-bit chunks (limb 9 alone in the last chunk)."""
    rng = np.random.default_rng(5)
    ot = [[int(v) * (1 << 28) + 3 for v in rng.integers(0, 1 << 52, size=K)] for _ in range(4)]
    bl = np.stack([new_blinding(ProverRandomness(b)) for b in range(4)])
    limbs = np.array(
        [[[(t >> (LIMB_BITS * l)) % BASE for l in range(LIMBS)] for t in row] for row in ot]
    )
    limb_cols = [[LIMBS * j + l for l in range(LIMBS)] for j in range(K)]
    g = TotalsCommitmentGadget(LIMBS * K + 8, limb_cols, range(LIMBS * K, LIMBS * K + 8))
    trace = np.zeros((g.offset + g.num_columns, 4), dtype=np.uint64)
    digests = g.fill(trace, limbs, bl)
    for b in range(4):
        assert np.array_equal(digests[b], totals_commitment(ot[b], bl[b]))


# -- cheating provers -----------------------------------------------------------------------------
def test_context_is_bound(honest):
    air, _, _, _, proof = honest
    with pytest.raises(VerificationError):
        verify(cheat_air(air, context=CONTEXT + b"!"), proof, accepted_params=[QUICK])


@pytest.mark.parametrize("delta", [1, -1, P, 1 << 64])
def test_grand_total_off_is_rejected(honest, delta):
    air, trace, *_ = honest
    totals = list(air.statement.totals)
    totals[1] += delta
    liar = cheat_air(air, totals=tuple(totals))
    assert first_violation(liar, trace) == "normalisation"
    rejected(liar, trace)


@pytest.mark.parametrize("copy", ["digest", "sponge"])
def test_row_opened_to_other_totals_is_rejected(honest, copy):
    """Row 1 opened to totals 1 base unit larger (the grand total claimed accordingly, limbs,
    sums, carries and multiplicities consistent), with the honest row's digest cells (or its
    whole sponge) copied in: the commitment does not open to these totals."""
    air, trace, ot, bl, _ = honest
    cheat_ot = [list(row) for row in ot]
    cheat_ot[1][0] += 1
    st, cheat = aggregate_witness(CONTEXT, cheat_ot, bl, SIZES)
    liar = cheat_air(air, totals=st.totals)  # the honest commitments, the larger total
    cells = np.asarray(cheat, dtype=np.uint64).copy()
    cols = (
        list(air.sponge.digest_cols)
        if copy == "digest"
        else list(range(air.layout.sponge, air.main_width))
    )
    cells[cols, 1] = np.asarray(trace, dtype=np.uint64)[cols, 1]
    assert first_violation(liar, reduced(cells)) == "sponge"
    rejected(liar, reduced(cells))


def test_value_shifted_between_batches_is_rejected(honest):
    """One base unit moved from batch 0 to batch 2 (grand totals unchanged, everything
    consistent for the moved totals), each row keeping its honest sponge cells."""
    air, trace, ot, bl, _ = honest
    cheat_ot = [list(row) for row in ot]
    cheat_ot[0][2] -= 1
    cheat_ot[2][2] += 1
    st, cheat = aggregate_witness(CONTEXT, cheat_ot, bl, SIZES)
    assert st.totals == air.statement.totals
    cells = np.asarray(cheat, dtype=np.uint64).copy()
    cols = list(range(air.layout.sponge, air.main_width))
    cells[cols] = np.asarray(trace, dtype=np.uint64)[cols]
    assert first_violation(air, reduced(cells)) == "sponge"
    rejected(air, reduced(cells))


def test_limb_of_512_compensated_by_the_next_is_rejected(honest):
    """u_0 + 512 and u_1 - 1 on row 0: the same integer, the same chunks (so the same
    commitment), the same sums; only the range check catches it."""
    air, trace, *_ = honest
    lay = air.layout
    cells = np.asarray(trace, dtype=np.uint64).copy()
    j = next(j for j in range(K) if cells[lay.u(j, 1), 0] > 0)
    cells[lay.u(j, 0), 0] += BASE
    cells[lay.u(j, 1), 0] -= 1
    cheat = repaired(air, cells)
    assert np.array_equal(
        np.asarray(cheat)[air.sponge.digest_cols, 0], np.asarray(trace)[air.sponge.digest_cols, 0]
    )
    assert first_violation(air, cheat) == "logup"
    rejected(air, cheat)


def test_padding_row_carrying_value_is_rejected(honest):
    """A padding row (row B) with 5 base units of asset 0, the grand total claimed 5 larger,
    running sums, carries, multiplicities and its sponge consistent."""
    air, trace, *_ = honest
    totals = list(air.statement.totals)
    totals[0] += 5
    liar = cheat_air(air, totals=tuple(totals))
    cells = np.asarray(trace, dtype=np.uint64).copy()
    cells[liar.layout.u(0, 0), len(SIZES)] = 5
    cheat = repaired(liar, cells)
    assert first_violation(liar, cheat) == "padding"
    rejected(liar, cheat)


def test_swapped_commitments_are_rejected(honest):
    """C_0 and C_1 swapped in the statement, each row keeping its opening."""
    air, trace, *_ = honest
    c = list(air.statement.commitments)
    c[0], c[1] = c[1], c[0]
    liar = cheat_air(air, commitments=tuple(c))
    assert first_violation(liar, trace) == "commitment"
    rejected(liar, trace)
