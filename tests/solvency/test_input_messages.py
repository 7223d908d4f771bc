"""Bad input files, as a user meets them: each case runs the real `solvency` console script in
a subprocess and expects one line `file:line: field: problem` naming the problem, exit code 2,
no traceback and nothing written. The subprocesses of all cases start together (a module
fixture), since each pays a second or two of start-up. In-process tests of the loaders cover
the variants (number forms, JSON inputs) more finely."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from solvency.accounts import load_accounts
from solvency.generate import generate
from solvency.publication.encoding import load_json_strict
from solvency.snapshot import (
    InputError,
    amount_problem,
    load_assets,
    load_reserves,
    load_snapshot,
)

SOLVENCY = Path(sys.executable).with_name("solvency")
ASSETS = {
    "quote": "USD",
    "assets": [
        {"symbol": "BTC", "decimals": 8, "price": "97000.12"},
        {"symbol": "ETH", "decimals": 8, "price": "3400.55"},
        {"symbol": "USDT", "decimals": 6, "price": "1.0001"},
    ],
}
ASSETS_JSON = json.dumps(ASSETS, indent=2).encode()
BOM = b"\xef\xbb\xbf"
IDENTITY = ("--issuer", "Test Exchange", "--as-of", "2025-06-30T23:59:59Z")
PROVE = ("prove", "snapshot.csv", "--assets", "assets.json", "--out", "out", "--private", "priv")
ACCOUNTS = b"""{
  "mark_prices": {"BTC": "97000", "USDT": "1"},
  "users": [
    {"id": "u", "funding": {"BTC": "0.5"}},
    {"id": "v", "funding": {"USDT": "x1"}}
  ]
}
"""
BUILD = ("snapshot", "build", "accounts.json", "--out", "built.csv")


@dataclass(frozen=True)
class Case:
    """A command run in its own folder holding `files` (bytes; None makes a directory)."""

    args: tuple[str, ...]
    files: dict[str, bytes | None]
    message: str  # a regular expression, searched in standard error
    code: int = 2
    written: tuple[str, ...] = ("out", "priv", "built.csv")  # must not exist afterwards
    one_line: bool = True  # the whole of standard error is one line (the CLI's usage errors
    # for an option take three)


def prove(
    snapshot: bytes | None, assets: bytes | None = ASSETS_JSON, message: str = "", code: int = 2
) -> Case:
    """`solvency prove snapshot.csv --assets assets.json ...`, expecting `message` exactly."""
    files = {"snapshot.csv": snapshot, "assets.json": assets}
    return Case((*PROVE, *IDENTITY), files, re.escape(message), code)


def build(accounts: bytes | None, message: str) -> Case:
    """`solvency snapshot build accounts.json --out built.csv`, expecting `message`."""
    return Case(BUILD, {"accounts.json": accounts}, re.escape(message))


def verify(files: dict[str, bytes | None], pattern: str, reserves: bool = True) -> Case:
    """`solvency verify published [--reserves reserves.json]`: the folder `published` is a
    copy of an honest publication unless `files` gives its statement. (The reserves file's
    line is optional in `pattern` until the CLI reads reserves with load_reserves.)"""
    extra = ("--reserves", "reserves.json") if reserves else ()
    return Case(("verify", "published", *extra), files, pattern)


def bad_byte_column(data: bytes) -> tuple[int, int]:
    """(line, byte column) of the first 0xE9 in `data`, as the message should name it."""
    at = data.index(b"\xe9")
    return data.count(b"\n", 0, at) + 1, at - data.rfind(b"\n", 0, at)


LATIN_ASSETS = ASSETS_JSON.replace(b'"USD"', b'"US\xe9"')
LATIN_ACCOUNTS = ACCOUNTS.replace(b'"x1"', b'"\xe91"')
LATIN_STATEMENT = b'{\n  "format": "stark-solvency-publication/1",\n  "issuer": "Caf\xe9"\n}\n'
LATIN_RESERVES = b'{"BTC": "1", "ETH": "\xe9"}'

CASES = {
    # a trailing comma on every line, the header's included: an empty last column, accepted
    # (bob's negative total value is the next problem: exit 3, the file was read)
    "trailing comma everywhere": prove(
        b"id,BTC,ETH,USDT,\nalice,0.5,,1250.75,\nbob,-1,,5,\n", message="bob", code=3
    ),
    "trailing comma in the header only": prove(
        b"id,BTC,ETH,\nalice,0.5,1,\nbob,1,2\n",
        message="snapshot.csv:3: 3 fields, the header has 4 "
        "(the header ends with a comma, this line does not)",
    ),
    "duplicate column": prove(
        b"id,BTC,ETH,USDT,BTC\nalice,1,,,\n",
        message="snapshot.csv:1: BTC: column 'BTC' appears twice (columns 2 and 5)",
    ),
    # spaces around header names, ids and amounts are removed alike: " BTC " is BTC
    "spaces around names and values": prove(
        b"id, BTC ,ETH\n alice , 1250.75 ,1\nbob,x1,\n",
        message="snapshot.csv:3: BTC: not a number: 'x1'",
    ),
    "semicolons": prove(
        b"id;BTC;ETH\nalice;1;2\n",
        message="snapshot.csv:1: this file is separated by ';', "
        "the snapshot must be comma-separated (CSV)",
    ),
    "exponent notation": prove(
        b"id,BTC\nalice,1\nbob,1e-5\n",
        message="snapshot.csv:3: BTC: not a number: '1e-5': "
        "exponent notation is not accepted; write 0.00001",
    ),
    "thousands separator": prove(
        b'id,USDT\nalice,"1,250.75"\n',
        message="snapshot.csv:2: USDT: not a number: '1,250.75': "
        "thousands separators are not accepted; write 1250.75",
    ),
    "non-UTF-8 snapshot": prove(
        b"id,BTC,ETH\nalice,1,2\nb\xe9b,1,2\n",
        message="snapshot.csv:3: not UTF-8 text (byte 0xE9 at column 2)",
    ),
    "non-UTF-8 assets file": prove(
        b"id,BTC\nalice,1\n",
        LATIN_ASSETS,
        "assets.json:{}: not UTF-8 text (byte 0xE9 at column {})".format(
            *bad_byte_column(LATIN_ASSETS)
        ),
    ),
    "non-UTF-8 accounts file": build(
        LATIN_ACCOUNTS,
        "accounts.json:{}: not UTF-8 text (byte 0xE9 at column {})".format(
            *bad_byte_column(LATIN_ACCOUNTS)
        ),
    ),
    "non-UTF-8 reserves file": verify(
        {"reserves.json": LATIN_RESERVES},
        re.escape("reserves.json:1: not UTF-8 text (byte 0xE9 at column 22)"),
    ),
    "non-UTF-8 statement": verify(
        {"published/statement.json": LATIN_STATEMENT},
        re.escape("statement.json:3: not UTF-8 text (byte 0xE9 at column 17)"),
        reserves=False,
    ),
    "short line": prove(
        b"id,BTC,ETH,USDT\nalice,1,2,3\nbob,1,2\ncarol,1,2,3\n",
        message="snapshot.csv:3: 3 fields, the header has 4",
    ),
    "long line": prove(
        b"id,BTC,ETH,USDT\nalice,1,2,3\n\nbob,1,2,3,4\n",
        message="snapshot.csv:4: 5 fields, the header has 4",
    ),
    "unterminated quote on the last line": prove(
        b'id,BTC,ETH\nalice,1,2\ncarol,1,"2\n',
        message="snapshot.csv:3: ETH: a quote opens here and is not closed on this line",
    ),
    # a byte-order mark is accepted in every JSON input, as in the CSV: the next problem shows
    "BOM in the assets file": prove(
        BOM + b"id,BTC\nalice,1\nbob,x1\n",
        BOM + ASSETS_JSON,
        "snapshot.csv:3: BTC: not a number: 'x1'",
    ),
    "BOM in the accounts file": build(
        BOM + ACCOUNTS, "accounts.json:5: user 'v' funding.USDT: not a decimal number: 'x1'"
    ),
    "reserves NaN": verify(
        {"reserves.json": b'{"BTC": "NaN"}'}, r"reserves\.json(:1)?: BTC: .*'NaN'"
    ),
    "mark price NaN": build(
        ACCOUNTS.replace(b'"x1"', b'"1"').replace(b'"97000"', b'"NaN"'),
        "accounts.json: mark_prices.BTC: not a decimal number: 'NaN': NaN is not an amount",
    ),
    "snapshot is a directory": prove(
        None, message="snapshot.csv: is a directory, expected a CSV or JSON file"
    ),
    "assets file is a directory": prove(
        b"id,BTC\nalice,1\n", None, "assets.json: is a directory, expected a JSON file"
    ),
    "accounts file is a directory": build(
        None, "accounts.json: is a directory, expected a JSON file"
    ),
    "reserves file is a directory": verify(
        {"reserves.json": None}, re.escape("reserves.json: is a directory, expected a JSON file")
    ),
    "generate with a negative seed": Case(
        ("generate", "--users", "4", "--assets", "2", "--seed", "-1", "--out", "gen"),
        {},
        "--seed",
        written=("gen",),
        one_line=False,
    ),
}


def _run(folder: Path, case: Case) -> subprocess.CompletedProcess:
    for name, data in case.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            target.mkdir()
        else:
            target.write_bytes(data)
    return subprocess.run(
        [str(SOLVENCY), *case.args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300"},
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory, honest_proof) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Every case run at once (three at a time), each in its own folder; a case of `verify`
    gets a copy of the honest publication unless it brings its own statement."""
    root = tmp_path_factory.mktemp("input-messages")
    folders = {}
    for k, (name, case) in enumerate(CASES.items()):
        folders[name] = root / f"case{k:02d}"
        folders[name].mkdir()
        if case.args[0] == "verify" and "published/statement.json" not in case.files:
            shutil.copytree(honest_proof, folders[name] / "published")
    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(_run, folders[name], CASES[name]) for name in CASES}
        return {name: (folders[name], f.result()) for name, f in futures.items()}


