"""One honest published proof (default preset) shared by the command-line tests, which copy it
before editing it: proving once keeps the suite fast."""

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


@pytest.fixture(scope="session")
def honest_proof(tmp_path_factory) -> Path:
    """proof.bin, leaves.bin and statement.json for SNAPSHOT, proved once per test session; the
    private store is in the sibling folder "private"."""
    tmp = tmp_path_factory.mktemp("honest")
    (tmp / "assets.json").write_text(json.dumps(ASSETS))
    (tmp / "snapshot.csv").write_text(SNAPSHOT)
    result = CliRunner().invoke(
        main,
        ["prove", str(tmp / "snapshot.csv"), "--assets", str(tmp / "assets.json"),
         "--out", str(tmp / "out"), "--private", str(tmp / "private"), *IDENTITY],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return tmp / "out"


@pytest.fixture
def published(honest_proof, tmp_path) -> Path:
    """A private copy of the honest proof directory, to edit."""
    return Path(shutil.copytree(honest_proof, tmp_path / "out"))
