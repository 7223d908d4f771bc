"""A LogUp range check with many looked-up values per row (logarithmic derivatives, Haböck
2022/1530), split into helper columns of `group` values each, so that every constraint has
degree at most group + 1 (GROUP = 3 and degree 4 by default; an AIR whose constraints reach
degree 7 anyway takes 6 per helper, half the extension columns, at no cost in degree).

Looked-up values v_1..v_m per row, a table column T (periodic) and a multiplicity column M
(how often T's value on that row occurs among all looked-up values). With the challenge alpha:

    helper g (values a, b, c):  h_g = 1/(alpha - a) + 1/(alpha - b) + 1/(alpha - c)
        constraint  h_g (alpha-a)(alpha-b)(alpha-c) - [(alpha-b)(alpha-c) + (alpha-a)(alpha-c)
                    + (alpha-a)(alpha-b)] = 0                                    (degree 4)
    running sum:  (sigma' - sigma - sum_g h_g)(alpha - T) + M = 0 on every row, cyclically
                                                                                 (degree 2)

Around the cycle sigma telescopes to 0, so sum_rows sum_i 1/(alpha - v_i) = sum_rows
M/(alpha - T): as rational functions in alpha this forces every v_i to be a table value, provided
the total number of lookups is below p (so multiplicities cannot wrap). The helper identity
needs every alpha - v nonzero, true except with probability (lookups)/|F| over alpha. The
grouping changes neither argument: a helper of any size is the sum of its values' inverses.
"""

from __future__ import annotations

import numpy as np

from stark.field import (
    GF,
    HAVE_NUMBA,
    PARALLEL_MIN_ELEMENTS,
    ExtArray,
    P,
    add_mod,
    ext_mul_ints,
    mont_mul,
    reduced,
)
from stark.jit import njit, prange

GROUP = 3  # looked-up values per helper column: degree 1 + GROUP = 4
HELPERS_PER_BATCH = 16  # helper columns built per batched inversion (build_aux)


