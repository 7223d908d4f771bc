"""`verify --reference-prices`: a proof holds at the prices the exchange published, so a
verifier brings prices it trusts and every published price too far from them is flagged by
name, in text and in --json, on publications of one batch and of several (issue 17, part 3)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency.cli import main

from .conftest import ASSETS, IDENTITY

#: the honest publications' prices: BTC 97000.12, ETH 3400.55, USDT 1.0001
HONEST = {"BTC": "97000.12", "ETH": "3400.55", "USDT": "1.0001"}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def reference(tmp_path: Path, prices: dict[str, str], quote: str = "USD") -> Path:
    path = tmp_path / "reference.json"
    assets = [{"symbol": s, "decimals": 8, "price": p} for s, p in prices.items()]
    path.write_text(json.dumps({"quote": quote, "assets": assets}))
    return path


def report(publication: Path, ref: Path, *options) -> dict:
    result = run("verify", publication, "--reference-prices", ref, "--json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_prices_at_the_reference_are_not_flagged(either_publication, tmp_path):
    got = report(either_publication, reference(tmp_path, HONEST))
    assert got["prices_flagged"] == [] and got["warnings"] == []
    assert [a["deviation_percent"] for a in got["assets"]] == [0, 0, 0]


def test_a_price_off_the_reference_is_flagged(either_publication, tmp_path):
    """BTC published at 97000.12 against a reference of 60000: +61.67%, flagged by name in
    the verdict, a WARNING line and --json; still VALID (the proof holds, at that price)."""
    ref = reference(tmp_path, dict(HONEST, BTC="60000"))
    got = report(either_publication, ref)
    assert got["verdict"] == "valid" and got["prices_flagged"] == ["BTC"]
    btc = got["assets"][0]
    assert btc["price_flagged"] is True and btc["reference_price"] == "60000"
    assert btc["deviation_percent"] == pytest.approx(61.6669, abs=1e-4)
    assert "BTC (+61.67%)" in got["warnings"][0] and got["message"].endswith("flag: BTC")
    text = run("verify", either_publication, "--reference-prices", ref)
    assert text.exit_code == 0
    assert "FLAGGED" in text.stdout and "WARNING: published prices that deviate" in text.stdout
    assert text.stdout.strip().splitlines()[-1].startswith("VALID: ")
    assert report(either_publication, ref, "--max-deviation", "62")["prices_flagged"] == []


def test_the_bound_is_exact(honest_proof, tmp_path):
    """USDT published at 1.0001 against 1: exactly 0.01%. A bound of 0.01 does not flag it; a
    bound below it by 10^-34, which rounding at 28 digits (or a float) would call equal,
    does."""
    ref = reference(tmp_path, dict(HONEST, USDT="1"))
    assert report(honest_proof, ref, "--max-deviation", "0.01")["prices_flagged"] == []
    below = "0.0099999999999999999999999999999999"
    assert report(honest_proof, ref, "--max-deviation", below)["prices_flagged"] == ["USDT"]


def test_an_asset_without_a_reference_is_flagged(either_publication, tmp_path):
    got = report(either_publication, reference(tmp_path, {"BTC": "97000.12", "USDT": "1"}))
    assert got["prices_flagged"] == ["ETH"]
    assert "ETH (no reference price)" in got["warnings"][0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: reference(p, HONEST, quote="EUR"), "quote: prices in EUR, the publication's"),
        (lambda p: p / "missing.json", "missing.json: no such file"),
        (lambda p: (p / "bad.json").write_text("{") and p / "bad.json", "bad.json"),
    ],
)
def test_a_reference_file_that_cannot_be_used(honest_proof, tmp_path, make, message):
    result = run("verify", honest_proof, "--reference-prices", make(tmp_path))
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("bound", ["-1", "nan", "1e1", "1001", "five"])
def test_a_bound_that_is_not_a_percentage(honest_proof, tmp_path, bound):
    result = run(
        "verify", honest_proof, "--reference-prices", reference(tmp_path, HONEST),
        "--max-deviation", bound,
    )  # fmt: skip
    assert result.exit_code == 2 and "--max-deviation" in result.stderr


def test_the_mispriced_asset_attack(tmp_path):
    """The attack: the exchange prices JUNK high and adds a user it invented holding -1 BTC
    and enough JUNK to look solvent. The proof is valid and, without reference prices, verify
    says VALID with no warning at all (the control). With the market's prices, JUNK is
    flagged by name."""
    assets = json.loads(json.dumps(ASSETS))
    assets["assets"].append({"symbol": "JUNK", "decimals": 8, "price": "50000"})
    snapshot = "id,BTC,ETH,USDT,JUNK\nalice,0.5,,1250.75,\nbob,,24.99,-1872.4,\nghost,-1,,,2.1\n"
    (tmp_path / "assets.json").write_text(json.dumps(assets))
    (tmp_path / "snapshot.csv").write_text(snapshot)
    out = tmp_path / "out"
    proved = run(
        "prove", tmp_path / "snapshot.csv", "--assets", tmp_path / "assets.json", "--out", out,
        "--private", tmp_path / "private", *IDENTITY,
    )  # fmt: skip
    assert proved.exit_code == 0, proved.output
    control = json.loads(run("verify", out, "--json").stdout)
    assert control["verdict"] == "valid" and control["warnings"] == []
    ref = reference(tmp_path, dict(HONEST, JUNK="0.001"))
    got = report(out, ref)
    assert got["prices_flagged"] == ["JUNK"] and "JUNK (+4999999900.00%)" in got["warnings"][0]
