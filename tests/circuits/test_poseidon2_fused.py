"""The Poseidon2 gadget's fused weighted sum (stark/fused.py: its kernel accumulates
sum_i w_i C_i without materialising the C_i) equals the weighted sum of the materialised
values, for random weights, points, layouts and subsets of constraints, serial and parallel;
a wrong trace cell makes it nonzero where the honest trace gives zero; and outside
`deferring()` the gadget returns plain values, as before."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import circuits.poseidon2_air as p2
from circuits.poseidon2_air import Poseidon2Gadget
from stark.field import GF, ExtensionField, P, reduced
from stark.fused import DeferredColumn, deferring
from stark.protocol import weighted_sum

OFFSET = 3
LAYOUTS = [
    (w, regs, own, out)
    for w in (16, 24)
    for regs in (True, False)
    for own, out in ((True, None), (False, None), (False, 8))
]


def gadget_of(width, regs, own, out) -> Poseidon2Gadget:
    return Poseidon2Gadget(
        OFFSET, width, input_cols=None if own else (), sbox_registers=regs, output_width=out
    )


def frame(rng, g: Poseidon2Gadget, n: int, own: bool):
    """Random cells (a strided view, as the prover's LDE columns) and, without input columns,
    affine-input stand-ins (GF columns and scalars)."""
    cells = rng.integers(0, P, (OFFSET + g.num_columns + 2, 2 * n), dtype=np.uint32)
    main = reduced(cells)[:, n:]
    if own:
        return main, None
    cols = [GF(rng.integers(0, P, n)) for _ in range(g.width - 2)]
    return main, [*cols, GF(0), GF(P - 1)]


def fused_and_plain(g, main, inputs, weights, indices):
    plain = g.constraints(main, inputs)
    with deferring():
        deferred = g.constraints(main, inputs)
    assert all(isinstance(v, DeferredColumn) for v in deferred)
    assert not any(isinstance(v, DeferredColumn) for v in plain)
    return weighted_sum(weights, deferred, indices), weighted_sum(weights, plain, indices)


@settings(max_examples=25, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS),
    n=st.integers(1, 300),
    degree=st.sampled_from([4, 5]),
    parallel=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_fused_weighted_sum_equals_the_materialised_one(
    layout, n, degree, parallel, seed, data, monkeypatch_module
):
    monkeypatch_module.setattr(p2, "PARALLEL_MIN_ELEMENTS", 1 if parallel else 1 << 15)
    rng = np.random.default_rng(seed)
    g = gadget_of(*layout)
    main, inputs = frame(rng, g, n, layout[2])
    m = g.num_constraints
    indices = data.draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m, unique=True))
    weights = ExtensionField(degree).random((m,), seed=seed)
    fused, plain = fused_and_plain(g, main, inputs, weights, sorted(indices))
    assert fused.shape == (n,)
    assert fused == plain


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as m:
        yield m


def test_extreme_weights_and_cells():
    """Weights p - 1 and 2^16 - 1 in every coordinate, cells p - 1: the accumulators' largest
    products."""
    g = gadget_of(24, False, True, None)
    n = 70
    main = GF(np.full((OFFSET + g.num_columns, n), P - 1, dtype=np.uint32))
    ext = ExtensionField(5)
    m = g.num_constraints
    for value in (P - 1, (1 << 16) - 1, 1 << 16):
        weights = ext.array(GF(np.full((5, m), value, dtype=np.uint32)))
        fused, plain = fused_and_plain(g, main, None, weights, list(range(m)))
        assert fused == plain


@pytest.mark.parametrize("layout", [LAYOUTS[0], LAYOUTS[7]])
def test_a_wrong_cell_changes_the_fused_sum(layout):
    rng = np.random.default_rng(9)
    g, n = gadget_of(*layout), 40
    trace = np.zeros((OFFSET + g.num_columns, n), dtype=np.uint64)
    inputs = None
    if layout[2]:
        g.fill(trace, rng.integers(0, P, (n, g.width)).astype(np.uint64))
    else:
        values = rng.integers(0, P, (n, g.width)).astype(np.uint64)
        inputs = [GF(values[:, i]) for i in range(g.width)]
        g.fill(trace, values)
    m = g.num_constraints
    weights = ExtensionField(5).random((m,), seed=1)
    honest = reduced(trace)
    fused, plain = fused_and_plain(g, honest, inputs, weights, list(range(m)))
    assert np.all(fused.is_zero()) and fused == plain
    for col in (g.output_cols[3], g.partial_cols[5][1], *g.register_cols[:1]):
        bad = trace.copy()
        bad[col, 17] = (bad[col, 17] + 1) % P
        fused, plain = fused_and_plain(g, reduced(bad), inputs, weights, list(range(m)))
        assert fused == plain
        assert np.flatnonzero(~fused.is_zero()).tolist() == [17]


def test_deferred_columns_read_as_values():
    g = gadget_of(16, True, True, None)
    main, _ = frame(np.random.default_rng(2), g, 50, True)
    plain = g.constraints(main)
    with deferring():
        deferred = g.constraints(main)
    assert len(deferred) == len(plain)
    for d, v in zip(deferred, plain, strict=True):
        assert len(d) == 50
        np.testing.assert_array_equal(np.asarray(d), np.asarray(v))
        np.testing.assert_array_equal(np.asarray(d.value()), np.asarray(v))


def test_mixed_and_repeated_terms():
    """Deferred columns of two blocks interleaved with plain columns, one column listed twice."""
    rng = np.random.default_rng(4)
    g1, g2 = gadget_of(16, False, True, None), gadget_of(16, True, True, None)
    n = 33
    main, _ = frame(rng, g1, n, True)
    main2, _ = frame(rng, g2, n, True)
    extra = [GF(rng.integers(0, P, n)) for _ in range(3)]
    with deferring():
        deferred = [extra[0], *g1.constraints(main), extra[1], *g2.constraints(main2), extra[2]]
    plain = [extra[0], *g1.constraints(main), extra[1], *g2.constraints(main2), extra[2]]
    values_d = [*deferred, deferred[5]]
    values_p = [*plain, plain[5]]
    weights = ExtensionField(4).random((len(values_d),), seed=3)
    indices = list(range(len(values_d)))
    assert weighted_sum(weights, values_d, indices) == weighted_sum(weights, values_p, indices)
