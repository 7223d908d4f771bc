"""NTT-based interpolation and coset LDE against naive evaluation; evaluation at an extension
point against Horner's rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stark.field import GF, MULTIPLICATIVE_GENERATOR, ExtensionField, P, root_of_unity
from stark.poly import (
    coset_points,
    evaluate_at,
    evaluate_coset,
    ext_powers,
    interpolate,
    interpolate_coset,
    low_degree_extend,
)


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
