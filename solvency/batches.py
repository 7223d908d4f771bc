"""Proving a snapshot in batches (docs/batches.md): the plan, the tasks, the aggregation, and
writing each batch as it completes. Every publication is proved this way, one batch or many
(the format: solvency/publication/statement.py).

A task receives only its batch's rows, the market and the identity, never the snapshot; it
runs here (one batch, or `--workers 0`) or on dask.distributed. `--resume` finds the batches
already written by their private records.

Layout, for OUT (public) and PRIVATE:

    OUT/batches/b00000/{leaves.bin, proof.bin}
    PRIVATE/batches/b00000/{users.sqlite, batch.json, opening.json (several batches)}
    PRIVATE/plan.json      how the snapshot is cut, the salt of its commitment, the identity
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from circuits.aggregate import AggregateAir, AggregateStatement, aggregate_witness
from circuits.leaf import leaves_root
from circuits.poseidon2 import DIGEST
from circuits.solvency import (
    MAX_TRACE_LEN,
    MIN_TRACE_LEN,
    Insolvent,
    Market,
    Statement,
    TotalsOpening,
    Undercollateralised,
)
from solvency import inclusion
from solvency.files import (
    MAX_INPUT_BYTES,
    InputError,
    read_json_record,
    read_regular,
    write_atomically,
)
from solvency.publication.check import read_leaves
from solvency.publication.encoding import elements_hex, parse_elements_hex
from solvency.publication.statement import (
    PROOF_NAME,
    BatchRecord,
    PublishedStatement,
    aggregate_context,
    batch_dir,
    publication_air,
    snapshot_commitment,
    users_tree,
)
from solvency.publication.write import write_batch_files, write_statement
from stark.params import DEFAULT_PRESET, PRESETS, is_power_of_two
from stark.proof import MAX_PROOF_BYTES

PLAN_FORMAT = "stark-solvency-batch-plan/2"
DEFAULT_BATCH_SIZE = 1 << 16


@dataclass(frozen=True)
class Plan:
    """How a snapshot is cut: `count` batches of `size` rows, batch b holding the users
    [b size, min((b + 1) size, users)) in the snapshot's order (rows are drawn at random
    within each batch). `inputs` is the digest of the input files and options
    (`inputs_digest`), private: a run resumes only the same inputs. `salt` (64 hex digits,
    fresh) hides them in the public `snapshot` commitment."""

    users: int
    size: int
    count: int
    inputs: str
    salt: str
    issuer: str
    as_of: str
    preset: str = DEFAULT_PRESET  # the proofs' parameters: all batches share them

    @property
    def snapshot(self) -> str:
        return snapshot_commitment(bytes.fromhex(self.salt), self.inputs)

    def users_of(self, b: int) -> range:
        return range(b * self.size, min((b + 1) * self.size, self.users))

    def same_run(self, other: Plan) -> bool:
        """The same inputs, options and identity (the salt is each run's own)."""
        return dataclasses.replace(self, salt=other.salt) == other

    def to_json(self) -> bytes:
        return (json.dumps({"format": PLAN_FORMAT, **asdict(self)}, indent=2) + "\n").encode()


def check_batch_size(size: int) -> None:
    """A batch is one proof: a power of two in [MIN_TRACE_LEN, MAX_TRACE_LEN]."""
    if not is_power_of_two(size) or not MIN_TRACE_LEN <= size <= MAX_TRACE_LEN:
        raise ValueError(
            f"the batch size must be a power of two in [{MIN_TRACE_LEN:,}, {MAX_TRACE_LEN:,}], "
            f"not {size:,}"
        )


def inputs_digest(files: Iterable[Path], size: int, issuer: str, as_of: str) -> str:
    """SHA-256 over the input files' bytes, the batch size and the identity: two runs with
    the same digest prove the same batches of the same users. Private: it would confirm a
    guess of the files (the public commitment salts it)."""
    h = hashlib.sha256(b"stark-solvency-batches/1")
    for path in files:
        data = read_regular(path, MAX_INPUT_BYTES)
        h.update(len(data).to_bytes(8, "little") + data)
    for part in (str(size), issuer, as_of):
        raw = part.encode()
        h.update(len(raw).to_bytes(8, "little") + raw)
    return h.hexdigest()


def make_plan(
    users: int,
    size: int,
    inputs: str,
    issuer: str,
    as_of: str,
    preset: str = DEFAULT_PRESET,
    salt: bytes | None = None,
) -> Plan:
    """The plan of a new run; `salt` defaults to 32 fresh bytes from the operating system."""
    check_batch_size(size)
    if users < 1:
        raise ValueError("no users")
    salt = os.urandom(32) if salt is None else salt
    return Plan(users, size, -(-users // size), inputs, salt.hex(), issuer, as_of, preset)


# -- one batch, as a task ---------------------------------------------------------------------
@dataclass(frozen=True)
class BatchTask:
    """All a worker receives for batch `index` of `count`: its users only. seed: for tests
    only (`--insecure-seed`), reproducible nonces and masks: the proof then hides nothing."""

    index: int
    count: int
    ids: list[str]
    balances: np.ndarray  # (len(ids), K) base units
    market: Market
    issuer: str
    as_of: str
    preset: str
    snapshot: str
    seed: int | None = None


@dataclass(frozen=True)
class BatchResult:
    """What comes back from a worker: the public part of one batch (its statement, leaves,
    totals commitment and proof) and the private part (the users' rows, nonces and balances,
    and the opening of the commitment, which only the aggregation may read). A publication
    of one batch has no commitment and no opening: its totals are public."""

    index: int
    statement: Statement
    commitment: np.ndarray | None
    leaves: np.ndarray
    proof: bytes
    opening: TotalsOpening | None
    ids: list[str]
    rows: np.ndarray
    nonces: np.ndarray
    balances: np.ndarray
    seconds: float

    @cached_property  # the leaves' root costs a Merkle tree: written, then published, once
    def record(self) -> BatchRecord:
        """The batch as statement.json lists it."""
        return BatchRecord(
            self.statement.trace_len,
            elements_hex(leaves_root(self.leaves)),
            hashlib.sha256(self.proof).hexdigest(),
            len(self.proof),
            self.commitment,
        )


def prove_batch(task: BatchTask, on_phase: Callable | None = None) -> BatchResult:
    """Prove one batch (on a worker, or here with on_phase for the progress display): nonces,
    random rows, the witness with the leaf hash (and hidden totals when there are several
    batches), the proof, bound to the batch's place (index, count, snapshot commitment).
    Raises InsolventUsers (naming them by id) if a user's value is negative, ValueError for an
    id with no UTF-8 form."""
    from stark.prover import prove
    from stark.randomness import ProverRandomness

    start = time.perf_counter()
    seed = task.seed
    rng = None if seed is None else ProverRandomness(b"nonces" + str(seed).encode())
    hidden = task.count > 1
    try:
        wit = inclusion.witness(task.market, task.ids, task.balances, rng, hide_totals=hidden)
    except Insolvent as e:
        haircuts = isinstance(e, Undercollateralised)
        raise InsolventUsers([task.ids[i] for i in e.rows], haircuts=haircuts) from None
    statement = dataclasses.replace(
        wit.statement,
        issuer=task.issuer,
        as_of=task.as_of,
        insecure_seeded=seed is not None,
        batch=(task.index, task.count, task.snapshot),
    )
    commitment = wit.opening.commitment if hidden else None
    air = publication_air(statement, wit.leaves, commitment)
    proof = prove(air, wit.trace, PRESETS[task.preset], seed=seed, on_phase=on_phase)
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


class InsolventUsers(ValueError):
    """Users of a batch whose total value is negative, by id (raised on the worker); with
    `haircuts`, whose debts exceed their collateral under the haircut tables."""

    def __init__(self, ids: list[str], *, haircuts: bool = False):
        super().__init__(f"{len(ids)} user(s) {self.reason_of(haircuts)}")
        self.ids = ids
        self.haircuts = haircuts

    @staticmethod
    def reason_of(haircuts: bool) -> str:
        if haircuts:
            return "have debts worth more than their collateral after the haircuts"
        return "have a negative total value at the given prices"

    def __reduce__(self):  # raised on a Dask worker: pickled with its keyword
        return (_insolvent_users, (self.ids, self.haircuts))


def _insolvent_users(ids: list[str], haircuts: bool) -> InsolventUsers:
    return InsolventUsers(ids, haircuts=haircuts)


def tasks_of(
    plan: Plan, ids: Sequence[str], balances: np.ndarray, market: Market, seed: int | None = None
) -> list[BatchTask]:
    """The plan's tasks, in order: each batch's users and nothing else."""
    return [
        BatchTask(
            b, plan.count, list(ids[r.start : r.stop]), balances[r.start : r.stop], market,
            plan.issuer, plan.as_of, plan.preset, plan.snapshot, seed,
        )
        for b, r in ((b, plan.users_of(b)) for b in range(plan.count))
    ]  # fmt: skip


# -- the aggregation and the statement ----------------------------------------------------------
def prove_aggregate(
    results: Sequence[BatchResult], preset: str
) -> tuple[AggregateStatement, bytes]:
    """The aggregation proof over every batch, in index order: the grand totals are the sums
    of the totals the commitments hide, opened inside the constraints."""
    from stark.prover import prove

    results = sorted(results, key=lambda r: r.index)
    first = results[0].statement
    context = aggregate_context(
        first.issuer,
        first.as_of,
        first.batch[2],
        [hashlib.sha256(r.proof).digest() for r in results],
    )
    statement, trace = aggregate_witness(
        context,
        [r.opening.offset_totals for r in results],
        np.stack([r.opening.blinding for r in results]),
        [r.statement.trace_len for r in results],
        equity=None if first.equity is None else [r.opening.equity for r in results],
    )
    return statement, prove(AggregateAir(statement), trace, PRESETS[preset]).to_bytes()


def published_statement(
    plan: Plan,
    results: Sequence[BatchResult],
    aggregate: AggregateStatement | None,
    aggregate_proof: bytes | None,
) -> PublishedStatement:
    """The statement of a publication proved by this plan: one batch's own totals, or the
    aggregation's grand totals."""
    results = sorted(results, key=lambda r: r.index)
    s = results[0].statement
    records = tuple(r.record for r in results)
    roots = [parse_elements_hex(r.leaves_root, DIGEST) for r in records]
    return PublishedStatement(
        issuer=s.issuer,
        as_of=s.as_of,
        quote=s.quote,
        scale=s.scale,
        symbols=s.symbols,
        decimals=s.decimals,
        prices=s.prices,
        totals=s.totals if aggregate is None else aggregate.totals,
        snapshot=plan.snapshot,
        insecure_seeded=s.insecure_seeded,
        batches=records,
        users_root=elements_hex(users_tree(roots)[-1][0]),
        aggregate=None
        if aggregate_proof is None
        else (hashlib.sha256(aggregate_proof).hexdigest(), len(aggregate_proof)),
        params=PRESETS[plan.preset],
        equity=s.equity if aggregate is None else aggregate.equity,
        haircuts=s.haircuts,
    )


def publish(plan: Plan, results: Sequence[BatchResult], out: Path) -> dict:
    """Once every batch is written: the aggregation (several batches), then statement.json.
    Returns the statement's document."""
    if sorted(r.index for r in results) != list(range(plan.count)):
        raise ValueError(f"the results are not every batch of {plan.count} once")
    aggregate, aggregate_proof = None, None
    if plan.count > 1:
        aggregate, aggregate_proof = prove_aggregate(results, plan.preset)
    statement = published_statement(plan, results, aggregate, aggregate_proof)
    return write_statement(out, statement, aggregate_proof)


# -- where batches go ------------------------------------------------------------------------
def write_batch(result: BatchResult, out: Path, private: Path) -> None:
    """One finished batch: its private store (and the opening of its commitment) first, then
    its public files, each atomically, and its record last (a batch with a record is
    complete). The record, PRIVATE/batches/bNNNNN/batch.json, holds the batch's place, its
    commitment and its leaves' root, for `--resume`."""
    record = result.record
    folder = batch_dir(private, result.index)
    store = folder / inclusion.STORE_NAME
    store.unlink(missing_ok=True)  # an interrupted earlier attempt at this batch
    inclusion.write_store(
        store, result.statement, result.leaves, record.leaves_root, result.ids, result.rows,
        result.nonces, result.balances,
    )  # fmt: skip
    if result.opening is not None:
        opening = {
            "offset_totals": [str(t) for t in result.opening.offset_totals],
            "blinding": elements_hex(result.opening.blinding),
            "equity": [str(e) for e in result.opening.equity],
        }
        write_atomically(folder / "opening.json", json.dumps(opening).encode(), private=True)
    write_batch_files(out, result.index, result.leaves, result.proof)
    s = result.statement
    document = {
        "index": result.index,
        "count": s.batch[1],
        "snapshot": s.batch[2],
        "users_padded": s.trace_len,
        "insecure_seeded": s.insecure_seeded,
        "totals": [str(t) for t in s.totals],
        "equity": [str(e) for e in s.equity],
        "commitment": None if record.commitment is None else elements_hex(record.commitment),
        "leaves_root": record.leaves_root,
        "proof_sha256": record.proof_sha256,
    }
    write_atomically(
        folder / "batch.json", (json.dumps(document, indent=2) + "\n").encode(), private=True
    )


def load_result(out: Path, private: Path, plan: Plan, market: Market, index: int) -> BatchResult:
    """A batch written by an earlier run (`--resume`), as far as the aggregation and the
    publication need it: its statement (with its totals when they are public), commitment,
    leaves, proof and opening."""
    folder = batch_dir(private, index)
    record = read_json_record(folder / "batch.json")
    if "equity" not in record:  # a run begun by a version that wrote format 1
        raise InputError(
            folder / "batch.json",
            None,
            "equity",
            "written by an earlier version (publication format 1): prove again into new folders",
        )
    leaves = read_leaves(batch_dir(out, index) / "leaves.bin")
    n, k, hidden = len(leaves), len(market.symbols), plan.count > 1
    statement = dataclasses.replace(
        market.statement(
            tuple(int(t) for t in record["totals"]),
            n,
            equity=tuple(int(e) for e in record["equity"]),
        ),
        issuer=plan.issuer,
        as_of=plan.as_of,
        insecure_seeded=record["insecure_seeded"],
        hidden_totals=hidden,
        batch=(index, plan.count, plan.snapshot),
    )
    commitment, opening = None, None
    if hidden:
        data = read_json_record(folder / "opening.json")
        commitment = parse_elements_hex(record["commitment"], DIGEST)
        offset_totals = tuple(int(t) for t in data["offset_totals"])
        opening = TotalsOpening(
            tuple(t - n * (1 << 63) for t in offset_totals),
            offset_totals,
            parse_elements_hex(data["blinding"], DIGEST),
            commitment,
            tuple(int(e) for e in data["equity"]),
        )
    return BatchResult(
        index,
        statement,
        commitment,
        leaves,
        read_regular(batch_dir(out, index) / PROOF_NAME, MAX_PROOF_BYTES),
        opening,
        [],
        np.zeros(0, dtype=np.int64),
        np.zeros((0, 5), dtype=np.uint64),
        np.zeros((0, k), dtype=np.int64),
        0.0,
    )


def recorded(plan: Plan, private: Path) -> set[int]:
    """The batches whose private record (batch.json) an earlier run wrote."""
    return {b for b in range(plan.count) if (batch_dir(private, b) / "batch.json").is_file()}


def finished(plan: Plan, out: Path, private: Path) -> set[int]:
    """The batches already written for this plan (`--resume`): a record and a store."""
    return {
        b
        for b in range(plan.count)
        if (batch_dir(private, b) / "batch.json").is_file()
        and (batch_dir(private, b) / inclusion.STORE_NAME).is_file()
        and (batch_dir(out, b) / PROOF_NAME).is_file()
    }


def open_stores(private: Path) -> list[inclusion.PrivateStore]:
    """Every batch's private store of a publication (PRIVATE/plan.json says how many), each
    placed under the users' root over the batch roots. Raises inclusion.StoreError."""
    try:
        plan = read_plan(private)
    except (ValueError, TypeError, OSError) as e:
        raise inclusion.StoreError(f"{private / 'plan.json'}: {e}") from None
    if plan is None:
        raise inclusion.StoreError(f"{private}: no private store here (no plan.json)")
    stores = [inclusion.PrivateStore(batch_dir(private, b)) for b in range(plan.count)]
    top = users_tree([store.tree[-1][0] for store in stores])
    for b, store in enumerate(stores):
        store.placement = (b, top)
    return stores


def read_plan(private: Path) -> Plan | None:
    """The run's plan, if PRIVATE holds one (InputError or ValueError if it is damaged)."""
    path = private / "plan.json"
    if not os.path.lexists(path):
        return None
    data = read_json_record(path, what="batch plan")
    if not isinstance(data, dict) or data.pop("format", None) != PLAN_FORMAT:
        raise ValueError(f"{path}: not a batch plan of this version ({PLAN_FORMAT})")
    return Plan(**data)
