"""The assets file's haircut tables (issue 17): each refusal names the file, the tier's line
and the field (`BTC.haircut[2].percent`); a valid table reaches `Market.haircuts`, and changes
the snapshot's identity."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from circuits.haircut import Tier, Tiers
from circuits.haircut import table_json as haircut_json
from solvency.batches import inputs_digest
from solvency.snapshot import InputError, haircut_coins, load_assets

EXAMPLE = [{"up_to": "10", "percent": 100}, {"up_to": "100", "percent": 90}, {"percent": 50}]
EXAMPLE_TABLE = (Tier(10, 100), Tier(100, 90), Tier(None, 50))


def dumps(value) -> str:
    """JSON, a Decimal written as a JSON number (90.0)."""
    return re.sub(r'"@(.*?)@"', r"\1", json.dumps(value, default=lambda d: f"@{d}@"))


def assets_text(haircut, *, decimals: int = 8) -> str:
    """An assets file with USDT (no table) and BTC, whose `haircut` is `haircut` (written one
    tier a line, so that each tier has its own line: BTC's object starts on line 5, its tier
    t on line 7 + t)."""
    tiers = (
        "[\n" + ",\n".join(f"        {dumps(t)}" for t in haircut) + "\n      ]"
        if isinstance(haircut, list)
        else dumps(haircut)
    )
    return (
        '{\n  "quote": "USD",\n  "assets": [\n'
        '    {"symbol": "USDT", "decimals": 6, "price": "1"},\n'
        f'    {{"symbol": "BTC", "decimals": {decimals}, "price": "97000.12",\n'
        f'      "haircut": {tiers}\n'
        "    }\n  ]\n}\n"
    )


def load(tmp_path: Path, haircut, **kw):
    path = tmp_path / "assets.json"
    path.write_text(assets_text(haircut, **kw))
    return load_assets(path)


def tier(up_to, percent, **extra) -> dict:
    out = {} if up_to is None else {"up_to": up_to}
    return {**out, "percent": percent, **extra}


def with_tier(t: int, replacement: dict) -> list:
    table = [dict(x) for x in EXAMPLE]
    table[t] = replacement
    return table


# (haircut, the field named, a piece of the message); the line is the tier's (7 + t) or, for
# the table as a whole or a tier that is not an object, BTC's object's (5)
REFUSED = {
    "ratio increasing": (
        [tier("10", 90), tier("100", 95), tier(None, 50)],
        "BTC.haircut[1].percent",
        "95% is more than the tier before (90%)",
    ),
    "last ratio increasing": (
        [tier("10", 100), tier("100", 90), tier(None, 91)],
        "BTC.haircut[2].percent",
        "percents must not increase",
    ),
    "boundaries out of order": (
        with_tier(1, tier("5", 90)),
        "BTC.haircut[1].up_to",
        "above the tier before's (5 after 10)",
    ),
    "boundaries not increasing": (
        with_tier(1, tier("10", 90)),
        "BTC.haircut[1].up_to",
        "(10 after 10)",
    ),
    "9 tiers": (
        [tier(str(t + 1), 100 - t) for t in range(8)] + [tier(None, 0)],
        "BTC.haircut",
        "must have 1 to 8 tiers (this one has 9)",
    ),
    "no tiers": ([], "BTC.haircut", "must have 1 to 8 tiers (this one has 0)"),
    "an open tier that is not last": (
        with_tier(1, tier(None, 90)),
        "BTC.haircut[1].up_to",
        "needs an up_to (only the last tier is open)",
    ),
    "a last tier with an up_to": (
        with_tier(2, tier("1000", 50)),
        "BTC.haircut[2].up_to",
        "the last tier is open (no up_to)",
    ),
    "an unknown key in a tier": (
        with_tier(1, tier("100", 90, note="x")),
        "BTC.haircut[1].note",
        "unknown key: a tier has up_to and percent",
    ),
    "the design's ratio_percent": (
        with_tier(0, {"up_to": "10", "ratio_percent": 100}),
        "BTC.haircut[0].ratio_percent",
        "the ratio's key is 'percent'",
    ),
    "a boundary over 2^63 base units": (
        with_tier(1, tier("92233720369", 90)),  # 92233720369 * 10^8 > 2^63 - 1
        "BTC.haircut[1].up_to",
        "up_to 92233720369 is at least 2^63 base units at 8 decimals",
    ),
    "a boundary of thousands of digits": (
        with_tier(1, tier("9" * 5000, 90)),
        "BTC.haircut[1].up_to",
        "is more than 2^63 base units",
    ),
    "a single tier at 100%": ([tier(None, 100)], "BTC.haircut", "leave the table out"),
    "every tier at 100%": ([tier("1", 100), tier(None, 100)], "BTC.haircut", "leave the table out"),
    "a percent over 100": (
        with_tier(0, tier("10", 101)),
        "BTC.haircut[0].percent",
        "a whole number from 0 to 100",
    ),
    "a negative percent": (
        with_tier(2, tier(None, -1)),
        "BTC.haircut[2].percent",
        "a whole number from 0 to 100",
    ),
    "a percent of 90.0": (
        with_tier(1, {"up_to": "100", "percent": Decimal("90.0")}),
        "BTC.haircut[1].percent",
        "a JSON integer such as 90, not 90.0",
    ),
    "a percent true": (
        with_tier(1, tier("100", True)),
        "BTC.haircut[1].percent",
        "a JSON integer such as 90, not true",
    ),
    "a percent in a string": (
        with_tier(1, tier("100", "90")),
        "BTC.haircut[1].percent",
        'a JSON integer such as 90, not "90"',
    ),
    "no percent": (with_tier(1, {"up_to": "100"}), "BTC.haircut[1].percent", "missing"),
    "a tier that is not an object": (with_tier(1, "90%"), "BTC.haircut[1]", "expected an object"),
    "a table that is not a list": ({"up_to": "10"}, "BTC.haircut", "expected a list of tiers"),
    **{
        f"up_to {text!r}": (with_tier(0, tier(text, 100)), "BTC.haircut[0].up_to", why)
        for text, why in [
            ("0", "a boundary is positive"),
            ("10.5", "whole coins (no fraction"),
            ("10.0", "whole coins (no fraction"),
            ("1,000", "no separator"),
            ("1e3", "exponent notation"),
            ("-5", "no sign"),
            ("+5", "no sign"),
            ("010", "no leading zeros"),
            (" 10", "spaces are not accepted"),
            ("10 ", "spaces are not accepted"),
            ("\u0661\u0660", "only the ASCII digits"),
            ("", 'expected digits such as "10"'),
            ("ten", 'expected digits such as "10"'),
        ]
    },
    "up_to as a JSON number": (
        with_tier(0, tier(10, 100)),
        "BTC.haircut[0].up_to",
        'a string of whole coins such as "10", not 10',
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_bad_table_is_refused_with_its_field(tmp_path, case):
    haircut, field, problem = REFUSED[case]
    tiered = re.fullmatch(r"BTC\.haircut\[(\d)\]\..*", field)  # a tier's field: its line
    line = 7 + int(tiered[1]) if tiered else 5
    with pytest.raises(InputError) as caught:
        load(tmp_path, haircut)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'assets.json'}:{line}: {field}: "), message
    assert problem in message, message
    assert "\n" not in message


def test_a_misspelt_haircut_key_is_refused(tmp_path):
    """An asset's unknown keys are ignored as before, but not a misspelt table."""
    path = tmp_path / "assets.json"
    path.write_text(assets_text(EXAMPLE).replace('"haircut"', '"haircuts"'))
    with pytest.raises(InputError, match=r"assets.json:5: BTC.haircuts: unknown key; .*'haircut'"):
        load_assets(path)
    path.write_text(assets_text(EXAMPLE).replace('"haircut"', '"name": "x", "Hair_Cut"'))
    with pytest.raises(InputError, match=r"BTC\.Hair_Cut: unknown key"):
        load_assets(path)


