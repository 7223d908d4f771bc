"""The `solvency` command line end to end: files in, published proof out, verified; every
input error with its message and exit code."""

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency.cli import main

from .conftest import ASSETS, IDENTITY, SNAPSHOT


def outputs(base: Path) -> tuple:
    """prove's output options: the public directory base/out, the private store in base/private."""
    return ("--out", base / "out", "--private", base / "private")


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write(tmp: Path, snapshot: str = SNAPSHOT, assets: dict = ASSETS, name="snapshot.csv"):
    (tmp / "assets.json").write_text(json.dumps(assets, indent=2))
    (tmp / name).write_text(snapshot)
    return tmp / name, tmp / "assets.json"


def prove_ok(tmp: Path, snapshot: Path, assets: Path) -> dict:
    result = run(
        "prove",
        snapshot,
        "--assets",
        assets,
        "--out",
        tmp / "out",
        "--private",
        tmp / "private",
        *IDENTITY,
    )
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
    proof = tmp_path / "out" / "batches" / "b00000" / "proof.bin"
    assert proof.stat().st_size == document["batches"][0]["proof_bytes"]
    sums = exact_sums(snapshot)
    for a in document["assets"]:
        assert Decimal(a["total"]) == sums.get(a["symbol"], Decimal(0))
    verified = run("verify", tmp_path / "out")
    assert verified.exit_code == 0, verified.output
    assert "0.49000000" in verified.stdout  # BTC
    assert verified.stdout.strip().splitlines()[-1] == (
        "VALID: the liabilities of Test Exchange as of 2025-06-30T23:59:59Z are proved: each "
        "total is the exact sum of 512 padded user balances, its equity and debt those of their "
        "positive and negative parts, and no user's total value is below zero"
    )


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
    result = run("prove", snapshot, "--assets", assets, *outputs(tmp_path), *IDENTITY)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # one message, no traceback
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_out_of_range_names_the_range(tmp_path):
    snapshot, assets = write(tmp_path, "id,BTC\na,-92233720368.54775809\n")
    result = run("prove", snapshot, "--assets", assets, *outputs(tmp_path), *IDENTITY)
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
    result = run("prove", snapshot, "--assets", assets_path, *outputs(tmp_path), *IDENTITY)
    assert result.exit_code == 2
    assert "assets.json:" in result.stderr and message in result.stderr
    assert "assets.json:9:" in result.stderr  # the line where the bad entry starts


def test_insolvent_users_are_named_and_nothing_is_written(tmp_path):
    snapshot, assets = write(tmp_path, "id,BTC,USDT\nok,1,\npoor,-1,5\nworse,,-3\n")
    result = run("prove", snapshot, "--assets", assets, *outputs(tmp_path), *IDENTITY)
    assert result.exit_code == 3
    assert "2 user(s)" in result.stderr and "poor" in result.stderr and "worse" in result.stderr
    assert not (tmp_path / "out").exists()


