"""A snapshot proved in batches, as published and as `verify` reads it (docs/batches.md).

    DIR/statement.json                      format SNAPSHOT_FORMAT (below)
    DIR/aggregate.bin                       the aggregation proof
    DIR/batches/b00000/{proof.bin, leaves.bin}

statement.json holds the identity, the assets with their prices and **grand** totals, the
snapshot's digest and batch size, one record per batch (padded users, the commitment to its
totals, its leaves' root, its proof's SHA-256 and size), the users' root over the batch roots,
the aggregation proof's SHA-256 and size, and the parameters. `check_snapshot` trusts none of
it as written: every batch statement is rebuilt from it with the batch's place, every file's
hash and every root is recomputed, the set of batches is checked
(`solvency.batches.verify_snapshot`) and every proof verified.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from circuits.aggregate import AggregateAir, AggregateStatement
from circuits.leaf import leaves_root, tree_levels
from circuits.poseidon2 import DIGEST
from circuits.solvency import Statement
from solvency import batches
from solvency.inclusion import LEAF_HASH, elements_hex, parse_elements_hex
from solvency.publish import (
    StatementMismatch,
    _decimal_string,
    _fields,
    _int,
    _int_string,
    _str,
    asset_records,
    load_json_strict,
    preset_name,
    price_decimal,
    read_bounded,
    read_leaves,
    security_block,
    write_atomically,
)
from solvency.snapshot import InputError
from stark.params import StarkParams
from stark.proof import MAX_PROOF_BYTES, deserialize
from stark.security import estimate_security

SNAPSHOT_FORMAT = "stark-solvency-snapshot/1"
FIELDS = (
    "format",
    "issuer",
    "as_of",
    "quote",
    "price_scale",
    "snapshot",
    "batch_size",
    "users_padded",
    "assets",
    "batches",
    "users_root",
    "aggregate",
    "preset",
    "params",
    "security",
    "inclusion",
)
ASSET_FIELDS = ("symbol", "decimals", "price", "integer_price", "total", "total_base_units")
BATCH_FIELDS = ("users_padded", "commitment", "leaves_root", "proof_sha256", "proof_bytes")
EMPTY_ROOT = np.zeros(DIGEST, dtype=np.uint64)  # the users tree's padding, past the last batch


def users_root(batch_roots: list[np.ndarray]) -> np.ndarray:
    """The Merkle root over the batch roots in order, padded to a power of two with
    EMPTY_ROOT: with equal batch sizes, the tree over every batch's leaves in order."""
    width = 1 << max(0, (len(batch_roots) - 1).bit_length())
    nodes = np.stack([*batch_roots, *[EMPTY_ROOT] * (width - len(batch_roots))])
    return tree_levels(nodes)[-1][0]


def batch_statement(base: Statement, index: int, count: int, digest: str, n: int) -> Statement:
    """Batch `index`'s statement: the snapshot's assets and identity, hidden totals, its size
    and place."""
    return dataclasses.replace(
        base,
        totals=(0,) * base.num_assets,
        trace_len=n,
        hidden_totals=True,
        batch=(index, count, digest),
    )


def snapshot_json(
    results: list[batches.BatchResult],
    aggregate: AggregateStatement,
    aggregate_proof: bytes,
    plan: batches.Plan,
    params: StarkParams,
) -> dict:
    """statement.json of a batched snapshot (module docstring)."""
    results = sorted(results, key=lambda r: r.index)
    s = results[0].statement
    roots = [leaves_root(r.leaves) for r in results]
    return {
        "format": SNAPSHOT_FORMAT,
        "issuer": s.issuer,
        "as_of": s.as_of,
        "quote": s.quote,
        "price_scale": s.scale,
        "snapshot": plan.digest,
        "batch_size": plan.size,
        "users_padded": sum(r.statement.trace_len for r in results),
        "assets": asset_records(s, aggregate.totals),
        "batches": [
            {
                "users_padded": r.statement.trace_len,
                "commitment": elements_hex(r.commitment),
                "leaves_root": elements_hex(root),
                "proof_sha256": hashlib.sha256(r.proof).hexdigest(),
                "proof_bytes": len(r.proof),
            }
            for r, root in zip(results, roots, strict=True)
        ],
        "users_root": elements_hex(users_root(roots)),
        "aggregate": {
            "proof_sha256": hashlib.sha256(aggregate_proof).hexdigest(),
            "proof_bytes": len(aggregate_proof),
        },
        "preset": preset_name(params),
        "params": dataclasses.asdict(params),
        "security": security_block(_weakest([r.public.air() for r in results], aggregate, params)),
        "inclusion": {"leaf_hash": LEAF_HASH},
    }


