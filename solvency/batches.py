"""Proving a snapshot in batches, as independent tasks on dask.distributed (docs/batches.md).

This module is the plan and the runner: how a snapshot is cut into batches, what a task
receives (only its batch's rows, the market and the identity, never the snapshot), how
finished batches are written as they complete, and how `resume` finds the ones already done.
Each batch is written as an ordinary publication (proof.bin, leaves.bin, statement.json) plus
its private store, so that every batch can be checked on its own; the hidden totals and the
aggregation proof over the batches (docs/batches.md, "Status") come on top of this.

Layout, for OUT (public) and PRIVATE:

    OUT/batches/b00000/{leaves.bin, proof.bin}
    PRIVATE/batches/b00000/{users.sqlite, opening.json, batch.json}
    PRIVATE/plan.json      the snapshot's digest, the batch size and count, the identity
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from circuits.aggregate import AggregateAir, AggregateStatement, aggregate_witness
from circuits.solvency import (
    MAX_TRACE_LEN,
    MIN_TRACE_LEN,
    Insolvent,
    Market,
    SolvencyAir,
    Statement,
    TotalsOpening,
)
from stark.params import DEFAULT_PRESET, is_power_of_two

PLAN_FORMAT = "stark-solvency-batch-plan/1"
DEFAULT_BATCH_SIZE = 1 << 16


@dataclass(frozen=True)
class Plan:
    """How a snapshot is cut: `count` batches of `size` rows, batch b holding the users
    [b size, min((b + 1) size, users)) in the snapshot's order (rows are drawn at random
    within each batch). `digest` identifies the snapshot and the plan (`snapshot_digest`)."""

    users: int
    size: int
    count: int
    digest: str
    issuer: str
    as_of: str
    preset: str = DEFAULT_PRESET  # the batch proofs' parameters: all batches share them

    def users_of(self, b: int) -> range:
        return range(b * self.size, min((b + 1) * self.size, self.users))

    def to_json(self) -> bytes:
        return (json.dumps({"format": PLAN_FORMAT, **asdict(self)}, indent=2) + "\n").encode()


def check_batch_size(size: int) -> None:
    """A batch is one proof: a power of two in [MIN_TRACE_LEN, MAX_TRACE_LEN]."""
    if not is_power_of_two(size) or not MIN_TRACE_LEN <= size <= MAX_TRACE_LEN:
        raise ValueError(
            f"the batch size must be a power of two in [{MIN_TRACE_LEN:,}, {MAX_TRACE_LEN:,}], "
            f"not {size:,}"
        )


def snapshot_digest(files: Iterable[Path], size: int, issuer: str, as_of: str) -> str:
    """SHA-256 over the input files' bytes, the batch size and the identity: two runs with
    the same digest prove the same batches of the same users."""
    h = hashlib.sha256(b"stark-solvency-batches/1")
    for path in files:
        data = Path(path).read_bytes()
        h.update(len(data).to_bytes(8, "little") + data)
    for part in (str(size), issuer, as_of):
        raw = part.encode()
        h.update(len(raw).to_bytes(8, "little") + raw)
    return h.hexdigest()


def make_plan(
    users: int, size: int, digest: str, issuer: str, as_of: str, preset: str = DEFAULT_PRESET
) -> Plan:
    check_batch_size(size)
    if users < 1:
        raise ValueError("no users")
    return Plan(users, size, -(-users // size), digest, issuer, as_of, preset)


# -- one batch, as a task ---------------------------------------------------------------------
@dataclass(frozen=True)
class BatchTask:
    """All a worker receives for batch `index` of `count`: its users only."""

    index: int
    count: int
    ids: list[str]
    balances: np.ndarray  # (len(ids), K) base units
    market: Market
    issuer: str
    as_of: str
    preset: str
    digest: str


@dataclass(frozen=True)
class BatchResult:
    """What comes back from a worker: the public part of one batch (its statement, leaves,
    totals commitment and proof) and the private part (the users' rows, nonces and balances,
    and the opening of the commitment, which only the aggregation may read)."""

    index: int
    statement: Statement
    commitment: np.ndarray
    leaves: np.ndarray
    proof: bytes
    opening: TotalsOpening
    ids: list[str]
    rows: np.ndarray
    nonces: np.ndarray
    balances: np.ndarray
    seconds: float

    @property
    def public(self) -> BatchProof:
        return BatchProof(self.index, self.statement, self.commitment, self.leaves, self.proof)


@dataclass(frozen=True)
class BatchProof:
    """One batch as published: its statement (hidden totals, its place in the snapshot), the
    leaves, the commitment to its totals and the proof."""

    index: int
    statement: Statement
    commitment: np.ndarray
    leaves: np.ndarray
    proof: bytes

    def air(self) -> SolvencyAir:
        return batch_air(self.statement, self.leaves, self.commitment)


def batch_air(statement: Statement, leaves: np.ndarray, commitment: np.ndarray) -> SolvencyAir:
    """The AIR of a batch: the solvency AIR with the application's leaves and hidden totals."""
    from solvency.inclusion import LEAF_REGISTERS, LEAF_WIDTH

    return SolvencyAir(
        statement,
        leaves,
        leaf_width=LEAF_WIDTH,
        sbox_registers=LEAF_REGISTERS,
        totals_commitment=commitment,
    )


