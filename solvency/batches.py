"""Proving a snapshot in batches, as independent tasks on dask.distributed (docs/batches.md).

This module is the plan and the runner: how a snapshot is cut into batches, what a task
receives (only its batch's rows, the market and the identity, never the snapshot), how
finished batches are written as they complete, and how `resume` finds the ones already done.
Each batch is written as an ordinary publication (proof.bin, leaves.bin, statement.json) plus
its private store, so that every batch can be checked on its own; the hidden totals and the
aggregation proof over the batches (docs/batches.md, "Status") come on top of this.

Layout, for OUT (public) and PRIVATE:

    OUT/batches/b00000/{leaves.bin, proof.bin, statement.json}
    PRIVATE/batches/b00000/users.sqlite
    PRIVATE/plan.json      the snapshot's digest, the batch size and count, the identity
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from circuits.solvency import MAX_TRACE_LEN, MIN_TRACE_LEN, Market, Statement
from stark.params import is_power_of_two

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


def make_plan(users: int, size: int, digest: str, issuer: str, as_of: str) -> Plan:
    check_batch_size(size)
    if users < 1:
        raise ValueError("no users")
    return Plan(users, size, -(-users // size), digest, issuer, as_of)


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
    """What comes back: the public files and the private records of one batch."""

    index: int
    statement: Statement
    document: dict  # statement.json
    proof: bytes
    leaves: bytes
    root: str
    ids: list[str]
    rows: np.ndarray
    nonces: np.ndarray
    balances: np.ndarray
    seconds: float


def prove_batch(task: BatchTask) -> BatchResult:
    """Prove one batch (runs on a worker): nonces, random rows, the witness with the leaf hash,
    the proof. Raises Insolvent (naming users by their index in the batch) like `prove`."""
    import dataclasses

    from solvency import inclusion
    from solvency.publish import leaves_bytes, solvency_air, statement_json
    from stark.params import PRESETS
    from stark.prover import prove

    start = time.perf_counter()
    wit = inclusion.witness(task.market, task.ids, task.balances)
    statement = dataclasses.replace(wit.statement, issuer=task.issuer, as_of=task.as_of)
    air = solvency_air(statement, wit.leaves)
    proof = prove(air, wit.trace, PRESETS[task.preset]).to_bytes()
    document = statement_json(air, PRESETS[task.preset], proof)
    return BatchResult(
        task.index,
        statement,
        document,
        proof,
        leaves_bytes(wit.leaves),
        document["inclusion"]["leaves_root"],
        list(task.ids),
        wit.rows,
        wit.nonces,
        task.balances,
        time.perf_counter() - start,
    )


# -- where batches go ------------------------------------------------------------------------
def batch_name(index: int) -> str:
    return f"b{index:05d}"


def public_dir(out: Path, index: int) -> Path:
    return out / "batches" / batch_name(index)


def private_dir(private: Path, index: int) -> Path:
    return private / "batches" / batch_name(index)


def write_batch(result: BatchResult, out: Path, private: Path) -> None:
    """One finished batch: its private store first, then its public files, each atomically
    (the statement last: a batch with a statement is complete)."""
    from solvency import inclusion
    from solvency.publish import write_atomically

    leaves = np.frombuffer(result.leaves, dtype="<u4").astype(np.uint64).reshape(-1, 8)
    store = private_dir(private, result.index) / inclusion.STORE_NAME
    store.unlink(missing_ok=True)  # an interrupted earlier attempt at this batch
    inclusion.write_store(
        store, result.statement, leaves, result.root, result.ids, result.rows, result.nonces,
        result.balances,
    )  # fmt: skip
    directory = public_dir(out, result.index)
    document = (json.dumps(result.document, indent=2) + "\n").encode()
    write_atomically(directory / "leaves.bin", result.leaves)
    write_atomically(directory / "proof.bin", result.proof)
    write_atomically(directory / "statement.json", document)


def finished(plan: Plan, out: Path, private: Path) -> set[int]:
    """The batches already written for this plan (`--resume`): a statement and a store."""
    from solvency import inclusion

    return {
        b
        for b in range(plan.count)
        if (public_dir(out, b) / "statement.json").is_file()
        and (private_dir(private, b) / inclusion.STORE_NAME).is_file()
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
) -> None:
    """Prove the tasks on dask.distributed and hand each result to `on_result` as it
    completes (on this process: writing happens here). scheduler: the address of an existing
    cluster; None starts a local one of `workers` single-threaded worker processes (default:
    one per core), so that a single machine needs no set-up; workers=0 proves the tasks here,
    one after the other, without Dask."""
    if scheduler is None and workers == 0:
        for task in tasks:
            on_result(prove_batch(task))
        return
    from dask.distributed import Client, LocalCluster, as_completed

    if not tasks:
        return
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=0,  # the batch size bounds a task's memory; no spilling of results
        )
    client = Client(scheduler if cluster is None else cluster)
    try:
        futures = [
            client.submit(prove_batch, task, key=f"{task.digest[:16]}-{batch_name(task.index)}")
            for task in tasks
        ]
        for future in as_completed(futures):
            on_result(future.result())
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
