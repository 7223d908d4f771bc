"""Polynomials in cells (stark.field.CellPolynomial, CompiledPolynomials): traced from field
code and evaluated by the compiled kernel or its numpy fallback, they give the same field
elements as galois computing the code on the columns directly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stark import field
from stark.field import GF, HAVE_NUMBA, CellPolynomial, Cells, CompiledPolynomials, P, reduced

# programs over 4 cells: ("cell", i), ("const", c), (op, a, b) on earlier results
OPS = ("+", "-", "*", "neg", "rconst")


def _run(program: list, cells, constants: list[int]):
    values = []
    for step in program:
        kind = step[0]
        if kind == "cell":
            values.append(cells[step[1]])
        elif kind == "const":
            values.append(GF(constants[step[1]]))
        else:
            a, b = values[step[1] % len(values)], values[step[2] % len(values)]
            if kind == "+":
                values.append(a + b)
            elif kind == "-":
                values.append(a - b)
            elif kind == "*":
                values.append(a * b)
            elif kind == "neg":
                values.append(-a)
            else:  # a constant on the left: numpy must defer to the polynomial
                values.append(GF(constants[step[1] % len(constants)]) - a)
    return values


def _degree(program: list) -> list[int]:
    degrees = []
    for step in program:
        if step[0] == "cell":
            degrees.append(1)
        elif step[0] == "const":
            degrees.append(0)
        else:
            a, b = degrees[step[1] % len(degrees)], degrees[step[2] % len(degrees)]
            degrees.append(a + b if step[0] == "*" else max(a, b) if step[0] in "+-" else a)
    return degrees


programs = st.lists(
    st.one_of(
        st.tuples(st.just("cell"), st.integers(0, 3)),
        st.tuples(st.just("const"), st.integers(0, 2)),
        st.tuples(st.sampled_from(OPS), st.integers(0, 99), st.integers(0, 99)),
    ),
    min_size=1,
    max_size=25,
).filter(lambda prog: prog[0][0] in ("cell", "const"))


@settings(max_examples=60, deadline=None)
@given(
    program=programs,
    constants=st.lists(st.integers(0, P - 1), min_size=3, max_size=3),
    n=st.sampled_from([1, 5, 600, 1 << 15]),
    seed=st.integers(0, 2**32 - 1),
    numpy_path=st.booleans(),
    in_place=st.integers(0, 4),
)
def test_traced_polynomials_evaluate_as_the_code(program, constants, n, seed, numpy_path, in_place):
    keep = [v for v, d in zip(range(len(program)), _degree(program), strict=True) if d <= 3]
    columns = reduced(np.random.default_rng(seed).integers(0, P, (4, n), dtype=np.uint32))
    direct = _run(program, columns, constants)
    traced = _run(program, Cells(10), constants)
    # cells 10 .. 10 + in_place - 1 are read in place from main (a view with a row stride of
    # its own, as the prover's trace chunks), the others from extra
    split = 10 + in_place if in_place else 0
    polys = CompiledPolynomials([traced[i] for i in keep], direct=split)
    main = np.zeros((10 + in_place, n + 3), dtype=np.uint32)[:, 1 : n + 1]
    main[10:] = columns[:in_place]
    extra = np.zeros((len(polys.extra_cells), n), dtype=np.uint32)
    for i, c in enumerate(polys.extra_cells):
        extra[i] = columns[c - 10]
    saved = field.HAVE_NUMBA
    field.HAVE_NUMBA = saved and not numpy_path
    try:
        got = polys.evaluate(main, extra)
    finally:
        field.HAVE_NUMBA = saved
    for row, i in zip(got, keep, strict=True):
        want = np.broadcast_to(np.asarray(direct[i]), (n,))
        assert np.array_equal(row, want)


def test_monomials_beyond_the_kernel_are_refused():
    x = Cells(0)
    with pytest.raises(ValueError, match="at most"):
        CompiledPolynomials([x[0] * x[1] * x[2] * x[3]])


def test_polynomial_arithmetic_collects_terms():
    x = Cells(0)
    p = (x[0] + 1) * (x[0] - 1) - x[0] * x[0]
    assert p.terms == {(): P - 1}
    assert (GF(3) * x[1] - x[1] * 3).terms == {}
    assert isinstance(GF(2) + x[0], CellPolynomial)


@pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled kernels need numba")
def test_parallel_and_serial_kernels_agree():
    rng = np.random.default_rng(4)
    x = Cells(0)
    polys = CompiledPolynomials([x[0] * x[1] * x[2] + 5 * x[3] - 7, x[1] * x[1]])
    rows = rng.integers(0, P, (4, 1 << 16), dtype=np.uint32)
    empty = np.zeros((0, 1 << 16), dtype=np.uint32)
    out = polys.evaluate(empty, rows)
    small = polys.evaluate(empty[:, :100], rows[:, :100])
    assert np.array_equal(out[:, :100], small)
