"""The LogUp kernels (circuits/lookup.py) compute the same field elements as the reference
extension arithmetic they replace, which is also the path without numba."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import lookup
from stark.field import HAVE_NUMBA, ExtArray, ExtensionField, P, reduced

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the kernels need numba")


def _reference(function, *args):
    """function(*args) through the extension arithmetic (as without numba)."""
    lookup.HAVE_NUMBA = False
    try:
        return function(*args)
    finally:
        lookup.HAVE_NUMBA = HAVE_NUMBA


def _elements(rng: np.random.Generator, shape, high: int = P) -> np.ndarray:
    return rng.integers(0, high, shape, dtype=np.uint32)


@settings(max_examples=25, deadline=None)
@given(
    degree=st.sampled_from([4, 5]),
    group=st.sampled_from([3, 6]),
    m=st.integers(1, 20),
    n=st.sampled_from([1, 7, 300, 1 << 13]),
    seed=st.integers(0, 2**32 - 1),
)
def test_helper_constraints_kernel(degree, group, m, n, seed):
    ext = ExtensionField(degree)
    rng = np.random.default_rng(seed)
    alpha = ExtArray(ext, reduced(_elements(rng, degree)))
    values = [reduced(_elements(rng, n)) for _ in range(m)]
    aux = ExtArray(ext, reduced(_elements(rng, (degree, lookup.num_helpers(m, group), n))))
    helpers = [aux[g] for g in range(lookup.num_helpers(m, group))]
    slow = _reference(lookup.helper_constraints, alpha, values, helpers, group)
    matrix = reduced(np.stack(values))  # the batch AIR's form: one matrix, one helper array
    for vals, hs in ((values, helpers), (matrix, aux)):
        assert lookup._columns_case(alpha, vals, hs)
        fast = lookup.helper_constraints(alpha, vals, hs, group)
        assert len(fast) == len(slow) and all(a == b for a, b in zip(fast, slow, strict=True))
    assert _reference(lookup.helper_constraints, alpha, matrix, aux, group) == slow


def test_helper_constraints_vanish_on_true_helpers():
    """h = sum_i 1/(alpha - v_i) satisfies its constraint (the kernel's formula is LogUp's)."""
    ext = ExtensionField(5)
    rng = np.random.default_rng(3)
    alpha = ExtArray(ext, reduced(_elements(rng, 5)))
    values = [reduced(_elements(rng, 64, 512)) for _ in range(7)]
    helpers = [sum((alpha - v).inverse() for v in values[g : g + 3]) for g in range(0, 7, 3)]
    for c in lookup.helper_constraints(alpha, values, helpers):
        assert np.all(c.is_zero())


@settings(max_examples=15, deadline=None)
@given(
    degree=st.sampled_from([4, 5]),
    group=st.sampled_from([3, 6]),
    m=st.integers(1, 14),
    n=st.sampled_from([8, 64, 1 << 13]),
    table_size=st.sampled_from([1, 5, 512]),
    seed=st.integers(0, 2**32 - 1),
)
def test_build_aux_kernel(degree, group, m, n, table_size, seed):
    ext = ExtensionField(degree)
    rng = np.random.default_rng(seed)
    alpha = ExtArray(ext, reduced(_elements(rng, degree)))
    values = reduced(_elements(rng, (m, n), table_size))
    table = reduced(np.arange(n, dtype=np.uint32) % table_size)
    mult = reduced(_elements(rng, n))
    fast = lookup.build_aux(alpha, values, table, mult, group)
    slow = _reference(lookup.build_aux, alpha, values, table, mult, group)
    assert fast == slow


def test_build_aux_values_outside_the_table():
    """A value beyond the table (a false statement) takes the general path: same columns."""
    ext = ExtensionField(5)
    rng = np.random.default_rng(5)
    alpha = ExtArray(ext, reduced(_elements(rng, 5)))
    values = reduced(_elements(rng, (4, 16), 8))
    values[2, 3] = 1000
    table = reduced(np.arange(16, dtype=np.uint32) % 8)
    mult = reduced(_elements(rng, 16, 9))
    slow = _reference(lookup.build_aux, alpha, values, table, mult)
    assert lookup.build_aux(alpha, values, table, mult) == slow


def test_running_sum_constraint_sum():
    ext = ExtensionField(5)
    rng = np.random.default_rng(9)
    alpha = ExtArray(ext, reduced(_elements(rng, 5)))
    helpers = [ExtArray(ext, reduced(_elements(rng, (5, 32)))) for _ in range(5)]
    sigma, sigma_next = (ExtArray(ext, reduced(_elements(rng, (5, 32)))) for _ in range(2))
    table, mult = reduced(_elements(rng, 32)), reduced(_elements(rng, 32))
    got = lookup.running_sum_constraint(alpha, sigma, sigma_next, helpers, table, mult)
    total = helpers[0]
    for h in helpers[1:]:
        total = total + h
    assert got == (sigma_next - sigma - total) * (alpha - table) + mult
