"""Where the batches are proved: in this process, on a local Dask cluster, or on an existing
one reached at `tcp://HOST:PORT` or `tls://HOST:PORT` (docs/batches.md, "Proving on a cluster").

`open_cluster` connects before anything is written (bounded by CONNECT_TIMEOUT) and says how
many workers there are; `Cluster.run` hands each result to a callback as it completes, with
the worker that proved it. Every failure of the cluster (unreachable, no workers, lost
mid-run, a worker killed) is a `ClusterError` with one plain sentence."""

from __future__ import annotations

import itertools
import logging
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from solvency.batches import BatchResult, BatchTask, prove_batch
from solvency.publication.statement import batch_name

#: Seconds to reach a scheduler, and again to see at least one worker there.
CONNECT_TIMEOUT = 10

#: Where the batches are proved when no --workers is given: in this process, which already
#: keeps every core busy (the prover's kernels are multi-threaded); docs/batches.md measures it.
DEFAULT_WORKERS = 0

#: Batches sent ahead to each Dask worker: one proving, one waiting, so that no worker idles
#: between two batches while this process writes a result.
IN_FLIGHT_PER_WORKER = 2

#: Who proved a batch without Dask.
HERE = "this process"

_ADDRESS = re.compile(
    r"(?P<scheme>tcp|tls)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r":(?P<port>[0-9]{1,5})"
)


T = TypeVar("T")

#: Called with each batch's result and the worker that proved it.
OnResult = Callable[[BatchResult, str], None]


class ClusterError(RuntimeError):
    """The cluster could not be used: why, in one sentence."""


@dataclass(frozen=True)
class Tls:
    """The client's side of dask's TLS: the CA that signed the scheduler's certificate, and
    this client's certificate and key (the scheduler requires one)."""

    ca_file: Path
    cert: Path
    key: Path

    def security(self) -> Any:
        from distributed.security import Security

        return Security(
            tls_ca_file=str(self.ca_file),
            tls_client_cert=str(self.cert),
            tls_client_key=str(self.key),
            require_encryption=True,
        )


def parse_address(text: str) -> str:
    """A scheduler's address, tcp://HOST:PORT or tls://HOST:PORT with a port in [1, 65535];
    raises ValueError saying what is expected."""
    match = _ADDRESS.fullmatch(text.strip())
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(
            f"{text!r} is not a scheduler address: expected tcp://HOST:PORT or tls://HOST:PORT"
        )
    return text.strip()


def check_tls(address: str, files: dict[str, Path | None]) -> Tls | None:
    """The TLS files for this address: all three with tls://, none with tcp://, each a
    readable file; raises ValueError naming the option."""
    given = {option: path for option, path in files.items() if path is not None}
    if not address.startswith("tls://"):
        if given:
            raise ValueError(f"{', '.join(given)}: only for a tls:// scheduler")
        return None
    missing = [option for option, path in files.items() if path is None]
    if missing:
        raise ValueError(f"a tls:// scheduler needs {', '.join(missing)}")
    for option, path in given.items():
        if not path.is_file():
            raise ValueError(f"{option} {path}: no such file")
    ca, cert, key = given.values()
    return Tls(ca, cert, key)


@dataclass(frozen=True)
class Target:
    """Where to prove, as the options say: an existing scheduler (with its TLS files), or a
    local cluster of `workers` (None: DEFAULT_WORKERS; 0: this process)."""

    scheduler: str | None
    workers: int | None
    tls: Tls | None = None


