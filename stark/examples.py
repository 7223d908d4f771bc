"""Small AIRs that show the interface and exercise every feature of the prover: a Fibonacci
sequence (boundary constraints, degree 1), a MiMC-like chain with round constants (a periodic
column, degree 3), a LogUp range check (a second, extension-field trace segment built from
a verifier challenge), and a wide synthetic AIR for benchmarks. Each comes with a function
that builds a valid trace.
"""

from __future__ import annotations

import struct

import numpy as np

from stark.air import Air, BoundaryConstraint, Frame, TransitionConstraint
from stark.field import GF, ExtArray, P


class FibonacciAir(Air):
    """Columns (a, b): a' = b, b' = a + b; a_0 = b_0 = 1 and b_{n-1} = result (public)."""

    name = "fibonacci"
    main_width = 2

    def __init__(self, trace_len: int, result: int):
        super().__init__(trace_len)
        self.result = result % P

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [TransitionConstraint(1), TransitionConstraint(1)]

    def evaluate_transition(self, f: Frame) -> list:
        a, b = f.main[0], f.main[1]
        return [f.main_next[0] - b, f.main_next[1] - a - b]

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        n = self.trace_len
        return [
            BoundaryConstraint(0, 0, 1),
            BoundaryConstraint(1, 0, 1),
            BoundaryConstraint(1, n - 1, self.result),
        ]

    def public_inputs(self) -> bytes:
        return struct.pack("<I", self.result)


def fibonacci_trace(n: int) -> tuple[GF, int]:
    a, b = [1], [1]
    for _ in range(n - 1):
        a.append(b[-1])
        b.append((a[-2] + b[-1]) % P)
    return GF([a, b]), b[-1]


MIMC_ROUNDS = 8


def mimc_constants() -> list[int]:
    return [(7 ** (i + 3) + 13 * i) % P for i in range(MIMC_ROUNDS)]


class MimcAir(Air):
    """One column x: x' = x^3 + k_i with k a periodic column of 8 round constants;
    x_0 = seed and x_{n-1} = output are public."""

    name = "mimc"
    main_width = 1

    def __init__(self, trace_len: int, seed: int, output: int):
        super().__init__(trace_len)
        self.seed, self.output = seed % P, output % P

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [TransitionConstraint(3)]

    def evaluate_transition(self, f: Frame) -> list:
        x = f.main[0]
        return [f.main_next[0] - x * x * x - f.periodic[0]]

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        return [
            BoundaryConstraint(0, 0, self.seed),
            BoundaryConstraint(0, self.trace_len - 1, self.output),
        ]

    def periodic_columns(self) -> list[list[int]]:
        return [mimc_constants()]

    def public_inputs(self) -> bytes:
        return struct.pack("<II", self.seed, self.output)


def mimc_trace(n: int, seed: int) -> tuple[GF, int]:
    ks = mimc_constants()
    xs = [seed % P]
    for i in range(n - 1):
        xs.append((pow(xs[-1], 3, P) + ks[i % MIMC_ROUNDS]) % P)
    return GF([xs]), xs[-1]


