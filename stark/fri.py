"""FRI: a proof that a committed codeword is close to a polynomial of low degree.

Layer l holds a codeword over the coset D_l = s_l * <w_{N_l}> (s_0 = s, s_{l+1} = s_l^f,
N_{l+1} = N_l / f). With f the folding factor, write the polynomial as
f(x) = sum_{j<f} x^j f_j(x^f); folding with the verifier's challenge beta gives
f'(y) = sum_j beta^j f_j(y) on D_{l+1}, of degree f times smaller.

A leaf of layer l's Merkle tree is a whole folding coset: leaf b holds the values at positions
b + m * N_l / f (m < f), the f points x_b * zeta^m whose f-th power is the same point y_b of
D_{l+1} (zeta a primitive f-th root of unity). Position b of D_{l+1} is y_b.

When the degree bound reaches params.remainder_max_len the prover sends the remaining
polynomial as its coefficients; the verifier evaluates them at the queried points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stark.field import GF, ExtArray, ExtensionField, P, batch_inverse, power, root_of_unity
from stark.merkle import MerkleTree, salt_width, verify_rows, with_salts
from stark.params import Domains, StarkParams
from stark.poly import COSET_SHIFT, coset_points, interpolate_coset
from stark.proof import MatrixOpening, VerificationError
from stark.randomness import ProverRandomness
from stark.transcript import Transcript


def layer_shift(layer: int, folding_factor: int) -> GF:
    """s_l = s^(f^l), the shift of layer l's coset."""
    return power(COSET_SHIFT, folding_factor**layer)


def fold_cosets(values: ExtArray, x_inv: GF, beta: ExtArray, folding_factor: int) -> ExtArray:
    """Fold f values per coset into one.

    values: shape (f, B), values[m, b] = f(x_b * zeta^m); x_inv: 1/x_b, shape (B,).
    With u_j = sum_m zeta^(-m j) values[m] (an inverse DFT of size f),
    f_j(x_b^f) = u_j / (f x_b^j), so f'(x_b^f) = (1/f) sum_j (beta / x_b)^j u_j.
    """
    f = folding_factor
    # zeta^-1 = zeta^(f-1), its powers and 1/f as integer powers, not galois' compiled ufuncs
    zeta = root_of_unity(f.bit_length() - 1)
    zeta_inv_powers = power(zeta, (f - np.arange(f)) % f)
    ratio = beta * x_inv  # (B,)
    term = values.field.ones(x_inv.shape)
    acc = values.field.zeros(x_inv.shape)
    for j in range(f):
        u_j = values[0]
        for m in range(1, f):
            u_j = u_j + values[m] * zeta_inv_powers[(m * j) % f]
        acc = acc + term * u_j
        term = term * ratio
    return acc * power(f, P - 2)


