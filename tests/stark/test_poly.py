"""NTT-based interpolation and coset LDE against naive evaluation; evaluation at an extension
point against Horner's rule."""

import galois
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stark import ntt
from stark.field import (
    GF,
    MULTIPLICATIVE_GENERATOR,
    PARALLEL_MIN_ELEMENTS,
    ExtensionField,
    P,
    root_of_unity,
)
from stark.poly import (
    coset_points,
    evaluate_at,
    evaluate_coset,
    ext_powers,
    interpolate,
    interpolate_coset,
    low_degree_extend,
    nonzero_entries,
    periodic_column_on_coset,
    subgroup_interpolants_at,
)
from stark.protocol import periodic_at, periodic_on_coset


def horner(coeffs, x):
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + int(c)) % P
    return acc


@settings(max_examples=30, deadline=None)
@given(log_n=st.integers(0, 6), log_blowup=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_lde_matches_naive_evaluation(log_n, log_blowup, seed):
    """Interpolating on <w_n> reproduces the values there, and the LDE on s*<w_N> equals the
    interpolant evaluated point by point."""
    n, big_n = 1 << log_n, 1 << (log_n + log_blowup)
    values = GF.Random((2, n), seed=seed)
    coeffs, lde = low_degree_extend(values, big_n)
    w_n, w_big = int(root_of_unity(log_n)), int(root_of_unity(log_n + log_blowup))
    for c in range(2):
        for i in range(n):
            assert horner(coeffs[c], pow(w_n, i, P)) == int(values[c, i])
        for i in range(big_n):
            x = MULTIPLICATIVE_GENERATOR * pow(w_big, i, P) % P
            assert horner(coeffs[c], x) == int(lde[c, i])


@settings(max_examples=20, deadline=None)
@given(log_n=st.integers(0, 8), seed=st.integers(0, 2**32 - 1))
def test_interpolation_round_trips(log_n, seed):
    """evaluate_coset o interpolate_coset and interpolate o (NTT) are identities."""
    n = 1 << log_n
    coeffs = GF.Random((3, n), seed=seed)
    on_coset = evaluate_coset(coeffs, n)
    assert np.array_equal(interpolate_coset(on_coset), coeffs)
    on_subgroup = evaluate_coset(coeffs, n, shift=GF(1))
    assert np.array_equal(interpolate(on_subgroup), coeffs)


def test_coset_points_order():
    """Position i of a coset domain is s * w^i (the NTT's natural order)."""
    pts = coset_points(GF(MULTIPLICATIVE_GENERATOR), 16)
    w = int(root_of_unity(4))
    assert [int(x) for x in pts] == [MULTIPLICATIVE_GENERATOR * pow(w, i, P) % P for i in range(16)]
    some = coset_points(GF(MULTIPLICATIVE_GENERATOR), 16, np.array([3, 9]))
    assert [int(x) for x in some] == [int(pts[3]), int(pts[9])]


def test_evaluate_coset_rejects_too_many_coefficients():
    with pytest.raises(ValueError):
        evaluate_coset(GF.Random((1, 8)), 4)


@pytest.mark.parametrize("k", [4, 5])
@pytest.mark.parametrize("d", [1, 2, 17, 64, (1 << 16) + 3])
def test_evaluate_at_extension_point(k, d):
    """sum_i c_i z^i by the vectorised path equals Horner's rule in the extension."""
    ext = ExtensionField(k)
    rng = np.random.default_rng(d)
    coeffs = GF.Random((3, d), seed=rng)
    z = ext.random(seed=rng)
    got = evaluate_at(coeffs, z)
    pw = ext_powers(z, d)
    for c in range(3):
        if d < 100:  # Horner's rule, one term at a time
            acc = ext.zeros()
            for coef in reversed(list(coeffs[c])):
                acc = acc * z + GF(int(coef))
        else:  # past 2^16 terms the kernel reduces its accumulators: check against galois
            acc = (pw * coeffs[c]).sum()
        assert got[c] == acc
    assert ext_powers(z, 5)[4] == z**4


# -- serial and parallel transforms ---------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 5),
    log_size=st.integers(0, 10),
    d_fraction=st.floats(0.0, 1.0),
    inverse=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_ntt_serial_and_parallel_twins_agree(rows, log_size, d_fraction, inverse, seed):
    """Both transform kernels give the same rows, for any row length d <= size (zero-padded
    and pre-scaled, split into cosets of the largest power of two <= d, coefficients past it
    folded); and those are the transforms: row 0 against galois."""
    size = 1 << log_size
    d = max(1, round(d_fraction * size))
    rng = np.random.default_rng(seed)
    data = rng.integers(0, P, (rows, d), dtype=np.int64).astype(np.uint32)
    data[0, 0] = P - 1  # an extreme value
    scale = rng.integers(0, P, d, dtype=np.int64).astype(np.uint64)
    tables = ntt._plan(size, d, inverse, scale)
    serial = np.empty((rows, size), np.uint32)
    parallel = np.empty((rows, size), np.uint32)
    ntt._transform_rows_serial(data, serial, *tables, 1)
    ntt._transform_rows(data, parallel, *tables, min(rows, 2))
    assert np.array_equal(serial, parallel)
    padded = GF(
        np.concatenate(
            [data[0].astype(np.uint64) * scale % P, np.zeros(size - d, np.uint64)]
        ).astype(np.int64)
    )
    expected = (galois.intt if inverse else galois.ntt)(padded, size)
    assert np.array_equal(serial[0], expected)


@settings(max_examples=25, deadline=None)
@given(x=st.integers(0, 2**32 - 1), w=st.integers(0, P - 1))
def test_shoup_product_is_exact(x, w):
    """x * w mod p by Shoup's method, for any 32-bit x and any fixed w < p."""
    factor, quotient = ntt.shoup(np.array([w]))
    assert int(ntt._mul_shoup(np.uint32(x), factor[0], quotient[0])) == x * w % P


def test_ntt_routes_small_batches_to_the_serial_kernel(monkeypatch):
    """A small batch never reaches the parallel kernel; a large multi-row batch does."""
    calls = []
    for name in ("_transform_rows", "_transform_rows_serial"):
        kernel = getattr(ntt, name)
        monkeypatch.setattr(ntt, name, lambda *a, _k=kernel, _n=name: (calls.append(_n), _k(*a)))
    values = GF.Random((3, 64), seed=1)
    assert np.array_equal(ntt.inverse(ntt.forward(values)), values)
    assert calls == ["_transform_rows_serial"] * 2
    calls.clear()
    big = GF.Random((4, PARALLEL_MIN_ELEMENTS // 4), seed=2)
    ntt.forward(big)
    one_row = GF.Random((1, 2 * PARALLEL_MIN_ELEMENTS), seed=3)
    ntt.forward(one_row)
    assert calls == ["_transform_rows", "_transform_rows_serial"]


# -- periodic columns in closed form ---------------------------------------------------------------
def dense_cycle(m, kind, rng):
    """A cycle of length m: one-hot, all zero, a few nonzero entries, or dense."""
    if kind == "one-hot":
        cycle = [0] * m
        cycle[int(rng.integers(m))] = int(rng.integers(1, P))
        return cycle
    if kind == "zero":
        return [0] * m
    if kind == "sparse":
        cycle = [0] * m
        for j in rng.integers(0, m, 3):
            # any integers (negative, past 2^64), reduced mod p
            cycle[int(j)] = int(rng.integers(-(2**62), 2**62)) * int(rng.integers(1, 2**16))
        return cycle
    return [int(v) for v in rng.integers(0, P, m)]


def by_interpolation(cycle, y):
    """The reference route: coefficients by an inverse NTT, then evaluation at y."""
    coeffs = interpolate(GF(np.array([v % P for v in cycle], dtype=np.int64)))
    return evaluate_at(coeffs, y)[0]


KINDS = ["one-hot", "zero", "sparse", "dense"]


@pytest.mark.parametrize("k", [4, 5])
@settings(max_examples=40, deadline=None)
@given(log_m=st.integers(0, 9), seed=st.integers(0, 2**32 - 1))
def test_barycentric_equals_interpolation(k, log_m, seed):
    """subgroup_interpolants_at gives the interpolant's value at random extension points, for
    one-hot, zero, sparse and dense cycles evaluated together."""
    m = 1 << log_m
    rng = np.random.default_rng(seed)
    cycles = [dense_cycle(m, kind, rng) for kind in KINDS]
    y = ExtensionField(k).random(seed=rng)
    got = subgroup_interpolants_at([nonzero_entries(c) for c in cycles], m, y)
    for cycle, value in zip(cycles, got, strict=True):
        assert value == by_interpolation(cycle, y)


@pytest.mark.parametrize("log_m", [0, 1, 3, 6])
def test_barycentric_at_points_of_the_subgroup(log_m):
    """At y = g^t (where the barycentric form would divide by zero) the value is the cycle's."""
    m = 1 << log_m
    rng = np.random.default_rng(log_m)
    cycles = [dense_cycle(m, kind, rng) for kind in KINDS]
    ext = ExtensionField(4)
    g = int(root_of_unity(log_m))
    for t in range(m):
        y = ext.from_base(pow(g, t, P))
        got = subgroup_interpolants_at([nonzero_entries(c) for c in cycles], m, y)
        for cycle, value in zip(cycles, got, strict=True):
            assert value == ext.from_base(cycle[t] % P)


@settings(max_examples=30, deadline=None)
@given(log_n=st.integers(0, 12), seed=st.integers(0, 2**32 - 1))
def test_one_hot_is_the_lagrange_basis_polynomial(log_n, seed):
    """The one-hot column at j is L_j(z) = (z^n - 1) g^j / (n (z - g^j))."""
    n = 1 << log_n
    rng = np.random.default_rng(seed)
    j = int(rng.integers(n))
    ext = ExtensionField(5)
    z = ext.random(seed=rng)
    g_j = GF(pow(int(root_of_unity(log_n)), j, P))
    expected = (z**n - 1) * g_j / ((z - g_j) * GF(n % P))
    cycle = [0] * n
    cycle[j] = 1
    assert subgroup_interpolants_at([nonzero_entries(cycle)], n, z)[0] == expected


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.just(0), st.integers(-(2**80), 2**80), st.just(P), st.just(-1)),
        max_size=600,
    )
)
def test_nonzero_entries(values):
    """Positions and reduced values of the nonzero entries, from lists, numpy and galois arrays."""
    expected_pos = [i for i, v in enumerate(values) if v != 0]
    expected_val = [values[i] % P for i in expected_pos]
    pos, val = nonzero_entries(values)
    assert pos.tolist() == expected_pos and val.tolist() == expected_val
    reduced = [v % P for v in values]
    for arr in (np.array(reduced, dtype=np.int64), GF(np.array(reduced, dtype=np.int64))):
        pos, val = nonzero_entries(arr)
        nz = [i for i, v in enumerate(reduced) if v]
        assert pos.tolist() == nz and val.tolist() == [reduced[i] for i in nz]


