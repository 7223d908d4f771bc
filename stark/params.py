"""Proof parameters, the AIR's shape, and the domain sizes both imply.

Every size the prover and verifier use is derived here, once, from ``StarkParams`` and
``AirShape``, so the two sides cannot disagree about a domain or a degree bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from stark.field import EXTENSION_NONRESIDUE, TWO_ADICITY

MAX_LOG_TRACE_LEN = 22
MAX_QUERIES = 256
MAX_GRINDING_BITS = 32


def is_power_of_two(x: int) -> bool:
    return x > 0 and x & (x - 1) == 0


def next_power_of_two(x: int) -> int:
    return 1 << max(0, (x - 1).bit_length())


@dataclass(frozen=True)
class StarkParams:
    """The knobs of one proof. All of them are bound into the transcript and the proof header.

    extension_degree: k of the challenge field F_p[x]/(x^k - W).
    blowup: |LDE domain| / |trace polynomial degree bound| (the inverse FRI rate), a power of 2.
    num_queries: FRI query repetitions.
    grinding_bits: proof-of-work bits demanded before the queries are drawn.
    folding_factor: FRI folds f points into one per layer (2, 4 or 8).
    remainder_max_len: FRI stops folding once the degree bound is at most this (a power of 2);
        the remainder polynomial is then sent as that many coefficients.
    zk: whether the proof hides the witness (see docs/zero-knowledge.md).
    """

    extension_degree: int = 4
    blowup: int = 8
    num_queries: int = 27
    grinding_bits: int = 20
    folding_factor: int = 8
    remainder_max_len: int = 64
    zk: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.extension_degree not in EXTENSION_NONRESIDUE:
            problems.append(f"extension_degree must be one of {sorted(EXTENSION_NONRESIDUE)}")
        if not is_power_of_two(self.blowup) or not 2 <= self.blowup <= 64:
            problems.append("blowup must be a power of two in [2, 64]")
        if not 1 <= self.num_queries <= MAX_QUERIES:
            problems.append(f"num_queries must be in [1, {MAX_QUERIES}]")
        if not 0 <= self.grinding_bits <= MAX_GRINDING_BITS:
            problems.append(f"grinding_bits must be in [0, {MAX_GRINDING_BITS}]")
        if self.folding_factor not in (2, 4, 8):
            problems.append("folding_factor must be 2, 4 or 8")
        if not is_power_of_two(self.remainder_max_len) or self.remainder_max_len > 1024:
            problems.append("remainder_max_len must be a power of two at most 1024")
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
    """

    name: str
    trace_len: int
    main_width: int
    aux_width: int = 0
    num_aux_challenges: int = 0
    num_transition_constraints: int = 0
    num_boundary_constraints: int = 0
    max_constraint_degree: int = 1

    def __post_init__(self) -> None:
        if not is_power_of_two(self.trace_len) or self.trace_len < 4:
            raise ValueError("trace_len must be a power of two, at least 4")
        if self.trace_len > 1 << MAX_LOG_TRACE_LEN:
            raise ValueError(f"trace_len above 2^{MAX_LOG_TRACE_LEN} is not supported")
        if self.main_width < 1 or self.aux_width < 0:
            raise ValueError("an AIR needs at least one main column")
        if not 1 <= self.max_constraint_degree <= 8:
            raise ValueError("constraint degree must be between 1 and 8")

    @property
    def num_constraints(self) -> int:
        return self.num_transition_constraints + self.num_boundary_constraints


@dataclass(frozen=True)
class Domains:
    """Sizes derived from the parameters and the AIR shape.

    trace_len n: rows of the trace; the trace domain is the subgroup H = <g>, |H| = n.
    hiding: with zero knowledge, h random coefficients are added to every committed polynomial,
        0 without. h = 2 q + 2 covers every point where the verifier learns something of a
        trace polynomial: z, g*z, the q queried points x, and g*x (the opened quotient reveals
        H(x), a function of the rows at x and g*x); see docs/zero-knowledge.md.
    trace_degree_bound D = n + h: every committed trace column is a polynomial of degree < D,
        and so is every quotient segment and the random FRI codeword.
    quotient_len Q: the composition polynomial has degree < Q = max(d (D - 1) + 2 - n, D - 1):
        a transition numerator has degree <= d (D - 1) + 1 after exempting the last row, the
        zerofier of H has degree n, a boundary quotient has degree <= D - 2.
    eval_size E: constraints are evaluated on the coset s*<w_E>, E = max(n, next_pow2(Q)), so
        the composition polynomial is determined by its values there.
    num_quotient_segments S = ceil(Q / n): the composition polynomial is cut into chunks of n
        coefficients (then blinded: see the prover).
    lde_size N = blowup * max(n, next_pow2(ceil(15 D / 16))): the commitment domain s*<w_N>;
        the code rate D / N is at most 16 / (15 blowup), i.e. 1 / blowup up to 0.09 bits per
        query (exactly 1 / blowup without zero knowledge).
    fri_layer_sizes: the FRI domain size at each committed layer (the first is N); each fold
        divides the degree bound by f, rounding up.
    remainder_len: the coefficients of the FRI remainder polynomial (its degree bound).
    remainder_domain_size: the domain the remainder is checked on.
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

    @classmethod
    def of(cls, params: StarkParams, shape: AirShape) -> Domains:
        n, d = shape.trace_len, shape.max_constraint_degree
        hiding = 2 * params.num_queries + 2 if params.zk else 0
        degree_bound = n + hiding
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
        layer_sizes = [lde_size]
        bound = degree_bound
        while bound > params.remainder_max_len:
            bound = -(-bound // params.folding_factor)
            layer_sizes.append(layer_sizes[-1] // params.folding_factor)
        # The last entry is the remainder's domain: it is not committed, only evaluated.
        return cls(
            trace_len=n,
            hiding=hiding,
            trace_degree_bound=degree_bound,
            quotient_len=quotient_len,
            eval_size=eval_size,
            num_quotient_segments=-(-quotient_len // n),
            lde_size=lde_size,
            fri_layer_sizes=tuple(layer_sizes[:-1]),
            remainder_len=bound,
            remainder_domain_size=layer_sizes[-1],
        )

    @property
    def fri_degree_bound(self) -> int:
        """The DEEP composition polynomial (FRI's input) has degree < this."""
        return self.trace_degree_bound

    @property
    def rate(self) -> float:
        """rho = D / N, the rate of the Reed-Solomon code FRI tests."""
        return self.trace_degree_bound / self.lde_size


#: Named parameter sets; the numbers come from stark/security.py (see tests/stark/test_security.py).
#: fast: conjectured >= 100 bits (28 queries x 3 bits + 20 grinding bits, capped by the field).
#: proven: provable >= 100 bits in the unique-decoding regime (query term 100.5 bits).
PRESETS: dict[str, StarkParams] = {
    "fast": StarkParams(
        extension_degree=4,
        blowup=8,
        num_queries=28,
        grinding_bits=20,
        folding_factor=8,
        remainder_max_len=64,
    ),
    "proven": StarkParams(
        extension_degree=5,
        blowup=8,
        num_queries=97,
        grinding_bits=20,
        folding_factor=8,
        remainder_max_len=64,
    ),
}
