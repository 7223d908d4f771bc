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

Version 2 (issue 17; statement.equity not None): the commitments are
totals_commitment(T'_b, blinding_b, equity=E_b) and the AIR also proves the public grand gross
equities E_j = sum_b E_bj. Row b then also holds the 9 limbs uE[j][l] of E_bj < 2^81, their
running sums rE[j][l] and, on row j, the equity carries cE_0..cE_7 of a second chain against
the public digits of E_j; the padding sum, the LogUp and the sponge (its E chunks in
state[4:7], the IV sponge_iv(K, 2)) take them in. Without equity every column, constraint and
byte is version 1's.
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
    EQUITY_CHUNKS,
    EQUITY_SLOT,
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
AGGREGATE_TAG_2 = b"stark-solvency aggregate v2\0"  # with the grand equities (issue 17)
EQUITY_LIMBS = 9  # base-512 limbs of a batch's equity: 81 bits (E_bj <= n_b (2^63 - 1) < 2^80)
EQUITY_CARRIES = EQUITY_LIMBS - 1  # cE_0..cE_7; the last carry (E_j >> 81) is public
MAX_USER_EQUITY = OFFSET - 1  # a user's equity max(balance, 0) <= 2^63 - 1

assert LIMBS_PER_CHUNK * LIMB_BITS == CHUNK_BITS and (CHUNKS - 1) * LIMBS_PER_CHUNK + 1 == LIMBS
assert EQUITY_CHUNKS * LIMBS_PER_CHUNK == EQUITY_LIMBS and EQUITY_SLOT == CHUNKS


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


def grand_equity(equity: Sequence[Sequence[int]]) -> list[int]:
    """The reference: E_j = sum_b E_bj (Python ints), equity (B, K)."""
    k = len(equity[0])
    return [sum(int(e[j]) for e in equity) for j in range(k)]


@dataclass(frozen=True)
class AggregateStatement:
    """The public statement of the aggregation proof, all of it bound through `encode()`.

    context: opaque bytes identifying the snapshot (e.g. its issuer and time, and the digests
    of the B batch proofs); num_assets: K; commitments: B published C_b, 8 field elements each;
    batch_sizes: the n_b (powers of two in [512, 2^17]); totals: the grand totals G_j, signed,
    |G_j| <= N 2^63 with N = sum_b n_b; equity: None (version 1: the commitments hold the
    totals only), or the grand gross equities E_j = sum_b E_bj (version 2, issue 17: the
    commitments are totals_commitment(..., equity=E_b)), 0 <= E_j <= N (2^63 - 1) and
    0 <= E_j - G_j <= N 2^63 (the grand debt).
    """

    context: bytes
    num_assets: int
    commitments: tuple[tuple[int, ...], ...]
    batch_sizes: tuple[int, ...]
    totals: tuple[int, ...]
    equity: tuple[int, ...] | None = None

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
        if self.equity is not None:
            self._check_equity()

    def _check_equity(self) -> None:
        e, n_total = self.equity, self.num_rows_total
        if not isinstance(e, tuple) or len(e) != self.num_assets:
            raise ValueError("one grand equity per asset (a tuple)")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in e):
            raise ValueError("equities must be integers")
        for j, (eq, t) in enumerate(zip(e, self.totals, strict=True)):
            if not 0 <= eq <= n_total * MAX_USER_EQUITY:
                raise ValueError(f"the equity of asset {j} is outside [0, N (2^63 - 1)]")
            if not 0 <= eq - t <= n_total * OFFSET:
                raise ValueError(
                    f"the equity of asset {j} minus its total (the debt) is outside [0, N 2^63]"
                )

    @property
    def version(self) -> int:
        """1 without equity, 2 with it."""
        return 1 if self.equity is None else 2

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
        8 commitment elements; per asset G_j (16 bytes, signed) and, in version 2, E_j (16
        bytes, little-endian, non-negative). Fixed widths and one length prefix, the version in
        the tag: injective."""
        out = [
            AGGREGATE_TAG if self.equity is None else AGGREGATE_TAG_2,
            struct.pack("<IIII", self.num_assets, self.num_batches, self.trace_len, 0),
            struct.pack("<I", len(self.context)) + self.context,
        ]
        for n, c in zip(self.batch_sizes, self.commitments, strict=True):
            out.append(struct.pack(f"<I{DIGEST}I", n, *c))
        if self.equity is None:
            out += [t.to_bytes(16, "little", signed=True) for t in self.totals]
        else:
            for t, e in zip(self.totals, self.equity, strict=True):
                out += [t.to_bytes(16, "little", signed=True), e.to_bytes(16, "little")]
        return b"".join(out)


def _public_digits(value: int, count: int) -> list[int]:
    """The public digits of a grand sum for its carry chain of `count` limbs: the base-512
    digits of value mod 512^count, with 512 * (value >> 9 count), the public final carry,
    added to the last."""
    d = limb_digits(value % (1 << (LIMB_BITS * count)), count)
    d[-1] += BASE * (value >> (LIMB_BITS * count))
    return d


@dataclass(frozen=True)
class Layout:
    """Column indices: u[j][l], (v2: uE[j][l]), blind, r[j][l], (v2: rE[j][l]), carry_lo/hi,
    (v2: carryE_lo/hi), mult, then the sponge. Without equity the v2 blocks are empty, so
    version 1's columns are where they always were."""

    num_assets: int
    equity: bool = False

    def u(self, j: int, l: int) -> int:
        return LIMBS * j + l

    @property
    def equity_limbs(self) -> int:
        """Per asset: 9 with equity, 0 without."""
        return EQUITY_LIMBS if self.equity else 0

    def ue(self, j: int, l: int) -> int:
        assert self.equity and 0 <= l < EQUITY_LIMBS
        return LIMBS * self.num_assets + EQUITY_LIMBS * j + l

    @property
    def blind(self) -> range:
        start = (LIMBS + self.equity_limbs) * self.num_assets
        return range(start, start + BLINDING)

    def r(self, j: int, l: int) -> int:
        return self.blind.stop + LIMBS * j + l

    def re(self, j: int, l: int) -> int:
        assert self.equity and 0 <= l < EQUITY_LIMBS
        return self.blind.stop + LIMBS * self.num_assets + EQUITY_LIMBS * j + l

    @property
    def carry_lo(self) -> int:
        return self.blind.stop + (LIMBS + self.equity_limbs) * self.num_assets

    @property
    def carry_hi(self) -> int:
        return self.carry_lo + CARRIES

    @property
    def carry_e_lo(self) -> int:
        """asset j's equity carries cE_l = lo + 512 hi on row j (v2 only)."""
        return self.carry_hi + CARRIES

    @property
    def carry_e_hi(self) -> int:
        return self.carry_e_lo + EQUITY_CARRIES

    @property
    def mult(self) -> int:
        return self.carry_hi + CARRIES + (2 * EQUITY_CARRIES if self.equity else 0)

    @property
    def sponge(self) -> int:
        return self.mult + 1

    def limb_cols(self) -> list[list[int]]:
        return [[self.u(j, l) for l in range(LIMBS)] for j in range(self.num_assets)]

    def equity_cols(self) -> list[list[int]] | None:
        if not self.equity:
            return None
        return [[self.ue(j, l) for l in range(EQUITY_LIMBS)] for j in range(self.num_assets)]

    def range_checked(self) -> list[int]:
        cols = [self.u(j, l) for j in range(self.num_assets) for l in range(LIMBS)]
        if self.equity:
            cols += [self.ue(j, l) for j in range(self.num_assets) for l in range(EQUITY_LIMBS)]
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

    equity_cols (version 2): per asset the 9 limb cells of E_j; then each absorption also adds
    its 3 equity chunks (uE_3c + 512 uE_3c+1 + 512^2 uE_3c+2) to state[4:7], and the IV is
    sponge_iv(K, 2): the digest is totals_commitment(T', blind, equity=E).
    """

    def __init__(
        self,
        offset: int,
        limb_cols: Sequence[Sequence[int]],
        blind_cols: Sequence[int],
        *,
        sbox_registers: bool = False,
        equity_cols: Sequence[Sequence[int]] | None = None,
    ):
        self.limb_cols = tuple(tuple(a) for a in limb_cols)
        self.blind_cols = tuple(blind_cols)
        self.num_assets = len(self.limb_cols)
        self.equity_cols = None if equity_cols is None else tuple(tuple(a) for a in equity_cols)
        if self.equity_cols is not None and (
            len(self.equity_cols) != self.num_assets
            or any(len(a) != EQUITY_LIMBS for a in self.equity_cols)
        ):
            raise ValueError(f"{EQUITY_LIMBS} equity limb columns per asset")
        self.version = 1 if self.equity_cols is None else 2
        self.offset, self.sbox_registers = offset, sbox_registers
        self.iv = sponge_iv(self.num_assets, self.version)
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

    @staticmethod
    def _packed(main, cols: Sequence[int], count: int) -> list:
        """count chunks of up to 3 limb cells each: sum_i 512^i limb_(3c+i)."""
        out = []
        for c in range(count):
            expr = None
            for i, col in enumerate(cols[LIMBS_PER_CHUNK * c : LIMBS_PER_CHUNK * (c + 1)]):
                term = main[col] if i == 0 else main[col] * GF(BASE**i)
                expr = term if expr is None else expr + term
            out.append(expr)
        return out

    def chunk_expressions(self, main, j: int) -> list:
        """Asset j's 4 chunks (v2: then its 3 equity chunks, 7 in all) as affine expressions
        of its limb cells, in the order they are added to state[0:4] (v2: state[0:7])."""
        out = self._packed(main, self.limb_cols[j], CHUNKS)
        if self.equity_cols is not None:
            out += self._packed(main, self.equity_cols[j], EQUITY_CHUNKS)
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

    @staticmethod
    def _pack_chunks(limbs: np.ndarray, count: int) -> np.ndarray:
        """(m, K, L) limbs in [0, 512) -> (m, K, count) uint64 chunks of 3 limbs each."""
        m, k, n_limbs = limbs.shape
        chunks = np.zeros((m, k, count), dtype=np.uint64)
        for c in range(count):
            for i, l in enumerate(
                range(LIMBS_PER_CHUNK * c, min(LIMBS_PER_CHUNK * (c + 1), n_limbs))
            ):
                chunks[:, :, c] += limbs[:, :, l].astype(np.uint64) << np.uint64(LIMB_BITS * i)
        return chunks

    def fill(
        self,
        trace,
        limbs: np.ndarray,
        blinding: np.ndarray,
        equity_limbs: np.ndarray | None = None,
    ) -> np.ndarray:
        """Write the permutations' columns of a numpy trace (width, m) for limbs (m, K, 10)
        int64 in [0, 512), blindings (m, 8) in [0, p) and, in version 2, equity_limbs
        (m, K, 9) int64 in [0, 512); returns the digests (m, 8)."""
        if (equity_limbs is None) != (self.equity_cols is None):
            raise ValueError("equity limbs are given exactly for a version-2 gadget")
        m = limbs.shape[0]
        chunks = self._pack_chunks(limbs, CHUNKS)
        if equity_limbs is not None:
            chunks = np.concatenate([chunks, self._pack_chunks(equity_limbs, EQUITY_CHUNKS)], 2)
        used = chunks.shape[2]
        assert used == (RATE_USED if equity_limbs is None else EQUITY_SLOT + EQUITY_CHUNKS)
        state = np.tile(self.iv, (m, 1))
        p64 = np.uint64(P)
        out = state
        for k, g in enumerate(self.permutations):
            if k < self.num_assets:
                state[:, :used] = (state[:, :used] + chunks[:, k]) % p64
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
        self.equity = statement.equity is not None
        self.layout = Layout(k, self.equity)
        lay = self.layout
        self.sponge = TotalsCommitmentGadget(
            lay.sponge,
            lay.limb_cols(),
            lay.blind,
            sbox_registers=sbox_registers,
            equity_cols=lay.equity_cols(),
        )
        self.main_width = lay.sponge + self.sponge.num_columns
        self.num_lookups = len(lay.range_checked())
        self.aux_width = lookup.num_helpers(self.num_lookups) + 1
        self.num_aux_challenges = 1
        self.name = f"solvency-aggregate-v{statement.version}" + (
            "" if sbox_registers else "-noreg"
        )

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
        return [_public_digits(g, LIMBS) for g in self.statement.offset_totals]

    @cached_property
    def _equity_digits(self) -> list[list[int]]:
        """v2, per asset, the public dE_jl (l = 0..8) of E_j mod 512^9, with 512 HE_j added to
        the last, HE_j = E_j >> 81 the public final carry (< 2^13)."""
        return [_public_digits(e, EQUITY_LIMBS) for e in self.statement.equity or ()]

    # -- the AIR ------------------------------------------------------------------------------
    def transition_constraints(self) -> list[TransitionConstraint]:
        k, limbs = self.statement.num_assets, self._limbs_per_asset
        return (
            [TransitionConstraint(2, all_rows=True)]  # padding limbs are zero
            + [TransitionConstraint(2, all_rows=True)] * (limbs * k)  # running sums
            + [TransitionConstraint(2, all_rows=True)] * limbs  # normalisation
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
        if self.equity:
            out += [
                BoundaryConstraint(self.layout.re(j, l), (j + 1) % m, 0)
                for j in range(k)
                for l in range(EQUITY_LIMBS)
            ]
        out.append(BoundaryConstraint(self.aux_width - 1, 0, 0, aux=True))
        return out

    def public_inputs(self) -> bytes:
        """The statement's encoding and the register flag."""
        return self.statement.encode() + struct.pack("<B", self.sponge.sbox_registers)

    @property
    def _limbs_per_asset(self) -> int:
        """10 (T') in version 1, 19 (T' and E) in version 2."""
        return LIMBS + self.layout.equity_limbs

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
        if self.equity:  # (v2: the equity limbs too)
            for j in range(k):
                for l in range(EQUITY_LIMBS):
                    limb_sum = limb_sum + x[lay.ue(j, l)]
        out.append(inactive * limb_sum)
        # running sums: r' = r + u except on asset j's own row, where the cycle closes
        for j in range(k):
            keep = GF(1) - selectors[j]
            out += [keep * (y[lay.r(j, l)] - x[lay.r(j, l)] - x[lay.u(j, l)]) for l in range(LIMBS)]
        if self.equity:  # (v2: rE' = rE + uE likewise)
            for j in range(k):
                keep = GF(1) - selectors[j]
                out += [
                    keep * (y[lay.re(j, l)] - x[lay.re(j, l)] - x[lay.ue(j, l)])
                    for l in range(EQUITY_LIMBS)
                ]
        # on row j: S_jl + c_(l-1) - d_jl - 512 c_l = 0, S_jl = r + u, d_j9 including 512 H_j
        # (v2: then SE_jl + cE_(l-1) - dE_jl - 512 cE_l = 0, dE_j8 including 512 HE_j)
        out += self._normalisation(x, selectors)
        if self.equity:
            out += self._normalisation(x, selectors, equity=True)
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

    def _carry(self, x, l: int, *, equity: bool = False):
        lay = self.layout
        lo, hi = (lay.carry_e_lo, lay.carry_e_hi) if equity else (lay.carry_lo, lay.carry_hi)
        return x[lo + l] + x[hi + l] * GF(BASE)

    def _normalisation(self, x, selectors, *, equity: bool = False) -> list:
        """The carry chain of the grand totals (or, equity=True, of the grand equities)."""
        lay, k = self.layout, self.statement.num_assets
        if equity:
            limbs, digits, running, cell = EQUITY_LIMBS, self._equity_digits, lay.re, lay.ue
        else:
            limbs, digits, running, cell = LIMBS, self._total_digits, lay.r, lay.u
        on_asset_row = selectors[0]
        for sel in selectors[1:]:
            on_asset_row = on_asset_row + sel
        out = []
        for l in range(limbs):
            per_asset = None
            for j in range(k):
                d = digits[j][l]
                term = selectors[j] * (x[running(j, l)] + x[cell(j, l)] - GF(d % P))
                per_asset = term if per_asset is None else per_asset + term
            shared = self._carry(x, l - 1, equity=equity) if l > 0 else None
            if l < limbs - 1:
                carry_out = self._carry(x, l, equity=equity) * GF(BASE)
                shared = -carry_out if shared is None else shared - carry_out
            out.append(per_asset + on_asset_row * shared)
        return out

    def build_aux_trace(self, main: GF, challenges: ExtArray) -> ExtArray:
        values = GF(np.stack([np.asarray(v) for v in self.looked_up(main)]))
        table = GF(np.arange(self.trace_len) % BASE)
        return lookup.build_aux(challenges[0], values, table, main[self.layout.mult])


# -- the witness ---------------------------------------------------------------------------------
def offset_total_limbs(offset_totals: Sequence[Sequence[int]], count: int = LIMBS) -> np.ndarray:
    """(B, K) non-negative integers below 2^(9 count) -> (B, K, count) int64 base-512 limbs
    (count = 10 for offset totals, 9 for equities)."""
    a = np.array([[int(t) for t in row] for row in offset_totals], dtype=object)
    if a.ndim != 2 or not a.size:
        raise ValueError("offset totals must be a non-empty (B, K) table")
    if (a < 0).any() or (a >= 1 << (LIMB_BITS * count)).any():
        raise ValueError(f"a value is outside [0, 2^{LIMB_BITS * count})")
    shifts = np.array([LIMB_BITS * l for l in range(count)], dtype=object)
    return ((a[:, :, None] >> shifts) & (BASE - 1)).astype(np.int64)


def _running_sums(trace: np.ndarray, padded: np.ndarray, column) -> None:
    """For each (asset j, limb l) of padded (m, K, L): column(j, l) gets r with r = 0 on row
    j + 1 and r[i+1] = r[i] + u[i] around the cycle, skipping row j (numpy over the rows)."""
    _, k, limbs = padded.shape
    for j in range(k):
        for l in range(limbs):
            rotated = np.roll(padded[:, j, l], -(j + 1))
            prefix = np.concatenate([[0], np.cumsum(rotated[:-1])])
            trace[column(j, l)] = np.roll(prefix, j + 1)


def _carries(trace: np.ndarray, sums: np.ndarray, lo: int, hi: int) -> list[int]:
    """The grand sums sum_l 512^l sums[j, l] (sums (K, L), each below 2^23) and, on row j,
    asset j's carries c_0..c_(L-2) as lo/hi cells at rows lo.., hi.. of the trace."""
    k, limbs = sums.shape
    grand = [sum(int(sums[j, l]) << (LIMB_BITS * l) for l in range(limbs)) for j in range(k)]
    for j in range(k):
        carry = 0
        for l in range(limbs - 1):
            step = int(sums[j, l]) + carry - ((grand[j] >> (LIMB_BITS * l)) & (BASE - 1))
            carry = step // BASE
            trace[lo + l, j] = carry % BASE
            trace[hi + l, j] = carry // BASE
    return grand


def aggregate_witness(
    context: bytes,
    offset_totals: Sequence[Sequence[int]],
    blindings,
    batch_sizes: Sequence[int],
    *,
    sbox_registers: bool = False,
    equity: Sequence[Sequence[int]] | None = None,
) -> tuple[AggregateStatement, GF]:
    """The statement and the main trace of `AggregateAir(statement, sbox_registers=...)` for
    B batches: offset_totals (B, K) the T'_bj (Python ints), blindings (B, 8) their
    commitments' blindings, batch_sizes the n_b. Each T'_bj must lie in [0, n_b 2^64) (a sum
    of n_b offset balances). equity: None (version 1), or (B, K) the batches' gross equities
    E_bj (version 2), each in [0, n_b (2^63 - 1)] with E_bj - T_bj in [0, n_b 2^63]. The
    commitments are computed by the sponge on the rows, the grand totals are `grand_totals`
    (and the grand equities `grand_equity`). ValueError for malformed input."""
    limbs = offset_total_limbs(offset_totals)
    b, k = limbs.shape[:2]
    sizes = [int(n) for n in batch_sizes]
    if len(sizes) != b:
        raise ValueError("one batch size per batch")
    for row, n in zip(offset_totals, sizes, strict=True):
        if any(int(t) >= n << 64 for t in row):
            raise ValueError("an offset total is larger than its batch's n_b balances can sum to")
    e_limbs = None
    if equity is not None:
        if len(equity) != b or any(len(row) != k for row in equity):
            raise ValueError("one equity per batch and asset")
        for row, t_row, n in zip(equity, offset_totals, sizes, strict=True):
            for e, t in zip(row, t_row, strict=True):
                e, debt = int(e), int(e) - (int(t) - n * OFFSET)
                if not 0 <= e <= n * MAX_USER_EQUITY or not 0 <= debt <= n * OFFSET:
                    raise ValueError(
                        "a batch's equity is outside [0, n_b (2^63 - 1)] or below its total, "
                        "or its debt beyond n_b 2^63"
                    )
        e_limbs = offset_total_limbs(equity, EQUITY_LIMBS)
    blind = as_states(blindings, BLINDING)
    if blind.shape[0] != b:
        raise ValueError("one blinding per batch")
    m = padded_rows(b)
    lay = Layout(k, equity is not None)
    padded = np.zeros((m, k, LIMBS), dtype=np.int64)
    padded[:b] = limbs
    padded_e = None
    if e_limbs is not None:
        padded_e = np.zeros((m, k, EQUITY_LIMBS), dtype=np.int64)
        padded_e[:b] = e_limbs
    sponge_blind = np.zeros((m, BLINDING), dtype=np.uint64)
    sponge_blind[:b] = blind
    gadget = TotalsCommitmentGadget(
        lay.sponge,
        lay.limb_cols(),
        lay.blind,
        sbox_registers=sbox_registers,
        equity_cols=lay.equity_cols(),
    )
    trace = np.zeros((lay.sponge + gadget.num_columns, m), dtype=np.uint64)
    trace[: LIMBS * k] = padded.reshape(m, LIMBS * k).T
    trace[lay.blind.start : lay.blind.stop] = sponge_blind.T
    _running_sums(trace, padded, lay.r)
    # each per-limb sum is below 2^14 * 511
    g_offset = _carries(trace, padded.sum(axis=0), lay.carry_lo, lay.carry_hi)
    grand_e = None
    if padded_e is not None:
        start = lay.ue(0, 0)
        trace[start : start + EQUITY_LIMBS * k] = padded_e.reshape(m, EQUITY_LIMBS * k).T
        _running_sums(trace, padded_e, lay.re)
        grand_e = _carries(trace, padded_e.sum(axis=0), lay.carry_e_lo, lay.carry_e_hi)
    looked = trace[lay.range_checked()].astype(np.int64)
    trace[lay.mult] = lookup.multiplicities(looked, BASE, m)
    digests = gadget.fill(trace, padded, sponge_blind, padded_e)
    n_total = sum(sizes)
    statement = AggregateStatement(
        bytes(context),
        k,
        tuple(tuple(int(v) for v in d) for d in digests[:b]),
        tuple(sizes),
        tuple(g - n_total * OFFSET for g in g_offset),
        None if grand_e is None else tuple(grand_e),
    )
    return statement, reduced(trace)


__all__ = [
    "AggregateAir",
    "AggregateStatement",
    "Layout",
    "TotalsCommitmentGadget",
    "aggregate_witness",
    "grand_equity",
    "grand_totals",
    "offset_total_limbs",
    "padded_rows",
]
