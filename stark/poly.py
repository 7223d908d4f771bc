"""Polynomials over F_p held as columns: interpolation on the trace domain, coset low-degree
extension (LDE), and evaluation at one extension-field point.

Conventions: a matrix of shape (cols, n) holds one polynomial per row (coefficients or
evaluations). The subgroup of size n is <w_n> with w_n = root_of_unity(log2 n); a coset
domain is s * <w_n> with s = MULTIPLICATIVE_GENERATOR, listed in natural order
(position i holds s * w_n^i), which is galois's NTT order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from stark import ntt
from stark.field import (
    GF,
    MULTIPLICATIVE_GENERATOR,
    ExtArray,
    P,
    batch_inverse,
    inverse_of_difference,
    lincomb,
    lincombs,
    power,
    powers,
    reduced,
    root_of_unity,
    row_dots,
)

COSET_SHIFT = GF(MULTIPLICATIVE_GENERATOR)


def coset_points(shift: GF, size: int, positions: np.ndarray | None = None) -> GF:
    """Points s * w_size^i of a coset, for every i or for the given positions."""
    w = root_of_unity(size.bit_length() - 1)
    if positions is None:
        return shift * powers(w, size)
    return shift * power(w, positions)


def interpolate(values: GF) -> GF:
    """Coefficients of the polynomials of degree < n taking `values` (cols, n) on <w_n>."""
    return ntt.inverse(_as_matrix(values))


def interpolate_coset(values: GF, shift: GF = COSET_SHIFT) -> GF:
    """Coefficients of the polynomials of degree < n taking `values` (cols, n) on s*<w_n>."""
    coeffs = interpolate(values)
    return coeffs * np.reciprocal(powers(shift, coeffs.shape[1]))


def evaluate_coset(coeffs: GF, size: int, shift: GF = COSET_SHIFT) -> GF:
    """Evaluations (cols, size) on s*<w_size> of polynomials with coefficients (cols, d <= size)."""
    coeffs = _as_matrix(coeffs)
    if coeffs.shape[1] > size:
        raise ValueError("more coefficients than evaluation points")
    return ntt.forward(coeffs, size, pre_scale=np.asarray(powers(shift, coeffs.shape[1])))


def low_degree_extend(values: GF, size: int) -> tuple[GF, GF]:
    """Interpolate columns (cols, n) on <w_n> and evaluate them on the coset s*<w_size>.

    Returns (coefficients (cols, n), evaluations (cols, size)).
    """
    coeffs = interpolate(values)
    return coeffs, evaluate_coset(coeffs, size)


def ext_powers(point: ExtArray, n: int) -> ExtArray:
    """[1, z, z^2, ..., z^(n-1)] for one extension element z, by doubling."""
    ext = point.field
    out = ext.ones((n,))
    filled, step = 1, point
    while filled < n:
        take = min(filled, n - filled)
        out[filled : filled + take] = out[:take] * step
        filled += take
        step = step * step
    return out


def evaluate_at(coeffs: GF, point: ExtArray) -> ExtArray:
    """Evaluate each base-field polynomial (rows of `coeffs`, shape (cols, d)) at one extension
    point z: returns an extension array of shape (cols,), sum_i c_i z^i."""
    coeffs = _as_matrix(coeffs)
    return row_dots(ext_powers(point, coeffs.shape[1]), coeffs)


def evaluate_from_subgroup(values: GF, point: ExtArray) -> ExtArray:
    """Each polynomial of degree < n given by its values (cols, n) on <w_n>, at one extension
    point z outside <w_n>: the barycentric form, with no transform and no coefficients,

        P(z) = (1 - z^n) / n * sum_i v_i w^i / (w^i - z).

    Returns an extension array of shape (cols,)."""
    values = _as_matrix(values)
    n = values.shape[1]
    xs = powers(root_of_unity(n.bit_length() - 1), n)
    factor = (1 - point**n) * GF(pow(n, -1, P))
    return row_dots(inverse_of_difference(xs, point) * xs * factor, values)


def vanishing_quotient(coeffs: GF, n: int) -> GF:
    """r for rows of coefficients (cols, d) written c = t + (X^n - 1) r with deg t < n: the
    quotient by X^n - 1, r_j = c_(j+n) + r_(j+n), block by block from the top (one block of
    d - n coefficients when d <= 2n)."""
    r = np.array(coeffs[:, n:], dtype=np.uint32)
    width = r.shape[1]
    for start in range((width - 1) // n * n - n, -1, -n):  # blocks below the top one
        stop = min(start + n, width - n)
        r[:, start:stop] = (r[:, start:stop].astype(np.uint64) + r[:, start + n : stop + n]) % P
    return reduced(r)


def divide_by_linear(coeffs: ExtArray, point: ExtArray) -> ExtArray:
    """Coefficients (m - 1,) of (F(X) - F(z)) / (X - z) for F's extension coefficients (m,).

    Synthetic division q_i = sum_(j > i) a_j z^(j-i-1), vectorised as q_i = z^-(i+1) S_(i+1)
    with the suffix sums S_m = sum_(j >= m) a_j z^j (sums of fewer than 2^33 terms below p fit
    in 64 bits, so each coordinate is one integer cumulative sum)."""
    ext, m = point.field, coeffs.shape[0]
    if m <= 1:
        return ext.zeros((0,))
    if point.is_zero():  # F(X) - F(0) = X * (a_1 + a_2 X + ...)
        return coeffs[1:]
    scaled = np.asarray((coeffs * ext_powers(point, m)).coords, dtype=np.uint64)
    suffix = np.cumsum(scaled[:, :0:-1], axis=1)[:, ::-1] % P  # S_1, ..., S_(m-1)
    return ExtArray(ext, reduced(suffix)) * ext_powers(point.inverse(), m)[1:]


def add_polynomials(a: ExtArray, b: ExtArray) -> ExtArray:
    """a + b for extension coefficient vectors of any lengths (the longer one's length)."""
    if a.shape[0] < b.shape[0]:
        a, b = b, a
    out = a.copy()
    out[: b.shape[0]] = out[: b.shape[0]] + b
    return out


def with_vanishing_multiple(coeffs: ExtArray, mask: ExtArray, n: int) -> ExtArray:
    """Coefficients of t + (X^n - 1) r from t's (length n) and r's (length h): (n + h,)."""
    ext, h = coeffs.field, mask.shape[0]
    out = np.zeros((ext.degree, n + h), dtype=np.uint64)
    out[:, :n] = np.asarray(coeffs.coords)
    out[:, n:] = np.asarray(mask.coords)
    out[:, :h] += P - np.asarray(mask.coords, dtype=np.uint64)
    return ExtArray(ext, reduced(out % P))


@dataclass
class TracePolynomials:
    """Committed trace columns T = t + (X^n - 1) r (`hide`), held as t's values on the trace
    domain (cols, n) and the mask r's coefficients (cols, h) instead of T's n + h coefficients:
    for the main trace the values are the caller's array, so nothing of its size is kept."""

    values: GF
    mask: GF

    @classmethod
    def of(cls, values: GF, coeffs: GF) -> TracePolynomials:
        """From the values and T's coefficients (cols, n + h)."""
        return cls(values, vanishing_quotient(coeffs, values.shape[1]))

    def at(self, point: ExtArray) -> ExtArray:
        """T(z) = t(z) + (z^n - 1) r(z) for every column, z outside the trace domain."""
        values = evaluate_from_subgroup(self.values, point)
        if not self.mask.shape[1]:
            return values
        return values + evaluate_at(self.mask, point) * (point ** self.values.shape[1] - 1)

    def combined(self, weights: list[ExtArray]) -> list[ExtArray]:
        """Extension coefficients (n + h,) of sum_i w_i T_i for each weight vector w (one weight
        per row): sum_i w_i T_i = interpolate(sum_i w_i t_i) + (X^n - 1) sum_i w_i r_i, so the
        rows are combined on the n trace points and only k rows per weight vector interpolated.
        """
        k, n = weights[0].field.degree, self.values.shape[1]
        on_trace = lincombs(weights, self.values)
        coeffs = interpolate(GF(np.concatenate([np.asarray(v.coords) for v in on_trace])))
        if not self.mask.shape[1]:
            return [ExtArray(w.field, coeffs[i * k : (i + 1) * k]) for i, w in enumerate(weights)]
        masks = lincombs(weights, self.mask)
        return [
            with_vanishing_multiple(ExtArray(w.field, coeffs[i * k : (i + 1) * k]), mask, n)
            for i, (w, mask) in enumerate(zip(weights, masks, strict=True))
        ]


def nonzero_entries(values) -> tuple[np.ndarray, np.ndarray]:
    """(positions, values mod p) of the entries of a sequence that are not 0, in order.

    For a Python list, zero-free stretches are skipped by bisection with ``list.count(0)``,
    which compares pointers at C speed: a one-hot list of 2^16 entries costs a few passes of
    that instead of converting every element to a number (about 2.5 ms). An entry that is a
    nonzero multiple of p is reported with value 0, which is harmless.
    """
    if isinstance(values, list):
        positions: list[int] = []
        _nonzero_positions(values, 0, len(values), positions)
        found = np.array([int(values[i]) % P for i in positions], dtype=np.uint32)
        return np.asarray(positions, dtype=np.int64), found
    arr = np.asarray(values)
    if arr.dtype == object:
        arr = np.array([int(v) % P for v in arr.reshape(-1)], dtype=np.int64)
    arr = arr.reshape(-1).astype(np.int64) % P
    positions = np.flatnonzero(arr)
    return positions.astype(np.int64), arr[positions].astype(np.uint32)


def _nonzero_positions(values: list, lo: int, hi: int, out: list[int]) -> None:
    """Append the positions in [lo, hi) of the list's nonzero entries: a stretch of at most
    4096 entries is skipped if it holds only zeros and scanned if it is short or dense; longer
    or sparse stretches are split into 16 parts."""
    if hi - lo <= 4096:
        part = values[lo:hi]
        zeros = part.count(0)
        if zeros == hi - lo:
            return
        if hi - lo <= 256 or 16 * (hi - lo - zeros) >= hi - lo:
            out.extend(itertools.compress(range(lo, hi), part))
            return
    step = (hi - lo + 15) // 16
    for start in range(lo, hi, step):
        _nonzero_positions(values, start, min(hi, start + step), out)


def subgroup_interpolants_at(
    columns: list[tuple[np.ndarray, np.ndarray]], m: int, y: ExtArray
) -> list[ExtArray]:
    """P_c(y) for each column c given by its nonzero values on <g> (g = w_m, m a power of two),
    (positions j, values v_j), where P_c is the polynomial of degree < m taking those values
    (and 0 elsewhere) on <g>.

    Barycentric form, with no transform: L_j(y) = (y^m - 1) g^j / (m (y - g^j)), so

        P_c(y) = (1 - y^m) / m * sum_j v_j g^j / (g^j - y),

    O(nonzeros) work: a one-hot column is a single Lagrange basis polynomial. The inverses
    1 / (g^j - y) are computed once for all columns together. If y lies in <g> (y^m = 1), P_c(y)
    is simply the value at y's position.
    """
    ext = y.field
    y_m = y**m
    if (y_m - 1).is_zero():  # y = g^t for some t: read the value off
        subgroup = np.asarray(powers(root_of_unity(m.bit_length() - 1), m))
        t = int(np.flatnonzero(subgroup == int(np.asarray(y.coords)[0]))[0])
        out = []
        for pos, vals in columns:
            hit = np.flatnonzero(pos == t)
            out.append(ext.from_base(int(vals[hit[0]]) if len(hit) else 0))
        return out
    # the positions of any column, sorted: marked in a mask of the m points rather than sorted
    # (np.unique sorts every column's positions: 2 million of them for 30 dense columns)
    marked = np.zeros(m, dtype=bool)
    for pos, _ in columns:
        marked[np.asarray(pos, dtype=np.int64)] = True
    every = np.flatnonzero(marked)
    if not len(every):
        return [ext.zeros() for _ in columns]
    xs = coset_points(GF(1), m, every)  # g^j
    inv = inverse_of_difference(xs, y)  # 1 / (g^j - y)
    factor = (1 - y_m) * GF(pow(m, -1, P))
    # sum_j (v_j g^j) inv_j for every column at once: one linear combination of the rows of a
    # (points, columns) weight matrix, built for a bounded number of columns at a time
    x_int = np.asarray(xs, dtype=np.uint64)
    out = []
    step = max(1, (1 << 22) // len(every))
    for first in range(0, len(columns), step):
        chunk = columns[first : first + step]
        weights = np.zeros((len(every), len(chunk)), dtype=np.uint32)
        for c, (pos, vals) in enumerate(chunk):
            at = np.searchsorted(every, pos)
            weights[at, c] = np.asarray(vals, dtype=np.uint64) * x_int[at] % P
        sums = lincomb(inv, reduced(weights)) * factor  # (len(chunk),)
        out.extend(sums[c] for c in range(len(chunk)))
    return out


def sparse_interpolant_on_coset(
    positions: np.ndarray, values: np.ndarray, m: int, shift: GF, size: int
) -> GF:
    """Values on the coset shift*<w_size> (size a multiple of m) of the polynomial of degree
    < m taking `values` at the points g^j, j in `positions`, of <g> (g = w_m) and 0 elsewhere.

    (x^m - 1) / m * sum_j v_j g^j / (x - g^j): one batch inversion over the coset per nonzero
    entry and no transform, so a one-hot column costs O(size) instead of two NTTs. x^m - 1
    repeats with period size / m on the coset. Raises ZeroDivisionError if the coset meets <g>.
    """
    period = size // m
    x = np.asarray(coset_points(shift, size), dtype=np.uint64)
    x_to_m = np.asarray(shift**m * powers(root_of_unity(period.bit_length() - 1), period))
    vanishing = np.tile((x_to_m.astype(np.uint64) + (P - 1)) % P, m)  # x^m - 1
    g = int(root_of_unity(m.bit_length() - 1))
    acc = np.zeros(size, dtype=np.uint64)
    for j, v in zip(positions.tolist(), values.tolist(), strict=True):
        g_j = pow(g, j, P)
        inv = np.asarray(batch_inverse(reduced((x + (P - g_j)) % P)), dtype=np.uint64)
        acc = (acc + inv * (v * g_j % P)) % P
    return reduced(vanishing * acc % P * pow(m, -1, P) % P)


def periodic_column_on_coset(
    positions: np.ndarray, values: np.ndarray, m: int, n: int, shift: GF, size: int
) -> GF:
    """The periodic column P(x^(n/m)) on the coset shift*<w_size> (m <= n <= size, powers of
    two), where P (degree < m) takes `values` at the points g^j, j in `positions`, of <w_m> and
    0 elsewhere. On the coset, x^(n/m) runs over shift^(n/m) * <w_{size m / n}>, n/m times.

    A column with few nonzero entries (a one-hot selector) is evaluated from its Lagrange
    basis polynomials, others by interpolating and extending; the values are the same.
    """
    points, inner_shift = size * m // n, power(shift, n // m)
    inner = None
    if 4 * len(positions) <= points.bit_length():  # a few terms beat two transforms
        try:
            inner = sparse_interpolant_on_coset(positions, values, m, inner_shift, points)
        except ZeroDivisionError:  # the coset meets the subgroup: use the transforms
            inner = None
    if inner is None:
        dense = np.zeros(m, dtype=np.uint32)
        dense[positions] = values
        inner = evaluate_coset(interpolate(reduced(dense)), points, inner_shift)[0]
    return reduced(np.tile(np.asarray(inner), n // m))


def _as_matrix(a: GF) -> GF:
    return a.reshape(1, -1) if a.ndim == 1 else a
