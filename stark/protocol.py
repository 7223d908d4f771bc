"""The parts of the protocol the prover and the verifier compute identically: the transcript's
opening, the random combination of constraint quotients, the DEEP combination, the periodic
columns. Each function is generic in its point type: the prover passes whole domains (base
arrays), the verifier single out-of-domain values or the queried points.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from stark.air import Air, Frame
from stark.field import (
    GF,
    ExtArray,
    ExtensionField,
    P,
    lincomb,
    lincombs,
    power,
    reduced,
    root_of_unity,
)
from stark.fused import DeferredColumn, DeferredRows, deferring
from stark.params import AirShape, Domains, StarkParams
from stark.poly import (
    COSET_SHIFT,
    TracePolynomials,
    add_polynomials,
    divide_by_linear,
    nonzero_entries,
    periodic_column_on_coset,
    subgroup_interpolants_at,
)
from stark.proof import FORMAT_VERSION, encode_params
from stark.transcript import Transcript

DOMAIN_TAG = b"stark-solvency/babybear/sha256"


def start_transcript(air: Air, params: StarkParams) -> Transcript:
    """Absorb, before anything else: the format version, every parameter, the AIR's name and
    shape, its periodic columns and boundary constraints, and its public inputs."""
    shape = air.shape()
    t = Transcript(DOMAIN_TAG)
    t.absorb("format version", struct.pack("<H", FORMAT_VERSION))
    t.absorb("params", encode_params(params))
    t.absorb("air name", shape.name.encode())
    t.absorb("air shape", _encode_shape(shape))
    t.absorb(
        "transitions",
        b"".join(struct.pack("<BB", c.degree, c.all_rows) for c in air.transition_constraints()),
    )
    t.absorb(
        "boundaries",
        b"".join(
            struct.pack("<IIIB", b.column, b.row, b.value % P, b.aux)
            for b in air.boundary_constraints()
        ),
    )
    t.absorb(
        "periodic",
        b"".join(
            struct.pack("<I", len(c)) + np.asarray(np.asarray(c) % P, dtype="<u4").tobytes()
            for c in air.periodic_columns()
        ),
    )
    t.absorb("public inputs", air.public_inputs())
    return t


def _encode_shape(s: AirShape) -> bytes:
    return struct.pack(
        "<IIIIIIIQ",
        s.trace_len,
        s.main_width,
        s.aux_width,
        s.num_aux_challenges,
        s.num_transition_constraints,
        s.num_boundary_constraints,
        s.max_constraint_degree,
        s.num_lookup_fractions,
    )


# -- constraint composition ---------------------------------------------------------------------
@dataclass
class Zerofiers:
    """Values, at the points where constraints are combined, of:
    inv_vanishing: 1 / (x^n - 1), the inverse zerofier of the whole trace domain H;
    last_row: x - g^(n-1), which exempts the last row from ordinary transitions;
    inv_boundary: row r -> 1 / (x - g^r)."""

    inv_vanishing: object
    last_row: object
    inv_boundary: dict[int, object]


def zerofiers(air: Air, x, inverse) -> Zerofiers:
    """Zerofier terms at points x (base array or extension value); `inverse` inverts them."""
    n = air.trace_len
    g = root_of_unity(n.bit_length() - 1)
    rows = sorted({b.row for b in air.boundary_constraints()})
    return Zerofiers(
        inv_vanishing=inverse(x**n - GF(1)),
        last_row=x - power(g, n - 1),
        inv_boundary={r: inverse(x - power(g, r)) for r in rows},
    )


def composition(air: Air, frame: Frame, alphas: ExtArray, z: Zerofiers):
    """H = sum_i alpha_i C_i / Z_i: transitions over H minus the last row (or all of H),
    then boundaries over their rows, with alphas[i] weighting the i-th constraint."""
    specs = air.transition_constraints()
    with deferring():  # the values go straight to weighted_sum (stark/fused.py)
        values = air.evaluate_transition(frame)
    if len(values) != len(specs):
        raise ValueError(
            f"{air.name}: evaluate_transition returned {len(values)} values "
            f"for {len(specs)} declared constraints"
        )
    most = [i for i, c in enumerate(specs) if not c.all_rows]
    every = [i for i, c in enumerate(specs) if c.all_rows]
    total = weighted_sum(alphas, values, most) * z.last_row
    if every:
        total = total + weighted_sum(alphas, values, every)
    total = total * z.inv_vanishing
    boundaries = air.boundary_constraints()
    if boundaries:  # sum_j alpha_(offset + j) (column_j - value_j) / (x - g^row_j)
        weights = alphas[len(specs) : len(specs) + len(boundaries)]
        columns = [(frame.aux if b.aux else frame.main)[b.column] for b in boundaries]
        values = [GF(b.value % P) for b in boundaries]
        # grouped by row: (sum_j w_j column_j - sum_j w_j value_j) / (x - g^row), one weighted
        # sum and one product per row instead of two products per constraint
        for row in sorted({b.row for b in boundaries}):
            group = [j for j, b in enumerate(boundaries) if b.row == row]
            combined = weighted_sum(weights, columns, group) - weighted_sum(weights, values, group)
            total = total + combined * z.inv_boundary[row]
    return total


def weighted_sum(weights: ExtArray, values: list, indices: list[int]):
    """sum_{i in indices} weights_i * values_i, for extension weights.

    The prover's values are columns over the points of a chunk: base-field columns (GF of one
    length X) and extension columns (ExtArray of shape (X,)). All of them go through exact
    compiled linear combinations of base-field rows: a base column c_i is one row with weight
    w_i; an extension column sum_j c_ij x^j is its k coordinate rows c_ij with weights
    w_i x^j (`over_coordinates`). Runs of values that are consecutive rows of one uint32
    matrix (e.g. a gadget's block of constraint values) are combined where they lie; the other
    rows are copied into one matrix. Anything else (the verifier's single values, columns of
    another length) is accumulated one product at a time. Deferred columns (stark/fused.py)
    of one block are weighted by the block itself. The result is the same field element
    whichever way a term goes.
    """
    ext = weights.field
    k = ext.degree
    total, indices = _deferred_sums(weights, values, indices)
    lengths = [_column_length(values[i], ext) for i in indices]
    length = next((x for x in lengths if x), 0)  # the first column's length
    blocks: list[tuple[list[int], np.ndarray]] = []
    loose: list[int] = []
    extension: list[int] = []
    rest: list[int] = []
    run: list[int] = []
    run_parent: np.ndarray | None = None
    run_end = -1

    def close_run() -> None:
        if len(run) > 1 and run_parent is not None:
            blocks.append((list(run), run_parent[run_end - len(run) : run_end]))
        else:
            loose.extend(run)
        run.clear()

    for i, size in zip(indices, lengths, strict=True):
        v = values[i]
        if not size or size != length:
            rest.append(i)
            continue
        if isinstance(v, ExtArray):
            extension.append(i)
            continue
        parent, row = _row_of(v)
        if run and parent is not None and parent is run_parent and row == run_end:
            run.append(i)
            run_end += 1
            continue
        close_run()
        run.append(i)
        run_parent, run_end = parent, row + 1
    close_run()

    parts = [lincomb(weights[np.asarray(members)], rows) for members, rows in blocks]
    if loose or extension:
        matrix = np.empty((len(loose) + k * len(extension), length), dtype=np.uint32)
        for r, i in enumerate(loose):
            matrix[r] = np.asarray(values[i])
        first = len(loose)
        for r, i in enumerate(extension):
            matrix[first + k * r : first + k * (r + 1)] = values[i]._raw
        w = [weights[np.asarray(loose, dtype=np.int64)].coords]
        if extension:
            w.append(over_coordinates(weights[np.asarray(extension)]).coords)
        parts.append(lincomb(ExtArray(ext, GF(np.concatenate(w, axis=1))), matrix))
    for part in parts:
        total = total + part
    for i in rest:
        total = total + weights[i] * values[i]
    return total


def _deferred_sums(weights: ExtArray, values: list, indices: list[int]) -> tuple:
    """(sum of the weighted deferred columns among values[indices], the other indices): each
    block's members weighted in one call, the other rows of the block with weight 0."""
    ext = weights.field
    total = ext.zeros(())
    members: dict[int, tuple[DeferredRows, list[int], list[int]]] = {}
    others = []
    for i in indices:
        v = values[i]
        if isinstance(v, DeferredColumn):
            members.setdefault(id(v.block), (v.block, [], []))
            members[id(v.block)][1].append(i)
            members[id(v.block)][2].append(v.index)
        else:
            others.append(i)
    for block, positions, rows in members.values():
        coords = np.zeros((ext.degree, block.count), dtype=np.uint64)
        np.add.at(coords, (slice(None), rows), np.asarray(weights[np.asarray(positions)].coords))
        total = total + block.weighted(ExtArray(ext, reduced(coords % np.uint64(P))))
    return total, others


def _column_length(value, ext: ExtensionField) -> int:
    """X for a base column (GF, (X,)) or an extension column of `ext` (ExtArray, (X,));
    0 for anything else."""
    if isinstance(value, GF) and value.ndim == 1:
        return value.shape[0]
    if isinstance(value, ExtArray) and len(value.shape) == 1 and value.field == ext:
        return value.shape[0]
    return 0


def _row_of(column: GF) -> tuple[np.ndarray | None, int]:
    """(matrix, r) if `column` is row r of a C-contiguous uint32 matrix (its view's base),
    else (None, -1)."""
    parent = column.base
    if (
        not isinstance(parent, np.ndarray)
        or parent.ndim != 2
        or parent.dtype != np.uint32
        or column.dtype != np.uint32
        or not parent.flags.c_contiguous
        or parent.shape[1] != column.shape[0]
        or column.strides != (4,)
    ):
        return None, -1
    offset = column.__array_interface__["data"][0] - parent.__array_interface__["data"][0]
    row, rem = divmod(offset, parent.strides[0])
    if rem or not 0 <= row < parent.shape[0]:
        return None, -1
    return parent, row


# -- periodic columns --------------------------------------------------------------------------
def periodic_on_coset(air: Air, size: int, shift: GF) -> list[GF]:
    """Each periodic column over the coset shift*<w_size> of the constraint domain.

    A column with cycle length m is P(x^(n/m)) with deg P < m; on the coset, x^(n/m) runs over
    shift^(n/m) * <w_{size m / n}> and repeats n/m times. One-hot selectors are evaluated from
    their Lagrange basis polynomial, other columns by two transforms (same values).
    """
    n = air.trace_len
    return [
        periodic_column_on_coset(*nonzero_entries(cycle), len(cycle), n, shift, size)
        for cycle in air.periodic_columns()
    ]


def periodic_at(air: Air, z: ExtArray) -> list[ExtArray]:
    """Each periodic column's polynomial at the out-of-domain point.

    A column with cycle length m is P(z^(n/m)), P the interpolant of its cycle on <w_m>. P is
    evaluated in barycentric form from the cycle's nonzero entries, without a transform
    (a one-hot selector is one Lagrange basis polynomial: O(1) after finding its 1), batched
    over the columns that share a cycle length. Same values as interpolating and evaluating.
    """
    n = air.trace_len
    cycles = air.periodic_columns()
    by_length: dict[int, list[int]] = {}
    for i, cycle in enumerate(cycles):
        by_length.setdefault(len(cycle), []).append(i)
    out: list = [None] * len(cycles)
    for m, members in by_length.items():
        sparse = [nonzero_entries(cycles[i]) for i in members]
        values = subgroup_interpolants_at(sparse, m, z ** (n // m))
        for i, value in zip(members, values, strict=True):
            out[i] = value
    return out


# -- DEEP --------------------------------------------------------------------------------------
@dataclass
class OodValues:
    """What the prover claims at the out-of-domain point: every trace column (main then aux)
    at z and at g*z, every quotient segment at z."""

    trace_z: ExtArray  # (main_width + aux_width,)
    trace_gz: ExtArray  # (main_width + aux_width,)
    quotient_z: ExtArray  # (segments,)

    def to_bytes(self) -> bytes:
        return b"".join(
            np.asarray(v.coords, dtype="<u4").T.tobytes()
            for v in (self.trace_z, self.trace_gz, self.quotient_z)
        )


def num_deep_terms(shape: AirShape, domains: Domains, params: StarkParams) -> int:
    """Trace columns at z and g*z, quotient segments at z, and the random codeword (zk)."""
    width = shape.main_width + shape.aux_width
    return 2 * width + domains.num_quotient_segments + int(params.zk)


def over_coordinates(weights: ExtArray) -> ExtArray:
    """Weights w_c of extension columns as weights of their base coordinates: w_c * x^j for
    coordinate j of column c, in the committed order c*k + j, so that sum_c w_c a_c(x) is
    one linear combination of the committed base columns."""
    ext, m = weights.field, weights.shape[0]
    per_coordinate = [weights * ext.generator_power(j) for j in range(ext.degree)]
    coords = np.stack([np.asarray(w.coords) for w in per_coordinate], axis=2)  # (k, m, k)
    return ExtArray(ext, GF(coords.reshape(ext.degree, m * ext.degree)))


def deep_combination(
    gammas: ExtArray,
    main_x: GF,
    aux_x: GF | None,
    quotient_x: GF,
    num_segments: int,
    ood: OodValues,
    inv_x_minus_z,
    inv_x_minus_gz,
) -> ExtArray:
    """The DEEP polynomial at points x (FRI's input):

        sum_i g_i (T_i(x) - T_i(z)) / (x - z) + sum_i g'_i (T_i(x) - T_i(gz)) / (x - gz)
        + sum_s g''_s (H_s(x) - H_s(z)) / (x - z) + g_R R(x)

    over trace columns T_i (main then aux), quotient segments H_s and, with zero knowledge,
    the random codeword R (degree < D, so the sum stays low-degree while FRI's layers become
    uniformly random). gammas lists the g_i, the g''_s, the g'_i, then g_R. The committed
    values come as base-field rows (cols, X): main_x, aux_x (k coordinates per extension
    column) and quotient_x (the segments' coordinates, then R's if it is there), so each sum
    is one compiled linear combination.
    """
    k = gammas.field.degree
    w_main = main_x.shape[0]
    width = w_main + (0 if aux_x is None else aux_x.shape[0] // k)
    segments_x = quotient_x[: num_segments * k]
    g_z, g_q, g_gz, g_r = _deep_weights(gammas, width, num_segments)

    # sum_i g_i T_i(x) and sum_i g'_i T_i(x): one pass over each committed matrix for both
    at_z, at_gz = lincombs([g_z[:w_main], g_gz[:w_main]], main_x)
    if aux_x is not None:
        aux_z, aux_gz = lincombs(
            [over_coordinates(g_z[w_main:]), over_coordinates(g_gz[w_main:])], aux_x
        )
        at_z, at_gz = at_z + aux_z, at_gz + aux_gz
    at_z = at_z + lincomb(over_coordinates(g_q), segments_x)
    claimed_z = (ood.trace_z * g_z).sum() + (ood.quotient_z * g_q).sum()
    claimed_gz = (ood.trace_gz * g_gz).sum()
    total = (at_z - claimed_z) * inv_x_minus_z
    total = total + (at_gz - claimed_gz) * inv_x_minus_gz
    if quotient_x.shape[0] > num_segments * k:  # the random codeword R (zero knowledge)
        total = total + lincomb(over_coordinates(g_r), quotient_x[num_segments * k :])
    return total


def deep_coefficients(
    gammas: ExtArray,
    main: TracePolynomials,
    aux: TracePolynomials | None,
    quotient_coeffs: GF,
    num_segments: int,
    z: ExtArray,
    gz: ExtArray,
) -> ExtArray:
    """The coefficients of the polynomial whose values deep_combination computes point by
    point (the prover's way to FRI's input, exactly the same field elements):

        (A(X) - A(z)) / (X - z) + (B(X) - B(gz)) / (X - gz) + g_R R(X),
        A = sum_i g_i T_i + sum_s g''_s H_s,   B = sum_i g'_i T_i,

    since the claimed OodValues are the T_i(z), T_i(gz) and H_s(z) (A(z) and B(gz) need not be
    formed: synthetic division drops them). A and B are combined on the trace domain
    (TracePolynomials.combined), so a committed column costs n products here instead of N,
    and only k rows are left to evaluate on the LDE coset. quotient_coeffs: the coefficients
    of the committed quotient rows (the segments' coordinates, then R's with zero knowledge).
    """
    k = gammas.field.degree
    w_main = main.values.shape[0]
    width = w_main + (0 if aux is None else aux.values.shape[0] // k)
    g_z, g_q, g_gz, g_r = _deep_weights(gammas, width, num_segments)
    at_z, at_gz = main.combined([g_z[:w_main], g_gz[:w_main]])
    if aux is not None:
        aux_z, aux_gz = aux.combined(
            [over_coordinates(g_z[w_main:]), over_coordinates(g_gz[w_main:])]
        )
        at_z, at_gz = add_polynomials(at_z, aux_z), add_polynomials(at_gz, aux_gz)
    segments = lincomb(over_coordinates(g_q), quotient_coeffs[: num_segments * k])
    at_z = add_polynomials(at_z, segments)
    total = add_polynomials(divide_by_linear(at_z, z), divide_by_linear(at_gz, gz))
    if quotient_coeffs.shape[0] > num_segments * k:  # the random codeword R (zero knowledge)
        noise = lincomb(over_coordinates(g_r), quotient_coeffs[num_segments * k :])
        total = add_polynomials(total, noise)
    return total


def _deep_weights(gammas: ExtArray, width: int, num_segments: int) -> tuple:
    """gammas split as the DEEP terms use them: (g_i at z, g''_s, g'_i at gz, g_R)."""
    g_z, g_q = gammas[:width], gammas[width : width + num_segments]
    g_gz = gammas[width + num_segments : 2 * width + num_segments]
    return g_z, g_q, g_gz, gammas[2 * width + num_segments :]


def draw_ood_point(transcript: Transcript, ext: ExtensionField, n: int, lde_size: int) -> ExtArray:
    """z, redrawn (with vanishing probability) until it avoids the trace domain and the LDE
    coset, where the quotients would divide by zero."""
    while True:
        z = transcript.challenge_ext(ext)[0]
        on_trace = (z**n - 1).is_zero()
        shift_inverse = power(COSET_SHIFT, P - 2)  # not galois' reciprocal: compiled on first use
        on_lde = ((z * shift_inverse) ** lde_size - 1).is_zero()
        if not on_trace and not on_lde:
            return z


def combine_ext_columns(per_coordinate: ExtArray, ext: ExtensionField) -> ExtArray:
    """Values of extension columns from the values of their k base coordinate columns: column
    c = sum_j x^j * coord_{c,j}, with the coordinates listed column-major (c*k + j)."""
    k = ext.degree
    cols = per_coordinate.shape[0] // k
    grouped = per_coordinate.reshape(cols, k)
    total = ext.zeros((cols,))
    for j in range(k):
        total = total + grouped[:, j] * ext.generator_power(j)
    return total


def ext_columns_to_base(a: ExtArray) -> GF:
    """Extension columns (cols, X) as base columns (cols*k, X), coordinate j of column c at
    row c*k + j: how an extension segment is committed. (Field elements already: one copy,
    no range check.)"""
    k, cols = a.field.degree, a.shape[0]
    coords = np.asarray(a.coords).transpose(1, 0, 2)
    return reduced(np.ascontiguousarray(coords).reshape(cols * k, -1))


def base_to_ext_columns(b: GF, ext: ExtensionField) -> ExtArray:
    """Inverse of ext_columns_to_base (one copy, no range check)."""
    k = ext.degree
    cols = b.shape[0] // k
    coords = np.asarray(b).reshape(cols, k, -1).transpose(1, 0, 2)
    return ExtArray(ext, reduced(np.ascontiguousarray(coords)))
