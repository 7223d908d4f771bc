"""Merkle trees over uint32 matrices: leaf hashing, roots, and batched openings.

Batch openings of random index subsets must verify, and any change to a row, a sibling, the
sibling list, the indices, the depth or the root must make verification fail (return False,
never raise).
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stark import merkle
from stark.merkle import DIGEST_SIZE, MerkleTree, hash_columns, hash_rows, verify_rows, with_salts

LOG_SIZES = (0, 1, 3, 6)  # 1, 2, 8 and 64 leaves


def random_matrix(leaves: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**32, size=(leaves, width), dtype=np.uint64).astype(np.uint32)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_leaf(row) -> bytes:
    """SHA-256 of the row as little-endian 32-bit words, computed without numpy."""
    return sha256(struct.pack(f"<{len(row)}I", *(int(v) for v in row)))


def reference_root(rows: np.ndarray) -> bytes:
    level = [reference_leaf(r) for r in rows]
    while len(level) > 1:
        level = [sha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@st.composite
def opened_trees(draw, min_leaves: int = 1):
    """A random tree (1, 2, 8 or 64 leaves), a sorted non-empty subset of its leaf indices, the
    opened rows and the batch opening."""
    log_size = draw(st.sampled_from([s for s in LOG_SIZES if 1 << s >= min_leaves]))
    width = draw(st.integers(1, 5))
    rows = random_matrix(1 << log_size, width, draw(st.integers(0, 2**32 - 1)))
    tree = MerkleTree(rows)
    subset = draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, unique=True))
    indices = sorted(subset)
    return tree, indices, rows[indices], tree.open(indices), rows


# -- hashing and roots ---------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(leaves=st.integers(1, 16), width=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_hash_rows_is_sha256_of_little_endian_words(leaves, width, seed):
    """hash_rows(rows)[i] is SHA-256 of row i as little-endian uint32 words."""
    rows = random_matrix(leaves, width, seed)
    digests = hash_rows(rows)
    assert digests.shape == (leaves, DIGEST_SIZE) and digests.dtype == np.uint8
    for row, digest in zip(rows, digests, strict=True):
        assert digest.tobytes() == reference_leaf(row)


def test_hash_rows_depends_on_values_not_memory_layout():
    """Big-endian, non-contiguous and int64 inputs of the same values give the same digests."""
    rows = random_matrix(8, 6, seed=1)
    expected = hash_rows(rows)
    assert np.array_equal(hash_rows(rows.astype(">u4")), expected)
    assert np.array_equal(hash_rows(np.asfortranarray(rows)), expected)
    assert np.array_equal(hash_rows(rows.astype(np.int64)), expected)
    wide = random_matrix(8, 12, seed=2)
    wide[:, ::2] = rows
    assert np.array_equal(hash_rows(wide[:, ::2]), expected)


def test_hash_rows_known_answer():
    """A fixed row hashes to SHA-256 of its literal little-endian bytes."""
    row = np.array([[1, 0x01020304, 0xFFFFFFFF]], dtype=np.uint32)
    literal = b"\x01\x00\x00\x00" + b"\x04\x03\x02\x01" + b"\xff\xff\xff\xff"
    assert hash_rows(row)[0].tobytes() == hashlib.sha256(literal).digest()


@pytest.mark.parametrize("log_size", LOG_SIZES)
def test_root_and_depth_match_a_reference_tree(log_size):
    """The root is the plain binary SHA-256 tree over the leaf digests; depth is log2(leaves)."""
    rows = random_matrix(1 << log_size, 3, seed=log_size)
    tree = MerkleTree(rows)
    assert tree.depth == log_size
    assert tree.root == reference_root(rows)
    assert len(tree.root) == DIGEST_SIZE


def test_single_leaf_tree_root_is_the_leaf_hash():
    """With one leaf, the root is that leaf's digest and the opening is empty."""
    rows = random_matrix(1, 4, seed=3)
    tree = MerkleTree(rows)
    assert tree.root == reference_leaf(rows[0])
    assert tree.open([0]) == ()
    assert verify_rows(tree.root, 0, [0], rows, ())


@pytest.mark.parametrize("leaves", [0, 3, 5, 6, 12])
def test_non_power_of_two_is_refused(leaves):
    """A tree needs a positive power-of-two number of leaves."""
    with pytest.raises(ValueError):
        MerkleTree(np.zeros((leaves, 2), dtype=np.uint32))


def test_root_changes_with_any_element():
    """Changing any single element of the matrix changes the root."""
    rows = random_matrix(8, 3, seed=4)
    root = MerkleTree(rows).root
    for i in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            changed = rows.copy()
            changed[i, j] ^= 1
            assert MerkleTree(changed).root != root


