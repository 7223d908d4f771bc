"""`solvency snapshot explain`'s collateral rule (issue 17): per asset the snapshot equity, the
debt, what the equity counts for under the haircut table of the assets file given as
--prices, and the values; then whether the user meets the rule. Exact decimals throughout."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from solvency.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples" / "accounts"
CROSS = EXAMPLES / "cross_margin_long.json"  # cross-long: +24.99 ETH, -1872.4 USDC
ETH_TABLE = [{"up_to": "10", "percent": 100}, {"up_to": "20", "percent": 80}, {"percent": 50}]


def assets_file(tmp_path: Path, eth=None, usdc=None, eth_price="1091.43") -> Path:
    assets = [
        {"symbol": "BTC", "decimals": 8, "price": "15772.3"},
        {"symbol": "ETH", "decimals": 8, "price": eth_price},
        {"symbol": "USDC", "decimals": 6, "price": "1"},
    ]
    for asset, table in zip(assets[1:], (eth, usdc), strict=True):
        if table is not None:
            asset["haircut"] = table
    path = tmp_path / "assets.json"
    path.write_text(json.dumps({"quote": "USD", "assets": assets}, indent=2))
    return path


def explain(accounts: Path, user: str, *options):
    result = CliRunner().invoke(
        main, ["snapshot", "explain", str(accounts), "--user", user, *map(str, options)]
    )
    return result


def rule_row(output: str, asset: str) -> list[str]:
    """The cells of `asset`'s row in the collateral rule's table (the second table)."""
    table = output[output.index("the collateral rule on the snapshot equity") :]
    line = next(x for x in table.splitlines() if x.startswith(f"│ {asset} "))
    return [cell.strip() for cell in line.strip("│").split("│")]


def test_under_tables_equity_counts_for_its_haircut_and_the_user_meets_the_rule(tmp_path):
    usdc = [{"up_to": "1000000", "percent": 100}, {"percent": 95}]
    result = explain(CROSS, "cross-long", "--prices", assets_file(tmp_path, ETH_TABLE, usdc))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "15.0283" in out and "-10,872.4000" in out  # the account view's table is still there
    # 24.99 ETH counts for 10 + 0.8 * 10 + 0.5 * 4.99 = 20.495 ETH, 20.495 * 1091.43 USD
    assert rule_row(out, "ETH") == [
        "ETH",
        "24.99",
        "0",
        "100% to 10, 80% to 20, then 50%",
        "20.495",
        "22,368.85785",
        "0",
    ]
    assert rule_row(out, "USDC") == [
        "USDC",
        "0",
        "1872.4",
        "100% to 1,000,000, then 95%",
        "0",
        "0",
        "1,872.4",
    ]
    assert "collateral after haircuts: 22,368.85785 USD; debts: 1,872.4 USD" in out
    assert "meets the collateral rule" in out and "20,496.45785 USD to spare" in out
    assert "NOT" not in out


def test_a_user_breaking_the_rule_is_told_by_how_much(tmp_path):
    """ETH at 5%: 24.99 ETH count for 1.2495 ETH, 1,363.741785 USD, less than the debt."""
    result = explain(CROSS, "cross-long", "--prices", assets_file(tmp_path, [{"percent": 5}]))
    assert result.exit_code == 0, result.output
    assert rule_row(result.stdout, "ETH")[3:6] == ["5% of all", "1.2495", "1,363.741785"]
    assert rule_row(result.stdout, "USDC")[3] == "none: 100%"
    assert "does NOT meet the collateral rule" in result.stdout
    assert "by 508.658215 USD" in result.stdout


def test_without_tables_everything_counts_in_full(tmp_path):
    """The accounts file's mark prices (no tables), and an assets file without tables."""
    for options, note in (
        ((), "give the assets file as --prices"),
        (("--prices", assets_file(tmp_path)), "the assets file has none"),
    ):
        result = explain(CROSS, "cross-long", *options)
        assert result.exit_code == 0, result.output
        assert f"no haircut tables ({note}): every asset counts at 100%" in result.stdout
        assert rule_row(result.stdout, "ETH")[3:6] == ["none: 100%", "24.99", "27,274.8357"]
        assert "collateral after haircuts: 27,274.8357 USD; debts: 1,872.4 USD" in result.stdout
        assert "(25,402.4357 USD to spare)" in result.stdout  # the snapshot's total value


def test_values_are_exact_past_28_digits(tmp_path):
    """Decimal's default context keeps 28 digits; the rule's sums keep them all."""
    accounts = tmp_path / "accounts.json"
    accounts.write_text(
        json.dumps(
            {
                "mark_prices": {"ETH": "1091.4300000000000000000000001", "USDC": "1"},
                "users": [{"id": "u", "funding": {"ETH": "12345678.12345678", "USDC": "-1"}}],
            }
        )
    )
    result = explain(accounts, "u")
    assert result.exit_code == 0, result.output
    # 12345678.12345678 * 1091.4300000000000000000000001, every digit, and less 1 USDC
    assert "13,474,443,474.284433395400000001234567812345678" in result.stdout
    assert "(13,474,443,473.284433395400000001234567812345678 USD to spare)" in result.stdout


def test_an_equity_finer_than_the_assets_decimals_cannot_be_checked(tmp_path):
    accounts = tmp_path / "accounts.json"
    accounts.write_text(
        json.dumps(
            {"users": [{"id": "u", "funding": {"ETH": "0.123456789"}, "cross": {"USDC": "-5"}}]}
        )
    )
    result = explain(accounts, "u", "--prices", assets_file(tmp_path, ETH_TABLE))
    assert result.exit_code == 0, result.output
    assert rule_row(result.stdout, "ETH")[4:6] == ["?", "?"]
    assert "the collateral rule cannot be checked: ETH's snapshot equity 0.123456789" in (
        result.stdout
    )


def test_a_bad_table_in_the_prices_file_is_refused_with_its_field(tmp_path):
    path = assets_file(tmp_path, [{"up_to": "10", "percent": 100}, {"percent": 101}])
    result = explain(CROSS, "cross-long", "--prices", path)
    assert result.exit_code == 2
    assert "assets.json:" in result.stderr and "ETH.haircut[1].percent" in result.stderr
