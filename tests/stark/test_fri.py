"""FRI on its own: folding follows its definition, low-degree codewords pass, codewords of
too high a degree are caught by the prover's check and, forced through, by the verifier."""

import numpy as np
import pytest

from stark import fri
from stark.field import GF, ExtensionField, P
from stark.params import AirShape, Domains, StarkParams
from stark.poly import evaluate_coset
from stark.proof import VerificationError
from stark.transcript import Transcript


def setup(n=64, folding=4, remainder=None):
    params = StarkParams(
        blowup=8,
        num_queries=12,
        grinding_bits=0,
        folding_factor=folding,
        remainder_max_len=remainder or folding,
        zk=False,
    )
    dom = Domains.of(params, AirShape("fri-test", n, 1))
    return params, dom, ExtensionField(params.extension_degree)


def codeword(ext, degree, size, seed=1):
    coeffs = GF.Random((ext.degree, degree), seed=seed)
    return ext.array(evaluate_coset(coeffs, size))


def run_fri(word, params, dom, check=True):
    prover_t, verifier_t = Transcript(b"fri"), Transcript(b"fri")
    commitment = fri.commit(word, params, dom, prover_t, check=check)
    positions = sorted(set(prover_t.challenge_indices(params.num_queries, dom.lde_size)))
    openings = fri.open_layers(commitment, positions, dom, params)
    roots = tuple(t.root for t in commitment.trees)
    betas = fri.replay_commit(verifier_t, roots, commitment.remainder)
    fri.verify_queries(
        np.asarray(positions),
        word[np.asarray(positions)],
        roots,
        openings,
        betas,
        commitment.remainder,
        params,
        dom,
    )


@pytest.mark.parametrize("folding", [2, 4, 8])
def test_fold_matches_definition(folding):
    """fold(f)(y) = sum_j beta^j f_j(y) where f(x) = sum_j x^j f_j(x^f)."""
    ext = ExtensionField(4)
    size, degree = 64, 16
    coeffs = GF.Random((4, degree), seed=folding)
    word = ext.array(evaluate_coset(coeffs, size))
    beta = ext.random(seed=9)
    x_inv = np.reciprocal(fri.coset_points(fri.layer_shift(0, folding), size)[: size // folding])
    folded = fri.fold_cosets(
        ext.array(word.coords.reshape(4, folding, size // folding)), x_inv, beta, folding
    )
    # expected coefficients: c'_i = sum_j beta^j c_{f i + j}
    expected = ext.zeros((degree // folding,))
    for j in range(folding):
        expected = expected + ext.array(coeffs[:, j::folding]) * beta**j
    got = ext.array(
        evaluate_coset(expected.coords, size // folding, shift=fri.layer_shift(1, folding))
    )
    assert got == folded


@pytest.mark.parametrize("folding", [2, 4, 8])
def test_low_degree_codeword_passes(folding):
    params, dom, ext = setup(folding=folding)
    run_fri(codeword(ext, dom.fri_degree_bound, dom.lde_size), params, dom)


def test_too_high_degree_is_refused_by_prover():
    params, dom, ext = setup()
    word = codeword(ext, 2 * dom.fri_degree_bound, dom.lde_size)
    with pytest.raises(fri.FriError):
        fri.commit(word, params, dom, Transcript(b"fri"))


@pytest.mark.parametrize("excess", [1, 8, 64])
def test_too_high_degree_is_rejected_by_verifier(excess):
    """Degree just past the bound, or far past it: the remainder (truncated by a cheating
    prover) or a folding step disagrees at some query."""
    params, dom, ext = setup()
    word = codeword(ext, dom.fri_degree_bound + excess, dom.lde_size, seed=excess)
    with pytest.raises(VerificationError):
        run_fri(word, params, dom, check=False)


def test_changed_codeword_value_is_rejected():
    """Values at the queried positions that disagree with the committed layer fail."""
    params, dom, ext = setup()
    word = codeword(ext, dom.fri_degree_bound, dom.lde_size)
    prover_t = Transcript(b"fri")
    commitment = fri.commit(word, params, dom, prover_t)
    positions = sorted(set(prover_t.challenge_indices(params.num_queries, dom.lde_size)))
    roots = tuple(t.root for t in commitment.trees)
    betas = fri.replay_commit(Transcript(b"fri"), roots, commitment.remainder)
    values = word[np.asarray(positions)].copy()
    values.coords[0, 0] = (int(values.coords[0, 0]) + 1) % P
    with pytest.raises(VerificationError, match="FRI layer 0"):
        fri.verify_queries(
            np.asarray(positions),
            values,
            roots,
            fri.open_layers(commitment, positions, dom, params),
            betas,
            commitment.remainder,
            params,
            dom,
        )
