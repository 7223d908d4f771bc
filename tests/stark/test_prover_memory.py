"""The prover's memory discipline: what it holds and for how long changes no proof byte."""

import numpy as np

from stark import prover as prover_module
from stark.examples import RangeCheckAir, WideAir, range_check_trace, wide_trace
from stark.field import GF, ExtensionField, P, reduced
from stark.poly import evaluate_at, evaluate_from_subgroup, interpolate, vanishing_quotient
from stark.prover import (
    COMPOSITION_CHUNK,
    COMPOSITION_MIN_CHUNK,
    TracePolynomials,
    composition_chunk,
    hide,
    prove,
)
from stark.randomness import ProverRandomness


def test_composition_chunks_shrink_as_the_trace_widens():
    """Points per chunk: a power of two with width * points within the budget, clamped."""
    assert composition_chunk(2_353) == 8_192  # 16,384 users x 22 assets (main + aux)
    assert composition_chunk(18_838) == 4_096  # 200 assets (the floor)
    assert composition_chunk(1) == COMPOSITION_CHUNK
    assert composition_chunk(10**9) == COMPOSITION_MIN_CHUNK
    for width in (3, 100, 1_000, 5_000, 40_000):
        chunk = composition_chunk(width)
        assert chunk & (chunk - 1) == 0


def test_the_width_budget_does_not_change_the_proof(quick_params, monkeypatch):
    """A budget that cuts the domain into many short chunks gives the same proof, for a trace
    with and without auxiliary columns."""
    cases = [
        (WideAir(256, 6), wide_trace(256, 6)),
        (RangeCheckAir(256, 4), range_check_trace(np.arange(256) % 16, 4)),
    ]
    for air, trace in cases:
        whole = prove(air, trace, quick_params, seed=5).to_bytes()
        monkeypatch.setattr(prover_module, "COMPOSITION_WORDS", 64)
        monkeypatch.setattr(prover_module, "COMPOSITION_MIN_CHUNK", 8)
        assert prove(air, trace, quick_params, seed=5).to_bytes() == whole
        monkeypatch.undo()


def test_a_field_trace_is_not_copied(quick_params, monkeypatch):
    """prove() reads a trace given as field elements in place (no range-checked copy of the
    whole trace) and proves the same as from plain integers."""
    air, trace = WideAir(64, 4), wide_trace(64, 4)
    field_trace = GF(np.asarray(trace))
    calls = []
    real = prover_module.interpolate
    monkeypatch.setattr(prover_module, "interpolate", lambda v: calls.append(v) or real(v))
    proof = prove(air, field_trace, quick_params, seed=2).to_bytes()
    assert np.shares_memory(calls[0], field_trace)
    assert prove(air, np.asarray(trace, dtype=np.int64), quick_params, seed=2).to_bytes() == proof


def test_barycentric_values_match_the_coefficients():
    """evaluate_from_subgroup(values, z) is evaluate_at(interpolate(values), z), for any size."""
    z = ExtensionField(5).random((), seed=3)
    for n in (1, 2, 8, 256):
        values = reduced(np.random.default_rng(n).integers(0, P, (3, n)).astype(np.uint32))
        assert evaluate_from_subgroup(values, z) == evaluate_at(interpolate(values), z)


def test_trace_polynomials_need_only_the_values_and_the_mask():
    """From the hidden coefficients of T = t + (X^n - 1) r (`hide`), vanishing_quotient finds
    r, and TracePolynomials gives T(z) from t's values and r, also when r has more
    coefficients than the trace has rows (small traces)."""
    rng = np.random.default_rng(0)
    for n, h in [(8, 0), (8, 3), (8, 8), (8, 13), (8, 24), (4, 41)]:
        values = reduced(rng.integers(0, P, (3, n)).astype(np.uint32))
        hidden = hide(interpolate(values), h, ProverRandomness(n + h))
        assert vanishing_quotient(hidden, n).shape == (3, h)
        z = ExtensionField(5).random((), seed=h)
        assert TracePolynomials.of(values, hidden).at(z) == evaluate_at(hidden, z)


def test_zeros_on_small_pages_are_ordinary_arrays():
    """Small and large (mapped) buffers alike: zeros, writable, C-contiguous uint32, and the
    transforms into them compute what they computed before."""
    from stark import ntt

    for shape in ((3, 5), (4, ntt.SMALL_PAGES_MIN_BYTES // 8)):
        a = ntt.zeros_on_small_pages(shape)
        assert a.shape == shape and a.dtype == np.uint32 and a.flags["C_CONTIGUOUS"]
        assert not a.any()
        a[:] = 7
        assert int(a.sum()) == 7 * a.size
    rows = reduced(np.random.default_rng(1).integers(0, P, (2, 1 << 12)).astype(np.uint32))
    big = ntt.forward(rows, 1 << 20)  # 8 MB of output: a mapped buffer
    assert np.array_equal(ntt.inverse(big)[:, : 1 << 12], rows)
    assert not np.asarray(ntt.inverse(big)[:, 1 << 12 :]).any()
