"""User leaves: the commitment to one user's id and balances that the solvency proof computes
inside its constraints, the reference computation a user repeats, and the Merkle tree over the
leaves. docs/inclusion.md gives the design and the soundness argument.

Off the circuit (the exchange computes it, the user repeats it):

    idc  = hash_elements(encode_id(id) || nonce, width 16)        8 elements
    leaf = hash_elements(idc || pack_limbs(limbs), width W)        8 elements, W = 16 or 24

`encode_id` is the id's UTF-8 byte length followed by its bytes packed three per element; the
nonce is NONCE_ELEMENTS = 5 uniform elements (154 bits), fresh for every proof. The limbs are
the 8 limbs of each asset's offset balance u = e + 2^63 (circuits/solvency.py: limbs 0..6 of
9 bits, limb 7 one bit); `pack_limbs` packs them into ceil(7K/3) elements below 2^30 following
one fixed plan (`packing`), injectively on range-checked limbs.

In the circuit, `LeafHashGadget` computes the same leaf from 8 id-commitment columns and the
host's limb cells: the packed elements are affine expressions of the very limb cells (no
columns of their own), absorbed by a chain of Poseidon2 permutations, one gadget each, on the
same row. `LeafAir` is a small AIR around it: private id commitments and limbs, public leaves
(periodic columns of cycle n, so they are bound into the transcript), and 8 equalities tying
the gadget's digest to them on every row. The solvency AIR embeds the same gadget over its own
range-checked limb cells when given leaves (`SolvencyAir(statement, leaves)` and
`build_witness_with_leaves` in circuits/solvency.py).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import cache, cached_property

import numpy as np

from circuits.poseidon2 import CAPACITY, DIGEST, as_states, compress, hash_elements, sponge_iv
from circuits.poseidon2_air import Poseidon2Gadget
from stark.air import Air, Frame, TransitionConstraint
from stark.field import GF, HAVE_NUMBA, Cells, CompiledPolynomials, P, reduced
from stark.params import is_power_of_two
from stark.randomness import ProverRandomness

LIMBS = 8  # per asset: limbs 0..6 of 9 bits, limb 7 of 1 bit (circuits/solvency.py)
LIMB_BITS = 9
WIDE_LIMBS = LIMBS - 1  # the 9-bit limbs of one asset
PER_ELEMENT = 3  # 9-bit limbs per packed element, and bit limbs per packed element
BIT_SHIFT = PER_ELEMENT * LIMB_BITS  # 27: bit limbs sit at bits 27, 28, 29
NONCE_ELEMENTS = 5  # 5 log2(p) = 154.6 bits
ID_WIDTH = 16  # the id commitment's sponge width (off the circuit: cost does not matter)
_P = np.uint64(P)


# -- the id commitment ---------------------------------------------------------------------------
def encode_id(user_id: str) -> np.ndarray:
    """The id as field elements: its UTF-8 byte length L, then its bytes three per element
    (b0 + 2^8 b1 + 2^16 b2, the last group zero-padded). Injective: L says how many bytes
    the following ceil(L / 3) elements hold, and each element (< 2^24 < p) gives back its
    three bytes. No Unicode normalisation: the id is the exact string the exchange hands out."""
    if not isinstance(user_id, str):
        raise TypeError("a user id is a string")
    try:
        raw = user_id.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates have no UTF-8 form
        raise ValueError(f"the user id {user_id!r} is not valid Unicode") from e
    padded = np.frombuffer(raw + b"\0" * (-len(raw) % 3), dtype=np.uint8).astype(np.uint64)
    groups = padded.reshape(-1, 3)
    packed = groups[:, 0] | groups[:, 1] << np.uint64(8) | groups[:, 2] << np.uint64(16)
    return np.concatenate([np.array([len(raw)], dtype=np.uint64), packed])


def _random_elements(count: int, width: int, rng: ProverRandomness | None) -> np.ndarray:
    rng = ProverRandomness() if rng is None else rng
    return np.asarray(rng.elements(count, width), dtype=np.uint64).reshape(count, width)


def new_nonces(count: int, rng: ProverRandomness | None = None) -> np.ndarray:
    """(count, 5) fresh nonces, uniform elements below p. rng: None (the default) draws from
    the operating system (os.urandom); a seeded `ProverRandomness` is for tests only. Never
    derive a nonce from the id: it is what hides the id and the balances."""
    return _random_elements(count, NONCE_ELEMENTS, rng)


def new_nonce(rng: ProverRandomness | None = None) -> np.ndarray:
    """One fresh nonce, (5,) uniform elements below p (see `new_nonces`)."""
    return new_nonces(1, rng)[0]


def padding_id_commitments(count: int, rng: ProverRandomness | None = None) -> np.ndarray:
    """(count, 8) id commitments for padding rows: uniform elements, distributed as a real
    commitment is to anyone without its nonce (the hash's output is modelled as uniform)."""
    return _random_elements(count, DIGEST, rng)


def _check_nonces(nonces, count: int) -> np.ndarray:
    a = np.asarray(nonces)
    if a.shape != (count, NONCE_ELEMENTS):
        raise ValueError(f"expected {count} nonce(s) of {NONCE_ELEMENTS} elements, got {a.shape}")
    return as_states(a, NONCE_ELEMENTS)  # integers in [0, p), else ValueError


def id_commitment(user_id: str, nonce) -> np.ndarray:
    """idc = hash_elements(encode_id(user_id) || nonce) at width 16: 8 uint64 elements."""
    nonce = _check_nonces(np.asarray(nonce).reshape(1, -1), 1)[0]
    return hash_elements(np.concatenate([encode_id(user_id), nonce])[None, :], ID_WIDTH)[0]


def id_commitments(user_ids: Sequence[str], nonces) -> np.ndarray:
    """(len(user_ids), 8) id commitments, one `id_commitment` per user, hashed in one
    vectorised pass per encoded length."""
    nonces = _check_nonces(nonces, len(user_ids))
    encoded = [encode_id(u) for u in user_ids]
    out = np.zeros((len(user_ids), DIGEST), dtype=np.uint64)
    by_length: dict[int, list[int]] = {}
    for i, e in enumerate(encoded):
        by_length.setdefault(len(e), []).append(i)
    for rows in by_length.values():
        inputs = np.stack([np.concatenate([encoded[i], nonces[i]]) for i in rows])
        out[rows] = hash_elements(inputs, ID_WIDTH)
    return out


# -- packing limbs -------------------------------------------------------------------------------
@cache
def packing(num_assets: int) -> tuple[tuple[tuple[int, int, int], ...], ...]:
    """The packing plan for K assets: for each packed element, its terms (asset j, limb l,
    shift s), the element being sum 2^s * limb(j, l).

    The 9-bit limbs in asset-major, limb-minor order (asset 0 limbs 0..6, asset 1 limbs
    0..6, ...) fill the elements three at a time, at shifts 0, 9, 18; the bit limbs (limb 7)
    in asset order fill them three at a time from the first element on, at shifts 27, 28, 29.
    So E = ceil(7K / 3) elements, each below 2^30 < p when the limbs are in range."""
    if num_assets < 1:
        raise ValueError("at least one asset")
    wide = [(j, l) for j in range(num_assets) for l in range(WIDE_LIMBS)]
    bits = [(j, LIMBS - 1) for j in range(num_assets)]
    count = -(-len(wide) // PER_ELEMENT)
    plan = []
    for e in range(count):
        terms = [(j, l, LIMB_BITS * t) for t, (j, l) in enumerate(wide[3 * e : 3 * e + 3])]
        terms += [(j, l, BIT_SHIFT + t) for t, (j, l) in enumerate(bits[3 * e : 3 * e + 3])]
        plan.append(tuple(terms))
    return tuple(plan)


def check_limbs(limbs) -> np.ndarray:
    """(..., K, 8) limbs as int64, after checking limbs 0..6 lie in [0, 512) and limb 7 in
    {0, 1}: the ranges on which the packing is injective (ValueError otherwise)."""
    a = np.asarray(limbs)
    if a.ndim < 2 or a.shape[-1] != LIMBS or a.shape[-2] < 1 or a.dtype.kind not in "iu":
        raise ValueError(f"limbs must be integers of shape (..., K, {LIMBS})")
    a = a.astype(np.int64)
    wide, bit = a[..., :WIDE_LIMBS], a[..., WIDE_LIMBS]
    if wide.size and (wide.min() < 0 or wide.max() >= 1 << LIMB_BITS):
        raise ValueError("limbs 0..6 must lie in [0, 512)")
    if bit.size and (bit.min() < 0 or bit.max() > 1):
        raise ValueError("limb 7 must be 0 or 1")
    return a


def pack_limbs(limbs) -> np.ndarray:
    """(..., K, 8) range-checked limbs -> (..., ceil(7K/3)) packed elements (uint64, < 2^30),
    following `packing(K)`; vectorised over the leading axes."""
    a = check_limbs(limbs).astype(np.uint64)
    plan = packing(a.shape[-2])
    out = np.zeros((*a.shape[:-2], len(plan)), dtype=np.uint64)
    for e, terms in enumerate(plan):
        for j, l, shift in terms:
            out[..., e] |= a[..., j, l] << np.uint64(shift)
    return out


def packed_expressions(main, limb_cols: Sequence[Sequence[int]]) -> list:
    """The packed elements as affine expressions of the limb cells of a frame row `main`
    (`limb_cols[j][l]`: the column of asset j's limb l), following the same `packing(K)` as
    `pack_limbs`: sum 2^s * main[col]."""
    plan = packing(len(limb_cols))
    out = []
    for terms in plan:
        total = None
        for j, l, shift in terms:
            cell = main[limb_cols[j][l]]
            term = cell if shift == 0 else cell * GF(1 << shift)
            total = term if total is None else total + term
        out.append(total)
    return out


def leaf_inputs(idc, limbs) -> np.ndarray:
    """The leaf's sponge input, (n, 8 + E): the id commitment, then the packed limbs."""
    idc = as_states(idc, DIGEST)
    packed = pack_limbs(limbs)
    packed = packed.reshape(-1, packed.shape[-1])
    if packed.shape[0] != idc.shape[0]:
        raise ValueError("one id commitment per row of limbs")
    return np.concatenate([idc, packed], axis=1)


def leaf_hash(idc, limbs, width: int = 16) -> np.ndarray:
    """The reference leaf: hash_elements(idc || pack_limbs(limbs), width). idc (n, 8) or (8,),
    limbs (n, K, 8) or (K, 8); returns (n, 8) uint64 (one row for one user)."""
    return hash_elements(leaf_inputs(idc, limbs), width)


# -- the Merkle tree over the leaves -------------------------------------------------------------
def tree_levels(leaves) -> list[np.ndarray]:
    """Every level of the binary tree over n leaves (n a power of two), leaves first, the root
    (1, 8) last; node = compress(left child, right child), children in row order."""
    level = as_states(leaves, DIGEST)
    if not is_power_of_two(level.shape[0]):
        raise ValueError("the number of leaves must be a power of two")
    levels = [level]
    while len(level) > 1:
        level = compress(level[0::2], level[1::2])
        levels.append(level)
    return levels


def leaves_root(leaves) -> np.ndarray:
    """The Merkle root (8,) uint64 of n leaves (n, 8)."""
    return tree_levels(leaves)[-1][0]


def leaf_paths(leaves, rows: Sequence[int]) -> np.ndarray:
    """(len(rows), log2 n, 8): for each row, the sibling of each node on its path, from the
    leaf's sibling up to the root's child. One tree for all rows."""
    return paths_in(tree_levels(leaves), rows)


def paths_in(levels: list[np.ndarray], rows: Sequence[int]) -> np.ndarray:
    """`leaf_paths` on a tree already built by `tree_levels`."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    n = levels[0].shape[0]
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"rows must lie in [0, {n})")
    out = np.zeros((rows.size, len(levels) - 1, DIGEST), dtype=np.uint64)
    for d, level in enumerate(levels[:-1]):
        out[:, d] = level[(rows >> d) ^ 1]
    return out


def leaf_path(leaves, row: int) -> np.ndarray:
    """The siblings (log2 n, 8) of row's leaf, bottom up."""
    return leaf_paths(leaves, [row])[0]


def verify_leaf_path(root, row: int, leaf, siblings, *, num_leaves: int | None = None) -> bool:
    """True if `leaf` sits at `row` under `root` with these siblings (bottom up): at depth d
    the node is the left child if bit d of row is 0. The depth is len(siblings); pass the
    statement's n as `num_leaves` to require depth log2 n (a caller that does not must check
    it). Malformed input (shapes, non-canonical elements) is False, never an exception."""
    try:
        node = as_states(np.asarray(leaf).reshape(1, -1), DIGEST)
        target = as_states(np.asarray(root).reshape(1, -1), DIGEST)
        sibs = np.asarray(siblings)
        sibs = as_states(sibs.reshape(-1, DIGEST), DIGEST) if sibs.size else sibs.reshape(0, 8)
    except (ValueError, TypeError):
        return False
    depth = sibs.shape[0]
    if num_leaves is not None and (not is_power_of_two(num_leaves) or 1 << depth != num_leaves):
        return False
    if isinstance(row, bool) or not isinstance(row, int | np.integer) or not 0 <= row < 1 << depth:
        return False
    for d in range(depth):
        sib = sibs[d : d + 1]
        node = compress(node, sib) if (int(row) >> d) & 1 == 0 else compress(sib, node)
    return bool(np.array_equal(node, target))


# -- the in-AIR leaf ---------------------------------------------------------------------------
class LeafHashGadget:
    """The leaf of every row, computed in the constraints: a sponge of Poseidon2Gadget
    permutations (one row, horizontally) over idc || packed limbs.

    offset: the first column the gadget owns (it owns `num_columns` consecutive columns);
    idc_cols: the host's 8 id-commitment columns; limb_cols[j][l]: the host's column of asset
    j's limb l (K x 8). The host must range-check the limbs (0..6 in [0, 512), limb 7 a bit):
    the packing is injective only then. width: 16 (rate 8) or 24 (rate 16).

    Permutation 0 takes (chunk 0, the constant capacity of sponge_iv(m)); permutation k takes
    (output_(k-1)[:rate] + chunk k, output_(k-1)[rate:]), all affine expressions, so no input
    columns. The last permutation commits only its 8 digest elements (`digest_cols`). Every
    constraint has degree 3 (or 7 without S-box registers).
    """

    def __init__(
        self,
        offset: int,
        idc_cols: Sequence[int],
        limb_cols: Sequence[Sequence[int]],
        width: int = 16,
        *,
        sbox_registers: bool = True,
    ):
        self.idc_cols = tuple(int(c) for c in idc_cols)
        self.limb_cols = tuple(tuple(int(c) for c in asset) for asset in limb_cols)
        if len(self.idc_cols) != DIGEST:
            raise ValueError(f"the id commitment takes {DIGEST} columns")
        if not self.limb_cols or any(len(a) != LIMBS for a in self.limb_cols):
            raise ValueError(f"limb_cols must list {LIMBS} columns for each of K >= 1 assets")
        self.width, self.offset, self.sbox_registers = width, offset, sbox_registers
        self.num_assets = len(self.limb_cols)
        self.num_packed = len(packing(self.num_assets))
        self.input_length = DIGEST + self.num_packed  # m
        self.rate = width - CAPACITY
        self.num_permutations = -(-self.input_length // self.rate)
        self.iv = sponge_iv(self.input_length, width)
        self.permutations: list[Poseidon2Gadget] = []
        col = offset
        for k in range(self.num_permutations):
            last = k == self.num_permutations - 1
            g = Poseidon2Gadget(
                col,
                width,
                input_cols=(),
                sbox_registers=sbox_registers,
                output_width=DIGEST if last else None,
            )
            self.permutations.append(g)
            col += g.num_columns
        self.num_columns = col - offset
        self.digest_cols = self.permutations[-1].output_cols

    @property
    def columns(self) -> range:
        return range(self.offset, self.offset + self.num_columns)

    @property
    def degree(self) -> int:
        return self.permutations[0].degree

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [c for g in self.permutations for c in g.transition_constraints()]

    @property
    def num_constraints(self) -> int:
        return len(self.transition_constraints())

    def input_expressions(self, main) -> list:
        """The m sponge inputs of a frame row: the idc cells, then the packed limbs (on the
        prover's columns, a 2-D field array, by one compiled pass over the packing's affine
        polynomials: the same field elements as `packed_expressions` gives)."""
        idc = [main[c] for c in self.idc_cols]
        if not (isinstance(main, GF) and main.ndim == 2 and HAVE_NUMBA):
            return idc + packed_expressions(main, self.limb_cols)
        packed = self._packing.evaluate(main, np.empty((0, main.shape[1]), np.uint32))
        return idc + [reduced(row) for row in packed]

    @cached_property
    def _packing(self) -> CompiledPolynomials:
        """packed_expressions traced on symbolic cells (cell c: main column c)."""
        direct = 1 + max(c for asset in self.limb_cols for c in asset)
        return CompiledPolynomials(packed_expressions(Cells(0), self.limb_cols), direct=direct)

    def constraints(self, main) -> list:
        """Every permutation's constraints on a frame row, in order."""
        inputs = self.input_expressions(main)
        r = self.rate
        chunks = [inputs[k * r : (k + 1) * r] for k in range(self.num_permutations)]
        out: list = []
        prev = None
        for k, g in enumerate(self.permutations):
            chunk = chunks[k]
            if prev is None:  # the rate part of the IV is zero; its capacity is a constant
                state = [*chunk, *[GF(0)] * (r - len(chunk)), *[GF(int(v)) for v in self.iv[r:]]]
            else:
                absorbed = [p + c for p, c in zip(prev, chunk, strict=False)]
                state = absorbed + prev[len(chunk) :]  # zero padding adds nothing
            out += g.constraints(main, state)
            prev = [main[c] for c in g.output_cols]
        return out

    def fill(self, trace) -> np.ndarray:
        """Write the gadget's columns for every row of `trace` (main_width, n), numpy integers
        or GF, from the idc and limb cells already in it; returns the leaves (n, 8) uint64.
        Raises ValueError if a limb is out of range."""
        idc = np.stack([np.asarray(trace[c], dtype=np.uint64) for c in self.idc_cols], axis=1)
        limbs = np.stack(
            [
                np.stack([np.asarray(trace[c], dtype=np.int64) for c in asset], axis=1)
                for asset in self.limb_cols
            ],
            axis=1,
        )  # (n, K, 8)
        inputs = leaf_inputs(idc, limbs)
        n, r = inputs.shape[0], self.rate
        padded = np.zeros((n, self.num_permutations * r), dtype=np.uint64)
        padded[:, : self.input_length] = inputs
        state = np.tile(self.iv, (n, 1))
        out = state
        for k, g in enumerate(self.permutations):
            state[:, :r] = (state[:, :r] + padded[:, k * r : (k + 1) * r]) % _P
            out = g.fill(trace, inputs=state)
            state = out.copy()
        return np.ascontiguousarray(out[:, :DIGEST])  # not a view of the whole (n, t) states


# -- a small AIR around the gadget -------------------------------------------------------------
LEAF_AIR_TAG = b"stark-solvency leaf air v1\0"


class LeafAir(Air):
    """n rows, each with a private id commitment and K assets' limbs, and its leaf computed by
    LeafHashGadget; the leaves are public: 8 periodic columns of cycle n (bound into the
    transcript with the AIR's declaration) that the digest columns equal on every row.

    Columns: idc 0..7; limb l of asset j at 8 + 8j + l; the gadget from 8 + 8K. This test AIR
    does not range-check the limbs; a host AIR embedding the gadget must (the solvency AIR
    does: limbs 0..6 by LogUp, limb 7 as a bit).
    """

    def __init__(
        self,
        trace_len: int,
        num_assets: int,
        leaves,
        width: int = 16,
        *,
        sbox_registers: bool = True,
    ):
        super().__init__(trace_len)
        self.num_assets, self.width = num_assets, width
        self.idc_cols = tuple(range(DIGEST))
        self.limb_cols = tuple(
            tuple(DIGEST + LIMBS * j + l for l in range(LIMBS)) for j in range(num_assets)
        )
        self.gadget = LeafHashGadget(
            DIGEST + LIMBS * num_assets,
            self.idc_cols,
            self.limb_cols,
            width,
            sbox_registers=sbox_registers,
        )
        self.main_width = self.gadget.offset + self.gadget.num_columns
        self.name = f"leaf-hash-w{width}" + ("" if sbox_registers else "-noreg")
        leaves = as_states(leaves, DIGEST)
        if leaves.shape[0] != trace_len:
            raise ValueError(f"one leaf per row: {leaves.shape[0]} leaves for {trace_len} rows")
        self.leaves = leaves
        self._periodic = [np.ascontiguousarray(leaves[:, k].astype(np.int64)) for k in range(8)]

    def transition_constraints(self) -> list[TransitionConstraint]:
        return self.gadget.transition_constraints() + [TransitionConstraint(1, all_rows=True)] * 8

    def evaluate_transition(self, f: Frame) -> list:
        out = self.gadget.constraints(f.main)
        out += [
            f.main[c] - leaf for c, leaf in zip(self.gadget.digest_cols, f.periodic, strict=True)
        ]
        return out

    def periodic_columns(self) -> list[np.ndarray]:
        return self._periodic

    def public_inputs(self) -> bytes:
        """A tag, the width, K and the register flag (the leaves are the periodic columns)."""
        return LEAF_AIR_TAG + struct.pack(
            "<BIB", self.width, self.num_assets, self.gadget.sbox_registers
        )


def leaf_trace(
    idc, limbs, width: int = 16, *, sbox_registers: bool = True
) -> tuple[GF, np.ndarray]:
    """LeafAir's main trace for id commitments (n, 8) and limbs (n, K, 8), and the leaves
    (n, 8) uint64 to publish."""
    idc = as_states(idc, DIGEST)
    limbs = check_limbs(limbs)
    n, k = limbs.shape[0], limbs.shape[1]
    gadget = LeafHashGadget(
        DIGEST + LIMBS * k,
        range(DIGEST),
        [[DIGEST + LIMBS * j + l for l in range(LIMBS)] for j in range(k)],
        width,
        sbox_registers=sbox_registers,
    )  # LeafAir's layout
    trace = np.zeros((gadget.offset + gadget.num_columns, n), dtype=np.uint64)
    trace[:DIGEST] = idc.T
    trace[DIGEST : gadget.offset] = limbs.reshape(n, k * LIMBS).T.astype(np.uint64)
    leaves = gadget.fill(trace)
    return reduced(trace), leaves


__all__ = [
    "ID_WIDTH",
    "LIMBS",
    "NONCE_ELEMENTS",
    "LeafAir",
    "LeafHashGadget",
    "check_limbs",
    "encode_id",
    "id_commitment",
    "id_commitments",
    "leaf_hash",
    "leaf_inputs",
    "leaf_path",
    "leaf_paths",
    "leaf_trace",
    "leaves_root",
    "new_nonce",
    "new_nonces",
    "pack_limbs",
    "packed_expressions",
    "packing",
    "padding_id_commitments",
    "tree_levels",
    "verify_leaf_path",
]
