"""The solvency AIR: per-asset totals are exact sums of every user's balance, and every user's
total value at the public prices is non-negative. docs/circuit.md gives the layout and the
bound argument for every constraint; the numbers quoted in comments come from there.

One row per user (n a power of two, padding users all zero). Balances e in [-2^63, 2^63) are
stored offset, u = e + 2^63 in [0, 2^64), as 8 limbs of 9 bits (limb 7 is bit 63 alone).

Opt-in user leaves (`SolvencyAir(statement, leaves)`, `build_witness_with_leaves`): each row
also holds its user's id commitment and a `LeafHashGadget` (circuits/leaf.py) hashing it with
the very limb cells above; the digest equals the row's published leaf, a periodic column
(docs/inclusion.md). Without leaves the AIR is exactly the one above.

Opt-in hidden totals (`SolvencyAir(statement, totals_commitment=c)`, `build_hidden_witness`;
issue 10, batches): the statement's totals are zero and flagged hidden, the totals' digits are
private range-checked cells, and a width-16 Poseidon2 sponge across rows 0..K computes the
hiding commitment `circuits.totals.totals_commitment(T', blinding)`, whose output on row K is
the public c (docs/circuit.md, "Hidden totals (batches)").
"""

from __future__ import annotations

import re
import struct
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

import numpy as np

from circuits import lookup
from circuits.haircut import BALANCE_LIMIT, Table, Tiers, check_table
from circuits.leaf import LeafHashGadget, padding_id_commitments
from circuits.poseidon2 import DIGEST, as_states
from circuits.poseidon2_air import Poseidon2Gadget
from circuits.totals import BLINDING, commitment_states, new_blinding, sponge_iv
from circuits.totals import WIDTH as TOTALS_WIDTH
from stark.air import Air, BoundaryConstraint, Frame, TransitionConstraint
from stark.field import (
    GF,
    HAVE_NUMBA,
    Cells,
    CompiledPolynomials,
    ExtArray,
    P,
    base_lincomb,
    reduced,
)
from stark.fused import PolynomialRows, deferred_accepted
from stark.ntt import zeros_on_small_pages
from stark.randomness import ProverRandomness

LIMB_BITS = 9
BASE = 1 << LIMB_BITS  # 512: the range table is [0, BASE)
LIMBS = 8  # 7 limbs of 9 bits and one bit: 64 bits
OFFSET = 1 << 63  # u = e + 2^63
CARRY_OFFSET = 1 << 20  # a user-value carry k lies in [-2^20, 2^20): k + 2^20 has 21 bits
MIN_TRACE_LEN = BASE  # the periodic table must fit in the trace
MAX_TRACE_LEN = 1 << 17  # per-limb sums stay below n * 511 < 2^26
MAX_ASSETS = 200  # user-value positions stay below p / 2 (docs/circuit.md)
MAX_PRICE_BITS = 90


def digits(x: int, count: int) -> list[int]:
    """The base-512 digits of a non-negative integer, lowest first; raises if it needs more."""
    if x < 0 or x >> (LIMB_BITS * count):
        raise ValueError(f"{x} does not fit in {count} base-{BASE} digits")
    return [(x >> (LIMB_BITS * i)) & (BASE - 1) for i in range(count)]


#: The canonical snapshot time: UTC, to the second or the microsecond, "Z" suffix.
# Asset symbols and the quote currency: ASCII letters, digits and . _ -, so that no two names
# that look alike on a screen (Latin BTC and Cyrillic ВТС) can be different assets.
SYMBOL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
AS_OF_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z")
MAX_ISSUER_BYTES = 256
STATEMENT_TAG = b"stark-solvency statement v2\0"
#: The statement with gross equity and haircut tables (issue 17; `Statement.equity` set).
STATEMENT_TAG_GROSS = b"stark-solvency statement v3\0"
#: Appended to the statement's encoding in the public inputs of an AIR with user leaves.
LEAVES_TAG = b"stark-solvency leaves v1\0"
LEAF_WIDTHS = (16, 24)
#: Appended to the public inputs (after the leaves' part, if any) of an AIR with hidden totals.
HIDDEN_TOTALS_TAG = b"stark-solvency hidden totals v1\0"
TOTAL_DIGITS = LIMBS + 2  # hidden totals: tot[0..7], then H = h0 + 512 h1 (tot_h[0..1])
EQUITY_CARRIES = LIMBS - 2  # eps_0..eps_5: the equity chain's carries (its last is public)
EQUITY_DIGITS = LIMBS + 1  # hidden equity: teq[0..6], then h0, h1: E_j < 2^81
CHUNK_LIMBS = 3  # 27-bit chunks of 3 limbs in the tier chains


def tier_columns(tiers: int) -> int:
    """Main columns of an asset's tier block: m - 1 selectors, 14 limbs and 4 carry bits for
    a table of m >= 2 tiers; none without a table or with one tier (its loss is affine in
    the equity limbs, which exist already)."""
    return tiers - 1 + 2 * (LIMBS - 1) + 4 if tiers >= 2 else 0


