"""The prover's DEEP polynomial from the trace domain (deep_coefficients) takes, on every LDE
point, exactly the values of the pointwise DEEP combination of the committed LDEs
(deep_combination, which the verifier computes at the queried points)."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stark import fri
from stark import prover as prover_module
from stark.examples import (
    FibonacciAir,
    RangeCheckAir,
    WideAir,
    fibonacci_trace,
    range_check_trace,
    wide_trace,
)
from stark.field import (
    GF,
    ExtArray,
    ExtensionField,
    P,
    inverse_of_difference,
    reduced,
    root_of_unity,
)
from stark.poly import (
    COSET_SHIFT,
    TracePolynomials,
    coset_points,
    divide_by_linear,
    evaluate_at,
    evaluate_coset,
    interpolate,
)
from stark.protocol import (
    OodValues,
    combine_ext_columns,
    deep_coefficients,
    deep_combination,
)
from tests.quick import QUICK


def _random(rng: np.random.Generator, shape: tuple[int, ...]) -> GF:
    return reduced(rng.integers(0, P, shape, dtype=np.uint32))


def _hidden(values: GF, mask: GF) -> GF:
    """Coefficients of t + (X^n - 1) r (t given by its values on <w_n>), as `hide` forms them."""
    n, h = values.shape[1], mask.shape[1]
    out = np.zeros((values.shape[0], n + h), dtype=np.uint64)
    out[:, :n] = np.asarray(interpolate(values))
    out[:, n:] += np.asarray(mask)
    out[:, :h] += P - np.asarray(mask, dtype=np.uint64)
    return reduced(out % P)


def _trace_at(main: TracePolynomials, aux: TracePolynomials | None, point, ext) -> ExtArray:
    values = main.at(point)
    if aux is None:
        return values
    aux_values = combine_ext_columns(aux.at(point), ext)
    return ExtArray(ext, GF(np.concatenate([values.coords, aux_values.coords], axis=1)))


@settings(max_examples=40, deadline=None)
@given(
    k=st.sampled_from([4, 5]),
    log_n=st.integers(0, 6),
    hiding=st.integers(0, 70),
    main_width=st.integers(1, 4),
    aux_width=st.integers(0, 2),
    segments=st.integers(1, 4),
    noise=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_same_values_as_the_pointwise_combination(
    k, log_n, hiding, main_width, aux_width, segments, noise, seed
):
    """Random trace polynomials (masks shorter or longer than n, or none), quotient segments,
    random codeword or none: the DEEP polynomial's coefficients, evaluated on the LDE coset,
    are deep_combination of the LDEs, point for point."""
    rng, ext = np.random.default_rng(seed), ExtensionField(k)
    n = 1 << log_n
    degree_bound = n + hiding
    big_n = 4 * (1 << (degree_bound - 1).bit_length())
    main = TracePolynomials(_random(rng, (main_width, n)), _random(rng, (main_width, hiding)))
    aux = None
    if aux_width:
        aux = TracePolynomials(
            _random(rng, (aux_width * k, n)), _random(rng, (aux_width * k, hiding))
        )
    quotient = _random(rng, ((segments + noise) * k, degree_bound))
    z = ext.random((), seed=rng)
    gz = z * root_of_unity(log_n)
    ood = OodValues(
        trace_z=_trace_at(main, aux, z, ext),
        trace_gz=_trace_at(main, aux, gz, ext),
        quotient_z=combine_ext_columns(evaluate_at(quotient[: segments * k], z), ext),
    )
    width = main_width + aux_width
    gammas = ext.random((2 * width + segments + noise,), seed=rng)

    x = coset_points(COSET_SHIFT, big_n)
    expected = deep_combination(
        gammas,
        evaluate_coset(_hidden(main.values, main.mask), big_n),
        None if aux is None else evaluate_coset(_hidden(aux.values, aux.mask), big_n),
        evaluate_coset(quotient, big_n),
        segments,
        ood,
        inverse_of_difference(x, z),
        inverse_of_difference(x, gz),
    )
    coeffs = deep_coefficients(gammas, main, aux, quotient, segments, z, gz)
    assert coeffs.shape[0] <= degree_bound  # R has degree < D, the quotients < D - 1
    assert ExtArray(ext, evaluate_coset(coeffs.coords, big_n)) == expected


@settings(max_examples=30, deadline=None)
@given(
    k=st.sampled_from([4, 5]),
    length=st.integers(0, 40),
    zero=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_synthetic_division(k, length, zero, seed):
    """q = (F - F(z)) / (X - z): F(x) - F(z) = (x - z) q(x) at a random point x."""
    ext = ExtensionField(k)
    rng = np.random.default_rng(seed)
    f = ext.random((length,), seed=rng)
    z = ext.zeros() if zero else ext.random((), seed=rng)
    x = ext.random((), seed=rng)
    q = divide_by_linear(f, z)
    assert q.shape == (max(length - 1, 0),)

    def at(coeffs: ExtArray, point: ExtArray) -> ExtArray:
        total = ext.zeros()
        for i in reversed(range(coeffs.shape[0])):
            total = total * point + coeffs[i]
        return total

    assert at(f, x) - at(f, z) == (x - z) * at(q, x)


CASES = {
    "fibonacci": lambda: (FibonacciAir(64, fibonacci_trace(64)[1]), fibonacci_trace(64)[0]),
    "wide": lambda: (WideAir(32, 5), wide_trace(32, 5)),
    "lookup": lambda: (RangeCheckAir(64, 4), range_check_trace(np.arange(64) % 16, 4)),
}


@pytest.mark.parametrize("zk", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_prover_commits_the_pointwise_combination(case, zk, monkeypatch):
    """In prove(), FRI's input is deep_combination of the committed LDEs, with and without
    zero knowledge, with and without auxiliary columns."""
    air, trace = CASES[case]()
    params = replace(QUICK, zk=zk)
    seen: dict = {"ldes": []}
    commit_columns, commit = prover_module.commit_columns, fri.commit
    coefficients = prover_module.deep_coefficients

    def record_lde(columns, rng):
        seen["ldes"].append(columns)
        return commit_columns(columns, rng)

    def record_deep(gammas, main, aux, quotient, segments, z, gz):
        seen.update(gammas=gammas, segments=segments, z=z, gz=gz)
        return coefficients(gammas, main, aux, quotient, segments, z, gz)

    def record_ood(**values):
        seen["ood"] = OodValues(**values)
        return seen["ood"]

    def record_fri(deep, *args, **kwargs):
        seen["deep"] = deep
        return commit(deep, *args, **kwargs)

    monkeypatch.setattr(prover_module, "commit_columns", record_lde)
    monkeypatch.setattr(prover_module, "deep_coefficients", record_deep)
    monkeypatch.setattr(prover_module, "OodValues", record_ood)
    monkeypatch.setattr(fri, "commit", record_fri)
    prover_module.prove(air, trace, params, seed=3)

    ldes = seen["ldes"]
    x = coset_points(COSET_SHIFT, ldes[0].shape[1])
    expected = deep_combination(
        seen["gammas"],
        ldes[0],
        ldes[1] if air.aux_width else None,
        ldes[-1],
        seen["segments"],
        seen["ood"],
        inverse_of_difference(x, seen["z"]),
        inverse_of_difference(x, seen["gz"]),
    )
    assert len(ldes) == 2 + bool(air.aux_width)
    assert seen["deep"] == expected
