"""The BabyBear field F_p (p = 15 * 2^27 + 1) and its binomial extensions F_p[x]/(x^k - W).

Base-field arrays are ``GF`` arrays: ``galois.GF(p)`` (compiled arithmetic) when galois is
installed, else `stark.numpy_field`'s numpy integer arrays (the verify-only install,
docs/install.md). Both compute the same elements exactly; ``STARK_FIELD=numpy`` in the
environment chooses numpy even with galois installed (``STARK_FIELD=galois`` insists on galois).
One backend per process: it is chosen when this module is first imported.

galois cannot represent a 124- or 155-bit field efficiently, so an extension element is stored
as ``k`` base-field coordinates, and an array of them as a base array of shape ``(k, *shape)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from stark import numpy_field
from stark.jit import HAVE_NUMBA, njit, prange

P = 2013265921
TWO_ADICITY = 27  # p - 1 = 15 * 2^27
MULTIPLICATIVE_GENERATOR = 31  # generates F_p^*; also the coset shift of every evaluation domain


class NumpyGF(numpy_field.FieldArray):
    """F_p on numpy integers (`stark.numpy_field`)."""

    order = P


def _field_class() -> type:
    """galois.GF(p) if galois is importable and STARK_FIELD does not say numpy, else NumpyGF."""
    choice = os.environ.get("STARK_FIELD", "").lower()
    if choice not in ("", "numpy", "galois"):
        raise ValueError(f"STARK_FIELD must be 'numpy' or 'galois', not {choice!r}")
    if choice == "numpy":
        return NumpyGF
    try:
        import galois
    except ImportError:
        if choice == "galois":
            raise
        return NumpyGF
    # galois.GF(P) would search for a primitive element, verify the modulus and compile a
    # polynomial evaluation and its ufuncs with numba (uncached): about 1.7 s per process. The
    # generator is known (tests/stark/test_field.py proves 31 generates F_p^*), and building the
    # class with pure-Python ufuncs then switching to compiled ones gives the same field with
    # the same compiled arithmetic in about 1 ms; each ufunc is then compiled on its first use
    # (about 0.1 s each: a verifier uses a few, a prover all of them, as before).
    gf = galois.GF(
        P, primitive_element=MULTIPLICATIVE_GENERATOR, verify=False, compile="python-calculate"
    )
    gf.compile("jit-calculate")
    return gf


GF = _field_class()
#: Whether GF is galois's (compiled ufuncs) rather than NumpyGF.
GALOIS = GF is not NumpyGF

#: The chosen non-residue W of each supported degree: x^k - W is irreducible over F_p
#: (proved in tests/stark/test_field.py). Each is the smallest W > 1 that works.
EXTENSION_NONRESIDUE = {4: 11, 5: 2}


def root_of_unity(log_n: int) -> GF:
    """A primitive 2^log_n-th root of unity in F_p."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"F_p has no 2^{log_n}-th roots of unity")
    return power(MULTIPLICATIVE_GENERATOR, (P - 1) >> log_n)


def power(base: GF | int, exponent: int | np.ndarray) -> GF:
    """base^e in F_p for each integer e >= 0 of `exponent` (an integer or an array), by
    square-and-multiply over the exponents' bits. galois compiles its power ufunc on first use
    (0.3 to 0.6 s, not cached between runs), which a verifier should not pay."""
    b = int(base) % P
    if np.ndim(exponent) == 0:
        if exponent < 0:
            raise ValueError("exponents must be non-negative")
        return GF(pow(b, int(exponent), P))
    return reduced(numpy_field.pow_mod(b, exponent, P))


def powers(base: GF, n: int) -> GF:
    """The array [1, base, base^2, ..., base^(n-1)], built by doubling (log n vector products)."""
    out = GF.Ones(max(n, 1))
    filled, step = 1, GF(base)
    while filled < n:
        take = min(filled, n - filled)
        out[filled : filled + take] = out[:take] * step
        filled += take
        step = step * step
    return out[:n]


def reduced(a: np.ndarray) -> GF:
    """View an integer array whose entries are already in [0, p) as field elements, skipping
    galois's range check (a full pass over the data). Only for values this library computed."""
    return GF._view(np.asarray(a, dtype=np.uint32))


def to_int_array(a: GF) -> np.ndarray:
    """A plain uint64 view of field elements (for hashing, sums and serialisation)."""
    return np.asarray(a, dtype=np.uint64)


def sum_mod_p(a: GF, axis: int = -1) -> GF:
    """Sum along an axis. Exact: 2^32 terms each below 2^31 cannot overflow uint64."""
    return reduced(_sum(np.asarray(a), axis))


# -- small-operand arithmetic --------------------------------------------------------------------
#: Kernels switch from their serial to their parallel (numba thread pool) version at this many
#: elements of work. A parallel launch costs tens of microseconds when the machine is idle, and
#: much more when it is busy: the call returns only once every worker has run, and a worker that
#: the OS has descheduled holds it up for a whole time slice. The verifier makes thousands of
#: calls on a handful of values, so those must never touch the pool; the prover's large arrays
#: still do.
PARALLEL_MIN_ELEMENTS = 1 << 15

#: The extension product's own threshold, in products. Its serial kernel multiplies 2^15
#: elements of the degree-5 field in about 1.6 ms, and the prover's constraint code makes
#: hundreds of such products per chunk of the constraint domain: measured on this 2-core
#: machine with another process holding a core, each parallel launch cost 2 to 8 ms, more than
#: the product itself, so products up to a few chunks' size stay on one core.
EXT_MUL_PARALLEL_MIN = 1 << 18

#: Below this many elements, base-field operations inside ExtArray run as plain numpy integer
#: arithmetic (a few microseconds) instead of galois's ufuncs (about 20 us of dispatch each);
#: above it galois's compiled ufuncs are the faster of the two. Both are exact, so the choice
#: never changes a result.
SMALL_OPS = 1 << 12

_P64 = np.uint64(P)
_RAW_DTYPES = (np.dtype(np.uint32), np.dtype(np.int32), np.dtype(np.int64))


def _u64(a: np.ndarray) -> np.ndarray:
    """Reduced integers as uint64 (mixing uint64 with a signed type would give floats)."""
    return a.astype(np.uint64, copy=False)


def _galois(a: np.ndarray) -> GF:
    """A field-array view of reduced integers (copied only if the dtype is not one of galois's)."""
    a = np.asarray(a)
    return GF._view(a if a.dtype in _RAW_DTYPES else a.astype(np.uint32))


def _plain(a: GF) -> np.ndarray:
    return a.view(np.ndarray).astype(np.uint32, copy=False)


def _by_galois(*operands: np.ndarray) -> bool:
    """Whether an operation on these operands should go through galois's compiled ufuncs."""
    return GALOIS and any(x.size >= SMALL_OPS for x in operands)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b mod p for reduced integer arrays that broadcast together: uint32 result."""
    if _by_galois(a, b):
        return _plain(_galois(a) + _galois(b))
    return ((_u64(a) + _u64(b)) % _P64).astype(np.uint32)


def _sub(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if _by_galois(a, b):
        return _plain(_galois(a) - _galois(b))
    return ((_u64(a) + (_P64 - _u64(b))) % _P64).astype(np.uint32)


def _neg(a: np.ndarray) -> np.ndarray:
    if _by_galois(a):
        return _plain(-_galois(a))
    return ((_P64 - _u64(a)) % _P64).astype(np.uint32)


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b mod p (elementwise, broadcasting): uint32 result."""
    if _by_galois(a, b):
        return _plain(_galois(a) * _galois(b))
    return ((_u64(a) * _u64(b)) % _P64).astype(np.uint32)


