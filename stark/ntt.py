"""Batched number-theoretic transforms over F_p, compiled with numba.

galois's NTT transforms one vector per call on one core (0.18 s for 2^21 points here); the
STARK transforms dozens of columns of the same length at once, so this module runs an
iterative radix-2 Cooley-Tukey transform on every row of a matrix, rows spread over the cores
(each core reuses one buffer for all its rows), and tests check it against galois.ntt and
naive evaluation.

forward(a):  A_j = sum_i a_i w_n^(i j)         (natural order in and out)
inverse(A):  a_i = n^-1 sum_j A_j w_n^(-i j)

A zero-padded forward transform (a low-degree extension: d coefficients, size = B m points with
m the largest power of two <= d) is computed as B transforms of size m, one per coset of the
subgroup of size m. With j = q B + r (0 <= r < B, 0 <= q < m), w_size^j = w_size^r w_m^q, so

    A_(qB + r) = sum_(i < d) a_i w_size^(r i) w_m^(i q) = NTT_m(b^(r))_q,
    b^(r)_(i mod m) = sum over i of a_i w_size^(r i),

(coefficients past m fold onto i mod m, since w_m^m = 1): B m log m / 2 butterflies instead of
B m log(B m) / 2, on a buffer of m entries that stays in cache. Products use Shoup's method:
for a fixed factor w < p and w' = floor(w 2^32 / p), x w mod p = x w - floor(x w' / 2^32) p,
minus p once more if needed (exact for x < 2^32 and p < 2^31), so no division is executed.
"""

from __future__ import annotations

import math
import mmap

import numpy as np

from stark.field import GF, PARALLEL_MIN_ELEMENTS, P, powers, reduced, root_of_unity
from stark.jit import njit, num_threads, prange

_P = np.uint64(P)
P32 = np.uint32(P)

#: Arrays of at least this many bytes are mapped on 4 KB pages by `zeros_on_small_pages`.
SMALL_PAGES_MIN_BYTES = 1 << 22


def zeros_on_small_pages(shape: tuple[int, ...], dtype=np.uint32) -> np.ndarray:
    """An array of zeros (uint32 unless told); a large one is a private anonymous mapping of
    its own (zero-filled by the kernel, unmapped when the array is freed).

    numpy advises the kernel to back large arrays with transparent huge pages; where that
    advice is taken (transparent_hugepage/enabled = madvise) the first touch of fresh huge
    pages cost 1.2 to 3.7 s of system time per GB here against 0.35 s for 4 KB pages, and the
    transforms, hashes and constraints that read these arrays ran no slower on 4 KB pages
    (prove at 16,384 x 22 with numpy's advice switched off: system 5.1/2.2 s -> 1.6/1.7 s,
    user 25.6/22.3 s -> 21.5/23.0 s)."""
    nbytes = np.dtype(dtype).itemsize * math.prod(shape)
    if nbytes < SMALL_PAGES_MIN_BYTES or not hasattr(mmap, "MAP_PRIVATE"):
        return np.zeros(shape, dtype=dtype)
    mapping = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(mapping, dtype=dtype).reshape(shape)


def _stage_twiddles(n: int, inverse: bool) -> np.ndarray:
    """Twiddles of every stage, concatenated: for half-size h (h = 1, 2, 4, ...), entries
    [h, 2h) hold w_{2h}^j (or its inverse) for j < h. Entry 0 is unused."""
    out = np.zeros(max(n, 2), dtype=np.uint64)
    h = 1
    while h < n:
        w = root_of_unity((2 * h).bit_length() - 1)
        if inverse:
            w = np.reciprocal(w)
        out[h : 2 * h] = np.asarray(powers(w, h), dtype=np.uint64)
        h *= 2
    return out