def coset_rows(codeword: ExtArray, folding_factor: int) -> np.ndarray:
    """Leaf matrix (N/f, f*k): leaf b lists the k coordinates of values b + m N/f, m < f."""
    k = codeword.field.degree
    n = codeword.shape[0]
    grouped = np.asarray(codeword.coords).reshape(k, folding_factor, n // folding_factor)
    return np.ascontiguousarray(grouped.transpose(2, 1, 0).reshape(n // folding_factor, -1))


def rows_to_cosets(rows: np.ndarray, ext: ExtensionField, folding_factor: int) -> ExtArray:
    """Inverse of coset_rows for opened leaves: rows (B, f*k) -> values (f, B)."""
    b = rows.shape[0]
    coords = GF(np.asarray(rows).reshape(b, folding_factor, ext.degree).transpose(2, 1, 0))
    return ExtArray(ext, coords)


@dataclass
class FriCommitment:
    """The prover's FRI state after the commit phase."""

    layer_rows: list[np.ndarray]
    trees: list[MerkleTree]
    remainder: ExtArray  # (remainder_len,) coefficients


class FriError(ValueError):
    """The prover's own codeword failed FRI (it is not of the claimed degree)."""


def commit(
    codeword: ExtArray,
    params: StarkParams,
    domains: Domains,
    transcript: Transcript,
    rng: ProverRandomness | None = None,
    check: bool = True,
) -> FriCommitment:
    """Commit phase: commit each layer (leaves salted when `rng` is given), fold with a fresh
    challenge, send the remainder."""
    f = params.folding_factor
    rows_per_layer, trees = [], []
    for layer, size in enumerate(domains.fri_layer_sizes):
        salts = None if rng is None else rng.salts(size // f)
        rows = with_salts(coset_rows(codeword, f), salts)
        tree = MerkleTree(rows)
        transcript.absorb("fri root", tree.root)
        beta = transcript.challenge_ext(codeword.field)[0]
        # x_b = s_l * w_{N_l}^b for b < N_l / f: the first point of each folding coset
        x_inv = np.reciprocal(coset_points(layer_shift(layer, f), size)[: size // f])
        k = codeword.field.degree
        folded_input = ExtArray(codeword.field, codeword.coords.reshape(k, f, size // f))
        codeword = fold_cosets(folded_input, x_inv, beta, f)
        rows_per_layer.append(rows)
        trees.append(tree)
    shift = layer_shift(len(domains.fri_layer_sizes), f)
    coeffs = interpolate_coset(codeword.coords, shift)  # (k, remainder domain size)
    if check and np.any(np.asarray(coeffs[:, domains.remainder_len :]) != 0):
        raise FriError("FRI remainder exceeds its degree bound: the codeword is not low-degree")
    remainder = ExtArray(
        codeword.field, GF(np.ascontiguousarray(coeffs[:, : domains.remainder_len]))
    )
    transcript.absorb("fri remainder", np.asarray(remainder.coords, dtype="<u4").tobytes())
    return FriCommitment(rows_per_layer, trees, remainder)


def open_layers(
    fri: FriCommitment, positions: list[int], domains: Domains, params: StarkParams
) -> tuple[MatrixOpening, ...]:
    """Query phase: the opened coset of every layer for every query position."""
    openings = []
    pos = np.asarray(positions, dtype=np.int64)
    for rows, tree, size in zip(fri.layer_rows, fri.trees, domains.fri_layer_sizes, strict=True):
        pos = pos % (size // params.folding_factor)
        leaves = sorted(set(pos.tolist()))
        openings.append(MatrixOpening(rows[leaves], tree.open(leaves)))
    return tuple(openings)


# -- verifier ------------------------------------------------------------------------------------
def replay_commit(transcript: Transcript, roots: tuple[bytes, ...], remainder: ExtArray) -> list:
    """The verifier's side of the commit phase: the folding challenges, in order."""
    betas = []
    for root in roots:
        transcript.absorb("fri root", root)
        betas.append(transcript.challenge_ext(remainder.field)[0])
    transcript.absorb("fri remainder", np.asarray(remainder.coords, dtype="<u4").tobytes())
    return betas


def evaluate_remainder(remainder: ExtArray, x: GF) -> ExtArray:
    """Horner's rule for the remainder polynomial at base points x."""
    acc = remainder.field.zeros(x.shape)
    for i in range(remainder.shape[0] - 1, -1, -1):
        acc = acc * x + remainder[i]
    return acc


def verify_queries(
    positions: np.ndarray,
    values: ExtArray,
    roots: tuple[bytes, ...],
    openings: tuple[MatrixOpening, ...],
    betas: list,
    remainder: ExtArray,
    params: StarkParams,
    domains: Domains,
) -> None:
    """Check that the layer-0 `values` at sorted distinct `positions` fold consistently through
    every opened layer down to the remainder polynomial. Raises VerificationError."""
    ext, f = values.field, params.folding_factor
    salt_words = salt_width(params.zk)
    pos = np.asarray(positions, dtype=np.int64)
    for layer, (size, root, opening, beta) in enumerate(
        zip(domains.fri_layer_sizes, roots, openings, betas, strict=True)
    ):
        width = size // f
        leaf, slot = pos % width, pos // width
        leaves = np.unique(leaf)
        if opening.rows.shape != (len(leaves), salt_words + f * ext.degree):
            raise VerificationError(f"FRI layer {layer}: opening has the wrong shape")
        if not verify_rows(
            root, width.bit_length() - 1, leaves.tolist(), opening.rows, opening.siblings
        ):
            raise VerificationError(f"FRI layer {layer}: Merkle opening does not match the root")
        cosets = rows_to_cosets(opening.rows[:, salt_words:], ext, f)
        at = np.searchsorted(leaves, leaf)
        opened = ExtArray(ext, cosets.coords[:, slot, at])
        if opened != values:
            raise VerificationError(f"FRI layer {layer}: value disagrees with the layer before")
        x_inv = batch_inverse(coset_points(layer_shift(layer, f), size, leaves))
        values = fold_cosets(cosets, x_inv, beta, f)[at]
        pos = leaf
    last = len(domains.fri_layer_sizes)
    x = coset_points(layer_shift(last, f), domains.remainder_domain_size, pos)
    if evaluate_remainder(remainder, x) != values:
        raise VerificationError("FRI remainder disagrees with the last layer")
