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
from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from stark import fri, ntt
from stark.air import Air, Frame
from stark.field import (
    GF,
    ExtArray,
    ExtensionField,
    P,
    batch_inverse,
    reduced,
    root_of_unity,
    to_int_array,
)
from stark.merkle import MerkleTree, with_salts
from stark.params import Domains, StarkParams
from stark.poly import (
    COSET_SHIFT,
    TracePolynomials,
    coset_points,
    evaluate_at,
    evaluate_coset,
    ext_powers,
    interpolate,
    interpolate_coset,
)
from stark.proof import MatrixOpening, Proof
from stark.protocol import (
    OodValues,
    base_to_ext_columns,
    combine_ext_columns,
    composition,
    deep_coefficients,
    draw_ood_point,
    ext_columns_to_base,
    num_deep_terms,
    periodic_on_coset,
    start_transcript,
    zerofiers,
)
from stark.randomness import ProverRandomness

#: At most this many points of the constraint domain are evaluated at once (see
#: _composition_on_eval_domain).
COMPOSITION_CHUNK = 1 << 15
#: Trace columns times points per chunk: the constraints' temporaries (next rows, products)
#: take a word or two per column and point, so wide traces get shorter chunks. At 2^25 they
#: stay near 100 MB and in cache better than with longer chunks (measured faster): 8,192
#: points at 22 assets (2,353 columns), 4,096 at 200 assets (18,838 columns).
COMPOSITION_WORDS = 1 << 25
#: Fewest points per chunk: each chunk runs every constraint's Python code once, which
#: dominates below this (200 assets, 4,096 users: 57 s of constraints with 1,024-point
#: chunks, 26 s with 4,096).
COMPOSITION_MIN_CHUNK = 1 << 12


TRACE_PHASES = ("main trace LDE", "main trace commit")
AUX_PHASES = ("auxiliary trace", "auxiliary trace LDE", "auxiliary trace commit")
LATER_PHASES = ("constraints", "quotient", "DEEP", "FRI", "queries")


class ProverError(ValueError):
    """The witness does not satisfy the AIR (found by the prover's self-check)."""


class _Phases:
    """Times each prover phase and reports its start, with its place in the order, to an
    optional callback: on_phase(name, step, total), step counting from 1. Every statement of
    `prove` runs inside a phase, so the phases' seconds add up to the whole call."""

    def __init__(self, on_phase: Callable[[str, int, int], None] | None, with_aux: bool):
        self.on_phase = on_phase
        self.order = TRACE_PHASES + (AUX_PHASES if with_aux else ()) + LATER_PHASES
        self.seconds: dict[str, float] = dict.fromkeys(self.order, 0.0)
        self.current: str | None = None

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.on_phase and name != self.current:  # a phase may be entered twice in a row
            self.on_phase(name, self.order.index(name) + 1, len(self.order))
        self.current = name
        start = time.perf_counter()
        yield
        self.seconds[name] += time.perf_counter() - start


@dataclass
class Commitment:
    """A committed LDE: its columns (cols, N), the salt words in front of each leaf (zero
    knowledge; None without) and the Merkle tree over the salted rows."""

    columns: GF
    salts: np.ndarray | None
    tree: MerkleTree

    def open(self, positions: list[int]) -> MatrixOpening:
        rows = to_int_array(self.columns[:, positions]).T.astype(np.uint32)
        salts = None if self.salts is None else self.salts[positions]
        return MatrixOpening(with_salts(rows, salts), self.tree.open(positions))


def commit_columns(columns: GF, rng: ProverRandomness | None) -> Commitment:
    """Commit to an LDE held as columns (cols, N): leaf i is (salt_i, row i), hashed from the
    columns block by block (no transposed copy of the LDE)."""
    salts = None if rng is None else rng.salts(columns.shape[1])
    return Commitment(columns, salts, MerkleTree.of_columns(np.asarray(columns), salts))


def hide(coeffs: GF, hiding: int, rng: ProverRandomness | None) -> GF:
    """t(X) + Z_H(X) r(X) with r random of degree < h, for every row of coefficients (cols, n).

    Z_H(X) = X^n - 1 vanishes on the trace domain, so the values on H (and every constraint)
    are unchanged, while the values at any h points outside H are uniform and independent of t.
    """
    if rng is None or hiding == 0:
        return coeffs
    cols, n = coeffs.shape
    r = np.asarray(rng.elements(cols, hiding), dtype=np.int64)
    out = ntt.zeros_on_small_pages((cols, n + hiding))  # plain integers: no range checks
    out[:, :n] = np.asarray(coeffs)
    out[:, :hiding] = (out[:, :hiding] - r) % P
    out[:, n:] = (out[:, n:] + r) % P
    return reduced(out)


