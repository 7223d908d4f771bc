"""User leaves: the id encoding and commitment, the limb packing, the in-AIR leaf against the
reference, LeafAir proved and verified, a cheating prover rejected, and the Merkle paths."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import solvency
from circuits.leaf import (
    LIMB_BITS,
    LIMBS,
    NONCE_ELEMENTS,
    LeafAir,
    LeafHashGadget,
    encode_id,
    id_commitment,
    id_commitments,
    leaf_hash,
    leaf_path,
    leaf_paths,
    leaf_trace,
    leaves_root,
    new_nonce,
    new_nonces,
    pack_limbs,
    packed_expressions,
    packing,
    padding_id_commitments,
    tree_levels,
    verify_leaf_path,
)
from circuits.poseidon2 import compress, hash_elements
from circuits.poseidon2_air import Poseidon2Gadget
from circuits.solvency import offset_limbs
from stark.field import GF, P
from stark.proof import VerificationError
from stark.prover import prove
from stark.randomness import ProverRandomness
from stark.verifier import verify
from tests.quick import QUICK


def random_limbs(rng, n, k):
    """(n, K, 8) limbs in range: 0..6 below 512, limb 7 a bit."""
    return np.concatenate([rng.integers(0, 512, (n, k, 7)), rng.integers(0, 2, (n, k, 1))], axis=2)


def unpack(packed, k):
    """Read the limbs back from packed elements, by the documented rule alone (not `packing`):
    the 9-bit limbs in asset-major, limb-minor order three per element at bits 0, 9, 18; the
    bit limbs in asset order three per element at bits 27, 28, 29."""
    wide = [(int(e) >> (9 * t)) & 511 for e in packed for t in range(3)][: 7 * k]
    bits = [(int(e) >> (27 + t)) & 1 for e in packed for t in range(3)][:k]
    out = np.zeros((k, 8), dtype=np.int64)
    out[:, :7] = np.array(wide).reshape(k, 7)
    out[:, 7] = bits
    return out


# -- packing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 4, 22, 200])
def test_packing_plan(k):
    plan = packing(k)
    assert len(plan) == -(-7 * k // 3)
    terms = [(j, l) for element in plan for j, l, _ in element]
    assert sorted(terms) == [(j, l) for j in range(k) for l in range(8)]  # every limb once
    for element in plan:
        widths = [(s, 1 if l == 7 else 9) for _, l, s in element]
        masks = [((1 << w) - 1) << s for s, w in widths]
        assert sum(masks) == np.bitwise_or.reduce(masks)  # disjoint bit fields
        assert max(s + w for s, w in widths) <= 30  # below 2^30 < p


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 8).flatmap(
        lambda k: st.lists(
            st.tuples(*[st.integers(0, 511)] * 7, st.integers(0, 1)), min_size=k, max_size=k
        )
    )
)
def test_pack_limbs_is_injective_on_range_checked_limbs(rows):
    limbs = np.array(rows, dtype=np.int64)
    packed = pack_limbs(limbs)
    assert packed.max() < 1 << 30
    assert np.array_equal(unpack(packed, len(rows)), limbs)  # a left inverse: injective


def test_pack_limbs_refuses_limbs_out_of_range_and_why():
    limbs = np.zeros((1, 8), dtype=np.int64)
    for l, bad in [(0, 512), (3, -1), (7, 2)]:
        wrong = limbs.copy()
        wrong[0, l] = bad
        with pytest.raises(ValueError):
            pack_limbs(wrong)
    # without the host's range check the packing is not injective: limb 0 = 512 packs like
    # limb 1 = 1, so the in-AIR expressions give the same element for two different rows
    a, b = limbs.copy(), limbs.copy()
    a[0, 0], b[0, 1] = 512, 1
    frame_a = GF(np.concatenate([[0] * 8, a.reshape(-1)]) % P)
    frame_b = GF(np.concatenate([[0] * 8, b.reshape(-1)]) % P)
    cols = [[8 + l for l in range(8)]]
    assert packed_expressions(frame_a, cols) == packed_expressions(frame_b, cols)


def test_packed_expressions_are_the_reference_packing():
    rng = np.random.default_rng(5)
    n, k = 16, 22
    limbs = random_limbs(rng, n, k)
    trace = GF(limbs.reshape(n, 8 * k).T.copy())  # column 8j + l holds limb (j, l)
    cols = [[8 * j + l for l in range(8)] for j in range(k)]
    exprs = packed_expressions(trace, cols)
    assert np.array_equal(np.stack([np.asarray(e) for e in exprs], axis=1), pack_limbs(limbs))


def test_solvency_limbs_pack():
    """The solvency AIR's offset limbs (circuits/solvency.py) are what pack_limbs takes."""
    assert (LIMBS, LIMB_BITS) == (solvency.LIMBS, solvency.LIMB_BITS)
    balances = np.array([[0, -1, 2**63 - 1, -(2**63)]], dtype=np.int64)
    limbs = offset_limbs(balances)
    assert np.array_equal(unpack(pack_limbs(limbs)[0], 4), limbs[0])


