"""The dummy-user attack (issue 17), end to end through `prove` and `verify`.

An exchange short of BTC adds made-up users, each owing BTC against an asset they "hold", at
a net value of 0. Before format 2 this verified VALID and the missing BTC vanished into the
other asset's liabilities. Now (a) against a token whose haircut table counts it at 0%, `prove`
refuses them, and a cheating prover that publishes them anyway is rejected by `verify`; (b)
against USDT at 100% nothing refuses them (the debt is real on the books), but the published
BTC debt rises by exactly their debt, in one batch and across batches."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits import solvency as circuit
from circuits.solvency import Insolvent
from solvency.cli import main
from stark import prover

from .conftest import IDENTITY

FAKES = 10
FAKE_BTC = Decimal("1.55926326")  # each fake user's debt
BTC_BASE_UNITS = 10**8


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assets_file(tmp: Path, junk_table: list | None) -> Path:
    junk = {"symbol": "JUNK", "decimals": 0, "price": "1000"}
    if junk_table is not None:
        junk["haircut"] = junk_table
    document = {
        "quote": "USD",
        "assets": [
            {"symbol": "BTC", "decimals": 8, "price": "97000"},
            {"symbol": "USDT", "decimals": 6, "price": "1"},
            junk,
        ],
    }
    path = tmp / "assets.json"
    path.write_text(json.dumps(document))
    return path


def snapshot(tmp: Path, users: int, fakes: str | None) -> Path:
    """`users` honest users holding BTC and USDT, then FAKES made-up ones owing FAKE_BTC each
    against USDT or JUNK worth as much (net value >= 0 at the published prices)."""
    lines = ["id,BTC,USDT,JUNK"]
    lines += [f"user-{i},0.{i + 1:08d},{100 + i}," for i in range(users)]
    debt_usd = FAKE_BTC * 97000
    for i in range(FAKES):
        if fakes == "USDT":
            lines.append(f"fake-{i},-{FAKE_BTC},{debt_usd},")
        elif fakes == "JUNK":
            lines.append(f"fake-{i},-{FAKE_BTC},,{int(debt_usd / 1000) + 1}")
    path = tmp / f"snapshot-{fakes}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def prove(tmp: Path, name: str, snap: Path, assets: Path, *options) -> tuple[int, str, Path]:
    out = tmp / name
    result = run(
        "prove", snap, "--assets", assets, "--out", out, "--private", tmp / f"{name}-private",
        "--preset", "fast", *IDENTITY, *options,
    )  # fmt: skip
    return result.exit_code, result.output, out


def verify(out: Path) -> tuple[int, dict]:
    result = run("verify", out, "--accept-conjectured-security", "--json")
    return result.exit_code, json.loads(result.stdout)


def debt_of(report: dict, symbol: str) -> Decimal:
    return next(Decimal(a["debt"]) for a in report["assets"] if a["symbol"] == symbol)


@pytest.fixture
def cheating_prover(monkeypatch):
    """The witness builder's rule check and the prover's self-check both off: the trace is
    built as if every user met the rule, and proved as it is."""
    original_value, original_prove = circuit._user_value, prover.prove

    def lenient(*args):
        with contextlib.suppress(Insolvent):
            original_value(*args)

    monkeypatch.setattr(circuit, "_user_value", lenient)
    monkeypatch.setattr(prover, "prove", lambda *a, **k: original_prove(*a, **dict(k, check=False)))


ILLIQUID = [{"percent": 0}]


def test_fake_users_against_an_illiquid_token_are_refused(tmp_path):
    code, output, out = prove(
        tmp_path, "pub", snapshot(tmp_path, 20, "JUNK"), assets_file(tmp_path, ILLIQUID)
    )
    assert code == 3, output
    flat = " ".join(output.split())
    assert "10 user(s) have debts worth more than their collateral after the haircuts" in flat
    assert "fake-0" in flat and not out.exists()
    # control: without the table (JUNK at 100%) the same fake users are accepted
    code, output, _ = prove(
        tmp_path, "control", snapshot(tmp_path, 20, "JUNK"), assets_file(tmp_path, None)
    )
    assert code == 0, output


@pytest.mark.parametrize("batched", [False, True])
def test_a_cheating_prover_publishing_them_is_rejected(tmp_path, cheating_prover, batched):
    options = ("--batch-size", "512") if batched else ()
    users = 1100 if batched else 20  # with batches, the fake users land in the last batch
    code, output, out = prove(
        tmp_path, "pub", snapshot(tmp_path, users, "JUNK"), assets_file(tmp_path, ILLIQUID),
        *options,
    )  # fmt: skip
    assert code == 0, output  # published: the cheating prover checked nothing
    code, report = verify(out)
    assert code == 1 and report["verdict"] == "invalid", report
    # control: the same cheating prover on honest users publishes what verifies
    code, output, honest = prove(
        tmp_path, "honest", snapshot(tmp_path, users, None), assets_file(tmp_path, ILLIQUID),
        *options,
    )  # fmt: skip
    assert code == 0, output
    assert verify(honest)[0] == 0


@pytest.mark.parametrize("batched", [False, True])
def test_fake_users_against_usdt_show_in_the_btc_debt(tmp_path, batched):
    """Accepted (USDT counts at 100%, as it should), but D_BTC rises by exactly the fake
    users' debt, and E_BTC not at all: the shortfall is in the published figures."""
    options = ("--batch-size", "512") if batched else ()
    users = 1100 if batched else 20
    assets = assets_file(tmp_path, ILLIQUID)
    reports = {}
    for fakes in (None, "USDT"):
        code, output, out = prove(
            tmp_path, f"pub-{fakes}", snapshot(tmp_path, users, fakes), assets, *options
        )
        assert code == 0, output
        code, reports[fakes] = verify(out)
        assert code == 0 and reports[fakes]["verdict"] == "valid"
    added = debt_of(reports["USDT"], "BTC") - debt_of(reports[None], "BTC")
    assert added == FAKES * FAKE_BTC
    equity = [
        next(a["equity"] for a in r["assets"] if a["symbol"] == "BTC") for r in reports.values()
    ]
    assert equity[0] == equity[1]
