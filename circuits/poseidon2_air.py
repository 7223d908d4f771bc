"""Poseidon2 over BabyBear as an AIR gadget (one permutation per trace row), and a small AIR
that proves a batch of permutations with it.

Layout (horizontal: one row holds one whole permutation; docs/poseidon2.md says why and what
was measured). Starting at the gadget's column offset, for width t:

    input                   t columns (unless the caller passes its own input columns)
    4 external rounds       each: t S-box registers, then the t elements after the round
    R_p partial rounds      each: 1 S-box register, then the S-box output of element 0
    4 external rounds       as above; the last round's t elements are the output (unless the
                            caller passes its own output columns)

The S-box input x of every round is an affine function of committed cells (the previous
round's state, or for a partial round the partial rounds' starting state and the S-box
outputs before it, all passed through the public linear layers), computed symbolically inside
the constraint. Its register holds r = x^3 and the S-box output is r^2 x, so every constraint
has degree 3:

    r - x^3 = 0                     (each register)
    s_i - M_E(r^2 x)_i = 0          (each element after an external round)
    y - r^2 x = 0                   (each partial round's S-box output)

Without registers (`sbox_registers=False`) the same layout drops the register columns and the
constraints become s_i - M_E(x^7)_i and y - x^7, of degree 7. The round constants are Python
constants inside the expressions (GF scalars), not periodic columns.

Every constraint is a polynomial identity over F_p: the permutation is defined over F_p, so no
wrap-around argument is needed (docs/poseidon2.md).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np

from circuits.poseidon2 import (
    HALF_EXTERNAL_ROUNDS,
    Poseidon2Params,
    as_states,
    params,
    permutation_witness,
)
from stark.air import Air, BoundaryConstraint, Frame, TransitionConstraint
from stark.field import (  # add_mod, mont_mul: compiled Montgomery arithmetic (inlined)
    GF,
    MONT_R2,
    P32,
    PARALLEL_MIN_ELEMENTS,
    ExtArray,
    P,
    add_mod,
    mont_mul,
    reduced,
)
from stark.fused import DeferredRows, deferred_accepted
from stark.jit import HAVE_NUMBA, njit, prange

#: Evaluate the gadget's constraints with the compiled kernel below when the frame holds
#: base-field column arrays (the prover); False forces the expression code everywhere (tests).
FAST_CONSTRAINTS = True


@cache
def _constants(width: int) -> tuple[list[list[GF]], list[GF], list[GF]]:
    """The round constants and the internal diagonal as GF scalars (built once per width)."""
    prm: Poseidon2Params = params(width)
    external = [[GF(int(c)) for c in row] for row in (*prm.external_initial, *prm.external_final)]
    return external, [GF(int(c)) for c in prm.internal], [GF(int(d)) for d in prm.diagonal]


# -- the compiled evaluation (the prover's base-field columns) ----------------------------------
# Points are processed in blocks of _BLOCK, every step a loop over the block's points, so LLVM
# vectorises each step across points. Values are kept reduced, in Montgomery form (a R mod p,
# R = 2^32: `stark.field.mont_mul` multiplies with 32-bit products only), from loading a trace
# cell (one product by R^2) to the constraint value: the linear layers and round constants are
# the same in either form, and the constraint values leave it either by one product by 1
# (materialised rows) or through weights pre-multiplied by R^-1 (the fused weighted sum).
# The steps are compiled functions of their own, not inlined into one body: inlined, the two
# twins took 48 s to compile (measured on a loaded machine; 13 s so) for 10% less run time.
_BLOCK = 128  # points per vectorised block: its states and accumulators stay in L1/L2
_SPAN = 1024  # points per parallel work item (several blocks, one set of scratch arrays)
_ONE = np.uint32(1)
_P64 = np.uint64(P)
_R = 1 << 32


@njit(cache=True, inline="always")
def _sub_mod(a, b):
    """a - b mod p for reduced a, b (uint32)."""
    s = np.uint32(a + (P32 - b))
    return min(s, np.uint32(s - P32))


@njit(cache=True)
def _load(main, col, lo, nb, dst):
    """dst[:nb] = the cells main[col, lo:lo + nb] in Montgomery form."""
    for b in range(nb):
        dst[b] = mont_mul(np.uint32(main[col, lo + b]), MONT_R2)


@njit(cache=True)
def _sbox_block(x, reg, has_reg, c, y, nb):
    """y = x^7 for the block; with a register r (its cells in reg): y = r^2 x and the
    constraint values c = r - x^3."""
    if has_reg:
        for b in range(nb):
            r = reg[b]
            c[b] = _sub_mod(r, mont_mul(mont_mul(x[b], x[b]), x[b]))
            y[b] = mont_mul(mont_mul(r, r), x[b])
    else:
        for b in range(nb):
            x3 = mont_mul(mont_mul(x[b], x[b]), x[b])
            y[b] = mont_mul(mont_mul(x3, x3), x[b])


_2_32_MOD_P = np.uint64((1 << 32) % P)


@njit(cache=True)
def _emit(c, i, weights, acc, rows, lo, nb):
    """Constraint i's values c[:nb] (Montgomery form): added with its weights into the
    accumulators when there are weights (weights (k, m): w R^-1 mod p), else written to
    rows[i, lo:lo + nb] in plain form.

    Each product is below p^2 < 2^62; after every third constraint the accumulators are
    folded to a < 2^61 (a = 2^32 h + l -> (2^32 mod p) h + l, the same residue), so
    a + 3 p^2 never overflows 64 bits."""
    if weights.shape[0]:
        for j in range(weights.shape[0]):
            w = np.uint64(weights[j, i])
            for b in range(nb):
                acc[j, b] += w * np.uint64(c[b])
        if i % 3 == 2:
            for j in range(weights.shape[0]):
                for b in range(nb):
                    a = acc[j, b]
                    acc[j, b] = (a >> np.uint64(32)) * _2_32_MOD_P + (a & np.uint64(0xFFFFFFFF))
    else:
        for b in range(nb):
            rows[i, lo + b] = mont_mul(c[b], _ONE)


@njit(cache=True)
def _external_linear_block(s, y, nb):
    """M_E on the block's states s (t, >= nb), in place (y: scratch of the same shape):
    m4 on each group of 4 elements, then each element plus the sum of its position's."""
    t = s.shape[0]
    for g in range(0, t, 4):
        for b in range(nb):
            x0, x1, x2, x3 = s[g, b], s[g + 1, b], s[g + 2, b], s[g + 3, b]
            t01, t23 = add_mod(x0, x1), add_mod(x2, x3)
            t0123 = add_mod(t01, t23)
            t01123, t01233 = add_mod(t0123, x1), add_mod(t0123, x3)
            y[g, b] = add_mod(t01123, t01)
            y[g + 1, b] = add_mod(add_mod(t01123, x2), x2)
            y[g + 2, b] = add_mod(t01233, t23)
            y[g + 3, b] = add_mod(add_mod(t01233, x0), x0)
    for k in range(4):  # the points innermost in every loop, so that each vectorises
        total = s[k]  # free until it becomes y[k] + total, last
        for b in range(nb):
            total[b] = y[k, b]
        for g in range(4 + k, t, 4):
            for b in range(nb):
                total[b] = add_mod(total[b], y[g, b])
        for g in range(4 + k, t, 4):
            for b in range(nb):
                s[g, b] = add_mod(y[g, b], total[b])
        for b in range(nb):
            total[b] = add_mod(y[k, b], total[b])  # s[k]


