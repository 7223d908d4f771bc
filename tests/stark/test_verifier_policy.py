"""The verifier, not the proof, decides what is acceptable, and every FRI round checks something.

Regression tests for attacks that worked against the first version:
* a parameter block with a one-point FRI remainder domain, under which FRI accepts any
  codeword, so a false trace "proves" (the control below shows it with the old FRI shape);
* verify() with no stated minimum, accepting proofs with 4 queries and no grinding;
* FRI enforcing a looser degree bound than the one the security estimate assumed.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from stark import fri, prover
from stark.air import BoundaryConstraint
from stark.examples import FibonacciAir, RangeCheckAir, fibonacci_trace, range_check_trace
from stark.field import ExtensionField
from stark.params import PRESETS, AirShape, Domains, StarkParams, mask_degree
from stark.poly import evaluate_coset
from stark.proof import VerificationError
from stark.prover import prove
from stark.security import estimate_security
from stark.transcript import Transcript
from stark.verifier import verify


def fibonacci(n: int):
    trace, result = fibonacci_trace(n)
    return FibonacciAir(n, result), trace


# -- the caller decides ----------------------------------------------------------------------------
def test_verify_needs_an_explicit_policy(quick_params):
    air, trace = fibonacci(32)
    proof = prove(air, trace, quick_params)
    with pytest.raises(TypeError, match="accepted_params or min_bits"):
        verify(air, proof)
    with pytest.raises(ValueError, match="regime"):
        verify(air, proof, min_bits=0, regime="hopeful")
    verify(air, proof, accepted_params=[quick_params])


def test_only_the_accepted_parameter_blocks_pass(quick_params):
    """A valid proof under a block the caller did not list is refused before anything else."""
    air, trace = fibonacci(32)
    proof = prove(air, trace, quick_params)
    with pytest.raises(VerificationError, match="not among the accepted"):
        verify(air, proof, accepted_params=PRESETS.values())
    with pytest.raises(VerificationError, match="not among the accepted"):
        verify(air, replace(proof, quotient_root=bytes(32)), accepted_params=[PRESETS["fast"]])


def test_weak_parameters_need_the_caller_to_accept_them():
    """The forged-Fibonacci setting (blowup 2, 4 queries, no grinding) only passes a caller who
    asks for (almost) nothing; a 100-bit minimum in either regime refuses it."""
    weak = StarkParams(blowup=2, num_queries=4, grinding_bits=0, folding_factor=2, zk=False)
    air, trace = fibonacci(64)
    proof = prove(air, trace, weak)
    verify(air, proof, min_bits=0, regime="conjectured")
    for regime in ("conjectured", "provable"):
        with pytest.raises(VerificationError, match="below the required"):
            verify(air, proof, min_bits=100, regime=regime)


def test_the_aux_proof_of_work_is_checked(quick_params):
    """A nonce that fails the grinding before the lookup challenge is refused by that check."""
    params = replace(quick_params, aux_grinding_bits=8)
    air = RangeCheckAir(64, 3)
    proof = prove(air, range_check_trace(np.arange(64) % 8, 3), params)
    verify(air, proof, accepted_params=[params])
    bad = next(
        replace(proof, aux_pow_nonce=nonce)
        for nonce in range(proof.aux_pow_nonce + 1, proof.aux_pow_nonce + 10_000)
        if not _aux_pow_ok(air, params, proof.main_root, nonce)
    )
    with pytest.raises(VerificationError, match="before the aux challenges"):
        verify(air, bad, accepted_params=[params])


def _aux_pow_ok(air, params, main_root: bytes, nonce: int) -> bool:
    from stark.protocol import start_transcript

    t = start_transcript(air, params)
    t.absorb("main root", main_root)
    return t.check_pow(nonce, params.aux_grinding_bits)


# -- every FRI round checks something --------------------------------------------------------------
def _independent_invariants(params: StarkParams, shape: AirShape, dom: Domains) -> None:
    """The documented invariants, recomputed here without Domains' own checker."""
    f, n = params.folding_factor, shape.trace_len
    layers = len(dom.fri_layer_sizes)
    assert dom.trace_degree_bound == n + dom.hiding
    assert dom.hiding >= mask_degree(params) and (params.zk or dom.hiding == 0)
    assert dom.remainder_len * f**layers == dom.trace_degree_bound == dom.fri_degree_bound
    assert 1 <= dom.remainder_len <= params.remainder_max_len
    assert dom.fri_layer_sizes == tuple(dom.lde_size // f**i for i in range(layers))
    assert dom.remainder_domain_size * f**layers == dom.lde_size
    assert dom.rate == dom.trace_degree_bound / dom.lde_size <= 16 / (15 * params.blowup)
    assert dom.remainder_domain_size >= 2 * dom.remainder_len
    assert 16 * dom.remainder_domain_size >= 15 * params.blowup * dom.remainder_len
    # The composition polynomial fits the evaluation domain and the segments.
    assert dom.quotient_len <= dom.eval_size <= dom.lde_size
    assert dom.num_quotient_segments * n >= dom.quotient_len


def test_fri_invariants_hold_for_every_parameter_block():
    """Sweep parameter blocks and trace shapes: Domains.of either refuses a block or returns
    one whose every FRI round is a real test, at the degree bound the committed polynomials
    have."""
    accepted = refused = 0
    for k, blowup, f, log_r, q, zk, log_n, d in itertools.product(
        (4, 5),
        (2, 4, 8, 16),
        (2, 4, 8),
        (0, 1, 2, 3, 6, 8, 10),
        (1, 8, 28, 100, 256),
        (True, False),
        (2, 5, 9, 13, 17),
        (1, 3, 5),
    ):
        if 1 << log_r < f:
            with pytest.raises(ValueError, match="remainder_max_len"):
                StarkParams(k, blowup, q, 0, f, 1 << log_r, zk)
            refused += 1
            continue
        params = StarkParams(k, blowup, q, 0, f, 1 << log_r, zk)
        shape = AirShape("sweep", 1 << log_n, 3, max_constraint_degree=d)
        try:
            dom = Domains.of(params, shape)
        except ValueError:
            refused += 1
            continue
        _independent_invariants(params, shape, dom)
        accepted += 1
    assert accepted > 2000 and refused > 500  # the sweep exercised both outcomes


@pytest.mark.parametrize(
    "block",
    [
        dict(extension_degree=4, blowup=4, num_queries=256, grinding_bits=0, folding_factor=4),
        dict(extension_degree=4, blowup=4, num_queries=64, grinding_bits=0, folding_factor=8),
        {**PRESETS["fast"].__dict__},
    ],
)
def test_one_coefficient_remainders_are_refused(block):
    """The reported attack blocks (remainder_max_len = 1) cannot even be constructed."""
    with pytest.raises(ValueError, match="remainder_max_len"):
        StarkParams(**{**block, "remainder_max_len": 1})


def _fri_accepts(word, params: StarkParams, dom: Domains) -> bool:
    prover_t, verifier_t = Transcript(b"fri"), Transcript(b"fri")
    commitment = fri.commit(word, params, dom, prover_t, check=False)
    positions = sorted(set(prover_t.challenge_indices(params.num_queries, dom.lde_size)))
    roots = tuple(t.root for t in commitment.trees)
    try:
        fri.verify_queries(
            np.asarray(positions),
            word[np.asarray(positions)],
            roots,
            fri.open_layers(commitment, positions, dom, params),
            fri.replay_commit(verifier_t, roots, commitment.remainder),
            commitment.remainder,
            params,
            dom,
        )
    except VerificationError:
        return False
    return True


def test_a_one_point_remainder_domain_accepts_anything_and_is_refused():
    """Control: the FRI shape the first version derived for (blowup 4, folding 8, remainder 1,
    n = 512, zero knowledge with q = 256) folds a 4096-point codeword to one point, where the
    one-coefficient remainder always matches, so a random word passes. That shape breaks the
    invariants; the shape derived now rejects the same random word."""
    ext = ExtensionField(4)
    params = StarkParams(4, 4, 256, 0, 8, 8, zk=False)  # unsalted leaves: FRI alone here
    old = Domains(
        trace_len=512,
        hiding=514,
        trace_degree_bound=1026,
        quotient_len=1025,
        eval_size=2048,
        num_quotient_segments=3,
        lde_size=4096,
        fri_layer_sizes=(4096, 512, 64, 8),
        remainder_len=1,
        remainder_domain_size=1,
        blowup=4,
        folding_factor=8,
    )
    random_word = ext.random((4096,), seed=7)
    assert _fri_accepts(random_word, params, old)  # the attack works on the old shape
    with pytest.raises(ValueError, match="check nothing"):
        old.check_fri_invariants()
    new = Domains.of(params, AirShape("fib", 512, 2, max_constraint_degree=1))
    word = ext.random((new.lde_size,), seed=7)
    assert not _fri_accepts(word, params, new)
    low = ext.array(
        evaluate_coset(ext.random((new.fri_degree_bound,), seed=8).coords, new.lde_size)
    )
    assert _fri_accepts(low, params, new)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_fri_enforces_exactly_the_degree_the_estimate_assumes(preset, monkeypatch):
    """The estimate counts trace polynomials of degree <= D (DEEP quotients of degree < D).
    A proof whose trace polynomials have degree D verifies; degree D + 1 is rejected. (The
    first version's FRI let degree up to r f^L > D through, e.g. 36,864 for D = 32,826.)"""
    params = replace(PRESETS[preset], grinding_bits=0)
    air, trace = fibonacci(1024)
    dom = Domains.of(params, air.shape())
    original = prover.hide

    def over_masked(extra: int):
        def hide(coeffs, hiding, rng):
            return original(coeffs, hiding + extra, rng)

        return hide

    monkeypatch.setattr(prover, "hide", over_masked(1))  # degree n + h = D
    verify(air, prove(air, trace, params, check=False), accepted_params=[params])
    monkeypatch.setattr(prover, "hide", over_masked(2))  # degree D + 1
    with pytest.raises(VerificationError, match="FRI"):
        verify(air, prove(air, trace, params, check=False), accepted_params=[params])
    assert estimate_security(params, air.shape()).terms["deep"] > 100
    assert dom.fri_degree_bound == dom.trace_degree_bound


def test_an_inconsistent_air_declaration_is_refused(quick_params):
    """The verifier checks the AIR's declaration too (a boundary row outside the trace would
    otherwise be read modulo n)."""
    air, trace = fibonacci(32)
    proof = prove(air, trace, quick_params)

    class OutOfRange(FibonacciAir):
        def boundary_constraints(self):
            return [*super().boundary_constraints(), BoundaryConstraint(0, 32, 1)]

    with pytest.raises(VerificationError, match="declaration"):
        verify(OutOfRange(32, air.result), proof, accepted_params=[quick_params])