def test_a_valid_table_reaches_the_market(tmp_path):
    assets = load(tmp_path, EXAMPLE)
    assert assets.assets[1].haircut == EXAMPLE_TABLE and assets.assets[0].haircut is None
    market = assets.market()
    assert market.haircuts == (None, EXAMPLE_TABLE)
    statement = market.statement((0, 0), 512, equity=(0, 0))  # the circuit accepts them
    assert statement.haircuts == (None, EXAMPLE_TABLE)


@pytest.mark.parametrize(
    "haircut",
    [
        [tier(None, 0)],  # an illiquid asset: counts for nothing
        [tier(None, 99)],
        [tier("92233720368", 100), tier(None, 0)],  # the largest boundary at 8 decimals
        [tier(str(t + 1), 100 - 10 * t) for t in range(7)] + [tier(None, 0)],  # 8 tiers
        [{"up_to": "10", "percent": 100}, {"up_to": None, "percent": 50}],  # null: open
    ],
)
def test_valid_tables_round_trip(tmp_path, haircut):
    table = load(tmp_path, haircut).market().haircuts[1]
    assert haircut_json(table) == [{k: v for k, v in t.items() if v is not None} for t in haircut]
    assert load(tmp_path, haircut_json(table)).market().haircuts[1] == table


def test_null_is_no_table_and_no_tables_is_todays_market(tmp_path):
    assert load(tmp_path, None).market().haircuts == ()
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"assets": [{"symbol": "BTC", "decimals": 8, "price": "1"}]}))
    assets = load_assets(path)
    assert assets.haircuts == () and assets.market().haircuts == ()