@njit(cache=True)
def _internal_linear_block(s, diag, total, nb):
    """M_I on the block's states s (t, >= nb), in place: s_i -> S + d_i s_i (diag in
    Montgomery form; total: scratch)."""
    for b in range(nb):
        total[b] = s[0, b]
    for i in range(1, s.shape[0]):
        for b in range(nb):
            total[b] = add_mod(total[b], s[i, b])
    for i in range(s.shape[0]):
        d = diag[i]
        for b in range(nb):
            s[i, b] = add_mod(total[b], mont_mul(d, s[i, b]))


@njit(cache=True)
def _constraints_block(inputs, main, tables, weights, rows, acc_out, lo, nb, scratch):
    """The gadget's constraints at points lo..lo+nb: into rows (m, X), or their weighted sum
    into acc_out (k, X) (see _emit)."""
    ext_c, int_c, diag, ext_regs, ext_post, part_reg, part_out = tables
    state, ys, c, reg, acc = scratch
    t, rounds, half = state.shape[0], ext_c.shape[0], ext_c.shape[0] // 2
    acc[:, :nb] = 0
    for i in range(t):
        for b in range(nb):
            state[i, b] = mont_mul(np.uint32(inputs[i, lo + b]), MONT_R2)
    _external_linear_block(state, ys, nb)
    k = 0
    for r in range(rounds):
        if r == half:
            for q in range(int_c.shape[0]):
                for b in range(nb):
                    state[0, b] = add_mod(state[0, b], int_c[q])
                if part_reg[q] >= 0:
                    _load(main, part_reg[q], lo, nb, reg)
                _sbox_block(state[0], reg, part_reg[q] >= 0, c, ys[0], nb)
                if part_reg[q] >= 0:
                    _emit(c, k, weights, acc, rows, lo, nb)
                    k += 1
                _load(main, part_out[q], lo, nb, state[0])
                for b in range(nb):
                    c[b] = _sub_mod(state[0, b], ys[0, b])
                _emit(c, k, weights, acc, rows, lo, nb)
                k += 1
                _internal_linear_block(state, diag, c, nb)
        for i in range(t):
            for b in range(nb):
                state[i, b] = add_mod(state[i, b], ext_c[r, i])
            if ext_regs[r, i] >= 0:
                _load(main, ext_regs[r, i], lo, nb, reg)
            _sbox_block(state[i], reg, ext_regs[r, i] >= 0, c, ys[i], nb)
            if ext_regs[r, i] >= 0:
                _emit(c, k, weights, acc, rows, lo, nb)
                k += 1
        _external_linear_block(ys, state, nb)
        for i in range(t):
            if ext_post[r, i] < 0:
                break
            _load(main, ext_post[r, i], lo, nb, state[i])
            for b in range(nb):
                c[b] = _sub_mod(state[i, b], ys[i, b])
            _emit(c, k, weights, acc, rows, lo, nb)
            k += 1
    for j in range(acc_out.shape[0]):
        for b in range(nb):
            acc_out[j, lo + b] = acc[j, b] % _P64


