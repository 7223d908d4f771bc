"""Attack 19: a cold look at the day's prover/verifier changes (issue 19's prover work).

Everything below is an attempt to get the verifier to accept a false statement, or to make
its single-point evaluation of a constraint differ from what the constraint means. Every test
asserts that the attack FAILS (the verifier rejects / both paths agree). If one of them ever
starts to fail, that is a soundness finding, not a flaky test.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from circuits.solvency import SolvencyAir, build_hidden_witness, build_witness_with_leaves
from stark.air import Frame
from stark.field import GF, ExtArray, ExtensionField, P, batch_inverse, root_of_unity
from stark.fused import DeferredColumn, deferring
from stark.poly import ext_powers
from stark.proof import VerificationError
from stark.protocol import composition, weighted_sum, zerofiers
from stark.prover import prove
from stark.randomness import ProverRandomness
from stark.verifier import verify
from tests.quick import QUICK
from tests.stark.test_seeded_proofs import MARKET, balances, ids

USERS = 60  # 64 rows


def _batch(*, hidden: bool = False, registers: bool = False):
    b = balances(USERS)
    if hidden:
        statement, trace, leaves, opening = build_hidden_witness(
            MARKET, b, ids(len(b)), sbox_registers=registers, rng=ProverRandomness(2)
        )
        air = SolvencyAir(
            statement, leaves, sbox_registers=registers, totals_commitment=opening.commitment
        )
    else:
        statement, trace, leaves = build_witness_with_leaves(
            MARKET, b, ids(len(b)), sbox_registers=registers, rng=ProverRandomness(2)
        )
        air = SolvencyAir(statement, leaves, sbox_registers=registers)
    return air, np.array(np.asarray(trace), dtype=np.uint32)


@pytest.fixture(scope="module")
def batch():
    return _batch()


def _rejects(air, trace):
    proof = prove(air, GF(trace), QUICK, check=False, seed=11)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), accepted_params=[QUICK])


def test_control_honest_batch_verifies(batch):
    air, trace = batch
    proof = prove(air, GF(trace), QUICK, seed=11)
    verify(air, proof.to_bytes(), accepted_params=[QUICK])


def test_attack_arithmetic_cell_changed_is_rejected(batch):
    """A user's limb changed (the running sums no longer add up: _arithmetic, compiled/fused
    in the prover, the code itself in the verifier)."""
    air, trace = batch
    bad = trace.copy()
    c = air.layout.u(0, 2)
    bad[c, 5] = (int(bad[c, 5]) + 1) % P
    _rejects(air, bad)


def test_attack_limb_out_of_range_is_rejected(batch):
    """A range-checked limb set to 600 (>= 512) with the running sum still consistent on the
    next row: only the LogUp lookup can catch it."""
    air, trace = batch
    bad = trace.copy()
    j, l = 1, 3
    c = air.layout.u(j, l)
    delta = 600 - int(bad[c, 9])
    bad[c, 9] = 600
    r = air.layout.r(j, l)
    bad[r, 10:] = (bad[r, 10:].astype(np.int64) + delta) % P
    _rejects(air, bad)


def test_attack_leaf_gadget_cell_changed_is_rejected(batch):
    """One Poseidon2 register of the leaf gadget (deferred _GadgetRows in the prover's
    composition) changed on one row."""
    air, trace = batch
    bad = trace.copy()
    g = air.leaf_gadget
    col = g.offset + g.num_columns // 2
    bad[col, 3] = (int(bad[col, 3]) + 7) % P
    _rejects(air, bad)


def test_attack_leaf_digest_changed_is_rejected(batch):
    """The published leaf of one row differs from the digest cells (row's own permutation
    output changed, not the periodic leaf)."""
    air, trace = batch
    bad = trace.copy()
    col = air.leaf_gadget.digest_cols[0]
    bad[col, 4] = (int(bad[col, 4]) + 1) % P
    _rejects(air, bad)


def test_attack_boundary_violated_is_rejected(batch):
    """A running sum not starting at 0 on its boundary row (boundaries are now grouped by row
    in the composition)."""
    air, trace = batch
    bad = trace.copy()
    b = air.boundary_constraints()[0]
    assert not b.aux
    bad[b.column, b.row :] = (bad[b.column, b.row :].astype(np.int64) + 1) % P
    _rejects(air, bad)


def test_attack_two_boundaries_on_one_row_cancelling_is_rejected(batch):
    """Two boundaries of one row violated by +d and -d: they would cancel if the grouped
    weighted sum used one weight for the row's group instead of one per constraint."""
    air, trace = batch
    bad = trace.copy()
    rows: dict[int, list] = {}
    for b in air.boundary_constraints():
        if not b.aux:
            rows.setdefault(b.row, []).append(b)
    group = next(g for g in rows.values() if len(g) >= 2)
    b0, b1 = group[0], group[1]
    bad[b0.column, b0.row :] = (bad[b0.column, b0.row :].astype(np.int64) + 1) % P
    bad[b1.column, b1.row :] = (bad[b1.column, b1.row :].astype(np.int64) - 1) % P
    _rejects(air, bad)


