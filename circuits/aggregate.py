"""The aggregation AIR (issue 10): a snapshot proved in B batches publishes only its grand
totals. Batch b (n_b rows, K assets) publishes C_b = totals_commitment(T'_b, blinding_b)
(circuits/totals.py) to its offset totals T'_bj = T_bj + n_b 2^63; this AIR proves, revealing
no batch's totals, that the public grand totals are G_j = sum_b T_bj exactly, each T'_b being
the opening of the public C_b computed inside the constraints. docs/aggregate.md gives the
constraints, their bounds and the argument.

One row per batch, padded to m = max(512, next_pow2(B)) rows. Row b holds:

    u[j][l]    the 10 base-512 limbs of T'_bj (T'_bj = sum_l 512^l u[j][l] < 2^90)
    blind[k]   the 8 blinding elements of C_b
    r[j][l]    running sums of u[j][l] down the rows, closed on row j (as circuits/solvency.py)
    carries    on row j: asset j's normalisation carries c_l = lo_l + 512 hi_l (l = 0..8)
    mult       LogUp multiplicities (every limb and carry cell is looked up in [0, 512))
    sponge     K + 1 width-16 Poseidon2 permutations chained on the row: totals_commitment of
               (u, blind), the inputs affine in the limb cells: chunk_c = u_3c + 512 u_3c+1 +
               512^2 u_3c+2 (c = 0, 1, 2) and chunk_3 = u_9, each < 2^27 on range-checked limbs

and the constraints, on every row: limbs of padding rows (periodic `active` = 0) sum to 0;
running sums; on row j, sum_l 512^l (sum_b u_b[j][l]) = G'_j = G_j + N 2^63 with carries and
public digits (N = sum_b n_b); LogUp; the sponge; and active * (digest - C) = 0, C the
periodic columns holding the published commitments row by row.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from circuits import lookup
from circuits.poseidon2 import DIGEST, as_states
from circuits.poseidon2_air import Poseidon2Gadget
from circuits.totals import (
    BLINDING,
    CHUNK_BITS,
    CHUNKS,
    RATE_USED,
    WIDTH,
    sponge_iv,
)
from stark.air import Air, BoundaryConstraint, Frame, TransitionConstraint
from stark.field import GF, ExtArray, P, reduced

LIMB_BITS = 9
BASE = 1 << LIMB_BITS  # 512: the LogUp table [0, 512), a periodic column of cycle 512
LIMBS = 10  # base-512 limbs of an offset total: 90 bits >= 81 (T'_bj < n_b 2^64 <= 2^81)
LIMBS_PER_CHUNK = CHUNK_BITS // LIMB_BITS  # 3: chunk_c = u_3c + 512 u_3c+1 + 512^2 u_3c+2
CARRIES = LIMBS - 1  # c_0..c_8; the last carry (G'_j >> 90) is public
OFFSET = 1 << 63
MIN_TRACE_LEN = BASE
MAX_BATCHES = 1 << 14  # per-limb sums below 2^14 * 511 < 2^23 (docs/aggregate.md)
MAX_ASSETS = 200
MIN_BATCH_ROWS, MAX_BATCH_ROWS = 512, 1 << 17  # a batch's n_b (circuits/solvency.py)
MAX_CONTEXT_BYTES = 1 << 16
AGGREGATE_TAG = b"stark-solvency aggregate v1\0"

assert LIMBS_PER_CHUNK * LIMB_BITS == CHUNK_BITS and (CHUNKS - 1) * LIMBS_PER_CHUNK + 1 == LIMBS


def limb_digits(x: int, count: int = LIMBS) -> list[int]:
    """The base-512 digits of a non-negative integer, lowest first; ValueError if it needs
    more than `count`."""
    if x < 0 or x >> (LIMB_BITS * count):
        raise ValueError(f"{x} does not fit in {count} base-{BASE} digits")
    return [(x >> (LIMB_BITS * i)) & (BASE - 1) for i in range(count)]


def padded_rows(num_batches: int) -> int:
    """m = max(512, next_pow2(B)): one row per batch, then padding."""
    return max(MIN_TRACE_LEN, 1 << max(0, (num_batches - 1).bit_length()))


def grand_totals(offset_totals: Sequence[Sequence[int]], batch_sizes: Sequence[int]) -> list[int]:
    """The reference: G_j = sum_b T'_bj - N 2^63 = sum_b T_bj, N = sum_b n_b (Python ints)."""
    n_total = sum(int(n) for n in batch_sizes)
    k = len(offset_totals[0])
    return [sum(int(t[j]) for t in offset_totals) - n_total * OFFSET for j in range(k)]


