"""`solvency generate`'s haircut tables (issue 17): realistic tables, and every generated user
meets the collateral rule under the tables written, exactly:

    sum_j P_j * 100 * debt_ij  <=  sum_j P_j * H_j(equity_ij)

with the integer prices of `Assets.market()` and H = `Tiers.scaled_haircut` (100 * haircut),
in Python integers: no rounding anywhere."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.haircut import BALANCE_LIMIT, Tier, Tiers, check_table
from solvency.cli import main
from solvency.generate import (
    MAX_BALANCE,
    TIERS_USD,
    asset_class,
    generate,
    haircut_table,
    round_coins,
    scaled_haircuts,
    write,
)
from solvency.snapshot import load_assets, load_snapshot


def generated_files(tmp_path: Path, users: int, assets: int, seed: int, haircuts: bool):
    """The files `generate` writes, read back as `prove` reads them: (Assets, Snapshot)."""
    assets_path, snapshot_path = write(generate(users, assets, seed, haircuts), tmp_path)
    loaded = load_assets(assets_path)
    return loaded, load_snapshot(snapshot_path, loaded)


def rule_sides(assets, balances: np.ndarray) -> tuple[list[int], list[int]]:
    """Per user: (100 * the debts' value, the value the equity counts for after haircuts, times
    100), both in quote units * 10^scale * 100, exact."""
    market = assets.market()
    tiers = [
        None if t is None else Tiers.of(t, d)
        for t, d in zip(
            market.haircuts or (None,) * len(market.symbols), market.decimals, strict=True
        )
    ]
    debts, counted = [], []
    for row in balances:
        debt = collateral = 0
        for j in np.flatnonzero(row):
            x, price = int(row[j]), market.prices[j]
            if x < 0:
                debt += price * 100 * -x
            else:
                collateral += price * (100 * x if tiers[j] is None else tiers[j].scaled_haircut(x))
        debts.append(debt)
        counted.append(collateral)
    return debts, counted


@pytest.mark.parametrize("haircuts", [True, False], ids=["tables", "no tables"])
@pytest.mark.parametrize(
    ("users", "assets", "seed"),
    [(3000, 22, 0), (2000, 3, 1), (1500, 40, 7), (800, 200, 3), (64, 2, 5), (50, 1, 2)],
)
def test_every_generated_user_meets_the_rule_exactly(tmp_path, users, assets, seed, haircuts):
    loaded, snapshot = generated_files(tmp_path, users, assets, seed, haircuts)
    assert (loaded.market().haircuts != ()) == haircuts
    debts, counted = rule_sides(loaded, snapshot.balances)
    broken = [snapshot.ids[i] for i, (d, c) in enumerate(zip(debts, counted, strict=True)) if d > c]
    assert broken == []
    borrowers = sum(d > 0 for d in debts)
    if assets > 1:  # about 10% borrow (fewer at 200 assets: some hold only illiquid tokens)
        assert 0.06 * users < borrowers < 0.14 * users or users < 500
        # the rule is not slack everywhere: some borrow more than half of what they could
        assert any(2 * d > c for d, c in zip(debts, counted, strict=True))
    else:
        assert borrowers == 0


def test_debts_are_sized_against_what_the_collateral_counts_for(tmp_path):
    """No borrower owes more than 60% of what their holdings count for after haircuts (the
    loan is 10-60% of one of them)."""
    loaded, snapshot = generated_files(tmp_path, 4000, 22, 11, True)
    debts, counted = rule_sides(loaded, snapshot.balances)
    ratios = [d / c for d, c in zip(debts, counted, strict=True) if d]
    assert len(ratios) > 300 and max(ratios) <= 0.6 + 1e-9


def test_generated_tables_are_realistic():
    spec = generate(10, 200, 0).assets
    tables = {a["symbol"]: a.get("haircut") for a in spec}
    assert all(t is not None for t in tables.values())  # every class has a table
    for symbol in ("BTC", "ETH", "USDT", "USDC"):
        assert tables[symbol][0]["percent"] == 100 and tables[symbol][-1]["percent"] >= 80
    assert tables["BTC"][0] == {"up_to": "10", "percent": 100}  # 1M USD at 97,000.12
    assert tables["SOL"][0]["percent"] == 90 and tables["OKB"][0]["percent"] == 70
    illiquid = [s for s, t in tables.items() if t == [{"percent": 0}]]
    assert len(illiquid) == 89 and illiquid[-1] == "TKN200"  # the second half of 178 tokens
    assert tables["TKN023"][0]["percent"] == 70  # the first synthetic ones are small caps


def test_no_haircuts_writes_no_tables(tmp_path):
    loaded, _ = generated_files(tmp_path, 20, 25, 0, False)
    assert all(a.haircut is None for a in loaded.assets) and loaded.market().haircuts == ()
    assert "haircut" not in (tmp_path / "assets.json").read_text()


def test_the_same_seed_gives_the_same_files():
    assert np.array_equal(generate(500, 22, 4).balances, generate(500, 22, 4, True).balances)
    assert generate(500, 22, 4).assets == generate(500, 22, 4).assets


@pytest.mark.parametrize("kind", list(TIERS_USD))
@pytest.mark.parametrize(
    "price", ["0.000001", "0.00002412", "0.2", "1", "3.7", "690.4", "97000.12", "160000", "9e6"]
)
@pytest.mark.parametrize("decimals", [0, 4, 8, 18])
def test_every_table_is_valid_at_any_price(kind, price, decimals):
    table = haircut_table(kind, Decimal(price), decimals)
    if table is None:  # only the first tier, at 100%, is left: its boundary is past 2^63
        assert kind in ("stablecoin", "major") and decimals >= 8
        return
    check_table(table, decimals)
    assert [t.percent for t in table] == sorted((t.percent for t in table), reverse=True)
    assert {t.percent for t in table} <= {p for _, p in TIERS_USD[kind]}


def test_a_boundary_past_2_63_base_units_makes_its_tier_the_open_one():
    """At 0.0001 USD and 8 decimals, 20M USD is 2 * 10^19 base units: the 90% tier is open.
    At 18 decimals even 1M USD is past 2^63: the table would be 100% alone, which is none."""
    table = haircut_table("major", Decimal("0.0001"), 8)
    assert table == (Tier(10**10, 100), Tier(5 * 10**10, 95), Tier(None, 90))
    assert all(t.up_to * 10**8 <= BALANCE_LIMIT for t in table[:-1])
    assert haircut_table("stablecoin", Decimal("0.0001"), 18) is None


@pytest.mark.parametrize(
    ("coins", "rounded"),
    [(0.2, 1), (1.4, 1), (1.6, 2), (3.16, 2), (3.17, 5), (10.3, 10), (51.5, 50), (294, 200)],
)
def test_boundaries_are_round_numbers_of_coins(coins, rounded):
    assert round_coins(coins) == rounded


def test_asset_classes():
    assert [asset_class(j, s, 22) for j, s in enumerate(["BTC", "ETH", "USDT"])] == [
        "major",
        "major",
        "stablecoin",
    ]
    assert asset_class(4, "XRP", 22) == "mid cap" and asset_class(21, "OKB", 22) == "small cap"
    assert [asset_class(j, f"TKN{j + 1:03d}", 26) for j in range(22, 26)] == [
        "small cap",
        "small cap",
        "illiquid",
        "illiquid",
    ]
    assert asset_class(22, "TKN023", 23) == "small cap"


def test_scaled_haircuts_is_tiers_scaled_haircut_at_once():
    table = (Tier(10, 100), Tier(100, 90), Tier(92233720368, 37), Tier(None, 0))
    tiers = Tiers.of(table, 8)
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            [0, 1, 10**9 - 1, 10**9, 10**9 + 1, 10**10, 10**10 + 1, MAX_BALANCE],
            rng.integers(0, MAX_BALANCE, 2000, dtype=np.int64),
            rng.integers(0, 2 * 10**10, 2000, dtype=np.int64),
        ]
    ).astype(np.int64)
    assert scaled_haircuts(tiers, x).tolist() == [tiers.scaled_haircut(int(v)) for v in x]
    assert scaled_haircuts(None, x).tolist() == [100 * int(v) for v in x]
    with pytest.raises(ValueError, match="outside"):
        scaled_haircuts(tiers, np.array([MAX_BALANCE + 1], dtype=np.int64))


def test_balances_stay_far_inside_int64_at_tiny_prices(tmp_path):
    """A token at a fraction of a cent with 8 decimals: value / price * 10^8 could pass 2^63
    (and wrap to a negative int64); balances and debts are capped at MAX_BALANCE."""
    data = generate(3000, 200, 4)
    assert np.abs(data.balances).max() <= MAX_BALANCE


def test_the_command_writes_tables_unless_told_not_to(tmp_path):
    run = CliRunner().invoke
    result = run(main, ["generate", "--users", "8", "--assets", "5", "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "5 with a haircut table" in result.output
    assets = json.loads((tmp_path / "a" / "assets.json").read_text())["assets"]
    assert assets[0]["haircut"][0] == {"up_to": "10", "percent": 100}
    result = run(
        main,
        [
            "generate",
            "--users",
            "8",
            "--assets",
            "5",
            "--out",
            str(tmp_path / "b"),
            "--no-haircuts",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no haircut tables" in result.output
    assert "haircut" not in (tmp_path / "b" / "assets.json").read_text()
