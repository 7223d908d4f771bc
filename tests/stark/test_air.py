"""The prover's self-check, Air.find_violation: the lowest violated transition constraint at its
first row, else the first violated boundary constraint; the same answer for any chunk size."""

import struct

import numpy as np
import pytest

import stark.air
from stark.air import Air, Frame, TransitionConstraint, _nonzero_rows
from stark.examples import (
    FibonacciAir,
    MimcAir,
    RangeCheckAir,
    WideAir,
    fibonacci_trace,
    mimc_trace,
    range_check_trace,
    wide_trace,
)
from stark.field import GF, ExtArray, ExtensionField, P

CHUNKS = [1, 4, 16, 1 << 13]


class CounterAir(Air):
    """One column counting 0, 1, ..., n-1: x' = x + 1, which fails only across the wrap (row
    n-1 to row 0), so it is violated exactly when declared with all_rows."""

    name = "counter"

    def __init__(self, trace_len: int, all_rows: bool):
        super().__init__(trace_len)
        self.all_rows = all_rows

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [TransitionConstraint(1, all_rows=self.all_rows)]

    def evaluate_transition(self, f: Frame) -> list:
        return [f.main_next[0] - f.main[0] - GF(1)]

    def public_inputs(self) -> bytes:
        return struct.pack("<?", self.all_rows)


def reference_violation(air: Air, main: GF, aux: ExtArray | None, challenges) -> tuple | None:
    """find_violation as it was: every constraint on the whole trace at once, np.roll for the
    next rows."""
    n = air.trace_len
    frame = Frame(
        main=main,
        main_next=np.roll(main, -1, axis=1),
        aux=aux,
        aux_next=None if aux is None else ExtArray(aux.field, np.roll(aux.coords, -1, axis=2)),
        periodic=[GF(np.tile(np.asarray(c) % P, n // len(c))) for c in air.periodic_columns()],
        challenges=challenges,
    )
    values = air.evaluate_transition(frame)
    for i, (spec, value) in enumerate(zip(air.transition_constraints(), values, strict=True)):
        rows = _nonzero_rows(value, n)
        rows = rows if spec.all_rows else rows[rows != n - 1]
        if len(rows):
            return f"transition constraint {i}", int(rows[0])
    return "boundaries"


def check(air, main, aux=None, challenges=None, chunks=CHUNKS):
    """find_violation's answer, the same for every chunk size."""
    answers = set()
    for chunk in chunks:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(stark.air, "CHECK_CHUNK", chunk)
            answers.add(air.find_violation(main, aux, challenges))
    assert len(answers) == 1, answers
    return answers.pop()


def corrupted(trace: GF, cells: list[tuple[int, int]], seed: int) -> GF:
    cells_ = np.asarray(trace).copy()
    rng = np.random.default_rng(seed)
    for column, row in cells:
        cells_[column, row] = (int(cells_[column, row]) + int(rng.integers(1, P))) % P
    return GF(cells_)


def test_honest_traces_pass():
    n = 64
    fib, result = fibonacci_trace(n)
    assert check(FibonacciAir(n, result), fib) is None
    mimc, out = mimc_trace(n, 5)
    assert check(MimcAir(n, 5, out), mimc) is None
    assert check(WideAir(n, 5), wide_trace(n, 5)) is None
    assert check(CounterAir(n, all_rows=False), GF(np.arange(n)[None])) is None


def test_first_row():
    n = 64
    trace, result = fibonacci_trace(n)
    bad = corrupted(trace, [(0, 1)], seed=1)  # a_1 != b_0: the first transition, on row 0
    assert check(FibonacciAir(n, result), bad) == ("transition constraint 0", 0)


def test_last_row_across_the_wrap():
    n = 64
    trace = GF(np.arange(n)[None])
    assert check(CounterAir(n, all_rows=True), trace) == ("transition constraint 0", n - 1)


def test_last_row_of_a_one_row_chunk():
    """The last row's next row is row 0 even when the last chunk is that row alone."""
    trace = GF(np.arange(8)[None])
    assert check(CounterAir(8, all_rows=True), trace, chunks=[1, 7, 8]) == (
        "transition constraint 0",
        7,
    )


def test_boundary_constraints():
    n = 64
    trace, result = fibonacci_trace(n)
    found = check(FibonacciAir(n, result + 1), trace)
    assert found[0].startswith("boundary constraint") and "column=1, row=63" in found[0]
    assert found[1] == n - 1


def test_auxiliary_segment():
    """RangeCheckAir's LogUp column shifted by a constant keeps every difference s' - s (even
    across the wrap) and breaks only the auxiliary boundary s_0 = 0; a value outside the table
    breaks the transition on its row."""
    n, bits = 64, 3
    air = RangeCheckAir(n, bits)
    main = range_check_trace(np.random.default_rng(1).integers(0, 1 << bits, n), bits)
    ext = ExtensionField(4)
    challenges = ext.random((1,), seed=2)
    aux = air.build_aux_trace(main, challenges)
    assert check(air, main, aux, challenges) is None
    shifted = ExtArray(ext, aux.coords + ext.random((1, 1), seed=3).coords)
    found = check(air, main, shifted, challenges)
    assert found[0].startswith("boundary constraint") and "aux=True" in found[0]
    assert found[1] == 0
    wrong = main.copy()
    wrong[0, 5] = GF((1 << bits) + 1)  # outside the table: the lookup fails
    assert check(air, wrong, aux, challenges) == ("transition constraint 0", 5)


@pytest.mark.parametrize("seed", range(12))
def test_same_answer_as_the_whole_trace_at_once(seed):
    """Random corruptions of WideAir (several constraints, so a lower constraint at a later
    row must win over a higher one at an earlier row) and of MimcAir (a periodic column)."""
    rng = np.random.default_rng(seed)
    n, width = 64, 6
    cells = [(int(rng.integers(width)), int(rng.integers(n))) for _ in range(rng.integers(1, 4))]
    wide = WideAir(n, width)
    bad = corrupted(wide_trace(n, width), cells, seed)
    expected = reference_violation(wide, bad, None, None)
    found = check(wide, bad)
    assert found == expected or (expected == "boundaries" and found[0].startswith("boundary"))
    mimc, out = mimc_trace(n, 9)
    air = MimcAir(n, 9, out)
    bad = corrupted(mimc, [(0, int(rng.integers(1, n - 1)))], seed)
    assert check(air, bad) == reference_violation(air, bad, None, None)


def test_a_lower_constraint_in_a_later_chunk_wins():
    n, width = 64, 6
    air = WideAir(n, width)
    trace = np.asarray(wide_trace(n, width)).copy()
    trace[5, 2] = (int(trace[5, 2]) + 1) % P  # constraint 4 breaks on row 1
    trace[0, 40] = (int(trace[0, 40]) + 1) % P  # constraint 0 breaks on row 39
    assert check(air, GF(trace)) == ("transition constraint 0", 39)


def test_a_wrong_number_of_values_is_an_error():
    class Short(CounterAir):
        def evaluate_transition(self, f: Frame) -> list:
            return []

    with pytest.raises(ValueError, match="0 constraint values for 1 declared"):
        Short(8, all_rows=False).find_violation(GF(np.arange(8)[None]), None, None)