def prove_batch(task: BatchTask) -> BatchResult:
    """Prove one batch (runs on a worker): nonces, random rows, the witness with the leaf hash
    and hidden totals, the proof, bound to the batch's place (index, count, snapshot digest).
    Raises InsolventUsers (naming them by id) if a user's value is negative."""
    from solvency import inclusion
    from stark.params import PRESETS
    from stark.prover import prove

    start = time.perf_counter()
    try:
        wit = inclusion.witness(task.market, task.ids, task.balances, hide_totals=True)
    except Insolvent as e:
        raise InsolventUsers([task.ids[i] for i in e.rows]) from None
    statement = dataclasses.replace(
        wit.statement,
        issuer=task.issuer,
        as_of=task.as_of,
        batch=(task.index, task.count, task.digest),
    )
    commitment = wit.opening.commitment
    proof = prove(batch_air(statement, wit.leaves, commitment), wit.trace, PRESETS[task.preset])
    return BatchResult(
        task.index,
        statement,
        commitment,
        wit.leaves,
        proof.to_bytes(),
        wit.opening,
        list(task.ids),
        wit.rows,
        wit.nonces,
        task.balances,
        time.perf_counter() - start,
    )


# -- the aggregation -----------------------------------------------------------------------------
def aggregate_context(issuer: str, as_of: str, digest: str, proofs: Sequence[bytes]) -> bytes:
    """What the aggregation proof is about: the snapshot (identity, digest) and the SHA-256 of
    every batch proof in order (hashed once more, so the context stays small at any number of
    batches), so that no other proof of a batch can stand in for the one aggregated."""
    proofs_digest = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in proofs))
    parts = [b"stark-solvency-snapshot/1", issuer.encode(), as_of.encode(), bytes.fromhex(digest)]
    parts += [len(proofs).to_bytes(4, "little"), proofs_digest.digest()]
    return b"".join(len(p).to_bytes(4, "little") + p for p in parts)


def prove_aggregate(
    results: Sequence[BatchResult], preset: str
) -> tuple[AggregateStatement, bytes]:
    """The aggregation proof over every batch, in index order: the grand totals are the sums
    of the totals the commitments hide, opened inside the constraints."""
    from stark.params import PRESETS
    from stark.prover import prove

    results = sorted(results, key=lambda r: r.index)
    first = results[0].statement
    issuer, as_of, digest = first.issuer, first.as_of, first.batch[2]
    context = aggregate_context(issuer, as_of, digest, [r.proof for r in results])
    statement, trace = aggregate_witness(
        context,
        [r.opening.offset_totals for r in results],
        np.stack([r.opening.blinding for r in results]),
        [r.statement.trace_len for r in results],
    )
    return statement, prove(AggregateAir(statement), trace, PRESETS[preset]).to_bytes()