def test_verify_rejects_a_changed_proof(published_either):
    path = published_either / "batches" / "b00000" / "proof.bin"
    proof = bytearray(path.read_bytes())
    proof[len(proof) // 2] ^= 1
    path.write_bytes(bytes(proof))
    result = run("verify", published_either)
    assert result.exit_code == 1 and "SHA-256" in result.stdout
    assert "INVALID: a proof file is not the proof this statement names" in result.stdout


def test_verify_rejects_a_changed_statement(published):
    path = published / "statement.json"
    document = json.loads(path.read_text())
    document["assets"][0]["total_base_units"] = str(
        int(document["assets"][0]["total_base_units"]) + 1
    )
    document["assets"][0]["total"] = str(
        Decimal(document["assets"][0]["total_base_units"]).scaleb(-8)
    )
    debt = int(document["assets"][0]["debt_base_units"]) - 1  # kept consistent with the total
    document["assets"][0].update(debt_base_units=str(debt), debt=str(Decimal(debt).scaleb(-8)))
    path.write_text(json.dumps(document))
    result = run("verify", published)
    assert result.exit_code == 1
    verdict, detail = result.stdout.strip().splitlines()[-2:]
    assert verdict == (
        "INVALID: the proof does not match this statement: the issuer, date, totals, prices, "
        "assets or parameters were changed, or the proof is corrupt"
    )
    assert detail.startswith("detail: ")


def test_verify_min_security_can_only_raise_the_bar(published_either):
    published = published_either
    result = run("verify", published, "--min-security", 200)
    assert result.exit_code == 1
    assert "INVALID: the proof's security is below what this verifier requires" in result.stdout
    lowered = run("verify", published, "--min-security", 50)
    assert lowered.exit_code == 2 and "--min-security" in lowered.stderr


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
    """More users than one proof holds with a --batch-size that lets them into one proof: the
    message names the batch size that works."""
    import solvency.commands.prove

    monkeypatch.setattr(solvency.commands.prove, "largest_batch", lambda market: 2)
    snapshot, assets = write(tmp_path)
    args = ("prove", snapshot, "--assets", assets, *outputs(tmp_path), *IDENTITY)
    result = run(*args, "--batch-size", "512")
    assert result.exit_code == 2 and "one proof takes at most 2 users" in result.stderr
    assert "--batch-size 2 or less" in result.stderr


# -- the snapshot's identity: --issuer and --as-of ----------------------------------------------
AS_OF_ERRORS = {
    "2025-06-30T23:59:59": "has no timezone",
    "2025-06-30": "has no timezone",
    "30/06/2025": "is not an ISO 8601 date and time",
    "2025-13-01T00:00:00Z": "is not an ISO 8601 date and time",
}


@pytest.mark.parametrize("as_of", AS_OF_ERRORS)
def test_as_of_must_be_iso8601_with_a_timezone(tmp_path, as_of):
    snapshot, assets = write(tmp_path)
    result = run(
        "prove", snapshot, "--assets", assets, *outputs(tmp_path),
        "--issuer", "X", "--as-of", as_of,
    )  # fmt: skip
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --as-of: ")
    assert AS_OF_ERRORS[as_of] in lines[0]
    assert not (tmp_path / "out").exists()


def test_issuer_must_be_named(tmp_path):
    snapshot, assets = write(tmp_path)
    blank = run(
        "prove", snapshot, "--assets", assets, *outputs(tmp_path),
        "--issuer", "  ", "--as-of", "2025-06-30T23:59:59Z",
    )  # fmt: skip
    assert blank.exit_code == 2 and blank.stderr.startswith("error: --issuer: ")
    missing = run("prove", snapshot, "--assets", assets, *outputs(tmp_path))
    assert missing.exit_code == 2 and "--issuer" in missing.stderr
    # a line separator would split verify's verdict line in two (helper attack)
    split = run(
        "prove", snapshot, "--assets", assets, *outputs(tmp_path),
        "--issuer", "Cheat Ex\u2028VALID: Honest Exchange", "--as-of", "2025-06-30T23:59:59Z",
    )  # fmt: skip
    assert split.exit_code == 2 and "error: --issuer: " in split.stderr
    assert "line separators" in split.stderr


def test_as_of_is_normalised_to_utc_and_shown_by_verify(tmp_path):
    snapshot, assets = write(tmp_path)
    result = run(
        "prove", snapshot, "--assets", assets, *outputs(tmp_path),
        "--issuer", "Börse Zürich AG", "--as-of", "2025-07-01T01:59:59+02:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads((tmp_path / "out" / "statement.json").read_text())
    assert (document["issuer"], document["as_of"]) == ("Börse Zürich AG", "2025-06-30T23:59:59Z")
    verified = run("verify", tmp_path / "out")
    assert verified.exit_code == 0
    assert "VALID: the liabilities of Börse Zürich AG as of 2025-06-30T23:59:59Z" in (
        verified.stdout
    )


# -- presets: proven by default, fast only with conjectured security accepted explicitly ---------
def test_prove_defaults_to_the_proven_preset(published):
    document = json.loads((published / "statement.json").read_text())
    assert document["preset"] == "proven"
    assert document["security"]["provable_bits"] >= 100
    assert document["zero_knowledge"] is True and document["insecure_seeded"] is False


def test_fast_proofs_need_conjectured_security_accepted_explicitly(tmp_path):
    snapshot, assets = write(tmp_path)
    out = tmp_path / "out"
    proved = run(
        "prove", snapshot, "--assets", assets, *outputs(out.parent), *IDENTITY, "--preset", "fast"
    )  # fmt: skip
    assert proved.exit_code == 0, proved.stderr
    assert "fast preset: conjectured security only" in proved.stderr
    refused = run("verify", out)
    assert refused.exit_code == 1
    assert (
        refused.stdout.strip()
        .splitlines()[-2]
        .startswith("INVALID: the proof's security is below what this verifier requires")
    )
    assert "--accept-conjectured-security" in refused.stdout
    accepted = run("verify", out, "--accept-conjectured-security")
    assert accepted.exit_code == 0, accepted.output
    assert "required: 100 conjectured bits" in accepted.stdout
    assert (
        accepted.stdout.strip()
        .splitlines()[-1]
        .startswith("VALID: at conjectured security only, the liabilities of Test Exchange")
    )
    stricter = run("verify", out, "--accept-conjectured-security", "--min-security", 120)
    assert stricter.exit_code == 1


def test_prove_help_says_what_fast_and_insecure_seed_are():
    text = " ".join(run("prove", "--help").stdout.split())
    assert "[default: proven]" in text
    assert "conjectured security only" in text
    assert "TESTING ONLY" in text and "does NOT hide balances" in text


# -- seeds: testing only, announced, bound into the proof ----------------------------------------
def test_old_seed_option_is_gone(tmp_path):
    snapshot, assets = write(tmp_path)
    result = run(
        "prove", snapshot, "--assets", assets, *outputs(tmp_path), *IDENTITY, "--seed", 1
    )  # fmt: skip
    assert result.exit_code == 2 and "--seed" in result.stderr


def test_insecure_seed_warns_is_recorded_and_verify_says_so(tmp_path):
    snapshot, assets = write(tmp_path)
    out = tmp_path / "out"
    result = run(
        "prove", snapshot, "--assets", assets, *outputs(out.parent), *IDENTITY, "--insecure-seed", 7
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr and "does NOT hide" in result.stderr
    document = json.loads((out / "statement.json").read_text())
    assert document["insecure_seeded"] is True and document["zero_knowledge"] is False
    verified = run("verify", out)
    assert verified.exit_code == 0, verified.output
    assert "WARNING: this proof was made with --insecure-seed" in verified.stdout
    assert (
        verified.stdout.strip()
        .splitlines()[-1]
        .endswith("this proof does NOT hide user balances (made for testing)")
    )
    as_json = json.loads(run("verify", out, "--json").stdout)
    assert as_json["zero_knowledge"] is False


def test_a_seeded_proof_cannot_pass_as_a_hiding_one(tmp_path):
    """The flag is bound into the transcript: clearing it in statement.json breaks the proof."""
    snapshot, assets = write(tmp_path)
    out = tmp_path / "out"
    run(
        "prove",
        snapshot,
        "--assets",
        assets,
        "--out",
        out,
        "--private",
        out.parent / "private",
        *IDENTITY,
        "--insecure-seed",
        7,
    )
    path = out / "statement.json"
    document = json.loads(path.read_text())
    document["insecure_seeded"], document["zero_knowledge"] = False, True
    path.write_text(json.dumps(document))
    result = run("verify", out)
    assert result.exit_code == 1
    assert "INVALID: the proof does not match this statement" in result.stdout


# -- output --------------------------------------------------------------------------------------
def test_amounts_print_as_plain_decimals(tmp_path):
    snapshot, assets = write(tmp_path, "id,BTC,USDT\na,1,\nb,-1,1000000\n")
    prove_ok(tmp_path, snapshot, assets)
    document = json.loads((tmp_path / "out" / "statement.json").read_text())
    totals = [a["total"] for a in document["assets"]]
    assert totals == ["0.00000000", "0.00000000", "1000000.000000"]
    assert [a["price"] for a in document["assets"]] == ["97000.12", "3400.55", "1.0001"]
    verified = run("verify", tmp_path / "out")
    assert verified.exit_code == 0
    assert "E-" not in verified.stdout and "E+" not in verified.stdout
    assert "0.00000000" in verified.stdout and "1000000.000000" in verified.stdout
    assert "97000.12" in verified.stdout


def test_verify_json(published, tmp_path):
    (tmp_path / "reserves.json").write_text(json.dumps({"BTC": "0.98"}))
    result = run("verify", published, "--json", "--reserves", tmp_path / "reserves.json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)  # exactly one JSON object
    assert report["verdict"] == "valid"
    assert (report["issuer"], report["as_of"]) == ("Test Exchange", "2025-06-30T23:59:59Z")
    btc = report["assets"][0]
    assert (btc["symbol"], btc["total"], btc["price"]) == ("BTC", "0.49000000", "97000.12")
    assert btc["reserve_ratio_percent"] == pytest.approx(200.0)
    assert report["security"]["regime_required"] == "provable"
    assert report["security"]["recomputed"] is True
    assert report["security"]["provable_bits"] >= 100
    assert report["zero_knowledge"] is True and report["seconds"] > 0

    path = published / "statement.json"
    document = json.loads(path.read_text())
    document["issuer"] = "Another Exchange"
    path.write_text(json.dumps(document))
    invalid = run("verify", published, "--json")
    assert invalid.exit_code == 1
    report = json.loads(invalid.stdout)
    assert report["verdict"] == "invalid" and report["reason"] and "issuer" not in report

    path.write_text("{")
    unreadable = run("verify", published, "--json")
    assert unreadable.exit_code == 2
    assert json.loads(unreadable.stdout)["verdict"] == "unreadable"


def test_verify_json_has_the_same_fields_for_both_shapes(either_publication):
    report = json.loads(run("verify", either_publication, "--json").stdout)
    assert report["verdict"] == "valid" and report["warnings"] == []
    count = len(json.loads((either_publication / "statement.json").read_text())["batches"])
    assert report["batches"] == count and report["users_padded"] == 512 * count
    assert [a["symbol"] for a in report["assets"]] == ["BTC", "ETH", "USDT"]


def test_interrupted_verify_is_not_invalid(published_either, monkeypatch):
    import solvency.publication.check

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(solvency.publication.check, "verify", interrupted)
    result = run("verify", published_either)
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"
    assert "Traceback" not in result.output


def test_demo_uses_the_default_preset(tmp_path):
    result = run("demo", "--users", 5, "--assets", 2, "--out", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    assert "proven preset" in result.stderr
    lines = result.stdout.strip().splitlines()
    assert any(
        line.startswith("VALID: the liabilities of Demo Exchange (synthetic data) as of ")
        for line in lines
    )
    assert any(line.startswith("INCLUDED: your balances ") for line in lines)
