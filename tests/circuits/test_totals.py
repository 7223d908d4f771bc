"""The reference commitment to a batch's totals (circuits/totals.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.poseidon2 import permute
from circuits.totals import (
    commitment_states,
    new_blinding,
    offset_totals,
    sponge_iv,
    total_chunks,
    totals_commitment,
)
from stark.randomness import ProverRandomness

totals = st.lists(st.integers(0, (1 << 81) - 1), min_size=1, max_size=6)


@given(totals)
def test_chunks_recompose(values):
    chunks = total_chunks(values)
    assert chunks.max() < 1 << 27
    for t, row in zip(values, chunks, strict=True):
        assert sum(int(c) << (27 * i) for i, c in enumerate(row)) == t


def test_offset_totals_are_nonnegative():
    assert offset_totals([-(1 << 63) * 512], 512) == [0]
    with pytest.raises(ValueError):
        total_chunks([-1])
    with pytest.raises(ValueError):
        total_chunks([1 << 108])


def test_the_sponge_step_by_step():
    """The commitment is the chain of permutations the docstring describes, written out."""
    t, r = [5, (1 << 80) + 7], new_blinding(ProverRandomness(1))
    state = sponge_iv(2)
    for row in total_chunks(t):
        state[:4] = (state[:4] + row) % (15 * 2**27 + 1)
        state = permute(state)
    state[:8] = (state[:8] + r) % (15 * 2**27 + 1)
    assert np.array_equal(permute(state)[:8], totals_commitment(t, r))
    assert len(commitment_states(t, r)) == 3


@settings(max_examples=25)
@given(totals, st.integers(0, 5), st.integers(1, 1 << 20))
def test_binding_and_hiding(values, which, delta):
    r = new_blinding(ProverRandomness(7))
    base = totals_commitment(values, r)
    changed = list(values)
    changed[which % len(values)] = (changed[which % len(values)] + delta) % (1 << 81)
    if changed != values:
        assert not np.array_equal(totals_commitment(changed, r), base)
    assert not np.array_equal(totals_commitment(values, new_blinding(ProverRandomness(8))), base)
    assert not np.array_equal(totals_commitment([*values, 0], r), base)  # K is in the IV
