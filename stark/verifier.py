"""The STARK verifier. It replays the prover's transcript, checks the out-of-domain equation
H(z) = sum_i alpha^i C_i(z) / Z_i(z) against the claimed values, recomputes the DEEP
polynomial at every queried point from the Merkle-authenticated openings, and runs FRI's
query phase on it. Every failure raises VerificationError; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from stark import fri
from stark.air import Air, Frame
from stark.field import GF, ExtArray, ExtensionField, inverse_of_difference, root_of_unity
from stark.merkle import salt_width, verify_rows
from stark.params import AirShape, Domains, StarkParams
from stark.poly import COSET_SHIFT, coset_points, ext_powers
from stark.proof import MatrixOpening, Proof, VerificationError, deserialize
from stark.protocol import (
    OodValues,
    composition,
    deep_combination,
    draw_ood_point,
    num_deep_terms,
    periodic_at,
    start_transcript,
    zerofiers,
)
from stark.security import estimate_security

REGIMES = ("provable", "conjectured")


def verify(
    air: Air,
    proof: Proof | bytes,
    *,
    accepted_params: Collection[StarkParams] | None = None,
    min_bits: float | None = None,
    regime: str = "provable",
) -> None:
    """Accept (return None) or raise VerificationError with the reason.

    The caller, not the proof, decides which parameters are acceptable, and must say so with at
    least one of:
    accepted_params: the parameter sets accepted; the proof's block must equal one of them.
    min_bits: the least security accepted in `regime` ("provable": unique-decoding
        round-by-round bits; "conjectured": the ethSTARK conjecture), every round counted.
    Both are checked before any other work.
    """
    if accepted_params is None and min_bits is None:
        raise TypeError("verify() needs accepted_params or min_bits: the verifier decides")
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}")
    accepted = None if accepted_params is None else tuple(accepted_params)
    try:
        _verify(air, proof, accepted, min_bits, regime)
    except VerificationError:
        raise
    except Exception as e:  # a malformed proof must never escape as another exception
        raise VerificationError(f"malformed proof: {type(e).__name__}: {e}") from None


def check_acceptable(
    params: StarkParams,
    shape: AirShape,
    accepted: tuple[StarkParams, ...] | None,
    min_bits: float | None,
    regime: str,
) -> None:
    """Refuse parameters the caller did not accept, or that give too few bits."""
    if accepted is not None and params not in accepted:
        raise VerificationError("the proof's parameters are not among the accepted ones")
    try:
        Domains.of(params, shape)  # refuses FRI shapes in which some round checks nothing
    except ValueError as e:
        raise VerificationError(f"unacceptable parameters: {e}") from None
    if min_bits is not None:
        report = estimate_security(params, shape)
        bits = report.provable_bits if regime == "provable" else report.conjectured_bits
        if bits < min_bits:
            raise VerificationError(
                f"proof parameters give {bits:.1f} {regime} bits, below the required {min_bits}"
            )


def _ext_rows(rows: np.ndarray, ext: ExtensionField, what: str, count: int) -> ExtArray:
    if rows.shape != (count, ext.degree):
        raise VerificationError(f"{what}: expected {count} values of degree {ext.degree}")
    return ExtArray(ext, GF(np.ascontiguousarray(rows.T)))


def _check_opening(
    opening: MatrixOpening,
    root: bytes,
    depth: int,
    positions: list[int],
    width: int,
    salt_words: int,
    what: str,
) -> GF:
    """Authenticate opened rows; return their values without salts, as columns (width, Q)."""
    if opening.rows.shape != (len(positions), salt_words + width):
        raise VerificationError(f"{what} opening has the wrong shape")
    if not verify_rows(root, depth, positions, opening.rows, opening.siblings):
        raise VerificationError(f"{what} opening does not match its Merkle root")
    return GF(np.ascontiguousarray(opening.rows[:, salt_words:].T))


def _verify(
    air: Air,
    proof: Proof | bytes,
    accepted: tuple[StarkParams, ...] | None,
    min_bits: float | None,
    regime: str,
) -> None:
    if not isinstance(proof, Proof):
        proof = deserialize(proof)
    params: StarkParams = proof.params
    try:
        air.validate_declaration()
    except ValueError as e:
        raise VerificationError(f"the AIR's declaration is inconsistent: {e}") from None
    shape = air.shape()
    check_acceptable(params, shape, accepted, min_bits, regime)
    dom = Domains.of(params, shape)
    if proof.log_trace_len != air.trace_len.bit_length() - 1:
        raise VerificationError("proof is for a different trace length")
    if (proof.aux_root is None) != (air.aux_width == 0):
        raise VerificationError("aux segment present/absent against the AIR")
    ext = ExtensionField(params.extension_degree)
    n, big_n = air.trace_len, dom.lde_size
    width = air.main_width + air.aux_width
    segments = dom.num_quotient_segments
    if len(proof.fri_roots) != len(dom.fri_layer_sizes):
        raise VerificationError("wrong number of FRI layers")

    # Replay the transcript.
    transcript = start_transcript(air, params)
    transcript.absorb("main root", proof.main_root)
    challenges = None
    if air.aux_width:
        if not transcript.check_pow(proof.aux_pow_nonce, params.aux_grinding_bits):
            raise VerificationError("proof-of-work nonce before the aux challenges is invalid")
        transcript.absorb("aux pow nonce", proof.aux_pow_nonce.to_bytes(8, "little"))
        challenges = transcript.challenge_ext(ext, air.num_aux_challenges)
        transcript.absorb("aux root", proof.aux_root)
    alphas = ext_powers(transcript.challenge_ext(ext)[0], shape.num_constraints)
    transcript.absorb("quotient root", proof.quotient_root)
    z = draw_ood_point(transcript, ext, n, big_n)
    gz = z * root_of_unity(n.bit_length() - 1)
    ood = OodValues(
        trace_z=_ext_rows(proof.ood_trace_z, ext, "trace values at z", width),
        trace_gz=_ext_rows(proof.ood_trace_gz, ext, "trace values at g*z", width),
        quotient_z=_ext_rows(proof.ood_quotient_z, ext, "quotient values at z", segments),
    )
    transcript.absorb("ood values", ood.to_bytes())
    gammas = ext_powers(transcript.challenge_ext(ext)[0], num_deep_terms(shape, dom, params))
    remainder = _ext_rows(proof.fri_remainder, ext, "FRI remainder", dom.remainder_len)
    betas = fri.replay_commit(transcript, proof.fri_roots, remainder)
    if not transcript.check_pow(proof.pow_nonce, params.grinding_bits):
        raise VerificationError("proof-of-work nonce is invalid")
    transcript.absorb("pow nonce", proof.pow_nonce.to_bytes(8, "little"))
    positions = sorted(set(transcript.challenge_indices(params.num_queries, big_n)))

    # The out-of-domain equation: the constraints at z agree with the committed quotient.
    frame = Frame(
        main=ood.trace_z[: air.main_width],
        main_next=ood.trace_gz[: air.main_width],
        aux=ood.trace_z[air.main_width :] if air.aux_width else None,
        aux_next=ood.trace_gz[air.main_width :] if air.aux_width else None,
        periodic=periodic_at(air, z),
        challenges=challenges,
    )
    expected = composition(air, frame, alphas, zerofiers(air, z, lambda v: v.inverse()))
    z_n = z**n
    claimed = ood.quotient_z[segments - 1]
    for s in range(segments - 2, -1, -1):  # H(z) = sum_s z^(s n) H_s(z), by Horner in z^n
        claimed = claimed * z_n + ood.quotient_z[s]
    if expected != claimed:
        raise VerificationError("out-of-domain check failed: constraints do not match the quotient")

    # Openings at the queried positions, then the DEEP values FRI starts from.
    depth, salt = big_n.bit_length() - 1, salt_width(params.zk)
    k = ext.degree
    main_x = _check_opening(
        proof.main_opening, proof.main_root, depth, positions, air.main_width, salt, "main trace"
    )
    aux_x = None
    if air.aux_width:
        aux_x = _check_opening(
            proof.aux_opening,
            proof.aux_root,
            depth,
            positions,
            air.aux_width * k,
            salt,
            "aux trace",
        )
    quotient_x = _check_opening(
        proof.quotient_opening,
        proof.quotient_root,
        depth,
        positions,
        (segments + int(params.zk)) * k,
        salt,
        "quotient",
    )
    x = coset_points(COSET_SHIFT, big_n, np.asarray(positions))
    deep = deep_combination(
        gammas,
        main_x,
        aux_x,
        quotient_x,
        segments,
        ood,
        inverse_of_difference(x, z),
        inverse_of_difference(x, gz),
    )
    fri.verify_queries(
        np.asarray(positions),
        deep,
        proof.fri_roots,
        proof.fri_openings,
        betas,
        remainder,
        params,
        dom,
    )
