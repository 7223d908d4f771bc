"""Honest publications (default preset) shared by the command-line tests, which copy them
before editing them: proving once keeps the suite fast. `honest_proof` is a publication of one
batch, `honest_batches` one of three batches (hidden batch totals and the aggregation);
`either_publication` is each in turn, so that a check or a warning is tested on both shapes."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency.cli import main

ASSETS = {
    "quote": "USD",
    "assets": [
        {"symbol": "BTC", "decimals": 8, "price": "97000.12"},
        {"symbol": "ETH", "decimals": 8, "price": "3400.55"},
        {"symbol": "USDT", "decimals": 6, "price": "1.0001"},
    ],
}
SNAPSHOT = "id,BTC,ETH,USDT\nalice,0.5,,1250.75\nbob,,24.99,-1872.4\ncarol,-0.01,1,\n"
IDENTITY = ("--issuer", "Test Exchange", "--as-of", "2025-06-30T23:59:59Z")


def batched_snapshot(users: int) -> str:
    """SNAPSHOT's three users, then solvent users up to `users`, one row each."""
    rows = [f"user{i:05d},0.001,,{i}.5" for i in range(users - 3)]
    return SNAPSHOT + "\n".join(rows) + "\n"


def prove_into(tmp: Path, snapshot: str, *options: str) -> Path:
    """Prove `snapshot` against ASSETS into tmp/out (the private store in tmp/private)."""
    (tmp / "assets.json").write_text(json.dumps(ASSETS))
    (tmp / "snapshot.csv").write_text(snapshot)
    result = CliRunner().invoke(
        main,
        ["prove", str(tmp / "snapshot.csv"), "--assets", str(tmp / "assets.json"),
         "--out", str(tmp / "out"), "--private", str(tmp / "private"), *IDENTITY, *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp / "out"


@pytest.fixture(scope="session")
def honest_proof(tmp_path_factory) -> Path:
    """A publication of one batch for SNAPSHOT, proved once per test session; the private
    store is in the sibling folder "private"."""
    return prove_into(tmp_path_factory.mktemp("honest"), SNAPSHOT)


@pytest.fixture(scope="session")
def honest_batches(tmp_path_factory) -> Path:
    """A publication of three batches of 512 rows (1,100 users: the last batch partly
    padding), with --workers 0; the private store is in the sibling folder "private"."""
    tmp = tmp_path_factory.mktemp("honest-batches")
    return prove_into(tmp, batched_snapshot(1100), "--batch-size", "512", "--workers", "0")


@pytest.fixture(params=["one batch", "three batches"])
def either_publication(request) -> Path:
    """Each honest publication in turn (not a copy: do not edit it)."""
    return request.getfixturevalue(
        "honest_proof" if request.param == "one batch" else "honest_batches"
    )


@pytest.fixture
def published(honest_proof, tmp_path) -> Path:
    """A private copy of the honest publication of one batch, to edit."""
    return Path(shutil.copytree(honest_proof, tmp_path / "out"))


@pytest.fixture
def published_either(either_publication, tmp_path) -> Path:
    """A private copy of each honest publication in turn, to edit."""
    return Path(shutil.copytree(either_publication, tmp_path / "out"))
