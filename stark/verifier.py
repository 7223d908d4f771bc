"""The STARK verifier. It replays the prover's transcript, checks the out-of-domain equation
H(z) = sum_i alpha^i C_i(z) / Z_i(z) against the claimed values, recomputes the DEEP
polynomial at every queried point from the Merkle-authenticated openings, and runs FRI's
query phase on it. Every failure raises VerificationError; nothing else escapes.
"""

from __future__ import annotations

import numpy as np

from stark import fri
from stark.air import Air, Frame
from stark.field import GF, ExtArray, ExtensionField, inverse_of_difference, root_of_unity
from stark.merkle import salt_width, verify_rows
from stark.params import Domains, StarkParams
from stark.poly import COSET_SHIFT, coset_points, ext_powers
from stark.proof import MatrixOpening, Proof, VerificationError, deserialize
from stark.protocol import (
    OodValues,
    base_to_ext_columns,
    composition,
    deep_combination,
    draw_ood_point,
    num_deep_terms,
    periodic_at,
    start_transcript,
    zerofiers,
)
from stark.security import estimate_security


def verify(
    air: Air, proof: Proof | bytes, *, min_bits: float = 0.0, provable: bool = False
) -> None:
    """Accept (return None) or raise VerificationError with the reason.

    min_bits: refuse, before any other work, a proof whose parameters give fewer bits of
        security than this (conjectured bits, or provable bits when `provable` is set).
    """
    try:
        _verify(air, proof, min_bits, provable)
    except VerificationError:
        raise
    except Exception as e:  # a malformed proof must never escape as another exception
        raise VerificationError(f"malformed proof: {type(e).__name__}: {e}") from None


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


def _verify(air: Air, proof: Proof | bytes, min_bits: float, provable: bool) -> None:
    if not isinstance(proof, Proof):
        proof = deserialize(proof)
    params: StarkParams = proof.params
    shape = air.shape()
    report = estimate_security(params, shape)
    bits = report.provable_bits if provable else report.conjectured_bits
    if bits < min_bits:
        regime = "provable" if provable else "conjectured"
        raise VerificationError(
            f"proof parameters give {bits:.1f} {regime} bits, below the required {min_bits}"
        )
    if proof.log_trace_len != air.trace_len.bit_length() - 1:
        raise VerificationError("proof is for a different trace length")
    if (proof.aux_root is None) != (air.aux_width == 0):
        raise VerificationError("aux segment present/absent against the AIR")
    dom = Domains.of(params, shape)
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
        aux_x = base_to_ext_columns(
            _check_opening(
                proof.aux_opening,
                proof.aux_root,
                depth,
                positions,
                air.aux_width * k,
                salt,
                "aux trace",
            ),
            ext,
        )
    quotient_x = base_to_ext_columns(
        _check_opening(
            proof.quotient_opening,
            proof.quotient_root,
            depth,
            positions,
            (segments + int(params.zk)) * k,
            salt,
            "quotient",
        ),
        ext,
    )
    x = coset_points(COSET_SHIFT, big_n, np.asarray(positions))
    deep = deep_combination(
        gammas,
        main_x,
        aux_x,
        quotient_x[:segments],
        quotient_x[segments] if params.zk else None,
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