def _weakest(batch_airs: list, aggregate: AggregateStatement, params: StarkParams):
    """The security of the weakest proof: every distinct batch shape (sizes may differ) and
    the aggregation, by provable bits, then conjectured bits. Ties are common (the query term
    often bounds both), so the order is fixed: iterating a set of shapes would follow string
    hashes, which differ from process to process, and the verifier would then recompute
    another report than the prover wrote."""
    shapes = {air.shape() for air in batch_airs} | {AggregateAir(aggregate).shape()}
    reports = [estimate_security(params, shape) for shape in sorted(shapes, key=repr)]
    return min(reports, key=lambda r: (r.provable_bits, r.conjectured_bits))


def publish_snapshot(
    out: Path,
    results: list[batches.BatchResult],
    aggregate: AggregateStatement,
    aggregate_proof: bytes,
    plan: batches.Plan,
    params: StarkParams,
) -> dict:
    """Write the aggregation proof and statement.json (the batches are already written, by
    `batches.write_batch`), atomically, the statement last."""
    document = snapshot_json(results, aggregate, aggregate_proof, plan, params)
    write_atomically(out / "aggregate.bin", aggregate_proof)
    write_atomically(out / "statement.json", (json.dumps(document, indent=2) + "\n").encode())
    return document


# -- reading and checking ------------------------------------------------------------------------
@dataclass(frozen=True)
class GrandStatement:
    """What a batched publication proves, for display: the assets, prices and grand totals
    over all users_padded rows (the fields `verify` prints, as a Statement has them)."""

    quote: str
    scale: int
    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    prices: tuple[int, ...]
    totals: tuple[int, ...]
    trace_len: int
    issuer: str
    as_of: str
    insecure_seeded: bool = False

    @property
    def num_assets(self) -> int:
        return len(self.symbols)


@dataclass(frozen=True)
class Snapshot:
    """A batched publication, checked: what it proves, the number of batches, the parameters
    and the security of the weaker proof, and the users' root."""

    statement: GrandStatement
    count: int
    params: StarkParams
    preset: str
    security: object
    users_root: np.ndarray


def is_batched(directory: Path) -> bool:
    """Whether DIRECTORY/statement.json is a batched snapshot (by its format field)."""
    try:
        data = load_json_strict(directory / "statement.json")
    except InputError:
        return False
    return isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT


@dataclass(frozen=True)
class Header:
    """statement.json of a batched snapshot, parsed strictly but not checked: the statement
    of the assets and identity (zero totals, batch 0's size), the snapshot digest, the
    batches' records and sizes."""

    path: Path
    data: dict
    grand: Statement
    digest: str
    records: list
    sizes: list[int]

    def batch(self, index: int) -> Statement:
        return batch_statement(self.grand, index, len(self.records), self.digest, self.sizes[index])


def read_header(directory: Path) -> Header:
    """Parse DIRECTORY/statement.json of a batched snapshot; InputError if malformed."""
    path = directory / "statement.json"
    data = load_json_strict(path)
    _fields(data, FIELDS, path, "")
    if data["format"] != SNAPSHOT_FORMAT:
        raise InputError(path, None, "format", f"expected {SNAPSHOT_FORMAT!r}")
    digest = _str(data["snapshot"], path, "snapshot")
    assets = data["assets"]
    if not isinstance(assets, list) or not assets:
        raise InputError(path, None, "assets", "expected a non-empty list")
    for i, a in enumerate(assets):
        _fields(a, ASSET_FIELDS, path, f"assets[{i}].")
    records = data["batches"]
    if not isinstance(records, list) or not records:
        raise InputError(path, None, "batches", "expected a non-empty list")
    for i, r in enumerate(records):
        _fields(r, BATCH_FIELDS, path, f"batches[{i}].")
    try:
        grand = Statement(
            quote=_str(data["quote"], path, "quote"),
            scale=_int(data["price_scale"], path, "price_scale"),
            symbols=tuple(_str(a["symbol"], path, "symbol") for a in assets),
            decimals=tuple(_int(a["decimals"], path, "decimals") for a in assets),
            prices=tuple(
                _int_string(a["integer_price"], path, "integer_price", signed=False) for a in assets
            ),
            totals=(0,) * len(assets),
            trace_len=_int(records[0]["users_padded"], path, "batches[0].users_padded"),
            issuer=_str(data["issuer"], path, "issuer"),
            as_of=_str(data["as_of"], path, "as_of"),
        )
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(path, None, None, f"malformed statement: {e}") from None
    sizes = [
        _int(r["users_padded"], path, f"batches[{i}].users_padded") for i, r in enumerate(records)
    ]
    if not grand.issuer or not grand.as_of:
        raise InputError(path, None, "issuer" if not grand.issuer else "as_of", "empty")
    size = _int(data["batch_size"], path, "batch_size")
    if any(n != size for n in sizes[:-1]) or not sizes[-1] <= size:
        raise InputError(
            path, None, "batches", f"every batch but the last has batch_size = {size} rows"
        )
    _int(data["users_padded"], path, "users_padded")
    _fields(data["aggregate"], ("proof_sha256", "proof_bytes"), path, "aggregate.")
    _int(data["aggregate"]["proof_bytes"], path, "aggregate.proof_bytes")
    for i, a in enumerate(assets):
        _decimal_string(a["price"], path, f"assets[{i}].price")
        _decimal_string(a["total"], path, f"assets[{i}].total")
    return Header(path, data, grand, digest, records, sizes)