def split_quotient(
    coeffs: GF, dom: Domains, ext: ExtensionField, rng: ProverRandomness | None
) -> GF:
    """Cut H (coordinate coefficients (k, E)) into S chunks H_s of n coefficients, so that
    H(X) = sum_s X^(s n) H_s(X), and blind them: H_s += X^n b_s, H_(s+1) -= b_s with b_s random
    of degree < h, which leaves the sum unchanged and every H_s uniform at h points.

    Returns base-field coefficient rows (S*k, D), row s*k + j = coordinate j of H_s.
    """
    k, n, segments = ext.degree, dom.trace_len, dom.num_quotient_segments
    width = dom.trace_degree_bound
    chunks = GF.Zeros((segments, k, width))
    chunks[:, :, :n] = (
        np.asarray(coeffs[:, : segments * n]).reshape(k, segments, n).transpose(1, 0, 2)
    )
    if rng is not None:
        for s in range(segments - 1):
            blind = rng.elements(k, dom.hiding)
            chunks[s, :, n:] += blind
            chunks[s + 1, :, : dom.hiding] -= blind
    return GF(np.ascontiguousarray(chunks.reshape(segments * k, width)))


def prove(
    air: Air,
    main_trace: GF,
    params: StarkParams,
    *,
    check: bool = True,
    seed: int | bytes | None = None,
    on_phase: Callable[[str, int, int], None] | None = None,
    timings: dict[str, float] | None = None,
) -> Proof:
    """Prove that `main_trace` (shape (main_width, n)) satisfies `air`.

    check: run the prover's self-checks (the quotient's and FRI's degrees; a trace that fails
        them is named by its first violated constraint and row, see _explain_high_degree);
        switching them off lets tests produce proofs of false statements, which the verifier
        must reject.
    seed: with zero knowledge, derive the masks from this seed instead of the operating
        system's generator (reproducible proofs for tests and audits).
    on_phase: called as each phase starts with its name, its step (from 1) and the number of
        phases (for progress display: "6/10 constraints").
    timings: if given, filled with seconds per phase (they add up to the whole call).
    """
    phase = _Phases(on_phase, with_aux=air.aux_width > 0)
    with phase("main trace LDE"):  # with the checks of the declaration and the trace
        air.validate_declaration()
        shape = air.shape()
        dom = Domains.of(params, shape)
        ext = ExtensionField(params.extension_degree)
        n, big_n = air.trace_len, dom.lde_size
        if not isinstance(main_trace, GF):  # a field array is already range-checked: no copy
            main_trace = GF(main_trace)
        if main_trace.shape != (air.main_width, n):
            raise ValueError(f"trace has shape {main_trace.shape}, expected {(air.main_width, n)}")
        transcript = start_transcript(air, params)
        rng = ProverRandomness(seed) if params.zk else None

    def commit_trace(
        trace: GF | ExtArray, label: str, which: str
    ) -> tuple[TracePolynomials, Commitment]:
        with phase(f"{which} trace LDE"):
            # extension columns as base columns (the main trace is used as it is, no copy)
            columns = ext_columns_to_base(trace) if isinstance(trace, ExtArray) else trace
            coeffs = hide(interpolate(columns), dom.hiding, rng)
            lde = evaluate_coset(coeffs, big_n)
            polys = TracePolynomials.of(columns, coeffs)
            del coeffs  # not held through the commit: the LDE and `polys` stand for them
        with phase(f"{which} trace commit"):
            commitment = commit_columns(lde, rng)
            transcript.absorb(label, commitment.tree.root)
        return polys, commitment

    main_polys, main = commit_trace(main_trace, "main root", "main")
    aux_trace = challenges = aux_polys = aux = None
    aux_nonce = 0
    if air.aux_width:
        with phase("auxiliary trace"):  # grinding, challenges, the LogUp columns
            aux_nonce = transcript.grind(params.aux_grinding_bits)
            transcript.absorb("aux pow nonce", aux_nonce.to_bytes(8, "little"))
            challenges = transcript.challenge_ext(ext, air.num_aux_challenges)
            aux_trace = air.build_aux_trace(main_trace, challenges)
        aux_polys, aux = commit_trace(aux_trace, "aux root", "auxiliary")

    with phase("constraints"):
        alphas = ext_powers(transcript.challenge_ext(ext)[0], shape.num_constraints)
        quotient_values = _composition_on_eval_domain(
            air, dom, ext, main.columns, None if aux is None else aux.columns, challenges, alphas
        )
    with phase("quotient"):
        coeffs = interpolate_coset(quotient_values.coords)  # (k, E)
        if check and np.any(np.asarray(coeffs[:, dom.quotient_len :]) != 0):
            _explain_high_degree(air, main_trace, aux_trace, challenges)
        del aux_trace  # read by the self-check only; the LDE stands for it from here on
        segment_coeffs = split_quotient(coeffs, dom, ext, rng)
        committed = segment_coeffs
        if rng is not None:  # the random codeword that masks FRI, committed with the segments
            noise = rng.elements(ext.degree, dom.trace_degree_bound)
            committed = GF(np.concatenate([segment_coeffs, noise]))
        quotient = commit_columns(evaluate_coset(committed, big_n), rng)
        transcript.absorb("quotient root", quotient.tree.root)
    segments = dom.num_quotient_segments

    with phase("DEEP"):
        z = draw_ood_point(transcript, ext, n, big_n)
        gz = z * root_of_unity(n.bit_length() - 1)
        ood = OodValues(
            trace_z=_trace_at(main_polys, aux_polys, z, ext),
            trace_gz=_trace_at(main_polys, aux_polys, gz, ext),
            quotient_z=combine_ext_columns(evaluate_at(segment_coeffs, z), ext),
        )
        transcript.absorb("ood values", ood.to_bytes())
        gammas = ext_powers(transcript.challenge_ext(ext)[0], num_deep_terms(shape, dom, params))
        # from the trace domain and the quotient's coefficients, not the committed LDEs
        coeffs = deep_coefficients(gammas, main_polys, aux_polys, committed, segments, z, gz)
        deep = ExtArray(ext, evaluate_coset(coeffs.coords, big_n))
    with phase("FRI"):
        fri_commitment = fri.commit(deep, params, dom, transcript, rng, check=check)
        nonce = transcript.grind(params.grinding_bits)
        transcript.absorb("pow nonce", nonce.to_bytes(8, "little"))
    with phase("queries"):
        positions = sorted(set(transcript.challenge_indices(params.num_queries, big_n)))
        fri_openings = fri.open_layers(fri_commitment, positions, dom, params)
        proof = Proof(
            params=params,
            log_trace_len=n.bit_length() - 1,
            main_root=main.tree.root,
            aux_root=None if aux is None else aux.tree.root,
            quotient_root=quotient.tree.root,
            fri_roots=tuple(t.root for t in fri_commitment.trees),
            ood_trace_z=_coords_rows(ood.trace_z),
            ood_trace_gz=_coords_rows(ood.trace_gz),
            ood_quotient_z=_coords_rows(ood.quotient_z),
            fri_remainder=_coords_rows(fri_commitment.remainder),
            pow_nonce=nonce,
            main_opening=main.open(positions),
            aux_opening=None if aux is None else aux.open(positions),
            quotient_opening=quotient.open(positions),
            fri_openings=fri_openings,
            aux_pow_nonce=aux_nonce,
        )
    if timings is not None:
        timings.update(phase.seconds)
    return proof


