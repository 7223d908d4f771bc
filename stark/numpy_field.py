"""F_p as a numpy array subclass: what `stark.field.GF` is when galois is not installed.

Elements are uint32 integers in [0, p). For p < 2^31 a product of two reduced elements is below
2^62, so every operation is uint64 integer arithmetic followed by ``% p``: exact, and therefore
the same elements as galois.GF(p) computes (tests/stark/test_field_backend.py checks it).

It implements the part of galois's FieldArray interface this package uses, with galois's rules
for mixing: + - / take two field arrays (anything else is a TypeError, as in galois), * also
takes integers (scalar multiplication, n * a), ** takes integer exponents (negative ones
invert), comparisons act on the integers and return plain arrays, and indexing a single element
gives a 0-d field array. Sums (np.sum, np.cumsum) are sums mod p. What galois computes over F_p
but numpy would compute over the integers or floats (np.linalg, np.dot, @, np.prod) is refused
with a TypeError, never answered wrongly.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


def mul_mod(a: np.ndarray | int, b: np.ndarray | int, p: int) -> np.ndarray:
    """a * b mod p for reduced operands (uint64 result; each product is below 2^62)."""
    return np.asarray(a, dtype=np.uint64) * np.asarray(b, dtype=np.uint64) % np.uint64(p)


def pow_mod(base: np.ndarray | int, exponent: np.ndarray | int, p: int) -> np.ndarray:
    """base^e mod p elementwise (broadcasting), for reduced bases and exponents e >= 0, by
    square-and-multiply over the exponents' bits: about 2 log2(max e) vector products."""
    b = np.asarray(base, dtype=np.uint64)
    e = exponent if isinstance(exponent, int) else np.asarray(exponent, dtype=np.int64)
    if np.any(e < 0):
        raise ValueError("exponents must be non-negative")
    p64 = np.uint64(p)
    if np.ndim(e) == 0:  # one exponent: multiply only where its bits are set
        bits, result, square = int(e), np.ones(b.shape, dtype=np.uint64), b
        while bits:
            if bits & 1:
                result = result * square % p64
            bits >>= 1
            if bits:
                square = square * square % p64
        return result
    result = np.ones(np.broadcast_shapes(b.shape, e.shape), dtype=np.uint64)
    bits, square = e.copy(), b
    while bits.any():
        result = np.where(bits & 1 == 1, result * square % p64, result)
        square = square * square % p64
        bits >>= 1
    return result


def inverse_mod(a: np.ndarray, p: int) -> np.ndarray:
    """a^-1 = a^(p-2) mod p elementwise (Fermat); ZeroDivisionError on a zero."""
    a = np.asarray(a)
    if not np.all(a):
        raise ZeroDivisionError("inverse of zero")
    return pow_mod(a, p - 2, p)