@pytest.mark.parametrize("name", CASES)
def test_message(results, name):
    """One line naming the file, the line and the problem; no traceback; nothing written."""
    case = CASES[name]
    folder, result = results[name]
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == case.code, result.stderr
    assert re.search(case.message, result.stderr), result.stderr
    if case.one_line and case.code == 2:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for name in case.written:
        assert not (folder / name).exists(), name


# -- in-process: the loaders ----------------------------------------------------------------------
NUMBERS = {
    "1e-5": "exponent notation is not accepted; write 0.00001",
    "2.5E3": "exponent notation is not accepted; write 2500",
    "1,250.75": "thousands separators are not accepted; write 1250.75",
    "1 250.75": "thousands separators are not accepted; write 1250.75",
    "1'250.75": "thousands separators are not accepted; write 1250.75",
    "1.250,75": "thousands separators and a decimal comma are not accepted; write 1250.75",
    "0,5": "a decimal comma is not accepted; write 0.5",
    "1,250": "a comma is not accepted: write 1250 if it separates thousands, "
    "1.250 if it is a decimal comma",
    "$1250.75": "a currency sign is not accepted; write 1250.75",
    "-€5": "a currency sign is not accepted; write -5",
    "(1250.75)": "parentheses for a negative amount are not accepted; write -1250.75",
    "NaN": "NaN is not an amount",
    "-inf": "infinity is not an amount",
    "Infinity": "infinity is not an amount",
    "5%": "a percent sign is not accepted",
    "\u22125": "the minus sign must be '-', not '\u2212'; write -5",
    "5-": "the minus sign goes first; write -5",
    "--5": "more than one sign",
    "1.2.3": "more than one decimal point",
    "0x1f": "hexadecimal is not accepted",
    "\uff15": "only the ASCII digits 0-9 are accepted",
    "5 BTC": "letters are not accepted: write the amount alone",
    "-": "no digits",
    "~": "expected a plain decimal such as -1250.75",
}


