"""Checking a publication (statement.py) in full, one batch at a time: memory is bounded by
one batch's proof and leaves, whatever the number of batches.

No field of statement.json is trusted as written. Each is either bound into a proof's
Fiat-Shamir transcript (a batch's circuit statement, its public inputs, the aggregation's
statement, a proof's own parameter block) or recomputed here and compared:

=============================  ==================================================================
field                          how a verifier trusts it
=============================  ==================================================================
format                         one of FORMATS_READ (read_statement); 1 has no equity or tables
issuer, as_of                  bound in every batch (Statement.encode); as_of canonical UTC
quote, price_scale             bound in every batch
assets[].symbol, decimals,     bound in every batch; symbols distinct
integer_price
assets[].total_base_units      one batch: bound in it; several: bound in the aggregation
assets[].price, total          recomputed from the integers above, exactly
assets[].equity_base_units     format 2: as total_base_units (one batch: bound in it; several:
                               bound in the aggregation, which opens every batch's equity)
assets[].debt_base_units       recomputed: equity_base_units - total_base_units, exactly
assets[].equity, debt          recomputed from the integers above, exactly
assets[].haircut               bound in every batch (Statement.encode); written canonically
snapshot                       bound in every batch (its place) and in the aggregation's context
insecure_seeded                bound in every batch
zero_knowledge                 recomputed: params.zk and not insecure_seeded
users_padded                   the sum of the batches' (read_statement)
batches[].users_padded         bound (the batch proof's trace length); leaves.bin has as many;
                               every batch but the last has as many as the first
batches[].commitment           several batches: bound in the batch and in the aggregation
batches[].leaves_root          recomputed from leaves.bin (the leaves are bound: periodic
                               columns of the batch's AIR)
batches[].proof_sha256, bytes  recomputed from proof.bin; the digests are bound in the
                               aggregation's context
users_root                     recomputed over the batch roots
aggregate.proof_sha256, bytes  recomputed from aggregate.bin
params                         must be exactly a preset's block, and every proof's own block
preset                         recomputed: that preset's name
security                       recomputed (the weakest proof); any figure that differs is refused
inclusion.leaf_hash            must be exactly LEAF_HASH (bound: the AIRs' public inputs)
=============================  ==================================================================

A malformed file is an `InputError` (exit 2); a well-formed statement that says something the
verifier recomputes differently is a `StatementMismatch`; a proof that does not verify is a
`ProofInvalid` (both exit 1).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

from circuits.aggregate import AggregateAir
from circuits.haircut import table_json
from circuits.leaf import leaves_root
from circuits.poseidon2 import DIGEST
from circuits.solvency import MAX_TRACE_LEN
from solvency.files import InputError, read_regular
from solvency.publication.encoding import coins, elements_hex, plain, price_decimal
from solvency.publication.statement import (
    AGGREGATE_NAME,
    LEAF_HASH,
    LEAVES_NAME,
    PROOF_NAME,
    SECURITY_FIELDS,
    PublishedStatement,
    batch_dir,
    preset_name,
    publication_air,
    read_statement,
    security_block,
    users_tree,
)
from stark.field import P
from stark.params import PRESETS
from stark.proof import MAX_PROOF_BYTES, VerificationError
from stark.security import SecurityReport
from stark.verifier import verify


class StatementMismatch(ValueError):
    """statement.json says something the verifier recomputes differently: `file: field: what`."""

    def __init__(self, file: str | Path, field: str, problem: str):
        super().__init__(f"{file}: {field}: {problem}")
        self.field = field


class ProofInvalid(ValueError):
    """A proof of the publication does not verify: `where` (batch b, the aggregation) and
    the verifier's reason."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: the proof is not valid ({reason})")
        self.where, self.reason = where, reason


class SecurityTooLow(ValueError):
    """The publication's parameters give fewer bits than the verifier requires."""

    def __init__(self, bits: float, regime: str, min_bits: float, preset: str):
        super().__init__(f"{bits:.1f} {regime} bits, fewer than {min_bits:g} ({preset} preset)")
        self.bits, self.regime, self.min_bits, self.preset = bits, regime, min_bits, preset


@dataclass(frozen=True)
class Proved:
    """A publication checked in full: what it proves, its preset and the security of its
    weakest proof, recomputed."""

    statement: PublishedStatement
    preset: str
    security: SecurityReport

    @property
    def zero_knowledge(self) -> bool:
        return self.statement.zero_knowledge