def test_attack_hidden_totals_commitment_mismatch_is_rejected():
    """Hidden totals: the AIR's public commitment differs from the sponge output on row K
    (a boundary with a nonzero value, grouped with none else on its row)."""
    air, trace = _batch(hidden=True)
    wrong = np.array(air.totals_commitment, dtype=np.uint64).copy()
    wrong[0] = (int(wrong[0]) + 1) % P
    statement = air.statement
    other = SolvencyAir(statement, air.leaves, sbox_registers=False, totals_commitment=wrong)
    _rejects(other, trace)


def test_attack_ood_value_tampered_is_rejected(batch):
    """An honest proof with one claimed trace value at z changed."""
    air, trace = batch
    proof = prove(air, GF(trace), QUICK, seed=11)
    rows = np.array(proof.ood_trace_z)
    rows[0, 0] = (int(rows[0, 0]) + 1) % P
    proof = replace(proof, ood_trace_z=rows)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), accepted_params=[QUICK])


def test_attack_unreduced_opening_is_rejected(batch):
    """An opened main-trace value replaced by value + p (same residue, not canonical): the
    verifier must refuse it rather than hash or reduce it (ext_columns_to_base / reduced skip
    range checks, but only on the prover's side)."""
    air, trace = batch
    proof = prove(air, GF(trace), QUICK, seed=11)
    rows = np.array(proof.main_opening.rows, dtype=np.uint64)
    if int(rows[0, -1]) + P >= 1 << 32:
        pytest.skip("value + p does not fit 32 bits")
    rows[0, -1] += P
    proof = replace(proof, main_opening=replace(proof.main_opening, rows=rows.astype(np.uint32)))
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), accepted_params=[QUICK])


# -- the verifier's single point against the prover's fused columns -------------------------


def _lift(ext: ExtensionField, values: np.ndarray) -> ExtArray:
    coords = np.zeros((ext.degree, *values.shape), dtype=np.uint32)
    coords[0] = values
    return ExtArray(ext, GF(coords))


def _aggregate_air():
    from circuits.aggregate import AggregateAir, aggregate_witness
    from tests.circuits.test_aggregate import CONTEXT, SIZES, batch_totals, blindings
    from tests.circuits.test_aggregate_equity import batch_equity

    ot = batch_totals()
    statement, _ = aggregate_witness(CONTEXT, ot, blindings(), SIZES, equity=batch_equity(ot))
    return AggregateAir(statement)


def _air(kind: str):
    if kind == "aggregate":
        return _aggregate_air()
    return _batch(hidden=kind == "hidden", registers=kind == "leaves+registers")[0]


@pytest.mark.parametrize("degree", [4, 5])
@pytest.mark.parametrize("kind", ["leaves", "leaves+registers", "hidden", "aggregate"])
def test_verifier_point_equals_fused_columns_on_random_cells(kind, degree):
    """composition() on random cells at X base points (the prover's path: compiled
    polynomials, deferred gadget rows, the LogUp kernels, grouped boundaries) must equal
    composition() on the same values lifted to single extension points (the verifier's path:
    the constraint code itself), point by point. Random cells violate every constraint, so
    any weight, term or boundary the two paths treat differently shows."""
    air = _air(kind)
    ext = ExtensionField(degree)  # QUICK's 4, the proven preset's 5
    rng = np.random.default_rng(19)
    x_n = 8
    w, a = air.main_width, air.aux_width
    main = rng.integers(0, P, size=(w, x_n), dtype=np.uint32)
    main_next = rng.integers(0, P, size=(w, x_n), dtype=np.uint32)
    aux = ext.random((a, x_n), seed=1) if a else None
    aux_next = ext.random((a, x_n), seed=2) if a else None
    periodic = rng.integers(0, P, size=(len(air.periodic_columns()), x_n), dtype=np.uint32)
    challenges = ext.random((air.num_aux_challenges,), seed=3) if a else None
    xs = rng.integers(1, P, size=x_n, dtype=np.uint32)
    alphas = ext_powers(ext.random((), seed=4), air.shape().num_constraints)

    cols = Frame(
        main=GF(main),
        main_next=GF(main_next),
        aux=aux,
        aux_next=aux_next,
        periodic=[GF(p) for p in periodic],
        challenges=challenges,
    )
    with deferring():  # the prover's composition really takes the deferred paths here
        assert any(isinstance(v, DeferredColumn) for v in air.evaluate_transition(cols))
    got = composition(air, cols, alphas, zerofiers(air, GF(xs), batch_inverse))
    for p in range(x_n):

        def at(e, p=p):
            return ExtArray(ext, GF(np.ascontiguousarray(np.asarray(e.coords)[:, :, p])))

        point = Frame(
            main=_lift(ext, main[:, p]),
            main_next=_lift(ext, main_next[:, p]),
            aux=at(aux) if a else None,
            aux_next=at(aux_next) if a else None,
            periodic=[_lift(ext, np.array(v[p])) for v in periodic],
            challenges=challenges,
        )
        z = _lift(ext, np.array(xs[p]))
        want = composition(air, point, alphas, zerofiers(air, z, lambda v: v.inverse()))
        assert want == got[p], f"point {p}: verifier path != prover path ({kind})"