@dataclass(frozen=True)
class AggregateStatement:
    """The public statement of the aggregation proof, all of it bound through `encode()`.

    context: opaque bytes identifying the snapshot (e.g. its issuer and time, and the digests
    of the B batch proofs); num_assets: K; commitments: B published C_b, 8 field elements each;
    batch_sizes: the n_b (powers of two in [512, 2^17]); totals: the grand totals G_j, signed,
    |G_j| <= N 2^63 with N = sum_b n_b.
    """

    context: bytes
    num_assets: int
    commitments: tuple[tuple[int, ...], ...]
    batch_sizes: tuple[int, ...]
    totals: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.context, bytes) or len(self.context) > MAX_CONTEXT_BYTES:
            raise ValueError(f"the context must be at most {MAX_CONTEXT_BYTES} bytes")
        k, b = self.num_assets, len(self.commitments)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_ASSETS:
            raise ValueError(f"between 1 and {MAX_ASSETS} assets are supported")
        if not 1 <= b <= MAX_BATCHES:
            raise ValueError(f"between 1 and {MAX_BATCHES} batches are supported, not {b}")
        if len(self.batch_sizes) != b:
            raise ValueError("one batch size per commitment")
        if len(self.totals) != k:
            raise ValueError("one grand total per asset")
        ints = (*self.batch_sizes, *self.totals, *(v for c in self.commitments for v in c))
        if any(isinstance(v, bool) or not isinstance(v, int) for v in ints):
            raise ValueError("batch sizes, totals and commitments must be integers")
        for c in self.commitments:
            if len(c) != DIGEST or any(not 0 <= v < P for v in c):
                raise ValueError(f"a commitment is {DIGEST} field elements in [0, p)")
        for n in self.batch_sizes:
            if n & (n - 1) or not MIN_BATCH_ROWS <= n <= MAX_BATCH_ROWS:
                raise ValueError(
                    f"a batch size must be a power of two in [{MIN_BATCH_ROWS}, {MAX_BATCH_ROWS}]"
                )
        if any(abs(t) > self.num_rows_total * OFFSET for t in self.totals):
            raise ValueError("a grand total is larger than N balances can sum to")

    @property
    def num_batches(self) -> int:
        return len(self.commitments)

    @property
    def num_rows_total(self) -> int:
        """N = sum_b n_b, the users (padding included) of every batch."""
        return sum(self.batch_sizes)

    @property
    def trace_len(self) -> int:
        return padded_rows(self.num_batches)

    @cached_property
    def offset_totals(self) -> list[int]:
        """G'_j = G_j + N 2^63 = sum_b T'_bj, in [0, N 2^64] <= 2^95."""
        return [t + self.num_rows_total * OFFSET for t in self.totals]

    def encode(self) -> bytes:
        """Canonical bytes: tag; K, B, m; the context, length-prefixed; per batch n_b and its
        8 commitment elements; per asset G_j (16 bytes, signed). Fixed widths and one length
        prefix: injective."""
        out = [
            AGGREGATE_TAG,
            struct.pack("<IIII", self.num_assets, self.num_batches, self.trace_len, 0),
            struct.pack("<I", len(self.context)) + self.context,
        ]
        for n, c in zip(self.batch_sizes, self.commitments, strict=True):
            out.append(struct.pack(f"<I{DIGEST}I", n, *c))
        out += [t.to_bytes(16, "little", signed=True) for t in self.totals]
        return b"".join(out)