def _explain_high_degree(air: Air, main_trace: GF, aux_trace, challenges) -> NoReturn:
    """The prover's self-check, run when the composition polynomial is not of low degree:
    raise ProverError naming the first constraint the trace violates and its row.

    A trace violating constraint i at a row leaves a remainder r_i != 0 of C_i modulo its
    zerofier, and H's high part vanishes only if sum_i alpha^i r_i = 0: a nonzero polynomial
    in alpha of degree below the number m of constraints, so for at most m of the |F_p^k|
    values of the drawn alpha (m < 2^16 for every AIR here: 16,295 for a 200-asset batch
    with haircut tables and hidden totals; |F_p^k| > 2^123). So the degree
    check, which the prover makes anyway, misses a bad trace with probability below 2^-107,
    and the direct evaluation of every constraint on the trace (find_violation: seconds and
    gigabytes at 65,536 rows) is only run to explain a failure. When it finds nothing, the
    trace satisfies the AIR and the declaration is at fault."""
    violation = air.find_violation(main_trace, aux_trace, challenges)
    if violation is not None:
        what, row = violation
        raise ProverError(f"{air.name}: the trace violates {what} at row {row}")
    raise ProverError(
        f"{air.name}: the composition polynomial is not of low degree "
        "(is a constraint's declared degree too small?)"
    )


def _coords_rows(a: ExtArray) -> np.ndarray:
    """Extension values (m,) as an (m, k) uint32 matrix for the proof."""
    return np.ascontiguousarray(to_int_array(a.coords).T.astype(np.uint32))


def _trace_at(
    main: TracePolynomials, aux: TracePolynomials | None, point: ExtArray, ext
) -> ExtArray:
    """Every trace column (main, then aux as extension values) at one extension point."""
    values = main.at(point)
    if aux is None:
        return values
    aux = combine_ext_columns(aux.at(point), ext)
    return ExtArray(
        ext, GF(np.concatenate([np.asarray(values.coords), np.asarray(aux.coords)], axis=1))
    )


