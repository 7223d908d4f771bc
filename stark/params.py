"""Proof parameters, the AIR's shape, and the domain sizes both imply.

Every size the prover and verifier use is derived here, once, from ``StarkParams`` and
``AirShape``, so the two sides cannot disagree about a domain or a degree bound.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from stark.field import EXTENSION_NONRESIDUE, TWO_ADICITY

MAX_LOG_TRACE_LEN = 22
MAX_QUERIES = 256
MAX_GRINDING_BITS = 32
MAX_REMAINDER_LEN = 1024


def is_power_of_two(x: int) -> bool:
    return x > 0 and x & (x - 1) == 0


def next_power_of_two(x: int) -> int:
    return 1 << max(0, (x - 1).bit_length())


@dataclass(frozen=True)
class StarkParams:
    """The knobs of one proof. All of them are bound into the transcript and the proof header.

    extension_degree: k of the challenge field F_p[x]/(x^k - W).
    blowup: the target inverse rate of the committed code: the LDE domain is blowup times the
        trace length (see `Domains` for the exact rate with zero knowledge).
    num_queries: FRI query repetitions.
    grinding_bits: proof-of-work bits demanded before the queries are drawn.
    aux_grinding_bits: proof-of-work bits demanded before the auxiliary challenges (e.g. a
        lookup's) are drawn; each bit adds one to that round's security (stark/security.py).
    folding_factor: FRI folds f points into one per layer (2, 4 or 8).
    remainder_max_len: FRI folds until the degree bound is at most this (a power of 2, at least
        the folding factor); the remainder polynomial is then sent as its coefficients.
    zk: whether the proof hides the witness (see docs/zero-knowledge.md).
    """

    extension_degree: int = 4
    blowup: int = 8
    num_queries: int = 27
    grinding_bits: int = 20
    folding_factor: int = 8
    remainder_max_len: int = 256
    zk: bool = True
    aux_grinding_bits: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.extension_degree not in EXTENSION_NONRESIDUE:
            problems.append(f"extension_degree must be one of {sorted(EXTENSION_NONRESIDUE)}")
        if not is_power_of_two(self.blowup) or not 2 <= self.blowup <= 64:
            problems.append("blowup must be a power of two in [2, 64]")
        if not 1 <= self.num_queries <= MAX_QUERIES:
            problems.append(f"num_queries must be in [1, {MAX_QUERIES}]")
        for name in ("grinding_bits", "aux_grinding_bits"):
            if not 0 <= getattr(self, name) <= MAX_GRINDING_BITS:
                problems.append(f"{name} must be in [0, {MAX_GRINDING_BITS}]")
        if self.folding_factor not in (2, 4, 8):
            problems.append("folding_factor must be 2, 4 or 8")
        if (
            not is_power_of_two(self.remainder_max_len)
            or not self.folding_factor <= self.remainder_max_len <= MAX_REMAINDER_LEN
        ):
            problems.append(
                "remainder_max_len must be a power of two between the folding factor and "
                f"{MAX_REMAINDER_LEN}"
            )
        if problems:
            raise ValueError("invalid STARK parameters: " + "; ".join(problems))


@dataclass(frozen=True)
class AirShape:
    """What the proof system needs to know of an AIR to size everything.

    trace_len: n, the number of rows (a power of two).
    main_width: base-field columns committed first.
    aux_width: extension-field columns committed after the aux challenges are drawn.
    num_aux_challenges: extension-field challenges drawn before the aux segment.
    num_transition_constraints, num_boundary_constraints: how many of each.
    max_constraint_degree: the largest total degree of a transition constraint in the trace
        columns (periodic columns count as trace columns).
    num_lookup_fractions: how many fractions 1/(alpha - v) the AIR's logarithmic-derivative
        (LogUp) arguments sum over the whole trace, looked-up values and table entries together,
        0 without lookups. The security estimate charges (this number) / |F| for that challenge.
    """

    name: str
    trace_len: int
    main_width: int
    aux_width: int = 0
    num_aux_challenges: int = 0
    num_transition_constraints: int = 0
    num_boundary_constraints: int = 0
    max_constraint_degree: int = 1
    num_lookup_fractions: int = 0

    def __post_init__(self) -> None:
        if not is_power_of_two(self.trace_len) or self.trace_len < 4:
            raise ValueError("trace_len must be a power of two, at least 4")
        if self.trace_len > 1 << MAX_LOG_TRACE_LEN:
            raise ValueError(f"trace_len above 2^{MAX_LOG_TRACE_LEN} is not supported")
        if self.main_width < 1 or self.aux_width < 0:
            raise ValueError("an AIR needs at least one main column")
        if not 1 <= self.max_constraint_degree <= 8:
            raise ValueError("constraint degree must be between 1 and 8")
        if self.num_lookup_fractions < 0 or (self.num_lookup_fractions and not self.aux_width):
            raise ValueError("lookup fractions need an auxiliary segment to sum them in")

    @property
    def num_constraints(self) -> int:
        return self.num_transition_constraints + self.num_boundary_constraints


def mask_degree(params: StarkParams) -> int:
    """The fewest random coefficients that hide a committed polynomial from the verifier.

    Count the base-field equations the verifier learns about one committed polynomial c with
    base-field coefficients (a main column, one coordinate of an auxiliary column or of a
    quotient segment): c(z) and c(g z) are extension values, k equations each; each of the q
    queried rows gives c(x), and the opened quotient H(x) = C(rows at x and g x) / Z(x) gives at
    most one more, about c(g x). So at most 2 k + 2 q equations; a uniform mask with that many
    coefficients, behind a map of full rank, makes all of them uniform (docs/zero-knowledge.md;
    tests/stark/test_zk_attacks.py checks the rank for each kind of column).
    """
    return 2 * params.extension_degree + 2 * params.num_queries if params.zk else 0


def fri_schedule(min_degree_bound: int, params: StarkParams) -> tuple[int, int]:
    """(L, r): FRI folds L times, then sends r <= remainder_max_len coefficients.

    L is the fewest folds after which ceil(min_degree_bound / f^L) fits the remainder. FRI then
    accepts exactly the polynomials of degree < r f^L, which is what the committed polynomials
    are padded to (Domains.trace_degree_bound), so the degree the security estimate assumes is
    the degree FRI enforces.
    """
    f, folds = params.folding_factor, 0
    while -(-min_degree_bound // f**folds) > params.remainder_max_len:
        folds += 1
    return folds, -(-min_degree_bound // f**folds)


@dataclass(frozen=True)
class Domains:
    """Sizes derived from the parameters and the AIR shape.

    trace_len n: rows of the trace; the trace domain is the subgroup H = <g>, |H| = n.
    hiding h: with zero knowledge, every committed polynomial carries h random coefficients,
        h >= mask_degree(params) (rounded up so that D below is exactly what FRI enforces);
        0 without zero knowledge.
    trace_degree_bound D = n + h = r f^L: every committed trace column is a polynomial of
        degree < D, and so is every quotient segment and the random FRI codeword; FRI's degree
        bound is D exactly (the DEEP quotients have degree < D - 1).
    quotient_len Q: the composition polynomial has degree < Q = max(d (D - 1) + 2 - n, D - 1):
        a transition numerator has degree <= d (D - 1) + 1 after exempting the last row, the
        zerofier of H has degree n, a boundary quotient has degree <= D - 2.
    eval_size E: constraints are evaluated on the coset s*<w_E>, E = max(n, next_pow2(Q)), so
        the composition polynomial is determined by its values there.
    num_quotient_segments S = ceil(Q / n): the composition polynomial is cut into chunks of n
        coefficients (then blinded: see the prover).
    lde_size N = blowup * max(n, next_pow2(ceil(15 D / 16))): the commitment domain s*<w_N>;
        the code rate D / N is at most 16 / (15 blowup).
    fri_layer_sizes: N / f^l for each committed layer l < L.
    remainder_len r: the coefficients of the FRI remainder polynomial (its degree bound).
    remainder_domain_size: N / f^L, the domain the remainder is checked on.

    Invariants (checked by `check_fri_invariants`, which `of` calls): every FRI round checks
    something. D = r f^L; each layer is f times smaller than the one before and divisible by f;
    every layer and the remainder domain have the same rate D / N <= 16 / (15 blowup) <= 1/2,
    so the remainder is checked on at least 15 blowup / 16 >= 2 times as many points as it
    has coefficients.
    """

    trace_len: int
    hiding: int
    trace_degree_bound: int
    quotient_len: int
    eval_size: int
    num_quotient_segments: int
    lde_size: int
    fri_layer_sizes: tuple[int, ...]
    remainder_len: int
    remainder_domain_size: int
    blowup: int
    folding_factor: int

    @classmethod
    def of(cls, params: StarkParams, shape: AirShape) -> Domains:
        n, d = shape.trace_len, shape.max_constraint_degree
        folds, remainder_len = fri_schedule(n + mask_degree(params), params)
        degree_bound = remainder_len * params.folding_factor**folds
        if not params.zk and degree_bound != n:  # cannot happen while remainder_max_len >= f
            raise ValueError("without zero knowledge FRI's degree bound must be the trace length")
        quotient_len = max(d * (degree_bound - 1) + 2 - n, degree_bound - 1)
        eval_size = max(n, next_power_of_two(quotient_len))
        # N = blowup * n when the masks are small next to n; for small traces the masks would
        # cost too much rate, so N grows until rho = D / N <= (16/15) / blowup.
        lde_size = params.blowup * max(n, next_power_of_two(-(-15 * degree_bound // 16)))
        if eval_size > lde_size or degree_bound > lde_size // 2:
            raise ValueError(
                f"blowup {params.blowup} is too small for constraints of degree {d}"
                + (" with zero knowledge" if params.zk else "")
                + f": need at least {max(eval_size // n, 2 * next_power_of_two(degree_bound) // n)}"
            )
        if lde_size > 1 << TWO_ADICITY:
            raise ValueError("the LDE domain exceeds the field's two-adic subgroup")
        f = params.folding_factor
        domains = cls(
            trace_len=n,
            hiding=degree_bound - n,
            trace_degree_bound=degree_bound,
            quotient_len=quotient_len,
            eval_size=eval_size,
            num_quotient_segments=-(-quotient_len // n),
            lde_size=lde_size,
            fri_layer_sizes=tuple(lde_size // f**layer for layer in range(folds)),
            remainder_len=remainder_len,
            remainder_domain_size=lde_size // f**folds,
            blowup=params.blowup,
            folding_factor=f,
        )
        domains.check_fri_invariants()
        return domains

    def check_fri_invariants(self) -> None:
        """Raise ValueError unless every FRI round is a real test (see the class docstring)."""
        f, sizes = self.folding_factor, (*self.fri_layer_sizes, self.remainder_domain_size)
        problems = []
        if sizes[0] != self.lde_size:
            problems.append("the first FRI layer is not the LDE domain")
        if any(a != f * b or a % f for a, b in itertools.pairwise(sizes)):
            problems.append("a FRI layer does not shrink by exactly the folding factor")
        if self.remainder_len * f ** len(self.fri_layer_sizes) != self.trace_degree_bound:
            problems.append("FRI's degree bound differs from the committed degree bound")
        if 16 * self.remainder_domain_size < 15 * self.blowup * self.remainder_len:
            problems.append("the remainder is checked on too few points for the blowup")
        if 2 * self.remainder_len > self.remainder_domain_size or self.remainder_len < 1:
            problems.append("the remainder check has no redundancy")
        if problems:
            raise ValueError("FRI parameters check nothing in some round: " + "; ".join(problems))

    @property
    def fri_degree_bound(self) -> int:
        """FRI accepts exactly the codewords of degree < this (= D)."""
        return self.remainder_len * self.folding_factor ** len(self.fri_layer_sizes)

    @property
    def rate(self) -> float:
        """rho = D / N, the rate of the Reed-Solomon code FRI tests, the same at every layer."""
        return self.fri_degree_bound / self.lde_size


#: Named parameter sets; the numbers come from stark/security.py, and
#: tests/stark/test_security.py checks each claim at every supported trace length (2^9 to 2^17
#: rows) and asset count (1 to 200) of the solvency AIR, every round counted.
#: proven (the default): provable >= 100 bits in the unique-decoding regime (at least 102.0;
#:     the weakest round is FRI's queries: 100 x about 0.82 bits + 20 grinding bits).
#: fast: conjectured >= 100 bits only (ethSTARK conjecture; at least 100.5), for quick runs;
#:     8 bits of grinding before the lookup challenge keep LogUp above 100 bits at k = 4.
PRESETS: dict[str, StarkParams] = {
    "proven": StarkParams(
        extension_degree=5,
        blowup=8,
        num_queries=100,
        grinding_bits=20,
        folding_factor=8,
        remainder_max_len=256,
    ),
    "fast": StarkParams(
        extension_degree=4,
        blowup=8,
        num_queries=28,
        grinding_bits=20,
        folding_factor=8,
        remainder_max_len=256,
        aux_grinding_bits=8,
    ),
}
DEFAULT_PRESET = "proven"
