"""The compiled Poseidon2 permutation (`permute`, `hash_elements`, `compress`) against the numpy
reference (`permute_reference`, `hash_elements_reference`, `compress_reference`): equal on
random inputs at both widths, serial and parallel kernels alike, and through the Merkle tree of
the leaves."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import poseidon2
from circuits.poseidon2 import (
    compress,
    compress_reference,
    hash_elements,
    hash_elements_reference,
    params,
    permute,
    permute_reference,
)
from stark.field import GF, PARALLEL_MIN_ELEMENTS, P


def random_states(rng, n: int, width: int) -> np.ndarray:
    states = rng.integers(0, P, (n, width), dtype=np.int64)
    if n:
        states[0] = P - 1  # extreme values
        states[-1] = 0
    return states


@settings(max_examples=20, deadline=None)
@given(
    width=st.sampled_from([16, 24]),
    n=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
)
def test_permute_equals_reference(width, n, seed):
    states = random_states(np.random.default_rng(seed), n, width)
    assert np.array_equal(permute(states), permute_reference(states))
    assert np.array_equal(permute(GF(states)), permute_reference(GF(states)))


@pytest.mark.parametrize("width", [16, 24])
def test_serial_and_parallel_kernels_equal_reference(width):
    """A batch past PARALLEL_MIN_ELEMENTS (the parallel kernel, blocks of 1024 states and a
    partial one) and the serial kernel on the same states."""
    rng = np.random.default_rng(width)
    n = PARALLEL_MIN_ELEMENTS // width + 1500
    states = random_states(rng, n, width).astype(np.uint64)
    constants = poseidon2._compiled_constants(width)
    serial, parallel = states.copy(), states.copy()
    poseidon2._permute_rows_serial(serial, *constants)
    poseidon2._permute_rows_parallel(parallel, *constants)
    expected = permute_reference(states)
    assert np.array_equal(serial, expected)
    assert np.array_equal(parallel, expected)
    assert np.array_equal(permute(states), expected)


@pytest.mark.parametrize("width", [16, 24])
def test_known_answers_compiled(width):
    for inp, out in params(width).test_vectors:
        assert permute(np.array(inp, dtype=np.int64)).tolist() == list(out)


@settings(max_examples=20, deadline=None)
@given(
    width=st.sampled_from([16, 24]),
    n=st.integers(1, 40),
    length=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
)
def test_hash_elements_equals_reference(width, n, length, seed):
    inputs = random_states(np.random.default_rng(seed), n, length)
    assert np.array_equal(hash_elements(inputs, width), hash_elements_reference(inputs, width))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_compress_equals_reference(n, seed):
    rng = np.random.default_rng(seed)
    left, right = random_states(rng, n, 8), random_states(rng, n, 8)
    assert np.array_equal(compress(left, right), compress_reference(left, right))
    as_gf = compress(GF(left), GF(right))
    assert isinstance(as_gf, GF)
    assert np.array_equal(np.asarray(as_gf), compress_reference(left, right))


def test_large_compression_batch_equals_reference():
    """A whole tree level's worth of compressions (parallel kernel)."""
    rng = np.random.default_rng(5)
    left, right = random_states(rng, 5000, 8), random_states(rng, 5000, 8)
    assert np.array_equal(compress(left, right), compress_reference(left, right))


def test_compiled_refuses_what_the_reference_refuses():
    with pytest.raises(ValueError):
        permute(np.zeros((2, 12), dtype=np.int64))
    with pytest.raises(ValueError):
        hash_elements(np.array([[P]]))
    with pytest.raises(ValueError):
        compress(np.zeros((2, 8), dtype=np.int64), np.zeros((3, 8), dtype=np.int64))


@pytest.mark.parametrize("width", [16, 24])
def test_permutation_witness_equals_reference(width):
    """Every intermediate value the gadget commits, compiled and by the numpy reference."""
    states = random_states(np.random.default_rng(width + 1), 300, width)
    compiled = poseidon2.permutation_witness(states, width)
    reference = poseidon2.permutation_witness_reference(states, width)
    for name in ("external_cubes", "external_post", "partial_cubes", "partial_out"):
        mine, theirs = getattr(compiled, name), getattr(reference, name)
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b), name