@dataclass(frozen=True)
class Layout:
    """Column indices: u[j][l], blind, r[j][l], carry_lo/hi, mult, then the sponge."""

    num_assets: int

    def u(self, j: int, l: int) -> int:
        return LIMBS * j + l

    @property
    def blind(self) -> range:
        start = LIMBS * self.num_assets
        return range(start, start + BLINDING)

    def r(self, j: int, l: int) -> int:
        return self.blind.stop + LIMBS * j + l

    @property
    def carry_lo(self) -> int:
        return self.blind.stop + LIMBS * self.num_assets

    @property
    def carry_hi(self) -> int:
        return self.carry_lo + CARRIES

    @property
    def mult(self) -> int:
        return self.carry_hi + CARRIES

    @property
    def sponge(self) -> int:
        return self.mult + 1

    def range_checked(self) -> list[int]:
        cols = [self.u(j, l) for j in range(self.num_assets) for l in range(LIMBS)]
        return cols + list(range(self.carry_lo, self.mult))


class TotalsCommitmentGadget:
    """`totals_commitment` computed on one row: K + 1 width-16 Poseidon2Gadget permutations
    (no input columns), the last committing its 8 digest elements only.

    Permutation 0 takes sponge_iv(K) with state[0:4] += chunks(asset 0); permutation j in
    1..K-1 takes out_(j-1) with state[0:4] += chunks(asset j); permutation K takes out_(K-1)
    with state[0:8] += blinding. The chunks are affine in the limb cells, so every input is
    affine in the trace: each constraint has the gadget's degree (3 with registers, 7
    without). On range-checked limbs chunk_c < 2^27 < p equals the integer chunk of
    circuits/totals.py, so the digest is totals_commitment(sum_l 512^l u_l, blind) exactly.
    """

    def __init__(
        self,
        offset: int,
        limb_cols: Sequence[Sequence[int]],
        blind_cols: Sequence[int],
        *,
        sbox_registers: bool = False,
    ):
        self.limb_cols = tuple(tuple(a) for a in limb_cols)
        self.blind_cols = tuple(blind_cols)
        self.num_assets = len(self.limb_cols)
        self.offset, self.sbox_registers = offset, sbox_registers
        self.iv = sponge_iv(self.num_assets)
        self.permutations: list[Poseidon2Gadget] = []
        col = offset
        for k in range(self.num_assets + 1):
            last = k == self.num_assets
            g = Poseidon2Gadget(
                col,
                WIDTH,
                input_cols=(),
                sbox_registers=sbox_registers,
                output_width=DIGEST if last else None,
            )
            self.permutations.append(g)
            col += g.num_columns
        self.num_columns = col - offset
        self.digest_cols = self.permutations[-1].output_cols

    @property
    def degree(self) -> int:
        return self.permutations[0].degree

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [c for g in self.permutations for c in g.transition_constraints()]

    def chunk_expressions(self, main, j: int) -> list:
        """Asset j's 4 chunks as affine expressions of its limb cells."""
        cols = self.limb_cols[j]
        out = []
        for c in range(CHUNKS):
            expr = None
            for i, l in enumerate(
                range(LIMBS_PER_CHUNK * c, min(LIMBS_PER_CHUNK * (c + 1), LIMBS))
            ):
                term = main[cols[l]] if i == 0 else main[cols[l]] * GF(BASE**i)
                expr = term if expr is None else expr + term
            out.append(expr)
        return out

    def constraints(self, main) -> list:
        out: list = []
        prev = None
        for k, g in enumerate(self.permutations):
            if k < self.num_assets:
                absorbed = self.chunk_expressions(main, k)
            else:
                absorbed = [main[c] for c in self.blind_cols]
            if prev is None:
                base = [GF(int(v)) for v in self.iv]
                state = [a + b for a, b in zip(absorbed, base, strict=False)]
                state += base[len(absorbed) :]
            else:
                state = [a + b for a, b in zip(absorbed, prev, strict=False)]
                state += prev[len(absorbed) :]
            out += g.constraints(main, state)
            prev = [main[c] for c in g.output_cols]
        return out

    def fill(self, trace, limbs: np.ndarray, blinding: np.ndarray) -> np.ndarray:
        """Write the permutations' columns of a numpy trace (width, m) for limbs (m, K, 10)
        int64 in [0, 512) and blindings (m, 8) in [0, p); returns the digests (m, 8)."""
        m = limbs.shape[0]
        chunks = np.zeros((m, self.num_assets, CHUNKS), dtype=np.uint64)
        for c in range(CHUNKS):
            for i, l in enumerate(
                range(LIMBS_PER_CHUNK * c, min(LIMBS_PER_CHUNK * (c + 1), LIMBS))
            ):
                chunks[:, :, c] += limbs[:, :, l].astype(np.uint64) << np.uint64(LIMB_BITS * i)
        state = np.tile(self.iv, (m, 1))
        p64 = np.uint64(P)
        out = state
        for k, g in enumerate(self.permutations):
            if k < self.num_assets:
                state[:, :RATE_USED] = (state[:, :RATE_USED] + chunks[:, k]) % p64
            else:
                state[:, :BLINDING] = (state[:, :BLINDING] + blinding) % p64
            out = g.fill(trace, inputs=state)
            state = out.copy()
        return out[:, :DIGEST]


