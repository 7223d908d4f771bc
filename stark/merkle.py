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
from collections.abc import Callable

import numpy as np

from stark.jit import njit

DIGEST_SIZE = 32
#: Random field elements in front of each salted leaf (zero knowledge): 8 x 31 bits.
SALT_WORDS = 8


#: Below this many bytes, forking a helper process costs more than the hashing it saves: the
#: fork copies the page tables of a prover holding gigabytes (0.3 s at 6 GB), while 256 MB
#: of rows hash in about 0.15 s a core.
PARALLEL_MIN_BYTES = 1 << 28


def _hash_range(view: memoryview, width: int, first: int, last: int) -> bytes:
    """Concatenated SHA-256 digests of chunks first..last-1 of `width` bytes each."""
    sha256 = hashlib.sha256  # local binding: this loop runs once per leaf
    return b"".join(
        [sha256(view[i : i + width]).digest() for i in range(first * width, last * width, width)]
    )


def _in_two_processes(count: int, nbytes: int, hash_range: Callable[[int, int], bytes]) -> bytes:
    """hash_range(0, count): the concatenated digests of `count` leaves (`nbytes` in all).

    hashlib holds the GIL for short inputs, so threads cannot share this work; for large
    inputs a forked child hashes the second half into shared memory while this process hashes
    the first (the child inherits the data without a copy). Any failure of the child falls
    back to hashing its half here."""
    if nbytes < PARALLEL_MIN_BYTES or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return hash_range(0, count)
    half = count // 2
    with mmap.mmap(-1, (count - half) * DIGEST_SIZE) as shared:
        pid = os.fork()
        if pid == 0:  # the child: hash, publish, leave without running any cleanup
            status = 1
            try:
                shared[:] = hash_range(half, count)
                status = 0
            finally:
                os._exit(status)
        first = hash_range(0, half)
        _, status = os.waitpid(pid, 0)
        second = bytes(shared) if status == 0 else hash_range(half, count)
    return first + second


def _hash_chunks(data: np.ndarray, width: int) -> np.ndarray:
    """SHA-256 of each consecutive `width`-byte chunk of a contiguous array: (m, 32) digests,
    in two processes for large inputs (`_in_two_processes`)."""
    view = memoryview(data.reshape(-1).view(np.uint8))
    count = len(view) // width
    digests = _in_two_processes(
        count, len(view), lambda first, last: _hash_range(view, width, first, last)
    )
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, DIGEST_SIZE)


def hash_rows(rows: np.ndarray) -> np.ndarray:
    """Leaf digests (m, 32) of the rows of a uint32 matrix (m, w)."""
    data = np.ascontiguousarray(rows, dtype="<u4")
    return _hash_chunks(data, data.shape[1] * 4)


#: Bytes of leaf rows transposed and hashed at a time by `hash_columns` (whatever the rows'
#: width): a buffer within the second level cache (1 MB a core here). 128 KB to 8 MB
#: measured the same at 22 assets; a fixed count of rows made 28 MB buffers at 200 assets.
COLUMN_BLOCK_BYTES = 1 << 19


@njit(cache=True)
def _rows_of_columns(columns, salts, first, out):
    """out[r] = (salts[first + r], columns[:, first + r]) for r < len(out): a block of leaf
    rows from column-major data, in tiles of 16 x 16 words: each tile reads one 64-byte cache
    line of 16 columns and writes one of 16 rows (2.8x faster here than 64 x 64 tiles)."""
    count = out.shape[0]
    width, words = columns.shape[0], salts.shape[1]
    for r in range(count):
        for j in range(words):
            out[r, j] = salts[first + r, j]
    tile = 16
    for c0 in range(0, width, tile):
        c1 = min(width, c0 + tile)
        for r0 in range(0, count, tile):
            r1 = min(count, r0 + tile)
            for c in range(c0, c1):
                for r in range(r0, r1):
                    out[r, words + c] = columns[c, first + r]


def hash_columns(columns: np.ndarray, salts: np.ndarray | None = None) -> np.ndarray:
    """hash_rows(with_salts(columns.T, salts)) for a (cols, m) matrix held by columns (an
    LDE), without building the transposed matrix: blocks of leaf rows (COLUMN_BLOCK_BYTES)
    are transposed into one reused buffer and hashed from it (the same bytes, so the same
    digests)."""
    data = np.asarray(columns)
    if data.dtype != np.uint32:
        data = data.astype(np.uint32)
    width, count = data.shape
    salt = np.zeros((count, 0), np.uint32) if salts is None else np.asarray(salts, np.uint32)
    row_bytes = 4 * (salt.shape[1] + width)
    block = max(1, COLUMN_BLOCK_BYTES // row_bytes)

    def hash_range(first: int, last: int) -> bytes:
        buf = np.empty((min(block, max(last - first, 1)), salt.shape[1] + width), "<u4")
        view = memoryview(buf.reshape(-1).view(np.uint8))
        out = []
        for lo in range(first, last, block):
            rows = min(block, last - lo)
            _rows_of_columns(data, salt, lo, buf[:rows])
            out.append(_hash_range(view, row_bytes, 0, rows))
        return b"".join(out)

    # compile (or load) the kernel here, not in both processes after a fork
    _rows_of_columns(data, salt, 0, np.empty((0, salt.shape[1] + width), "<u4"))
    digests = _in_two_processes(count, count * row_bytes, hash_range)
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, DIGEST_SIZE)


def _hash_level(children: np.ndarray) -> np.ndarray:
    """Parents (m, 32) of 2m children (2m, 32): parent j = H(child 2j || child 2j+1).

    In this process: a forked helper would copy the page tables of a prover holding
    gigabytes (0.3 s at 6 GB), more than the 0.2 s that half a million of these
    64-byte hashes take here."""
    view = memoryview(np.ascontiguousarray(children).reshape(-1))
    digests = _hash_range(view, 2 * DIGEST_SIZE, 0, len(children) // 2)
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, DIGEST_SIZE)


class MerkleTree:
    """A binary tree over the rows of a (m, w) uint32 matrix, m a power of two."""

    def __init__(self, rows: np.ndarray):
        self._build(rows.shape[0], lambda: hash_rows(rows))

    @classmethod
    def of_columns(cls, columns: np.ndarray, salts: np.ndarray | None = None) -> MerkleTree:
        """The tree over the rows of with_salts(columns.T, salts) for a (w, m) matrix held by
        columns, without transposing it (`hash_columns`): the same tree."""
        tree = cls.__new__(cls)
        tree._build(columns.shape[1], lambda: hash_columns(columns, salts))
        return tree

    def _build(self, m: int, leaves: Callable[[], np.ndarray]) -> None:
        if m < 1 or m & (m - 1):
            raise ValueError("a Merkle tree needs a power-of-two number of leaves")
        self.levels = [leaves()]  # levels[0] = leaves, levels[-1] = root
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
