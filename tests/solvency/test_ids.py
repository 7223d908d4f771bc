"""User ids: one canonical form (stripped, NFC) wherever an id is read (the snapshot, the
accounts file, `--user`), control and invisible characters refused with the file, the line and
the field, and export file names safe on every operating system."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from solvency.accounts import load_accounts
from solvency.cli import main
from solvency.ids import canonical_id, id_filename, id_problem
from solvency.inclusion import inclusion_filename
from solvency.snapshot import InputError, load_assets, load_snapshot

from .conftest import ASSETS, IDENTITY

NFC = unicodedata.normalize("NFC", "José")
NFD = unicodedata.normalize("NFD", "José")
assert NFC != NFD


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def snapshot(tmp_path: Path, text: str, name: str = "s.csv"):
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load_snapshot(tmp_path / name, load_assets(tmp_path / "assets.json"))


def accounts(tmp_path: Path, *ids: str):
    users = [{"id": user, "funding": {"BTC": "1"}} for user in ids]
    (tmp_path / "a.json").write_text(json.dumps({"mark_prices": {"BTC": "1"}, "users": users}))
    return load_accounts(tmp_path / "a.json")[0]


# -- the canonical form --------------------------------------------------------------------------
def test_two_spellings_of_one_id_are_one_user(tmp_path):
    with pytest.raises(InputError) as e:
        snapshot(tmp_path, f"id,BTC\n{NFC},1\nbob,1\n{NFD},2\n")
    assert str(e.value) == (
        f"{tmp_path / 's.csv'}:4: id: duplicate user id {NFC!r} (first on line 2)"
    )


def test_two_spellings_in_a_json_snapshot(tmp_path):
    text = json.dumps([{"id": NFD, "BTC": "1"}, {"id": NFC, "BTC": "1"}], indent=1)
    with pytest.raises(InputError, match="duplicate user id"):
        snapshot(tmp_path, text, "s.json")


def test_ids_are_read_in_their_canonical_form(tmp_path):
    loaded = snapshot(tmp_path, f'id,BTC\n  {NFD} ,1\n"\tbob\u00a0",2\n')
    assert loaded.ids == [NFC, "bob"]
    assert [a.id for a in accounts(tmp_path, f" {NFD}  ", "u")] == [NFC, "u"]


def test_two_spellings_in_an_accounts_file(tmp_path):
    with pytest.raises(InputError) as e:
        accounts(tmp_path, NFC, f"{NFD} ")
    assert "users[1].id: duplicate user id" in str(e.value)


# -- refused characters ------------------------------------------------------------------------
REFUSED = {
    "a\x00b": "U+0000, a control character",
    "a\x1b[31mb": "U+001B, a control character",
    "a\x7fb": "U+007F, a control character",
    "a\x85b": "U+0085, a control character",
    "a\u2028b": "U+2028 LINE SEPARATOR, a line separator",
    "a\u2029b": "U+2029 PARAGRAPH SEPARATOR, a paragraph separator",
    "ad\u202enimda": "U+202E RIGHT-TO-LEFT OVERRIDE, an invisible format character",
    "a\u200bb": "U+200B ZERO WIDTH SPACE, an invisible format character",
    "a\ufeffb": "U+FEFF ZERO WIDTH NO-BREAK SPACE, an invisible format character",
    "a\u00adb": "U+00AD SOFT HYPHEN, an invisible format character",
}
ACCEPTED = ["ali ce", "a\u00a0b", "می\u200cخواهم", "👨\u200d👩\u200d👧", "\ue000", "a.b", "../etc"]


@pytest.mark.parametrize("user", REFUSED)
def test_control_and_format_characters_are_refused_in_a_snapshot(tmp_path, user):
    quoted = '"' + user + '"'
    with pytest.raises(InputError) as e:
        snapshot(tmp_path, f"id,BTC\nalice,1\n{quoted},2\n")
    assert str(e.value) == (
        f"{tmp_path / 's.csv'}:3: id: the user id {user!r} contains {REFUSED[user]}"
    )


@pytest.mark.parametrize("user", ["a\x00b", "x\u202ey"])
def test_control_and_format_characters_are_refused_in_accounts(tmp_path, user):
    with pytest.raises(InputError, match=r"a\.json:\d+: users\[1\]\.id: the user id .* contains"):
        accounts(tmp_path, "u", user)


@pytest.mark.parametrize("user", ACCEPTED)
def test_other_characters_are_accepted(user):
    assert id_problem(canonical_id(user)) is None


def test_a_refused_id_from_the_command_line(tmp_path):
    """One line, exit 2, the file, the line and the field."""
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    (tmp_path / "s.csv").write_bytes(b"id,BTC\nalice,1\nb\x00b,1\n")
    result = run("prove", tmp_path / "s.csv", "--assets", tmp_path / "assets.json",
                 "--out", tmp_path / "o", "--private", tmp_path / "p", *IDENTITY)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: {tmp_path / 's.csv'}:3: id: the user id 'b\\x00b' contains U+0000, "
        "a control character"
    )


# -- file names ----------------------------------------------------------------------------------
WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
NAMES = [".", "..", "../etc", ".hidden", "a.", "a ", "~", "CON", "nul", "Com1", "lpt9.txt",
         "aux.json", "NUL.", 'a<b>c:d"e/f\\g|h?i*j', NFC, "x" * 300, "CONSOLE",
         "nullable"]  # fmt: skip


def test_file_names_are_safe_on_every_system():
    for user in NAMES:
        name = inclusion_filename(user)
        stem = name.removesuffix(".json")
        assert name.endswith(".json") and not name.startswith("."), (user, name)
        assert not WINDOWS_FORBIDDEN & set(name) and name.isascii() and name.isprintable()
        assert stem.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9"}
        assert len(name.encode()) <= 255
        if not name.startswith("%sha256-"):
            assert unquote(stem) == user  # the id back: no two ids share a name


def test_file_names_are_injective():
    names = [id_filename(u) for u in NAMES]
    assert len(set(names)) == len(NAMES)
    assert id_filename("CONSOLE") == "CONSOLE.json"  # only a device name itself is encoded


# -- the command line: --user and export --all --------------------------------------------------
@pytest.fixture(scope="module")
def odd_ids(tmp_path_factory) -> Path:
    """A proof (fast preset) of users with ids an export must not turn into odd file names,
    and José spelt decomposed (NFD) in the snapshot."""
    base = tmp_path_factory.mktemp("ids")
    (base / "assets.json").write_text(json.dumps(ASSETS))
    rows = [NFD, ".", "../etc", "CON", " spaced "]
    text = "id,BTC\n" + "".join(f"{user},1\n" for user in rows)
    (base / "s.csv").write_text(text, encoding="utf-8")
    result = run("prove", base / "s.csv", "--assets", base / "assets.json", "--out", base / "out",
                 "--private", base / "private", "--preset", "fast", *IDENTITY)  # fmt: skip
    assert result.exit_code == 0, result.output
    return base


@pytest.mark.parametrize("typed", [NFC, NFD, f"  {NFD}\t"])
def test_export_and_verify_with_any_spelling_of_the_id(odd_ids, tmp_path, typed):
    out = tmp_path / "mine.json"
    exported = run("inclusion", "export", odd_ids / "private", "--user", typed, "--out", out)
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text())["user_id"] == NFC
    checked = run("verify-inclusion", out, "--published", odd_ids / "out", "--user", typed,
                  "--skip-proof")  # fmt: skip
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.strip().splitlines()[-1].startswith("INCLUDED: ")


def test_user_is_stripped_as_the_snapshot_was(odd_ids, tmp_path):
    exported = run("inclusion", "export", odd_ids / "private", "--user", "spaced")
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["user_id"] == "spaced"


def test_export_all_writes_no_hidden_or_device_names(odd_ids, tmp_path):
    folder = tmp_path / "all"
    result = run("inclusion", "export", odd_ids / "private", "--all", "--out", folder)
    assert result.exit_code == 0, result.output
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "index.csv", "Jos%C3%A9.json", "%2E.json", "%2E.%2Fetc.json", "%43ON.json", "spaced.json",
    }  # fmt: skip
    for name in names - {"index.csv"}:
        assert json.loads((folder / name).read_text())["user_id"] == unquote(name[:-5])


def test_snapshot_explain_and_build_read_ids_as_the_snapshot_does(tmp_path):
    """explain --user takes any spelling; build quotes an id holding a comma or a quote."""
    users = [{"id": NFD, "funding": {"BTC": "1"}}, {"id": 'a,"b"', "funding": {"BTC": "2"}}]
    (tmp_path / "a.json").write_text(json.dumps({"mark_prices": {"BTC": "1"}, "users": users}))
    explained = run("snapshot", "explain", tmp_path / "a.json", "--user", f" {NFC} ")
    assert explained.exit_code == 0, explained.output
    built = run("snapshot", "build", tmp_path / "a.json", "--out", tmp_path / "s.csv")
    assert built.exit_code == 0, built.output
    (tmp_path / "assets.json").write_text(json.dumps(ASSETS))
    loaded = load_snapshot(tmp_path / "s.csv", load_assets(tmp_path / "assets.json"))
    assert loaded.ids == [NFC, 'a,"b"'] and loaded.balances[:, 0].tolist() == [10**8, 2 * 10**8]