@njit(cache=True)
def _constraints_span(inputs, main, tables, weights, rows, acc_out, lo, hi):
    """_constraints_block over the points lo..hi, block by block, with one set of scratch."""
    t, k = inputs.shape[0], weights.shape[0]
    scratch = (
        np.empty((t, _BLOCK), dtype=np.uint32),
        np.empty((t, _BLOCK), dtype=np.uint32),
        np.empty(_BLOCK, dtype=np.uint32),
        np.empty(_BLOCK, dtype=np.uint32),
        np.empty((k, _BLOCK), dtype=np.uint64),
    )
    for first in range(lo, hi, _BLOCK):
        nb = min(_BLOCK, hi - first)
        _constraints_block(inputs, main, tables, weights, rows, acc_out, first, nb, scratch)


@njit(parallel=True, cache=True)
def _constraints_parallel(inputs, main, tables, weights, rows, acc_out):
    """Every constraint of one permutation gadget at every point (see _constraints_block),
    spans of points over the cores."""
    n = inputs.shape[1]
    for s in prange((n + _SPAN - 1) // _SPAN):
        lo = s * _SPAN
        _constraints_span(inputs, main, tables, weights, rows, acc_out, lo, min(n, lo + _SPAN))


@njit(cache=True)
def _constraints_serial(inputs, main, tables, weights, rows, acc_out):
    """The serial twin of _constraints_parallel."""
    _constraints_span(inputs, main, tables, weights, rows, acc_out, 0, inputs.shape[1])


def _montgomery(values: np.ndarray) -> np.ndarray:
    """Reduced integers a as a R mod p (uint32), the kernel's form."""
    return np.ascontiguousarray(np.asarray(values, dtype=object) * _R % P, dtype=np.uint32)


class _GadgetRows(DeferredRows):
    """One gadget's constraint values at X points, by the compiled kernel: materialised
    (m, X), or weighted without materialising (the kernel accumulates sum_i w_i C_i)."""

    def __init__(self, gadget: Poseidon2Gadget, inputs: np.ndarray, cells: np.ndarray):
        super().__init__(gadget.num_constraints, inputs.shape[1])
        self.tables, self.inputs = gadget._kernel_tables(), inputs
        self.cells = cells if cells.dtype == np.uint32 else cells.astype(np.uint32)

    def _run(self, weights: np.ndarray, rows: np.ndarray, acc: np.ndarray) -> None:
        # by the work, not the points: each point is a whole permutation (hundreds of
        # constraints), so a chunk of a few thousand points already fills both cores
        n = self.length
        wide = n >= 2 * _BLOCK and n * self.count >= PARALLEL_MIN_ELEMENTS
        kernel = _constraints_parallel if wide else _constraints_serial
        kernel(self.inputs, self.cells, self.tables, weights, rows, acc)

    def materialise(self) -> GF:
        rows = np.empty((self.count, self.length), dtype=np.uint32)
        none = np.empty((0, self.count), dtype=np.uint32)
        self._run(none, rows, np.empty((0, self.length), dtype=np.uint32))
        return reduced(rows)

    def weighted(self, weights: ExtArray) -> ExtArray:
        """sum_i w_i C_i: the kernel's constraint values are C_i R (Montgomery form), so it
        takes w_i R^-1."""
        k = weights.field.degree
        w = np.asarray(weights.coords, dtype=np.uint64).reshape(k, self.count)
        w = np.ascontiguousarray(w * np.uint64(pow(_R, -1, P)) % _P64, dtype=np.uint32)
        acc = np.empty((k, self.length), dtype=np.uint32)
        self._run(w, np.empty((0, self.length), dtype=np.uint32), acc)
        return ExtArray(weights.field, reduced(acc))


# -- the linear layers on expressions (GF columns or extension values) --------------------------
def _m4(x0, x1, x2, x3) -> list:
    """m4 = [[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]] times (x0..x3), additions only."""
    t01, t23 = x0 + x1, x2 + x3
    t0123 = t01 + t23
    t01123, t01233 = t0123 + x1, t0123 + x3
    return [t01123 + t01, t01123 + x2 + x2, t01233 + t23, t01233 + x0 + x0]


def external_linear_expr(xs: Sequence) -> list:
    """M_E on a list of expressions (see circuits/poseidon2.py)."""
    blocks = [_m4(*xs[b : b + 4]) for b in range(0, len(xs), 4)]
    sums = []
    for k in range(4):
        s = blocks[0][k]
        for blk in blocks[1:]:
            s = s + blk[k]
        sums.append(s)
    return [blk[k] + sums[k] for blk in blocks for k in range(4)]


def internal_linear_expr(xs: Sequence, diagonal: Sequence[GF]) -> list:
    """M_I on a list of expressions: x_i -> S + d_i x_i."""
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    out = []
    for x, d in zip(xs, diagonal, strict=True):
        if int(d) == 1:
            out.append(total + x)
        elif int(d) == P - 1:
            out.append(total - x)
        else:
            out.append(total + x * d)
    return out


class Poseidon2Gadget:
    """Constraints and witness for one Poseidon2 permutation per trace row.

    offset: the first column the gadget owns; it owns `num_columns` consecutive columns.
    width: 16 or 24.
    input_cols: the caller's columns holding the permutation's input; None (the default) makes
        the gadget own t input columns at the start of its block; () means the input is always
        passed to `constraints` and `fill` as expressions and values (e.g. a sponge's chaining
        value plus absorbed elements). Input expressions must be affine in the trace (degree 1)
        to keep the constraints at degree 3.
    output_cols: the caller's columns to hold the output; None makes the gadget own them (the
        last round's post-state, at the end of its block).
    sbox_registers: store x^3 for each S-box input (degree-3 constraints, the default); without
        them the constraints have degree 7 and the gadget has about half the columns.
    output_width: commit only the first `output_width` elements of the output (e.g. 8 for the
        digest of a sponge's last permutation); the last round's other elements get no columns
        and no constraints. None (the default) commits all t.
    """

    def __init__(
        self,
        offset: int,
        width: int = 16,
        *,
        input_cols: Sequence[int] | None = None,
        output_cols: Sequence[int] | None = None,
        sbox_registers: bool = True,
        output_width: int | None = None,
    ):
        prm = params(width)
        self.width, self.offset, self.sbox_registers = width, offset, sbox_registers
        self.partial_rounds = prm.partial_rounds
        self.output_width = width if output_width is None else output_width
        if not 1 <= self.output_width <= width:
            raise ValueError(f"output_width must lie in [1, {width}]")
        if input_cols is not None and len(input_cols) not in (0, width):
            raise ValueError(f"input_cols must name {width} columns, or none")
        if output_cols is not None and len(output_cols) != self.output_width:
            raise ValueError(f"output_cols must name {self.output_width} columns")
        col = offset

        def take(count: int) -> tuple[int, ...]:
            nonlocal col
            cols = tuple(range(col, col + count))
            col += count
            return cols

        self.owns_input = input_cols is None
        self.input_cols = take(width) if input_cols is None else tuple(input_cols)
        regs = width if sbox_registers else 0
        #: per external round (8): (register columns or (), post-state columns)
        self.external_cols: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        #: per partial round: (register column or None, S-box output column)
        self.partial_cols: list[tuple[int | None, int]] = []
        for _ in range(HALF_EXTERNAL_ROUNDS):
            self.external_cols.append((take(regs), take(width)))
        for _ in range(self.partial_rounds):
            reg = take(1)[0] if sbox_registers else None
            self.partial_cols.append((reg, take(1)[0]))
        for r in range(HALF_EXTERNAL_ROUNDS):
            reg_cols = take(regs)
            last = r == HALF_EXTERNAL_ROUNDS - 1
            if last:
                post = take(self.output_width) if output_cols is None else tuple(output_cols)
            else:
                post = take(width)
            self.external_cols.append((reg_cols, post))
        self.output_cols = self.external_cols[-1][1]
        self.owns_output = output_cols is None
        self.num_columns = col - offset

    # -- declaration ------------------------------------------------------------------------
    @property
    def degree(self) -> int:
        return 3 if self.sbox_registers else 7

    @property
    def register_cols(self) -> tuple[int, ...]:
        """Every S-box register column (empty without registers)."""
        ext = [c for regs, _ in self.external_cols for c in regs]
        return tuple(ext + [r for r, _ in self.partial_cols if r is not None])

    @property
    def num_constraints(self) -> int:
        return len(self.transition_constraints())

    def transition_constraints(self) -> list[TransitionConstraint]:
        """One per constrained column, in the order `constraints` returns them. They read one
        row only, so they hold on every row (all_rows=True: the last row is checked too)."""
        regs = self.width if self.sbox_registers else 0
        per_external = regs + self.width
        per_partial = 2 if self.sbox_registers else 1
        count = 2 * HALF_EXTERNAL_ROUNDS * per_external + self.partial_rounds * per_partial
        count -= self.width - self.output_width  # the uncommitted output elements
        return [TransitionConstraint(self.degree, all_rows=True)] * count

    # -- constraints ------------------------------------------------------------------------
    def constraints(self, main, inputs: Sequence | None = None) -> list:
        """The constraint values on one frame row `main` (indexable by column: whole GF columns
        in the prover, extension values in the verifier). inputs: t affine expressions to use
        as the permutation's input instead of the input columns."""
        if inputs is None and not self.input_cols:
            raise ValueError("this gadget has no input columns: pass the input expressions")
        fast = self._fast_constraints(main, inputs)
        if fast is not None:
            return fast
        external, internal, diagonal = _constants(self.width)
        state = [main[c] for c in self.input_cols] if inputs is None else list(inputs)
        if len(state) != self.width:
            raise ValueError(f"the permutation takes {self.width} inputs")
        state = external_linear_expr(state)
        out: list = []

        def sbox(x, reg_col):
            if reg_col is None:
                x2 = x * x
                x3 = x2 * x
                return x3 * x3 * x
            r = main[reg_col]
            out.append(r - x * x * x)
            return r * r * x

        def external_round(state, constants, cols):
            regs, post = cols
            ys = [
                sbox(x + c, regs[i] if regs else None)
                for i, (x, c) in enumerate(zip(state, constants, strict=True))
            ]
            new = [main[c] for c in post]  # the last round may commit fewer (output_width)
            mixed = external_linear_expr(ys)[: len(new)]
            out.extend(s - m for s, m in zip(new, mixed, strict=True))
            return new

        for r in range(HALF_EXTERNAL_ROUNDS):
            state = external_round(state, external[r], self.external_cols[r])
        for c, (reg, y_col) in zip(internal, self.partial_cols, strict=True):
            y = main[y_col]
            out.append(y - sbox(state[0] + c, reg))
            state = internal_linear_expr([y, *state[1:]], diagonal)
        for r in range(HALF_EXTERNAL_ROUNDS, 2 * HALF_EXTERNAL_ROUNDS):
            state = external_round(state, external[r], self.external_cols[r])
        return out

    def _kernel_tables(self) -> tuple[np.ndarray, ...]:
        """The constants (Montgomery form) and column indices (-1: no column) the kernel
        reads, built once."""
        if getattr(self, "_tables", None) is None:
            prm = params(self.width)
            rounds = 2 * HALF_EXTERNAL_ROUNDS
            ext_regs = np.full((rounds, self.width), -1, dtype=np.int64)
            ext_post = np.full((rounds, self.width), -1, dtype=np.int64)
            for r, (regs, post) in enumerate(self.external_cols):
                ext_regs[r, : len(regs)] = regs
                ext_post[r, : len(post)] = post
            part_reg = np.array(
                [-1 if reg is None else reg for reg, _ in self.partial_cols], dtype=np.int64
            )
            part_out = np.array([y for _, y in self.partial_cols], dtype=np.int64)
            external = np.concatenate([prm.external_initial, prm.external_final])
            self._tables = (
                _montgomery(external),
                _montgomery(prm.internal),
                _montgomery(prm.diagonal),
                ext_regs,
                ext_post,
                part_reg,
                part_out,
            )
        return self._tables

    def _fast_constraints(self, main, inputs: Sequence | None) -> list | None:
        """`constraints` by the compiled kernel when `main` is a (columns, points) GF array and
        every input is a GF column of those points or a GF scalar (the prover's frames); None
        otherwise (extension values: the verifier; or no numba), leaving it to the expression
        code. The values are the same field elements, in the same order; inside
        `stark.fused.deferring()` they come as deferred columns of one `_GadgetRows` block."""
        if not (FAST_CONSTRAINTS and HAVE_NUMBA) or not isinstance(main, GF) or main.ndim != 2:
            return None
        n = main.shape[1]
        values = [main[c] for c in self.input_cols] if inputs is None else list(inputs)
        if len(values) != self.width:
            return None
        state = np.empty((self.width, n), dtype=np.uint32)
        for i, v in enumerate(values):
            if not isinstance(v, GF) or v.ndim > 1 or (v.ndim == 1 and v.shape[0] != n):
                return None
            state[i] = np.asarray(v)
        block = _GadgetRows(self, state, np.asarray(main))
        if deferred_accepted():
            return block.columns()
        rows = block.rows()
        return [rows[i] for i in range(rows.shape[0])]

    # -- witness ----------------------------------------------------------------------------
    def fill(self, trace, inputs=None) -> np.ndarray:
        """Write the gadget's columns for every row of `trace` (main_width, n): a numpy integer
        array or a GF array, changed in place. inputs: (n, t) input values (their canonical
        integers); None reads them from the input columns. Writes the input columns only if the
        gadget owns them, and the output columns always (only the first `output_width`
        elements have columns). Returns the whole outputs (n, t), uint64."""
        if inputs is None:
            if not self.input_cols:
                raise ValueError("this gadget has no input columns: pass the input values")
            inputs = np.stack([np.asarray(trace[c], dtype=np.uint64) for c in self.input_cols], 1)
        states = as_states(inputs, self.width)
        if states.shape[0] != trace.shape[1]:
            raise ValueError(f"{states.shape[0]} inputs for a trace of {trace.shape[1]} rows")
        w = permutation_witness(states, self.width)

        def put(col: int, values: np.ndarray) -> None:
            trace[col] = reduced(values) if isinstance(trace, GF) else values

        if self.owns_input:
            for i, c in enumerate(self.input_cols):
                put(c, states[:, i])
        for (regs, post), cubes, after in zip(
            self.external_cols, w.external_cubes, w.external_post, strict=True
        ):
            for i, c in enumerate(regs):
                put(c, cubes[:, i])
            for i, c in enumerate(post):
                put(c, after[:, i])
        for (reg, y_col), cube, y in zip(
            self.partial_cols, w.partial_cubes, w.partial_out, strict=True
        ):
            if reg is not None:
                put(reg, cube)
            put(y_col, y)
        # a copy: the last round's states are a view of every round's (rounds x n x t), which
        # a caller keeping the outputs (a batch's leaves) would otherwise keep alive
        return w.external_post[-1].copy()


class Poseidon2Air(Air):
    """n Poseidon2 permutations, one per row, with the gadget; the inputs are private and, for
    each row in `public_outputs`, the first entries of that row's output equal the given public
    values (boundary constraints). Columns: the gadget's (input columns included)."""

    def __init__(
        self,
        trace_len: int,
        width: int = 16,
        public_outputs: Mapping[int, Sequence[int]] | None = None,
        *,
        sbox_registers: bool = True,
    ):
        super().__init__(trace_len)
        self.gadget = Poseidon2Gadget(0, width, sbox_registers=sbox_registers)
        self.width = width
        self.name = f"poseidon2-babybear-w{width}" + ("" if sbox_registers else "-noreg")
        self.main_width = self.gadget.num_columns
        self.public_outputs = {
            int(row): tuple(int(v) % P for v in values)
            for row, values in sorted((public_outputs or {}).items())
        }
        for row, values in self.public_outputs.items():
            if not 0 <= row < trace_len or not 1 <= len(values) <= width:
                raise ValueError(f"public output for row {row} is outside the trace or too long")

    def transition_constraints(self) -> list[TransitionConstraint]:
        return self.gadget.transition_constraints()

    def evaluate_transition(self, f: Frame) -> list:
        return self.gadget.constraints(f.main)

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        return [
            BoundaryConstraint(self.gadget.output_cols[i], row, v)
            for row, values in self.public_outputs.items()
            for i, v in enumerate(values)
        ]

    def public_inputs(self) -> bytes:
        """Width, register flag, then per public row: row, count and the values."""
        out = [
            struct.pack("<IBI", self.width, self.gadget.sbox_registers, len(self.public_outputs))
        ]
        for row, values in self.public_outputs.items():
            out.append(struct.pack(f"<II{len(values)}I", row, len(values), *values))
        return b"".join(out)


def poseidon2_trace(inputs, *, sbox_registers: bool = True) -> tuple[GF, np.ndarray]:
    """The main trace of Poseidon2Air for inputs (n, t), and the outputs (n, t) uint64."""
    states = as_states(inputs)
    gadget = Poseidon2Gadget(0, states.shape[1], sbox_registers=sbox_registers)
    trace = np.zeros((gadget.num_columns, states.shape[0]), dtype=np.uint64)
    outputs = gadget.fill(trace, states)
    return reduced(trace), outputs


__all__ = [
    "Poseidon2Air",
    "Poseidon2Gadget",
    "external_linear_expr",
    "internal_linear_expr",
    "poseidon2_trace",
]
