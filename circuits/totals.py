"""The hiding commitment to a batch's per-asset totals (issue 10: batches publish a commitment,
the aggregation proof opens it inside its constraints). This module is the reference: the
function both AIRs compute in their constraints, and what tests compare them with.

A batch of n rows and K assets has offset totals T'_j = T_j + n 2^63, the sums of the offset
balances u = e + 2^63 over its rows, so 0 <= T'_j < n 2^64 <= 2^81. Each is written as
CHUNKS = 4 chunks of 27 bits, chunk_c = floor(T'_j / 2^(27 c)) mod 2^27, i.e. three base-512
digits each (the digits the solvency AIR's totals constraint works with); the last chunk holds
the digits 9 (and 10, 11, which are 0 below 2^81).

The commitment is a sponge over the width-16 Poseidon2 permutation, one absorption per asset
and one for the blinding, exactly as the batch AIR computes it row by row:

    state = 0^16, with state[8] = DOMAIN_TAG and state[9] = K          (the capacity)
    for j in 0..K-1:  state[0:4] += chunks(T'_j);  state = P16(state)   (state[4:8] += 0)
    state[0:8] += blinding;  state = P16(state)
    commitment = state[0:8]

blinding is 8 uniform field elements (247 bits), fresh for every batch. Binding: K is in the
IV and every block has a fixed place, so two different (T', blinding) with the same K give the
same commitment only through a collision of the sponge (about 124 bits, docs/poseidon2.md).
Hiding: to anyone without the blinding the commitment is a hash of 247 uniform bits, modelled
as uniform.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from circuits.poseidon2 import DIGEST, as_states, permute
from stark.field import P
from stark.randomness import ProverRandomness

CHUNKS = 4  # 27-bit chunks per offset total
CHUNK_BITS = 27
WIDTH = 16
RATE_USED = CHUNKS  # state[0:4] takes an asset's chunks
BLINDING = DIGEST  # state[0:8] takes the blinding
DOMAIN_TAG = 0x544F54  # "TOT": separates this sponge from every other use of P16
MAX_OFFSET_TOTAL_BITS = CHUNKS * CHUNK_BITS


def offset_totals(totals: Sequence[int], trace_len: int) -> list[int]:
    """T'_j = T_j + n 2^63: the totals as the AIR sums them (offset balances)."""
    return [int(t) + trace_len * (1 << 63) for t in totals]


def total_chunks(offset_totals_: Sequence[int]) -> np.ndarray:
    """(K, 4) uint64: the 27-bit chunks of each offset total, least significant first.
    ValueError for a negative total or one of more than 108 bits."""
    out = np.zeros((len(offset_totals_), CHUNKS), dtype=np.uint64)
    for j, t in enumerate(offset_totals_):
        t = int(t)
        if not 0 <= t < 1 << MAX_OFFSET_TOTAL_BITS:
            raise ValueError(f"offset total {j} is outside [0, 2^{MAX_OFFSET_TOTAL_BITS})")
        for c in range(CHUNKS):
            out[j, c] = (t >> (CHUNK_BITS * c)) & ((1 << CHUNK_BITS) - 1)
    return out


def sponge_iv(num_assets: int) -> np.ndarray:
    """The initial state (16,): zeros, capacity elements 8 and 9 set to the tag and K."""
    if not 1 <= num_assets < P:
        raise ValueError("the number of assets must be positive")
    iv = np.zeros(WIDTH, dtype=np.uint64)
    iv[8], iv[9] = DOMAIN_TAG, num_assets
    return iv


def new_blinding(rng: ProverRandomness | None = None) -> np.ndarray:
    """8 uniform field elements from the operating system (or a seeded rng, for tests)."""
    rng = ProverRandomness() if rng is None else rng
    return np.asarray(rng.elements(BLINDING), dtype=np.uint64)


def commitment_states(offset_totals_: Sequence[int], blinding) -> np.ndarray:
    """(K + 1, 16): the permutation's input state at each absorption (row j: asset j's, row K:
    the blinding's). The digest is permute(last)[0:8]; the batch AIR commits these states."""
    chunks = total_chunks(offset_totals_)
    r = as_states(np.asarray(blinding).reshape(1, -1), BLINDING)[0]
    k = len(chunks)
    states = np.zeros((k + 1, WIDTH), dtype=np.uint64)
    state = sponge_iv(k)
    for j in range(k + 1):
        state = state.copy()
        if j < k:
            state[:RATE_USED] = (state[:RATE_USED] + chunks[j]) % np.uint64(P)
        else:
            state[:BLINDING] = (state[:BLINDING] + r) % np.uint64(P)
        states[j] = state
        state = np.asarray(permute(state), dtype=np.uint64)
    return states


def totals_commitment(offset_totals_: Sequence[int], blinding) -> np.ndarray:
    """The commitment (8,) uint64 to the offset totals with this blinding (module docstring)."""
    last = commitment_states(offset_totals_, blinding)[-1]
    return np.asarray(permute(last), dtype=np.uint64)[:DIGEST]