def test_nonzero_entries_of_long_sparse_lists():
    """The bisection finds every entry of long lists, wherever the entries are."""
    rng = np.random.default_rng(4)
    for count in (1, 2, 17, 300):
        cycle = [0] * (1 << 16)
        where = sorted({int(j) for j in rng.integers(0, 1 << 16, count)} | {0, (1 << 16) - 1})
        for j in where:
            cycle[j] = j + 1
        pos, val = nonzero_entries(cycle)
        assert pos.tolist() == where and val.tolist() == [j + 1 for j in where]


@settings(max_examples=30, deadline=None)
@given(
    log_m=st.integers(0, 7),
    extra=st.integers(0, 3),
    blowup=st.integers(0, 3),
    kind=st.sampled_from(KINDS),
    shift_exp=st.integers(1, 1000),
    seed=st.integers(0, 2**32 - 1),
)
@example(log_m=2, extra=1, blowup=1, kind="one-hot", shift_exp=15 << 24, seed=0)  # meets <w_m>
def test_periodic_column_on_coset_equals_transforms(log_m, extra, blowup, kind, shift_exp, seed):
    """The column P(x^(n/m)) on a coset, by Lagrange terms or transforms, equals interpolating
    the cycle and extending it (the former route), including cosets that meet the subgroup."""
    m, n = 1 << log_m, 1 << (log_m + extra)
    size = n << blowup
    rng = np.random.default_rng(seed)
    cycle = dense_cycle(m, kind, rng)
    shift = GF(MULTIPLICATIVE_GENERATOR) ** shift_exp  # some powers land in the 2-power subgroup
    coeffs = interpolate(GF(np.array([v % P for v in cycle], dtype=np.int64)))
    inner = evaluate_coset(coeffs, size * m // n, shift ** (n // m))[0]
    expected = np.tile(np.asarray(inner), n // m)
    got = periodic_column_on_coset(*nonzero_entries(cycle), m, n, shift, size)
    assert isinstance(got, GF) and np.array_equal(got, expected)


class PeriodicOnly:
    """Just what periodic_at and periodic_on_coset read from an AIR."""

    def __init__(self, n, cycles):
        self.trace_len, self._cycles = n, cycles

    def periodic_columns(self):
        return self._cycles


@pytest.mark.parametrize("log_n", [3, 9, 16])
def test_periodic_at_and_on_coset_match_the_interpolation_route(log_n):
    """periodic_at and periodic_on_coset on a solvency-like AIR (a 2^min(9, log n) table and
    one-hot selectors with cycle n) equal interpolation then evaluation."""
    n = 1 << log_n
    rng = np.random.default_rng(log_n)
    table = list(range(min(512, n)))
    selectors = []
    for j in range(5):
        one_hot = [0] * n
        one_hot[j] = 1
        selectors.append(one_hot)
    cycles = [table, *selectors, dense_cycle(min(8, n), "dense", rng)]
    air = PeriodicOnly(n, cycles)
    z = ExtensionField(4).random(seed=rng)
    got = periodic_at(air, z)
    for cycle, value in zip(cycles, got, strict=True):
        assert value == by_interpolation(cycle, z ** (n // len(cycle)))
    if log_n <= 9:
        size, shift = 4 * n, GF(MULTIPLICATIVE_GENERATOR)
        for cycle, column in zip(cycles, periodic_on_coset(air, size, shift), strict=True):
            m = len(cycle)
            coeffs = interpolate(GF(np.array(cycle, dtype=np.int64) % P))
            inner = evaluate_coset(coeffs, size * m // n, shift ** (n // m))[0]
            assert np.array_equal(column, np.tile(np.asarray(inner), n // m))