# -- the id commitment -------------------------------------------------------------------------
def decode_id(elements) -> str:
    length = int(elements[0])
    raw = b"".join(int(e).to_bytes(3, "little") for e in elements[1:])
    assert len(elements) == 1 + -(-length // 3) and not any(raw[length:])
    return raw[:length].decode("utf-8")


TRICKY_IDS = [
    "",
    "\x00",
    "a",
    "a\x00",
    "a\x00\x00",
    "\x00a",
    "ab",
    "abc",
    "abc\x00",
    "é",  # precomposed U+00E9
    "e\u0301",  # e and a combining accent: the same glyph, a different id
    "日本",
    "\U0001f600",
    "user-1",
    "user-10",
    "1",
    "\x01",
]


def test_id_encoding_is_injective_on_tricky_ids():
    encodings = [tuple(encode_id(u).tolist()) for u in TRICKY_IDS]
    assert len(set(encodings)) == len(TRICKY_IDS)
    assert all(decode_id(encode_id(u)) == u for u in TRICKY_IDS)
    assert encode_id("").tolist() == [0]
    assert encode_id("a\x00").tolist() == [2, 97]  # the length tells it from "a"
    nonce = new_nonce(ProverRandomness(1))
    commitments = {tuple(id_commitment(u, nonce).tolist()) for u in TRICKY_IDS}
    assert len(commitments) == len(TRICKY_IDS)
    with pytest.raises(ValueError):
        encode_id("\ud800")  # a lone surrogate has no UTF-8 form


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_id_encoding_round_trips(a, b):
    ea, eb = encode_id(a), encode_id(b)
    assert decode_id(ea) == a
    assert (ea.tolist() == eb.tolist()) == (a == b)
    assert ea.max() < 1 << 24


def test_id_commitment_is_the_documented_hash():
    rng = ProverRandomness(2)
    ids = ["alice", "bob", "carol", "", "日本", "bob"]
    nonces = new_nonces(len(ids), rng)
    batch = id_commitments(ids, nonces)
    for u, nonce, idc in zip(ids, nonces, batch, strict=True):
        expected = hash_elements(np.concatenate([encode_id(u), nonce])[None, :], 16)[0]
        assert idc.tolist() == expected.tolist() == id_commitment(u, nonce).tolist()
    assert batch[1].tolist() != batch[5].tolist()  # same id, another nonce
    with pytest.raises(ValueError):
        id_commitment("alice", [1, 2, 3, 4])  # a nonce has 5 elements
    with pytest.raises(ValueError):
        id_commitment("alice", [P, 0, 0, 0, 0])  # canonical elements only


def test_nonces_are_fresh_uniform_elements():
    a, b = new_nonces(64), new_nonces(64)  # the operating system's generator
    assert a.shape == (64, NONCE_ELEMENTS) and a.max() < P
    assert not np.array_equal(a, b)
    assert len({tuple(r) for r in a.tolist()}) == 64
    assert np.array_equal(new_nonces(3, ProverRandomness(7)), new_nonces(3, ProverRandomness(7)))
    pads = padding_id_commitments(4)
    assert pads.shape == (4, 8) and pads.max() < P


# -- the gadget against the reference ----------------------------------------------------------
@pytest.mark.parametrize(
    ("width", "k", "registers"), [(16, 1, True), (16, 3, True), (24, 22, True), (24, 2, False)]
)
def test_gadget_digest_is_the_reference_leaf(width, k, registers):
    n = 8
    rng = np.random.default_rng(width * 100 + k)
    limbs = random_limbs(rng, n, k)
    idc = padding_id_commitments(n, ProverRandomness(k))
    trace, leaves = leaf_trace(idc, limbs, width, sbox_registers=registers)
    assert np.array_equal(leaves, leaf_hash(idc, limbs, width))
    air = LeafAir(n, k, leaves, width, sbox_registers=registers)
    gadget = air.gadget
    assert trace.shape == (air.main_width, n)
    assert np.array_equal(np.asarray(trace[list(gadget.digest_cols)]).T, leaves)
    assert air.find_violation(trace, None, None) is None
    # layout: no input columns, the last permutation commits only the 8 digest elements
    m = 8 + -(-7 * k // 3)
    perms = -(-m // (width - 8))
    per_perm = Poseidon2Gadget(0, width, input_cols=(), sbox_registers=registers).num_columns
    assert gadget.num_permutations == perms
    assert gadget.num_columns == perms * per_perm - (width - 8)
    assert gadget.num_constraints == gadget.num_columns
    assert max(c.degree for c in air.transition_constraints()) == (3 if registers else 7)
    # a changed cell of any permutation breaks a constraint on that row
    for col in (gadget.permutations[0].output_cols[0], gadget.digest_cols[7]):
        bad = trace.copy()
        bad[col, n - 1] += GF(1)
        assert air.find_violation(bad, None, None) is not None


def test_truncated_output_gadget():
    full = Poseidon2Gadget(0, 24)
    short = Poseidon2Gadget(0, 24, output_width=8)
    assert (
        full.num_columns - short.num_columns == 16 == full.num_constraints - short.num_constraints
    )
    with pytest.raises(ValueError):
        Poseidon2Gadget(0, 16, output_width=17)
    with pytest.raises(ValueError):
        Poseidon2Gadget(0, 16, output_cols=range(16), output_width=8)


def test_identical_balances_get_unlinkable_leaves():
    """Two users with the same balances, or one user proved twice: fresh nonces, other leaves."""
    limbs = offset_limbs(np.array([[5, -3], [5, -3]], dtype=np.int64))
    nonces = new_nonces(2)
    leaves = leaf_hash(id_commitments(["alice", "bob"], nonces), limbs)
    assert leaves[0].tolist() != leaves[1].tolist()
    again = leaf_hash(id_commitments(["alice", "bob"], new_nonces(2)), limbs)
    assert not (set(map(tuple, again.tolist())) & set(map(tuple, leaves.tolist())))
    # same id, same nonce, same balances: the same leaf (what the user recomputes)
    same = leaf_hash(id_commitments(["alice"], nonces[:1]), limbs[:1])
    assert same.tolist() == leaves[:1].tolist()


# -- LeafAir: prove, verify, and a cheating prover ---------------------------------------------
N, K = 16, 2


def statement_rows(rng):
    """Users' balances (a negative one included) and ids, then all-zero padding rows."""
    balances = np.zeros((N, K), dtype=np.int64)
    balances[:5] = [[10, 0], [-7, 30], [2**62, -(2**62)], [0, 1], [123456789, -1]]
    idc = np.concatenate(
        [
            id_commitments([f"user-{i}" for i in range(5)], new_nonces(5, rng)),
            padding_id_commitments(N - 5, rng),
        ]
    )
    return idc, offset_limbs(balances)


@pytest.fixture(scope="module")
def honest():
    idc, limbs = statement_rows(ProverRandomness(11))
    trace, leaves = leaf_trace(idc, limbs, 16)
    air = LeafAir(N, K, leaves, 16)
    return air, trace, idc, limbs, leaves, prove(air, trace, QUICK).to_bytes()


def test_leaf_air_proves_and_verifies(honest):
    air, *_, proof = honest
    verify(air, proof, accepted_params=[QUICK])


def test_leaf_air_width_24_proves_and_verifies():
    idc, limbs = statement_rows(ProverRandomness(12))
    trace, leaves = leaf_trace(idc, limbs, 24)
    air = LeafAir(N, K, leaves, 24)
    verify(air, prove(air, trace, QUICK).to_bytes(), accepted_params=[QUICK])
    with pytest.raises(VerificationError):  # the width is part of the statement
        verify(
            LeafAir(N, K, leaves, 16), prove(air, trace, QUICK).to_bytes(), accepted_params=[QUICK]
        )


def rejected(air, trace):
    assert air.find_violation(trace, None, None) is not None
    with pytest.raises(VerificationError):
        verify(air, prove(air, trace, QUICK, check=False).to_bytes(), accepted_params=[QUICK])


@pytest.mark.parametrize("digest_cells", ["published", "honest"])
def test_published_leaf_not_matching_its_limbs_is_rejected(honest, digest_cells):
    """Row 1's cells hold balances A (they would feed the totals); the exchange publishes the
    leaf of other balances B (what it showed the user). Whether the digest cells hold the
    published leaf or the true one, some constraint fails on row 1."""
    _, trace, idc, limbs, leaves, _ = honest
    shown = limbs[1].copy()
    shown[1, 0] ^= 1  # one base unit more or less in asset 1
    published = leaves.copy()
    published[1] = leaf_hash(idc[1], shown)[0]
    liar = LeafAir(N, K, published, 16)
    bad = trace.copy()
    if digest_cells == "published":
        for i, c in enumerate(liar.gadget.digest_cols):
            bad[c, 1] = GF(int(published[1, i]))
    rejected(liar, bad)


def test_limb_changed_after_hashing_is_rejected(honest):
    """The leaf (and every gadget cell) is of the true balances; one limb cell is then
    changed, as if the totals were fed another balance than the one hashed."""
    air, trace, *_ = honest
    for col, delta in [(8 + 8 * 1 + 0, 1), (8 + 7, 1)]:  # asset 1 limb 0; asset 0's top bit
        bad = trace.copy()
        bad[col, 3] += GF(delta)
        rejected(air, bad)


def test_public_leaf_changed_in_the_statement_is_rejected(honest):
    _, trace, _, _, leaves, proof = honest
    published = leaves.copy()
    published[N - 1, 4] = (published[N - 1, 4] + 1) % P  # the last row, a padding row
    liar = LeafAir(N, K, published, 16)
    with pytest.raises(VerificationError):
        verify(liar, proof, accepted_params=[QUICK])
    rejected(liar, trace)


def test_leaf_air_checks_its_leaves():
    with pytest.raises(ValueError):
        LeafAir(N, K, np.zeros((N - 1, 8), dtype=np.int64))
    with pytest.raises(ValueError):
        LeafAir(N, K, np.full((N, 8), P, dtype=np.int64))
    with pytest.raises(ValueError):
        LeafHashGadget(0, range(7), [range(8)])


# -- the Merkle tree ---------------------------------------------------------------------------
def test_merkle_paths():
    leaves = padding_id_commitments(16, ProverRandomness(3))  # any digests
    root = leaves_root(leaves)
    levels = tree_levels(leaves)
    assert [len(x) for x in levels] == [16, 8, 4, 2, 1]
    assert levels[1][3].tolist() == compress(leaves[6], leaves[7]).tolist()
    paths = leaf_paths(leaves, range(16))
    assert paths.shape == (16, 4, 8)
    for row in range(16):
        sib = leaf_path(leaves, row)
        assert np.array_equal(sib, paths[row])
        assert verify_leaf_path(root, row, leaves[row], sib, num_leaves=16)
    row, leaf, sib = 5, leaves[5], leaf_path(leaves, 5)

    def bump(a, index):
        b = a.copy()
        b[index] = (b[index] + 1) % P
        return b

    assert not verify_leaf_path(root, row, bump(leaf, 0), sib)  # a changed leaf
    assert not verify_leaf_path(root, row, leaves[4], sib)  # another row's leaf
    for d in range(4):
        assert not verify_leaf_path(root, row, leaf, bump(sib, (d, 7)))  # a changed sibling
    for other in (4, 7, 13):
        assert not verify_leaf_path(root, other, leaf, sib)  # another row
    assert not verify_leaf_path(bump(root, 2), row, leaf, sib)  # another root
    other_root = leaves_root(padding_id_commitments(16, ProverRandomness(4)))
    assert not verify_leaf_path(other_root, row, leaf, sib)  # another snapshot's root
    # the depth is log2 n: a level-1 node is not accepted as a leaf of a shorter path
    assert verify_leaf_path(root, 2, levels[1][2], sib[1:])
    assert not verify_leaf_path(root, 2, levels[1][2], sib[1:], num_leaves=16)
    assert not verify_leaf_path(root, 16, leaf, sib)  # row out of range
    assert not verify_leaf_path(root, -1, leaf, sib)
    assert not verify_leaf_path(root, row, np.full(8, P), sib)  # non-canonical
    assert not verify_leaf_path(root, row, leaf[:7], sib)  # malformed
    # one leaf: the root is the leaf, the path is empty
    assert leaves_root(leaves[:1]).tolist() == leaves[0].tolist()
    assert verify_leaf_path(leaves[0], 0, leaves[0], np.zeros((0, 8)), num_leaves=1)
    with pytest.raises(ValueError):
        leaves_root(leaves[:3])


def test_leaves_and_root_end_to_end():
    """What a user does: recompute the leaf from id, nonce and balances, find it at the row,
    check the path to the root the verifier recomputed from the published leaves."""
    rng = ProverRandomness(21)
    nonces = new_nonces(3, rng)
    balances = np.array([[1, -2], [0, 0], [1, -2]], dtype=np.int64)
    idc = id_commitments(["a", "b", "c"], nonces)
    pad = padding_id_commitments(1, rng)
    limbs = offset_limbs(np.concatenate([balances, np.zeros((1, 2), dtype=np.int64)]))
    leaves = leaf_hash(np.concatenate([idc, pad]), limbs)
    root = leaves_root(leaves)
    mine = leaf_hash(id_commitment("c", nonces[2]), offset_limbs(balances[2:]))[0]
    assert verify_leaf_path(root, 2, mine, leaf_path(leaves, 2), num_leaves=4)
    changed = balances[2:].copy()
    changed[0, 1] += 1  # one base unit
    wrong = leaf_hash(id_commitment("c", nonces[2]), offset_limbs(changed))[0]
    assert not verify_leaf_path(root, 2, wrong, leaf_path(leaves, 2), num_leaves=4)


@settings(max_examples=20, deadline=None)
@given(assets=st.integers(1, 30), points=st.integers(1, 700), seed=st.integers(0, 2**32 - 1))
def test_compiled_packing_equals_the_expressions(assets, points, seed):
    """On the prover's columns (a 2-D field array) the sponge inputs come from one compiled
    pass; they are the same field elements as packed_expressions gives (any cell values, not
    only limbs in range: the constraints must agree on a cheating trace too)."""
    limb_cols = [[8 + 2 * (LIMBS * j + l) for l in range(LIMBS)] for j in range(assets)]
    gadget = LeafHashGadget(8 + 2 * LIMBS * assets, range(8), limb_cols, width=24)
    rng = np.random.default_rng(seed)
    main = GF(rng.integers(0, P, (gadget.offset, points), dtype=np.uint32))
    compiled = gadget.input_expressions(main)
    expected = [main[c] for c in range(8)] + packed_expressions(main, limb_cols)
    assert len(compiled) == len(expected)
    for got, want in zip(compiled, expected, strict=True):
        assert np.array_equal(np.asarray(got), np.asarray(want))