class FieldArray(np.ndarray):
    """An array of elements of F_p (uint32 storage); subclasses set `order` = p < 2^31."""

    order: ClassVar[int]
    __array_priority__ = 1.0  # np.concatenate and np.stack return field arrays, as in galois

    def __new__(cls, x: Any) -> FieldArray:
        """Field elements from integers in [0, p) (ValueError otherwise), as galois checks."""
        a = np.array(x)
        if a.dtype == object:  # e.g. Python integers beyond int64: checked as Python integers
            values = [int(v) for v in a.reshape(-1)]
            if not all(0 <= v < cls.order for v in values):
                raise ValueError(f"field elements must be in 0 <= x < {cls.order}")
            a = np.array(values, dtype=np.int64).reshape(a.shape)
        if a.dtype.kind not in "iu":
            raise TypeError(f"field elements must be integers, not {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= cls.order):
            raise ValueError(f"field elements must be in 0 <= x < {cls.order}")
        return a.astype(np.uint32).view(cls)

    @classmethod
    def _view(cls, a: np.ndarray) -> FieldArray:
        """Integers already in [0, p) as field elements, without a check or a copy."""
        return np.asarray(a).view(cls)

    @classmethod
    def Zeros(cls, shape: int | tuple[int, ...]) -> FieldArray:
        return np.zeros(shape, dtype=np.uint32).view(cls)

    @classmethod
    def Ones(cls, shape: int | tuple[int, ...]) -> FieldArray:
        return np.ones(shape, dtype=np.uint32).view(cls)

    @classmethod
    def Random(
        cls,
        shape: int | tuple[int, ...] = (),
        low: int = 0,
        high: int | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> FieldArray:
        """Uniform elements in [low, high): the same draws as galois for the same seed."""
        rng = np.random.default_rng(seed)
        return rng.integers(low, cls.order if high is None else high, shape, np.uint32).view(cls)

    def __getitem__(self, key: Any) -> Any:
        out = super().__getitem__(key)
        return out if isinstance(out, np.ndarray) else np.asarray(out).view(type(self))

    def __repr__(self) -> str:
        return f"GF({np.asarray(self).tolist()!r}, order={self.order})"

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """numpy's functions, except those that would compute over the integers or floats
        instead of F_p (galois implements them in the field; this class refuses them)."""
        if func.__module__ == "numpy.linalg" or func in _NOT_FIELD_FUNCTIONS:
            raise TypeError(f"np.{func.__name__} over F_p needs galois")
        return super().__array_function__(func, types, args, kwargs)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        cls, p = type(self), self.order
        out = kwargs.pop("out", None)
        if ufunc in _INTEGER_UFUNCS:  # comparisons and the like: on the plain integers
            plain = [x.view(np.ndarray) if isinstance(x, FieldArray) else x for x in inputs]
            if out is not None:
                kwargs["out"] = tuple(o.view(np.ndarray) for o in out)
            return getattr(ufunc, method)(*plain, **kwargs)
        if ufunc not in _FIELD_UFUNCS:  # e.g. np.sqrt: not this field's operation
            raise TypeError(f"{ufunc.__name__} is not defined on field arrays")
        if method == "__call__":
            result = _FIELD_UFUNCS[ufunc](cls, *inputs)
        elif ufunc is np.add and method in ("reduce", "accumulate") and not kwargs.get("dtype"):
            # a sum of up to 2^32 terms below 2^31 cannot overflow uint64
            a = np.asarray(inputs[0], dtype=np.uint64)
            result = getattr(np.add, method)(a, **kwargs) % np.uint64(p)
        else:
            raise TypeError(f"{ufunc.__name__}.{method} is not defined on field arrays")
        result = np.asarray(result, dtype=np.uint32).view(cls)
        if out is None:
            return result
        out[0].view(np.ndarray)[...] = result
        return out[0]


def _operands(cls: type[FieldArray], name: str, *xs: Any) -> list[np.ndarray]:
    """The operands as uint64, if all are field arrays of `cls` (galois refuses others)."""
    if not all(isinstance(x, cls) for x in xs):
        kinds = ", ".join(type(x).__name__ for x in xs)
        raise TypeError(f"operation {name!r} needs field arrays of one field, not {kinds}")
    return [x.view(np.ndarray).astype(np.uint64) for x in xs]


def _integers(x: Any) -> np.ndarray | int:
    """An integer operand (a scalar multiplier or an exponent): a Python int as it is, else an
    integer array."""
    if isinstance(x, int):
        return x
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"expected an integer operand, not {a.dtype}")
    return a


def _add(cls: type[FieldArray], a: Any, b: Any) -> np.ndarray:
    x, y = _operands(cls, "add", a, b)
    return (x + y) % np.uint64(cls.order)


def _subtract(cls: type[FieldArray], a: Any, b: Any) -> np.ndarray:
    x, y = _operands(cls, "subtract", a, b)
    p = np.uint64(cls.order)
    return (x + (p - y)) % p


def _negative(cls: type[FieldArray], a: Any) -> np.ndarray:
    (x,) = _operands(cls, "negative", a)
    p = np.uint64(cls.order)
    return (p - x) % p


def _multiply(cls: type[FieldArray], a: Any, b: Any) -> np.ndarray:
    """a * b; an integer operand n (not a field array) means n * a = (n mod p) * a."""
    p = cls.order
    if not isinstance(a, cls):
        a, b = b, a
    if isinstance(b, cls):
        x, y = _operands(cls, "multiply", a, b)
        return x * y % np.uint64(p)
    (x,) = _operands(cls, "multiply", a)
    n = _integers(b)
    n = n % p if isinstance(n, int) or n.dtype.kind == "u" else n.astype(np.int64) % p
    return mul_mod(x, n, p)


def _square(cls: type[FieldArray], a: Any) -> np.ndarray:
    """a * a (numpy computes a ** 2 as np.square(a))."""
    return _multiply(cls, a, a)


def _positive(cls: type[FieldArray], a: Any) -> np.ndarray:
    """+a, a copy (numpy computes a ** 1 as np.positive(a))."""
    return _operands(cls, "positive", a)[0]


def _reciprocal(cls: type[FieldArray], a: Any) -> np.ndarray:
    (x,) = _operands(cls, "reciprocal", a)
    return inverse_mod(x, cls.order)


def _divide(cls: type[FieldArray], a: Any, b: Any) -> np.ndarray:
    x, y = _operands(cls, "divide", a, b)
    return mul_mod(x, inverse_mod(y, cls.order), cls.order)


def _power(cls: type[FieldArray], a: Any, e: Any) -> np.ndarray:
    """a^e for integer exponents; a negative exponent inverts the base first."""
    (x,) = _operands(cls, "power", a)
    if isinstance(e, FieldArray):
        raise TypeError("the exponent must be an integer, not a field element")
    e = _integers(e)
    if np.any(e < 0):
        x = np.where(e < 0, inverse_mod(np.where(e < 0, x, 1), cls.order), x)
        e = abs(e) if isinstance(e, int) else np.abs(e.astype(np.int64))
    return pow_mod(x, e, cls.order)


_FIELD_UFUNCS = {
    np.add: _add,
    np.subtract: _subtract,
    np.negative: _negative,
    np.multiply: _multiply,
    np.reciprocal: _reciprocal,
    np.true_divide: _divide,
    np.floor_divide: _divide,
    np.power: _power,
    np.square: _square,
    np.positive: _positive,
}
#: ufuncs that act on the elements as integers, with a plain result (as in galois).
_INTEGER_UFUNCS = {
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.maximum, np.minimum, np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.left_shift,
    np.right_shift, np.logical_and, np.logical_or, np.logical_not, np.isfinite,
}  # fmt: skip
_NOT_FIELD_FUNCTIONS = {
    np.dot, np.vdot, np.inner, np.tensordot, np.einsum, np.convolve, np.correlate, np.trace,
    np.prod, np.cumprod,
}  # fmt: skip
