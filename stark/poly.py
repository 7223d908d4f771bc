"""Polynomials over F_p held as columns: interpolation on the trace domain, coset low-degree
extension (LDE), and evaluation at one extension-field point.

Conventions: a matrix of shape (cols, n) holds one polynomial per row (coefficients or
evaluations). The subgroup of size n is <w_n> with w_n = root_of_unity(log2 n); a coset
domain is s * <w_n> with s = MULTIPLICATIVE_GENERATOR, listed in natural order
(position i holds s * w_n^i), which is galois's NTT order.
"""

from __future__ import annotations

import numpy as np

from stark import ntt
from stark.field import GF, MULTIPLICATIVE_GENERATOR, ExtArray, lincomb, powers, root_of_unity

COSET_SHIFT = GF(MULTIPLICATIVE_GENERATOR)


def coset_points(shift: GF, size: int, positions: np.ndarray | None = None) -> GF:
    """Points s * w_size^i of a coset, for every i or for the given positions."""
    w = root_of_unity(size.bit_length() - 1)
    if positions is None:
        return shift * powers(w, size)
    return shift * w ** np.asarray(positions, dtype=np.int64)


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
    return lincomb(ext_powers(point, coeffs.shape[1]), coeffs.T)


def _as_matrix(a: GF) -> GF:
    return a.reshape(1, -1) if a.ndim == 1 else a