@pytest.mark.parametrize("text", NUMBERS)
def test_why_an_amount_is_not_a_number(tmp_path, text):
    assert amount_problem(text) == f"not a number: {text!r}: {NUMBERS[text]}"
    quoted = '"' + text.replace('"', '""') + '"'
    (tmp_path / "s.csv").write_text(f"id,BTC\nalice,1\n\nbob,{quoted}\n")
    with pytest.raises(InputError) as e:
        load_snapshot(tmp_path / "s.csv", assets(tmp_path))
    assert str(e.value) == f"{tmp_path / 's.csv'}:4: BTC: not a number: {text!r}: {NUMBERS[text]}"


def assets(tmp_path: Path):
    (tmp_path / "assets.json").write_bytes(BOM + ASSETS_JSON)
    return load_assets(tmp_path / "assets.json")


def snapshot_error(tmp_path: Path, data: bytes, name: str = "s.csv") -> str:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(InputError) as e:
        load_snapshot(tmp_path / name, assets(tmp_path))
    return str(e.value).removeprefix(f"{tmp_path / name}")


def test_accepted_forms(tmp_path):
    """Trailing commas everywhere, spaces around fields, a BOM, CRLF line ends, blank lines,
    quoted fields and a literal quote inside an unquoted id."""
    (tmp_path / "s.csv").write_bytes(
        BOM + b' id , BTC ,USDT,\r\n alice ,"0.5", 1250.75 ,\r\n\r\no"brien,,-1,\r\n'
    )
    snap = load_snapshot(tmp_path / "s.csv", assets(tmp_path))
    assert snap.ids == ["alice", 'o"brien']
    assert snap.balances.tolist() == [[50_000_000, 0, 1_250_750_000], [0, 0, -1_000_000]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", ":1: empty file; expected a header line 'id,<SYMBOL>,...'"),
        (b"id,BTC\n", ": no users (the file has no line after the header)"),
        (b"id,,BTC\na,1,2\n", ":1: column 2 of the header has no name"),
        (b"ID,BTC\na,1\n", ":1: id: the first column must be 'id' (lowercase), not 'ID'"),
        (b"id,btc\na,1\n", ":1: btc: unknown asset symbol 'btc'; the assets file has 'BTC'"),
        (b'id,"BTC\na,1\n', ":1: column 2: a quote opens here and is not closed on this line"),
        (b'id,BTC\n"a\nb",1\n', ":2: id: a quote opens here and is not closed on this line"),
        (b"id,BTC\na,1\nb,1,2,3\n", ":3: 4 fields, the header has 2 (a comma inside a value?"),
        (b"id,BTC\na,1\n\n,2\n", ":4: id: empty user id"),
        (b"id,BTC\nalice,1\n alice ,2\n", ":3: id: duplicate user id 'alice' (first on line 2)"),
        (b"id\tBTC\na\t1\n", ":1: this file is separated by tabs, the snapshot must be"),
        (b'id,BTC\na,1\n"b,1\nc,1\n', ":3: id: a quote opens here and is not closed on this"),
        (b"id,BTC,\na,1,\nb,1,x\n", ":3: a value 'x' under the header's empty last column"),
        (b"id,BTC\na,1,\n", ":2: 3 fields, the header has 2 (this line ends with a comma, the"),
        (b"id,BTC\na,\xff1\n", ":2: not UTF-8 text (byte 0xFF at column 3)"),
        ("id,BTC\na,1\n".encode("utf-16"), ": UTF-16 text (it starts with a UTF-16 mark); save"),
        (b"id,BTC\ra,1\r", ":1: lines end with a carriage return only; save with LF or CRLF"),
    ],
)
def test_snapshot_structure_errors(tmp_path, data, message):
    assert snapshot_error(tmp_path, data).startswith(message)


