"""How many bits of security a parameter set gives, in two regimes.

Two numbers are reported, and a claim of "N bits" must always say which one it is:

* **conjectured** — the ethSTARK conjecture (ethSTARK documentation, eprint 2021/582, the
  "toy problem" and Conjecture 1), in the form winterfell computes it (``ConjecturedSecurity`` in
  ``air/src/proof/security.rs``, a modification of Eq. (19) of 2021/582): every FRI query is
  assumed to be worth ``log2(blowup)`` bits, as if FRI were sound right up to the code's capacity.
  Since late 2025 the "up to capacity" proximity-gap / list-decoding conjectures this rests on
  are known to be false in general, so this number is only a heuristic, labelled "conjectured".
* **provable** — round-by-round soundness in the unique-decoding regime, proximity parameter
  ``theta = (1 - rho) / 2`` with ``rho = 1 / blowup``: Theorem 8 of Haböck, "A summary on the FRI
  low degree test" (eprint 2022/1216) for ALI and DEEP, the unique-decoding proximity gaps of
  Ben-Sasson, Carmon, Ishai, Kopparty, Saraf (BCIKS20, eprint 2020/654, Thms 1.2/1.4/1.5) for
  FRI's batching and folding, and Theorem 3 of eprint 2024/1553 (winterfell's "proven security")
  for the overall shape. The same terms are computed by ethereum/soundcalc (its ``UDR`` regime).

Each round-by-round term is an error probability ``eps``, reported as ``-log2(eps)`` bits. Under
Fiat-Shamir an attacker making ``2^t`` hash queries wins with probability about ``2^t * eps``, so
the protocol's bits are the minimum over the terms, further capped by the hash's collision
resistance (Merkle commitments are only binding up to that).

Every challenge round counts, at the degree bound FRI really enforces (``Domains``): the
constraint combination (ALI), the out-of-domain point (DEEP), FRI's batching and folding
challenges, the queries, and the AIR's own challenge-based arguments (a LogUp lookup, whose error
is ``(looked-up values + table entries) / |F|``, declared through ``AirShape``). Both regimes
report the minimum over all of them; they differ only in how FRI's proximity test is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from stark.field import P
from stark.params import MAX_QUERIES, AirShape, Domains, StarkParams

#: SHA-256 has 256-bit digests; generic collision search costs 2^128.
HASH_COLLISION_BITS = 128.0

#: The trace polynomials are opened at two points, z and g*z (``max_combo`` / ``m`` in soundcalc
#: and 2022/1216 Thm 8, ``num_openings`` in winterfell).
NUM_OPENING_POINTS = 2


@dataclass(frozen=True)
class SecurityReport:
    """Security bits of one parameter set; see the module docstring for the two regimes.

    conjectured_bits: the ethSTARK conjecture for FRI (winterfell's formula), and the same
        non-FRI rounds as below, capped by the hash.
    provable_bits: unique-decoding round-by-round bits, ``min(terms)`` capped by the hash.
    terms: the provable round-by-round terms in bits: ``ali``, ``deep``, ``fri_batching``,
        ``fri_folding`` (the worst layer), ``fri_query`` (with grinding) and, for an AIR with
        lookups, ``logup`` (with the auxiliary grinding).
    """

    conjectured_bits: float
    provable_bits: float
    terms: dict[str, float]

    def summary(self) -> str:
        return (
            f"conjectured {self.conjectured_bits:.1f} bits (ethSTARK conjecture), "
            f"provable {self.provable_bits:.1f} bits (unique decoding)"
        )


def field_bits(extension_degree: int) -> float:
    """log2 |F| for the challenge field F = F_p^k."""
    return math.log2(P**extension_degree)


def num_fri_batched_polys(params: StarkParams, shape: AirShape, domains: Domains) -> int:
    """How many functions the DEEP composition batches into FRI (with powers of one challenge).

    Counted as base-field columns, which over-counts rather than under-counts:
      * every main column contributes two DEEP quotients, at z and at g*z: 2 * main_width;
      * every auxiliary column is an F_p^k column, i.e. k base-field coordinate polynomials, each
        opened at z and g*z: 2 * k * aux_width;
      * every quotient segment is an F_p^k polynomial opened at z only: k * num_quotient_segments;
      * with zero knowledge, one extra random codeword is mixed in: +1.
    """
    k = params.extension_degree
    count = 2 * (shape.main_width + k * shape.aux_width) + k * domains.num_quotient_segments
    return count + (1 if params.zk else 0)


def non_fri_terms(params: StarkParams, shape: AirShape, domains: Domains) -> dict[str, float]:
    """The rounds whose error does not depend on FRI's proximity regime, in bits.

    FRI accepts a DEEP quotient of degree < D, so a committed trace polynomial T with
    (T - T(z)) / (X - z) of degree < D has degree <= D: the trace degree bound used below is
    D + 1, not D.
    """
    log_f = field_bits(params.extension_degree)
    trace_bound = domains.fri_degree_bound + 1

    # ALI: the constraints are combined with powers of one challenge alpha; a false claim survives
    # only if alpha is a root of a nonzero polynomial of degree < C. eps = L * C / |F|
    # (2022/1216 Thm 8; soundcalc's e_ALI).
    terms = {"ali": log_f - math.log2(max(shape.num_constraints, 1))}

    # DEEP: the out-of-domain point z is drawn from F outside the trace and LDE domains.
    # eps = L * (d * (D + m - 1) + (D - 1)) / (|F| - n - N), m = number of opening points
    # (2022/1216 Thm 8; soundcalc's e_DEEP; winterfell bounds d by blowup + 1 instead).
    numerator = shape.max_constraint_degree * (trace_bound + NUM_OPENING_POINTS - 1) + (
        trace_bound - 1
    )
    denominator = P**params.extension_degree - shape.trace_len - domains.lde_size
    terms["deep"] = math.log2(denominator) - math.log2(numerator)

    # LogUp: sum_i 1/(alpha - v_i) = sum_j m_j/(alpha - t_j) with some v_i outside the table is a
    # nonzero rational function; clearing denominators leaves a numerator of degree below the
    # number of fractions M, so a random alpha satisfies it with probability < M / |F| (Haböck,
    # eprint 2022/1530, Lemma 5; the helper columns' alpha != v_i is within the same count).
    # Grinding before alpha is drawn makes each try cost 2^aux_grinding_bits hashes.
    if shape.num_lookup_fractions:
        terms["logup"] = log_f - math.log2(shape.num_lookup_fractions) + params.aux_grinding_bits
    return terms


def conjectured_bits(params: StarkParams, shape: AirShape) -> float:
    """ethSTARK-conjecture bits: winterfell's ``ConjecturedSecurity`` for FRI, and the same
    non-FRI rounds as the provable regime (a conjecture about FRI says nothing of them).

    FRI: min(log2|F| - log2 N, num_queries * log2(1/rho) + grinding_bits) - 1, with N the LDE
    size and rho = D / N the rate FRI enforces; the "- 1" pays for adding the two error terms.
    (winterfell also ignores the grinding bits while the query bits are below 80; we always count
    them, as the ethSTARK documentation does.)
    """
    domains = Domains.of(params, shape)
    field_cap = field_bits(params.extension_degree) - math.log2(domains.lde_size)
    query_bits = params.num_queries * -math.log2(domains.rate) + params.grinding_bits
    fri = min(field_cap, query_bits) - 1.0
    return min(fri, *non_fri_terms(params, shape, domains).values(), HASH_COLLISION_BITS)


def provable_terms(params: StarkParams, shape: AirShape) -> dict[str, float]:
    """The unique-decoding round-by-round error terms, in bits (-log2 of each error).

    Notation: |F| = p^k, D = the degree bound FRI enforces, N = LDE size, rho = D / N (1 / blowup
    without zero knowledge, up to 16 / (15 blowup) with it), f = FRI folding factor,
    q = num_queries. In the unique-decoding regime the list size L is 1.
    """
    domains = Domains.of(params, shape)
    big_n = domains.lde_size
    log_f = field_bits(params.extension_degree)
    terms = non_fri_terms(params, shape, domains)

    # FRI batching: B functions combined with powers of one challenge, a curve of degree B - 1;
    # unique-decoding correlated agreement gives eps = (B - 1) * N / |F| (BCIKS20 Thm 1.5 with
    # Thm 1.2; soundcalc's UDR ``get_error_powers``).
    batched = num_fri_batched_polys(params, shape, domains)
    terms["fri_batching"] = log_f - math.log2(max(batched - 1, 1) * big_n)

    # FRI folding: each committed layer of size N_i is folded f-to-1 with powers of one challenge,
    # eps_i = (f - 1) * N_i / |F| (2024/1553 Thm 3 / winterfell use N_i = N for every layer;
    # soundcalc uses the folded domain N_i / f, so this is the more cautious of the two).
    f = params.folding_factor
    terms["fri_folding"] = min(
        (log_f - math.log2((f - 1) * size) for size in domains.fri_layer_sizes), default=math.inf
    )

    # FRI queries: a word theta-far from the code passes one query with probability at most
    # 1 - theta = (1 + rho) / 2; grinding multiplies the error by 2^-grinding_bits
    # (2022/1216 Thm 8 with theta = (1 - rho)/2; ethSTARK doc section 6.3 for grinding).
    rho = domains.rate
    terms["fri_query"] = params.num_queries * -math.log2((1.0 + rho) / 2.0) + params.grinding_bits
    return terms


def estimate_security(params: StarkParams, shape: AirShape) -> SecurityReport:
    """Conjectured and provable security bits of ``params`` for an AIR of this ``shape``."""
    terms = provable_terms(params, shape)
    provable = min(*terms.values(), HASH_COLLISION_BITS)
    return SecurityReport(
        conjectured_bits=conjectured_bits(params, shape), provable_bits=provable, terms=terms
    )


def min_queries(
    target_bits: float, params: StarkParams, shape: AirShape, *, provable: bool
) -> int | None:
    """The fewest queries reaching ``target_bits`` (provable or conjectured), other knobs fixed.

    None if no query count up to ``MAX_QUERIES`` reaches it (another term or the hash caps it).
    """
    for q in range(1, MAX_QUERIES + 1):
        report = estimate_security(replace(params, num_queries=q), shape)
        bits = report.provable_bits if provable else report.conjectured_bits
        if bits >= target_bits:
            return q
    return None