class AggregateAir(Air):
    """The aggregation AIR for an AggregateStatement (module docstring, docs/aggregate.md).

    sbox_registers: the sponge's permutations with S-box registers (degree 3, twice the
    columns) or without (degree 7, the default, as the batch leaf)."""

    def __init__(self, statement: AggregateStatement, *, sbox_registers: bool = False):
        super().__init__(statement.trace_len)
        self.statement = statement
        k = statement.num_assets
        self.layout = Layout(k)
        lay = self.layout
        self.sponge = TotalsCommitmentGadget(
            lay.sponge,
            [[lay.u(j, l) for l in range(LIMBS)] for j in range(k)],
            lay.blind,
            sbox_registers=sbox_registers,
        )
        self.main_width = lay.sponge + self.sponge.num_columns
        self.num_lookups = len(lay.range_checked())
        self.aux_width = lookup.num_helpers(self.num_lookups) + 1
        self.num_aux_challenges = 1
        self.name = "solvency-aggregate-v1" + ("" if sbox_registers else "-noreg")

    # -- public constants ---------------------------------------------------------------------
    @cached_property
    def _periodic(self) -> list[np.ndarray]:
        """The range table (cycle 512); `active` (1 on rows < B); one selector per asset (1 on
        row j); the 8 commitment columns (row b < B: C_b, padding rows 0); all cycle m."""
        m, k, b = self.trace_len, self.statement.num_assets, self.statement.num_batches
        active = np.zeros(m, dtype=np.int64)
        active[:b] = 1
        selectors = np.zeros((k, m), dtype=np.int64)
        selectors[np.arange(k), np.arange(k)] = 1
        commitments = np.zeros((DIGEST, m), dtype=np.int64)
        commitments[:, :b] = np.asarray(self.statement.commitments, dtype=np.int64).T
        return [np.arange(BASE, dtype=np.int64), active, *selectors, *commitments]

    def periodic_columns(self) -> list[np.ndarray]:
        return self._periodic

    @cached_property
    def _total_digits(self) -> list[list[int]]:
        """Per asset, the public d_jl (l = 0..9) of G'_j mod 512^10, with 512 H_j added to
        the last, H_j = G'_j >> 90 the public final carry (< 2^5)."""
        out = []
        for g in self.statement.offset_totals:
            d = limb_digits(g % (1 << (LIMB_BITS * LIMBS)))
            d[-1] += BASE * (g >> (LIMB_BITS * LIMBS))
            out.append(d)
        return out

    # -- the AIR ------------------------------------------------------------------------------
    def transition_constraints(self) -> list[TransitionConstraint]:
        k = self.statement.num_assets
        return (
            [TransitionConstraint(2, all_rows=True)]  # padding limbs are zero
            + [TransitionConstraint(2, all_rows=True)] * (LIMBS * k)  # running sums
            + [TransitionConstraint(2, all_rows=True)] * LIMBS  # normalisation
            + [TransitionConstraint(4, all_rows=True)] * (self.aux_width - 1)  # LogUp helpers
            + [TransitionConstraint(2, all_rows=True)]  # LogUp running sum
            + self.sponge.transition_constraints()
            + [TransitionConstraint(2, all_rows=True)] * DIGEST  # digest = C_b on rows < B
        )

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        m, k = self.trace_len, self.statement.num_assets
        out = [
            BoundaryConstraint(self.layout.r(j, l), (j + 1) % m, 0)
            for j in range(k)
            for l in range(LIMBS)
        ]
        out.append(BoundaryConstraint(self.aux_width - 1, 0, 0, aux=True))
        return out

    def public_inputs(self) -> bytes:
        """The statement's encoding and the register flag."""
        return self.statement.encode() + struct.pack("<B", self.sponge.sbox_registers)

    def lookup_fractions(self) -> int:
        return self.num_lookups * self.trace_len + BASE

    def looked_up(self, main) -> list:
        return [main[c] for c in self.layout.range_checked()]

    def evaluate_transition(self, f: Frame) -> list:
        k, lay, x, y = self.statement.num_assets, self.layout, f.main, f.main_next
        table, active = f.periodic[0], f.periodic[1]
        selectors = f.periodic[2 : 2 + k]
        commitment = f.periodic[2 + k : 2 + k + DIGEST]
        inactive = GF(1) - active
        out = []
        # padding rows: sum of every limb = 0 (limbs range-checked: each is 0)
        limb_sum = None
        for j in range(k):
            for l in range(LIMBS):
                limb_sum = x[lay.u(j, l)] if limb_sum is None else limb_sum + x[lay.u(j, l)]
        out.append(inactive * limb_sum)
        # running sums: r' = r + u except on asset j's own row, where the cycle closes
        for j in range(k):
            keep = GF(1) - selectors[j]
            out += [keep * (y[lay.r(j, l)] - x[lay.r(j, l)] - x[lay.u(j, l)]) for l in range(LIMBS)]
        # on row j: S_jl + c_(l-1) - d_jl - 512 c_l = 0, S_jl = r + u, d_j9 including 512 H_j
        out += self._normalisation(x, selectors)
        alpha = f.challenges[0]
        helpers = [f.aux[g] for g in range(self.aux_width - 1)]
        out += lookup.helper_constraints(alpha, self.looked_up(x), helpers)
        sigma, sigma_next = f.aux[self.aux_width - 1], f.aux_next[self.aux_width - 1]
        out.append(
            lookup.running_sum_constraint(alpha, sigma, sigma_next, helpers, table, x[lay.mult])
        )
        # the commitment of this row's limbs and blinding ...
        out += self.sponge.constraints(x)
        # ... is the published C_b on the batch rows
        out += [
            active * (x[c] - cb) for c, cb in zip(self.sponge.digest_cols, commitment, strict=True)
        ]
        return out

    def _carry(self, x, l: int):
        lay = self.layout
        return x[lay.carry_lo + l] + x[lay.carry_hi + l] * GF(BASE)

    def _normalisation(self, x, selectors) -> list:
        lay, k = self.layout, self.statement.num_assets
        on_asset_row = selectors[0]
        for sel in selectors[1:]:
            on_asset_row = on_asset_row + sel
        out = []
        for l in range(LIMBS):
            per_asset = None
            for j in range(k):
                d = self._total_digits[j][l]
                term = selectors[j] * (x[lay.r(j, l)] + x[lay.u(j, l)] - GF(d % P))
                per_asset = term if per_asset is None else per_asset + term
            shared = self._carry(x, l - 1) if l > 0 else None
            if l < LIMBS - 1:
                carry_out = self._carry(x, l) * GF(BASE)
                shared = -carry_out if shared is None else shared - carry_out
            out.append(per_asset + on_asset_row * shared)
        return out

    def build_aux_trace(self, main: GF, challenges: ExtArray) -> ExtArray:
        values = GF(np.stack([np.asarray(v) for v in self.looked_up(main)]))
        table = GF(np.arange(self.trace_len) % BASE)
        return lookup.build_aux(challenges[0], values, table, main[self.layout.mult])