class _NextRows:
    """The next row's columns on one chunk of the constraint domain, gathered from the LDE only
    when a constraint reads them (most columns are read on the current row only).

    lde: committed columns (cols, N), base-field coordinates (k per column when `ext` is given);
    positions: the LDE points of the next rows (index array, or a slice: views). Indexing
    returns what indexing the gathered array would: base columns (GF) or extension columns
    (ExtArray)."""

    def __init__(self, lde: GF, positions: np.ndarray | slice, ext: ExtensionField | None = None):
        self.lde, self.positions, self.ext = lde, positions, ext
        self.columns: dict[int, object] = {}

    def __getitem__(self, key):
        if not isinstance(key, int | np.integer):  # slices, index arrays: gather everything
            return self._all()[key]
        width = self.lde.shape[0] // (1 if self.ext is None else self.ext.degree)
        column = int(key) % width
        if column not in self.columns:
            self.columns[column] = self._column(column)
        return self.columns[column]

    def _column(self, c: int):
        if self.ext is None:
            return reduced(self.lde[c, self.positions])
        k = self.ext.degree
        return ExtArray(self.ext, reduced(self.lde[k * c : k * (c + 1)][:, self.positions]))

    def _all(self):
        rows = reduced(self.lde[:, self.positions])
        return rows if self.ext is None else base_to_ext_columns(rows, self.ext)


def _next_points(start: int, stop: int, step: int, size: int, stride: int) -> slice | np.ndarray:
    """The LDE points of the next rows of constraint-domain points start..stop-1: point i's
    next row is point (i + step) mod size, LDE point stride times that. A slice (the gathered
    columns are then views of the LDE) when they are consecutive without wrapping around, as
    in every chunk but the last when the constraint domain is the whole LDE coset."""
    if stride == 1 and stop + step <= size:
        return slice(start + step, stop + step)
    return (np.arange(start, stop) + step) % size * stride


def _columns_at(lde: GF, start: int, stop: int, stride: int) -> GF:
    """LDE columns at the points start, start + stride, ... (< stop): a view of the committed
    matrix when the points are consecutive (stride 1: the constraint domain is the whole LDE
    coset), else a contiguous copy. Already reduced, so no range check."""
    if stride == 1:
        return lde[:, start:stop]
    return reduced(np.ascontiguousarray(np.asarray(lde)[:, start:stop:stride]))


def composition_chunk(width: int) -> int:
    """Points of the constraint domain per chunk for a trace of `width` base columns: the
    largest power of two with width * points <= COMPOSITION_WORDS, within
    [COMPOSITION_MIN_CHUNK, COMPOSITION_CHUNK]."""
    points = 1 << max(0, (COMPOSITION_WORDS // max(width, 1)).bit_length() - 1)
    return min(COMPOSITION_CHUNK, max(COMPOSITION_MIN_CHUNK, points))


def _composition_on_eval_domain(air, dom, ext, main_lde, aux_lde, challenges, alphas) -> ExtArray:
    """H on the constraint domain s*<w_E>, which is every (N/E)-th point of the LDE coset; the
    next row of point i is point i + E/n.

    H is a pointwise function of the rows at i and i + E/n, so it is evaluated in chunks of
    `composition_chunk` points: the constraints' temporaries then take memory per chunk, not
    per domain (the result is the same for any chunk size). The current rows are views of the
    committed LDE where possible; the zerofiers' inverses are batch inversions (Montgomery's
    trick), the same field elements as any other inversion."""
    size = dom.eval_size
    stride, step = dom.lde_size // size, size // dom.trace_len
    periodic = periodic_on_coset(air, size, COSET_SHIFT)
    x = coset_points(COSET_SHIFT, size)
    coords = np.empty((ext.degree, size), dtype=np.uint32)
    width = main_lde.shape[0] + (0 if aux_lde is None else aux_lde.shape[0])
    chunk = composition_chunk(width)
    for start in range(0, size, chunk):
        stop = min(start + chunk, size)
        after = _next_points(start, stop, step, size, stride)
        aux = aux_next = None
        if aux_lde is not None:
            aux = base_to_ext_columns(
                _columns_at(aux_lde, start * stride, stop * stride, stride), ext
            )
            aux_next = _NextRows(aux_lde, after, ext)
        frame = Frame(
            main=_columns_at(main_lde, start * stride, stop * stride, stride),
            main_next=_NextRows(main_lde, after),
            aux=aux,
            aux_next=aux_next,
            periodic=[column[start:stop] for column in periodic],
            challenges=challenges,
        )
        values = composition(air, frame, alphas, zerofiers(air, x[start:stop], batch_inverse))
        coords[:, start:stop] = np.broadcast_to(
            np.asarray(values.coords), (ext.degree, stop - start)
        )
    return ExtArray(ext, reduced(coords))
