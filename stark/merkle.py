"""Merkle commitments to the rows of a matrix, with batched multi-leaf openings.

Leaf i is H(row_i as little-endian uint32 words); an internal node is H(left || right); H is
SHA-256 (measured faster than BLAKE2s here: benches/bench_hash.py). Trees have a fixed depth
known to the verifier, so leaves and nodes need no domain separation. A salted leaf (zero
knowledge) is simply a row with random words in front.

Hashing is a Python loop over hashlib calls: hashlib has no batch interface, and each call is
cheap next to the NTTs (about 0.7 us for a 256-byte row).
"""

from __future__ import annotations

import hashlib
import mmap
import os

import numpy as np

DIGEST_SIZE = 32
#: Random field elements in front of each salted leaf (zero knowledge): 8 x 31 bits.
SALT_WORDS = 8


#: Below this many bytes, forking a helper process costs more than the hashing it saves.
PARALLEL_MIN_BYTES = 1 << 23


def _hash_range(view: memoryview, width: int, first: int, last: int) -> bytes:
    """Concatenated SHA-256 digests of chunks first..last-1 of `width` bytes each."""
    sha256 = hashlib.sha256  # local binding: this loop runs once per leaf
    return b"".join(
        [sha256(view[i : i + width]).digest() for i in range(first * width, last * width, width)]
    )


def _hash_chunks(data: np.ndarray, width: int) -> np.ndarray:
    """SHA-256 of each consecutive `width`-byte chunk of a contiguous array: (m, 32) digests.

    hashlib holds the GIL for short inputs, so threads cannot share this work; for large
    inputs a forked child hashes the second half into shared memory while this process hashes
    the first (the child inherits the data without a copy). Any failure of the child falls
    back to hashing its half here.
    """
    view = memoryview(data.reshape(-1).view(np.uint8))
    count = len(view) // width
    if len(view) < PARALLEL_MIN_BYTES or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        digests = _hash_range(view, width, 0, count)
    else:
        half = count // 2
        with mmap.mmap(-1, (count - half) * DIGEST_SIZE) as shared:
            pid = os.fork()
            if pid == 0:  # the child: hash, publish, leave without running any cleanup
                status = 1
                try:
                    shared[:] = _hash_range(view, width, half, count)
                    status = 0
                finally:
                    os._exit(status)
            first = _hash_range(view, width, 0, half)
            _, status = os.waitpid(pid, 0)
            second = bytes(shared) if status == 0 else _hash_range(view, width, half, count)
        digests = first + second
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, DIGEST_SIZE)


def hash_rows(rows: np.ndarray) -> np.ndarray:
    """Leaf digests (m, 32) of the rows of a uint32 matrix (m, w)."""
    data = np.ascontiguousarray(rows, dtype="<u4")
    return _hash_chunks(data, data.shape[1] * 4)


def _hash_level(children: np.ndarray) -> np.ndarray:
    """Parents (m, 32) of 2m children (2m, 32): parent j = H(child 2j || child 2j+1)."""
    return _hash_chunks(np.ascontiguousarray(children), 2 * DIGEST_SIZE)


class MerkleTree:
    """A binary tree over the rows of a (m, w) uint32 matrix, m a power of two."""

    def __init__(self, rows: np.ndarray):
        m = rows.shape[0]
        if m < 1 or m & (m - 1):
            raise ValueError("a Merkle tree needs a power-of-two number of leaves")
        self.levels = [hash_rows(rows)]  # levels[0] = leaves, levels[-1] = root
        while len(self.levels[-1]) > 1:
            self.levels.append(_hash_level(self.levels[-1]))

    @property
    def root(self) -> bytes:
        return self.levels[-1][0].tobytes()

    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    def open(self, indices: list[int]) -> tuple[bytes, ...]:
        """The sibling digests that, with the leaves at `indices`, recompute the root: level by
        level from the leaves up, by increasing node index within a level, exactly the nodes
        the verifier cannot compute itself."""
        known = sorted(set(indices))
        siblings = []
        for level in self.levels[:-1]:
            needed = sorted({i ^ 1 for i in known} - set(known))
            siblings.extend(level[i].tobytes() for i in needed)
            known = sorted({i >> 1 for i in known})
        return tuple(siblings)


def salt_width(zk: bool) -> int:
    """Words of salt in front of every leaf: SALT_WORDS with zero knowledge, none without."""
    return SALT_WORDS if zk else 0


def with_salts(rows: np.ndarray, salts: np.ndarray | None) -> np.ndarray:
    """Leaf rows with their salt words in front (contiguous uint32); unchanged without salts."""
    if salts is None:
        return np.ascontiguousarray(rows, dtype=np.uint32)
    out = np.empty((rows.shape[0], salts.shape[1] + rows.shape[1]), dtype=np.uint32)
    out[:, : salts.shape[1]] = salts
    out[:, salts.shape[1] :] = rows
    return out


def batch_root(
    leaf_digests: dict[int, bytes], depth: int, siblings: tuple[bytes, ...]
) -> bytes | None:
    """The root implied by some leaves and their batch opening; None if the opening has the
    wrong number of siblings or an index is out of range.

    Level by level, the known nodes are kept as parallel lists sorted by index; a node whose
    sibling is not known takes the next digest of the opening, which therefore lists the
    missing siblings level by level, by increasing index within a level (as `open` writes
    them)."""
    if not leaf_digests or any(not 0 <= i < 1 << depth for i in leaf_digests):
        return None
    sha256 = hashlib.sha256  # local binding: this loop runs once per opened node
    indices = sorted(leaf_digests)
    nodes = [leaf_digests[i] for i in indices]
    used, available = 0, len(siblings)
    for _ in range(depth):
        parents, digests = [], []
        k, count = 0, len(indices)
        while k < count:
            i = indices[k]
            if not i & 1 and k + 1 < count and indices[k + 1] == i + 1:  # both children known
                pair = nodes[k] + nodes[k + 1]
                k += 2
            else:
                if used == available:
                    return None
                sibling = siblings[used]
                used += 1
                pair = sibling + nodes[k] if i & 1 else nodes[k] + sibling
                k += 1
            parents.append(i >> 1)
            digests.append(sha256(pair).digest())
        indices, nodes = parents, digests
    if used != available:
        return None
    return nodes[0]


def verify_rows(
    root: bytes, depth: int, indices: list[int], rows: np.ndarray, siblings: tuple[bytes, ...]
) -> bool:
    """Do `rows` (one per distinct sorted index) sit at `indices` under `root`?"""
    if len(indices) != len(rows) or len(set(indices)) != len(indices):
        return False
    blob = hash_rows(rows).tobytes() if len(rows) else b""
    leaf_digests = {i: blob[j * DIGEST_SIZE : (j + 1) * DIGEST_SIZE] for j, i in enumerate(indices)}
    return batch_root(leaf_digests, depth, siblings) == root
