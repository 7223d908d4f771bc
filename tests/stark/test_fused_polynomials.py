"""Compiled polynomials weighted with the weights folded into their coefficients
(`CompiledPolynomials.weighted`, `stark.fused.PolynomialRows`): sum_i w_i P_i computed as
sum over distinct monomials m of (sum_i w_i c_im) m equals the weighted sum of the evaluated
polynomials, for random polynomials, weights and subsets, serial and parallel, and for the
batch AIR's arithmetic constraints (22 and 2 assets); a changed cell changes the sum; and
without numba the same values come from the numpy path."""

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stark.field as field
from stark.air import Frame
from stark.field import GF, CellPolynomial, CompiledPolynomials, ExtensionField, P, reduced
from stark.fused import DeferredColumn, PolynomialRows, deferring
from stark.protocol import weighted_sum

DIRECT = 6  # cells 0..5 are rows of `main`, the others rows of `extra`
CELLS = 10


@st.composite
def polynomials(draw) -> list[CellPolynomial | int]:
    """Random polynomials of up to 3 factors per monomial, constants and zero among them."""
    monomial = st.lists(st.integers(0, CELLS - 1), max_size=field.MAX_FACTORS).map(
        lambda m: tuple(sorted(m))
    )
    coefficient = st.one_of(st.integers(1, 3), st.integers(P - 3, P - 1), st.integers(1, P - 1))
    terms = st.dictionaries(monomial, coefficient, max_size=8).map(CellPolynomial)
    return draw(st.lists(st.one_of(terms, st.integers(0, P - 1)), min_size=1, max_size=12))


def columns(polys: CompiledPolynomials, n: int, rng) -> tuple[GF, np.ndarray]:
    """Random cells: main a strided view (as the prover's LDE rows), extra a matrix."""
    main = reduced(rng.integers(0, P, (polys.direct + 2, 2 * n), dtype=np.uint32))[:, n:]
    extra = rng.integers(0, P, (len(polys.extra_cells), n), dtype=np.uint32)
    return main, extra


def folded_and_plain(polys, main, extra, weights, indices):
    """weighted_sum over the deferred columns and over the evaluated rows."""
    deferred = PolynomialRows(polys, main, extra).columns()
    values = reduced(polys.evaluate(main, extra))
    plain = [values[i] for i in range(values.shape[0])]
    return weighted_sum(weights, deferred, indices), weighted_sum(weights, plain, indices)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as m:
        yield m


@settings(max_examples=40, deadline=None)
@given(
    polys=polynomials(),
    n=st.integers(1, 1100),
    degree=st.sampled_from([4, 5]),
    parallel=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_folded_sum_equals_the_weighted_evaluations(
    polys, n, degree, parallel, seed, data, monkeypatch_module
):
    monkeypatch_module.setattr(field, "PARALLEL_MIN_ELEMENTS", 1 if parallel else 1 << 15)
    rng = np.random.default_rng(seed)
    compiled = CompiledPolynomials(polys, direct=DIRECT)
    main, extra = columns(compiled, n, rng)
    m = len(polys)
    indices = data.draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m, unique=True))
    weights = ExtensionField(degree).random((m,), seed=seed)
    folded, plain = folded_and_plain(compiled, main, extra, weights, sorted(indices))
    assert folded.shape == (n,)
    assert folded == plain


@cache
def solvency_air(assets: int):
    """A small batch AIR (the arithmetic polynomials depend on the assets, not the users)."""
    from decimal import Decimal

    from circuits.solvency import SolvencyAir, build_witness
    from solvency.generate import generate
    from solvency.snapshot import Asset, Assets

    data = generate(16, assets, seed=1)
    spec = [(a["symbol"], a["decimals"], Decimal(a["price"])) for a in data.assets]
    market = Assets("USD", tuple(Asset(s, d, p) for s, d, p in spec)).market()
    statement, _ = build_witness(market, data.balances)
    return SolvencyAir(statement)


