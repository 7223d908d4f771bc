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

Version 2 (issue 17) also commits each asset's gross equity E_j = sum of the positive balances,
0 <= E_j < n 2^63 <= 2^80, as EQUITY_CHUNKS = 3 chunks of 27 bits in the free rate slots:
state[4:7] += chunks(E_j) in the same absorption as T'_j, and the IV's tag is DOMAIN_TAG_2.
The tag must differ: with the old one a v2 commitment with E = 0 would be the v1 commitment
of the same totals, and a v1 batch proof (which never constrains E) could be opened as having
no equity.

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
DOMAIN_TAG_2 = 0x544F45  # "TOE": version 2, totals and equity
EQUITY_CHUNKS = 3  # 27-bit chunks of E_j < 2^81
EQUITY_SLOT = RATE_USED  # state[4:7] takes an asset's equity chunks (version 2)
MAX_OFFSET_TOTAL_BITS = CHUNKS * CHUNK_BITS


def offset_totals(totals: Sequence[int], trace_len: int) -> list[int]:
    """T'_j = T_j + n 2^63: the totals as the AIR sums them (offset balances)."""
    return [int(t) + trace_len * (1 << 63) for t in totals]


def _chunks(values: Sequence[int], count: int, what: str) -> np.ndarray:
    out = np.zeros((len(values), count), dtype=np.uint64)
    for j, t in enumerate(values):
        t = int(t)
        if not 0 <= t < 1 << (count * CHUNK_BITS):
            raise ValueError(f"{what} {j} is outside [0, 2^{count * CHUNK_BITS})")
        for c in range(count):
            out[j, c] = (t >> (CHUNK_BITS * c)) & ((1 << CHUNK_BITS) - 1)
    return out


def total_chunks(offset_totals_: Sequence[int]) -> np.ndarray:
    """(K, 4) uint64: the 27-bit chunks of each offset total, least significant first.
    ValueError for a negative total or one of more than 108 bits."""
    return _chunks(offset_totals_, CHUNKS, "offset total")


def equity_chunks(equity: Sequence[int]) -> np.ndarray:
    """(K, 3) uint64: the 27-bit chunks of each gross equity E_j, least significant first.
    ValueError for a negative equity or one of more than 81 bits."""
    return _chunks(equity, EQUITY_CHUNKS, "equity")


def sponge_iv(num_assets: int, version: int = 1) -> np.ndarray:
    """The initial state (16,): zeros, capacity elements 8 and 9 set to the version's tag
    (DOMAIN_TAG, or DOMAIN_TAG_2 with equity) and K."""
    if not 1 <= num_assets < P:
        raise ValueError("the number of assets must be positive")
    if version not in (1, 2):
        raise ValueError(f"no totals commitment version {version}")
    iv = np.zeros(WIDTH, dtype=np.uint64)
    iv[8], iv[9] = (DOMAIN_TAG if version == 1 else DOMAIN_TAG_2), num_assets
    return iv


def new_blinding(rng: ProverRandomness | None = None) -> np.ndarray:
    """8 uniform field elements from the operating system (or a seeded rng, for tests)."""
    rng = ProverRandomness() if rng is None else rng
    return np.asarray(rng.elements(BLINDING), dtype=np.uint64)


def commitment_states(
    offset_totals_: Sequence[int], blinding, equity: Sequence[int] | None = None
) -> np.ndarray:
    """(K + 1, 16): the permutation's input state at each absorption (row j: asset j's, row K:
    the blinding's). The digest is permute(last)[0:8]; the batch AIR commits these states.
    equity: None for version 1 (totals only), else E_j per asset (version 2)."""
    chunks = total_chunks(offset_totals_)
    k = len(chunks)
    if equity is not None:
        if len(equity) != k:
            raise ValueError("one equity per asset")
        chunks = np.concatenate([chunks, equity_chunks(equity)], axis=1)
    r = as_states(np.asarray(blinding).reshape(1, -1), BLINDING)[0]
    used = chunks.shape[1]
    states = np.zeros((k + 1, WIDTH), dtype=np.uint64)
    state = sponge_iv(k, 1 if equity is None else 2)
    for j in range(k + 1):
        state = state.copy()
        if j < k:
            state[:used] = (state[:used] + chunks[j]) % np.uint64(P)
        else:
            state[:BLINDING] = (state[:BLINDING] + r) % np.uint64(P)
        states[j] = state
        state = np.asarray(permute(state), dtype=np.uint64)
    return states


def totals_commitment(
    offset_totals_: Sequence[int], blinding, equity: Sequence[int] | None = None
) -> np.ndarray:
    """The commitment (8,) uint64 to the offset totals (and, in version 2, the equities) with
    this blinding (module docstring)."""
    last = commitment_states(offset_totals_, blinding, equity)[-1]
    return np.asarray(permute(last), dtype=np.uint64)[:DIGEST]
