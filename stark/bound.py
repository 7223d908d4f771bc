"""The prover's bound: the seconds of the work every proof of a shape must do in this
prover's design (the LDEs of the committed matrices and the SHA-256 of their rows), measured
on this machine, so that prove()'s seconds can be set against it in the same run
(`solvency bench`, benches/bench_stark.py)."""

from __future__ import annotations

import time

import numpy as np

from stark.field import P, reduced
from stark.merkle import hash_rows
from stark.params import AirShape, Domains, StarkParams
from stark.poly import evaluate_coset, interpolate


def prover_bound(shape: AirShape, params: StarkParams, seed: int = 0) -> dict[str, float]:
    """Seconds of the work every proof of this shape must do in this prover's design: the
    low-degree extensions of the committed matrices and the SHA-256 of their rows.

    The bound is, for each committed matrix (the main trace; the auxiliary trace, if any, as
    aux_width * k base columns; the quotient segments, S * k coefficient rows of width D, plus
    k rows of FRI noise with zero knowledge), the sum of
      * its LDE by stark.poly as the prover computes it: `interpolate` (inverse NTT of n
        points; not for the segments, which are coefficients already) then `evaluate_coset`
        on the N points of the commitment domain;
      * SHA-256 (stark.merkle.hash_rows, the prover's primitive, in two processes for large
        inputs as the prover hashes) of N rows of that matrix's width: the LDE's buffer read
        as N rows, so no transposition, no salts and no inner nodes of the tree.
    The matrices are random field elements of the proof's shapes: these costs do not depend
    on the values.

    It is a lower bound for prove(): the protocol commits exactly these LDEs as Merkle trees
    of their rows, and the prover computes them with these same calls and hashes at least
    these bytes (plus salts and inner nodes); everything else it does (the LogUp columns, the
    constraints, the quotient's interpolation, DEEP, FRI, the openings) comes
    on top. prove() / bound is therefore at least 1 (up to timing noise, at tiny sizes), and
    how far above 1 it is measures the prover's overhead.

    Returns {"lde_s": ..., "hash_s": ..., "bound_s": their sum}.
    """
    dom = Domains.of(params, shape)
    k, n, size = params.extension_degree, shape.trace_len, dom.lde_size
    rng = np.random.default_rng(seed)
    segments = dom.num_quotient_segments * k + (k if params.zk else 0)
    matrices = [(shape.main_width, n, True), (shape.aux_width * k, n, True)]
    matrices.append((segments, dom.trace_degree_bound, False))
    lde_s = hash_s = 0.0
    for rows, width, is_trace in matrices:
        if rows == 0:
            continue
        values = reduced(rng.integers(0, P, (rows, width), dtype=np.uint32))
        start = time.perf_counter()
        lde = evaluate_coset(interpolate(values) if is_trace else values, size)
        lde_s += time.perf_counter() - start
        start = time.perf_counter()
        hash_rows(np.asarray(lde).reshape(size, rows))
        hash_s += time.perf_counter() - start
        del lde
    return {"lde_s": lde_s, "hash_s": hash_s, "bound_s": lde_s + hash_s}