def num_helpers(num_values: int, group: int = GROUP) -> int:
    return -(-num_values // group)


def helper_constraints(alpha, values, helpers, group: int = GROUP) -> list:
    """One constraint per helper column, h prod_i d_i - sum_i prod_(k != i) d_k = 0 with
    d_i = alpha - v_i; `values` are the looked-up expressions on this row (a list, or a 2-D
    array of them), `helpers` the helper columns (a list, or one extension array). The prover's
    columns (base values, one challenge) go through a compiled kernel (_helper_kernel); other
    operands (the verifier's single point) through extension arithmetic, where the cofactors
    are prefix times suffix products: 3 group multiplications, not group^2."""
    if _columns_case(alpha, values, helpers):
        return _compiled_helper_constraints(alpha, values, helpers, group)
    out = []
    for g in range(num_helpers(len(values), group)):
        factors = [alpha - v for v in values[g * group : (g + 1) * group]]
        prefix = [None]  # prefix[i] = d_0 ... d_(i-1)
        for d in factors:
            prefix.append(d if prefix[-1] is None else prefix[-1] * d)
        suffix = None  # d_(i+1) ... d_(m-1), built from the right
        sum_of_cofactors = None
        for i in range(len(factors) - 1, -1, -1):
            parts = [p for p in (prefix[i], suffix) if p is not None]
            cofactor = parts[0] * parts[1] if len(parts) == 2 else parts[0] if parts else 1
            sum_of_cofactors = cofactor if sum_of_cofactors is None else sum_of_cofactors + cofactor
            suffix = factors[i] if suffix is None else factors[i] * suffix
        out.append(helpers[g] * prefix[-1] - sum_of_cofactors)
    return out


def _columns_case(alpha, values, helpers) -> bool:
    """Whether these operands are the prover's: one challenge (shape ()), base-field value
    columns (a list, or one (m, n) array) and extension helper columns (a list, or one
    (helpers, n) array), all of length n (and numba to compile for them)."""
    if not HAVE_NUMBA or not isinstance(alpha, ExtArray) or alpha.shape != () or not len(values):
        return False
    if isinstance(values, GF) and values.ndim == 2:
        n = values.shape[1]
    elif all(isinstance(v, GF) and v.ndim == 1 for v in values):
        n = values[0].shape[0]
        if any(v.shape != (n,) for v in values):
            return False
    else:
        return False
    if isinstance(helpers, ExtArray):
        return len(helpers.shape) == 2 and helpers.shape[1] == n and helpers.field == alpha.field
    return all(
        isinstance(h, ExtArray) and h.shape == (n,) and h.field == alpha.field for h in helpers
    )


def _alpha_powers(alpha: ExtArray, count: int) -> list[list[int]]:
    """[alpha^0, ..., alpha^(count-1)] as coordinate lists of Python integers."""
    coords = [int(c) for c in alpha._raw]
    out = [[1] + [0] * (len(coords) - 1)]
    for _ in range(1, count):
        out.append(ext_mul_ints(out[-1], coords, alpha.field))
    return out


def _helper_tables(alpha: ExtArray, sizes: list[int], group: int) -> tuple[np.ndarray, np.ndarray]:
    """The constants of _helper_kernel for groups of these sizes m, from the elementary
    symmetric polynomials e_j of the group's values:

        prod_i (alpha - v_i) = sum_(j=0..m) (-1)^j e_j alpha^(m-j)                  (P)
        sum_i prod_(l != i) (alpha - v_l) = dP/dalpha
                             = sum_(j=0..m-1) (-1)^j (m-j) e_j alpha^(m-j-1)          (S)

    The kernel holds e_j (j >= 1) as E_j = e_j R^(1-j) (R = 2^32, Montgomery scaling), so the
    coefficient of E_j is (-1)^j alpha^(m-j) R^(j+1) in P (which comes out times R, ready to
    be a Montgomery multiplier) and (-1)^j (m-j) alpha^(m-j-1) R^j in S; j = 0 holds the
    constant terms alpha^m R and m alpha^(m-1). The S table is negated (the kernel subtracts
    S by adding). Shapes (groups, group + 1, k)."""
    k, r = alpha.field.degree, (1 << 32) % P
    powers = _alpha_powers(alpha, group + 1)
    kp = np.zeros((len(sizes), group + 1, k), dtype=np.uint32)
    ks = np.zeros((len(sizes), group + 1, k), dtype=np.uint32)
    for g, m in enumerate(sizes):
        kp[g, 0] = [c * r % P for c in powers[m]]
        ks[g, 0] = [-c * m % P for c in powers[m - 1]]
        for j in range(1, m + 1):
            sign = -1 if j % 2 else 1
            kp[g, j] = [sign * c * pow(r, j + 1, P) % P for c in powers[m - j]]
            if j < m:
                ks[g, j] = [-sign * (m - j) * c * pow(r, j, P) % P for c in powers[m - j - 1]]
    return kp, ks


def _compiled_helper_constraints(alpha: ExtArray, values: list, helpers, group: int) -> list:
    """helper_constraints on columns, by _helper_kernel: the same field elements."""
    ext = alpha.field
    m = len(values)
    sizes = [min(group, m - g * group) for g in range(num_helpers(m, group))]
    kp, ks = _helper_tables(alpha, sizes, group)
    vals = np.asarray(values) if isinstance(values, GF) else np.stack(values)
    vals = np.ascontiguousarray(vals, dtype=np.uint32)
    if isinstance(helpers, ExtArray):  # (k, G, n) -> (G, k, n) in place
        hs = np.moveaxis(helpers._raw[:, : len(sizes)], 1, 0)
        if hs.dtype != np.uint32 or hs.strides[-1] != 4:
            hs = np.ascontiguousarray(hs, dtype=np.uint32)
    else:
        hs = np.ascontiguousarray(np.stack([h._raw for h in helpers[: len(sizes)]]), np.uint32)
    out = np.empty(hs.shape, dtype=np.uint32)
    w_mont = np.uint32(ext.nonresidue * (1 << 32) % P)
    # by the work (points x looked-up values): at 200 assets a chunk of 4,096 points has 1,600
    points, count = vals.shape[1], vals.shape[0]
    wide = points >= 2 * _BLOCK and points * count >= PARALLEL_MIN_ELEMENTS
    kernel = _helper_kernel_parallel if wide else _helper_kernel
    kernel(vals, hs, kp, ks, np.asarray(sizes, dtype=np.int64), group, w_mont, out)
    return [ExtArray._of(ext, out[g]) for g in range(len(sizes))]


_PARALLEL_POINTS = 1 << 13  # points from which the kernels run on every core
_BLOCK = 256  # points per block of work (a thread's unit)


@njit(cache=True, inline="always")
def _helper_block(values, helpers, kp, ks, sizes, group, w_mont, out, lo, hi):
    """out[g, :, x] = h_g P_g - S_g at points lo..hi-1 (see _helper_tables). Every step is a
    loop over the block's points with an unsigned count, so that it vectorises."""
    k = out.shape[1]
    n = np.uint64(hi - lo)
    e = np.empty((group + 1, _BLOCK), dtype=np.uint32)
    pr = np.empty((k, _BLOCK), dtype=np.uint32)
    h = np.empty((k, _BLOCK), dtype=np.uint32)
    low = np.empty(_BLOCK, dtype=np.uint32)
    high = np.empty(_BLOCK, dtype=np.uint32)
    r_mod_p = np.uint32((1 << 32) % P)
    for g in range(sizes.shape[0]):
        m = sizes[g]
        for x in range(n):
            e[0, x] = r_mod_p
            e[1, x] = values[g * group, lo + x]
        for i in range(1, m):  # multiply in (X - v): E_j += E_(j-1) v, from the top
            v = values[g * group + i, lo : lo + n]
            e_top, e_below = e[i + 1], e[i]
            for x in range(n):
                e_top[x] = mont_mul(e_below[x], v[x])
            for j in range(i, 1, -1):
                e_j, e_below = e[j], e[j - 1]
                for x in range(n):
                    e_j[x] = add_mod(e_j[x], mont_mul(e_below[x], v[x]))
            e_1 = e[1]
            for x in range(n):
                e_1[x] = add_mod(e_1[x], v[x])
        for s in range(k):
            p_s = pr[s]
            for x in range(n):
                p_s[x] = kp[g, 0, s]
            for j in range(1, m + 1):
                c, e_j = kp[g, j, s], e[j]
                for x in range(n):
                    p_s[x] = add_mod(p_s[x], mont_mul(e_j[x], c))
            h_s = h[s]
            for x in range(n):
                h_s[x] = helpers[g, s, lo + x]
        for t in range(k):  # h * P: sum_(s+u=t) h_s P_u + W sum_(s+u=t+k) h_s P_u, minus S_t
            for x in range(n):
                low[x] = 0
                high[x] = 0
            for s in range(k):
                u = t - s
                dest = low
                if u < 0:
                    u += k
                    dest = high
                h_s, p_u = h[s], pr[u]
                for x in range(n):
                    dest[x] = add_mod(dest[x], mont_mul(h_s[x], p_u[x]))
            o = out[g, t, lo : lo + n]
            c = ks[g, 0, t]
            for x in range(n):
                o[x] = add_mod(add_mod(low[x], mont_mul(high[x], w_mont)), c)
            for j in range(1, m):  # minus S_t (the table holds -S's coefficients)
                c, e_j = ks[g, j, t], e[j]
                for x in range(n):
                    o[x] = add_mod(o[x], mont_mul(e_j[x], c))


@njit(cache=True)
def _helper_kernel(values, helpers, kp, ks, sizes, group, w_mont, out):
    """The helper constraints h_g prod_i (alpha - v_i) - sum_i prod_(l != i) (alpha - v_l) of
    every group g at every point: values (m, X), helpers and out (G, k, X)."""
    n = values.shape[1]
    for b in range((n + _BLOCK - 1) // _BLOCK):
        _helper_block(
            values, helpers, kp, ks, sizes, group, w_mont, out, b * _BLOCK, min(n, (b + 1) * _BLOCK)
        )


@njit(parallel=True, cache=True)
def _helper_kernel_parallel(values, helpers, kp, ks, sizes, group, w_mont, out):
    """_helper_kernel with blocks of points spread over the cores."""
    n = values.shape[1]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        lo = np.int64(b) * _BLOCK
        _helper_block(values, helpers, kp, ks, sizes, group, w_mont, out, lo, min(n, lo + _BLOCK))


def running_sum_constraint(alpha, sigma, sigma_next, helpers, table, multiplicity):
    """(sigma' - sigma - sum_g h_g)(alpha - T) + M."""
    return (sigma_next - sigma - _sum_of(helpers)) * (alpha - table) + multiplicity


def _sum_of(terms: list):
    """sum_g terms_g: one uint64 accumulation when they are extension arrays of one shape
    (2^32 terms below 2^31 cannot overflow), else term by term."""
    if isinstance(terms, ExtArray):  # one array of the terms along its first axis
        return terms.sum(axis=0)
    first = terms[0]
    if isinstance(first, ExtArray) and all(
        isinstance(t, ExtArray) and t._raw.shape == first._raw.shape for t in terms
    ):
        acc = np.zeros(first._raw.shape, dtype=np.uint64)
        for t in terms:
            acc += t._raw
        return ExtArray._of(first.field, (acc % np.uint64(P)).astype(np.uint32))
    total = first
    for t in terms[1:]:
        total = total + t
    return total


def build_aux(
    alpha: ExtArray, values: GF, table: GF, multiplicity: GF, group: int = GROUP
) -> ExtArray:
    """The auxiliary columns (helpers, then sigma), shape (num_helpers + 1, n).

    values: (m, n) looked-up values; table, multiplicity: (n,). With numba, when every value
    lies in the table's range (an honest trace), by _compiled_aux; else by batched extension
    inversions (the reference: the same field elements).
    """
    if HAVE_NUMBA:
        size = int(np.max(np.asarray(table))) + 1
        if values.size and int(np.max(np.asarray(values))) < size <= _MAX_TABLE:
            return _compiled_aux(alpha, values, table, multiplicity, group, size)
    m = values.shape[0]
    helpers = []
    # a few helpers' values at a time: one batched inversion each, and the memory of the
    # inversion's temporaries bounded by the batch, not by every looked-up value at once
    step = group * HELPERS_PER_BATCH
    for start in range(0, m, step):
        inverses = (alpha - values[start : start + step]).inverse()
        for g in range(0, min(step, m - start), group):
            helpers.append(inverses[g : g + group].sum(axis=0))
    per_row = helpers[0]
    for h in helpers[1:]:
        per_row = per_row + h
    step = per_row - (alpha - table).inverse() * multiplicity
    # sigma_0 = 0, sigma_{i+1} = sigma_i + step_i: an exclusive prefix sum (exact in uint64)
    coords = np.cumsum(np.asarray(step.coords, dtype=np.uint64), axis=1) % P
    sigma = np.zeros_like(coords)
    sigma[:, 1:] = coords[:, :-1]
    ext = alpha.field
    columns = [h.coords for h in helpers] + [GF(sigma)]
    return ExtArray(ext, GF(np.stack([np.asarray(c) for c in columns], axis=1)))


_MAX_TABLE = 1 << 16  # the largest table whose inverses _compiled_aux tabulates


def _compiled_aux(
    alpha: ExtArray, values: GF, table: GF, multiplicity: GF, group: int, size: int
) -> ExtArray:
    """build_aux when every looked-up value and table entry lies in [0, size): the inverses
    1/(alpha - t) are tabulated once for t < size (the same field elements as inverting each
    alpha - v), then _aux_kernel sums them per helper and _running_sum_kernel makes sigma."""
    ext, k = alpha.field, alpha.field.degree
    m, n = values.shape
    helpers = num_helpers(m, group)
    inverses = (alpha - reduced(np.arange(size, dtype=np.uint32))).inverse()._raw
    out = np.empty((k, helpers + 1, n), dtype=np.uint32)
    step = np.empty((k, n), dtype=np.uint32)
    vals = np.ascontiguousarray(np.asarray(values), dtype=np.uint32)
    tab = np.ascontiguousarray(np.asarray(table), dtype=np.uint32)
    mult = np.ascontiguousarray(np.asarray(multiplicity), dtype=np.uint32)
    lut = np.ascontiguousarray(inverses, dtype=np.uint32)
    kernel = _aux_kernel_parallel if n >= _PARALLEL_POINTS else _aux_kernel
    kernel(vals, tab, mult, lut, group, out, step)
    _running_sum_kernel(step, out)
    return ExtArray._of(ext, out)


@njit(cache=True, inline="always")
def _aux_block(values, table, mult, lut, group, out, step, lo, hi):
    """Rows lo..hi-1: out[:, g] = sum_(i in group g) lut[:, v_i] (the helpers) and step =
    sum_g h_g - M lut[:, T] (sigma's increment)."""
    k, helpers = out.shape[0], out.shape[1] - 1
    m = values.shape[0]
    n = np.uint64(hi - lo)
    p64 = np.uint64(P)
    for s in range(k):
        inv = lut[s]
        st = step[s, lo:hi]
        t = table[lo:hi]
        mu = mult[lo:hi]
        for x in range(n):  # -M / (alpha - T), as p - (M lut mod p) mod p
            st[x] = (p64 - np.uint64(mu[x]) * np.uint64(inv[t[x]]) % p64) % p64
        for g in range(helpers):
            o = out[s, g, lo:hi]
            for x in range(n):
                o[x] = 0
            for i in range(g * group, min(m, (g + 1) * group)):
                v = values[i, lo:hi]
                for x in range(n):
                    o[x] = add_mod(o[x], inv[v[x]])
            for x in range(n):
                st[x] = add_mod(st[x], o[x])


@njit(cache=True)
def _aux_kernel(values, table, mult, lut, group, out, step):
    """The helper columns and sigma's increments (see _aux_block), block by block."""
    n = values.shape[1]
    for b in range((n + _BLOCK - 1) // _BLOCK):
        _aux_block(values, table, mult, lut, group, out, step, b * _BLOCK, min(n, (b + 1) * _BLOCK))


@njit(parallel=True, cache=True)
def _aux_kernel_parallel(values, table, mult, lut, group, out, step):
    """_aux_kernel with blocks of rows spread over the cores."""
    n = values.shape[1]
    for b in prange((n + _BLOCK - 1) // _BLOCK):
        lo = np.int64(b) * _BLOCK
        _aux_block(values, table, mult, lut, group, out, step, lo, min(n, lo + _BLOCK))


@njit(cache=True)
def _running_sum_kernel(step, out):
    """sigma (the last column of out): sigma_0 = 0, sigma_(i+1) = sigma_i + step_i."""
    k, last, n = out.shape[0], out.shape[1] - 1, out.shape[2]
    for s in range(k):
        acc = np.uint32(0)
        for x in range(n):
            out[s, last, x] = acc
            acc = add_mod(acc, step[s, x])


def multiplicities(values: np.ndarray, table_size: int, n: int) -> np.ndarray:
    """The multiplicity column: entry r counts how often r occurs among all looked-up values
    (rows past the table hold 0). Raises ValueError for a value outside the table."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= table_size):
        raise ValueError("a looked-up value lies outside the table")
    counts = np.zeros(n, dtype=np.int64)
    counts[:table_size] = np.bincount(flat, minlength=table_size)
    return counts


__all__ = [
    "GROUP",
    "build_aux",
    "helper_constraints",
    "multiplicities",
    "num_helpers",
    "running_sum_constraint",
]
