"""The prover's memory discipline: what it holds and for how long changes no proof byte."""

import numpy as np

from stark import prover as prover_module
from stark.examples import RangeCheckAir, WideAir, range_check_trace, wide_trace
from stark.prover import (
    COMPOSITION_CHUNK,
    COMPOSITION_MIN_CHUNK,
    composition_chunk,
    prove,
)


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
