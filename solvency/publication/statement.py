"""The publication format, versions 1 and 2: what `prove` publishes and every verifier reads.

A publication is one or more batches of users, each a STARK proof of the solvency AIR with
the users' leaves (docs/publication.md):

    DIR/statement.json                       format PUBLICATION_FORMAT, below
    DIR/batches/b00000/proof.bin             batch 0's proof
    DIR/batches/b00000/leaves.bin            batch 0's leaves: n x 8 elements, u32 LE, row order
    ...
    DIR/aggregate.bin                        only with several batches: the aggregation proof

One batch: its proof binds the per-asset totals themselves. Several: each batch proof binds
only a hiding commitment to its totals, and the aggregation proof opens the commitments in its
constraints and binds the grand totals. Every batch statement binds the snapshot commitment
and its place (index, count), so that no batch can stand in another slot or publication.

Version 2 (what `prove` writes) adds each asset's gross equity and debt and its haircut table
(the statement of format 2, `circuits.solvency.Statement.equity`); version 1 is read and
checked exactly as it was published.

statement.json is for people and tools; no verifier trusts it as written (`check.py` says how
each field is checked). `snapshot` is a hiding commitment, SHA-256 over a fresh 256-bit salt
that only the exchange's private store keeps and the digest of its input files: it names the
snapshot without letting anyone confirm a guess of the files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuits.aggregate import MAX_BATCHES, AggregateAir, AggregateStatement
from circuits.haircut import Table, Tier, table_json
from circuits.leaf import tree_levels
from circuits.poseidon2 import DIGEST
from circuits.solvency import MAX_TRACE_LEN, SolvencyAir, Statement
from solvency.files import InputError
from solvency.publication.encoding import (
    Fields,
    coins,
    elements_hex,
    load_json_strict,
    plain,
    price_decimal,
)
from stark.params import PRESETS, StarkParams
from stark.security import SecurityReport, estimate_security

PUBLICATION_FORMAT = "stark-solvency-publication/2"
FORMAT_1 = "stark-solvency-publication/1"
FORMATS_READ = (FORMAT_1, PUBLICATION_FORMAT)
STATEMENT_NAME, AGGREGATE_NAME, PROOF_NAME, LEAVES_NAME = (
    "statement.json", "aggregate.bin", "proof.bin", "leaves.bin"
)  # fmt: skip
MAX_STATEMENT_BYTES = 1 << 24  # 16,384 batch records of about 500 bytes, and the rest
# The application's leaf layout, chosen by measurement (docs/inclusion.md): Poseidon2 width 24,
# no S-box registers (degree 7). The width defines the leaf function; the registers only the
# columns, but both are bound into the proof through the AIR's public inputs.
LEAF_WIDTH, LEAF_REGISTERS = 24, False
LEAF_HASH = f"poseidon2-babybear-w{LEAF_WIDTH}"
EMPTY_ROOT = np.zeros(DIGEST, dtype=np.uint64)  # the users' tree's padding past the last batch
WHOLE_COINS = re.compile(r"[1-9][0-9]{0,39}", re.ASCII)
REGIMES_NOTE = "conjectured: ethSTARK conjecture; provable: unique decoding, every round"

FIELDS = (
    "format", "issuer", "as_of", "quote", "price_scale", "snapshot", "users_padded",
    "insecure_seeded", "zero_knowledge", "assets", "batches", "users_root", "aggregate",
    "preset", "params", "security", "inclusion",
)  # fmt: skip
ASSET_FIELDS_1 = ("symbol", "decimals", "price", "integer_price", "total", "total_base_units")
ASSET_FIELDS = (
    *ASSET_FIELDS_1, "equity", "equity_base_units", "debt", "debt_base_units", "haircut"
)  # fmt: skip
TIER_FIELDS = ("up_to", "percent")
BATCH_FIELDS = ("users_padded", "commitment", "leaves_root", "proof_sha256", "proof_bytes")
PROOF_FIELDS = ("proof_sha256", "proof_bytes")
SECURITY_FIELDS = ("conjectured_bits", "provable_bits", "terms", "regimes")


# -- where things are ----------------------------------------------------------------------------
def batch_name(index: int) -> str:
    return f"b{index:05d}"


def batch_dir(directory: Path, index: int) -> Path:
    """Batch `index`'s folder in a publication (or, for its private records, a store)."""
    return directory / "batches" / batch_name(index)


