"""`prove --scheduler` (solvency/cluster.py): the address checked before any work, the cluster
reached before anything is written, one line and exit 2 when it cannot be or is lost, which
worker proved which batch, and TLS on loopback with a certificate made here."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from solvency import batches, cluster
from solvency.cli import main

from .conftest import ASSETS

ISSUER, AS_OF = "Test Exchange", "2025-06-30T23:59:59Z"


def inputs(folder: Path, users: int) -> tuple[Path, Path]:
    lines = ["id,BTC,ETH,USDT"] + [
        f"u{i:05d},0.{i:05d},{i % 7 - 3},{i * 10 + 20000}" for i in range(users)
    ]
    (folder / "snapshot.csv").write_text("\n".join(lines) + "\n")
    (folder / "assets.json").write_text(json.dumps(ASSETS))
    return folder / "snapshot.csv", folder / "assets.json"


def prove_cli(folder: Path, *extra: str, users: int = 600):
    snapshot_path, assets_path = inputs(folder, users)
    return CliRunner().invoke(
        main,
        ["prove", str(snapshot_path), "--assets", str(assets_path), "--out", str(folder / "out"),
         "--private", str(folder / "private"), "--issuer", ISSUER, "--as-of", AS_OF,
         "--batch-size", "512", *extra],
        catch_exceptions=False,
    )  # fmt: skip


def one_error_line(result, code: int = 2) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code and len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


def nothing_written(folder: Path) -> bool:
    return not (folder / "out").exists() and not (folder / "private").exists()


# -- checked before any work ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "address",
    ["notanaddress", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000",
     "http://127.0.0.1:8786", "tcp://:8786", "127.0.0.1:8786"],
)  # fmt: skip
def test_a_bad_address_is_one_line(tmp_path, address):
    line = one_error_line(prove_cli(tmp_path, "--scheduler", address))
    assert "--scheduler" in line and "tcp://HOST:PORT or tls://HOST:PORT" in line
    assert nothing_written(tmp_path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"), "--workers is for a local"),
        (("--tls-cert", "c.pem"), "--tls-cert: only with --scheduler tls://"),
        (("--scheduler", "tcp://127.0.0.1:8786", "--tls-ca-file", "ca.pem"), "only for a tls://"),
        (("--scheduler", "tls://127.0.0.1:8786"), "needs --tls-ca-file, --tls-cert, --tls-key"),
        (("--scheduler", "tls://127.0.0.1:8786", "--tls-ca-file", "nope.pem", "--tls-cert",
          "nope.pem", "--tls-key", "nope.pem"), "--tls-ca-file nope.pem: no such file"),
    ],
)  # fmt: skip
def test_cluster_options_refused(tmp_path, extra, message):
    line = one_error_line(prove_cli(tmp_path, *extra))
    assert message in line
    assert nothing_written(tmp_path)


def test_an_unreachable_scheduler_writes_nothing(tmp_path, monkeypatch):
    """Connection refused: one line within the timeout, no plan.json, no directories, so the
    same command may simply run again."""
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    start = time.perf_counter()
    line = one_error_line(prove_cli(tmp_path, "--scheduler", "tcp://127.0.0.1:1"))
    assert time.perf_counter() - start < 15
    assert "cannot reach the scheduler at tcp://127.0.0.1:1 within 2 s" in line
    assert "nothing was written" in line
    assert nothing_written(tmp_path)


def test_the_help_states_the_rules():
    text = " ".join(CliRunner().invoke(main, ["prove", "--help"]).output.split())
    assert f"within {cluster.CONNECT_TIMEOUT} s" in text and "tls://HOST:PORT" in text
    assert "default: 0" in text and "keeps every core busy" in text


# -- a real scheduler and worker, as subprocesses on loopback -------------------------------------
def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it (one for every party), by openssl."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "node.pem", folder / "node.key", folder / "node.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for command in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "1", "-subj", "/CN=test"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out",
         cert, "-days", "1", "-extfile", folder / "san.ext"],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return {"--tls-ca-file": ca, "--tls-cert": cert, "--tls-key": key}


class Dask:
    """A scheduler and one single-threaded worker (no nanny), as subprocesses on 127.0.0.1."""

    def __init__(self, folder: Path, tls: dict[str, Path] | None = None):
        protocol = "tls" if tls else "tcp"
        security = [str(a) for pair in (tls or {}).items() for a in pair]
        info = folder / "scheduler.json"
        self.scheduler = subprocess.Popen(
            [dask_cli(), "scheduler", "--host", "127.0.0.1", "--port", "0", "--protocol", protocol,
             "--no-dashboard", "--scheduler-file", str(info), *security],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]
        self.worker = subprocess.Popen(
            [dask_cli(), "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--memory-limit", "0", *security],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        for process in (self.worker, self.scheduler):
            if process.poll() is None:
                process.kill()
                process.wait()


def dask_cli() -> str:
    return str(Path(sys.executable).with_name("dask"))


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory) -> Iterator[tuple[Dask, dict[str, Path]]]:
    folder = tmp_path_factory.mktemp("tls")
    tls = make_certificates(folder)
    dask = Dask(folder, tls)
    yield dask, tls
    dask.stop()


def test_tls_on_loopback(tls_cluster, tmp_path):
    """600 users in 2 batches of 512 on a tls:// scheduler: it says where they went and which
    worker proved which batch, and the publication verifies."""
    dask, tls = tls_cluster
    assert dask.address.startswith("tls://127.0.0.1:")
    options = [str(a) for pair in tls.items() for a in pair]
    result = prove_cli(tmp_path, "--scheduler", dask.address, *options)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert f"sending 2 batches to {dask.address}: 1 worker" in text
    for b in range(2):
        assert f"b0000{b} (batch {b + 1} of 2) proved by tls://127.0.0.1:" in text
    verified = CliRunner().invoke(main, ["verify", str(tmp_path / "out")])
    assert verified.exit_code == 0, verified.output


def test_tls_needs_the_right_ca(tls_cluster, tmp_path, monkeypatch):
    """A client that does not trust the cluster's certificate, or speaks tcp:// to it, does
    not connect: one line, nothing written."""
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 3)
    dask, tls = tls_cluster
    (tmp_path / "other").mkdir()
    other = make_certificates(tmp_path / "other")
    wrong = {**tls, "--tls-ca-file": other["--tls-ca-file"]}
    options = [str(a) for pair in wrong.items() for a in pair]
    line = one_error_line(prove_cli(tmp_path, "--scheduler", dask.address, *options))
    assert f"cannot reach the scheduler at {dask.address}" in line
    plain = dask.address.replace("tls://", "tcp://")
    line = one_error_line(prove_cli(tmp_path, "--scheduler", plain))
    assert "cannot reach the scheduler" in line
    assert nothing_written(tmp_path)


def test_a_scheduler_without_workers_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    dask = Dask(tmp_path)
    dask.worker.kill()
    dask.worker.wait()
    try:
        line = one_error_line(prove_cli(tmp_path, "--scheduler", dask.address))
    finally:
        dask.stop()
    assert f"the scheduler at {dask.address} has no workers (waited 2 s)" in line
    assert nothing_written(tmp_path)


def test_a_lost_scheduler_is_one_line_and_resume_goes_on(tmp_path, monkeypatch):
    """The scheduler killed after the first of 3 batches is written: exit 2 with one line,
    the batch and plan.json kept, and --resume (here without Dask) finishes the job."""
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 3)
    dask = Dask(tmp_path)
    write = batches.write_batch

    def write_then_kill(result, out, private):
        write(result, out, private)
        dask.scheduler.kill()
        dask.scheduler.wait()

    monkeypatch.setattr(batches, "write_batch", write_then_kill)
    try:
        result = prove_cli(tmp_path, "--scheduler", dask.address, users=1300)
    finally:
        dask.stop()
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(lines) == 1 and "Traceback" not in result.output
    assert f"lost the cluster at {dask.address}: the connection to the scheduler" in lines[0]
    assert "1 of 3 batches are proved and written" in lines[0] and "--resume" in lines[0]
    assert (tmp_path / "private" / "plan.json").is_file()
    monkeypatch.setattr(batches, "write_batch", write)
    resumed = prove_cli(tmp_path, "--resume", "--workers", "0", users=1300)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 1 of 3 batches already proved" in resumed.stderr


def test_what_is_said_before_the_batches():
    here, remote = cluster.Cluster(cluster.HERE, 1), cluster.Cluster("tcp://h:1", 2, object())
    local = cluster.Cluster("a local cluster", 1, object(), object())
    assert here.describe(1) == "proving 1 batch in this process, one after the other"
    assert remote.describe(3) == "sending 3 batches to tcp://h:1: 2 workers"
    assert local.describe(2) == "sending 2 batches to a local cluster: 1 worker (one thread each)"


def test_tasks_are_sent_a_few_per_worker_at_a_time(monkeypatch):
    """The client holds IN_FLIGHT_PER_WORKER tasks per worker, not every batch's balances:
    one more is sent as each result comes back, until all are done (an in-process cluster,
    with a stand-in for the proving)."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "prove_on_worker", lambda task: (task, "w"))
    in_flight: set[int] = set()
    counts, done = [], []

    def on_result(result, worker):
        in_flight.discard(result.index)
        done.append(result.index)

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        submit = client.submit

        def counted(fn, task, **options):
            in_flight.add(task.index)
            counts.append(len(in_flight))
            return submit(fn, task, **options)

        monkeypatch.setattr(client, "submit", counted)
        tasks = [SimpleNamespace(index=i, snapshot="ab" * 32) for i in range(7)]
        cluster.Cluster("a local cluster", 1, client).run(tasks, on_result)
    assert sorted(done) == list(range(7)) and len(counts) == 7
    assert max(counts) == cluster.IN_FLIGHT_PER_WORKER
