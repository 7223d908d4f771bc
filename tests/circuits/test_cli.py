"""The `solvency` command line end to end: files in, published proof out, verified; every
input error with its message and exit code."""

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits.cli import main

ASSETS = {
    "quote": "USD",
    "assets": [
        {"symbol": "BTC", "decimals": 8, "price": "97000.12"},
        {"symbol": "ETH", "decimals": 8, "price": "3400.55"},
        {"symbol": "USDT", "decimals": 6, "price": "1.0001"},
    ],
}
SNAPSHOT = "id,BTC,ETH,USDT\nalice,0.5,,1250.75\nbob,,24.99,-1872.4\ncarol,-0.01,1,\n"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write(tmp: Path, snapshot: str = SNAPSHOT, assets: dict = ASSETS, name="snapshot.csv"):
    (tmp / "assets.json").write_text(json.dumps(assets, indent=2))
    (tmp / name).write_text(snapshot)
    return tmp / name, tmp / "assets.json"


def prove_ok(tmp: Path, snapshot: Path, assets: Path) -> dict:
    result = run("prove", snapshot, "--assets", assets, "--out", tmp / "out", "--seed", 1)
    assert result.exit_code == 0, result.stderr
    return json.loads((tmp / "out" / "statement.json").read_text())


def exact_sums(snapshot: Path) -> dict[str, Decimal]:
    """Independent reference: sum every column with Python's Decimal."""
    with snapshot.open() as fh:
        rows = list(csv.DictReader(fh))
    return {c: sum((Decimal(r[c]) for r in rows if r[c]), Decimal(0)) for c in rows[0] if c != "id"}


def test_round_trip_and_exact_totals(tmp_path):
    snapshot, assets = write(tmp_path)
    document = prove_ok(tmp_path, snapshot, assets)
    assert (tmp_path / "out" / "proof.bin").stat().st_size == document["proof_bytes"]
    sums = exact_sums(snapshot)
    for a in document["assets"]:
        assert Decimal(a["total"]) == sums.get(a["symbol"], Decimal(0))
    verified = run("verify", tmp_path / "out")
    assert verified.exit_code == 0, verified.stderr
    assert "valid proof" in verified.stderr and "0.49000000" in verified.stdout  # BTC


@pytest.mark.parametrize("users", [1, 700])
def test_round_trip_sizes(tmp_path, users):
    lines = ["id,BTC,USDT"] + [f"u{i},0.0001,{i}.5" for i in range(users)]
    snapshot, assets = write(tmp_path, "\n".join(lines) + "\n")
    document = prove_ok(tmp_path, snapshot, assets)
    assert document["users_padded"] == max(512, 1 << (users - 1).bit_length())
    assert run("verify", tmp_path / "out").exit_code == 0


def test_64_assets(tmp_path):
    assets = {
        "quote": "USD",
        "assets": [
            {"symbol": f"A{j:02d}", "decimals": 8, "price": f"{j + 1}.5"} for j in range(64)
        ],
    }
    header = "id," + ",".join(a["symbol"] for a in assets["assets"])
    rows = [f"u{i}," + ",".join(f"{(i + j) % 7}.25" for j in range(64)) for i in range(5)]
    snapshot, assets_path = write(tmp_path, "\n".join([header, *rows]) + "\n", assets)
    prove_ok(tmp_path, snapshot, assets_path)
    assert run("verify", tmp_path / "out").exit_code == 0


def test_json_snapshot(tmp_path):
    data = [{"id": "alice", "BTC": "0.5"}, {"id": "bob", "ETH": "2", "USDT": "-100"}]
    snapshot, assets = write(tmp_path, json.dumps(data, indent=1), name="snapshot.json")
    document = prove_ok(tmp_path, snapshot, assets)
    assert [a["total"] for a in document["assets"]] == ["0.50000000", "2.00000000", "-100.000000"]