# -- files ---------------------------------------------------------------------------------------
def read_leaves(path: Path) -> np.ndarray:
    """leaves.bin as (n, 8) uint64; InputError unless it is whole leaves of canonical elements
    (their number is checked against the statement by `check_batch`)."""
    raw = read_regular(path, 4 * DIGEST * MAX_TRACE_LEN)
    if len(raw) % (4 * DIGEST):
        raise InputError(path, None, None, f"{len(raw):,} bytes are not a whole number of leaves")
    leaves = np.frombuffer(raw, dtype="<u4").astype(np.uint64).reshape(-1, DIGEST)
    if leaves.max(initial=0) >= P:
        row = int(np.flatnonzero((leaves >= P).any(axis=1))[0])
        raise InputError(path, None, f"leaf {row}", "an element is not below the field's modulus")
    return leaves


def read_proof(path: Path, field: str, sha256: str, size: int, statement_path: Path) -> bytes:
    """A proof file, which must be the one statement.json names by digest and size."""
    proof = read_regular(path, MAX_PROOF_BYTES)
    if hashlib.sha256(proof).hexdigest() != sha256:
        raise StatementMismatch(
            statement_path, f"{field}.proof_sha256", f"differs from the SHA-256 of {path}"
        )
    if len(proof) != size:
        raise StatementMismatch(
            statement_path, f"{field}.proof_bytes", f"says {size}, {path} has {len(proof)}"
        )
    return proof


# -- the checks ----------------------------------------------------------------------------------
def check_declared(s: PublishedStatement, data: dict) -> SecurityReport:
    """The fields recomputed from the statement alone, before any proof is read: the decimal
    forms, the parameter block and its preset, the leaf hash, the security figures, the
    zero-knowledge flag. Returns the recomputed security."""
    path = s.path
    for j, (a, sym, dec, p_int) in enumerate(
        zip(data["assets"], s.symbols, s.decimals, s.prices, strict=True)
    ):
        proved = price_decimal(p_int, s.scale, dec)
        if Decimal(a["price"]) != proved:
            raise StatementMismatch(
                path,
                f"{sym}.price",
                f"{a['price']} is not the proved price {plain(proved)} "
                f"(integer_price {p_int} / 10^{s.scale - dec})",
            )
        amounts = {"total": s.totals[j]}
        if s.equity is not None:
            amounts.update(equity=s.equity[j], debt=s.debt[j])
            if int(a["debt_base_units"]) != s.debt[j]:
                raise StatementMismatch(
                    path,
                    f"{sym}.debt_base_units",
                    f"{a['debt_base_units']} is not equity - total ({s.debt[j]})",
                )
        for field, value in amounts.items():
            if Decimal(a[field]) != Decimal(value).scaleb(-dec):
                raise StatementMismatch(
                    path,
                    f"{sym}.{field}",
                    f"{a[field]} is not the proved {field} {coins(value, dec)} "
                    f"({field}_base_units {value})",
                )
        if s.equity is not None and a["haircut"] != table_json(s.haircuts[j]):
            raise StatementMismatch(
                path, f"{sym}.haircut", "is not written as the table it states (docs/formats.md)"
            )
    name = preset_name(s.params)
    # compared with the preset's own block, not with the parameters read from it: those compare
    # equal with a float or a bool where an int belongs (100.0 == 100, True == 1)
    if name is None or not same_json(data["params"], dataclasses.asdict(PRESETS[name])):
        raise StatementMismatch(
            path,
            "params",
            f"the parameters are none of the accepted presets ({', '.join(PRESETS)})",
        )
    if data["preset"] != name:
        raise StatementMismatch(
            path, "preset", f"says {data['preset']!r}, but the parameters are the {name!r} preset"
        )
    if data["inclusion"]["leaf_hash"] != LEAF_HASH:
        raise StatementMismatch(
            path,
            "inclusion.leaf_hash",
            f"says {data['inclusion']['leaf_hash']!r}; this verifier knows only {LEAF_HASH!r}",
        )
    try:
        report = s.security()
    except ValueError as e:
        raise StatementMismatch(path, "params", f"unacceptable parameters: {e}") from None
    expected = security_block(report)
    for key in SECURITY_FIELDS:
        if not same_json(data["security"][key], expected[key]):
            raise StatementMismatch(
                path,
                f"security.{key}",
                f"says {data['security'][key]!r}, the parameters give {expected[key]!r}",
            )
    if data["zero_knowledge"] != s.zero_knowledge:
        raise StatementMismatch(
            path,
            "zero_knowledge",
            f"says {str(data['zero_knowledge']).lower()}, but the proofs "
            + ("hide balances" if s.zero_knowledge else "do not hide balances"),
        )
    return report