@dataclass
class Cluster:
    """Where the tasks run: `client` None means in this process, one after the other."""

    where: str  # "tcp://10.0.0.5:8786", "a local cluster", "this process"
    workers: int
    client: Any = None
    local: Any = None
    proved_by: dict[int, str] = field(default_factory=dict)  # batch index -> worker

    def describe(self, batches: int) -> str:
        """What is said before the batches start: how many, where, on how many workers."""
        count = f"{batches} batch{'es' if batches != 1 else ''}"
        if self.client is None:
            return f"proving {count} in this process, one after the other"
        each = " (one thread each)" if self.local is not None else ""
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        return f"sending {count} to {self.where}: {workers}{each}"

    def run(self, tasks: Sequence[BatchTask], on_result: OnResult) -> None:
        """Prove the tasks, hand each result and the worker that proved it to `on_result` as
        it completes (on this process: writing happens here), and record who proved which
        batch in `proved_by`. Raises ClusterError if the cluster is lost; a task's own error
        (InsolventUsers) and on_result's come through as they are."""
        if self.client is None:
            for task in tasks:
                on_result(prove_batch(task), HERE)
                self.proved_by[task.index] = HERE
            return
        self._run_on_dask(tasks, on_result)

    def _run_on_dask(self, tasks: Sequence[BatchTask], on_result: OnResult) -> None:
        """Submit IN_FLIGHT_PER_WORKER tasks per worker, then one more as each completes: the
        client and the scheduler (in this process for a local cluster) hold the balances of
        those tasks only, not of every batch (128 x 13 MB at 1,048,576 users x 200 assets)."""
        from distributed import as_completed

        queued = iter(tasks)

        def submit(count: int) -> list:
            # each task carries its users' balances by design: Dask's warning that this
            # "large graph" should be loaded on the workers does not apply
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
                return [
                    self.client.submit(
                        prove_on_worker, task, key=f"{task.snapshot[:16]}-{batch_name(task.index)}"
                    )
                    for task in itertools.islice(queued, count)
                ]

        window = max(1, self.workers) * IN_FLIGHT_PER_WORKER
        running = as_completed(self._guarded(lambda: submit(window)), loop=self.client.loop)
        for future in running:
            result, worker = self._guarded(future.result)
            on_result(result, worker)  # its own errors (a full disk) are not the cluster's
            self.proved_by[result.index] = worker
            future.release()
            running.update(self._guarded(lambda: submit(1)))

    def _guarded(self, call: Callable[[], T]) -> T:
        """call(), with a failure of the cluster itself as ClusterError."""
        try:
            return call()
        except Exception as e:
            if _is_cluster_failure(e):
                raise ClusterError(f"lost the cluster at {self.where}: {_lost(e)}") from None
            raise

    def close(self) -> None:
        if self.client is not None:
            self.client.close(timeout=CONNECT_TIMEOUT)
        if self.local is not None:
            self.local.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prove_on_worker(task: BatchTask) -> tuple[BatchResult, str]:
    """prove_batch on a Dask worker, with that worker's address."""
    from distributed import get_worker

    return prove_batch(task), get_worker().address


def open_cluster(target: Target) -> Cluster:
    """This process (no scheduler and workers 0, the default), a local cluster of `workers`
    single-threaded processes, or the scheduler at `scheduler` with at least one worker,
    reached within CONNECT_TIMEOUT seconds each. Raises ClusterError."""
    if target.scheduler is not None:
        return _connect(target.scheduler, target.tls)
    count = DEFAULT_WORKERS if target.workers is None else target.workers
    if count == 0:
        return Cluster(HERE, 1)
    return _start_local(count)


def _connect(address: str, tls: Tls | None) -> Cluster:
    from distributed import Client

    try:
        security = tls.security() if tls is not None else None
        client = Client(address, timeout=CONNECT_TIMEOUT, security=security, set_as_default=False)
    except Exception as e:  # OSError, TimeoutError, ssl.SSLError, ValueError from dask
        raise ClusterError(
            f"cannot reach the scheduler at {address} within {CONNECT_TIMEOUT} s: {_reason(e)}"
        ) from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except Exception:
        client.close()
        raise ClusterError(
            f"the scheduler at {address} has no workers (waited {CONNECT_TIMEOUT} s)"
        ) from None
    return Cluster(address, len(client.scheduler_info(n_workers=-1)["workers"]), client)


def _start_local(count: int) -> Cluster:
    try:
        return _local_cluster(count)
    except Exception as e:
        reason = _reason(e)
        raise ClusterError(f"cannot start a local cluster of {count} workers: {reason}") from None


def _local_cluster(count: int) -> Cluster:
    from distributed import Client, LocalCluster

    local = LocalCluster(
        n_workers=count,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # no fixed port: 8787 may be taken (and None warns so)
        memory_limit=0,  # the batch size bounds a task's memory; no spilling of results
        silence_logs=logging.ERROR,  # its warnings (a worker killed on Ctrl-C) are not ours
    )
    return Cluster("a local cluster", count, Client(local, set_as_default=False), local)


def _is_cluster_failure(e: BaseException) -> bool:
    """An error of the cluster itself, not of a task: a lost connection, a cancelled future
    (the scheduler went away), a worker killed too often, a timeout."""
    from asyncio import CancelledError

    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    return isinstance(
        e, (OSError, TimeoutError, CancelledError, CommClosedError, KilledWorker)
    ) or type(e).__name__ in ("FutureCancelledError", "CancelledError")


def _lost(e: BaseException) -> str:
    """Why the cluster was lost, plainly: dask cancels every task when the scheduler goes."""
    if "cancelled" in type(e).__name__.lower() or "connection-lost" in str(e):
        return "the connection to the scheduler was lost"
    return _reason(e)


def _reason(e: BaseException) -> str:
    """An exception as a short clause: its message's first line, or its type."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


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
    if not tasks:
        return {}
    with open_cluster(Target(scheduler, workers)) as cluster:
        cluster.run(tasks, lambda result, _worker: on_result(result))
        return cluster.proved_by
