"""The STARK prover (DEEP-ALI + FRI).

1. commit the main trace's LDE; draw the auxiliary challenges; commit the auxiliary LDE;
2. draw alpha; evaluate H = sum_i alpha^i C_i / Z_i on the constraint domain; split H into
   segments of degree < D and commit their LDE;
3. draw z; send every trace column at z and g*z and every segment at z;
4. draw gamma; FRI on the DEEP combination of all committed polynomials;
5. grind; draw query positions; open every committed matrix there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from stark import fri
from stark.air import Air, Frame
from stark.field import (
    GF,
    ExtArray,
    ExtensionField,
    inverse_of_difference,
    root_of_unity,
    to_int_array,
)
from stark.merkle import MerkleTree
from stark.params import Domains, StarkParams
from stark.poly import (
    COSET_SHIFT,
    coset_points,
    evaluate_at,
    evaluate_coset,
    ext_powers,
    interpolate_coset,
    low_degree_extend,
)
from stark.proof import MatrixOpening, Proof
from stark.protocol import (
    OodValues,
    base_to_ext_columns,
    combine_ext_columns,
    composition,
    deep_combination,
    draw_ood_point,
    ext_columns_to_base,
    num_deep_terms,
    periodic_on_coset,
    start_transcript,
    zerofiers,
)

PHASES = ("trace LDE", "trace commit", "constraints", "quotient", "DEEP", "FRI", "queries")


class ProverError(ValueError):
    """The witness does not satisfy the AIR (found by the prover's self-check)."""


class _Phases:
    """Times each prover phase and reports its start to an optional callback."""

    def __init__(self, on_phase: Callable[[str], None] | None):
        self.on_phase = on_phase
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.on_phase:
            self.on_phase(name)
        start = time.perf_counter()
        yield
        self.seconds[name] += time.perf_counter() - start


def commit_rows(columns: GF) -> MerkleTree:
    """Commit to an LDE held as columns (cols, N): leaf i is row i."""
    return MerkleTree(np.ascontiguousarray(np.asarray(columns).T))


def prove(
    air: Air,
    main_trace: GF,
    params: StarkParams,
    *,
    check: bool = True,
    on_phase: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
) -> Proof:
    """Prove that `main_trace` (shape (main_width, n)) satisfies `air`.

    check: run the prover's self-checks (constraints on the trace, FRI degree); switching them
        off lets tests produce proofs of false statements, which the verifier must reject.
    on_phase: called with each phase's name as it starts (for progress display).
    timings: if given, filled with seconds per phase.
    """
    air.validate_declaration()
    shape = air.shape()
    dom = Domains.of(params, shape)
    ext = ExtensionField(params.extension_degree)
    n, big_n = air.trace_len, dom.lde_size
    main_trace = GF(main_trace)
    if main_trace.shape != (air.main_width, n):
        raise ValueError(f"trace has shape {main_trace.shape}, expected {(air.main_width, n)}")
    phase = _Phases(on_phase)
    transcript = start_transcript(air, params)

    with phase("trace LDE"):
        main_coeffs, main_lde = low_degree_extend(main_trace, big_n)
    with phase("trace commit"):
        main_tree = commit_rows(main_lde)
    transcript.absorb("main root", main_tree.root)

    aux_trace = challenges = aux_coeffs = aux_lde = aux_tree = None
    if air.aux_width:
        challenges = transcript.challenge_ext(ext, air.num_aux_challenges)
        aux_trace = air.build_aux_trace(main_trace, challenges)
        with phase("trace LDE"):
            aux_coeffs, aux_lde = low_degree_extend(ext_columns_to_base(aux_trace), big_n)
        with phase("trace commit"):
            aux_tree = commit_rows(aux_lde)
        transcript.absorb("aux root", aux_tree.root)

    if check:
        violation = air.find_violation(main_trace, aux_trace, challenges)
        if violation is not None:
            what, row = violation
            raise ProverError(f"{air.name}: the trace violates {what} at row {row}")

    alphas = ext_powers(transcript.challenge_ext(ext)[0], shape.num_constraints)
    with phase("constraints"):
        quotient_values = _composition_on_eval_domain(
            air, dom, ext, main_lde, aux_lde, challenges, alphas
        )
    with phase("quotient"):
        coeffs = interpolate_coset(quotient_values.coords)  # (k, E)
        segments = dom.num_quotient_segments
        segment_coeffs = GF(
            np.ascontiguousarray(
                np.asarray(coeffs)
                .reshape(ext.degree, segments, n)
                .transpose(1, 0, 2)
                .reshape(segments * ext.degree, n)
            )
        )
        quotient_lde = evaluate_coset(segment_coeffs, big_n)
        quotient_tree = commit_rows(quotient_lde)
    transcript.absorb("quotient root", quotient_tree.root)

    with phase("DEEP"):
        z = draw_ood_point(transcript, ext, n, big_n)
        gz = z * root_of_unity(n.bit_length() - 1)
        ood = OodValues(
            trace_z=_trace_at(main_coeffs, aux_coeffs, z, ext),
            trace_gz=_trace_at(main_coeffs, aux_coeffs, gz, ext),
            quotient_z=combine_ext_columns(evaluate_at(segment_coeffs, z), ext),
        )
        transcript.absorb("ood values", ood.to_bytes())
        gammas = ext_powers(transcript.challenge_ext(ext)[0], num_deep_terms(shape, segments))
        x = coset_points(COSET_SHIFT, big_n)
        deep = deep_combination(
            gammas,
            main_lde,
            None if aux_lde is None else base_to_ext_columns(aux_lde, ext),
            base_to_ext_columns(quotient_lde, ext),
            ood,
            inverse_of_difference(x, z),
            inverse_of_difference(x, gz),
        )
    with phase("FRI"):
        fri_commitment = fri.commit(deep, params, dom, transcript, check=check)
        nonce = transcript.grind(params.grinding_bits)
        transcript.absorb("pow nonce", nonce.to_bytes(8, "little"))
    with phase("queries"):
        positions = sorted(set(transcript.challenge_indices(params.num_queries, big_n)))
        fri_openings = fri.open_layers(fri_commitment, positions, dom, params)

        def opening(lde: GF, tree: MerkleTree) -> MatrixOpening:
            rows = np.ascontiguousarray(to_int_array(lde[:, positions]).T.astype(np.uint32))
            return MatrixOpening(rows, tree.open(positions))

        proof = Proof(
            params=params,
            log_trace_len=n.bit_length() - 1,
            main_root=main_tree.root,
            aux_root=None if aux_tree is None else aux_tree.root,
            quotient_root=quotient_tree.root,
            fri_roots=tuple(t.root for t in fri_commitment.trees),
            ood_trace_z=_coords_rows(ood.trace_z),
            ood_trace_gz=_coords_rows(ood.trace_gz),
            ood_quotient_z=_coords_rows(ood.quotient_z),
            fri_remainder=_coords_rows(fri_commitment.remainder),
            pow_nonce=nonce,
            main_opening=opening(main_lde, main_tree),
            aux_opening=None if aux_tree is None else opening(aux_lde, aux_tree),
            quotient_opening=opening(quotient_lde, quotient_tree),
            fri_openings=fri_openings,
        )
    if timings is not None:
        timings.update(phase.seconds)
    return proof


def _coords_rows(a: ExtArray) -> np.ndarray:
    """Extension values (m,) as an (m, k) uint32 matrix for the proof."""
    return np.ascontiguousarray(to_int_array(a.coords).T.astype(np.uint32))


def _trace_at(main_coeffs: GF, aux_coeffs: GF | None, point: ExtArray, ext) -> ExtArray:
    """Every trace column (main, then aux as extension values) at one extension point."""
    values = evaluate_at(main_coeffs, point)
    if aux_coeffs is None:
        return values
    aux = combine_ext_columns(evaluate_at(aux_coeffs, point), ext)
    return ExtArray(
        ext, GF(np.concatenate([np.asarray(values.coords), np.asarray(aux.coords)], axis=1))
    )


def _composition_on_eval_domain(air, dom, ext, main_lde, aux_lde, challenges, alphas) -> ExtArray:
    """H on the constraint domain s*<w_E>, which is every (N/E)-th point of the LDE coset; the
    next row of point i is point i + E/n."""
    stride, step = dom.lde_size // dom.eval_size, dom.eval_size // dom.trace_len
    main = GF(np.ascontiguousarray(main_lde[:, ::stride]))
    aux = None
    if aux_lde is not None:
        aux = base_to_ext_columns(GF(np.ascontiguousarray(aux_lde[:, ::stride])), ext)
    frame = Frame(
        main=main,
        main_next=GF(np.roll(main, -step, axis=1)),
        aux=aux,
        aux_next=None if aux is None else ExtArray(ext, GF(np.roll(aux.coords, -step, axis=2))),
        periodic=periodic_on_coset(air, dom.eval_size, COSET_SHIFT),
        challenges=challenges,
    )
    x = coset_points(COSET_SHIFT, dom.eval_size)
    return composition(air, frame, alphas, zerofiers(air, x, np.reciprocal))
