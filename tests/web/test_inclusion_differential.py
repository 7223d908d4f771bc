"""The customer's inclusion check in JavaScript (web/, issue 18) against the Python verifier.

(a) web/'s own tests run under node (`node --test web/test`);
(b) thousands of inclusion files and statements mutated from the golden ones are checked by
both: `verify-inclusion FILE --published DIR [--user ID] --skip-proof` as the command decides
it (its functions, called directly: `_python_verdict`), and `checkInclusion` in one node
process for every case (web/tools/differential.mjs). They must agree on every case: the exit
code (0 INCLUDED, 1 NOT INCLUDED, 2 unreadable input) and, for 0 and 1, the verdict line word
for word (without the note on what was not verified, which differs by design) and the lines
before it.

Without node the tests skip, or fail when the environment variable CI is set.

The statement mutations touch what the inclusion check reads and the document's shape; the
parts of statement.json that web/src/statement.js does not replicate (the STARK parameter
block, the haircut tables' rules, the ranges of totals and equities, the aggregation
statement: web/README.md) are left alone.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from solvency import inclusion
from solvency.commands.inclusion import _included
from solvency.files import InputError
from solvency.ids import canonical_id
from solvency.publication.encoding import load_json_strict
from solvency.publication.statement import read_statement

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
BASES = [
    ("publication-1", "one-batch", "one-batch-user-0007.json"),
    ("publication-1", "three-batches", "three-batches-user-1299.json"),
    ("publication-2", "one-batch", "one-batch-user-0007.json"),
    ("publication-2", "three-batches", "three-batches-user-1299.json"),
]
SKIP_NOTE = " (the publication was not verified again"
MIN_CASES = 1000


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node (Node.js 20 or later) is not installed: web/'s tests cannot run")
        pytest.skip("node is not installed")
    return node


def test_web_node_tests_pass():
    node = _node()
    done = subprocess.run(
        [node, "--test", "web/test"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


# -- the Python verdict --------------------------------------------------------------------------
class _Statements:
    """read_statement of each distinct statement once (its outcome: the statement or the
    InputError), each in a folder of its own."""

    def __init__(self, base: Path):
        self.base, self.cache = base, {}

    def get(self, key: str, raw: bytes):
        if key not in self.cache:
            folder = self.base / f"s{len(self.cache)}"
            folder.mkdir()
            (folder / "statement.json").write_bytes(raw)
            try:
                self.cache[key] = read_statement(folder)[0]
            except InputError as e:
                self.cache[key] = e
        return self.cache[key]


def _python_verdict(file: Path, statement, user: str | None) -> dict:
    """What `verify-inclusion FILE --published DIR [--user USER] --skip-proof` decides
    (solvency/commands/inclusion.py), from its functions: exit code, verdict line, lines
    before it."""
    user = None if user is None else canonical_id(user)
    try:
        raw = load_json_strict(file, inclusion.MAX_INCLUSION_BYTES, "inclusion file")
        try:
            claim = inclusion.parse_inclusion(raw)
        except ValueError as e:
            raise InputError(file, None, None, str(e)) from None
        if isinstance(statement, InputError):
            raise statement
    except InputError as e:
        return {"exit": 2, "core": str(e), "notes": []}
    try:
        if user is not None and user != claim.user_id:
            raise inclusion.NotIncluded(
                f"this file is for the user id {claim.user_id!r}, not for {user!r}"
            )
        balances = inclusion.check_inclusion(claim, statement)
    except inclusion.NotIncluded as e:
        return {"exit": 1, "core": f"NOT INCLUDED: {e}", "notes": []}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _included(claim, statement, balances, user, True, 0.0)
    lines = out.getvalue().splitlines()
    core = lines[-1]
    assert SKIP_NOTE in core
    return {"exit": 0, "core": core[: core.rindex(SKIP_NOTE)], "notes": lines[:-1]}


# -- the mutations -------------------------------------------------------------------------------
def _dump(doc) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")


def _flip_hex(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    return text[:i] + rng.choice([c for c in "0123456789abcdef" if c != text[i]]) + text[i + 1 :]


def _amount_variants(text: str, dec: int) -> list:
    neg = text.startswith("-")
    body = text.lstrip("-")
    whole, _, frac = body.partition(".")
    out = [
        text + "0",  # trailing zeros: the same amount
        text.rstrip("0").rstrip(".") if "." in text else text,
        ("" if neg else "-") + body,  # the other sign
        "-0" if text.strip("-0.") == "" else text,
        whole + "." + (frac + "1") if dec else text + ".1",  # one decimal too many (or not)
        body[:-1] + str((int(body[-1]) + 1) % 10),  # one base unit off
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "-9223372036854775809",
        "1" * 40,
        "1" * 41,
        "0." + "0" * 40,
        "0." + "0" * 41,
        "+" + body,
        " " + text,
        text + " ",
        text + "\n",
        "1e3",
        ".5",
        "5.",
        "",
        "١٥٠",  # Arabic-Indic digits
        "１５０",  # full-width digits
        "1_000",
        "0x10",
        "--1",
        "0" * 40 + "1",
        "00" + body,
    ]
    if dec:
        out.append(whole + "." + frac[:dec].ljust(dec, "0") + "0" * 5)
        out.append(whole + "." + "9" * dec + "1")
    return out


def _inclusion_mutations(doc: dict, statement: dict, other_root: str, rng: random.Random):
    """(label, inclusion bytes, user) for the structured mutations of one golden file."""
    user = doc["user_id"]

    def with_(**changes):
        return {**doc, **changes}

    def without(name):
        return {k: v for k, v in doc.items() if k != name}

    yield "golden", _dump(doc), user
    yield "golden, no --user", _dump(doc), None
    for u in [
        "someone-else",
        " " + user + " ",
        user + "\u3000",
        user.upper(),
        "",
        "\t" + user,
        user + "\x00",
        unicodedata.normalize("NFD", "Jos\u00e9"),
        "a\ud800",
    ]:
        yield f"--user {u!r}", _dump(doc), u
    symbols = list(doc["balances"])
    decimals = {a["symbol"]: a["decimals"] for a in statement["assets"]}
    for sym in symbols:
        for v in _amount_variants(doc["balances"][sym], decimals[sym]):
            yield f"balance {sym}={v!r}", _dump(with_(balances={**doc["balances"], sym: v})), user
        for v in [1, 1.5, None, True, [], {}]:
            yield f"balance {sym}={v!r}", _dump(with_(balances={**doc["balances"], sym: v})), user
    yield "balances reversed", _dump(with_(balances=dict(reversed(doc["balances"].items())))), user
    yield "balances extra", _dump(with_(balances={**doc["balances"], "XRP": "0"})), user
    yield "balances missing", _dump(with_(balances=dict(list(doc["balances"].items())[1:]))), user
    yield (
        "balances renamed",
        _dump(with_(balances={k.lower(): v for k, v in doc["balances"].items()})),
        user,
    )
    yield "balances empty", _dump(with_(balances={})), user
    yield "balances list", _dump(with_(balances=list(doc["balances"].values()))), user
    for v in [
        _flip_hex(doc["nonce"], rng),
        doc["nonce"].upper(),
        doc["nonce"][:-8],
        doc["nonce"] + "00000000",
        "ffffffff" + doc["nonce"][8:],
        "78000001" + doc["nonce"][8:],
        "78000000" + doc["nonce"][8:],
        5,
        None,
        "",
    ]:
        yield f"nonce {v!r}", _dump(with_(nonce=v)), user
    path = doc["path"]
    for d in range(len(path)):
        bad = list(path)
        bad[d] = _flip_hex(path[d], rng)
        yield f"path[{d}] flipped", _dump(with_(path=bad)), user
    for label, bad in [
        ("path swapped", [path[1], path[0], *path[2:]]),
        ("path shorter", path[:-1]),
        ("path without its first", path[1:]),
        ("path longer", [*path, path[-1]]),
        ("path empty", []),
        ("path of 65", [path[0]] * 65),
        ("path of 64", [path[0]] * 64),
        ("path element upper", [path[0].upper(), *path[1:]]),
        ("path element >= p", ["78000001" + path[0][8:], *path[1:]]),
        ("path element number", [1, *path[1:]]),
        ("path element null", [None, *path[1:]]),
        ("path a string", "".join(path)),
        ("path an object", {"0": path[0]}),
        ("path reversed", path[::-1]),
    ]:
        yield label, _dump(with_(path=bad)), user
    n = statement["batches"][doc["batch"]]["users_padded"]
    count = len(statement["batches"])
    for v in [
        doc["row"] + 1,
        doc["row"] - 1,
        doc["row"] ^ 1,
        0,
        n - 1,
        n,
        n + doc["row"],
        (1 << 32) - 1,
        1 << 32,
        1 << 64,
        10**400,
        -1,
        True,
        False,
        None,
        "1",
        1.0,
        377.0,
    ]:
        yield f"row {v!r}", _dump(with_(row=v)), user
    for v in [
        doc["batch"] + 1,
        doc["batch"] - 1,
        count - 1,
        count,
        count + 1,
        4,
        (1 << 32) - 1,
        1 << 32,
        -1,
        True,
        None,
        "0",
        0.0,
    ]:
        yield f"batch {v!r}", _dump(with_(batch=v)), user
    for v in [
        user + "x",
        user.upper(),
        " " + user,
        "",
        "a\ud800",
        "\udc00",
        "é",
        "e\u0301",
        "李",
        7,
        None,
        ["x"],
    ]:
        yield f"user_id {v!r}", _dump(with_(user_id=v)), None
        yield f"user_id {v!r} with --user", _dump(with_(user_id=v)), user
    for v in [
        other_root,
        _flip_hex(doc["users_root"], rng),
        doc["users_root"].upper(),
        doc["users_root"][:-1],
        "78000001" + doc["users_root"][8:],
        0,
        None,
    ]:
        yield f"users_root {v!r}", _dump(with_(users_root=v)), user
    for name, values in [
        ("issuer", [doc["issuer"] + " ", "Other", "", 1, None, "golden exchange"]),
        ("as_of", ["2026-12-05T00:00:01Z", doc["as_of"].replace("Z", "+00:00"), 0, None]),
        ("format", ["stark-solvency-inclusion/2", "stark-solvency-inclusion/4", 3, None, ""]),
    ]:
        for v in values:
            yield f"{name} {v!r}", _dump(with_(**{name: v})), user
    for name in doc:
        yield f"missing {name}", _dump(without(name)), user
        yield f"{name} doubled in case", _dump({**doc, name.upper(): doc[name]}), user
    yield "extra field", _dump(with_(extra=1)), user
    yield "extra null field", _dump(with_(comment=None)), user
    yield "not an object", _dump([doc]), user
    yield "a string", _dump("x"), user
    yield "null", b"null", user
    yield "fields reordered", _dump(dict(reversed(doc.items()))), user
    text = _dump(doc).decode("utf-8")
    for label, raw in [
        ("BOM", b"\xef\xbb\xbf" + text.encode()),
        ("two BOMs", b"\xef\xbb\xbf\xef\xbb\xbf" + text.encode()),
        ("UTF-16", text.encode("utf-16")),
        ("UTF-16-LE no mark", text.encode("utf-16-le")),
        ("a byte not UTF-8", text.encode().replace(b'"issuer"', b'"issuer\xff"')),
        ("an overlong UTF-8", text.encode().replace(b"Golden", b"\xc1\x87olden")),
        ("an encoded surrogate", text.encode().replace(b"Golden", b"\xed\xa0\x80olden")),
        ("a NUL byte outside strings", text.encode() + b"\x00"),
        ("trailing garbage", text.encode() + b"x"),
        ("trailing whitespace", text.encode() + b" \t\r\n"),
        ("form feed whitespace", text.encode().replace(b",\n", b",\x0c\n", 1)),
        ("vertical tab whitespace", text.encode().replace(b",\n", b",\x0b\n", 1)),
        ("NBSP whitespace", text.replace(",\n", ",\u00a0\n", 1).encode()),
        ("trailing comma", text.encode().replace(b"\n}", b",\n}")),
        ("duplicate key", text.encode().replace(b"{\n", b'{\n  "row": 0,\n', 1)),
        (
            "duplicate key, same value",
            text.encode().replace(b"{\n", b'{\n  "format": "stark-solvency-inclusion/3",\n', 1),
        ),
        ("escaped key", text.encode().replace(b'"format"', b'"\\u0066ormat"')),
        ("escaped slash in value", text.encode().replace(b"Golden", b"Gol\\/den")),
        (
            "escaped id",
            text.replace(
                f'"{user}"', '"' + "".join(f"\\u{ord(c):04x}" for c in user) + '"'
            ).encode(),
        ),
        (
            "upper-case escape",
            text.replace(
                f'"{user}"', '"' + "".join(f"\\u{ord(c):04X}" for c in user) + '"'
            ).encode(),
        ),
        ("bad escape", text.encode().replace(b"Golden", b"Gol\\xden")),
        ("short unicode escape", text.encode().replace(b"Golden", b"Gol\\u06en")),
        ("tab inside a string", text.encode().replace(b"Golden", b"Gol\tden")),
        ("DEL inside a string", text.encode().replace(b"Golden", b"Gol\x7fden")),
        ("NaN row", re_row(text, "NaN")),
        ("Infinity row", re_row(text, "Infinity")),
        ("-Infinity row", re_row(text, "-Infinity")),
        ("row 1e2", re_row(text, "1e2")),
        ("row 01", re_row(text, "01")),
        ("row -0", re_row(text, "-0")),
        ("row 0.0e0", re_row(text, "0.0e0")),
        ("row 1E400", re_row(text, "1E400")),
        ("row with 4300 digits", re_row(text, "1" * 4300)),
        ("row with 4301 digits", re_row(text, "1" * 4301)),
        ("row +1", re_row(text, "+1")),
        ("row -", re_row(text, "-")),
        ("row .5", re_row(text, ".5")),
        ("row 5.", re_row(text, "5.")),
        ("row true", re_row(text, "true")),
        ("row TRUE", re_row(text, "TRUE")),
        ("comment", text.encode().replace(b"{\n", b"{ // c\n", 1)),
        ("single quotes", text.encode().replace(b'"format"', b"'format'")),
        ("empty", b""),
        ("whitespace only", b" \n"),
        ("too large", text.encode() + b" " * (1 << 16)),
        ("just under the limit", text.encode() + b" " * ((1 << 16) - len(text.encode()))),
        ("just over the limit", text.encode() + b" " * ((1 << 16) - len(text.encode()) + 1)),
        (
            "deeply nested extra",
            text.encode().replace(b"{\n", b'{\n  "x": ' + b"[" * 50 + b"]" * 50 + b",\n", 1),
        ),
        (
            "deeply nested balance",
            text.encode().replace(
                b'"balances": {', b'"balances": {"Z": ' + b"[" * 3000 + b"]" * 3000 + b",", 1
            ),
        ),
    ]:
        yield label, raw, user


def re_row(text: str, token: str) -> bytes:
    import re

    return re.sub(r'"row": [0-9]+', f'"row": {token}', text).encode()


def _random_text_mutations(raw: bytes, user: str, rng: random.Random, count: int):
    """Random character edits of the file's text (a character replaced, deleted or inserted
    from an alphabet of JSON's punctuation, digits, hex, quotes and a few non-ASCII)."""
    alphabet = [
        *'{}[]:,"\\ 0123456789abcdefABCDEF-+.eEtrunlfsx\n\t',
        *("é", "\u00a0", "١", "\ufeff", "\x00", "\x1f"),
    ]
    text = raw.decode("utf-8")
    for k in range(count):
        t = text
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            i = rng.randrange(len(t))
            op = rng.random()
            if op < 0.5:
                t = t[:i] + rng.choice(alphabet) + t[i + 1 :]
            elif op < 0.75:
                t = t[:i] + t[i + 1 :]
            else:
                t = t[:i] + rng.choice(alphabet) + t[i:]
        yield f"random edit {k}", t.encode("utf-8"), rng.choice([user, None])


