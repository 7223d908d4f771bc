"""The AIR interface: how a statement declares its trace, constraints and public inputs.

An AIR is declared once. `evaluate_transition` is written with ordinary arithmetic operators and
runs unchanged on two kinds of `Frame`:
  * in the prover, every entry is a whole column over the constraint-evaluation domain
    (base-field arrays for main columns, extension arrays for auxiliary columns);
  * in the verifier, every entry is a single extension-field value at the out-of-domain point.

A transition constraint C(row, next_row) = 0 must hold for rows 0..n-2 (or, when declared with
`all_rows=True`, also from row n-1 to row 0: the trace is then read cyclically). A boundary
constraint says one column equals a public value at one row.

Write constants in constraints as field elements, `GF(c)`: galois refuses to mix its arrays
with Python integers, and the verifier's values accept either.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stark.field import GF, ExtArray, reduced
from stark.params import AirShape, is_power_of_two


@dataclass(frozen=True)
class TransitionConstraint:
    """The declared total degree of one transition constraint in the trace and periodic
    columns; `all_rows` extends it across the wrap from the last row to the first."""

    degree: int
    all_rows: bool = False


@dataclass(frozen=True)
class BoundaryConstraint:
    """column `column` of the main (or, with aux=True, the auxiliary) segment equals `value`
    at row `row`. Values are public base-field integers."""

    column: int
    row: int
    value: int
    aux: bool = False


@dataclass
class Frame:
    """The values a transition constraint may read: the current and the next row of each
    segment, the periodic columns at the current row, and the auxiliary challenges.

    main, main_next: indexable by main column.
    aux, aux_next: indexable by auxiliary column (None without an auxiliary segment).
    periodic: one value per periodic column.
    challenges: the auxiliary-segment challenges, an extension array of shape (m,).
    """

    main: Any
    main_next: Any
    aux: Any = None
    aux_next: Any = None
    periodic: Any = ()
    challenges: ExtArray | None = None


class Air(ABC):
    """Subclasses set `name` and implement the abstract members; `trace_len` is n."""

    name: str = "air"
    main_width: int = 1
    aux_width: int = 0
    num_aux_challenges: int = 0

    def __init__(self, trace_len: int):
        if not is_power_of_two(trace_len):
            raise ValueError("trace length must be a power of two")
        self.trace_len = trace_len

    # -- to implement -----------------------------------------------------------------------
    @abstractmethod
    def transition_constraints(self) -> list[TransitionConstraint]:
        """One entry per value returned by `evaluate_transition`, in the same order."""

    @abstractmethod
    def evaluate_transition(self, frame: Frame) -> list:
        """The transition constraint polynomials evaluated on `frame` (zero on a valid trace)."""

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        return []

    def periodic_columns(self) -> list[Sequence[int]]:
        """Each periodic column is given by one cycle of values (a list or an integer array);
        its length m is a power of two dividing n, and row i reads entry i mod m."""
        return []

    def public_inputs(self) -> bytes:
        """A canonical encoding of every public input, absorbed into the transcript first."""
        return b""

    def lookup_fractions(self) -> int:
        """How many fractions 1/(alpha - v) the AIR's LogUp arguments sum over the whole trace
        (looked-up values plus table entries); 0 without lookups. It sizes the lookup's term in
        the security estimate, so count every one."""
        return 0

    def build_aux_trace(self, main: GF, challenges: ExtArray) -> ExtArray:
        """The auxiliary segment (shape (aux_width, n)) from the main trace and challenges."""
        raise NotImplementedError(f"{self.name} has no auxiliary segment")

    # -- derived ----------------------------------------------------------------------------
    def shape(self) -> AirShape:
        transitions = self.transition_constraints()
        return AirShape(
            name=self.name,
            trace_len=self.trace_len,
            main_width=self.main_width,
            aux_width=self.aux_width,
            num_aux_challenges=self.num_aux_challenges,
            num_transition_constraints=len(transitions),
            num_boundary_constraints=len(self.boundary_constraints()),
            max_constraint_degree=max((c.degree for c in transitions), default=1),
            num_lookup_fractions=self.lookup_fractions(),
        )

    def validate_declaration(self) -> None:
        """Check the declaration's internal consistency (not the trace)."""
        n = self.trace_len
        for b in self.boundary_constraints():
            width = self.aux_width if b.aux else self.main_width
            if not (0 <= b.column < width and 0 <= b.row < n):
                raise ValueError(f"{self.name}: boundary constraint {b} is outside the trace")
        for cycle in self.periodic_columns():
            if not is_power_of_two(len(cycle)) or len(cycle) > n:
                raise ValueError(
                    f"{self.name}: a periodic column's cycle must be a power of "
                    "two no longer than the trace"
                )
        if (self.aux_width == 0) != (self.num_aux_challenges == 0):
            raise ValueError(f"{self.name}: an auxiliary segment needs challenges and vice versa")

    def find_violation(
        self, main: GF, aux: ExtArray | None, challenges: ExtArray | None
    ) -> tuple[str, int] | None:
        """The first (constraint description, row) that a trace violates, or None: the lowest
        violated transition constraint at its first row, else the first violated boundary
        constraint. The prover's self-check.

        Evaluates every constraint directly on the trace rows, CHECK_CHUNK rows at a time: the
        constraints' values and temporaries take memory per chunk, and the current and next
        rows are views of the trace (only the last chunk's next rows, which wrap to row 0, are
        copied). The answer does not depend on the chunk size.
        """
        n = self.trace_len
        specs = self.transition_constraints()
        periodic = [
            np.tile(np.asarray(c, dtype=np.int64) % GF.order, n // len(c)).astype(np.uint32)
            for c in self.periodic_columns()
        ]
        found: tuple[int, int] | None = None  # (constraint, row)
        for start in range(0, n, CHECK_CHUNK):
            stop = min(start + CHECK_CHUNK, n)
            values = self.evaluate_transition(
                _rows_frame(main, aux, periodic, challenges, start, stop, n)
            )
            if len(values) != len(specs):
                raise ValueError(
                    f"{self.name}: {len(values)} constraint values for {len(specs)} declared"
                )
            # chunks come in row order: a later chunk only matters for a lower constraint
            limit = len(specs) if found is None else found[0]
            for i, (spec, value) in enumerate(zip(specs[:limit], values, strict=False)):
                rows = _nonzero_rows(value, stop - start) + start
                if not spec.all_rows:
                    rows = rows[rows != n - 1]
                if len(rows):
                    found = i, int(rows[0])
                    break
            if found is not None and found[0] == 0:
                break
        if found is not None:
            return f"transition constraint {found[0]}", found[1]
        for b in self.boundary_constraints():
            segment = aux if b.aux else main
            actual = segment[b.column][b.row] if b.aux else segment[b.column, b.row]
            expected = GF(b.value % GF.order)
            ok = actual == (aux.field.from_base(expected) if b.aux else expected)
            if not ok:
                return f"boundary constraint {b}", b.row
        return None


#: Trace rows the self-check (Air.find_violation) evaluates at once.
CHECK_CHUNK = 1 << 13


def _rows_frame(
    main: GF,
    aux: ExtArray | None,
    periodic: list[np.ndarray],
    challenges: ExtArray | None,
    start: int,
    stop: int,
    n: int,
) -> Frame:
    """The frame of trace rows start..stop-1 and their next rows (cyclically): views of the
    trace, except the next rows of a chunk that ends at the last row (they wrap to row 0)."""
    raw = np.asarray(main)
    if stop < n:
        after = raw[:, start + 1 : stop + 1]
    else:
        after = np.concatenate([raw[:, start + 1 :], raw[:, :1]], axis=1)
    frame = Frame(
        main=reduced(raw[:, start:stop]),
        main_next=reduced(after),
        periodic=[reduced(column[start:stop]) for column in periodic],
        challenges=challenges,
    )
    if aux is not None:
        coords = np.asarray(aux.coords)  # (k, columns, n)
        if stop < n:
            later = coords[:, :, start + 1 : stop + 1]
        else:
            later = np.concatenate([coords[:, :, start + 1 :], coords[:, :, :1]], axis=2)
        frame.aux = ExtArray._of(aux.field, coords[:, :, start:stop])
        frame.aux_next = ExtArray._of(aux.field, later)
    return frame


def _nonzero_rows(value, n: int) -> np.ndarray:
    """The rows (of n) where a constraint's value (a column or a constant) is not zero."""
    flags = ~value.is_zero() if isinstance(value, ExtArray) else np.asarray(value) != 0
    return np.flatnonzero(np.broadcast_to(flags, (n,)))