# -- what is proved ------------------------------------------------------------------------------
def publication_air(
    statement: Statement, leaves: np.ndarray, commitment: np.ndarray | None = None
) -> SolvencyAir:
    """The AIR of one batch: the solvency AIR with its users' leaves at the application's leaf
    layout, and, with hidden totals, the commitment to them."""
    return SolvencyAir(
        statement,
        leaves,
        leaf_width=LEAF_WIDTH,
        sbox_registers=LEAF_REGISTERS,
        totals_commitment=commitment,
    )


def users_tree(batch_roots: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The levels of the Merkle tree over the batch roots in order, padded to a power of two
    with EMPTY_ROOT: with equal batch sizes, the tree over every batch's leaves in order. With
    one batch its root is the batch's root."""
    width = 1 << max(0, (len(batch_roots) - 1).bit_length())
    return tree_levels(np.stack([*batch_roots, *[EMPTY_ROOT] * (width - len(batch_roots))]))


def snapshot_commitment(salt: bytes, inputs_digest: str) -> str:
    """The public name of a snapshot: SHA-256(tag, salt, digest of the input files). The salt
    (32 random bytes, kept in the private store) hides the files: without it no guess of them
    can be confirmed; with it the exchange can show an auditor which files it proved."""
    if len(salt) != 32:
        raise ValueError("the salt is 32 bytes")
    h = hashlib.sha256(b"stark-solvency-snapshot-commitment/1")
    h.update(salt + bytes.fromhex(inputs_digest))
    return h.hexdigest()


def aggregate_context(issuer: str, as_of: str, snapshot: str, proof_digests: Sequence[bytes]):
    """What the aggregation proof is about: the identity, the snapshot commitment and the
    SHA-256 of every batch proof in order (hashed once more, so that the context stays small at
    any number of batches): no other proof of a batch can stand in for one aggregated."""
    proofs_digest = hashlib.sha256(b"".join(proof_digests)).digest()
    parts = [
        b"stark-solvency-aggregate/1",
        issuer.encode(),
        as_of.encode(),
        bytes.fromhex(snapshot),
    ]
    parts += [len(proof_digests).to_bytes(4, "little"), proofs_digest]
    return b"".join(len(p).to_bytes(4, "little") + p for p in parts)


def preset_name(params: StarkParams) -> str | None:
    """The name of the preset whose parameter block is exactly `params`, if any."""
    return next((name for name, p in PRESETS.items() if p == params), None)


def weakest_security(
    params: StarkParams, batch_statements: Sequence[Statement], aggregate: AggregateStatement | None
) -> SecurityReport:
    """The security of the weakest proof of a publication: every distinct batch shape and the
    aggregation, by provable then conjectured bits. The shapes are sorted: ties are common and
    iterating a set would follow string hashes, which differ from process to process."""
    shapes = {
        publication_air(
            s, np.zeros((s.trace_len, DIGEST), dtype=np.uint64),
            np.zeros(DIGEST, dtype=np.uint64) if s.hidden_totals else None,
        ).shape()
        for s in {dataclasses.replace(s, batch=None) for s in batch_statements}
    }  # fmt: skip
    if aggregate is not None:
        shapes.add(AggregateAir(aggregate).shape())
    reports = [estimate_security(params, shape) for shape in sorted(shapes, key=repr)]
    return min(reports, key=lambda r: (r.provable_bits, r.conjectured_bits))


def security_block(report: SecurityReport) -> dict:
    return {
        "conjectured_bits": round(report.conjectured_bits, 2),
        "provable_bits": round(report.provable_bits, 2),
        "terms": {
            name: round(bits, 2) if math.isfinite(bits) else None
            for name, bits in report.terms.items()
        },
        "regimes": REGIMES_NOTE,
    }


# -- the statement -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchRecord:
    """One batch as statement.json lists it."""

    users_padded: int
    leaves_root: str  # hex
    proof_sha256: str
    proof_bytes: int
    commitment: np.ndarray | None  # to the batch's totals; None for a publication of one batch


@dataclass(frozen=True)
class PublishedStatement:
    """statement.json, parsed strictly (`read_statement`) or built by the prover
    (`PublishedStatement.document`); what a checked publication proves, once `check` agrees.

    The asset fields, totals (the grand totals) and identity are those `verify` prints and
    `check_inclusion` compares; `batch(b)` is the circuit statement batch b's proof binds."""

    issuer: str
    as_of: str
    quote: str
    scale: int
    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    prices: tuple[int, ...]
    totals: tuple[int, ...]
    snapshot: str
    insecure_seeded: bool
    batches: tuple[BatchRecord, ...]
    users_root: str  # hex
    aggregate: tuple[str, int] | None  # the aggregation proof's SHA-256 and size
    params: StarkParams
    path: Path | None = None  # where it was read from
    equity: tuple[int, ...] | None = None  # the grand E_j; None: a publication of format 1
    haircuts: tuple[Table | None, ...] = ()  # per asset (format 2), () for no tables at all

    @property
    def format(self) -> str:
        return FORMAT_1 if self.equity is None else PUBLICATION_FORMAT

    @property
    def tables(self) -> tuple[Table | None, ...]:
        """One haircut table or None (100%) per asset, whatever the format."""
        return self.haircuts or (None,) * self.num_assets

    @property
    def debt(self) -> tuple[int, ...] | None:
        """D_j = E_j - T_j, exact (never read from the file)."""
        if self.equity is None:
            return None
        return tuple(e - t for e, t in zip(self.equity, self.totals, strict=True))

    @property
    def count(self) -> int:
        return len(self.batches)

    @property
    def trace_len(self) -> int:
        """Every batch's padded users, summed."""
        return sum(r.users_padded for r in self.batches)

    @property
    def num_assets(self) -> int:
        return len(self.symbols)

    @property
    def zero_knowledge(self) -> bool:
        return self.params.zk and not self.insecure_seeded

    def batch(self, index: int) -> Statement:
        """Batch `index`'s circuit statement: the assets and identity, its size and place, and
        the totals (and equities) themselves for a publication of one batch, hidden
        otherwise."""
        hidden = self.count > 1
        equity = self.equity
        if equity is not None and hidden:
            equity = (0,) * self.num_assets
        return Statement(
            quote=self.quote,
            scale=self.scale,
            symbols=self.symbols,
            decimals=self.decimals,
            prices=self.prices,
            totals=(0,) * self.num_assets if hidden else self.totals,
            trace_len=self.batches[index].users_padded,
            issuer=self.issuer,
            as_of=self.as_of,
            insecure_seeded=self.insecure_seeded,
            hidden_totals=hidden,
            batch=(index, self.count, self.snapshot),
            equity=equity,
            haircuts=self.haircuts,
        )

    def aggregate_statement(self) -> AggregateStatement | None:
        """The aggregation's statement, for several batches (ValueError if impossible)."""
        if self.count == 1:
            return None
        context = aggregate_context(
            self.issuer,
            self.as_of,
            self.snapshot,
            [bytes.fromhex(r.proof_sha256) for r in self.batches],
        )
        return AggregateStatement(
            context,
            self.num_assets,
            tuple(tuple(int(v) for v in r.commitment) for r in self.batches),
            tuple(r.users_padded for r in self.batches),
            self.totals,
            equity=self.equity,
        )

    def security(self) -> SecurityReport:
        """The weakest of the publication's proofs, recomputed from the parameters."""
        statements = [self.batch(b) for b in range(self.count)]
        return weakest_security(self.params, statements, self.aggregate_statement())

    def asset_records(self) -> list[dict]:
        out = [
            {
                "symbol": sym,
                "decimals": dec,
                "price": plain(price_decimal(p_int, self.scale, dec)),
                "integer_price": str(p_int),
                "total": coins(total, dec),
                "total_base_units": str(total),
            }
            for sym, dec, p_int, total in zip(
                self.symbols, self.decimals, self.prices, self.totals, strict=True
            )
        ]
        if self.equity is None:
            return out
        for record, dec, e, d, table in zip(
            out, self.decimals, self.equity, self.debt, self.tables, strict=True
        ):
            record["equity"], record["equity_base_units"] = coins(e, dec), str(e)
            record["debt"], record["debt_base_units"] = coins(d, dec), str(d)
            record["haircut"] = table_json(table)
        return out

    def document(self) -> dict:
        """statement.json, every field; `check.py` says how a verifier checks each."""
        return {
            "format": self.format,
            "issuer": self.issuer,
            "as_of": self.as_of,
            "quote": self.quote,
            "price_scale": self.scale,
            "snapshot": self.snapshot,
            "users_padded": self.trace_len,
            "insecure_seeded": self.insecure_seeded,
            "zero_knowledge": self.zero_knowledge,
            "assets": self.asset_records(),
            "batches": [
                {
                    "users_padded": r.users_padded,
                    "commitment": None if r.commitment is None else elements_hex(r.commitment),
                    "leaves_root": r.leaves_root,
                    "proof_sha256": r.proof_sha256,
                    "proof_bytes": r.proof_bytes,
                }
                for r in self.batches
            ],
            "users_root": self.users_root,
            "aggregate": None
            if self.aggregate is None
            else {"proof_sha256": self.aggregate[0], "proof_bytes": self.aggregate[1]},
            "preset": preset_name(self.params),
            "params": dataclasses.asdict(self.params),
            "security": security_block(self.security()),
            "inclusion": {"leaf_hash": LEAF_HASH},
        }


def read_statement(directory: Path) -> tuple[PublishedStatement, dict]:
    """Parse DIRECTORY/statement.json strictly: the statement and the JSON as read.

    Raises InputError (one line naming the file and the field) if it cannot be read or is
    malformed: not JSON, a duplicate key, an unknown or missing field, a value of the wrong
    type or out of range, duplicate symbols, batches that cannot be this publication's, or a
    statement the circuits refuse. Nothing here is trusted yet: `check.py` compares what is
    not bound into the proofs with what it recomputes."""
    path = directory / STATEMENT_NAME
    data = load_json_strict(path, MAX_STATEMENT_BYTES, "statement")
    top = Fields(data, FIELDS, path)
    if data["format"] not in FORMATS_READ:
        raise top.error(
            "format", f"{data['format']!r} is not a format this verifier reads "
            f"({', '.join(FORMATS_READ)}; docs/publication.md, 'Formats read')",
        )  # fmt: skip
    gross = data["format"] != FORMAT_1
    assets = top.objects("assets", ASSET_FIELDS if gross else ASSET_FIELDS_1, 1 << 16)
    symbols = [a.string("symbol") for a in assets]
    for i, (a, sym) in enumerate(zip(assets, symbols, strict=True)):
        a.decimal_string("price")
        a.decimal_string("total")
        if gross:
            a.decimal_string("equity")
            a.decimal_string("debt")
        if sym in symbols[:i]:
            raise a.error("symbol", f"duplicate asset symbol {sym!r}")
    records = top.objects("batches", BATCH_FIELDS, MAX_BATCHES)
    count = len(records)
    batches = tuple(_batch_record(r, hidden=count > 1) for r in records)
    size = batches[0].users_padded
    if any(r.users_padded != size for r in batches[:-1]) or batches[-1].users_padded > size:
        raise top.error("batches", "every batch but the last has as many rows as the first")
    if top.integer("users_padded", 1, MAX_BATCHES * MAX_TRACE_LEN) != sum(
        r.users_padded for r in batches
    ):
        raise top.error("users_padded", "is not the sum of the batches' padded users")
    aggregate = None
    if count > 1:
        block = top.object("aggregate", PROOF_FIELDS)
        aggregate = (block.sha256("proof_sha256"), block.integer("proof_bytes"))
    elif data["aggregate"] is not None:
        raise top.error("aggregate", "a publication of one batch has no aggregation (null)")
    top.boolean("zero_knowledge")
    if data["preset"] is not None:
        top.string("preset")
    top.object("security", SECURITY_FIELDS)
    top.object("inclusion", ("leaf_hash",)).string("leaf_hash")
    top.hex_elements("users_root", DIGEST)
    try:
        params = StarkParams(**data["params"]) if isinstance(data["params"], dict) else None
    except (TypeError, ValueError) as e:
        raise top.error("params", f"not a parameter block ({e})") from None
    if params is None:
        raise top.error("params", "expected a JSON object")
    snapshot = top.sha256("snapshot")
    try:
        published = PublishedStatement(
            issuer=top.string("issuer", nonempty=True),
            as_of=top.string("as_of", nonempty=True),
            quote=top.string("quote"),
            scale=top.integer("price_scale"),
            symbols=tuple(symbols),
            decimals=tuple(a.integer("decimals", 0, 255) for a in assets),
            prices=tuple(a.int_string("integer_price", signed=False) for a in assets),
            totals=tuple(a.int_string("total_base_units", signed=True) for a in assets),
            snapshot=snapshot,
            insecure_seeded=top.boolean("insecure_seeded"),
            batches=batches,
            users_root=data["users_root"],
            aggregate=aggregate,
            params=params,
            path=path,
            equity=tuple(a.int_string("equity_base_units", signed=False) for a in assets)
            if gross
            else None,
            haircuts=tuple(_table(a) for a in assets) if gross else (),
        )
        if gross:  # well-formed here; check_declared compares it with equity - total
            for a in assets:
                a.int_string("debt_base_units", signed=True)
        for b in range(count):  # every batch statement (and so the assets) as the circuits want
            published.batch(b)
        published.aggregate_statement()
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(path, None, None, f"malformed statement: {e}") from None
    return published, data


def _table(asset: Fields) -> Table | None:
    """An asset's haircut table as published (null: none); the rules are `check_table`'s,
    applied with the statement (`Statement.__post_init__`)."""
    raw = asset.raw("haircut")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise asset.error("haircut", "expected null or a non-empty list of tiers")
    tiers = []
    for t, tier in enumerate(raw):
        field = f"haircut[{t}]"
        if not isinstance(tier, dict) or not set(tier) <= set(TIER_FIELDS) or "percent" not in tier:
            raise asset.error(field, 'expected {"up_to": "<whole coins>", "percent": <0..100>}')
        up_to = tier.get("up_to")
        if up_to is not None and not (isinstance(up_to, str) and WHOLE_COINS.fullmatch(up_to)):
            raise asset.error(f"{field}.up_to", "expected a whole number of coins as a string")
        percent = tier["percent"]
        if isinstance(percent, bool) or not isinstance(percent, int):
            raise asset.error(f"{field}.percent", "expected a whole number from 0 to 100")
        tiers.append(Tier(None if up_to is None else int(up_to), percent))
    return tuple(tiers)


def _batch_record(r: Fields, hidden: bool) -> BatchRecord:
    commitment = None
    if hidden:
        commitment = r.hex_elements("commitment", DIGEST)
    elif r.raw("commitment") is not None:
        raise r.error("commitment", "a publication of one batch publishes its totals (null)")
    r.hex_elements("leaves_root", DIGEST)
    return BatchRecord(
        users_padded=r.integer("users_padded", 1, MAX_TRACE_LEN),
        leaves_root=r.raw("leaves_root"),
        proof_sha256=r.sha256("proof_sha256"),
        proof_bytes=r.integer("proof_bytes"),
        commitment=commitment,
    )
