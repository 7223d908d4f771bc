"""Constraint values that are weighted without being materialised.

The composition H = sum_i alpha_i C_i / Z_i only ever needs a weighted sum of a gadget's
constraint values. A gadget that can compute sum_i w_i C_i(x) directly (its kernel
accumulating the products as it goes) returns, inside `deferring()`, one `DeferredColumn` per
constraint instead of the values: `protocol.weighted_sum` groups the columns of each
`DeferredRows` block and asks the block for its weighted sum. Outside `deferring()` (the
self-check, tests, any other caller) the gadget returns its values as before, and a deferred
column reached by any other path gives its values through `value()` or `np.asarray`.

Only `protocol.composition` opens `deferring()`, around `evaluate_transition`, whose list goes
straight to `weighted_sum`: an AIR must pass a gadget's constraint values on unchanged (no
arithmetic on them), which is all a gadget's constraints are for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from stark.field import GF, CompiledPolynomials, ExtArray, lincomb, reduced

#: Whether the current composition accepts deferred columns. A context variable (scoped to
#: the `with deferring()` block and to its thread) rather than an argument: the request has
#: to pass through every AIR's evaluate_transition, whose signature is the AIR interface.
_ACCEPTED: ContextVar[bool] = ContextVar("deferred constraint rows accepted", default=False)


@contextmanager
def deferring() -> Iterator[None]:
    """Inside this block, gadgets may return DeferredColumns (see the module docstring)."""
    token = _ACCEPTED.set(True)
    try:
        yield
    finally:
        _ACCEPTED.reset(token)


def deferred_accepted() -> bool:
    """Whether the caller of the current evaluation accepts DeferredColumns."""
    return _ACCEPTED.get()


class DeferredRows(ABC):
    """m base-field columns (constraint values) over X points, computed on demand.

    Subclasses compute the rows (`materialise`) and may compute a weighted sum of them more
    cheaply than materialising and combining (`weighted`)."""

    def __init__(self, count: int, length: int):
        self.count, self.length = count, length
        self._rows: GF | None = None

    @abstractmethod
    def materialise(self) -> GF:
        """The (m, X) values."""

    def rows(self) -> GF:
        """The (m, X) values, computed once."""
        if self._rows is None:
            self._rows = self.materialise()
        return self._rows

    def weighted(self, weights: ExtArray) -> ExtArray:
        """sum_i weights_i * row_i for extension weights (m,): an extension column (X,).
        By default the compiled linear combination of the materialised rows."""
        return lincomb(weights, self.rows())

    def columns(self) -> list[DeferredColumn]:
        """One deferred column per row, in order."""
        return [DeferredColumn(self, i) for i in range(self.count)]


class DeferredColumn:
    """Row `index` of a DeferredRows block: what a gadget returns for one constraint inside
    `deferring()`."""

    __slots__ = ("block", "index")

    def __init__(self, block: DeferredRows, index: int):
        self.block, self.index = block, index

    def value(self) -> GF:
        """The column's values (X,) (materialises the whole block once)."""
        return self.block.rows()[self.index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.asarray(self.value(), dtype=dtype)

    # Arithmetic on a deferred column (which no AIR's own constraints need, but a wrapper
    # AIR's may, e.g. a test's control that zeroes a group) is arithmetic on its values.
    def __add__(self, other):
        return self.value() + _value_of(other)

    def __radd__(self, other):
        return _value_of(other) + self.value()

    def __sub__(self, other):
        return self.value() - _value_of(other)

    def __rsub__(self, other):
        return _value_of(other) - self.value()

    def __mul__(self, other):
        return self.value() * _value_of(other)

    def __rmul__(self, other):
        return _value_of(other) * self.value()

    def __neg__(self):
        return -self.value()

    def __len__(self) -> int:
        return self.block.length


class PolynomialRows(DeferredRows):
    """Compiled polynomials (`CompiledPolynomials`) at X points: materialised (m, X) by their
    evaluation, or weighted with the weights folded into the coefficients,
    sum_i w_i P_i = sum_m (sum_i w_i c_im) m, each distinct monomial m computed once."""

    def __init__(self, polys: CompiledPolynomials, main: np.ndarray, extra: np.ndarray):
        super().__init__(len(polys.ptr) - 1, np.shape(main)[1])
        self.polys, self.main, self.extra = polys, main, extra

    def materialise(self) -> GF:
        return reduced(self.polys.evaluate(self.main, self.extra))

    def weighted(self, weights: ExtArray) -> ExtArray:
        w = np.asarray(weights.coords, dtype=np.uint64).reshape(weights.field.degree, self.count)
        return ExtArray(weights.field, reduced(self.polys.weighted(w, self.main, self.extra)))


def _value_of(operand):
    """A deferred column's values, any other operand itself."""
    return operand.value() if isinstance(operand, DeferredColumn) else operand


__all__ = ["DeferredColumn", "DeferredRows", "PolynomialRows", "deferred_accepted", "deferring"]