class InsolventUsers(ValueError):
    """Users of a batch whose total value is negative, by id (raised on the worker)."""

    def __init__(self, ids: list[str]):
        super().__init__(f"{len(ids)} user(s) with a negative total value")
        self.ids = ids


def load_result(out: Path, private: Path, index: int, statement: Statement) -> BatchResult:
    """A batch written by an earlier run (`--resume`), as far as the aggregation and the
    publication need it: its statement, commitment, leaves, proof and opening."""
    from solvency.inclusion import parse_elements_hex
    from solvency.publish import read_leaves

    record = json.loads((private_dir(private, index) / "batch.json").read_text())
    opening = json.loads((private_dir(private, index) / "opening.json").read_text())
    commitment = parse_elements_hex(record["commitment"], 8)
    offset_totals = tuple(int(t) for t in opening["offset_totals"])
    n = statement.trace_len
    return BatchResult(
        index,
        statement,
        commitment,
        read_leaves(public_dir(out, index) / "leaves.bin"),
        (public_dir(out, index) / "proof.bin").read_bytes(),
        TotalsOpening(
            tuple(t - n * (1 << 63) for t in offset_totals),
            offset_totals,
            parse_elements_hex(opening["blinding"], 8),
            commitment,
        ),
        [],
        np.zeros(0, dtype=np.int64),
        np.zeros((0, 5), dtype=np.uint64),
        np.zeros((0, statement.num_assets), dtype=np.int64),
        0.0,
    )


class SnapshotError(ValueError):
    """A set of batch proofs and an aggregation that do not make one snapshot: why, plainly."""


def verify_snapshot(
    batch_proofs: Sequence[BatchProof],
    aggregate: AggregateStatement,
    aggregate_proof: bytes,
    *,
    issuer: str,
    as_of: str,
    digest: str,
    count: int,
    accepted_params: Sequence,
) -> list[int]:
    """Check a batched snapshot and return its grand totals. First the set, before any STARK
    work: exactly `count` batches, indices 0..count-1 once each, every one bound to this
    snapshot (issuer, time, digest) and to its own slot, no proof twice, and the aggregation's
    commitments, batch sizes and context equal to the batches'. Then every batch proof and the
    aggregation proof. Raises SnapshotError with the reason."""
    from stark.proof import VerificationError
    from stark.verifier import verify

    by_index: dict[int, BatchProof] = {}
    for bp in batch_proofs:
        if bp.index in by_index:
            raise SnapshotError(f"batch {bp.index} appears twice")
        by_index[bp.index] = bp
    missing = sorted(set(range(count)) - set(by_index))
    extra = sorted(set(by_index) - set(range(count)))
    if missing or extra:
        raise SnapshotError(
            f"the snapshot has {count} batches; "
            + (f"missing: {missing[:10]}" if missing else f"unexpected: {extra[:10]}")
        )
    ordered = [by_index[b] for b in range(count)]
    if len({hashlib.sha256(bp.proof).digest() for bp in ordered}) != count:
        raise SnapshotError("the same proof stands for two batches")
    for b, bp in enumerate(ordered):
        s = bp.statement
        if (s.issuer, s.as_of, s.batch) != (issuer, as_of, (b, count, digest)):
            raise SnapshotError(
                f"batch {b} is not batch {b} of this snapshot (it is for {s.issuer!r} as of "
                f"{s.as_of}, place {s.batch and s.batch[:2]}, snapshot {s.batch and s.batch[2]})"
            )
    expected = aggregate_context(issuer, as_of, digest, [bp.proof for bp in ordered])
    if aggregate.context != expected:
        raise SnapshotError("the aggregation is not over these batch proofs")
    if [tuple(int(v) for v in bp.commitment) for bp in ordered] != list(aggregate.commitments):
        raise SnapshotError("the aggregation's commitments are not the batches'")
    if [bp.statement.trace_len for bp in ordered] != list(aggregate.batch_sizes):
        raise SnapshotError("the aggregation's batch sizes are not the batches'")
    for b, bp in enumerate(ordered):
        try:
            verify(bp.air(), bp.proof, accepted_params=accepted_params)
        except VerificationError as e:
            raise SnapshotError(f"batch {b}: the proof is not valid ({e.reason})") from None
    try:
        verify(AggregateAir(aggregate), aggregate_proof, accepted_params=accepted_params)
    except VerificationError as e:
        raise SnapshotError(f"the aggregation: the proof is not valid ({e.reason})") from None
    return list(aggregate.totals)