def test_verifier_point_equals_reference_formula(batch):
    """The grouped composition at one extension point against the plain definition
    sum_i alpha_i C_i / Z_i (transitions) + sum_j alpha_j (col_j - v_j) / (z - g^row_j), the
    constraint values taken outside deferring()."""
    air, _ = batch
    ext = ExtensionField(QUICK.extension_degree)
    w, a = air.main_width, air.aux_width
    frame = Frame(
        main=ext.random((w,), seed=5),
        main_next=ext.random((w,), seed=6),
        aux=ext.random((a,), seed=7),
        aux_next=ext.random((a,), seed=8),
        periodic=list(ext.random((len(air.periodic_columns()),), seed=9)),
        challenges=ext.random((air.num_aux_challenges,), seed=10),
    )
    z = ext.random((), seed=12)
    alphas = ext_powers(ext.random((), seed=13), air.shape().num_constraints)
    got = composition(air, frame, alphas, zerofiers(air, z, lambda v: v.inverse()))
    n = air.trace_len
    g = root_of_unity(n.bit_length() - 1)
    values = air.evaluate_transition(frame)
    assert not any(isinstance(v, DeferredColumn) for v in values)
    specs = air.transition_constraints()
    total = ext.zeros(())
    for i, (c, v) in enumerate(zip(specs, values, strict=True)):
        term = alphas[i] * v
        if not c.all_rows:
            term = term * (z - g ** (n - 1))
        total = total + term
    total = total * (z**n - GF(1)).inverse()
    for j, b in enumerate(air.boundary_constraints()):
        col = (frame.aux if b.aux else frame.main)[b.column]
        total = total + alphas[len(specs) + j] * (col - GF(b.value % P)) * (z - g**b.row).inverse()
    assert got == total


def test_deferred_sums_duplicate_column_counts_twice(batch):
    """weighted_sum with one deferred column listed twice must weight it twice (np.add.at),
    not once (a plain fancy-index assignment would drop one)."""
    air, _ = batch
    rng = np.random.default_rng(2)
    ext = ExtensionField(QUICK.extension_degree)
    w = air.main_width
    main = GF(rng.integers(0, P, size=(w, 4), dtype=np.uint32))
    with deferring():
        cols = air.leaf_gadget.constraints(main)
    assert isinstance(cols[0], DeferredColumn)
    plain = air.leaf_gadget.constraints(main)
    weights = ext.random((3,), seed=1)
    got = weighted_sum(weights, [cols[0], cols[0], cols[1]], [0, 1, 2])
    want = weights[0] * plain[0] + weights[1] * plain[0] + weights[2] * plain[1]
    assert got == want


@pytest.mark.parametrize(
    "field", ["ood_trace_z", "ood_trace_gz", "ood_quotient_z", "fri_remainder"]
)
def test_attack_noncanonical_claimed_value_is_rejected(batch, field):
    """A claimed extension value replaced by value + p (same residue): the verifier must
    refuse it, not reduce it (the transcript absorbs the reduced form, so a silent reduction
    would make proofs malleable)."""
    air, trace = batch
    proof = prove(air, GF(trace), QUICK, seed=11)
    rows = np.array(getattr(proof, field), dtype=np.uint64)
    i = int(np.argmin(rows[:, 0]))
    assert int(rows[i, 0]) + P < 1 << 32
    rows[i, 0] += P
    bad = replace(proof, **{field: rows.astype(np.uint32)})
    with pytest.raises(VerificationError):
        verify(air, bad, accepted_params=[QUICK])
    with pytest.raises(VerificationError):
        verify(air, bad.to_bytes(), accepted_params=[QUICK])


def test_attack_under_degree_five_params_is_rejected(batch):
    """The proven preset's shape (extension degree 5, folding 8, zk), cheap grinding: a
    changed limb is still rejected, and the honest trace still verifies (control)."""
    from stark.params import PRESETS

    params = replace(PRESETS["proven"], grinding_bits=2)
    air, trace = batch
    verify(air, prove(air, GF(trace), params, seed=3).to_bytes(), accepted_params=[params])
    bad = trace.copy()
    c = air.layout.u(2, 1)
    bad[c, 20] = (int(bad[c, 20]) + 3) % P
    proof = prove(air, GF(bad), params, check=False, seed=3)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), accepted_params=[params])