# -- openings that must verify -------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(opened_trees())
def test_opening_verifies(opened):
    """The opening of any non-empty subset of leaves verifies against the root."""
    tree, indices, rows, siblings, _ = opened
    assert all(len(s) == DIGEST_SIZE for s in siblings)
    assert verify_rows(tree.root, tree.depth, indices, rows, siblings)


@settings(max_examples=50, deadline=None)
@given(opened_trees(), st.randoms(use_true_random=False))
def test_open_ignores_order_and_repeats(opened, rnd):
    """tree.open depends only on the set of indices, not their order or repetitions."""
    tree, indices, _, siblings, _ = opened
    shuffled = indices + indices[: len(indices) // 2]
    rnd.shuffle(shuffled)
    assert tree.open(shuffled) == siblings


@pytest.mark.parametrize("log_size", LOG_SIZES)
def test_opening_sizes(log_size):
    """Opening one leaf takes `depth` siblings; opening every leaf takes none."""
    rows = random_matrix(1 << log_size, 2, seed=5)
    tree = MerkleTree(rows)
    everything = list(range(len(rows)))
    assert tree.open(everything) == ()
    assert verify_rows(tree.root, log_size, everything, rows, ())
    for i in {0, len(rows) - 1, len(rows) // 2}:
        assert len(tree.open([i])) == log_size


# -- openings that must be rejected --------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(opened_trees(), st.data())
def test_changed_row_is_rejected(opened, data):
    """Changing any one element of any opened row is rejected."""
    tree, indices, rows, siblings, _ = opened
    i = data.draw(st.integers(0, rows.shape[0] - 1), label="row")
    j = data.draw(st.integers(0, rows.shape[1] - 1), label="column")
    delta = data.draw(st.integers(1, 2**32 - 1), label="xor")
    changed = rows.copy()
    changed[i, j] ^= delta
    assert not verify_rows(tree.root, tree.depth, indices, changed, siblings)


@settings(max_examples=60, deadline=None)
@given(opened_trees(min_leaves=2), st.data())
def test_changed_sibling_is_rejected(opened, data):
    """Flipping any bit of any sibling, or truncating one, is rejected."""
    tree, indices, rows, siblings, _ = opened
    assume(siblings)  # with every leaf opened there is nothing to change
    k = data.draw(st.integers(0, len(siblings) - 1), label="sibling")
    bit = data.draw(st.integers(0, 8 * DIGEST_SIZE - 1), label="bit")
    flipped = bytearray(siblings[k])
    flipped[bit // 8] ^= 1 << (bit % 8)
    changed = (*siblings[:k], bytes(flipped), *siblings[k + 1 :])
    assert not verify_rows(tree.root, tree.depth, indices, rows, changed)
    short = (*siblings[:k], siblings[k][:-1], *siblings[k + 1 :])
    assert not verify_rows(tree.root, tree.depth, indices, rows, short)


@settings(max_examples=60, deadline=None)
@given(opened_trees(), st.data())
def test_missing_or_extra_sibling_is_rejected(opened, data):
    """Dropping any sibling, or inserting one (a copy or random bytes) anywhere, is rejected."""
    tree, indices, rows, siblings, _ = opened
    for k in range(len(siblings)):
        dropped = siblings[:k] + siblings[k + 1 :]
        assert not verify_rows(tree.root, tree.depth, indices, rows, dropped)
    at = data.draw(st.integers(0, len(siblings)), label="insert at")
    extra = data.draw(
        st.sampled_from([*siblings, tree.root, bytes(DIGEST_SIZE)])
        | st.binary(min_size=DIGEST_SIZE, max_size=DIGEST_SIZE),
        label="extra sibling",
    )
    inserted = (*siblings[:at], extra, *siblings[at:])
    assert not verify_rows(tree.root, tree.depth, indices, rows, inserted)


@settings(max_examples=60, deadline=None)
@given(opened_trees(min_leaves=2), st.data())
def test_wrong_index_is_rejected(opened, data):
    """Claiming an opened row sits at another (unopened) leaf index is rejected."""
    tree, indices, rows, siblings, all_rows = opened
    others = [i for i in range(len(all_rows)) if i not in indices]
    assume(others)
    k = data.draw(st.integers(0, len(indices) - 1), label="which index")
    other = data.draw(st.sampled_from(others), label="claimed index")
    assume(not np.array_equal(all_rows[other], rows[k]))  # identical leaves: a true claim
    moved = sorted([*indices[:k], other, *indices[k + 1 :]])
    order = np.argsort([*indices[:k], other, *indices[k + 1 :]], kind="stable")
    assert not verify_rows(tree.root, tree.depth, moved, rows[order], siblings)
    assert not verify_rows(tree.root, tree.depth, moved, rows[order], tree.open(moved))


@settings(max_examples=40, deadline=None)
@given(opened_trees(min_leaves=2))
def test_swapped_rows_are_rejected(opened):
    """Opened rows must be listed in index order: swapping two of them is rejected."""
    tree, indices, rows, siblings, _ = opened
    assume(len(rows) >= 2 and not np.array_equal(rows[0], rows[1]))
    swapped = rows[[1, 0, *range(2, len(rows))]]
    assert not verify_rows(tree.root, tree.depth, indices, swapped, siblings)


@settings(max_examples=40, deadline=None)
@given(opened_trees(), st.data())
def test_duplicated_index_is_rejected(opened, data):
    """An index listed twice (with its row repeated) is rejected."""
    tree, indices, rows, siblings, _ = opened
    k = data.draw(st.integers(0, len(indices) - 1), label="repeated")
    doubled = sorted([*indices, indices[k]])
    doubled_rows = rows[np.searchsorted(indices, doubled)]
    assert not verify_rows(tree.root, tree.depth, doubled, doubled_rows, siblings)


@settings(max_examples=40, deadline=None)
@given(opened_trees(), st.data())
def test_out_of_range_index_is_rejected(opened, data):
    """An index outside [0, 2^depth) is rejected, however the opening is padded."""
    tree, indices, rows, siblings, _ = opened
    size = 1 << tree.depth
    bad = data.draw(
        st.sampled_from([size, size + 1, 2 * size, -1, -size, 2**40]), label="bad index"
    )
    k = data.draw(st.integers(0, len(indices) - 1), label="replaced")
    claimed = [*indices[:k], bad, *indices[k + 1 :]]
    assert not verify_rows(tree.root, tree.depth, claimed, rows, siblings)
    assert not verify_rows(
        tree.root, tree.depth, [*indices, bad], np.vstack([rows, rows[:1]]), siblings
    )


@settings(max_examples=40, deadline=None)
@given(opened_trees())
def test_wrong_depth_or_root_is_rejected(opened):
    """The same opening does not verify at another depth or against another root."""
    tree, indices, rows, siblings, _ = opened
    assert not verify_rows(tree.root, tree.depth + 1, indices, rows, siblings)
    if tree.depth:
        assert not verify_rows(tree.root, tree.depth - 1, indices, rows, siblings)
    other_root = bytes([tree.root[0] ^ 0x80]) + tree.root[1:]
    assert not verify_rows(other_root, tree.depth, indices, rows, siblings)


def test_mismatched_or_empty_claims_are_rejected():
    """More or fewer rows than indices, or an empty opening, is rejected."""
    rows = random_matrix(8, 2, seed=6)
    tree = MerkleTree(rows)
    indices = [1, 4, 5]
    siblings = tree.open(indices)
    assert verify_rows(tree.root, 3, indices, rows[indices], siblings)
    assert not verify_rows(tree.root, 3, indices, rows[[1, 4]], siblings)
    assert not verify_rows(tree.root, 3, indices[:2], rows[indices], siblings)
    assert not verify_rows(tree.root, 3, [], rows[:0], ())
    assert not verify_rows(tree.root, 3, [], rows[:0], siblings)


def test_leaf_is_not_an_internal_node():
    """At a fixed depth, the two children of an internal node cannot be passed off as a leaf
    row one level up (the depth pins which level leaves live on)."""
    rows = random_matrix(8, 16, seed=7)  # 64-byte rows, the size of two digests
    tree = MerkleTree(rows)
    pair = np.frombuffer(tree.levels[0][0:2].tobytes(), dtype="<u4").reshape(1, 16)
    # the pair hashes to the level-1 node 0, but the verifier places leaves at level 0
    assert hash_rows(pair)[0].tobytes() == tree.levels[1][0].tobytes()
    siblings = tuple(tree.levels[level][1].tobytes() for level in (1, 2))
    assert not verify_rows(tree.root, tree.depth, [0], pair, siblings)
    assert verify_rows(tree.root, tree.depth - 1, [0], pair, siblings)  # only at depth - 1


def test_forked_hashing_matches_serial(monkeypatch):
    """Large trees hash half their leaves in a forked child; the root must not change."""
    rows = np.random.default_rng(7).integers(0, 2**31, size=(1 << 12, 8), dtype=np.uint32)
    serial = MerkleTree(rows).root
    monkeypatch.setattr(merkle, "PARALLEL_MIN_BYTES", 1024)
    assert MerkleTree(rows).root == serial


@settings(max_examples=30, deadline=None)
@given(
    width=st.integers(1, 70),
    log_leaves=st.integers(0, 11),
    salted=st.booleans(),
    block=st.sampled_from([1, 12, 256, merkle.COLUMN_BLOCK_BYTES]),
    seed=st.integers(0, 2**32 - 1),
)
def test_hash_columns_equals_hashing_the_transposed_rows(width, log_leaves, salted, block, seed):
    """Hashing an LDE held by columns, block by block (any block size, with or without salt
    words), gives the digests and the tree of its salted rows."""
    rng = np.random.default_rng(seed)
    columns = rng.integers(0, 2**31, size=(width, 1 << log_leaves), dtype=np.uint32)
    salts = rng.integers(0, 2**31, size=(1 << log_leaves, 8), dtype=np.uint32) if salted else None
    rows = with_salts(columns.T, salts)
    merkle_block = merkle.COLUMN_BLOCK_BYTES
    try:
        merkle.COLUMN_BLOCK_BYTES = block
        digests = hash_columns(columns, salts)
    finally:
        merkle.COLUMN_BLOCK_BYTES = merkle_block
    assert np.array_equal(digests, hash_rows(rows))
    assert MerkleTree.of_columns(columns, salts).root == MerkleTree(rows).root


def test_forked_column_hashing_matches_serial(monkeypatch):
    """hash_columns in two processes (a forked child hashes the second half) gives the same
    digests."""
    rng = np.random.default_rng(8)
    columns = rng.integers(0, 2**31, size=(40, 1 << 12), dtype=np.uint32)
    salts = rng.integers(0, 2**31, size=(1 << 12, 8), dtype=np.uint32)
    serial = hash_columns(columns, salts)
    monkeypatch.setattr(merkle, "PARALLEL_MIN_BYTES", 1024)
    monkeypatch.setattr(merkle, "COLUMN_BLOCK_BYTES", 4000)
    assert np.array_equal(hash_columns(columns, salts), serial)
    assert np.array_equal(serial, hash_rows(with_salts(columns.T, salts)))


# -- the verifier's root computation against the former dictionary-based one ---------------------
def reference_batch_root(leaf_digests, depth, siblings):
    """batch_root as first written (a dictionary of known nodes per level): the faster version
    must return exactly what this returns, root or None, for every input."""
    if not leaf_digests or any(not 0 <= i < 1 << depth for i in leaf_digests):
        return None
    known = dict(leaf_digests)
    stream = iter(siblings)
    used = 0
    for _ in range(depth):
        needed = sorted({i ^ 1 for i in known} - set(known))
        for i in needed:
            node = next(stream, None)
            if node is None:
                return None
            known[i] = node
            used += 1
        known = {i >> 1: sha256(known[i & ~1] + known[i | 1]) for i in sorted(known) if i % 2 == 0}
    if used != len(siblings):
        return None
    return known[0]


@settings(max_examples=200, deadline=None)
@given(opened_trees(), st.data())
def test_batch_root_matches_the_reference(opened, data):
    """Honest openings, and openings with siblings dropped, added, reordered or replaced and
    indices moved or out of range: the same root or the same None as the reference."""
    tree, indices, rows, siblings, _ = opened
    digests = {i: reference_leaf(r) for i, r in zip(indices, rows, strict=True)}
    cases = [(digests, tree.depth, siblings)]
    change = data.draw(st.sampled_from(["drop", "add", "reverse", "replace", "move", "depth"]))
    sibs = list(siblings)
    if change == "drop" and sibs:
        del sibs[data.draw(st.integers(0, len(sibs) - 1))]
    elif change == "add":
        sibs.insert(data.draw(st.integers(0, len(sibs))), sha256(b"extra"))
    elif change == "reverse":
        sibs.reverse()
    elif change == "replace" and sibs:
        sibs[data.draw(st.integers(0, len(sibs) - 1))] = sha256(b"other")
    moved = dict(digests)
    if change == "move":
        i = data.draw(st.sampled_from(sorted(digests)))
        moved[data.draw(st.integers(-1, (1 << tree.depth) + 1))] = moved.pop(i)
    depth = tree.depth + data.draw(st.integers(-1, 1)) if change == "depth" else tree.depth
    cases.append((moved, max(depth, 0), tuple(sibs)))
    for leaves, d, s in cases:
        assert merkle.batch_root(leaves, d, s) == reference_batch_root(leaves, d, s)
    assert merkle.batch_root(digests, tree.depth, siblings) == tree.root