# -- where batches go ------------------------------------------------------------------------
def batch_name(index: int) -> str:
    return f"b{index:05d}"


def public_dir(out: Path, index: int) -> Path:
    return out / "batches" / batch_name(index)


def private_dir(private: Path, index: int) -> Path:
    return private / "batches" / batch_name(index)


def write_batch(result: BatchResult, out: Path, private: Path) -> None:
    """One finished batch: its private store and opening first, then its public files, each
    atomically (the record last: a batch with a record is complete). The record,
    PRIVATE/batches/bNNNNN/batch.json, holds the batch's place, its commitment and its leaves'
    root, for `--resume`; the publication's statement.json says the same to verifiers."""
    from circuits.leaf import leaves_root
    from solvency import inclusion
    from solvency.publish import leaves_bytes, write_atomically

    root = inclusion.elements_hex(leaves_root(result.leaves))
    store = private_dir(private, result.index) / inclusion.STORE_NAME
    store.unlink(missing_ok=True)  # an interrupted earlier attempt at this batch
    inclusion.write_store(
        store, result.statement, result.leaves, root, result.ids, result.rows, result.nonces,
        result.balances,
    )  # fmt: skip
    opening = {
        "offset_totals": [str(t) for t in result.opening.offset_totals],
        "blinding": inclusion.elements_hex(result.opening.blinding),
    }
    write_atomically(
        private_dir(private, result.index) / "opening.json",
        json.dumps(opening).encode(),
        private=True,
    )
    s = result.statement
    record = {
        "index": result.index,
        "count": s.batch[1],
        "snapshot": s.batch[2],
        "users_padded": s.trace_len,
        "commitment": inclusion.elements_hex(result.commitment),
        "leaves_root": root,
        "proof_sha256": hashlib.sha256(result.proof).hexdigest(),
    }
    directory = public_dir(out, result.index)
    write_atomically(directory / "leaves.bin", leaves_bytes(result.leaves))
    write_atomically(directory / "proof.bin", result.proof)
    write_atomically(
        private_dir(private, result.index) / "batch.json",
        (json.dumps(record, indent=2) + "\n").encode(),
        private=True,
    )


def recorded(plan: Plan, private: Path) -> set[int]:
    """The batches whose private record (batch.json) an earlier run wrote."""
    return {b for b in range(plan.count) if (private_dir(private, b) / "batch.json").is_file()}


def finished(plan: Plan, out: Path, private: Path) -> set[int]:
    """The batches already written for this plan (`--resume`): a record and a store."""
    from solvency import inclusion

    return {
        b
        for b in range(plan.count)
        if (private_dir(private, b) / "batch.json").is_file()
        and (private_dir(private, b) / inclusion.STORE_NAME).is_file()
        and (public_dir(out, b) / "proof.bin").is_file()
    }


def read_plan(private: Path) -> Plan | None:
    path = private / "plan.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if data.pop("format", None) != PLAN_FORMAT:
        raise ValueError(f"{path}: not a batch plan")
    return Plan(**data)


# -- running the tasks -------------------------------------------------------------------------
def run(
    tasks: Sequence[BatchTask],
    on_result: Callable[[BatchResult], None],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
) -> dict[int, str]:
    """Prove the tasks and hand each result to `on_result` as it completes (on this process:
    writing happens here); return which worker proved which batch. scheduler: the address of
    an existing Dask cluster; else a local cluster of `workers` single-threaded processes, or
    with workers 0 (the default, `solvency.cluster.DEFAULT_WORKERS`) this process, one batch
    after the other. Raises solvency.cluster.ClusterError if the cluster fails."""
    from solvency.cluster import Target, open_cluster

    if not tasks:
        return {}
    with open_cluster(Target(scheduler, workers)) as cluster:
        cluster.run(tasks, lambda result, _worker: on_result(result))
        return cluster.proved_by