class RangeCheckAir(Air):
    """Every value in column v lies in [0, 2^bits), by a LogUp lookup into the table column
    T_i = i mod 2^bits (periodic). Column m holds, on row i, how often T_i's value occurs in v
    (counted on the first table cycle only).

    Auxiliary column s (extension field), with challenge alpha, on every row cyclically:
        (s' - s)(alpha - v)(alpha - T) = (alpha - T) - m (alpha - v)        (degree 3)
    i.e. s' - s = 1/(alpha - v) - m/(alpha - T). Summed around the cycle the left side
    telescopes to 0, so sum_i 1/(alpha - v_i) = sum_i m_i/(alpha - T_i): a rational-function
    identity that, for random alpha, forces every v_i to be a table value (n < p, so the
    multiplicities cannot wrap). s_0 = 0 pins the free constant.
    """

    name = "range-check"
    main_width = 2
    aux_width = 1
    num_aux_challenges = 1

    def __init__(self, trace_len: int, bits: int):
        super().__init__(trace_len)
        if (1 << bits) > trace_len:
            raise ValueError("the table must fit in the trace")
        self.bits = bits

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [TransitionConstraint(3, all_rows=True)]

    def evaluate_transition(self, f: Frame) -> list:
        alpha = f.challenges[0]
        v, m, t = f.main[0], f.main[1], f.periodic[0]
        s, s_next = f.aux[0], f.aux_next[0]
        return [(s_next - s) * (alpha - v) * (alpha - t) - (alpha - t) + m * (alpha - v)]

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        return [BoundaryConstraint(0, 0, 0, aux=True)]

    def periodic_columns(self) -> list[list[int]]:
        return [list(range(1 << self.bits))]

    def public_inputs(self) -> bytes:
        return struct.pack("<I", self.bits)

    def lookup_fractions(self) -> int:
        """n looked-up values, and the table's 2^bits distinct entries."""
        return self.trace_len + (1 << self.bits)

    def build_aux_trace(self, main: GF, challenges: ExtArray) -> ExtArray:
        alpha = challenges[0]
        n = self.trace_len
        table = GF(np.arange(n) % (1 << self.bits))
        step = (alpha - main[0]).inverse() - (alpha - table).inverse() * main[1]
        # s_i = sum_{j<i} step_j: a prefix sum (s_0 = 0)
        coords = np.asarray(step.coords, dtype=np.uint64)
        prefix = np.cumsum(coords, axis=1) % P  # exact: n * 2^31 < 2^64
        s = np.zeros_like(prefix)
        s[:, 1:] = prefix[:, :-1]
        return ExtArray(alpha.field, GF(s).reshape(alpha.field.degree, 1, n))


def range_check_trace(values: list[int] | np.ndarray, bits: int) -> GF:
    """Main trace (v, m) for values of length n (a power of two) in [0, 2^bits)."""
    v = np.asarray(values, dtype=np.int64)
    counts = np.bincount(v % (1 << bits), minlength=1 << bits)
    m = np.zeros(len(v), dtype=np.int64)
    m[: 1 << bits] = counts
    return GF(np.stack([v % P, m]))


class WideAir(Air):
    """A synthetic AIR of `width` columns with degree-3 transitions, for benchmarks:
    x_0' = x_0 + 1, x_1' = x_1 + x_0, and x_j' = x_j + x_{j-1} x_{j-2}^2 for j >= 2;
    x_j starts at j."""

    name = "wide"

    def __init__(self, trace_len: int, width: int):
        super().__init__(trace_len)
        if width < 3:
            raise ValueError("width must be at least 3")
        self.main_width = width

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [TransitionConstraint(1), TransitionConstraint(1)] + [
            TransitionConstraint(3) for _ in range(self.main_width - 2)
        ]

    def evaluate_transition(self, f: Frame) -> list:
        x, y = f.main, f.main_next
        out = [y[0] - x[0] - GF(1), y[1] - x[1] - x[0]]
        out += [y[j] - x[j] - x[j - 1] * x[j - 2] * x[j - 2] for j in range(2, self.main_width)]
        return out

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        return [BoundaryConstraint(j, 0, j) for j in range(self.main_width)]

    def public_inputs(self) -> bytes:
        return struct.pack("<I", self.main_width)


def wide_trace(n: int, width: int) -> GF:
    """Each column is its start value plus a prefix sum of the previous columns' products:
    vectorised per column, no loop over rows."""
    cols = [GF(np.arange(n) % P)]
    for j in range(1, width):
        inc = cols[0] if j == 1 else cols[j - 1] * cols[j - 2] * cols[j - 2]
        running = np.cumsum(np.asarray(inc, dtype=np.uint64))  # exact: n * 2^31 < 2^64
        prefix = np.concatenate([np.zeros(1, np.uint64), running[:-1]])
        cols.append(GF((prefix + j) % P))
    return GF(np.stack(cols))