def test_json_snapshot(tmp_path):
    """A JSON snapshot: BOM accepted, keys stripped, numbers read exactly, problems located."""
    (tmp_path / "s.json").write_bytes(
        BOM + b'[\n {"id": "a", " BTC": "0.5"},\n {"id": "b", "BTC": 1e-5, "USDT": null}\n]'
    )
    snap = load_snapshot(tmp_path / "s.json", assets(tmp_path))
    assert snap.balances.tolist() == [[50_000_000, 0, 0], [1000, 0, 0]]
    bad = b'[\n {"id": "a"},\n {"id": "b", "BTC": "1e-5"}\n]'
    assert snapshot_error(tmp_path, bad, "s.json").startswith(":3: BTC: not a number: '1e-5'")
    twice = b'[\n {"id": "a",\n  "BTC": "1", "BTC": "2"}\n]'
    assert snapshot_error(tmp_path, twice, "s.json") == ":3: BTC: appears twice in the same object"


def test_reserves(tmp_path):
    """load_reserves, for `verify --reserves`: exact, non-negative, located, BOM accepted."""
    path = tmp_path / "reserves.json"
    path.write_bytes(BOM + b'{\n  "BTC": "0.7",\n  "ETH": 21\n}')
    assert load_reserves(path) == {"BTC": Decimal("0.7"), "ETH": Decimal(21)}
    for text, message in [
        (b'{"BTC": "NaN"}', ":1: BTC: not a decimal number: 'NaN': NaN is not an amount"),
        (b'{"BTC": NaN}', ":1: not valid JSON: NaN is not a number"),
        (b'{\n"BTC": "-1"}', ":2: BTC: a reserve cannot be negative: '-1'"),
        (b'{"BTC": "1",\n "BTC": "2"}', ":2: BTC: appears twice in the same object"),
        (b'{"DOGE": "1"}', ":1: DOGE: not an asset of this statement"),
        (b'["BTC"]', ':1: expected {"SYMBOL": "amount", ...}'),
    ]:
        path.write_bytes(text)
        with pytest.raises(InputError) as e:
            load_reserves(path, ["BTC", "ETH"])
        assert str(e.value).startswith(f"{path}{message}")
    with pytest.raises(InputError, match="is a directory, expected a JSON file"):
        load_reserves(tmp_path)