ERRORS = {
    "unknown symbol": ("id,BTC,DOGE\na,1,2\n", "snapshot.csv:1: DOGE: unknown asset symbol"),
    "duplicate id": ("id,BTC\na,1\nb,2\na,3\n", "snapshot.csv:4: id: duplicate user id 'a'"),
    "empty id": ("id,BTC\na,1\n ,2\n", "snapshot.csv:3: id: empty user id"),
    "not a number": ("id,BTC\na,1\nb,1e5\n", "snapshot.csv:3: BTC: not a number: '1e5'"),
    "too many decimals": (
        "id,USDT\na,1.0000001\n",
        "snapshot.csv:2: USDT: '1.0000001' has more than 6 decimals",
    ),
    "out of range": ("id,BTC\na,92233720368.54775808\n", "snapshot.csv:2: BTC: "),
    "first column": ("BTC,id\n1,a\n", "snapshot.csv:1: id: the first column must be 'id'"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_snapshot_input_errors(tmp_path, case):
    text, message = ERRORS[case]
    snapshot, assets = write(tmp_path, text)
    result = run("prove", snapshot, "--assets", assets, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # one message, no traceback
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_out_of_range_names_the_range(tmp_path):
    snapshot, assets = write(tmp_path, "id,BTC\na,-92233720368.54775809\n")
    result = run("prove", snapshot, "--assets", assets, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "outside the supported range" in result.stderr


ASSET_ERRORS = {
    "missing price": ({"symbol": "BTC", "decimals": 8}, "BTC.price: missing price"),
    "bad price": ({"symbol": "BTC", "decimals": 8, "price": "abc"}, "BTC.price: not a decimal"),
    "negative price": ({"symbol": "BTC", "decimals": 8, "price": "-1"}, "cannot be negative"),
    "bad decimals": ({"symbol": "BTC", "decimals": -1, "price": "1"}, "BTC.decimals"),
    "bad symbol": ({"symbol": "B TC", "decimals": 8, "price": "1"}, "invalid asset symbol"),
}


@pytest.mark.parametrize("case", ASSET_ERRORS)
def test_assets_file_errors(tmp_path, case):
    entry, message = ASSET_ERRORS[case]
    assets = {"quote": "USD", "assets": [{"symbol": "ETH", "decimals": 8, "price": "1"}, entry]}
    snapshot, assets_path = write(tmp_path, "id,ETH\na,1\n", assets)
    result = run("prove", snapshot, "--assets", assets_path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "assets.json:" in result.stderr and message in result.stderr
    assert "assets.json:9:" in result.stderr  # the line where the bad entry starts


def test_insolvent_users_are_named_and_nothing_is_written(tmp_path):
    snapshot, assets = write(tmp_path, "id,BTC,USDT\nok,1,\npoor,-1,5\nworse,,-3\n")
    result = run("prove", snapshot, "--assets", assets, "--out", tmp_path / "out")
    assert result.exit_code == 3
    assert "2 user(s)" in result.stderr and "poor" in result.stderr and "worse" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture
def published(tmp_path) -> Path:
    snapshot, assets = write(tmp_path)
    prove_ok(tmp_path, snapshot, assets)
    return tmp_path / "out"


def test_verify_rejects_a_changed_proof(published):
    proof = bytearray((published / "proof.bin").read_bytes())
    proof[len(proof) // 2] ^= 1
    (published / "proof.bin").write_bytes(bytes(proof))
    result = run("verify", published)
    assert result.exit_code == 1 and "SHA-256" in result.stderr


def test_verify_rejects_a_changed_statement(published):
    path = published / "statement.json"
    document = json.loads(path.read_text())
    document["assets"][0]["total_base_units"] = str(
        int(document["assets"][0]["total_base_units"]) + 1
    )
    document["assets"][0]["total"] = str(
        Decimal(document["assets"][0]["total_base_units"]).scaleb(-8)
    )
    path.write_text(json.dumps(document))
    result = run("verify", published)
    assert result.exit_code == 1 and "invalid proof" in result.stderr


def test_verify_refuses_low_security(published):
    result = run("verify", published, "--min-security", 200)
    assert result.exit_code == 1 and "below the required" in result.stderr


def test_verify_unreadable_input(tmp_path, published):
    assert run("verify", tmp_path / "nothing").exit_code == 2
    (published / "statement.json").write_text("{not json")
    result = run("verify", published)
    assert result.exit_code == 2 and "statement.json:1" in result.stderr


def test_reserves_and_ratios(tmp_path, published):
    (tmp_path / "reserves.json").write_text(json.dumps({"BTC": "0.98", "ETH": "30"}))
    result = run("verify", published, "--reserves", tmp_path / "reserves.json")
    assert result.exit_code == 0
    assert "200.0%" in result.stdout  # BTC: 0.98 / 0.49
    assert "115.4%" in result.stdout  # ETH: 30 / 25.99


def test_generate_then_prove(tmp_path):
    """Generated snapshots: real symbols first, about 10% of users with a negative balance,
    everyone solvent (so proving succeeds)."""
    result = run("generate", "--users", 600, "--assets", 25, "--seed", 3, "--out", tmp_path)
    assert result.exit_code == 0, result.stderr
    assets = json.loads((tmp_path / "assets.json").read_text())["assets"]
    assert [a["symbol"] for a in assets[:4]] == ["BTC", "ETH", "USDT", "USDC"]
    assert len(assets) == 25 and assets[-1]["symbol"] == "TKN025"
    with (tmp_path / "snapshot.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    negative = sum(any(v.startswith("-") for v in r.values()) for r in rows)
    assert len(rows) == 600 and 0.05 < negative / 600 < 0.15
    prove_ok(tmp_path, tmp_path / "snapshot.csv", tmp_path / "assets.json")


def test_too_many_users_is_refused_plainly(tmp_path, monkeypatch):
    import circuits.cli

    monkeypatch.setattr(circuits.cli, "MAX_TRACE_LEN", 2)
    snapshot, assets = write(tmp_path)
    result = run("prove", snapshot, "--assets", assets, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "exceed one proof's capacity" in result.stderr