def test_a_table_on_a_line_of_its_own_or_all_on_one_line(tmp_path):
    """The tier's own line where the file has one; the asset's when all is on one line."""
    path = tmp_path / "assets.json"
    bad = with_tier(2, tier(None, 95))
    one_line = {"assets": [{"symbol": "BTC", "decimals": 8, "price": "1", "haircut": bad}]}
    path.write_text(json.dumps(one_line))
    with pytest.raises(InputError, match=r"assets.json:1: BTC.haircut\[2\].percent: 95%"):
        load_assets(path)
    path.write_text(json.dumps(one_line, indent=2))  # each key of each tier on its own line
    with pytest.raises(InputError) as caught:
        load_assets(path)
    lines = path.read_text().splitlines()
    line = int(str(caught.value).split(":")[1])
    assert lines[line - 1].strip() == "{" and '"percent": 95' in "".join(lines[line : line + 3])


def test_tables_change_the_snapshots_identity(tmp_path):
    """The private store's inputs digest covers the assets file's bytes: a run cannot resume
    under other tables (and the statement binds them: circuits' encode())."""
    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_text("id,BTC,USDT\nalice,1,\n")
    digests = set()
    for name, haircut in (
        ("none", None),
        ("example", EXAMPLE),
        ("other", with_tier(2, tier(None, 49))),
    ):
        path = tmp_path / f"{name}.json"
        path.write_text(assets_text(haircut))
        digests.add(inputs_digest([snapshot, path], 1024, "Exchange", "2025-06-30T23:59:59Z"))
    assert len(digests) == 3
    tabled = load(tmp_path, EXAMPLE).market()
    plain = load(tmp_path, None).market()
    encode = [m.statement((1, 0), 512, equity=(1, 0)).encode() for m in (tabled, plain)]
    assert encode[0] != encode[1]


@pytest.mark.parametrize(
    ("coins", "counts"),
    [
        ("0", "0"),
        ("5", "5"),
        ("10", "10"),
        ("10.00000001", "10.000000009"),
        ("100", "91"),  # 10 + 0.9 * 90
        ("150", "116"),  # 91 + 0.5 * 50
        ("0.00000001", "0.00000001"),
    ],
)
def test_haircut_coins_is_the_tiers_value_exactly(coins, counts):
    assert haircut_coins(EXAMPLE_TABLE, 8, Decimal(coins)) == Decimal(counts)
    units = int(Decimal(coins).scaleb(8))
    assert Decimal(Tiers.of(EXAMPLE_TABLE, 8).scaled_haircut(units)) == Decimal(counts).scaleb(10)


@pytest.mark.parametrize("coins", ["-1", "0.000000001", "92233720368.54775808"])
def test_haircut_coins_refuses_what_is_not_a_balance(coins):
    with pytest.raises(ValueError, match="not a whole number of base units"):
        haircut_coins(EXAMPLE_TABLE, 8, Decimal(coins))