@dataclass(frozen=True)
class ExtensionField:
    """F_p[x]/(x^k - W): elements are coordinate vectors (a_0, ..., a_{k-1}) meaning sum a_i x^i."""

    degree: int
    nonresidue: int = field(default=0)

    def __post_init__(self) -> None:
        if self.degree not in EXTENSION_NONRESIDUE:
            raise ValueError(f"unsupported extension degree {self.degree}; use 4 or 5")
        if self.nonresidue == 0:
            object.__setattr__(self, "nonresidue", EXTENSION_NONRESIDUE[self.degree])

    @property
    def bits(self) -> float:
        """log2 of the field's size."""
        return self.degree * np.log2(P)

    @cached_property
    def _frobenius(self) -> list[np.ndarray]:
        """frob[j][i] = W^(i (p^j - 1) / k), so that phi^j(sum a_i x^i) = sum a_i frob[j][i] x^i."""
        k, w = self.degree, self.nonresidue
        return [
            np.array([pow(w, i * (P**j - 1) // k, P) for i in range(k)], dtype=np.uint32)
            for j in range(k)
        ]

    # -- constructors -----------------------------------------------------------------------
    def array(self, coords: GF | np.ndarray | list) -> ExtArray:
        return ExtArray(self, GF(coords) if not isinstance(coords, GF) else coords)

    def zeros(self, shape: tuple[int, ...] = ()) -> ExtArray:
        return ExtArray._of(self, np.zeros((self.degree, *shape), dtype=np.uint32))

    def ones(self, shape: tuple[int, ...] = ()) -> ExtArray:
        c = np.zeros((self.degree, *shape), dtype=np.uint32)
        c[0] = 1
        return ExtArray._of(self, c)

    def from_base(self, base: GF | int) -> ExtArray:
        """Embed base-field values as constant polynomials."""
        b = np.uint32(base % P) if isinstance(base, int) else np.asarray(base)
        c = np.zeros((self.degree, *np.shape(b)), dtype=np.uint32)
        c[0] = b
        return ExtArray._of(self, c)

    def random(self, shape: tuple[int, ...] = (), seed: int | np.random.Generator | None = None):
        return ExtArray(self, GF.Random((self.degree, *shape), seed=seed))

    def generator_power(self, i: int) -> ExtArray:
        """The basis element x^i (i < k)."""
        c = np.zeros(self.degree, dtype=np.uint32)
        c[i] = 1
        return ExtArray._of(self, c)


class ExtArray:
    """An array of extension-field elements: ``coords`` has shape (k, *shape).

    Arithmetic broadcasts like numpy, and mixes with base-field arrays and Python ints (which
    act as constants), so the same constraint code runs on whole evaluation domains and on a
    single out-of-domain point.

    Internally the coordinates are kept as a plain integer array (reduced mod p); ``coords``
    views them as a galois array on first use. Small operands (the verifier's) are computed
    with numpy integer arithmetic and serial kernels, large ones with galois and parallel
    kernels: both exact, so every result is the same either way.
    """

    __slots__ = ("_gf", "_raw", "field")
    __array_ufunc__ = None  # make numpy defer mixed operations (GF op ExtArray) to our methods

    def __init__(self, ext: ExtensionField, coords: GF):
        self.field = ext
        gf = coords if isinstance(coords, GF) else GF(coords)
        self._gf = gf
        self._raw = gf.view(np.ndarray)

    @classmethod
    def _of(cls, ext: ExtensionField, raw: np.ndarray) -> ExtArray:
        """Wrap reduced integers (k, *shape) of one of galois's dtypes, without a galois view."""
        out = cls.__new__(cls)
        out.field = ext
        out._raw = raw
        out._gf = None
        return out

    @property
    def coords(self) -> GF:
        gf = self._gf
        if gf is None:
            if self._raw.dtype not in _RAW_DTYPES:
                self._raw = self._raw.astype(np.uint32)
            gf = self._gf = GF._view(self._raw)  # shares memory with _raw
        return gf

    @coords.setter
    def coords(self, value: GF) -> None:
        self._gf = value if isinstance(value, GF) else GF(value)
        self._raw = self._gf.view(np.ndarray)

    # -- shape ------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._raw.shape[1:]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx) -> ExtArray:
        idx = idx if isinstance(idx, tuple) else (idx,)
        return ExtArray._of(self.field, self._raw[(slice(None), *idx)])

    def __setitem__(self, idx, value: ExtArray) -> None:
        idx = idx if isinstance(idx, tuple) else (idx,)
        self._raw[(slice(None), *idx)] = value._raw

    def reshape(self, *shape: int) -> ExtArray:
        return ExtArray._of(self.field, self._raw.reshape(self.field.degree, *shape))

    def __repr__(self) -> str:
        return f"ExtArray(k={self.field.degree}, shape={self.shape})"

    # -- conversions ------------------------------------------------------------------------
    def _lift(self, other) -> np.ndarray | ExtArray:
        """An ExtArray of the same field, or a base operand as reduced integers."""
        if isinstance(other, ExtArray):
            if other.field is not self.field and other.field != self.field:
                raise TypeError("mixing elements of different extension fields")
            return other
        if isinstance(other, GF):
            return other.view(np.ndarray)
        if isinstance(other, int):
            return np.array(other % P, dtype=np.uint32)
        return NotImplemented

    def _coords_for(self, ndim: int) -> np.ndarray:
        """Coordinates with unit axes inserted after the coordinate axis, so that numpy's
        trailing-axis broadcasting lines the element shape up with an ndim-dimensional array."""
        missing = ndim - len(self.shape)
        if missing <= 0:
            return self._raw
        return self._raw.reshape((self.field.degree, *([1] * missing), *self.shape))

    # -- arithmetic -------------------------------------------------------------------------
    def __add__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        if isinstance(o, ExtArray):
            ndim = max(len(self.shape), len(o.shape))
            return ExtArray._of(self.field, _add(self._coords_for(ndim), o._coords_for(ndim)))
        return self._add_base(o)

    def _add_base(self, o: np.ndarray) -> ExtArray:
        """self + o for reduced base-field integers o: only coordinate 0 changes."""
        if o.ndim == 0 and self._raw.ndim == 1:  # one element plus a constant
            c = self._raw.astype(np.uint32)  # a copy
            c[0] = (int(c[0]) + int(o)) % P
            return ExtArray._of(self.field, c)
        shape = (self.field.degree, *np.broadcast_shapes(self.shape, o.shape))
        c = np.array(np.broadcast_to(self._coords_for(o.ndim), shape), dtype=np.uint32)
        c[0] = _add(c[0], o)
        return ExtArray._of(self.field, c)

    __radd__ = __add__

    def __neg__(self) -> ExtArray:
        return ExtArray._of(self.field, _neg(self._raw))

    def __sub__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        if isinstance(o, ExtArray):
            ndim = max(len(self.shape), len(o.shape))
            return ExtArray._of(self.field, _sub(self._coords_for(ndim), o._coords_for(ndim)))
        return self._add_base(_neg(o))

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        if not isinstance(o, ExtArray):
            return ExtArray._of(self.field, _mul(self._coords_for(o.ndim), o[np.newaxis]))
        return ExtArray._of(self.field, _ext_mul(self._raw, o._raw, self.field))

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        if o is NotImplemented:
            return o
        if isinstance(o, ExtArray):
            return self * o.inverse()
        return ExtArray._of(self.field, _mul(self._coords_for(o.ndim), _inverse(o)[np.newaxis]))

    def __rtruediv__(self, other):
        return self.inverse() * other

    def __pow__(self, exponent: int) -> ExtArray:
        if exponent < 0:
            return self.inverse() ** (-exponent)
        result = self.field.ones(self.shape)
        base = self
        while exponent:
            if exponent & 1:
                result = result * base
            exponent >>= 1
            if exponent:
                base = base * base
        return result

    def frobenius(self, j: int = 1) -> ExtArray:
        """phi^j(a) = a^(p^j): a coordinate-wise scaling in a binomial extension."""
        f = self.field._frobenius[j % self.field.degree]
        return ExtArray._of(self.field, _mul(self._raw, f.reshape((-1,) + (1,) * len(self.shape))))

    def norm(self) -> GF:
        """N(a) = prod_j phi^j(a), an element of F_p."""
        return (self * self.conjugate_product()).coords[0]

    def conjugate_product(self) -> ExtArray:
        """prod_{j=1}^{k-1} phi^j(a): a times this is the norm, so a^-1 = this / N(a)."""
        acc = self.frobenius(1)
        for j in range(2, self.field.degree):
            acc = acc * self.frobenius(j)
        return acc

    def inverse(self) -> ExtArray:
        """a^-1 = (prod_{j>=1} phi^j(a)) / N(a), vectorised: one base inversion per element.
        Large arrays compute the conjugate products and norms in one compiled pass
        (_ext_conjugate_products; the same field elements)."""
        k = self.field.degree
        if not HAVE_NUMBA or self._raw[0].size < SMALL_OPS:
            conj = self.conjugate_product()
            n = (self * conj)._raw[0]
            return ExtArray._of(self.field, _mul(conj._raw, _inverse(n)[np.newaxis]))
        flat = np.ascontiguousarray(self._raw.reshape(k, -1), dtype=np.uint32)
        conj = np.empty_like(flat)
        norms = np.empty(flat.shape[1], dtype=np.uint32)
        frobenius = np.stack(self.field._frobenius).astype(np.uint32)
        _ext_conjugate_products(flat, frobenius, np.uint64(self.field.nonresidue), conj, norms)
        out = _mul(conj, _inverse(norms)[np.newaxis])
        return ExtArray._of(self.field, out.reshape(self._raw.shape))

    def __eq__(self, other) -> bool:  # type: ignore[override]
        o = self._lift(other)
        if o is NotImplemented:
            return NotImplemented
        if not isinstance(o, ExtArray):
            o = self.field.from_base(o)
        mine, theirs = self._raw, o._raw
        return mine.shape == theirs.shape and bool(np.array_equal(mine, theirs))

    __hash__ = None  # type: ignore[assignment]

    def is_zero(self) -> np.ndarray:
        return np.all(self._raw == 0, axis=0)

    def sum(self, axis: int = -1) -> ExtArray:
        ax = axis if axis < 0 else axis + 1
        return ExtArray._of(self.field, _sum(self._raw, ax))

    def copy(self) -> ExtArray:
        return ExtArray._of(self.field, self._raw.copy())


def _sum(a: np.ndarray, axis: int) -> np.ndarray:
    """Exact sum mod p along an axis (2^32 terms below 2^31 cannot overflow uint64)."""
    return np.asarray(np.sum(_u64(a), axis=axis) % _P64, dtype=np.uint32)


# -- kernels -------------------------------------------------------------------------------------
# Each kernel that may run in parallel has a serial twin sharing the same inlined body; the
# wrappers pick the twin by the amount of work (PARALLEL_MIN_ELEMENTS).


_EXT_BLOCK = 512  # points per block of the extension kernels (scratch stays in L1)
P32 = np.uint32(P)
_MONT_PINV = np.uint32(-pow(P, -1, 1 << 32) % (1 << 32))  # -p^-1 mod 2^32
MONT_R2 = np.uint32((1 << 64) % P)  # R^2 mod p, R = 2^32


@njit(cache=True, inline="always")
def mont_mul(a, b):
    """Montgomery's product a b R^-1 mod p (R = 2^32) in [0, p), for a, b < 2^32 with a b <
    p R: t = a b, m = -t p^-1 mod R, (t + m p) / R is exact and below 2p, and min(u, u - p)
    (wrapping) reduces it. 32-bit multiplies only, so the loops over points vectorise."""
    t = np.uint64(a) * np.uint64(b)
    m = np.uint32(np.uint32(t) * _MONT_PINV)
    u = np.uint32((t + np.uint64(m) * np.uint64(P32)) >> np.uint64(32))
    return min(u, np.uint32(u - P32))


@njit(cache=True, inline="always")
def add_mod(a, b):
    """a + b mod p for a, b < p (the sum fits in 32 bits)."""
    s = np.uint32(a + b)
    return min(s, np.uint32(s - P32))


@njit(cache=True, inline="always")
def _ext_mul_rows(a, b_mont, out, w_mont, size, low, high):
    """out[:, :size] = a * b in F_p[x]/(x^k - W), from a (k, >= size) and b_mont = b R mod p:

        out_m = sum_{s + t = m} a_s b_t + W * sum_{s + t = m + k} a_s b_t,

    each product mont_mul(a_s, b_t R) = a_s b_t mod p, sums reduced as they go, W applied as
    mont_mul(high, W R). low, high: uint32 scratch of >= size entries. Loops over points are
    innermost, with unsigned indices, so they vectorise."""
    k = out.shape[0]
    n = np.uint64(size)
    for m in range(k):
        for x in range(n):
            low[x] = 0
            high[x] = 0
        for s in range(k):
            t = m - s
            dest = low
            if t < 0:
                t += k
                dest = high
            a_s, b_t = a[s], b_mont[t]
            for x in range(n):
                dest[x] = add_mod(dest[x], mont_mul(a_s[x], b_t[x]))
        o = out[m]
        for x in range(n):
            o[x] = add_mod(low[x], mont_mul(high[x], w_mont))


@njit(cache=True, inline="always")
def _ext_mul_block(a, b, out, w_mont, lo, hi, a_blk, b_blk, o_blk, low, high):
    """out[:, lo:hi] = a * b (a or b may be one column, broadcast): the block's operands are
    copied into scratch (b in Montgomery form) and multiplied by _ext_mul_rows."""
    k = out.shape[0]
    size = hi - lo
    wide_a, wide_b = a.shape[1] > 1, b.shape[1] > 1
    for s in range(k):
        if wide_a:
            for x in range(size):
                a_blk[s, x] = a[s, lo + x]
        else:
            a_blk[s, :size] = a[s, 0]
        if wide_b:
            for x in range(size):
                b_blk[s, x] = mont_mul(b[s, lo + x], MONT_R2)
        else:
            b_blk[s, :size] = mont_mul(b[s, 0], MONT_R2)
    _ext_mul_rows(a_blk, b_blk, o_blk, w_mont, size, low, high)
    for m in range(k):
        for x in range(size):
            out[m, lo + x] = o_blk[m, x]


@njit(cache=True, inline="always")
def _ext_mul_range(a, b, out, w, first, last):
    """out[:, i] = a * b for blocks first..last-1 of _EXT_BLOCK points, with their own scratch."""
    k, n = out.shape
    w_mont = mont_mul(np.uint32(w), MONT_R2)
    a_blk = np.empty((k, _EXT_BLOCK), dtype=np.uint32)
    b_blk = np.empty((k, _EXT_BLOCK), dtype=np.uint32)
    o_blk = np.empty((k, _EXT_BLOCK), dtype=np.uint32)
    low = np.empty(_EXT_BLOCK, dtype=np.uint32)
    high = np.empty(_EXT_BLOCK, dtype=np.uint32)
    for blk in range(first, last):
        lo = blk * _EXT_BLOCK
        _ext_mul_block(
            a, b, out, w_mont, lo, min(n, lo + _EXT_BLOCK), a_blk, b_blk, o_blk, low, high
        )


@njit(parallel=True, cache=True)
def _ext_mul_parallel(a, b, out, w):
    """out[:, i] = a[:, i or 0] * b[:, i or 0] in F_p[x]/(x^k - W); arrays (k, n) of uint32,
    a or b may have a single column (a scalar broadcast over the other). Blocks of points are
    spread over the cores (each with its own scratch)."""
    blocks = (out.shape[1] + _EXT_BLOCK - 1) // _EXT_BLOCK
    for blk in prange(blocks):
        first = np.int64(blk)  # a prange index may be unsigned
        _ext_mul_range(a, b, out, w, first, first + 1)


@njit(cache=True)
def _ext_mul_serial(a, b, out, w):
    """The serial twin of _ext_mul_parallel."""
    _ext_mul_range(a, b, out, w, 0, (out.shape[1] + _EXT_BLOCK - 1) // _EXT_BLOCK)


@njit(cache=True)
def _ext_conjugate_products(a, frobenius, w, conj, norms):
    """For each column i of a (k, n): conj[:, i] = prod_{j=1}^{k-1} phi^j(a_i) and norms[i] =
    N(a_i) = (a_i conj_i)_0, where phi^j scales coordinate s by frobenius[j, s]. Block by
    block with the vectorised product of _ext_mul_rows."""
    k, n = a.shape
    w_mont = mont_mul(np.uint32(w), MONT_R2)
    frob_mont = np.empty((k, k), dtype=np.uint32)
    for j in range(k):
        for s in range(k):
            frob_mont[j, s] = mont_mul(frobenius[j, s], MONT_R2)
    a_blk = np.empty((k, _EXT_BLOCK), dtype=np.uint32)
    f_blk = np.empty((k, _EXT_BLOCK), dtype=np.uint32)
    c_blk = np.empty((k, _EXT_BLOCK), dtype=np.uint32)
    t_blk = np.empty((k, _EXT_BLOCK), dtype=np.uint32)
    low = np.empty(_EXT_BLOCK, dtype=np.uint32)
    high = np.empty(_EXT_BLOCK, dtype=np.uint32)
    for lo in range(0, n, _EXT_BLOCK):
        size = min(n, lo + _EXT_BLOCK) - lo
        for s in range(k):
            for x in range(size):
                a_blk[s, x] = a[s, lo + x]
        for s in range(k):  # conj = phi^1(a)
            for x in range(size):
                c_blk[s, x] = mont_mul(a_blk[s, x], frob_mont[1, s])
        for j in range(2, k):  # conj *= phi^j(a), the right factor in Montgomery form
            for s in range(k):
                for x in range(size):
                    f_blk[s, x] = mont_mul(a_blk[s, x], mont_mul(frob_mont[j, s], MONT_R2))
            _ext_mul_rows(c_blk, f_blk, t_blk, w_mont, size, low, high)
            c_blk, t_blk = t_blk, c_blk
        for s in range(k):  # the norm: a * conj, kept in Montgomery form for coordinate 0
            for x in range(size):
                f_blk[s, x] = mont_mul(c_blk[s, x], MONT_R2)
        _ext_mul_rows(a_blk, f_blk, t_blk, w_mont, size, low, high)
        for x in range(size):
            norms[lo + x] = t_blk[0, x]
        for s in range(k):
            for x in range(size):
                conj[s, lo + x] = c_blk[s, x]


@njit(cache=True)
def _batch_inverse_kernel(a, out):
    """Montgomery's trick: one exponentiation and 3(n-1) products invert n nonzero values."""
    n = a.shape[0]
    acc = np.uint64(1)
    for i in range(n):
        out[i] = acc
        acc = acc * np.uint64(a[i]) % _P64
    # acc^(p-2) = acc^-1
    inv, base, e = np.uint64(1), acc, P - 2
    while e:
        if e & 1:
            inv = inv * base % _P64
        base = base * base % _P64
        e >>= 1
    for i in range(n - 1, -1, -1):
        out[i] = out[i] * inv % _P64
        inv = inv * np.uint64(a[i]) % _P64


def _inverse(a: np.ndarray) -> np.ndarray:
    """Elementwise inverse of reduced integers (uint32 result); ZeroDivisionError on a zero."""
    flat = np.ascontiguousarray(a, dtype=np.uint32).reshape(-1)
    if not np.all(flat):
        raise ZeroDivisionError("inverse of zero")
    if not HAVE_NUMBA:  # a^(p-2), vectorised (Montgomery's trick is a serial loop)
        return numpy_field.inverse_mod(flat, P).astype(np.uint32).reshape(np.shape(a))
    out = np.empty(flat.shape, dtype=np.uint64)
    _batch_inverse_kernel(flat, out)
    return out.astype(np.uint32).reshape(np.shape(a))


def batch_inverse(a: GF) -> GF:
    """Elementwise inverse of base-field values; raises ZeroDivisionError on a zero."""
    return reduced(_inverse(np.asarray(a)))


def inverse_of_difference(x: GF, z: ExtArray) -> ExtArray:
    """1 / (x - z) for many base-field x and one extension element z.

    With chi(X) = prod_j (X - phi^j(z)), the characteristic polynomial of z (its coefficients
    lie in F_p) and q(X) = chi(X) / (X - z) (degree k - 1, extension coefficients), the answer
    is q(x) / chi(x): one base inversion and k small Horner steps per point, instead of a
    general extension inverse.
    """
    ext = z.field
    chi = [ext.ones()]  # coefficients, lowest degree first
    for j in range(ext.degree):
        root = z.frobenius(j)
        shifted = [ext.zeros(), *chi]  # X * chi
        chi = [
            shifted[i] - (root * chi[i] if i < len(chi) else ext.zeros())
            for i in range(len(shifted))
        ]
    if any(np.any(c._raw[1:] != 0) for c in chi):
        raise ArithmeticError("characteristic polynomial left the base field")
    # synthetic division of chi by (X - z): q_{k-1} = chi_k, q_{i-1} = chi_i + z q_i
    q = [chi[-1]]
    for i in range(ext.degree - 1, 0, -1):
        q.append(chi[i] + z * q[-1])
    q.reverse()  # now lowest degree first, degree k - 1
    xs = np.asarray(x)
    chi_at_x = np.zeros(xs.shape, dtype=np.uint32)
    for c in reversed(chi):
        chi_at_x = _add(_mul(chi_at_x, xs), c._raw[0])
    q_at_x = ext.zeros(xs.shape)
    for c in reversed(q):
        q_at_x = q_at_x * x + c
    return ExtArray._of(ext, _mul(q_at_x._raw, _inverse(chi_at_x)[np.newaxis]))


def _ext_mul(a: np.ndarray, b: np.ndarray, ext: ExtensionField) -> np.ndarray:
    """Product of reduced coordinate arrays (k, *s1) and (k, *s2) that broadcast together."""
    k = ext.degree
    if not HAVE_NUMBA:
        return _ext_mul_numpy(a, b, ext)
    sa, sb = a.shape[1:], b.shape[1:]
    kernel = _ext_mul_serial
    if sa == sb and a.dtype == b.dtype == np.uint32 and a.ndim <= 2:  # the verifier's case
        out = np.empty((k, a.size // k), dtype=np.uint32)
        if out.shape[1] >= EXT_MUL_PARALLEL_MIN:
            kernel = _ext_mul_parallel
        a2, b2 = np.ascontiguousarray(a.reshape(k, -1)), np.ascontiguousarray(b.reshape(k, -1))
        kernel(a2, b2, out, np.uint64(ext.nonresidue))
        return out.reshape(a.shape)
    shape = sa if sa == sb else np.broadcast_shapes(sa, sb)

    def flat(v: np.ndarray, s: tuple[int, ...]) -> np.ndarray:
        # contiguous uint32 (k, n) or (k, 1) inputs keep numba to one compiled signature
        v = v.astype(np.uint32, copy=False)
        if s not in (shape, ()):
            v = np.broadcast_to(v.reshape((k,) + (1,) * (len(shape) - len(s)) + s), (k, *shape))
        return np.ascontiguousarray(v).reshape(k, -1)

    size = math.prod(shape)
    out = np.empty((k, size), dtype=np.uint32)
    kernel = _ext_mul_parallel if size >= EXT_MUL_PARALLEL_MIN else _ext_mul_serial
    kernel(flat(a, sa), flat(b, sb), out, np.uint64(ext.nonresidue))
    return out.reshape((k, *shape))


def _ext_mul_numpy(a: np.ndarray, b: np.ndarray, ext: ExtensionField) -> np.ndarray:
    """_ext_mul without numba: out_m = sum_{s+t=m} a_s b_t + W sum_{s+t=m+k} a_s b_t as k^2
    vector products, each reduced (sums of k < 8 of them stay below 2^34)."""
    k, ndim = ext.degree, max(a.ndim, b.ndim)
    if a.size == b.size == k:  # one element each (the verifier's constraints at z): Python ints
        out = np.array(ext_mul_ints(a.ravel().tolist(), b.ravel().tolist(), ext), np.uint32)
        return out.reshape(a.shape if a.ndim >= b.ndim else b.shape)
    a = _u64(a).reshape((k,) + (1,) * (ndim - a.ndim) + a.shape[1:])
    b = _u64(b).reshape((k,) + (1,) * (ndim - b.ndim) + b.shape[1:])
    sums = np.zeros((2 * k - 1, *np.broadcast_shapes(a.shape[1:], b.shape[1:])), np.uint64)
    for s in range(k):
        for t in range(k):
            sums[s + t] += a[s] * b[t] % _P64
    sums[: k - 1] += sums[k:] % _P64 * np.uint64(ext.nonresidue)
    return (sums[:k] % _P64).astype(np.uint32)


def ext_mul_ints(a: list[int], b: list[int], ext: ExtensionField) -> list[int]:
    """The same product for one element each, as coordinate lists of Python integers (a few
    microseconds, where k^2 numpy calls on one value each would take forty)."""
    k, w = ext.degree, ext.nonresidue
    sums = [0] * (2 * k)
    for s, x in enumerate(a):
        for st, y in enumerate(b, s):  # st = s + t
            sums[st] += x * y
    return [(sums[m] + w * sums[m + k]) % P for m in range(k)]


@njit(cache=True, inline="always")
def _lincomb_block(w_low, w_high, rows, out, lo, hi):
    """out[:, lo:hi] of _lincomb: accumulate 2^16 rows at a time in uint64, then reduce."""
    k, m = w_low.shape
    acc_low = np.zeros((k, hi - lo), dtype=np.uint64)
    acc_high = np.zeros((k, hi - lo), dtype=np.uint64)
    for i in range(m):
        for j in range(k):
            a, c = w_low[j, i], w_high[j, i]
            for x in range(lo, hi):
                r = np.uint64(rows[i, x])
                acc_low[j, x - lo] += a * r
                acc_high[j, x - lo] += c * r
        if (i & 0xFFFF) == 0xFFFF:
            for j in range(k):
                for x in range(hi - lo):
                    acc_low[j, x] %= _P64
                    acc_high[j, x] %= _P64
    for j in range(k):
        for x in range(hi - lo):
            high = (acc_high[j, x] % _P64) * np.uint64(65536) % _P64
            out[j, lo + x] = (acc_low[j, x] % _P64 + high) % _P64


_LINCOMB_BLOCK = 2048


@njit(parallel=True, cache=True)
def _lincomb_parallel(w_low, w_high, rows, out):
    """out[j, x] = sum_i (w_low[j, i] + 2^16 w_high[j, i]) rows[i, x] mod p.

    Weights are split into 16-bit halves so that each product is below 2^47 and 2^16 of them
    can be summed in a uint64 without reduction; the accumulators are reduced every 2^16 rows.
    Columns are processed in blocks spread over the cores.
    """
    width = rows.shape[1]
    block = 2048
    for b in prange((width + block - 1) // block):
        lo = b * block
        _lincomb_block(w_low, w_high, rows, out, lo, min(width, lo + block))


@njit(cache=True)
def _lincomb_serial(w_low, w_high, rows, out):
    """The serial twin of _lincomb_parallel."""
    width = rows.shape[1]
    block = 2048
    for b in range((width + block - 1) // block):
        lo = b * block
        _lincomb_block(w_low, w_high, rows, out, lo, min(width, lo + block))


def _dot_numpy(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """w @ rows mod p for weights (k, m) and rows (m, X), without numba: (k, X) uint32.

    As in _lincomb_block, the weights' 16-bit halves times rows below 2^31 are below 2^47, so
    2^16 rows at a time sum exactly in uint64. The products are np.einsum's: its integer loops
    are five times faster than the integer matmul and, unlike a float64 BLAS product, never
    wait on a thread pool."""
    low, high = w & np.uint64(0xFFFF), w >> np.uint64(16)
    total = np.zeros((w.shape[0], rows.shape[1]), dtype=np.uint64)
    for first in range(0, rows.shape[0], 1 << 16):
        part = np.asarray(rows[first : first + (1 << 16)], dtype=np.uint64)
        lo = np.einsum("km,mx->kx", low[:, first : first + (1 << 16)], part) % _P64
        hi = np.einsum("km,mx->kx", high[:, first : first + (1 << 16)], part) % _P64
        total = (total + lo + hi * np.uint64(1 << 16) % _P64) % _P64
    return total.astype(np.uint32)


def _lincomb(w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """sum_i w[j, i] rows[i] for weights (k, m) and rows (m, X): (k, X) uint32."""
    k = w.shape[0]
    w = w.astype(np.uint64, copy=False)
    if not HAVE_NUMBA:
        return _dot_numpy(w, np.asarray(rows))
    data = np.ascontiguousarray(rows, dtype=np.uint32)
    out = np.empty((k, data.shape[1]), dtype=np.uint32)
    m, width = data.shape
    wide = width > _LINCOMB_BLOCK and m * width >= PARALLEL_MIN_ELEMENTS
    kernel = _lincomb_parallel if wide else _lincomb_serial
    kernel(np.ascontiguousarray(w & 0xFFFF), np.ascontiguousarray(w >> 16), data, out)
    return out


@njit(cache=True, inline="always")
def _row_dot(w_low, w_high, rows, out, r):
    """out[j, r] = sum_i (w_low[j, i] + 2^16 w_high[j, i]) rows[r, i] mod p: products below
    2^47, so 2^16 of them are summed in uint64 before a reduction."""
    k, m = w_low.shape
    row = rows[r]
    for j in range(k):
        low, high = w_low[j], w_high[j]
        total = np.uint64(0)
        for first in range(0, m, 1 << 16):
            acc_low = np.uint64(0)
            acc_high = np.uint64(0)
            for i in range(np.uint64(first), np.uint64(min(m, first + (1 << 16)))):
                v = np.uint64(row[i])
                acc_low += low[i] * v
                acc_high += high[i] * v
            total += acc_low % _P64 + (acc_high % _P64) * np.uint64(65536) % _P64
        out[j, r] = total % _P64


@njit(parallel=True, cache=True)
def _row_dots_parallel(w_low, w_high, rows, out):
    """out[:, r] = the weights (k, m) applied to row r of rows (R, m), rows over the cores."""
    for r in prange(rows.shape[0]):
        _row_dot(w_low, w_high, rows, out, np.int64(r))


@njit(cache=True)
def _row_dots_serial(w_low, w_high, rows, out):
    """The serial twin of _row_dots_parallel."""
    for r in range(rows.shape[0]):
        _row_dot(w_low, w_high, rows, out, r)


def row_dots(weights: ExtArray, rows: GF) -> ExtArray:
    """sum_i weights_i * rows[r, i] for every row r: extension weights (m,), base rows (R, m)
    (the same as lincomb(weights, rows.T), without transposing the rows): (R,) values."""
    k = weights.field.degree
    w = weights._raw.reshape(k, -1).astype(np.uint64)
    data = np.ascontiguousarray(np.asarray(rows), dtype=np.uint32)
    if data.shape[1] != w.shape[1]:
        raise ValueError(f"{w.shape[1]} weights for rows of {data.shape[1]} entries")
    if not HAVE_NUMBA:
        return ExtArray._of(weights.field, _dot_numpy(w, data.T))
    out = np.empty((k, data.shape[0]), dtype=np.uint32)
    wide = data.shape[0] > 1 and data.size >= PARALLEL_MIN_ELEMENTS
    kernel = _row_dots_parallel if wide else _row_dots_serial
    kernel(np.ascontiguousarray(w & 0xFFFF), np.ascontiguousarray(w >> 16), data, out)
    return ExtArray._of(weights.field, out)


def lincomb(weights: ExtArray, rows: GF) -> ExtArray:
    """sum_i weights_i * rows_i for extension weights (m,) and base-field rows (m, X)."""
    k = weights.field.degree
    return ExtArray._of(weights.field, _lincomb(weights._raw.reshape(k, -1), np.asarray(rows)))


def lincombs(weights: list[ExtArray], rows: GF) -> list[ExtArray]:
    """[lincomb(w, rows) for w in weights], in one pass over the rows (the kernel's weight
    matrix stacks the coordinates of every weight vector)."""
    ext = weights[0].field
    k = ext.degree
    stacked = np.concatenate([w._raw.reshape(k, -1) for w in weights], axis=0)
    out = _lincomb(stacked, np.asarray(rows))
    return [ExtArray._of(ext, out[i * k : (i + 1) * k]) for i in range(len(weights))]


def base_lincomb(coeffs: GF, rows: GF) -> GF:
    """sum_i coeffs_i * rows_i for base-field coefficients (m,) and rows (m, X): exact, compiled."""
    return reduced(_lincomb(np.asarray(coeffs).reshape(1, -1), np.asarray(rows))[0])


# -- polynomials in cells ------------------------------------------------------------------------
#: The most factors (cells) in one monomial that `CompiledPolynomials` evaluates.
MAX_FACTORS = 3


class CellPolynomial:
    """A polynomial over F_p in symbolic cells (integers naming rows of a matrix), as
    {monomial: coefficient} with monomials sorted tuples of cells.

    Constraint code written for field arrays runs unchanged on these (+, -, * with each other,
    Python ints and 0-d field arrays), so tracing it once gives its constraints as sums of
    monomials, which `CompiledPolynomials` evaluates over whole columns in one compiled pass.
    """

    __slots__ = ("terms",)
    __array_ufunc__ = None  # make numpy defer GF op CellPolynomial to our reflected methods

    def __init__(self, terms: dict[tuple[int, ...], int]):
        self.terms = terms

    @classmethod
    def cell(cls, index: int) -> CellPolynomial:
        return cls({(int(index),): 1})

    @staticmethod
    def _terms_of(other) -> dict[tuple[int, ...], int] | None:
        if isinstance(other, CellPolynomial):
            return other.terms
        if isinstance(other, int | np.integer) or (
            isinstance(other, np.ndarray) and other.ndim == 0 and other.dtype.kind in "iu"
        ):
            value = int(other) % P
            return {(): value} if value else {}
        return None

    def __add__(self, other):
        terms = self._terms_of(other)
        if terms is None:
            return NotImplemented
        out = dict(self.terms)
        for mono, c in terms.items():
            out[mono] = (out.get(mono, 0) + c) % P
        return CellPolynomial({m: c for m, c in out.items() if c})

    __radd__ = __add__

    def __neg__(self) -> CellPolynomial:
        return CellPolynomial({m: P - c for m, c in self.terms.items()})

    def __sub__(self, other):
        terms = self._terms_of(other)
        if terms is None:
            return NotImplemented
        return self + CellPolynomial(terms).__neg__()

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        terms = self._terms_of(other)
        if terms is None:
            return NotImplemented
        out: dict[tuple[int, ...], int] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in terms.items():
                mono = tuple(sorted(m1 + m2))
                out[mono] = (out.get(mono, 0) + c1 * c2) % P
        return CellPolynomial({m: c for m, c in out.items() if c})

    __rmul__ = __mul__


class Cells:
    """Symbolic cells first, first + 1, ...: cells[i] is the CellPolynomial of cell first + i."""

    def __init__(self, first: int):
        self.first = first

    def __getitem__(self, i: int) -> CellPolynomial:
        return CellPolynomial.cell(self.first + int(i))


class CompiledPolynomials:
    """Polynomials in cells, ready to evaluate over columns: for each, its monomials as rows of
    (coefficient, factors), the coefficient c stored as c R^f mod p (R = 2^32, f factors) so
    that f Montgomery products give c times the factors' product exactly.

    Cells below `direct` are rows of the `main` matrix given to `evaluate` (read in place: no
    copy of a wide trace); the others, `extra_cells`, are rows of its `extra` matrix.
    """

    def __init__(self, polys: list[CellPolynomial | int], direct: int = 0):
        polys = [
            p if isinstance(p, CellPolynomial) else CellPolynomial({(): int(p) % P}) for p in polys
        ]
        cells = sorted({c for p in polys for mono in p.terms for c in mono})
        self.direct = direct
        #: The cells from `direct` on, in the order of the rows of `extra`.
        self.extra_cells = [c for c in cells if c >= direct]
        row = {c: direct + i for i, c in enumerate(self.extra_cells)}
        ptr, coef, factors, counts = [0], [], [], []
        r = (1 << 32) % P
        for p in polys:
            for mono, c in sorted(p.terms.items()):
                if len(mono) > MAX_FACTORS:
                    raise ValueError(f"a monomial of {len(mono)} cells (at most {MAX_FACTORS})")
                coef.append(c * pow(r, len(mono), P) % P)
                counts.append(len(mono))
                rows = [x if x < direct else row[x] for x in mono]
                factors.append(rows + [0] * (MAX_FACTORS - len(mono)))
            ptr.append(len(coef))
        self.ptr = np.asarray(ptr, dtype=np.int64)
        self.coef = np.asarray(coef, dtype=np.uint32)
        self.factors = np.asarray(factors, dtype=np.int64).reshape(-1, MAX_FACTORS)
        self.counts = np.asarray(counts, dtype=np.int64)
        self._distinct_monomials(polys)

    def _distinct_monomials(self, polys: list[CellPolynomial]) -> None:
        """The tables of `weighted`: the distinct monomials (rows of factors, like the terms'),
        and for each term (ordered by monomial) its polynomial, plain coefficient and where
        its monomial's run of terms starts."""
        monos = sorted({mono for p in polys for mono in p.terms})
        index = {mono: i for i, mono in enumerate(monos)}
        terms = sorted(
            (index[mono], o, c) for o, p in enumerate(polys) for mono, c in p.terms.items()
        )
        mono_of = np.asarray([t[0] for t in terms], dtype=np.int64).reshape(-1)
        self.term_poly = np.asarray([t[1] for t in terms], dtype=np.int64).reshape(-1)
        self.term_coef = np.asarray([t[2] for t in terms], dtype=np.uint64).reshape(-1)
        self.mono_starts = np.flatnonzero(np.diff(mono_of, prepend=-1)).astype(np.int64)
        row = {c: self.direct + i for i, c in enumerate(self.extra_cells)}
        self.mono_counts = np.asarray([len(m) for m in monos], dtype=np.int64)
        self.mono_factors = np.asarray(
            [
                [x if x < self.direct else row[x] for x in m] + [0] * (MAX_FACTORS - len(m))
                for m in monos
            ],
            dtype=np.int64,
        ).reshape(-1, MAX_FACTORS)
        # the kernel's monomial value is its factors' product times R^-(f-1) (f - 1 Montgomery
        # products; 1 for a constant), so its folded coefficient is scaled by R^(f-1)
        r = (1 << 32) % P
        self.mono_scale = np.asarray(
            [pow(r, max(len(m) - 1, 0), P) for m in monos], dtype=np.uint64
        ).reshape(-1)

    def fold(self, weights: np.ndarray) -> np.ndarray:
        """sum_o w[j, o] P_o = sum_m C[j, m] m for weights (k, polynomials) below p: the
        coefficients C (k, distinct monomials), uint64 below p."""
        w = np.asarray(weights, dtype=np.uint64).reshape(-1, len(self.ptr) - 1)
        products = w[:, self.term_poly] * self.term_coef % _P64  # (k, terms), each below p
        if products.shape[1] == 0:
            return np.zeros((w.shape[0], 0), dtype=np.uint64)
        # fewer than 2^33 terms per monomial: their sum below 2^64
        return np.add.reduceat(products, self.mono_starts, axis=1) % _P64

    def weighted(self, weights: np.ndarray, main: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """sum_o w[j, o] P_o at every point for weights (k, polynomials) below p, each distinct
        monomial computed once (`fold`): (k, X) uint32, equal to _lincomb(w, evaluate(...))."""
        main, extra = self._inputs(main, extra)
        if not HAVE_NUMBA:
            return _lincomb(np.asarray(weights, dtype=np.uint64), self.evaluate(main, extra))
        c = self.fold(weights) * self.mono_scale % _P64
        out = np.empty((c.shape[0], main.shape[1]), dtype=np.uint32)
        # by the work (points x distinct monomials), not the output's size: at 200 assets a
        # chunk of 4,096 points has k = 5 output rows but thousands of monomials at each point
        points = main.shape[1]
        wide = points >= 2 * _FOLD_BLOCK and points * len(self.mono_counts) >= PARALLEL_MIN_ELEMENTS
        kernel = _folded_parallel if wide else _folded_serial
        low, high = np.ascontiguousarray(c & 0xFFFF), np.ascontiguousarray(c >> 16)
        kernel(main, extra, self.direct, self.mono_factors, self.mono_counts, low, high, out)
        return out

    def _inputs(self, main: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """main as a uint32 matrix with unit-stride rows (in place if it is one), extra
        as a C-contiguous uint32 matrix of main's width."""
        main = np.asarray(main).view(np.ndarray)
        if main.dtype != np.uint32 or main.strides[-1] != 4:
            main = np.ascontiguousarray(main, dtype=np.uint32)
        extra = np.ascontiguousarray(extra, dtype=np.uint32).reshape(-1, main.shape[1])
        return main, extra

    def evaluate(self, main: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """The polynomials at every point X: main (>= direct, X) holds cells 0..direct-1 by row
        (uint32, any strides), extra (len(extra_cells), X) the others; (polynomials, X) uint32."""
        main, extra = self._inputs(main, extra)
        out = np.empty((len(self.ptr) - 1, main.shape[1]), dtype=np.uint32)
        if not HAVE_NUMBA:
            return _polynomials_numpy(self, main, extra, out)
        # by the work (points x terms), not the output's size, as in `weighted`
        points = main.shape[1]
        wide = points >= 2 * _POLY_BLOCK and points * len(self.coef) >= PARALLEL_MIN_ELEMENTS
        kernel = _polynomials_parallel if wide else _polynomials_serial
        kernel(main, extra, self.direct, self.ptr, self.coef, self.factors, self.counts, out)
        return out


def _polynomials_numpy(polys: CompiledPolynomials, main, extra, out: np.ndarray) -> np.ndarray:
    """CompiledPolynomials.evaluate without numba: products in uint64 mod p."""
    r_inv = pow(1 << 32, -1, P)
    for o in range(len(polys.ptr) - 1):
        acc = np.zeros(main.shape[1], dtype=np.uint64)
        for t in range(polys.ptr[o], polys.ptr[o + 1]):
            f = int(polys.counts[t])
            term = np.full(main.shape[1], int(polys.coef[t]) * pow(r_inv, f, P) % P, np.uint64)
            for r in polys.factors[t, :f]:
                row = main[r] if r < polys.direct else extra[r - polys.direct]
                term = term * _u64(row) % _P64
            acc = (acc + term) % _P64
        out[o] = acc
    return out


_POLY_BLOCK = 512  # points per block of the polynomial kernels


@njit(cache=True, inline="always")
def _poly_row(main, extra, direct, r, lo, hi):
    """Points lo..hi-1 of row r of the cells: main's row r, or extra's row r - direct."""
    if r < direct:
        return main[r, lo:hi]
    return extra[r - direct, lo:hi]


@njit(cache=True, inline="always")
def _polynomials_block(main, extra, direct, ptr, coef, factors, counts, out, lo, hi):
    """out[:, lo:hi]: each polynomial's monomials summed in uint64 (each term below p, so
    2^32 of them cannot overflow), reduced at the end."""
    n = np.uint64(hi - lo)
    acc = np.empty(_POLY_BLOCK, dtype=np.uint64)
    for o in range(out.shape[0]):
        for x in range(n):
            acc[x] = 0
        for t in range(ptr[o], ptr[o + 1]):
            c = coef[t]
            f = counts[t]
            if f == 0:
                for x in range(n):
                    acc[x] += c
                continue
            r1 = _poly_row(main, extra, direct, factors[t, 0], lo, hi)
            if f == 1:
                for x in range(n):
                    acc[x] += mont_mul(r1[x], c)
                continue
            r2 = _poly_row(main, extra, direct, factors[t, 1], lo, hi)
            if f == 2:
                for x in range(n):
                    acc[x] += mont_mul(mont_mul(r1[x], r2[x]), c)
                continue
            r3 = _poly_row(main, extra, direct, factors[t, 2], lo, hi)
            for x in range(n):
                acc[x] += mont_mul(mont_mul(mont_mul(r1[x], r2[x]), r3[x]), c)
        o_row = out[o, lo:hi]
        for x in range(n):
            o_row[x] = acc[x] % _P64


@njit(parallel=True, cache=True)
def _polynomials_parallel(main, extra, direct, ptr, coef, factors, counts, out):
    """Every polynomial at every point, blocks of points spread over the cores."""
    width = out.shape[1]
    for b in prange((width + _POLY_BLOCK - 1) // _POLY_BLOCK):
        lo = np.int64(b) * _POLY_BLOCK
        hi = min(width, lo + _POLY_BLOCK)
        _polynomials_block(main, extra, direct, ptr, coef, factors, counts, out, lo, hi)


@njit(cache=True)
def _polynomials_serial(main, extra, direct, ptr, coef, factors, counts, out):
    """The serial twin of _polynomials_parallel."""
    width = out.shape[1]
    for b in range((width + _POLY_BLOCK - 1) // _POLY_BLOCK):
        lo = b * _POLY_BLOCK
        hi = min(width, lo + _POLY_BLOCK)
        _polynomials_block(main, extra, direct, ptr, coef, factors, counts, out, lo, hi)


_FOLD_BLOCK = 256  # points per block of the folded kernel: its accumulators stay in L1
_FOLD_GROUP = 4  # monomials accumulated per pass over the accumulators


@njit(cache=True, inline="always")
def _monomial_values(main, extra, direct, factors, counts, m, lo, hi, v):
    """v[:hi - lo] = monomial m's factors' product times R^-(f-1) at points lo..hi-1 (1 for a
    constant): below p, f - 1 Montgomery products."""
    n = hi - lo
    f = counts[m]
    if f == 0:
        for x in range(n):
            v[x] = np.uint32(1)
        return
    r1 = _poly_row(main, extra, direct, factors[m, 0], lo, hi)
    if f == 1:
        for x in range(n):
            v[x] = r1[x]
        return
    r2 = _poly_row(main, extra, direct, factors[m, 1], lo, hi)
    if f == 2:
        for x in range(n):
            v[x] = mont_mul(r1[x], r2[x])
        return
    r3 = _poly_row(main, extra, direct, factors[m, 2], lo, hi)
    for x in range(n):
        v[x] = mont_mul(mont_mul(r1[x], r2[x]), r3[x])


@njit(cache=True, inline="always")
def _folded_block(main, extra, direct, factors, counts, low, high, out, lo, hi):
    """out[:, lo:hi] of the folded sum: each distinct monomial's value v (`_monomial_values`)
    once, then acc_low[j] += v low[j, m] and acc_high[j] += v high[j, m] (16-bit halves of
    the coefficients: products below 2^47, so 2^16 monomials sum exactly in uint64; reduced
    every 2^16), _FOLD_GROUP monomials per pass over the accumulators, as in _lincomb_block.
    The values are kept as uint32 (half the memory traffic of uint64; measured 5% faster)."""
    k, count = low.shape
    n = hi - lo
    v = np.zeros((_FOLD_GROUP, _FOLD_BLOCK), dtype=np.uint32)
    acc_low = np.zeros((k, _FOLD_BLOCK), dtype=np.uint64)
    acc_high = np.zeros((k, _FOLD_BLOCK), dtype=np.uint64)
    a = np.zeros(_FOLD_GROUP, dtype=np.uint64)
    c = np.zeros(_FOLD_GROUP, dtype=np.uint64)
    for first in range(0, count, _FOLD_GROUP):
        size = min(_FOLD_GROUP, count - first)
        for g in range(size):
            _monomial_values(main, extra, direct, factors, counts, first + g, lo, hi, v[g])
        v0, v1, v2, v3 = v[0], v[1], v[2], v[3]
        for j in range(k):
            for g in range(_FOLD_GROUP):  # a short last group has zero coefficients
                a[g] = low[j, first + g] if g < size else 0
                c[g] = high[j, first + g] if g < size else 0
            a0, a1, a2, a3, c0, c1, c2, c3 = a[0], a[1], a[2], a[3], c[0], c[1], c[2], c[3]
            for x in range(n):
                u0, u1 = np.uint64(v0[x]), np.uint64(v1[x])
                u2, u3 = np.uint64(v2[x]), np.uint64(v3[x])
                acc_low[j, x] += a0 * u0 + a1 * u1 + a2 * u2 + a3 * u3
                acc_high[j, x] += c0 * u0 + c1 * u1 + c2 * u2 + c3 * u3
        if ((first + _FOLD_GROUP) & 0xFFFF) == 0:
            for j in range(k):
                for x in range(n):
                    acc_low[j, x] %= _P64
                    acc_high[j, x] %= _P64
    for j in range(k):
        o_row = out[j, lo:hi]
        for x in range(n):
            high_part = (acc_high[j, x] % _P64) * np.uint64(65536) % _P64
            o_row[x] = (acc_low[j, x] % _P64 + high_part) % _P64


@njit(parallel=True, cache=True)
def _folded_parallel(main, extra, direct, factors, counts, low, high, out):
    """out[j, x] = sum_m (low[j, m] + 2^16 high[j, m]) v_m(x) mod p, v_m the m-th distinct
    monomial times R^-(f-1): blocks of points spread over the cores."""
    width = out.shape[1]
    for b in prange((width + _FOLD_BLOCK - 1) // _FOLD_BLOCK):
        lo = np.int64(b) * _FOLD_BLOCK
        hi = min(width, lo + _FOLD_BLOCK)
        _folded_block(main, extra, direct, factors, counts, low, high, out, lo, hi)


@njit(cache=True)
def _folded_serial(main, extra, direct, factors, counts, low, high, out):
    """The serial twin of _folded_parallel."""
    width = out.shape[1]
    for b in range((width + _FOLD_BLOCK - 1) // _FOLD_BLOCK):
        lo = b * _FOLD_BLOCK
        hi = min(width, lo + _FOLD_BLOCK)
        _folded_block(main, extra, direct, factors, counts, low, high, out, lo, hi)