def format_as_of(moment: datetime) -> str:
    """A timezone-aware datetime as the canonical UTC string (seconds, or microseconds if any)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S" + (".%f" if utc.microsecond else "") + "Z")


def _check_text(value: object, what: str, max_bytes: int) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    # categories C* (control, format: bidirectional overrides) and Zl, Zp (line and paragraph
    # separators, which split a printed verdict line in two)
    if value != value.strip() or any(
        unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") for c in value
    ):
        raise ValueError(
            f"{what} must not have surrounding spaces, control characters or line separators"
        )
    if len(value.encode()) > max_bytes:
        raise ValueError(f"{what} must be at most {max_bytes} bytes of UTF-8")


@dataclass(frozen=True)
class Statement:
    """The public statement, all of it bound into the proof through `encode()`.

    issuer: who makes the claim (the exchange's name); as_of: the snapshot time, canonical UTC
    ISO 8601 (`format_as_of`), so that a proof for one snapshot cannot pass for another.
    Both may be empty only for library use; `solvency prove` requires them.
    Integer prices (quote units per base unit, times 10^scale), the per-asset totals in base
    units, the padded number of users n. insecure_seeded: the prover's masks came from a
    seed (`--insecure-seed`, for tests): the proof then does not hide balances, and says so.
    Symbols are distinct: one asset, one total.
    hidden_totals: the totals are not public (a batch, issue 10): `totals` must then be all
    zero, and the proof binds a hiding commitment to the true totals instead
    (`SolvencyAir(statement, totals_commitment=...)`). The flag is bound by `encode()`.
    batch: (index, count, snapshot) for batch `index` of `count` of the snapshot whose digest
    (64 hex digits, `solvency.batches.snapshot_digest`) is `snapshot`, so that a batch proof
    cannot stand in another slot or for another snapshot (docs/batches.md). Bound by `encode()`.
    equity: None for the statement of format 1 (totals only, as first published). Otherwise
    the gross equity E_j = sum of the positive balances per asset (zeros when the totals are
    hidden), and haircuts: one haircut table or None (100%) per asset, () for none at all
    (circuits/haircut.py). The debt D_j = E_j - T_j follows exactly. Bound by `encode()`.
    """

    quote: str
    scale: int
    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    prices: tuple[int, ...]
    totals: tuple[int, ...]
    trace_len: int
    issuer: str = ""
    as_of: str = ""
    insecure_seeded: bool = False
    hidden_totals: bool = False
    batch: tuple[int, int, str] | None = None
    equity: tuple[int, ...] | None = None
    haircuts: tuple[Table | None, ...] = ()

    def __post_init__(self) -> None:
        k = len(self.symbols)
        if not 1 <= k <= MAX_ASSETS:
            raise ValueError(f"between 1 and {MAX_ASSETS} assets are supported, not {k}")
        if not (len(self.prices) == len(self.totals) == len(self.decimals) == k):
            raise ValueError("one price, one total and one decimals value per asset")
        for name, what in (
            (self.quote, "the quote currency"),
            *((s, "an asset symbol") for s in self.symbols),
        ):
            if not isinstance(name, str) or not SYMBOL_PATTERN.fullmatch(name):
                raise ValueError(
                    f"{what} {name!r} must be 1 to 32 ASCII letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit"
                )
        if len(set(self.symbols)) != k:
            dup = next(s for s in self.symbols if self.symbols.count(s) > 1)
            raise ValueError(f"duplicate asset symbol {dup!r}: one asset, one total")
        if self.issuer:
            _check_text(self.issuer, "the issuer", MAX_ISSUER_BYTES)
        if self.as_of and not self._canonical_time(self.as_of):
            raise ValueError(
                f"as_of {self.as_of!r} is not a canonical UTC time like 2025-06-30T23:59:59Z"
            )
        if not isinstance(self.insecure_seeded, bool):
            raise ValueError("insecure_seeded must be a boolean")
        if not isinstance(self.hidden_totals, bool):
            raise ValueError("hidden_totals must be a boolean")
        if self.hidden_totals and any(self.totals):
            raise ValueError("a statement with hidden totals carries zero totals")
        if self.batch is not None:
            index, count, snapshot = self.batch
            ints_ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (index, count))
            if not ints_ok or not 0 <= index < count <= 1 << 16:
                raise ValueError("a batch is (index, count) with 0 <= index < count <= 65536")
            if not isinstance(snapshot, str) or not re.fullmatch(r"[0-9a-f]{64}", snapshot):
                raise ValueError("a batch names its snapshot by a SHA-256 digest (64 hex digits)")
        ints = (self.scale, self.trace_len, *self.decimals, *self.prices, *self.totals)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in ints):
            raise ValueError("scale, decimals, prices, totals and trace_len must be integers")
        if not 0 <= self.scale < 1 << 16 or any(not 0 <= d < 256 for d in self.decimals):
            raise ValueError("the price scale and the decimals must be small non-negative")
        if any(p < 0 or p >> MAX_PRICE_BITS for p in self.prices):
            raise ValueError(f"prices must be integers in [0, 2^{MAX_PRICE_BITS})")
        n = self.trace_len
        if n & (n - 1) or not MIN_TRACE_LEN <= n <= MAX_TRACE_LEN or n < k:
            raise ValueError(
                f"the padded user count must be a power of two in "
                f"[{MIN_TRACE_LEN}, {MAX_TRACE_LEN}]"
            )
        if any(abs(t) > n * OFFSET for t in self.totals):
            raise ValueError("a total is larger than n balances can sum to")
        self._check_gross()

    def _check_gross(self) -> None:
        """Equity within what n balances can sum to, debt too, and checked haircut tables."""
        k, n = self.num_assets, self.trace_len
        if self.equity is None:
            if any(table is not None for table in self.haircuts):
                raise ValueError("haircut tables need the statement with equity (format 2)")
            object.__setattr__(self, "haircuts", ())
            return
        equity = tuple(self.equity)
        if len(equity) != k or any(isinstance(v, bool) or not isinstance(v, int) for v in equity):
            raise ValueError("one integer equity per asset")
        if self.hidden_totals and any(equity):
            raise ValueError("a statement with hidden totals carries zero equity")
        for sym, e, t in zip(self.symbols, equity, self.totals, strict=True):
            if self.hidden_totals:
                continue
            if not 0 <= e <= n * BALANCE_LIMIT:
                raise ValueError(f"{sym}: the equity is not what {n} balances can sum to")
            if not 0 <= e - t <= n * OFFSET:
                raise ValueError(f"{sym}: the debt (equity - total) is not what {n} balances owe")
        haircuts = tuple(self.haircuts) or (None,) * k
        if len(haircuts) != k:
            raise ValueError("one haircut table (or None) per asset")
        for sym, d, table in zip(self.symbols, self.decimals, haircuts, strict=True):
            if table is not None:
                check_table(table, d, f"the haircut table of {sym}")
        object.__setattr__(self, "equity", equity)
        object.__setattr__(self, "haircuts", haircuts)

    @staticmethod
    def _canonical_time(text: str) -> bool:
        if not AS_OF_PATTERN.fullmatch(text):
            return False
        try:
            return format_as_of(datetime.fromisoformat(text.replace("Z", "+00:00"))) == text
        except ValueError:
            return False

    @property
    def num_assets(self) -> int:
        return len(self.symbols)

    def encode(self) -> bytes:
        """Canonical bytes of everything public, for the transcript (the AIR's public inputs).

        A version tag; n, the asset count, the scale and the flags byte (bit 0: insecure
        seeded, bit 1: hidden totals, bit 2: a batch); the quote, the issuer and the snapshot
        time, each length-prefixed UTF-8; then per asset its length-prefixed symbol, decimals,
        price (16 bytes) and total (16 bytes, signed); for a batch, its index and count (4
        bytes each) and the snapshot's 32-byte digest. Every part has a fixed width or a length
        prefix, and the flags say whether the batch part is there, so the encoding is
        injective. With equity (format 2) the tag is STATEMENT_TAG_GROSS and each asset's
        total is followed by its equity (16 bytes), its tier count (1 byte, 0 for no table)
        and per tier its percent (1 byte) and, but for the last, its up_to (16 bytes): still
        self-delimiting.
        """

        def text(value: str) -> bytes:
            raw = value.encode()
            return struct.pack("<H", len(raw)) + raw

        flags = (
            (1 if self.insecure_seeded else 0)
            | (2 if self.hidden_totals else 0)
            | (4 if self.batch is not None else 0)
        )
        gross = self.equity is not None
        out = [
            STATEMENT_TAG_GROSS if gross else STATEMENT_TAG,
            struct.pack("<IIIB", self.trace_len, self.num_assets, self.scale, flags),
            text(self.quote),
            text(self.issuer),
            text(self.as_of),
        ]
        rows = zip(self.symbols, self.decimals, self.prices, self.totals, strict=True)
        for j, (sym, decimals, price, total) in enumerate(rows):
            out.append(text(sym) + struct.pack("<B", decimals))
            out.append(price.to_bytes(16, "little") + total.to_bytes(16, "little", signed=True))
            if gross:
                table = self.haircuts[j] or ()
                out.append(self.equity[j].to_bytes(16, "little") + struct.pack("<B", len(table)))
                for tier in table:
                    out.append(struct.pack("<B", tier.percent))
                    if tier.up_to is not None:
                        out.append(tier.up_to.to_bytes(16, "little"))
        if self.batch is not None:
            index, count, snapshot = self.batch
            out.append(struct.pack("<II", index, count) + bytes.fromhex(snapshot))
        return b"".join(out)


@dataclass(frozen=True)
class Layout:
    """Column indices of the main trace.

    u[j][l]: limb l of asset j's offset balance; r[j][l]: its running sum (see docs);
    carry_lo/hi[l]: the totals' normalisation carries (row j holds asset j's);
    value[s]: base-512 digits of the user's value V; kappa0/1/2[s]: the value carries' limbs;
    mult: LogUp multiplicities.
    With hidden_totals, after mult: tot[0..7] and tot_h[0..1] (row j: asset j's digits of
    T'_j and its final carry H_j = h0 + 512 h1), blind[0..7] (row K: the blinding) and the
    totals' width-16 Poseidon2 gadget (its own input and output columns; S-box registers if
    totals_registers).
    Format 2 (`tiers`, one tier count per asset, 0 for no table; None for format 1): right
    after mult, r_eq[j][l] (l < 7: running sums of the equity limbs u[j][7] u[j][l]), the
    equity carries eps_lo/hi[0..5], then per asset with a table of m >= 2 tiers its block:
    s[1..m-1] (tier selectors), lo[0..6], hi[0..6] (limbs of eq - beta_tau and of
    W_tau - lo), kl[0..1], kh[0..1] (carry bits); with hidden totals, teq[0..6] and
    teq_h[0..1] follow tot/tot_h (row j: the digits of E_j).
    """

    num_assets: int
    price_digits: int
    positions: int
    hidden_totals: bool = False
    totals_registers: bool = True
    tiers: tuple[int, ...] | None = None

    def u(self, j: int, l: int) -> int:
        return LIMBS * j + l

    def r(self, j: int, l: int) -> int:
        return LIMBS * (self.num_assets + j) + l

    @property
    def carry_lo(self) -> int:
        return 2 * LIMBS * self.num_assets

    @property
    def carry_hi(self) -> int:
        return self.carry_lo + LIMBS - 1

    @property
    def value(self) -> int:
        return self.carry_hi + LIMBS - 1

    @property
    def kappa(self) -> int:
        """kappa0 at kappa + s, kappa1 at kappa + S - 1 + s, kappa2 at kappa + 2(S - 1) + s."""
        return self.value + self.positions

    @property
    def mult(self) -> int:
        return self.kappa + 3 * (self.positions - 1)

    @property
    def width(self) -> int:
        """The columns of the AIR without leaves (the leaves' columns come after these)."""
        if not self.hidden_totals:
            return self.gross_end
        return self.totals_gadget.offset + self.totals_gadget.num_columns

    # -- format 2 only: right after mult ----------------------------------------------------------
    @property
    def gross(self) -> bool:
        return self.tiers is not None

    def r_eq(self, j: int, l: int) -> int:
        return self.mult + 1 + (LIMBS - 1) * j + l

    @property
    def eps_lo(self) -> int:
        """eps_lo[l] at eps_lo + l, eps_hi[l] at eps_lo + EQUITY_CARRIES + l."""
        return self.r_eq(self.num_assets, 0)

    def tier_block(self, j: int) -> int:
        """The first column of asset j's tier block (s, lo, hi, kl, kh)."""
        return self._tier_blocks[j]

    @cached_property
    def _tier_blocks(self) -> tuple[int, ...]:
        """Where each asset's tier block starts, and (last) where the blocks end."""
        starts = [self.eps_lo + 2 * EQUITY_CARRIES]
        for m in self.tiers:
            starts.append(starts[-1] + tier_columns(m))
        return tuple(starts)

    def selector(self, j: int, t: int) -> int:
        """s[j][t] for t = 1..m-1 (s[j][0] is the expression 1 - sum of the others)."""
        return self.tier_block(j) + t - 1

    def lo(self, j: int, l: int) -> int:
        return self.tier_block(j) + self.tiers[j] - 1 + l

    def hi(self, j: int, l: int) -> int:
        return self.lo(j, LIMBS - 1 + l)

    def kl(self, j: int, c: int) -> int:
        return self.lo(j, 2 * (LIMBS - 1) + c)

    def kh(self, j: int, c: int) -> int:
        return self.kl(j, 2 + c)

    @property
    def gross_end(self) -> int:
        if not self.gross:
            return self.mult + 1
        return self.tier_block(self.num_assets)

    # -- with hidden totals only: after the columns above ----------------------------------------
    @property
    def tot(self) -> int:
        """tot[0..7] at tot + l, then h0, h1 at tot + 8, tot + 9 (TOTAL_DIGITS columns); in
        format 2 teq[0..6], teq_h[0..1] at tot + TOTAL_DIGITS + i (EQUITY_DIGITS columns)."""
        if not self.hidden_totals:
            raise ValueError("the totals are public: no tot columns")
        return self.gross_end

    @property
    def teq(self) -> int:
        if not self.gross:
            raise ValueError("format 1 has no equity")
        return self.tot + TOTAL_DIGITS

    @property
    def blind(self) -> int:
        """blind[0..7] at blind + e (the blinding, on row K)."""
        return self.tot + TOTAL_DIGITS + (EQUITY_DIGITS if self.gross else 0)

    @cached_property
    def totals_gadget(self) -> Poseidon2Gadget:
        """The totals' sponge: one width-16 permutation per row, owning its input and output."""
        return Poseidon2Gadget(
            self.blind + BLINDING, TOTALS_WIDTH, sbox_registers=self.totals_registers
        )

    def range_checked(self) -> list[int]:
        """Columns whose every cell is looked up in [0, 512)."""
        cols = [self.u(j, l) for j in range(self.num_assets) for l in range(LIMBS - 1)]
        cols += list(range(self.carry_lo, self.value + self.positions))
        cols += list(range(self.kappa, self.mult))
        if self.gross:
            cols += list(range(self.eps_lo, self.eps_lo + 2 * EQUITY_CARRIES))
            for j, m in enumerate(self.tiers):
                if m >= 2:
                    cols += list(range(self.lo(j, 0), self.lo(j, 2 * (LIMBS - 1))))
        if self.hidden_totals:
            cols += list(range(self.tot, self.blind))
        return cols

    def kappa2(self) -> list[int]:
        """kappa2 columns, also looked up times 64 so that they lie in [0, 8)."""
        return list(range(self.kappa + 2 * (self.positions - 1), self.mult))

    # -- with user leaves only: after the columns above -----------------------------------------
    @property
    def idc(self) -> range:
        """The 8 id-commitment columns (private witness), right after `mult`."""
        return range(self.width, self.width + DIGEST)

    def limb_cols(self) -> list[list[int]]:
        """u[j][l] for every asset j and limb l: the cells the leaf hashes."""
        return [[self.u(j, l) for l in range(LIMBS)] for j in range(self.num_assets)]

    def leaf_gadget(self, width: int = 24, *, sbox_registers: bool = True) -> LeafHashGadget:
        """The leaf's gadget, after the idc columns: it hashes the idc cells and the very limb
        cells u[j][l] that the running sums, the totals and the user value read."""
        if width not in LEAF_WIDTHS:
            raise ValueError(f"the leaf width must be one of {LEAF_WIDTHS}, not {width}")
        return LeafHashGadget(
            self.idc.stop, self.idc, self.limb_cols(), width, sbox_registers=sbox_registers
        )


class SolvencyAir(Air):
    """The solvency AIR for a statement.

    leaves: None (the default) for the AIR without inclusion, exactly as it has always been.
    Or the published leaves, (n, 8) field elements (row i: user i's leaf, padding rows
    included): the AIR then adds 8 id-commitment columns and a `LeafHashGadget` of width
    `leaf_width` (16 or 24; S-box registers or not) over the idc and limb cells, 8 periodic
    columns of cycle n holding the leaves, and 8 degree-1 constraints `digest_k = leaf_k` on
    every row. Its name and public inputs then say so (inclusion on, width, registers), so a
    proof with leaves never verifies as one without, nor the other way round.

    totals_commitment: None (the default): the totals are the statement's, public. Or the
    public (8,) hiding commitment to them, for a statement with `hidden_totals`: the AIR then
    adds the private digit cells tot/tot_h (range-checked), the blinding cells and a width-16
    Poseidon2 gadget (S-box registers iff `sbox_registers`), the totals constraint reads the
    cells instead of public digits, a sponge across rows 0..K hashes them, and 8 boundary
    constraints set the output on row K to the commitment (docs/circuit.md, "Hidden totals
    (batches)"). Name and public inputs say so; a proof never verifies in the other mode.
    """

    name = "solvency-v1"

    def __init__(
        self,
        statement: Statement,
        leaves=None,
        *,
        leaf_width: int = 24,
        sbox_registers: bool = True,
        totals_commitment=None,
    ):
        super().__init__(statement.trace_len)
        self.statement = statement
        k = statement.num_assets
        gross = statement.equity is not None
        self.tiers = (
            tuple(
                Tiers.of(t, d) if t else None
                for t, d in zip(statement.haircuts, statement.decimals, strict=True)
            )
            if gross
            else None
        )
        tabled = gross and any(self.tiers)
        # the user-value chain weighs balances by P, or by Q = 100 P under haircut tables
        self.value_prices = tuple(100 * p for p in statement.prices) if tabled else statement.prices
        price_digits = max(1, -(-max(max(self.value_prices), 1).bit_length() // LIMB_BITS))
        value_bits = 64 + max(sum(self.value_prices), 1).bit_length()
        positions = max(LIMBS + price_digits, -(-value_bits // LIMB_BITS) + 1)
        hidden = totals_commitment is not None
        if hidden != statement.hidden_totals:
            raise ValueError(
                "a statement with hidden totals needs their commitment, and only such a statement"
            )
        self.totals_commitment: tuple[int, ...] | None = None
        if hidden:
            commitment = as_states(np.asarray(totals_commitment).reshape(1, -1), DIGEST)[0]
            self.totals_commitment = tuple(int(v) for v in commitment)
            if not k < self.trace_len - 1:  # rows 0..K and n - 1 are distinct (K <= 200 < 511)
                raise ValueError("hidden totals need more rows than assets + 1")
        tier_counts = tuple(t.count if t else 0 for t in self.tiers) if gross else None
        self.layout = Layout(k, price_digits, positions, hidden, sbox_registers, tier_counts)
        version = "v2" if gross else "v1"
        self.name = f"solvency-{version}"
        self.main_width = self.layout.width
        self.num_lookups = len(self.layout.range_checked()) + len(self.layout.kappa2())
        self.num_aux_challenges = 1
        self.leaves: np.ndarray | None = None
        self.leaf_gadget: LeafHashGadget | None = None
        if leaves is not None:
            leaves = as_states(leaves, DIGEST)  # canonical elements, else ValueError
            if leaves.shape[0] != self.trace_len:
                raise ValueError(f"one leaf per row: {leaves.shape[0]} for {self.trace_len} rows")
            self.leaves = leaves
            self.leaf_gadget = self.layout.leaf_gadget(leaf_width, sbox_registers=sbox_registers)
            self.main_width = self.leaf_gadget.offset + self.leaf_gadget.num_columns
            self.name = f"solvency-{version}-leaves-w{leaf_width}" + (
                "" if sbox_registers else "-noreg"
            )
        if hidden:
            leaves_part = f"-leaves-w{leaf_width}" if self.leaf_gadget is not None else ""
            regs_part = "" if sbox_registers else "-noreg"
            self.name = f"solvency-{version}-hidden{leaves_part}{regs_part}"
        self.lookup_group = self._lookup_group()
        self.aux_width = lookup.num_helpers(self.num_lookups, self.lookup_group) + 1

    def _lookup_group(self) -> int:
        """Looked-up values per LogUp helper column: 3 (degree 4), or in format 2, when a
        gadget's constraints have degree D > 4 anyway (7 without S-box registers), D - 1: as
        many helpers fewer at no cost in degree (format 1 keeps 3, as first published)."""
        if self.tiers is None:
            return lookup.GROUP
        degrees = [c.degree for c in self._gadget_constraints()]
        return max(lookup.GROUP, max(degrees, default=0) - 1)

    def _gadget_constraints(self) -> list[TransitionConstraint]:
        out = [] if self.leaf_gadget is None else self.leaf_gadget.transition_constraints()
        if self.totals_commitment is not None:
            out += self.layout.totals_gadget.transition_constraints()
        return out

    @property
    def with_leaves(self) -> bool:
        return self.leaf_gadget is not None

    @property
    def hidden_totals(self) -> bool:
        return self.totals_commitment is not None

    # -- public constants ---------------------------------------------------------------------
    @cached_property
    def price_digit_table(self) -> np.ndarray:
        """(K, M) base-512 digits of each price."""
        return np.array(
            [digits(p, self.layout.price_digits) for p in self.value_prices], dtype=np.int64
        ).reshape(self.statement.num_assets, -1)

    @cached_property
    def offset_value(self) -> int:
        """C = 2^63 sum_j P_j: the user value V = sum_j P_j u_j - C (Q for P with tables)."""
        return OFFSET * sum(self.value_prices)

    @cached_property
    def tier_constants(self) -> list[TierConstants | None]:
        """Per asset with a table, its public constants (None otherwise)."""
        if self.tiers is None:
            return [None] * self.statement.num_assets
        return [
            None if t is None else TierConstants.of(t, price, self.layout)
            for t, price in zip(self.tiers, self.statement.prices, strict=True)
        ]

    @cached_property
    def equity_digits(self) -> list[list[int]]:
        """Per asset, the public digits of its equity chain: those of E_j mod 2^63, the last
        plus 512 H^E_j with H^E_j = E_j >> 63 (the chain's final carry, public)."""
        out = []
        for e in self.statement.equity:
            d = digits(e % OFFSET, LIMBS - 1)
            d[-1] += BASE * (e >> 63)
            out.append(d)
        return out

    @cached_property
    def offset_totals(self) -> list[int]:
        """T'_j = T_j + n 2^63: the sum of the offset balances u over all n rows."""
        return [t + self.trace_len * OFFSET for t in self.statement.totals]

    def position_terms(self, s: int) -> tuple[list[int], list[int]]:
        """Columns and price digits of A_s = sum_j sum_{l + m = s} P_jm u_jl."""
        cols, coeffs = [], []
        for j in range(self.statement.num_assets):
            for l in range(LIMBS):
                m = s - l
                if 0 <= m < self.layout.price_digits and self.price_digit_table[j, m]:
                    cols.append(self.layout.u(j, l))
                    coeffs.append(int(self.price_digit_table[j, m]))
        return cols, coeffs

    # -- the AIR ------------------------------------------------------------------------------
    def transition_constraints(self) -> list[TransitionConstraint]:
        return [c for _, group in self.constraint_groups() for c in group]

    def constraint_groups(self) -> list[tuple[str, list[TransitionConstraint]]]:
        """The transition constraints in `evaluate_transition`'s order, in named groups (the
        names say which check a violation is: `constraint_name`)."""
        k, lay = self.statement.num_assets, self.layout

        def group(name: str, degree: int, count: int) -> tuple[str, list[TransitionConstraint]]:
            return name, [TransitionConstraint(degree, all_rows=True)] * count

        out = [
            group("limb 7 is a bit", 2, k),
            group("running sums", 2, LIMBS * k),
            group("totals", 2, LIMBS),
        ]
        if self.tiers is not None:
            out += [
                group("equity running sums", 3, (LIMBS - 1) * k),
                group("equity totals", 3, LIMBS - 1),
            ]
            for sym, t in zip(self.statement.symbols, self.tiers, strict=True):
                if t is not None and t.count >= 2:
                    out += [
                        group(f"{sym} tier selectors", 2, t.count),
                        group(f"{sym} tier lower bound", 2, 3),
                        group(f"{sym} tier upper bound", 1, 3),
                        group(f"{sym} tier carries", 2, 4),
                    ]
        out += [
            group("user value", 2 if self.tabled else 1, lay.positions),
            group("range check", self.lookup_group + 1, self.aux_width - 1),
            group("range check sum", 2, 1),
        ]
        if self.leaf_gadget is not None:
            out += [
                ("leaf hash", self.leaf_gadget.transition_constraints()),
                group("leaf is published", 1, DIGEST),
            ]
        if self.hidden_totals:
            out += [
                ("totals commitment hash", self.layout.totals_gadget.transition_constraints()),
                group("totals commitment sponge", 2, TOTALS_WIDTH),
            ]
        return out

    def constraint_name(self, index: int) -> str:
        """The group of transition constraint `index`."""
        for name, group in self.constraint_groups():
            if index < len(group):
                return name
            index -= len(group)
        raise IndexError("no such transition constraint")

    @property
    def tabled(self) -> bool:
        """Some asset has a haircut table: the user-value chain is the collateral rule."""
        return self.tiers is not None and any(self.tiers)

    def periodic_columns(self) -> list[np.ndarray]:
        return self._periodic

    @cached_property
    def _periodic(self) -> list[np.ndarray]:
        """The range table (cycle 512), one one-hot selector per asset (cycle n), with leaves
        the 8 leaf columns (cycle n) and with hidden totals `last` (1 on row n - 1 only, cycle
        n), built once: the verifier reads them three times."""
        selectors = np.zeros((self.statement.num_assets, self.trace_len), dtype=np.int64)
        selectors[np.arange(self.statement.num_assets), np.arange(self.statement.num_assets)] = 1
        out = [np.arange(BASE, dtype=np.int64), *selectors]
        if self.leaves is not None:  # element k of every row's leaf (cycle n)
            out += [np.ascontiguousarray(self.leaves[:, c].astype(np.int64)) for c in range(DIGEST)]
        if self.hidden_totals:
            last = np.zeros(self.trace_len, dtype=np.int64)
            last[-1] = 1
            out.append(last)
        return out

    def boundary_constraints(self) -> list[BoundaryConstraint]:
        n = self.trace_len
        out = [
            BoundaryConstraint(self.layout.r(j, l), (j + 1) % n, 0)
            for j in range(self.statement.num_assets)
            for l in range(LIMBS)
        ]
        if self.layout.gross:  # the equity running sums start at 0 too
            out += [
                BoundaryConstraint(self.layout.r_eq(j, l), (j + 1) % n, 0)
                for j in range(self.statement.num_assets)
                for l in range(LIMBS - 1)
            ]
        out.append(BoundaryConstraint(self.aux_width - 1, 0, 0, aux=True))
        if self.hidden_totals:  # the sponge's output on row K is the public commitment
            k, gadget = self.statement.num_assets, self.layout.totals_gadget
            out += [
                BoundaryConstraint(gadget.output_cols[e], k, v)
                for e, v in enumerate(self.totals_commitment)
            ]
        return out

    def public_inputs(self) -> bytes:
        """The statement's encoding; with leaves, followed by a tag, the leaf width and the
        register flag (the leaves themselves are periodic columns, absorbed before these).
        The statement's encoding is self-delimiting, so the two forms cannot collide. With
        hidden totals, followed by `HIDDEN_TOTALS_TAG`, the totals gadget's register flag and
        the 8 commitment elements (4 bytes each)."""
        out = self.statement.encode()
        if self.leaf_gadget is not None:
            g = self.leaf_gadget
            out += LEAVES_TAG + struct.pack("<BB", g.width, g.sbox_registers)
        if self.hidden_totals:
            regs = self.layout.totals_registers
            out += HIDDEN_TOTALS_TAG + struct.pack(f"<B{DIGEST}I", regs, *self.totals_commitment)
        return out

    def lookup_fractions(self) -> int:
        """num_lookups values on each of the n rows, and the table's 512 distinct entries."""
        return self.num_lookups * self.trace_len + BASE

    def looked_up(self, main) -> list | GF:
        """The looked-up expressions, in a fixed order (columns, then 64 * kappa2): a list of
        values, or for columns (a 2-D field array) one (num_lookups, X) matrix."""
        lay = self.layout
        if isinstance(main, GF) and main.ndim == 2:
            cells = np.asarray(main)
            scaled = cells[lay.kappa2()].astype(np.uint64) * np.uint64(64) % np.uint64(P)
            return reduced(np.concatenate([cells[lay.range_checked()], scaled]))
        values = [main[c] for c in lay.range_checked()]
        values += [main[c] * GF(64) for c in lay.kappa2()]
        return values

    def evaluate_transition(self, f: Frame) -> list:
        k, lay, x, y = self.statement.num_assets, self.layout, f.main, f.main_next
        table, selectors = f.periodic[0], f.periodic[1 : 1 + k]
        out = self._arithmetic_values(f)
        alpha = f.challenges[0]
        helpers = f.aux[: self.aux_width - 1]  # one (helpers, X) array: columns in place
        out += lookup.helper_constraints(alpha, self.looked_up(x), helpers, self.lookup_group)
        sigma, sigma_next = f.aux[self.aux_width - 1], f.aux_next[self.aux_width - 1]
        out.append(
            lookup.running_sum_constraint(alpha, sigma, sigma_next, helpers, table, x[lay.mult])
        )
        if self.leaf_gadget is not None:
            # the leaf of this row's idc and limb cells u[j][l] (the cells read above) ...
            out += self.leaf_gadget.constraints(x)
            # ... is the published leaf of this row
            leaf = f.periodic[1 + k : 1 + k + DIGEST]
            out += [x[c] - v for c, v in zip(self.leaf_gadget.digest_cols, leaf, strict=True)]
        if self.hidden_totals:
            # each row's permutation, chained from row n - 1 (the IV) through rows 0..K
            out += self.layout.totals_gadget.constraints(x)
            on_asset_row = selectors[0]
            for sel in selectors[1:]:
                on_asset_row = on_asset_row + sel
            out += self._sponge(x, y, selectors[k - 1], on_asset_row, f.periodic[-1])
        return out

    def _arithmetic_values(self, f: Frame) -> list:
        """The constraints of _arithmetic on this frame. On the prover's columns (2-D field
        arrays) they are the traced polynomials evaluated by one compiled pass (rows of one
        matrix, the same field elements); elsewhere (the verifier's single point) the code
        itself runs on the values."""
        k, x = self.statement.num_assets, f.main
        selectors = f.periodic[1 : 1 + k]
        if not (isinstance(x, GF) and x.ndim == 2 and HAVE_NUMBA):
            return self._arithmetic(x, f.main_next, selectors)
        polys, width = self._arithmetic_polynomials, self.main_width
        extra = np.empty((len(polys.extra_cells), x.shape[1]), dtype=np.uint32)
        for i, c in enumerate(polys.extra_cells):  # cells of the next row, then selectors
            extra[i] = f.main_next[c - width] if c < 2 * width else selectors[c - 2 * width]
        if deferred_accepted():  # the composition: weighted with the weights folded in
            return PolynomialRows(polys, x, extra).columns()
        values = reduced(polys.evaluate(x, extra))
        return [values[i] for i in range(values.shape[0])]

    @cached_property
    def _arithmetic_polynomials(self) -> CompiledPolynomials:
        """_arithmetic traced on symbolic cells: x[c] is cell c, y[c] cell width + c, the
        selector of asset j cell 2 width + j."""
        width, k = self.main_width, self.statement.num_assets
        selectors = [Cells(2 * width)[j] for j in range(k)]
        polys = self._arithmetic(Cells(0), Cells(width), selectors)
        return CompiledPolynomials(polys, direct=width)

    def _arithmetic(self, x, y, selectors) -> list:
        """The constraints of the batch's arithmetic (all but the lookups and the gadgets):
        polynomials of degree at most 3 in the cells of two rows and the selectors."""
        k, lay = self.statement.num_assets, self.layout
        out = []
        # limb 7 (bit 63 of u) is 0 or 1
        out += [x[lay.u(j, 7)] * (x[lay.u(j, 7)] - GF(1)) for j in range(k)]
        # running sums: r' = r + u except on asset j's own row, where the cycle closes
        for j in range(k):
            keep = GF(1) - selectors[j]
            out += [keep * (y[lay.r(j, l)] - x[lay.r(j, l)] - x[lay.u(j, l)]) for l in range(LIMBS)]
        # totals: on row j, S_jl + c_(l-1) - d_jl - 512 c_l = 0 with S_jl = r + u
        on_asset_row = selectors[0]
        for sel in selectors[1:]:
            on_asset_row = on_asset_row + sel
        out += self._normalisation(x, selectors, on_asset_row)
        equity = None
        if lay.gross:  # the limbs of eq_j = u_7 low_j: u[j][7] u[j][l], l < 7
            equity = [[x[lay.u(j, 7)] * x[lay.u(j, l)] for l in range(LIMBS - 1)] for j in range(k)]
            out += self._equity(x, y, selectors, on_asset_row, equity)
            out += self._tier_constraints(x, equity)
        # user value: A_s - B_s + kappa_(s-1) - C_s - v_s - 512 kappa_s = 0, kappa_(S-1) = 0
        out += self._user_value(x, equity)
        return out

    def _chunks(self, z) -> list:
        """The 4 chunks of 27 bits of T'_j, affine in the cells of a row: chunk_c = t_3c +
        512 t_(3c+1) + 512^2 t_(3c+2) for c = 0, 1, 2 with t = (tot[0..7], h0, h1), and
        chunk_3 = h1 (`circuits.totals.total_chunks` on range-checked digits)."""
        t = [z[self.layout.tot + i] for i in range(TOTAL_DIGITS)]
        chunks = [
            t[3 * c] + t[3 * c + 1] * GF(BASE) + t[3 * c + 2] * GF(BASE * BASE) for c in (0, 1, 2)
        ]
        if not self.layout.gross:
            return [*chunks, t[9]]
        # format 2: then the 3 chunks of E_j (`circuits.totals.equity_chunks`) from teq, h0, h1
        e = [z[self.layout.teq + i] for i in range(EQUITY_DIGITS)]
        return [*chunks, t[9], *(_chunk(e[3 * c : 3 * c + 3], 0) for c in (0, 1, 2))]

    def _sponge(self, x, y, final, on_asset_row, last) -> list:
        """The sponge across rows, one constraint per state element e (degree 2):

            (C + L) in'_e - C out_e - L iv_e - (C - F + L) chunk'_e - F blind'_e = 0

        with the periodic C = sum_j sel_j (rows 0..K-1), F = sel_(K-1) and L = last (row n-1),
        primes on the next row's cells, chunk_e = 0 for e >= 4 (e >= 7 in format 2, whose
        chunks 4..6 are E_j's) and blind_e = 0 for e >= 8. On
        row n-1 it reads in_e = iv_e + chunk_e on row 0; on row j < K-1, in_e = out_e + chunk_e
        on row j+1 (asset j+1's chunks); on row K-1, in_e = out_e + blind_e on row K; on the
        other rows (K..n-2) it is 0 = 0."""
        lay, k = self.layout, self.statement.num_assets
        gadget = lay.totals_gadget
        iv = sponge_iv(k, 2 if lay.gross else 1)
        chunks = self._chunks(y)
        starts = on_asset_row + last
        absorbs = on_asset_row - final + last
        out = []
        for e in range(TOTALS_WIDTH):
            v = starts * y[gadget.input_cols[e]] - on_asset_row * x[gadget.output_cols[e]]
            if iv[e]:
                v = v - last * GF(int(iv[e]))
            if e < len(chunks):
                v = v - absorbs * chunks[e]
            if e < BLINDING:
                v = v - final * y[lay.blind + e]
            out.append(v)
        return out

    def _carry(self, x, l: int):
        lay = self.layout
        return x[lay.carry_lo + l] + x[lay.carry_hi + l] * GF(BASE)

    def _normalisation(self, x, selectors, on_asset_row) -> list:
        if self.hidden_totals:
            return self._hidden_normalisation(x, selectors, on_asset_row)
        lay, k = self.layout, self.statement.num_assets
        out = []
        for l in range(LIMBS):
            per_asset = None
            for j in range(k):
                d = digits(self.offset_totals[j] % (1 << (LIMB_BITS * LIMBS)), LIMBS)[l]
                if l == LIMBS - 1:  # the final carry is public: T'_j >> 72
                    d += BASE * (self.offset_totals[j] >> (LIMB_BITS * LIMBS))
                term = selectors[j] * (x[lay.r(j, l)] + x[lay.u(j, l)] - GF(d % P))
                per_asset = term if per_asset is None else per_asset + term
            carry_in = self._carry(x, l - 1) if l > 0 else None
            carry_out = self._carry(x, l) * GF(BASE) if l < LIMBS - 1 else None
            shared = carry_in
            if carry_out is not None:
                shared = -carry_out if shared is None else shared - carry_out
            out.append(per_asset + on_asset_row * shared)
        return out

    def _hidden_normalisation(self, x, selectors, on_asset_row) -> list:
        """Constraint (4) with the digits in cells: on row j (C = sum_j sel_j = 1 there),
        S_jl + c_(l-1) - tot_l - 512 c_l = 0 for l < 7 and S_j7 + c_6 - tot_7 - 512 H = 0 with
        H = h0 + 512 h1; the cells are range-checked in [0, 512) (docs/circuit.md)."""
        lay, k = self.layout, self.statement.num_assets
        out = []
        for l in range(LIMBS):
            per_asset = None
            for j in range(k):
                term = selectors[j] * (x[lay.r(j, l)] + x[lay.u(j, l)])
                per_asset = term if per_asset is None else per_asset + term
            shared = -x[lay.tot + l]
            if l > 0:
                shared = shared + self._carry(x, l - 1)
            if l < LIMBS - 1:
                shared = shared - self._carry(x, l) * GF(BASE)
            else:
                high = x[lay.tot + LIMBS] + x[lay.tot + LIMBS + 1] * GF(BASE)
                shared = shared - high * GF(BASE)
            out.append(per_asset + on_asset_row * shared)
        return out

    def _equity(self, x, y, selectors, on_asset_row, equity) -> list:
        """(3E) rE' = rE + eq_l off asset j's row; (4E) on row j, S^E_jl + eps_(l-1) - delta_jl
        - 512 eps_l = 0 (l < 6) and S^E_j6 + eps_5 - delta_j6 - 512 H^E_j = 0, with
        S^E = rE + eq_l; public digits, or the cells teq with hidden totals."""
        lay, k = self.layout, self.statement.num_assets
        out = []
        for j in range(k):
            keep = GF(1) - selectors[j]
            out += [
                keep * (y[lay.r_eq(j, l)] - x[lay.r_eq(j, l)] - equity[j][l])
                for l in range(LIMBS - 1)
            ]
        hidden = self.hidden_totals
        for l in range(LIMBS - 1):
            per_asset = None
            for j in range(k):
                term = x[lay.r_eq(j, l)] + equity[j][l]
                if not hidden:
                    term = term - GF(self.equity_digits[j][l] % P)
                term = selectors[j] * term
                per_asset = term if per_asset is None else per_asset + term
            shared = None
            if l > 0:
                shared = self._eps(x, l - 1)
            if l < LIMBS - 2:
                shared = _minus(shared, self._eps(x, l) * GF(BASE))
            if hidden:
                shared = _minus(shared, x[lay.teq + l])
                if l == LIMBS - 2:
                    high = x[lay.teq + l + 1] + x[lay.teq + l + 2] * GF(BASE)
                    shared = shared - high * GF(BASE)
            out.append(per_asset + on_asset_row * shared)
        return out

    def _eps(self, x, l: int):
        lay = self.layout
        return x[lay.eps_lo + l] + x[lay.eps_lo + EQUITY_CARRIES + l] * GF(BASE)

    def _tier_selectors(self, x, j: int) -> list:
        """s[j][0..m-1]: the cells s_1..s_(m-1) and s_0 = 1 - their sum."""
        lay, m = self.layout, self.tiers[j].count
        cells = [x[lay.selector(j, t)] for t in range(1, m)]
        first = GF(1)
        for c in cells:
            first = first - c
        return [first, *cells]

    def _tier_constraints(self, x, equity) -> list:
        """(T1) one-hot selectors; (T2) lo + beta_tau = eq and (T3) lo + hi = W_tau in 27-bit
        chunks with carry bits; (T4) the carries are bits (docs/circuit.md)."""
        lay, out = self.layout, []
        for j, consts in enumerate(self.tier_constants):
            if consts is None or consts.count < 2:
                continue
            sel = self._tier_selectors(x, j)
            out += [v * (v - GF(1)) for v in sel[1:]] + [sel[0] * (sel[0] - GF(1))]
            lo = [x[lay.lo(j, l)] for l in range(LIMBS - 1)]
            hi = [x[lay.hi(j, l)] for l in range(LIMBS - 1)]
            kl = [x[lay.kl(j, c)] for c in range(2)]
            kh = [x[lay.kh(j, c)] for c in range(2)]
            for c in range(3):
                beta = _select(sel, consts.lower_chunks[:, c], skip_first=True)
                v = _chunk(lo, c) - _chunk(equity[j], c)
                v = v if beta is None else v + beta
                out.append(_carried(v, kl, c))
            for c in range(3):
                v = _chunk(lo, c) + _chunk(hi, c)
                width = _select(sel, consts.width_chunks[:, c])
                out.append(_carried(v if width is None else v - width, kh, c))
            out += [k * (k - GF(1)) for k in kl + kh]
        return out

    def _losses(self, x, equity) -> list:
        """B_s per position s: sum over assets with a table of sum_(l+m=s) mu_jm lo_jl +
        lambda_js, with mu and lambda selected by the tier (docs/circuit.md, (5'))."""
        lay, positions = self.layout, self.layout.positions
        out = [None] * positions
        for j, consts in enumerate(self.tier_constants):
            if consts is None:
                continue
            if consts.count == 1:  # lo = eq: its limbs are expressions, the rate a constant
                for s in range(positions):
                    terms = [
                        equity[j][l] * GF(int(consts.rate_digits[0, s - l]))
                        for l in range(max(0, s - lay.price_digits + 1), min(s + 1, LIMBS - 1))
                        if consts.rate_digits[0, s - l]
                    ]
                    for term in terms:
                        out[s] = term if out[s] is None else out[s] + term
                continue
            sel = self._tier_selectors(x, j)
            lo_cols = [lay.lo(j, l) for l in range(LIMBS - 1)]
            for s in range(positions):
                for t in range(consts.count):
                    cols, coeffs = [], []
                    for l in range(max(0, s - lay.price_digits + 1), min(s + 1, LIMBS - 1)):
                        if consts.rate_digits[t, s - l]:
                            cols.append(lo_cols[l])
                            coeffs.append(int(consts.rate_digits[t, s - l]))
                    below = int(consts.below_digits[t, s])
                    if not cols and not below:
                        continue
                    term = dot(x, cols, coeffs) if cols else None
                    if below:
                        term = GF(below) if term is None else term + GF(below)
                    term = sel[t] * term
                    out[s] = term if out[s] is None else out[s] + term
        return out

    def _kappa(self, x, s: int):
        lay, width = self.layout, self.layout.positions - 1
        return (
            x[lay.kappa + s]
            + x[lay.kappa + width + s] * GF(BASE)
            + x[lay.kappa + 2 * width + s] * GF(1 << 18)
            - GF(CARRY_OFFSET)
        )

    def _user_value(self, x, equity=None) -> list:
        lay = self.layout
        c_digits = digits(self.offset_value, lay.positions)
        losses = self._losses(x, equity) if self.tabled else [None] * lay.positions
        out = []
        for s in range(lay.positions):
            cols, coeffs = self.position_terms(s)
            total = dot(x, cols, coeffs) - x[lay.value + s] - GF(c_digits[s])
            if losses[s] is not None:
                total = total - losses[s]
            if s > 0:
                total = total + self._kappa(x, s - 1)
            if s < lay.positions - 1:
                total = total - self._kappa(x, s) * GF(BASE)
            out.append(total)
        return out

    def build_aux_trace(self, main: GF, challenges: ExtArray) -> ExtArray:
        main = main if isinstance(main, GF) else GF(main)
        values = self.looked_up(main)
        table = reduced(np.arange(self.trace_len) % BASE)
        mult = main[self.layout.mult]
        return lookup.build_aux(challenges[0], values, table, mult, self.lookup_group)


def _minus(a, b):
    """a - b, where a may be None (nothing yet)."""
    return -b if a is None else a - b


def _chunk(limbs: list, c: int):
    """chunk_c of 7 limbs: limbs 3c, 3c + 1, 3c + 2 in base 512 (chunk 2 is limb 6 alone)."""
    out = None
    for i, limb in enumerate(limbs[CHUNK_LIMBS * c : CHUNK_LIMBS * (c + 1)]):
        term = limb * GF(BASE**i) if i else limb
        out = term if out is None else out + term
    return out


def _select(selectors: list, constants: np.ndarray, *, skip_first: bool = False):
    """sum_t s_t constants[t] (None if every term is zero)."""
    out = None
    for t, (s, v) in enumerate(zip(selectors, constants, strict=True)):
        if v and not (skip_first and t == 0):
            term = s * GF(int(v))
            out = term if out is None else out + term
    return out


def _carried(v, carries: list, c: int):
    """v + k_(c-1) - 2^27 k_c for the chunk chain's carry bits (none in, none out of 2)."""
    if c > 0:
        v = v + carries[c - 1]
    if c < 2:
        v = v - carries[c] * GF(1 << (LIMB_BITS * CHUNK_LIMBS))
    return v


@dataclass(frozen=True, eq=False)
class TierConstants:
    """One asset's public tier constants for the AIR: the 27-bit chunks (c = 0, 1, 2) of each
    tier's lower boundary beta_t and width W_t, and the base-512 digits of the loss rate
    P (100 - rho_t) (M digits) and of the loss below P Lambda_t (S digits), one row per tier."""

    count: int
    lower_chunks: np.ndarray
    width_chunks: np.ndarray
    rate_digits: np.ndarray
    below_digits: np.ndarray

    @classmethod
    def of(cls, tiers: Tiers, price: int, layout: Layout) -> TierConstants:
        def chunks(v: int) -> list[int]:
            d = digits(v, LIMBS - 1)
            return [
                sum(
                    d[CHUNK_LIMBS * c + i] << (LIMB_BITS * i)
                    for i in range(CHUNK_LIMBS)
                    if CHUNK_LIMBS * c + i < LIMBS - 1
                )
                for c in range(3)
            ]

        return cls(
            tiers.count,
            np.array([chunks(b) for b in tiers.lower], dtype=np.int64),
            np.array([chunks(w) for w in tiers.width], dtype=np.int64),
            np.array(
                [digits(price * (100 - r), layout.price_digits) for r in tiers.ratio],
                dtype=np.int64,
            ),
            np.array(
                [digits(price * lam, layout.positions) for lam in tiers.loss_below], dtype=np.int64
            ),
        )


def dot(values, cols: list[int], coeffs: list[int]):
    """sum_i coeffs_i * values[cols_i]: one compiled pass over whole columns in the prover,
    a plain sum of extension values in the verifier, a polynomial on symbolic cells."""
    if isinstance(values, Cells):
        out = GF(0)
        for col, coeff in zip(cols, coeffs, strict=True):
            out = values[col] * (coeff % P) + out
        return out
    if not cols:
        return GF(0) if not isinstance(values, ExtArray) else values[0] * GF(0)
    idx = np.asarray(cols)
    c = GF(np.asarray(coeffs, dtype=np.int64) % P)
    sub = values[idx]
    if isinstance(sub, ExtArray):
        return (sub * c).sum()
    return base_lincomb(c, sub)


# -- the witness ---------------------------------------------------------------------------------
class Insolvent(ValueError):
    """Some users' total value is negative: the statement is false. `rows` lists them."""

    def __init__(self, rows: list[int]):
        super().__init__(f"{len(rows)} user(s) with a negative total value")
        self.rows = rows


class Undercollateralised(Insolvent):
    """Some users' debts are worth more than their equity counts for under the haircut
    tables: `sum_j P_j debt_ij > sum_j P_j haircut_j(equity_ij)`. `rows` lists them."""

    def __init__(self, rows: list[int]):
        ValueError.__init__(
            self, f"{len(rows)} user(s) whose debts exceed their collateral after haircuts"
        )
        self.rows = rows


def padded_size(users: int) -> int:
    return max(MIN_TRACE_LEN, 1 << max(0, (users - 1).bit_length()))


def offset_limbs(balances: np.ndarray) -> np.ndarray:
    """(n, K) int64 balances -> (n, K, 8) limbs of u = e + 2^63 (limb 7 is bit 63)."""
    u = np.ascontiguousarray(balances, dtype=np.int64).view(np.uint64) ^ np.uint64(OFFSET)
    shifts = np.arange(LIMBS, dtype=np.uint64) * np.uint64(LIMB_BITS)
    limbs = (u[:, :, None] >> shifts) & np.uint64(BASE - 1)
    return limbs.astype(np.int64)


def exact_sums(limbs: np.ndarray) -> list[int]:
    """sum_i sum_l 512^l limbs[i, j, l] per asset j, as Python integers (no overflow)."""
    sums = limbs.sum(axis=0)  # (K, L), each below n * 512
    return [sum(int(v) << (LIMB_BITS * l) for l, v in enumerate(row)) for row in sums]


def exact_totals(limbs: np.ndarray, n: int) -> list[int]:
    """T_j = sum_i e_ij as Python integers, from the offset limbs' sums (no overflow)."""
    return [s - n * OFFSET for s in exact_sums(limbs)]


@dataclass(frozen=True)
class Market:
    """The public description of the assets: everything in the statement but the totals."""

    quote: str
    scale: int
    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    prices: tuple[int, ...]
    haircuts: tuple[Table | None, ...] = ()

    def statement(
        self,
        totals: tuple[int, ...],
        trace_len: int,
        *,
        hidden_totals: bool = False,
        equity: tuple[int, ...] | None = None,
    ) -> Statement:
        """The statement of these assets with these totals over trace_len rows; with
        hidden_totals, the statement of a batch whose totals are hidden (zero in it). equity:
        None for the statement of format 1 (no haircut tables then), else E_j per asset."""
        hide = hidden_totals
        return Statement(
            self.quote,
            self.scale,
            self.symbols,
            self.decimals,
            tuple(int(p) for p in self.prices),
            (0,) * len(totals) if hide else totals,
            trace_len,
            hidden_totals=hide,
            equity=None if equity is None else (0,) * len(equity) if hide else equity,
            haircuts=self.haircuts,
        )


@dataclass(frozen=True, eq=False)
class TotalsOpening:
    """A batch's hidden totals and what opens their commitment: secret, except `commitment`.

    totals: T_j; offset_totals: T'_j = T_j + n 2^63; blinding: (8,) uniform field elements;
    commitment: (8,) `circuits.totals.totals_commitment(offset_totals, blinding, equity)`,
    public (`SolvencyAir(statement, ..., totals_commitment=commitment)`); equity: E_j in
    format 2, None in format 1.
    """

    totals: tuple[int, ...]
    offset_totals: tuple[int, ...]
    blinding: np.ndarray
    commitment: np.ndarray
    equity: tuple[int, ...] | None = None


def build_witness(
    market: Market, balances: np.ndarray, *, gross: bool = True
) -> tuple[Statement, GF]:
    """The statement and the main trace for integer balances (users, K) in base units.

    gross: the statement of format 2, with each asset's gross equity and the market's haircut
    tables (the default); False for format 1, as first published (no tables allowed).
    Raises Insolvent (with the offending rows) if a user's value is negative, and its
    subclass Undercollateralised if a user breaks the haircut rule.
    """
    statement, trace, _, _ = _solvency_witness(market, balances, gross=gross)
    return statement, GF(trace % P)


def build_witness_with_leaves(
    market: Market,
    balances: np.ndarray,
    id_commitments,
    *,
    leaf_width: int = 24,
    sbox_registers: bool = True,
    rng: ProverRandomness | None = None,
    gross: bool = True,
) -> tuple[Statement, GF, np.ndarray]:
    """The statement, the main trace of `SolvencyAir(statement, leaves, leaf_width=...,
    sbox_registers=...)` and the leaves (n, 8) uint64 to publish, for balances (users, K) and
    the real users' id commitments (users, 8) (`circuits.leaf.id_commitments`), row for row.

    Padding rows get random id commitments (`padding_id_commitments`, from `rng`: None draws
    from the operating system; a seeded ProverRandomness is for tests only). The columns of
    the AIR without leaves are `build_witness`'s, the gadget is filled from them. Raises
    Insolvent as `build_witness` does, ValueError for malformed id commitments; `gross` as
    there.
    """
    users = np.shape(balances)[0]
    idc = as_states(id_commitments, DIGEST)  # canonical elements, else ValueError
    if idc.shape[0] != users:
        raise ValueError(f"one id commitment per user: {idc.shape[0]} for {users} users")
    statement, base, lay, _ = _solvency_witness(market, balances, gross=gross)
    trace, leaves = _with_leaves(statement, base, lay, idc, leaf_width, sbox_registers, rng)
    return statement, trace, leaves


def _with_leaves(
    statement: Statement,
    base: np.ndarray,
    lay: Layout,
    idc: np.ndarray,
    leaf_width: int,
    sbox_registers: bool,
    rng: ProverRandomness | None,
) -> tuple[GF, np.ndarray]:
    """The whole trace with leaves from the columns before them, and the leaves."""
    n, users = statement.trace_len, idc.shape[0]
    gadget = lay.leaf_gadget(leaf_width, sbox_registers=sbox_registers)
    trace = zeros_on_small_pages((gadget.offset + gadget.num_columns, n))
    trace[: lay.width] = base % P
    trace[lay.idc.start : lay.idc.stop, :users] = idc.T
    trace[lay.idc.start : lay.idc.stop, users:] = padding_id_commitments(n - users, rng).T
    leaves = gadget.fill(trace)  # from the idc cells and the limb cells u[j][l] just written
    return reduced(trace), leaves


def build_hidden_witness(
    market: Market,
    balances: np.ndarray,
    id_commitments=None,
    *,
    leaf_width: int = 24,
    sbox_registers: bool = True,
    rng: ProverRandomness | None = None,
    gross: bool = True,
) -> tuple[Statement, GF, np.ndarray | None, TotalsOpening]:
    """A batch whose totals are hidden: the statement (hidden_totals, zero totals), the main
    trace of `SolvencyAir(statement, leaves, leaf_width=..., sbox_registers=...,
    totals_commitment=opening.commitment)`, the leaves (n, 8) to publish (None without
    id_commitments: the AIR without leaves) and the opening (totals, blinding, commitment).

    The blinding is `circuits.totals.new_blinding(rng)` (rng: None draws from the operating
    system; a seeded ProverRandomness is for tests only), drawn before the padding rows' id
    commitments. Raises Insolvent as `build_witness` does; `gross` as there (format 2
    commits the equity too: `circuits.totals` version 2).
    """
    users = np.shape(balances)[0]
    if id_commitments is not None:
        idc = as_states(id_commitments, DIGEST)  # canonical elements, else ValueError
        if idc.shape[0] != users:
            raise ValueError(f"one id commitment per user: {idc.shape[0]} for {users} users")
    blinding = new_blinding(rng)
    statement, base, lay, opening = _solvency_witness(
        market, balances, blinding=blinding, totals_registers=sbox_registers, gross=gross
    )
    if id_commitments is None:
        return statement, reduced(base % P), None, opening
    trace, leaves = _with_leaves(statement, base, lay, idc, leaf_width, sbox_registers, rng)
    return statement, trace, leaves, opening


def _solvency_witness(
    market: Market,
    balances: np.ndarray,
    *,
    blinding: np.ndarray | None = None,
    totals_registers: bool = True,
    gross: bool = True,
) -> tuple[Statement, np.ndarray, Layout, TotalsOpening | None]:
    """The statement, the columns of the AIR without leaves as int64 (not yet reduced mod p),
    their layout and, with a blinding (hidden totals), the totals' opening."""
    users, k = balances.shape
    if users > MAX_TRACE_LEN:
        raise ValueError(f"{users} users exceed one proof's capacity of {MAX_TRACE_LEN}")
    n = padded_size(users)
    padded = np.zeros((n, k), dtype=np.int64)
    padded[:users] = balances
    limbs = offset_limbs(padded)
    totals = tuple(exact_totals(limbs, n))
    offset_totals = [t + n * OFFSET for t in totals]
    hidden = blinding is not None
    equity_limbs = limbs[:, :, : LIMBS - 1] * limbs[:, :, LIMBS - 1 :]  # u_7 u_l: eq's limbs
    equity = tuple(exact_sums(equity_limbs)) if gross else None
    statement = market.statement(totals, n, hidden_totals=hidden, equity=equity)
    placeholder = np.zeros(DIGEST, dtype=np.uint64) if hidden else None  # not read here
    air = SolvencyAir(statement, sbox_registers=totals_registers, totals_commitment=placeholder)
    lay = air.layout
    trace = zeros_on_small_pages((lay.width, n), np.int64)  # gigabytes: see stark.ntt
    for j in range(k):
        for l in range(LIMBS):
            column = limbs[:, j, l]
            trace[lay.u(j, l)] = column
            trace[lay.r(j, l)] = _running_sums(column, j)
    _totals_carries(lay, limbs, trace, offset_totals)
    losses = None
    if gross:
        _equity_columns(lay, equity_limbs, trace, equity)
        losses = _tier_columns(air, equity_limbs, trace)
    _user_value(air, limbs, trace, users, losses)
    if hidden:  # row j: asset j's digits of T'_j and H_j = h0 + 512 h1 (and of E_j)
        for j, t in enumerate(offset_totals):
            trace[lay.tot : lay.tot + TOTAL_DIGITS, j] = digits(t, TOTAL_DIGITS)
            if gross:
                trace[lay.teq : lay.teq + EQUITY_DIGITS, j] = digits(equity[j], EQUITY_DIGITS)
    looked = np.stack(
        [trace[c] for c in lay.range_checked()] + [64 * trace[c] for c in lay.kappa2()]
    )
    trace[lay.mult] = lookup.multiplicities(looked, BASE, n)
    if not hidden:
        return statement, trace, lay, None
    # the sponge: row j < K absorbs asset j, row K the blinding; rows past K permute zeros
    trace[lay.blind : lay.blind + BLINDING, k] = blinding
    inputs = np.zeros((n, TOTALS_WIDTH), dtype=np.uint64)
    inputs[: k + 1] = commitment_states(offset_totals, blinding, equity)
    outputs = lay.totals_gadget.fill(trace, inputs)
    opening = TotalsOpening(
        totals,
        tuple(offset_totals),
        np.asarray(blinding, dtype=np.uint64),
        outputs[k, :DIGEST].copy(),  # not a view of every row's outputs
        equity,
    )
    return statement, trace, lay, opening


def _totals_carries(lay: Layout, limbs: np.ndarray, trace: np.ndarray, offset_totals) -> None:
    sums = limbs.sum(axis=0)
    for j in range(sums.shape[0]):
        target = offset_totals[j]
        carry = 0
        for l in range(LIMBS - 1):
            step = int(sums[j, l]) + carry - ((target >> (LIMB_BITS * l)) & (BASE - 1))
            if step % BASE:
                raise ArithmeticError("totals do not normalise: a bug in the witness builder")
            carry = step // BASE
            trace[lay.carry_lo + l, j] = carry % BASE
            trace[lay.carry_hi + l, j] = carry // BASE


def _running_sums(column: np.ndarray, j: int) -> np.ndarray:
    """r with r[(j+1) % n] = 0 and r[i+1] = r[i] + column[i] around the cycle, but on row j."""
    rotated = np.roll(column, -(j + 1))
    prefix = np.concatenate([[0], np.cumsum(rotated[:-1])])
    return np.roll(prefix, j + 1)


def _equity_columns(lay: Layout, equity_limbs: np.ndarray, trace: np.ndarray, equity) -> None:
    """r_eq (running sums of the equity limbs) and, on row j, the carries eps_0..5 of E_j."""
    sums = equity_limbs.sum(axis=0)  # (K, 7)
    for j in range(equity_limbs.shape[1]):
        for l in range(LIMBS - 1):
            trace[lay.r_eq(j, l)] = _running_sums(equity_limbs[:, j, l], j)
        carry = 0
        for l in range(EQUITY_CARRIES):
            step = int(sums[j, l]) + carry - ((equity[j] >> (LIMB_BITS * l)) & (BASE - 1))
            if step % BASE:
                raise ArithmeticError("equity does not normalise: a bug in the witness builder")
            carry = step // BASE
            trace[lay.eps_lo + l, j] = carry % BASE
            trace[lay.eps_lo + EQUITY_CARRIES + l, j] = carry // BASE


def _chunks_of(values: np.ndarray) -> list[np.ndarray]:
    """The three 27-bit chunks of int64 values below 2^63."""
    mask = (1 << (LIMB_BITS * CHUNK_LIMBS)) - 1
    return [(values >> (LIMB_BITS * CHUNK_LIMBS * c)) & mask for c in range(3)]


def _tier_columns(air: SolvencyAir, equity_limbs: np.ndarray, trace: np.ndarray):
    """Each tabled asset's tier block, and the users' losses as (n, S) position sums of
    sum_j P_j loss_ij (B_s), or None without tables."""
    if not air.tabled:
        return None
    lay = air.layout
    n = equity_limbs.shape[0]
    shifts = np.arange(LIMBS - 1, dtype=np.int64) * LIMB_BITS
    losses = np.zeros((n, lay.positions), dtype=np.int64)
    for j, (tiers, consts) in enumerate(zip(air.tiers, air.tier_constants, strict=True)):
        if tiers is None:
            continue
        eq = (equity_limbs[:, j, :] << shifts).sum(axis=1)  # < 2^63: fits int64
        tau = tiers.tier_of(eq)
        lo = eq - np.asarray(tiers.lower, dtype=np.int64)[tau]
        lo_limbs = (lo[:, None] >> shifts) & (BASE - 1)
        if tiers.count >= 2:
            hi = np.asarray(tiers.width, dtype=np.int64)[tau] - lo
            for t in range(1, tiers.count):
                trace[lay.selector(j, t)] = tau == t
            for l in range(LIMBS - 1):
                trace[lay.lo(j, l)] = lo_limbs[:, l]
                trace[lay.hi(j, l)] = (hi >> shifts[l]) & (BASE - 1)
            for cols, terms in (
                (lay.kl, (lo, np.asarray(tiers.lower, dtype=np.int64)[tau])),
                (lay.kh, (lo, hi)),
            ):
                carry = np.zeros(n, dtype=np.int64)
                for c, (a, b) in enumerate(zip(*map(_chunks_of, terms), strict=True)):
                    carry = (a + b + carry) >> (LIMB_BITS * CHUNK_LIMBS)
                    if c < 2:
                        trace[cols(j, c)] = carry
        rate, below = consts.rate_digits[tau], consts.below_digits[tau]  # (n, M), (n, S)
        for m in range(lay.price_digits):
            losses[:, m : m + LIMBS - 1] += lo_limbs * rate[:, m : m + 1]
        losses += below
    return losses


def _user_value(
    air: SolvencyAir,
    limbs: np.ndarray,
    trace: np.ndarray,
    users: int,
    losses: np.ndarray | None = None,
) -> None:
    lay = air.layout
    n = limbs.shape[0]
    prices = air.price_digit_table  # (K, M)
    position_sums = np.zeros((n, lay.positions), dtype=np.int64)
    for l in range(LIMBS):
        for m in range(lay.price_digits):
            position_sums[:, l + m] += limbs[:, :, l] @ prices[:, m]
    if losses is not None:
        position_sums -= losses
    c_digits = digits(air.offset_value, lay.positions)
    width = lay.positions - 1
    carry = np.zeros(n, dtype=np.int64)
    for s in range(lay.positions):
        step = position_sums[:, s] + carry - c_digits[s]
        trace[lay.value + s] = step % BASE
        carry = step // BASE
        if s < width:
            shifted = carry + CARRY_OFFSET
            trace[lay.kappa + s] = shifted % BASE
            trace[lay.kappa + width + s] = (shifted // BASE) % BASE
            trace[lay.kappa + 2 * width + s] = shifted >> 18
    negative = np.flatnonzero(carry != 0)
    if len(negative):
        rows = [int(i) for i in negative if i < users]
        raise (Undercollateralised if air.tabled else Insolvent)(rows)
