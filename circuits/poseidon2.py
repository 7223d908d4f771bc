"""Poseidon2 over BabyBear: the reference permutation, a sponge hash and a 2-to-1 compression.

The reference permutation (`_permute`, `permute_reference`, and the gadget's witness) is plain
numpy, vectorised over a batch of states (loops run over rounds, never over states); `permute`,
`hash_elements` and `compress` run a numba-compiled permutation state by state
(`_permute_compiled`), tested equal to the reference (`hash_elements_reference`,
`compress_reference`) on random inputs. Both are exact: every product of two reduced elements
is below 2^62, so uint64 arithmetic followed by `% p` never overflows. The AIR gadget that
proves the same permutation is in `circuits/poseidon2_air.py`; docs/poseidon2.md describes both.

Parameters: `circuits/data/poseidon2_babybear.json`, a copy of the shared reference vectors
(the parameter set Plonky3 ships as its BabyBear default: S-box x^7, 8 external rounds, 13
partial rounds at width 16 and 21 at width 24). The permutation, all arithmetic mod p:

1. the external linear layer M_E once;
2. 4 external rounds: add the round's constants to every element, x -> x^7 on every element, M_E;
3. the partial rounds: add the round's constant to element 0, x -> x^7 on element 0 only, M_I;
4. 4 external rounds as in 2, with the final constants.

M_E multiplies each block of 4 elements by m4 = [[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]], then
adds to element i the sum of the (i mod 4)-th elements of all blocks. M_I maps x_i to
S + d_i x_i, with S the sum of all elements and d the internal diagonal.

Hashing (both with capacity CAPACITY = 8 elements, about 248 bits, so about 124 bits against
collisions and second preimages; docs/poseidon2.md):
  * `hash_elements(inputs, width)`: a fixed-length sponge. The capacity starts as
    (m, 0, ..., 0), m the number of input elements; the input is absorbed by adding rate-sized
    chunks to the first `width - 8` elements (the last chunk zero-padded), with one permutation
    after each chunk; the digest is the first 8 elements of the final state.
  * `compress(left, right)`: a 2-to-1 compression for Merkle nodes, the width-16 permutation in
    feed-forward mode: the first 8 elements of P(left || right) + (left || right), i.e.
    P(left || right)[:8] + left.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from stark.field import GF, PARALLEL_MIN_ELEMENTS, P, reduced
from stark.jit import HAVE_NUMBA, njit, prange

WIDTHS = (16, 24)
SBOX_DEGREE = 7
HALF_EXTERNAL_ROUNDS = 4  # external rounds before and after the partial rounds
CAPACITY = 8  # sponge capacity, in field elements
DIGEST = 8  # digest length, in field elements
M4 = ((2, 3, 1, 1), (1, 2, 3, 1), (1, 1, 2, 3), (3, 1, 1, 2))
DATA_FILE = "poseidon2_babybear.json"

_P = np.uint64(P)


@dataclass(frozen=True)
class Poseidon2Params:
    """The constants of one width, as reduced uint64 arrays.

    external_initial, external_final: (4, width) round constants of the external rounds before
    and after the partial rounds; internal: (partial_rounds,) constants added to element 0;
    diagonal: (width,) the internal layer's d_i; test_vectors: (input, output) pairs.
    """

    width: int
    external_initial: np.ndarray
    internal: np.ndarray
    external_final: np.ndarray
    diagonal: np.ndarray
    test_vectors: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]

    @property
    def partial_rounds(self) -> int:
        return len(self.internal)

    @property
    def rate(self) -> int:
        return self.width - CAPACITY

    @property
    def num_sboxes(self) -> int:
        return 2 * HALF_EXTERNAL_ROUNDS * self.width + self.partial_rounds


@cache
def _load() -> dict:
    text = resources.files("circuits").joinpath("data", DATA_FILE).read_text()
    data = json.loads(text)
    if (
        data["field_modulus"] != P
        or data["sbox_degree"] != SBOX_DEGREE
        or data["external_rounds"] != 2 * HALF_EXTERNAL_ROUNDS
        or tuple(map(tuple, data["m4"])) != M4
    ):
        raise ValueError(
            f"{DATA_FILE}: not the BabyBear Poseidon2 parameter set this code implements"
        )
    return data


@cache
def params(width: int) -> Poseidon2Params:
    """The parameters of the given width (16 or 24), checked for shape and range."""
    if width not in WIDTHS:
        raise ValueError(f"Poseidon2 width must be one of {WIDTHS}, not {width}")
    w = _load()["widths"][str(width)]

    def table(values, shape) -> np.ndarray:
        a = np.array(values, dtype=np.int64)
        if a.shape != shape or a.min() < 0 or a.max() >= P:
            raise ValueError(f"{DATA_FILE}: a constant table of width {width} is malformed")
        a = a.astype(np.uint64)
        a.flags.writeable = False
        return a

    rp = w["partial_rounds"]
    return Poseidon2Params(
        width=width,
        external_initial=table(w["external_initial_constants"], (HALF_EXTERNAL_ROUNDS, width)),
        internal=table(w["internal_constants"], (rp,)),
        external_final=table(w["external_final_constants"], (HALF_EXTERNAL_ROUNDS, width)),
        diagonal=table(w["internal_diagonal"], (width,)),
        test_vectors=tuple((tuple(v["input"]), tuple(v["output"])) for v in w["test_vectors"]),
    )


# -- the layers, on reduced uint64 arrays: the state's elements along `axis` ----------------------
# A batch of states is (batch, width) at the interface; the reference permutation holds it as
# (width, batch) (axis 0), where each element of every state is one contiguous row: numpy's
# operations on the rows run about twice as fast as on the strided columns.
def sbox(x: np.ndarray) -> np.ndarray:
    """x^7 elementwise (x reduced, uint64)."""
    x2 = x * x % _P
    x3 = x2 * x % _P
    return x3 * x3 % _P * x % _P


def external_linear(state: np.ndarray, axis: int = -1) -> np.ndarray:
    """M_E: m4 on each block of 4, then add to element i the sum of the (i mod 4)-th elements
    of every block. Additions only, reduced once at the end: for reduced inputs each m4 output
    is below 7p and each result below (1 + t/4) 7p < 2^38."""
    elements = np.moveaxis(state, axis, 0)
    blocks = elements.reshape(-1, 4, *elements.shape[1:])
    x0, x1, x2, x3 = (blocks[:, k] for k in range(4))
    t01, t23 = x0 + x1, x2 + x3
    t0123 = t01 + t23
    t01123, t01233 = t0123 + x1, t0123 + x3
    y = np.stack(
        [t01123 + t01, t01123 + x2 + x2, t01233 + t23, t01233 + x0 + x0], axis=1
    )  # rows of m4: [2,3,1,1], [1,2,3,1], [1,1,2,3], [3,1,1,2]
    sums = y.sum(axis=0, keepdims=True)
    return np.moveaxis(((y + sums) % _P).reshape(elements.shape), 0, axis)


def internal_linear(state: np.ndarray, diagonal: np.ndarray, axis: int = -1) -> np.ndarray:
    """M_I: x_i -> S + d_i x_i with S = sum_j x_j, reduced once (S + d_i x_i < 2^63 for
    reduced inputs: the permutation's time is mostly its reductions)."""
    shape = [1] * state.ndim
    shape[axis] = -1
    total = state.sum(axis=axis, keepdims=True)
    return (total + diagonal.reshape(shape) * state) % _P


@dataclass
class Witness:
    """What the AIR gadget commits for a batch, each array with the batch on its first axis.

    external_cubes[r], external_post[r]: (batch, width) for the 8 external rounds: the cube
    of each S-box input, and the state after the round's linear layer;
    partial_cubes[r], partial_out[r]: (batch,) for each partial round: the cube of the S-box
    input and the S-box output (x^7) of element 0.
    The permutation's output is external_post[-1].
    """

    external_cubes: list[np.ndarray]
    external_post: list[np.ndarray]
    partial_cubes: list[np.ndarray]
    partial_out: list[np.ndarray]


def _permute(state: np.ndarray, prm: Poseidon2Params, witness: Witness | None) -> np.ndarray:
    """The permutation on reduced uint64 states (batch, width); records the gadget's values.
    Computed on the transposed states (width, batch): a (batch, width) view of it is returned
    and recorded."""

    def external_round(state, constants):
        x = state + constants[:, None]  # below 2p: x * x < 2^64, reduced only after squaring
        x3 = x * x % _P * x % _P
        out = external_linear(x3 * x3 % _P * x % _P, axis=0)
        if witness is not None:
            witness.external_cubes.append(x3.T)
            witness.external_post.append(out.T)
        return out

    state = external_linear(np.array(state.T, dtype=np.uint64, order="C"), axis=0)
    for constants in prm.external_initial:
        state = external_round(state, constants)
    state = state.copy()  # element 0 is replaced in place below; the witness keeps the round's
    for c in prm.internal:
        x0 = state[0] + c  # below 2p, as in external_round
        x3 = x0 * x0 % _P * x0 % _P
        state[0] = x3 * x3 % _P * x0 % _P
        if witness is not None:
            witness.partial_cubes.append(x3)
            witness.partial_out.append(state[0].copy())
        state = internal_linear(state, prm.diagonal, axis=0)
    for constants in prm.external_final:
        state = external_round(state, constants)
    return state.T


# -- the compiled permutation (hashing many states: a tree's nodes, a batch of leaves) ---------
@njit(cache=True, inline="always")
def _external_linear_row(state, y):
    """M_E on one reduced state (t,), in place; y is scratch (t,). Every sum below 2^38."""
    t = state.shape[0]
    for b in range(0, t, 4):
        x0, x1, x2, x3 = state[b], state[b + 1], state[b + 2], state[b + 3]
        t01, t23 = x0 + x1, x2 + x3
        t0123 = t01 + t23
        t01123, t01233 = t0123 + x1, t0123 + x3
        y[b] = t01123 + t01
        y[b + 1] = t01123 + x2 + x2
        y[b + 2] = t01233 + t23
        y[b + 3] = t01233 + x0 + x0
    for k in range(4):
        s = np.uint64(0)
        for b in range(0, t, 4):
            s += y[b + k]
        for b in range(0, t, 4):
            state[b + k] = (y[b + k] + s) % _P


@njit(cache=True, inline="always")
def _sbox7(x):
    """x^7 for reduced x (products below 2^62)."""
    x2 = x * x % _P
    x3 = x2 * x % _P
    return x3 * x3 % _P * x % _P


@njit(cache=True, inline="always")
def _permute_row(state, external, internal, diagonal, y):
    """The permutation (module docstring, steps 1-4) on one reduced state (t,), in place."""
    t = state.shape[0]
    half = external.shape[0] // 2
    _external_linear_row(state, y)
    for r in range(external.shape[0]):
        if r == half:
            for c in internal:
                state[0] = _sbox7((state[0] + c) % _P)
                total = np.uint64(0)
                for i in range(t):
                    total += state[i]
                for i in range(t):
                    state[i] = (total + diagonal[i] * state[i]) % _P
        for i in range(t):
            state[i] = _sbox7((state[i] + external[r, i]) % _P)
        _external_linear_row(state, y)


@njit(cache=True)
def _permute_rows_serial(states, external, internal, diagonal):
    """Every row of reduced uint64 states (batch, t), in place."""
    y = np.empty(states.shape[1], dtype=np.uint64)
    for b in range(states.shape[0]):
        _permute_row(states[b], external, internal, diagonal, y)


@njit(cache=True, parallel=True)
def _permute_rows_parallel(states, external, internal, diagonal):
    """The parallel twin of _permute_rows_serial (blocks of rows over the cores)."""
    batch = states.shape[0]
    block = 1024
    for blk in prange((batch + block - 1) // block):
        y = np.empty(states.shape[1], dtype=np.uint64)
        lo = np.int64(blk) * block
        for b in range(lo, min(batch, lo + block)):
            _permute_row(states[b], external, internal, diagonal, y)


@njit(cache=True)
def _witness_rows(states, external, internal, diagonal, cubes, post, partial_cubes, partial_out):
    """The permutation of every row of reduced uint64 states (batch, t), recording what the
    gadget commits (as `_permute` records it): cubes[r, b] and post[r, b] for external round
    r (the cubes x^3 of the S-box inputs, the state after the round's M_E),
    partial_cubes[q, b] and partial_out[q, b] for partial round q (x^3 and x^7 of element
    0's S-box input). `states` is left unchanged."""
    batch, t = states.shape
    half = external.shape[0] // 2
    state = np.empty(t, dtype=np.uint64)
    y = np.empty(t, dtype=np.uint64)
    for b in range(batch):
        for i in range(t):
            state[i] = states[b, i]
        _external_linear_row(state, y)
        for r in range(external.shape[0]):
            if r == half:
                for q in range(internal.shape[0]):
                    x = (state[0] + internal[q]) % _P
                    x3 = x * x % _P * x % _P
                    partial_cubes[q, b] = x3
                    state[0] = x3 * x3 % _P * x % _P
                    partial_out[q, b] = state[0]
                    total = np.uint64(0)
                    for i in range(t):
                        total += state[i]
                    for i in range(t):
                        state[i] = (total + diagonal[i] * state[i]) % _P
            for i in range(t):
                x = (state[i] + external[r, i]) % _P
                x3 = x * x % _P * x % _P
                cubes[r, b, i] = x3
                state[i] = x3 * x3 % _P * x % _P
            _external_linear_row(state, y)
            for i in range(t):
                post[r, b, i] = state[i]


@cache
def _compiled_constants(width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(external (8, t), internal (R_p,), diagonal (t,)) as contiguous uint64 for the kernels."""
    prm = params(width)
    external = np.ascontiguousarray(np.concatenate([prm.external_initial, prm.external_final]))
    return external, np.ascontiguousarray(prm.internal), np.ascontiguousarray(prm.diagonal)


def _permute_compiled(states: np.ndarray) -> np.ndarray:
    """The permutation of every row of reduced uint64 states (batch, t), compiled: the same
    values as `_permute(states, params(t), None)` (the numpy reference, which also records the
    gadget's witness). A new array; parallel only for batches of PARALLEL_MIN_ELEMENTS
    elements or more (the verifier's small calls never touch the thread pool)."""
    if not HAVE_NUMBA:  # the kernel would run as Python loops: the vectorised reference
        return _permute(np.asarray(states, dtype=np.uint64), params(states.shape[1]), None)
    out = np.array(states, dtype=np.uint64, order="C")
    kernel = _permute_rows_parallel if out.size >= PARALLEL_MIN_ELEMENTS else _permute_rows_serial
    kernel(out, *_compiled_constants(out.shape[1]))
    return out


def as_states(states, width: int | None = None, *, canonical: bool = True) -> np.ndarray:
    """Reduced uint64 (batch, width) from a GF array or an integer array (a single state
    (width,) becomes a batch of one).

    canonical: integers must lie in [0, p) (ValueError otherwise); with False they are read
    mod p instead (negative ones too).
    """
    if isinstance(states, GF):
        a = np.asarray(states, dtype=np.uint64)
    else:
        a = np.asarray(states)
        if a.dtype.kind not in "iu" and a.size:
            raise ValueError("Poseidon2 states must be integers")
        if not canonical:
            a = a % (np.int64(P) if a.dtype.kind == "i" else _P)
        elif a.size and (a.min() < 0 or a.max() >= P):
            raise ValueError(f"Poseidon2 state elements must be canonical, in [0, {P})")
        a = a.astype(np.uint64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or (width is not None and a.shape[1] != width):
        raise ValueError(f"expected states of shape (batch, width), got {a.shape}")
    return np.ascontiguousarray(a)


def _like(result: np.ndarray, original) -> np.ndarray | GF:
    """Return in the caller's kind: GF for GF input, uint64 otherwise; 1-D for 1-D input."""
    if np.ndim(original) == 1:
        result = result[0]
    return reduced(result) if isinstance(original, GF) else result


def permute(states) -> np.ndarray | GF:
    """Poseidon2 on each row of `states`, (batch, width) with width 16 or 24.

    Accepts a GF array or an integer array (also a single state of shape (width,)); integers
    are read mod p, as Plonky3's `from_u32` does (the published width-24 known-answer test
    has an input entry above p). Returns the same kind: a GF array for GF input, else a
    reduced uint64 array. Compiled (`_permute_compiled`); `permute_reference` is the numpy
    reference, equal on every input.
    """
    a = as_states(states, canonical=False)
    if a.shape[1] not in WIDTHS:
        raise ValueError(f"Poseidon2 width must be one of {WIDTHS}, not {a.shape[1]}")
    return _like(_permute_compiled(a), states)


def permute_reference(states) -> np.ndarray | GF:
    """`permute` by the vectorised numpy reference (`_permute`, loops over rounds)."""
    a = as_states(states, canonical=False)
    if a.shape[1] not in WIDTHS:
        raise ValueError(f"Poseidon2 width must be one of {WIDTHS}, not {a.shape[1]}")
    return _like(_permute(a, params(a.shape[1]), None), states)


def permutation_witness(states, width: int) -> Witness:
    """The intermediate values the AIR gadget commits, for a batch of input states (compiled:
    `_witness_rows`; `permutation_witness_reference` records the same values with the numpy
    reference)."""
    a = as_states(states, width)
    prm = params(width)
    batch, rounds = a.shape[0], 2 * HALF_EXTERNAL_ROUNDS
    cubes = np.empty((rounds, batch, width), dtype=np.uint64)
    post = np.empty((rounds, batch, width), dtype=np.uint64)
    partial_cubes = np.empty((prm.partial_rounds, batch), dtype=np.uint64)
    partial_out = np.empty((prm.partial_rounds, batch), dtype=np.uint64)
    if not HAVE_NUMBA:
        return permutation_witness_reference(a, width)
    _witness_rows(a, *_compiled_constants(width), cubes, post, partial_cubes, partial_out)
    return Witness(list(cubes), list(post), list(partial_cubes), list(partial_out))


def permutation_witness_reference(states, width: int) -> Witness:
    """`permutation_witness` by the numpy reference permutation."""
    w = Witness([], [], [], [])
    _permute(as_states(states, width), params(width), w)
    return w


# -- hashing -------------------------------------------------------------------------------------
def sponge_iv(length: int, width: int = 16) -> np.ndarray:
    """The initial state of `hash_elements` for inputs of `length` elements: zeros, with the
    first capacity element set to the length (domain separation between input lengths)."""
    if not 1 <= length < P:
        raise ValueError("a hashed input must have between 1 and p - 1 elements")
    iv = np.zeros(width, dtype=np.uint64)
    iv[width - CAPACITY] = length
    return iv


def sponge_chunks(inputs, width: int = 16) -> np.ndarray:
    """The absorbed chunks, (batch, num_chunks, rate): the input cut into rate-sized pieces,
    the last one zero-padded (injective, since the length is fixed by the IV)."""
    a = as_states(inputs)
    rate = params(width).rate
    batch, m = a.shape
    chunks = -(-m // rate)
    padded = np.zeros((batch, chunks * rate), dtype=np.uint64)
    padded[:, :m] = a
    return padded.reshape(batch, chunks, rate)


def hash_elements(inputs, width: int = 16) -> np.ndarray | GF:
    """The 8-element digest of each row of `inputs` (batch, m), m >= 1 canonical elements.

    A sponge over the width-`width` permutation with capacity 8 (rate 8 at width 16, 16 at
    width 24): state = sponge_iv(m); for each chunk of sponge_chunks: add the chunk to the
    rate part, permute; the digest is the first 8 elements of the final state. Rows of the same
    length m are hashed in one pass (compiled permutation). Returns GF for GF input, else
    uint64. `hash_elements_reference` is the same function on the numpy reference.
    """
    return _sponge(inputs, width, _permute_compiled)


def hash_elements_reference(inputs, width: int = 16) -> np.ndarray | GF:
    """`hash_elements` with the numpy reference permutation."""
    return _sponge(inputs, width, lambda state: _permute(state, params(width), None))


def _sponge(inputs, width: int, permutation: Callable[[np.ndarray], np.ndarray]):
    a = as_states(inputs)
    prm = params(width)
    state = np.tile(sponge_iv(a.shape[1], width), (a.shape[0], 1))
    for chunk in np.moveaxis(sponge_chunks(a, width), 1, 0):
        state[:, : prm.rate] = (state[:, : prm.rate] + chunk) % _P
        state = permutation(state)
    return _like(state[:, :DIGEST], inputs)


def compress(left, right) -> np.ndarray | GF:
    """The 2-to-1 compression of two digests (batch, 8) each: P(left || right)[:8] + left,
    the width-16 permutation with feed-forward, truncated to 8 elements. Returns GF if `left`
    is GF, else uint64. Compiled; `compress_reference` is the same on the numpy reference."""
    return _compress(left, right, _permute_compiled)


def compress_reference(left, right) -> np.ndarray | GF:
    """`compress` with the numpy reference permutation."""
    return _compress(left, right, lambda state: _permute(state, params(16), None))


def _compress(left, right, permutation: Callable[[np.ndarray], np.ndarray]):
    lft, rgt = as_states(left, DIGEST), as_states(right, DIGEST)
    if lft.shape != rgt.shape:
        raise ValueError("compress needs as many left digests as right digests")
    out = permutation(np.concatenate([lft, rgt], axis=1))[:, :DIGEST]
    return _like((out + lft) % _P, left)


__all__ = [
    "CAPACITY",
    "DIGEST",
    "HALF_EXTERNAL_ROUNDS",
    "SBOX_DEGREE",
    "WIDTHS",
    "Poseidon2Params",
    "Witness",
    "as_states",
    "compress",
    "compress_reference",
    "external_linear",
    "hash_elements",
    "hash_elements_reference",
    "internal_linear",
    "params",
    "permutation_witness",
    "permutation_witness_reference",
    "permute",
    "permute_reference",
    "sbox",
    "sponge_chunks",
    "sponge_iv",
]