def test_json_inputs_accept_a_bom_and_locate_bad_bytes(tmp_path):
    """The statement (load_json_strict), the assets and an accounts file alike."""
    path = tmp_path / "x.json"
    path.write_bytes(BOM + b'{"format": "x"}')
    assert load_json_strict(path, 1 << 16, "statement") == {"format": "x"}
    path.write_bytes(LATIN_STATEMENT)
    with pytest.raises(InputError, match=r"x\.json:3: not UTF-8 text \(byte 0xE9 at column 17\)"):
        load_json_strict(path, 1 << 16, "statement")
    with pytest.raises(InputError, match=r"x\.json: larger than the 16 bytes allowed"):
        load_json_strict(path, 16, "statement")  # read no further than the bound
    path.write_bytes(BOM + ACCOUNTS.replace(b'"x1"', b'"1"'))
    assert [a.id for a in load_accounts(path)[0]] == ["u", "v"]


def test_generate_validates_its_inputs():
    for args, message in [
        ((4, 2, -1), "--seed: must be 0 or more, not -1"),
        ((0, 2, 0), "--users: must be from 1 to 16777216, not 0"),
        ((4, 201, 0), "--assets: must be from 1 to 200, not 201"),
    ]:
        with pytest.raises(ValueError, match=message):
            generate(*args)


def test_extreme_amounts_among_empty_cells(tmp_path):
    """Only non-empty cells are parsed; a value's line is still its own."""
    (tmp_path / "s.csv").write_text(
        "id,BTC,USDT\na,,1\nb,92233720368.54775807,\nc, ,\nd,-92233720368.54775808,2\n"
    )
    snap = load_snapshot(tmp_path / "s.csv", assets(tmp_path))
    assert snap.balances[:, 0].tolist() == [0, 2**63 - 1, 0, -(2**63)]
    too_large = b"id,BTC,USDT\na,,1\nb,1.000000001,\nc,,\nd,92233720368.54775808,\n"
    assert snapshot_error(tmp_path, too_large) == ":3: BTC: '1.000000001' has more than 8 decimals"
    too_large = too_large.replace(b"1.000000001", b"1")
    assert snapshot_error(tmp_path, too_large).startswith(
        ":5: BTC: '92233720368.54775808' is outside the supported range"
    )
