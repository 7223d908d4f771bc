"""The prover's private randomness (zero-knowledge masks and Merkle salts).

By default it comes from the operating system's generator (os.urandom). With a seed it is the
SHAKE-256 stream of that seed instead, so that a proof can be reproduced for tests and audits;
a seeded proof is only as hiding as the seed is secret.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from stark.field import GF, P, reduced
from stark.merkle import SALT_WORDS


class ProverRandomness:
    """Uniform field elements, by rejection sampling of 31-bit words."""

    def __init__(self, seed: int | bytes | None = None):
        if isinstance(seed, int):
            seed = seed.to_bytes(32, "little", signed=True)
        self._seed = seed
        self._counter = 0

    def _bytes(self, count: int) -> bytes:
        if self._seed is None:
            return os.urandom(count)
        self._counter += 1
        block = self._counter.to_bytes(8, "little")
        return hashlib.shake_256(b"stark-prover-rng" + self._seed + block).digest(count)

    def elements(self, *shape: int) -> GF:
        """An array of the given shape of independent uniform elements of F_p."""
        need = int(np.prod(shape))
        out = np.empty(0, dtype=np.uint32)
        while len(out) < need:
            # p / 2^31 = 15/16 of the words are accepted; ask for a little more than needed
            count = (need - len(out)) * 17 // 16 + 16
            words = np.frombuffer(self._bytes(4 * count), "<u4")
            words = words & np.uint32(0x7FFFFFFF)
            out = np.concatenate([out, words[words < P]])
        return reduced(out[:need].reshape(shape))

    def salts(self, count: int) -> np.ndarray:
        """Fresh salt words for `count` Merkle leaves, shape (count, SALT_WORDS)."""
        return np.asarray(self.elements(count, SALT_WORDS))