def _statement_mutations(st: dict, other_root: str, rng: random.Random):
    """(label, statement document or raw bytes) for the fields the check reads and the shape."""
    import copy

    def changed(fn):
        d = copy.deepcopy(st)
        fn(d)
        return d

    def setter(*keys, value):
        def fn(d):
            obj = d
            for k in keys[:-1]:
                obj = obj[k]
            obj[keys[-1]] = value

        return fn

    count = len(st["batches"])
    n = st["batches"][0]["users_padded"]
    yield "golden", st
    for v in [
        "Other Exchange",
        "Golden Exchange ",
        " Golden Exchange",
        "",
        "Golden\x00Exchange",
        "Golden\u2028Exchange",
        "Golden\u200bExchange",
        "Golden\u00a0Exchange",
        "x" * 256,
        "x" * 257,
        "é" * 128,
        "é" * 129,
        1,
        None,
        "golden exchange",
        "Golden\u0378",
    ]:
        yield f"issuer {v!r}", changed(setter("issuer", value=v))
    asof = st["as_of"]
    for v in [
        asof.replace("00:00:00", "00:00:01"),
        asof.replace("Z", ".000000Z"),
        asof.replace("Z", ".000001Z"),
        asof.replace("Z", "+00:00"),
        asof.lower(),
        "0999-01-01T00:00:00Z",
        "1000-01-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-12-05T24:00:00Z",
        "2026-12-05T23:59:60Z",
        "2026-12-05 00:00:00Z",
        "２０２６-12-05T00:00:00Z",
        "",
        0,
        None,
    ]:
        yield f"as_of {v!r}", changed(setter("as_of", value=v))
    for v in [
        other_root,
        _flip_hex(st["users_root"], rng),
        st["users_root"].upper(),
        st["users_root"][:-8],
        "78000001" + st["users_root"][8:],
        None,
    ]:
        yield f"users_root {v!r}", changed(setter("users_root", value=v))
    for j, asset in enumerate(st["assets"]):
        for v in [
            "XBT",
            "btc",
            asset["symbol"] + ".x",
            "-BTC",
            "B" * 32,
            "B" * 33,
            "",
            "B T",
            st["assets"][(j + 1) % len(st["assets"])]["symbol"],
            5,
            None,
        ]:
            yield f"assets[{j}].symbol {v!r}", changed(setter("assets", j, "symbol", value=v))
        for v in [
            asset["decimals"] + 1,
            asset["decimals"] - 1,
            0,
            255,
            256,
            -1,
            True,
            8.0,
            "8",
            None,
        ]:
            yield f"assets[{j}].decimals {v!r}", changed(setter("assets", j, "decimals", value=v))
        for name, vals in [
            ("price", ["1", "-1", "1e3", "1.", "١"]),
            ("total", ["0", "x", 5]),
            ("integer_price", ["0", "1" * 28, "1" * 40, "1" * 41, "-1", "1.5"]),
            ("total_base_units", ["x", "1.5", 0]),
        ]:
            for v in vals:
                yield f"assets[{j}].{name} {v!r}", changed(setter("assets", j, name, value=v))
    for j, asset in enumerate(st["assets"]):
        for name, vals in [
            ("total_base_units", ["0", "-1", str(1 << 70), str(-(1 << 75)), "1" * 40]),
            ("equity_base_units", ["0", "1", str(1 << 72), "-1"]),
            ("debt_base_units", ["0", "-1", "x"]),
            ("haircut", _haircut_variants()),
        ]:
            if name in asset:
                for v in vals:
                    yield f"assets[{j}].{name} {v!r}", changed(setter("assets", j, name, value=v))
    yield "assets reversed", changed(lambda d: d["assets"].reverse())
    yield "assets without the last", changed(lambda d: d["assets"].pop())
    yield "assets empty", changed(setter("assets", value=[]))
    yield "asset extra field", changed(lambda d: d["assets"][0].update(extra=1))
    yield "asset missing decimals", changed(lambda d: d["assets"][0].pop("decimals"))
    for b in range(count):
        for v in [n // 2, n * 2, n + 1, 256, 1 << 17, 1 << 18, 0, True, float(n), None]:
            yield (
                f"batches[{b}].users_padded {v!r}",
                changed(setter("batches", b, "users_padded", value=v)),
            )

            def both(d, b=b, v=v):
                d["batches"][b]["users_padded"] = v
                if isinstance(v, int) and not isinstance(v, bool):
                    d["users_padded"] = sum(r["users_padded"] for r in d["batches"])

            yield f"batches[{b}].users_padded {v!r}, sum too", changed(both)
        for name, vals in [
            ("commitment", [None, "x", _flip_hex("0" * 64, rng)]),
            ("leaves_root", [None, "x", "78000001" + "0" * 56]),
            ("proof_sha256", ["x", "A" * 64]),
            ("proof_bytes", [-1, 1.0, None]),
        ]:
            for v in vals:
                yield f"batches[{b}].{name} {v!r}", changed(setter("batches", b, name, value=v))
    yield "batches empty", changed(setter("batches", value=[]))
    if count > 1:

        def drop_last(d):
            d["batches"].pop()
            d["users_padded"] -= n

        yield "the last batch dropped", changed(drop_last)
        yield "aggregate null", changed(setter("aggregate", value=None))
    else:
        yield (
            "aggregate given",
            changed(setter("aggregate", value={"proof_sha256": "0" * 64, "proof_bytes": 1})),
        )

        def second(d):
            d["batches"].append(copy.deepcopy(d["batches"][0]))
            d["users_padded"] *= 2

        yield "a second batch, without commitments", changed(second)
    for v in [st["users_padded"] + 1, 0, -1, str(st["users_padded"]), None]:
        yield f"users_padded {v!r}", changed(setter("users_padded", value=v))
    other_format = {
        "stark-solvency-publication/1": "stark-solvency-publication/2",
        "stark-solvency-publication/2": "stark-solvency-publication/1",
    }[st["format"]]
    for v in [other_format, "stark-solvency-publication/3", None, 2]:
        yield f"format {v!r}", changed(setter("format", value=v))
    for name, vals in [
        ("zero_knowledge", [1, None]),
        ("preset", [None, 1, "custom"]),
        ("inclusion", [{"leaf_hash": 1}, {}, {"leaf_hash": "x", "y": 1}, None]),
        ("security", [{}, None]),
        ("params", [None, []]),
        ("snapshot", ["x", st["snapshot"].upper()]),
        ("insecure_seeded", [True, 0]),
        ("quote", ["EUR", "", "U S D", 1]),
        ("price_scale", [0, 65535, 65536, -1, 1.0]),
    ]:
        for v in vals:
            yield f"{name} {v!r}", changed(setter(name, value=v))
    for name in st:
        yield f"missing {name}", {k: v for k, v in st.items() if k != name}
    yield "extra field", {**st, "extra": None}
    text = json.dumps(st, indent=2)
    yield "BOM", b"\xef\xbb\xbf" + text.encode()
    yield "duplicate key", text.replace("{\n", '{\n  "issuer": "Golden Exchange",\n', 1).encode()
    yield "trailing comma", text.replace("\n}", ",\n}").encode()
    yield "not UTF-8", text.encode().replace(b"Golden", b"Gold\xe9n")
    yield "NaN price_scale", text.replace('"price_scale": 10', '"price_scale": NaN').encode()
    yield "float price_scale", text.replace('"price_scale": 10', '"price_scale": 10.0').encode()


def _random_statement_edits(raw: bytes, rng: random.Random, count: int):
    """Random character edits of statement.json outside the value of "params" (the part
    web/src/statement.js does not replicate), as `_random_text_mutations` edits a file."""
    text = raw.decode("utf-8")
    start = text.index('"params":')
    end = text.index("}", start) + 1
    alphabet = [*'{}[]:,"\\ 0123456789abcdef-.e\n', *("é", "\u2028", "\x00")]
    for k in range(count):
        t = text
        i = rng.choice([rng.randrange(start), rng.randrange(end, len(t))])
        op = rng.random()
        if op < 0.5:
            t = t[:i] + rng.choice(alphabet) + t[i + 1 :]
        elif op < 0.75:
            t = t[:i] + t[i + 1 :]
        else:
            t = t[:i] + rng.choice(alphabet) + t[i:]
        yield f"random edit {k}", t.encode("utf-8")


def _joint_mutations(doc: dict, st: dict):
    """(label, inclusion document, statement document) changed together, consistently."""
    import copy

    symbols = list(doc["balances"])
    for j in range(len(symbols)):
        for name in (str(10 + j), "1", "0", "9" * 32):  # keys a JavaScript object would reorder
            s2 = copy.deepcopy(st)
            s2["assets"][j]["symbol"] = name
            renamed = {(name if k == symbols[j] else k): v for k, v in doc["balances"].items()}
            yield f"symbol {j} renamed {name!r}", {**doc, "balances": renamed}, s2
    if len(st["batches"]) > 1:  # the batches before the last larger than the last
        s2 = copy.deepcopy(st)
        for r in s2["batches"][:-1]:
            r["users_padded"] *= 2
        s2["users_padded"] = sum(r["users_padded"] for r in s2["batches"])
        yield "the last batch smaller", doc, s2
        yield "the last batch smaller, row past it", {**doc, "row": 600}, s2
        yield "the last batch smaller, batch 0", {**doc, "batch": 0}, s2
    for issuer in ("Ünïcode Exchange", "交易所", "x" * 256, 'O\'Brien "Exchange"'):
        yield f"issuer {issuer!r} both", {**doc, "issuer": issuer}, {**st, "issuer": issuer}


def _haircut_variants() -> list:
    def tier(up_to, percent):
        return {"percent": percent} if up_to is None else {"up_to": up_to, "percent": percent}

    return [
        None,
        [],
        {},
        [tier(None, 50)],
        [tier(None, 100)],
        [tier("10", 100), tier(None, 100)],
        [tier(None, 101)],
        [tier(None, -1)],
        [tier(None, 50.0)],
        [tier(None, True)],
        [tier(None, "50")],
        [tier("10", 90), tier(None, 95)],
        [tier("10", 90), tier("10", 80), tier(None, 50)],
        [tier("10", 90), tier("5", 80), tier(None, 50)],
        [tier("10", 90)],
        [tier(None, 90), tier(None, 50)],
        [tier("010", 90), tier(None, 50)],
        [tier(10, 90), tier(None, 50)],
        [tier("0", 90), tier(None, 50)],
        [tier("92233720368", 90), tier(None, 50)],
        [tier("9223372036854775807", 90), tier(None, 50)],
        [tier("1" * 41, 90), tier(None, 50)],
        [{"up_to": "10", "percent": 90, "x": 1}, tier(None, 50)],
        [{"up_to": "10"}, tier(None, 50)],
        [tier(str(t + 1), 90 - t) for t in range(7)] + [tier(None, 10)],
        [tier(str(t + 1), 90 - t) for t in range(8)] + [tier(None, 10)],
        [None],
    ]


def _cases():
    """Every (label, inclusion bytes, statement key, statement bytes, user)."""
    rng = random.Random(18)
    roots = {
        (pub, d): json.loads((GOLDEN / pub / d / "statement.json").read_text())["users_root"]
        for pub, d, _ in BASES
    }
    for pub, d, file in BASES:
        doc = json.loads((GOLDEN / pub / file).read_text(encoding="utf-8"))
        raw_statement = (GOLDEN / pub / d / "statement.json").read_bytes()
        st = json.loads(raw_statement)
        other = next(r for k, r in roots.items() if k != (pub, d))
        base_key = f"{pub}/{d}"
        for label, raw, user in _inclusion_mutations(doc, st, other, rng):
            yield f"{base_key} {file}: {label}", raw, base_key, raw_statement, user
        golden = (GOLDEN / pub / file).read_bytes()
        for label, raw, user in _random_text_mutations(golden, doc["user_id"], rng, 150):
            yield f"{base_key} {file}: {label}", raw, base_key, raw_statement, user
        for k, (label, mutated) in enumerate(_statement_mutations(st, other, rng)):
            raw_st = mutated if isinstance(mutated, bytes) else _dump(mutated)
            key = f"{base_key}#{k}"
            for user in (doc["user_id"], None):
                yield f"{base_key} statement: {label}", _dump(doc), key, raw_st, user
        for label, raw_st in _random_statement_edits(raw_statement, rng, 150):
            key = f"{base_key}~{label}"
            yield f"{base_key} statement: {label}", golden, key, raw_st, doc["user_id"]
        for label, inc, st2 in _joint_mutations(doc, st):
            key = f"{base_key}+{label}"
            for user in (doc["user_id"], None):
                yield f"{base_key} joint: {label}", _dump(inc), key, _dump(st2), user
        # every golden file against every other statement too
        for pub2, d2, _ in BASES:
            raw2 = (GOLDEN / pub2 / d2 / "statement.json").read_bytes()
            yield f"{base_key} {file} against {pub2}/{d2}", golden, f"{pub2}/{d2}", raw2, None


def test_javascript_and_python_agree_on_mutated_inclusion_files(tmp_path):
    node = _node()
    statements = _Statements(tmp_path)
    cases, statement_bytes, expected = [], {}, []
    for k, (label, raw, key, raw_st, user) in enumerate(_cases()):
        statement_bytes[key] = raw_st
        file = tmp_path / f"i{k}.json"
        file.write_bytes(raw)
        expected.append((label, user, _python_verdict(file, statements.get(key, raw_st), user)))
        cases.append({"inclusion": base64.b64encode(raw).decode(), "statement": key, "user": user})
    assert len(cases) >= MIN_CASES
    document = {
        "statements": {k: base64.b64encode(v).decode() for k, v in statement_bytes.items()},
        "cases": cases,
    }
    batch = tmp_path / "cases.json"
    batch.write_text(json.dumps(document), encoding="utf-8")
    done = subprocess.run(
        [node, str(ROOT / "web" / "tools" / "differential.mjs"), str(batch)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    got = json.loads(done.stdout)
    assert len(got) == len(cases)
    disagreements = []
    for (label, user, py), js in zip(expected, got, strict=True):
        same = js["exit"] == py["exit"] and (
            py["exit"] == 2 or (js["core"] == py["core"] and js["notes"] == py["notes"])
        )
        if not same:
            disagreements.append(f"{label} (--user {user!r}):\n  python: {py}\n  js:     {js}")
    outcomes = {e: sum(1 for _, _, py in expected if py["exit"] == e) for e in (0, 1, 2)}
    print(f"{len(cases)} cases, python exits {outcomes}, {len(disagreements)} disagreements")
    assert not disagreements, f"{len(disagreements)} of {len(cases)}:\n" + "\n".join(
        disagreements[:30]
    )
    assert outcomes[0] >= 20 and outcomes[1] >= 200 and outcomes[2] >= 200  # every kind, often