def check_snapshot(directory: Path, accepted: list[StarkParams]) -> Snapshot:
    """Read and check a batched publication in full. Raises InputError (malformed or missing
    files: exit 2), StatementMismatch (a field that is not what is recomputed) or
    batches.SnapshotError (the batches and the aggregation do not make this snapshot, or a
    proof is invalid)."""
    head = read_header(directory)
    path, data, grand, digest, records = (
        head.path, head.data, head.grand, head.digest, head.records
    )  # fmt: skip
    assets = data["assets"]
    totals = tuple(
        _int_string(a["total_base_units"], path, "total_base_units", signed=True) for a in assets
    )
    count = len(records)
    proofs, commitments, sizes, roots = [], [], [], []
    for b, r in enumerate(records):
        where = batches.public_dir(directory, b)
        if not (where / "proof.bin").is_file():
            raise batches.SnapshotError(f"batch {b} of {count} is missing ({where})")
        proof = read_bounded(where / "proof.bin", MAX_PROOF_BYTES)
        if hashlib.sha256(proof).hexdigest() != r["proof_sha256"] or len(proof) != r["proof_bytes"]:
            raise StatementMismatch(path, f"batches[{b}].proof_sha256", "is not batch's proof.bin")
        n = _int(r["users_padded"], path, f"batches[{b}].users_padded")
        leaves = read_leaves(where / "leaves.bin")
        if len(leaves) != n:
            raise StatementMismatch(path, f"batches[{b}].users_padded", "is not leaves.bin's")
        root = leaves_root(leaves)
        if elements_hex(root) != r["leaves_root"]:
            raise StatementMismatch(path, f"batches[{b}].leaves_root", "is not leaves.bin's root")
        try:
            commitment = parse_elements_hex(r["commitment"], DIGEST)
            statement = batch_statement(grand, b, count, digest, n)
        except ValueError as e:
            raise InputError(path, None, f"batches[{b}]", str(e)) from None
        proofs.append(batches.BatchProof(b, statement, commitment, leaves, proof))
        commitments.append(tuple(int(v) for v in commitment))
        sizes.append(n)
        roots.append(root)
    aggregate_proof = read_bounded(directory / "aggregate.bin", MAX_PROOF_BYTES)
    if (hashlib.sha256(aggregate_proof).hexdigest(), len(aggregate_proof)) != (
        data["aggregate"]["proof_sha256"],
        data["aggregate"]["proof_bytes"],
    ):
        raise StatementMismatch(path, "aggregate.proof_sha256", "is not aggregate.bin's")
    top = users_root(roots)
    if elements_hex(top) != data["users_root"]:
        raise StatementMismatch(path, "users_root", "is not the root over the batches' roots")
    if data["inclusion"] != {"leaf_hash": LEAF_HASH}:
        raise StatementMismatch(path, "inclusion", f"this verifier knows only {LEAF_HASH!r}")
    for a, sym, dec, p_int, total in zip(
        assets, grand.symbols, grand.decimals, grand.prices, totals, strict=True
    ):
        if Decimal(a["price"]) != price_decimal(p_int, grand.scale, dec):
            raise StatementMismatch(path, f"{sym}.price", "is not the proved price")
        if Decimal(a["total"]) != Decimal(total).scaleb(-dec):
            raise StatementMismatch(path, f"{sym}.total", "is not the proved total")
    try:
        aggregate = AggregateStatement(
            batches.aggregate_context(grand.issuer, grand.as_of, digest, [p.proof for p in proofs]),
            grand.num_assets,
            tuple(commitments),
            tuple(sizes),
            totals,
        )
    except ValueError as e:
        raise InputError(path, None, None, f"malformed statement: {e}") from None
    params = deserialize(aggregate_proof).params
    if dataclasses.asdict(params) != data["params"] or params not in accepted:
        raise StatementMismatch(path, "params", "not the proofs' accepted parameters")
    if data["preset"] != preset_name(params):
        raise StatementMismatch(path, "preset", f"is not {preset_name(params)!r}")
    report = _weakest([p.air() for p in proofs], aggregate, params)
    if data["security"] != security_block(report):
        raise StatementMismatch(path, "security", "is not what the parameters give")
    batches.verify_snapshot(
        proofs, aggregate, aggregate_proof, issuer=grand.issuer, as_of=grand.as_of,
        digest=digest, count=count, accepted_params=[params],
    )  # fmt: skip
    if sum(sizes) != data["users_padded"]:
        raise StatementMismatch(path, "users_padded", "is not the sum of the batches'")
    shown = GrandStatement(
        grand.quote, grand.scale, grand.symbols, grand.decimals, grand.prices, totals,
        sum(sizes), grand.issuer, grand.as_of,
    )  # fmt: skip
    return Snapshot(shown, count, params, preset_name(params) or "", report, top)