# -- the witness ---------------------------------------------------------------------------------
def offset_total_limbs(offset_totals: Sequence[Sequence[int]]) -> np.ndarray:
    """(B, K) non-negative integers below 2^90 -> (B, K, 10) int64 base-512 limbs."""
    a = np.array([[int(t) for t in row] for row in offset_totals], dtype=object)
    if a.ndim != 2 or not a.size:
        raise ValueError("offset totals must be a non-empty (B, K) table")
    if (a < 0).any() or (a >= 1 << (LIMB_BITS * LIMBS)).any():
        raise ValueError(f"an offset total is outside [0, 2^{LIMB_BITS * LIMBS})")
    shifts = np.array([LIMB_BITS * l for l in range(LIMBS)], dtype=object)
    return ((a[:, :, None] >> shifts) & (BASE - 1)).astype(np.int64)


def aggregate_witness(
    context: bytes,
    offset_totals: Sequence[Sequence[int]],
    blindings,
    batch_sizes: Sequence[int],
    *,
    sbox_registers: bool = False,
) -> tuple[AggregateStatement, GF]:
    """The statement and the main trace of `AggregateAir(statement, sbox_registers=...)` for
    B batches: offset_totals (B, K) the T'_bj (Python ints), blindings (B, 8) their
    commitments' blindings, batch_sizes the n_b. Each T'_bj must lie in [0, n_b 2^64) (a sum
    of n_b offset balances). The commitments are computed by the sponge on the rows, the
    grand totals are `grand_totals`. ValueError for malformed input."""
    limbs = offset_total_limbs(offset_totals)
    b, k = limbs.shape[:2]
    sizes = [int(n) for n in batch_sizes]
    if len(sizes) != b:
        raise ValueError("one batch size per batch")
    for row, n in zip(offset_totals, sizes, strict=True):
        if any(int(t) >= n << 64 for t in row):
            raise ValueError("an offset total is larger than its batch's n_b balances can sum to")
    blind = as_states(blindings, BLINDING)
    if blind.shape[0] != b:
        raise ValueError("one blinding per batch")
    m = padded_rows(b)
    lay = Layout(k)
    padded = np.zeros((m, k, LIMBS), dtype=np.int64)
    padded[:b] = limbs
    sponge_blind = np.zeros((m, BLINDING), dtype=np.uint64)
    sponge_blind[:b] = blind
    gadget = TotalsCommitmentGadget(
        lay.sponge,
        [[lay.u(j, l) for l in range(LIMBS)] for j in range(k)],
        lay.blind,
        sbox_registers=sbox_registers,
    )
    trace = np.zeros((lay.sponge + gadget.num_columns, m), dtype=np.uint64)
    trace[: LIMBS * k] = padded.reshape(m, LIMBS * k).T
    trace[lay.blind.start : lay.blind.stop] = sponge_blind.T
    for j in range(k):
        for l in range(LIMBS):
            # r[(j+1) % m] = 0 and r[i+1] = r[i] + u[i] around the cycle, skipping row j
            rotated = np.roll(padded[:, j, l], -(j + 1))
            prefix = np.concatenate([[0], np.cumsum(rotated[:-1])])
            trace[lay.r(j, l)] = np.roll(prefix, j + 1)
    sums = padded.sum(axis=0)  # (K, 10), each below 2^14 * 511
    g_offset = [sum(int(sums[j, l]) << (LIMB_BITS * l) for l in range(LIMBS)) for j in range(k)]
    for j in range(k):
        carry = 0
        for l in range(CARRIES):
            step = int(sums[j, l]) + carry - ((g_offset[j] >> (LIMB_BITS * l)) & (BASE - 1))
            carry = step // BASE
            trace[lay.carry_lo + l, j] = carry % BASE
            trace[lay.carry_hi + l, j] = carry // BASE
    looked = trace[lay.range_checked()].astype(np.int64)
    trace[lay.mult] = lookup.multiplicities(looked, BASE, m)
    digests = gadget.fill(trace, padded, sponge_blind)
    n_total = sum(sizes)
    statement = AggregateStatement(
        bytes(context),
        k,
        tuple(tuple(int(v) for v in d) for d in digests[:b]),
        tuple(sizes),
        tuple(g - n_total * OFFSET for g in g_offset),
    )
    return statement, reduced(trace)


__all__ = [
    "AggregateAir",
    "AggregateStatement",
    "Layout",
    "TotalsCommitmentGadget",
    "aggregate_witness",
    "grand_totals",
    "offset_total_limbs",
    "padded_rows",
]