def check_batch(
    directory: Path, s: PublishedStatement, b: int, regime: str, min_bits: float
) -> np.ndarray:
    """Batch b: its proof is the one named, its leaves have the declared number and root, and
    the proof verifies for batch b's statement with these leaves. Returns the leaves' root."""
    record, where, field = s.batches[b], batch_dir(directory, b), f"batches[{b}]"
    proof = read_proof(where / PROOF_NAME, field, record.proof_sha256, record.proof_bytes, s.path)
    leaves = read_leaves(where / LEAVES_NAME)
    if len(leaves) != record.users_padded:
        raise StatementMismatch(
            s.path,
            f"{field}.users_padded",
            f"says {record.users_padded:,}, {where / LEAVES_NAME} has {len(leaves):,} leaves",
        )
    root = leaves_root(leaves)
    if elements_hex(root) != record.leaves_root:
        raise StatementMismatch(
            s.path, f"{field}.leaves_root", f"is not the root of {where / LEAVES_NAME}"
        )
    air = publication_air(s.batch(b), leaves, record.commitment)
    try:
        verify(air, proof, accepted_params=[s.params], min_bits=min_bits, regime=regime)
    except VerificationError as e:
        raise ProofInvalid(f"batch {b}" if s.count > 1 else "the proof", e.reason) from None
    return root


def check_publication(
    directory: Path,
    *,
    regime: str = "provable",
    min_bits: float = 100.0,
    on_batch: Callable[[int, int], None] | None = None,
) -> Proved:
    """Read and check the publication in DIRECTORY in full: the statement, then each batch in
    turn (on_batch(done, count) after each), the users' root, and with several batches the
    aggregation.

    Raises InputError (malformed or missing files), StatementMismatch (a field that is not what
    is recomputed), SecurityTooLow (before any proof is read) or ProofInvalid."""
    s, data = read_statement(directory)
    report = check_declared(s, data)
    bits = report.provable_bits if regime == "provable" else report.conjectured_bits
    name = preset_name(s.params) or ""
    if not bits >= min_bits:
        raise SecurityTooLow(bits, regime, min_bits, name)
    roots = []
    for b in range(s.count):
        roots.append(check_batch(directory, s, b, regime, min_bits))
        if on_batch is not None:
            on_batch(b + 1, s.count)
    if elements_hex(users_tree(roots)[-1][0]) != s.users_root:
        raise StatementMismatch(s.path, "users_root", "is not the root over the batches' roots")
    if s.aggregate is not None:
        sha256, size = s.aggregate
        proof = read_proof(directory / AGGREGATE_NAME, "aggregate", sha256, size, s.path)
        try:
            verify(
                AggregateAir(s.aggregate_statement()), proof, accepted_params=[s.params],
                min_bits=min_bits, regime=regime,
            )  # fmt: skip
        except VerificationError as e:
            raise ProofInvalid("the aggregation", e.reason) from None
    return Proved(s, name, report)


def same_json(declared: object, expected: object) -> bool:
    """Equal JSON values; numbers within rounding (both are rounded to 0.01 bits)."""
    if isinstance(expected, dict):
        return (
            isinstance(declared, dict)
            and declared.keys() == expected.keys()
            and all(same_json(declared[k], expected[k]) for k in expected)
        )
    if isinstance(expected, int) and not isinstance(expected, bool):
        return type(declared) is int and declared == expected
    if isinstance(expected, float):
        # exact rationals: an integer of 400 digits is compared, not converted to a float
        return (
            isinstance(declared, float | int)
            and not isinstance(declared, bool)
            and (isinstance(declared, int) or math.isfinite(declared))
            and abs(Fraction(declared) - Fraction(expected)) <= Fraction(1e-9)
        )
    return type(declared) is type(expected) and declared == expected