def _bit_reverse_permutation(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    idx = np.arange(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    return rev


def shoup(factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed factors w < p as (w, floor(w 2^32 / p)), both uint32, for `_mul_shoup`."""
    w = np.asarray(factors, dtype=np.uint64)
    return w.astype(np.uint32), ((w << np.uint64(32)) // _P).astype(np.uint32)


@njit(cache=True, inline="always")
def _mul_shoup(x, w, w_quotient):
    """x * w mod p for x < 2^32 and a fixed w < p with w_quotient = floor(w 2^32 / p), all
    uint32: q = floor(x w_quotient / 2^32) is floor(x w / p) or one less, so x w - q p lies
    in [0, 2p) and is known from its low 32 bits; min(r, r - p) with r - p wrapping around
    2^32 is the one conditional subtraction, without a branch (the loops vectorise)."""
    q = np.uint32((np.uint64(x) * np.uint64(w_quotient)) >> np.uint64(32))
    r = np.uint32(x * w - q * P32)
    return min(r, np.uint32(r - P32))


@njit(cache=True, inline="always")
def _butterflies(lo, hi, tw, tw_quotient):
    """One radix-2 stage on one block: (lo_j, hi_j) -> (lo_j + t, lo_j - t), t = tw_j hi_j.
    Sums and differences of values below p < 2^31 fit in uint32, and are reduced by
    min(s, s - p) and min(d, d + p) with wrap-around. Unsigned indices: no negative-index
    handling, so the loop vectorises."""
    for j in range(np.uint64(lo.shape[0])):
        u = lo[j]
        v = _mul_shoup(hi[j], tw[j], tw_quotient[j])
        s = np.uint32(u + v)
        lo[j] = min(s, np.uint32(s - P32))
        d = np.uint32(u - v)
        hi[j] = min(d, np.uint32(d + P32))


@njit(cache=True, inline="always")
def _transform_buffer(buf, tw, tw_quotient):
    """In-place radix-2 butterflies on a bit-reversed buffer of uint32 values < p: natural
    order out. tw[h + j] = w_(2h)^j, with its Shoup quotients."""
    n = buf.shape[0]
    h = 1
    while h < n:
        w, wq = tw[h : 2 * h], tw_quotient[h : 2 * h]
        for start in range(0, n, 2 * h):
            _butterflies(buf[start : start + h], buf[start + h : start + 2 * h], w, wq)
        h *= 2


@njit(cache=True, inline="always")
def _scaled(values, scale, scale_quotient, out):
    """out_i = values_i * scale_i mod p (vectorised)."""
    for i in range(np.uint64(values.shape[0])):
        out[i] = _mul_shoup(values[i], scale[i], scale_quotient[i])


@njit(cache=True, inline="always")
def _transform_one(rows, out, row, buf, tmp, perm, tw, tw_quotient, scale, scale_quotient):
    """out[row] = the size-(B m) transform of rows[row] (d entries, zero-padded), as B
    transforms of size m = len(buf): for coset r, entry i is multiplied by scale[r, i]
    (pre-scale times w_size^(r i)) and added into position i mod m (bit-reversed), the buffer
    is transformed, and its entry q is output entry q B + r. tmp: scratch of d entries."""
    d = rows.shape[1]
    m = buf.shape[0]
    cosets = out.shape[1] // m
    for r in range(cosets):
        _scaled(rows[row], scale[r], scale_quotient[r], tmp)
        if d < m:
            buf[:] = 0
        for i in range(min(d, m)):
            buf[perm[i]] = tmp[i]
        for i in range(m, d):
            slot = perm[i % m]
            s = np.uint32(buf[slot] + tmp[i])
            buf[slot] = min(s, np.uint32(s - P32))
        _transform_buffer(buf, tw, tw_quotient)
        for q in range(m):
            out[row, q * cosets + r] = buf[q]


@njit(parallel=True, cache=True)
def _transform_rows(rows, out, perm, tw, tw_quotient, scale, scale_quotient, parts):
    """Every row of `rows` (R, d) through `_transform_one` into out (R, size), the rows split
    evenly into `parts` (one per core), each with one buffer of m = len(perm) entries.

    perm: the bit-reversal permutation of m; tw, tw_quotient: the stage twiddles of size m;
    scale, scale_quotient: (size / m, d) per-coset factors (`_plan`)."""
    count = rows.shape[0]
    for part in prange(parts):
        buf = np.empty(perm.shape[0], dtype=np.uint32)
        tmp = np.empty(rows.shape[1], dtype=np.uint32)
        lo = np.int64(part) * count // parts
        hi = (np.int64(part) + 1) * count // parts
        for row in range(lo, hi):
            _transform_one(rows, out, row, buf, tmp, perm, tw, tw_quotient, scale, scale_quotient)


@njit(cache=True)
def _transform_rows_serial(rows, out, perm, tw, tw_quotient, scale, scale_quotient, parts):
    """The serial twin of _transform_rows, for small batches (no thread pool; `parts` is
    ignored)."""
    buf = np.empty(perm.shape[0], dtype=np.uint32)
    tmp = np.empty(rows.shape[1], dtype=np.uint32)
    for row in range(rows.shape[0]):
        _transform_one(rows, out, row, buf, tmp, perm, tw, tw_quotient, scale, scale_quotient)


_CACHE: dict[tuple[int, bool], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _tables(size: int, inverse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bit-reversal permutation, stage twiddles, their Shoup quotients) of one size."""
    # The tables depend only on (size, direction); memoising them saves most of a small
    # transform's time. They are never mutated.
    key = (size, inverse)
    if key not in _CACHE:
        tw, tw_quotient = shoup(_stage_twiddles(size, inverse))
        _CACHE[key] = (_bit_reverse_permutation(size), tw, tw_quotient)
    return _CACHE[key]


def _plan(size: int, d: int, inverse: bool, pre_scale: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """The kernels' tables for rows of d entries transformed to `size` points: the sub-size
    m (the largest power of two <= min(d, size)), its permutation and twiddles, and the
    per-coset factors scale[r, i] = pre_scale_i * post * w_size^(+-r i) (for the inverse
    transform post = size^-1 and the root is inverted, else post = 1) with their Shoup
    quotients."""
    m = 1 << (min(d, size).bit_length() - 1)
    cosets = size // m
    perm, tw, tw_quotient = _tables(m, inverse)
    base = np.ones(d, dtype=np.uint64) if pre_scale is None else pre_scale.astype(np.uint64)
    if inverse:
        base = base * np.uint64(pow(size, -1, P)) % _P
    if cosets == 1:
        scale = base.reshape(1, d)
    else:
        root = root_of_unity(size.bit_length() - 1)
        w = np.asarray(powers(np.reciprocal(root) if inverse else root, size), dtype=np.uint64)
        exponents = np.arange(cosets, dtype=np.int64)[:, None] * np.arange(d, dtype=np.int64)
        scale = base[None, :] * w[exponents % size] % _P
    scale, scale_quotient = shoup(scale)
    return perm, tw, tw_quotient, scale, scale_quotient


def _run(rows: np.ndarray, size: int, inverse: bool, pre_scale: np.ndarray | None) -> GF:
    rows = np.ascontiguousarray(np.asarray(rows, dtype=np.uint32))
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    d = rows.shape[1]
    if size & (size - 1) or d > size:
        raise ValueError("transform size must be a power of two at least the row length")
    if d == 0:
        return reduced(np.zeros((rows.shape[0], size), dtype=np.uint32))
    tables = _plan(size, d, inverse, pre_scale)
    out = zeros_on_small_pages((rows.shape[0], size))
    # Parallel only when there are several rows and enough work to pay for the thread pool.
    wide = rows.shape[0] > 1 and rows.shape[0] * size >= PARALLEL_MIN_ELEMENTS
    kernel = _transform_rows if wide else _transform_rows_serial
    kernel(rows, out, *tables, max(1, min(rows.shape[0], num_threads())))
    return reduced(out)


def forward(rows, size: int | None = None, pre_scale: np.ndarray | None = None) -> GF:
    """NTT of every row, zero-padded to `size`, after multiplying entry i by pre_scale[i]."""
    rows = np.asarray(rows)
    return _run(rows, size or rows.shape[-1], False, pre_scale)


def inverse(rows) -> GF:
    """Inverse NTT of every row."""
    rows = np.asarray(rows)
    return _run(rows, rows.shape[-1], True, None)