def arithmetic_frame(air, n: int, rng) -> Frame:
    """Random rows for the batch AIR's arithmetic constraints (they read only main, main_next
    and the asset selectors)."""
    k = air.statement.num_assets
    cells = reduced(rng.integers(0, P, (2 * air.main_width, n), dtype=np.uint32))
    periodic = [GF(rng.integers(0, P, n)) for _ in range(1 + k)]
    return Frame(cells[: air.main_width], cells[air.main_width :], periodic=periodic)


@pytest.mark.skipif(not field.HAVE_NUMBA, reason="the compiled path needs numba")
@pytest.mark.parametrize("assets", [22, 2])
@settings(max_examples=4, deadline=None)
@given(n=st.integers(1, 700), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_the_batch_air_folded_equals_its_values(assets, n, seed, data):
    air = solvency_air(assets)
    f = arithmetic_frame(air, n, np.random.default_rng(seed))
    plain = air._arithmetic_values(f)
    with deferring():
        deferred = air._arithmetic_values(f)
    assert all(isinstance(v, DeferredColumn) for v in deferred)
    assert not any(isinstance(v, DeferredColumn) for v in plain)
    m = len(plain)
    indices = data.draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m, unique=True))
    weights = ExtensionField(5).random((m,), seed=seed)
    assert weighted_sum(weights, deferred, sorted(indices)) == weighted_sum(
        weights, plain, sorted(indices)
    )
    # every deferred column's values are the plain ones
    assert all(np.array_equal(np.asarray(d), p) for d, p in zip(deferred, plain, strict=True))


def test_a_changed_cell_changes_the_folded_sum():
    air = solvency_air(2)
    polys = air._arithmetic_polynomials
    rng = np.random.default_rng(7)
    main, extra = columns(polys, 64, rng)
    weights = ExtensionField(5).random((len(polys.ptr) - 1,), seed=7)
    w = np.asarray(weights.coords, dtype=np.uint64)
    before = polys.weighted(w, main, extra)
    first = polys.factors[polys.counts > 0, 0]  # a factor of each non-constant monomial
    for cell in {int(c) for c in first if c < polys.direct}:  # those read from main
        changed = np.array(main)
        changed[cell, 5] = (changed[cell, 5] + 1) % P
        after = polys.weighted(w, changed, extra)
        assert not np.array_equal(after[:, 5], before[:, 5]), cell
        assert np.array_equal(np.delete(after, 5, 1), np.delete(before, 5, 1))


@pytest.mark.parametrize("degree", [4, 5])
def test_the_numpy_path_gives_the_same_sum(degree, monkeypatch):
    polys = solvency_air(2)._arithmetic_polynomials
    main, extra = columns(polys, 40, np.random.default_rng(degree))
    w = np.asarray(ExtensionField(degree).random((len(polys.ptr) - 1,), seed=1).coords)
    compiled = polys.weighted(w, main, extra)
    monkeypatch.setattr(field, "HAVE_NUMBA", False)
    monkeypatch.setattr(field, "GALOIS", False)
    assert np.array_equal(polys.weighted(w, main, extra), compiled)
    assert np.array_equal(
        polys.weighted(w, main, extra),
        field._dot_numpy(w.astype(np.uint64), polys.evaluate(main, extra)),
    )


def test_arithmetic_on_a_deferred_column_is_on_its_values():
    """A wrapper AIR may scale or shift a constraint (test_gross's controls zero a group)."""
    polys = solvency_air(2)._arithmetic_polynomials
    main, extra = columns(polys, 9, np.random.default_rng(3))
    column, value = PolynomialRows(polys, main, extra).columns()[4], polys.evaluate(main, extra)[4]
    value = reduced(value)
    assert np.array_equal(column * GF(0), GF.Zeros(9))
    assert np.array_equal(column * GF(3), value * GF(3))
    assert np.array_equal(3 * column, value * GF(3))
    assert np.array_equal(column + GF(5), value + GF(5))
    assert np.array_equal(column - GF(1), value - GF(1))
    assert np.array_equal(-column, -value)
    assert np.array_equal(column - column, GF.Zeros(9))
