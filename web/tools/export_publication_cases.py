"""Write web/test/fixtures/publication_cases.json: a corpus of whole publications, the four golden
ones (tests/golden/publication-{1,2}/{one-batch,three-batches}) and seeded mutations of them,
each with what `solvency verify DIR --json` says about it under three policies (the default,
--accept-conjectured-security, and a --min-security), for web/test/check.test.js, which runs
web/src/check.js's checkPublication on every case and asserts the same exit code, verdict line,
detail line, warnings and report.

The mutations: statement.json's fields in value and in type (every top-level, asset, tier,
batch, aggregate, security and params field), duplicate, unknown and missing keys, a BOM,
bytes that are not UTF-8, JSON syntax, huge integers, security figures moved by +-0.004 and
+-0.01, the other preset's parameters, loose numbers in params (4.0, True), preset and
zero_knowledge flipped, insecure_seeded; re-encodings that stay VALID (key order, whitespace,
"97000.120", escapes); a missing or extra file, proof.bin and leaves.bin truncated, flipped,
swapped, with and without the statement's digests (proof_sha256, proof_bytes, leaves_root,
users_root) updated so that the later checks are reached.

Python is run in-process through the CLI's own code path (`run_verify` of
solvency/commands/verify.py, --json) inside the case's folder, so that files are named as
`solvency verify .` names them. Each run also records its stage: "statement" (decided before
any AIR is built), "shapes" (the security figures were recomputed, which builds the AIRs for
their shapes, but no STARK proof was verified) or "proofs" (a STARK proof was verified), and
the AIR shapes Python's weakest_security used. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_publication_cases.py

tests/web/test_publication_cases.py fails if the committed fixture differs from what this
writes. It takes about a minute (the proofs are verified about 200 times).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import io
import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np

import solvency.publication.check as check_module
import solvency.publication.statement as statement_module
from circuits.leaf import leaves_root
from solvency.commands.verify import run_verify
from solvency.publication.encoding import coins, elements_hex
from solvency.publication.statement import users_tree
from stark.params import PRESETS

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "publication_cases.json"
GOLDEN = ROOT / "tests" / "golden"
BASES = (
    "publication-1/one-batch",
    "publication-1/three-batches",
    "publication-2/one-batch",
    "publication-2/three-batches",
)
P = 2013265921
STATEMENT = "statement.json"
TYPE_MUTATED = ("publication-1/three-batches", "publication-2/one-batch")
MIN_SECURITY = (100.0, 107.0, 107.72, 107.8, 110.5, 123.4567, 127.99, 128.0, 1000.0)


# -- the publications ----------------------------------------------------------------------------
def load_base(name: str) -> dict[str, bytes]:
    folder = GOLDEN / name
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def document(files: dict[str, bytes]) -> dict:
    return json.loads(files[STATEMENT])


def dump(doc) -> bytes:
    """statement.json as the format writes it (encoding.json_bytes)."""
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")


def proof_path(b: int) -> str:
    return f"batches/b{b:05d}/proof.bin"


def leaves_path(b: int) -> str:
    return f"batches/b{b:05d}/leaves.bin"


def root_of(leaves: bytes) -> np.ndarray:
    values = np.frombuffer(leaves, dtype="<u4").astype(np.uint64).reshape(-1, 8)
    return leaves_root(values)


# -- edits ---------------------------------------------------------------------------------------
def apply_op(files: dict[str, bytes], op: dict) -> None:
    """One edit of a file other than statement.json (the node test applies the same ones)."""
    path, kind = op["path"], op["op"]
    if kind == "delete":
        del files[path]
    elif kind == "copy":
        files[path] = files[op["from"]]
    elif kind == "truncate":
        files[path] = files[path][: op["length"]]
    elif kind == "append":
        files[path] = files[path] + bytes.fromhex(op["hex"])
    elif kind == "xor":
        data = bytearray(files[path])
        data[op["at"]] ^= op["mask"]
        files[path] = bytes(data)
    elif kind == "u32":
        data = bytearray(files[path])
        data[op["at"] : op["at"] + 4] = op["value"].to_bytes(4, "little")
        files[path] = bytes(data)
    else:
        raise ValueError(kind)


def statement_patch(base: bytes, new: bytes) -> dict:
    """The new statement.json as one replaced span of the base's bytes."""
    start = 0
    while start < min(len(base), len(new)) and base[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(base), len(new)) - start and base[-1 - end] == new[-1 - end]:
        end += 1
    return {"at": start, "cut": len(base) - start - end, "hex": new[start : len(new) - end].hex()}


class Case:
    """A mutated copy of a base publication: its files and how they were made from the base."""

    def __init__(self, base_name: str, base: dict[str, bytes], label: str):
        self.base_name, self.base, self.label = base_name, base, label
        self.files = dict(base)
        self.ops: list[dict] = []

    def op(self, **op) -> Case:
        apply_op(self.files, op)
        self.ops.append(op)
        return self

    def statement(self, data: bytes) -> Case:
        self.files[STATEMENT] = data
        return self

    def doc(self) -> dict:
        return document(self.files)

    def record(self) -> dict:
        out = {"base": self.base_name, "label": self.label}
        if STATEMENT in self.files and self.files[STATEMENT] != self.base[STATEMENT]:
            out["statement"] = statement_patch(self.base[STATEMENT], self.files[STATEMENT])
        if self.ops:
            out["ops"] = self.ops
        return out


# -- the mutations -------------------------------------------------------------------------------
TYPE_VALUES = [None, True, False, 0, -1, 7, 2**64, 1.5, 512.0, "", "x", [], {}, [1], {"a": 1}]


def field_paths(doc: dict) -> list[tuple]:
    """Every field of the statement as a path of keys and indices."""
    paths = [(k,) for k in doc]
    for j, asset in enumerate(doc["assets"]):
        paths += [("assets", j, k) for k in asset]
        for t, tier in enumerate(asset.get("haircut") or []):
            paths += [("assets", j, "haircut", t, k) for k in tier]
    for b, batch in enumerate(doc["batches"]):
        paths += [("batches", b, k) for k in batch]
    if doc["aggregate"] is not None:
        paths += [("aggregate", k) for k in doc["aggregate"]]
    paths += [("security", k) for k in doc["security"]]
    paths += [("security", "terms", k) for k in doc["security"]["terms"]]
    paths += [("params", k) for k in doc["params"]]
    paths += [("inclusion", "leaf_hash")]
    return paths


def get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def put(doc, path, value):
    get(doc, path[:-1])[path[-1]] = value


def delete(doc, path):
    del get(doc, path[:-1])[path[-1]]


def name_of(path) -> str:
    return ".".join(str(k) for k in path)


def shifted_text(text: str, rng: random.Random) -> str:
    """A hex digit of a digest changed."""
    i = rng.randrange(len(text))
    return text[:i] + ("0" if text[i] != "0" else "1") + text[i + 1 :]


def type_mutations(case_of, doc, rng):
    """Every field set to values of other types (a sample per field) or deleted, and unknown
    and duplicate keys at each level."""
    for path in field_paths(doc):
        for value in rng.sample(TYPE_VALUES, 2):
            d = copy.deepcopy(doc)
            put(d, path, value)
            yield case_of(f"{name_of(path)} = {json.dumps(value)}").statement(dump(d))
        d = copy.deepcopy(doc)
        delete(d, path)
        yield case_of(f"{name_of(path)} missing").statement(dump(d))
    for where in [(), ("assets", 0), ("batches", 0), ("security",), ("params",), ("inclusion",)]:
        d = copy.deepcopy(doc)
        get(d, where)["zzz_unknown"] = 1
        yield case_of(f"unknown field in {name_of(where) or 'the top'}").statement(dump(d))
    text = dump(doc).decode()
    for key in ['"issuer"', '"symbol"', '"zk"', '"provable_bits"', '"leaf_hash"']:
        i = text.index(key)
        line_start = text.rindex("\n", 0, i) + 1
        line_end = text.index("\n", i)
        line = text[line_start:line_end].rstrip(",")
        duplicated = text[:line_start] + line + ",\n" + text[line_start:]
        yield case_of(f"duplicate key {key}").statement(duplicated.encode())


def syntax_mutations(case_of, base: bytes):
    text = base.decode()
    bom = b"\xef\xbb\xbf"
    yield case_of("a BOM (VALID)").statement(bom + base)
    yield case_of("two BOMs").statement(bom + bom + base)
    yield case_of("UTF-16").statement(b"\xff\xfe" + text.encode("utf-16-le"))
    i = base.index(b"Golden")
    yield case_of("a byte that is not UTF-8 in the issuer").statement(
        base[:i] + b"\xc3(" + base[i + 2 :]
    )
    yield case_of("a lone continuation byte").statement(base[:i] + b"\x80" + base[i + 1 :])
    yield case_of("an overlong encoding").statement(base[:i] + b"\xc0\xaf" + base[i + 2 :])
    yield case_of("an encoded surrogate").statement(base[:i] + b"\xed\xa0\x80" + base[i + 3 :])
    yield case_of("empty file").statement(b"")
    yield case_of("whitespace only").statement(b" \n\t\n")
    yield case_of("truncated in half").statement(base[: len(base) // 2])
    yield case_of("truncated by one byte").statement(base[:-2])
    yield case_of("trailing garbage").statement(base + b"x")
    yield case_of("a second document").statement(base + b"{}")
    yield case_of("a list").statement(b"[" + base + b"]")
    yield case_of("a string").statement(b'"statement"')
    yield case_of("null").statement(b"null")
    yield case_of("a trailing comma").statement(
        text.replace('"quote": "USD"', '"quote": "USD",,').encode()
    )
    yield case_of("a missing comma").statement(
        text.replace('"quote": "USD",', '"quote": "USD"', 1).encode()
    )
    yield case_of("a missing colon").statement(text.replace('"quote": ', '"quote" ', 1).encode())
    yield case_of("a single-quoted key").statement(text.replace('"quote"', "'quote'", 1).encode())
    yield case_of("NaN").statement(
        text.replace('"price_scale": 10', '"price_scale": NaN', 1).encode()
    )
    yield case_of("Infinity").statement(
        text.replace('"price_scale": 10', '"price_scale": Infinity', 1).encode()
    )
    yield case_of("-Infinity").statement(
        text.replace('"price_scale": 10', '"price_scale": -Infinity', 1).encode()
    )
    yield case_of("1e400").statement(
        text.replace('"price_scale": 10', '"price_scale": 1e400', 1).encode()
    )
    yield case_of("4,300 digits").statement(
        text.replace('"price_scale": 10', '"price_scale": ' + "9" * 4300, 1).encode()
    )
    yield case_of("4,301 digits").statement(
        text.replace('"price_scale": 10', '"price_scale": ' + "9" * 4301, 1).encode()
    )
    yield case_of("a control character in a string").statement(
        text.replace("Golden", "Gol\tden", 1).encode()
    )
    yield case_of("an invalid escape").statement(text.replace("Golden", "Gol\\xden", 1).encode())
    yield case_of("a short unicode escape").statement(
        text.replace("Golden", "Gol\\u12", 1).encode()
    )
    yield case_of("an escaped issuer (VALID)").statement(
        text.replace("Golden", "\\u0047olden", 1).encode()
    )
    yield case_of("an escaped slash in as_of").statement(
        text.replace("2026-", "2026\\/", 1).encode()
    )
    yield case_of("a lone surrogate in the issuer").statement(
        text.replace("Golden", "Gol\\ud800den", 1).encode()
    )
    yield case_of("an unterminated string").statement(base[: base.index(b"Golden") + 3])
    yield case_of("CRLF line ends (VALID)").statement(text.replace("\n", "\r\n").encode())
    yield case_of("a form feed between tokens").statement(text.replace("{\n", "{\f\n", 1).encode())
    yield case_of("a leading zero").statement(
        text.replace('"price_scale": 10', '"price_scale": 010', 1).encode()
    )
    yield case_of("a plus sign").statement(
        text.replace('"price_scale": 10', '"price_scale": +10', 1).encode()
    )
    yield case_of("10.0 for an integer").statement(
        text.replace('"price_scale": 10', '"price_scale": 10.0', 1).encode()
    )
    yield case_of("1e1 for an integer").statement(
        text.replace('"price_scale": 10', '"price_scale": 1e1', 1).encode()
    )


def value_mutations(case_of, doc, rng):
    """Fields given other values of their own type (re-encodings that stay VALID among them)."""
    three = len(doc["batches"]) > 1
    gross = doc["format"].endswith("/2")
    out = []

    def edit(label, path=(), **fields):
        """A copy of the statement with `fields` set in the object at `path`."""
        d = copy.deepcopy(doc)
        get(d, path).update(fields)
        out.append(case_of(label).statement(dump(d)))

    def change(label, fn):
        """A copy of the statement changed in place by fn."""
        d = copy.deepcopy(doc)
        fn(d)
        out.append(case_of(label).statement(dump(d)))

    other_format = "stark-solvency-publication/" + ("1" if gross else "2")
    edit("format 1 <-> 2", format=other_format)
    edit("format 3", format="stark-solvency-publication/3")
    for label, issuer in [
        ("changed", "Other Exchange"), ("with a leading space", " Golden Exchange"),
        ("with a trailing U+0085", "Golden Exchange\x85"), ("with U+2028", "Golden\u2028Exchange"),
        ("with a trailing U+FEFF", "Golden Exchange\ufeff"), ("with U+001C", "\x1cGolden"),
        ("non-ASCII", "Göldén Exchange 金"), ("of 257 bytes", "G" * 257),
        ("with an unassigned code point", "Golden \U000e0080"),
        ("with U+00A0 inside", "Golden\xa0X"),
        ("with a Unicode 15 character", "Golden \U0001fae8"),
        ("with a Unicode 15 control", "Golden\U00013439"),
    ]:  # fmt: skip
        edit(f"issuer {label}", issuer=issuer)
    as_of = doc["as_of"]
    for label, value in [
        ("changed", "2026-12-06T00:00:00Z"), ("30 February", "2026-02-30T00:00:00Z"),
        ("with .000000", as_of[:-1] + ".000000Z"), ("with .000001", as_of[:-1] + ".000001Z"),
        ("with a space", as_of.replace("T", " ")), ("year 0999", "0999-12-05T00:00:00Z"),
        ("29 February 2100", "2100-02-29T00:00:00Z"), ("29 February 2000", "2000-02-29T00:00:00Z"),
        ("hour 24", as_of.replace("T00", "T24")),
    ]:  # fmt: skip
        edit(f"as_of {label}", as_of=value)
    edit("quote EUR", quote="EUR")
    edit("quote with a space", quote="U SD")
    edit("quote with a Unicode 15 character", quote="US\U0001fae8")
    edit("quote with U+00A0", quote="US\xa0")
    edit("price_scale + 1", price_scale=doc["price_scale"] + 1)
    edit("price_scale 2^16", price_scale=1 << 16)
    edit("snapshot changed", snapshot=shifted_text(doc["snapshot"], rng))
    edit("snapshot in capitals", snapshot=doc["snapshot"].upper())
    edit("users_padded + 512", users_padded=doc["users_padded"] + 512)
    edit("insecure_seeded true", insecure_seeded=True)
    edit("insecure_seeded and zero_knowledge false", insecure_seeded=True, zero_knowledge=False)
    edit("zero_knowledge false", zero_knowledge=False)
    edit("preset fast", preset="fast")
    edit("preset null", preset=None)
    edit("preset PROVEN", preset="PROVEN")
    edit("leaf_hash w16", ("inclusion",), leaf_hash="poseidon2-babybear-w16")
    edit("users_root changed", users_root=shifted_text(doc["users_root"], rng))
    edit("users_root p", users_root="78000001" + doc["users_root"][8:])
    reordered = dump(dict(reversed(list(doc.items()))))
    out.append(case_of("keys in reverse order (VALID)").statement(reordered))
    change("assets in reverse order", lambda d: d["assets"].reverse())
    change("assets: the first duplicated", lambda d: d["assets"].append(d["assets"][0]))
    change("assets: the last removed", lambda d: d["assets"].pop())
    edit("assets: none", assets=[])
    edit("symbol duplicated", ("assets", 1), symbol=doc["assets"][0]["symbol"])
    edit("symbol lower case", ("assets", 0), symbol=doc["assets"][0]["symbol"].lower())
    edit("symbol with a space", ("assets", 0), symbol="B TC")
    edit("decimals + 1", ("assets", 0), decimals=doc["assets"][0]["decimals"] + 1)
    edit("decimals 256", ("assets", 0), decimals=256)
    edit("batches: none", batches=[])
    change("batches: the first repeated", lambda d: d["batches"].append(d["batches"][0]))
    edit("batch users_padded 1024", ("batches", 0), users_padded=1024)
    edit("batch users_padded 256", ("batches", count_of(doc) - 1), users_padded=256)
    last = doc["batches"][-1]
    edit("batch leaves_root changed", ("batches", count_of(doc) - 1),
         leaves_root=shifted_text(last["leaves_root"], rng))  # fmt: skip
    edit("batch proof_sha256 changed", ("batches", count_of(doc) - 1),
         proof_sha256=shifted_text(last["proof_sha256"], rng))  # fmt: skip
    first_bytes = doc["batches"][0]["proof_bytes"]
    edit("batch proof_bytes + 1", ("batches", 0), proof_bytes=first_bytes + 1)
    edit("batch proof_bytes - 1", ("batches", 0), proof_bytes=first_bytes - 1)
    edit("batch commitment on one batch", ("batches", 0), commitment="00000001" * 8)
    edit("aggregate on one batch", aggregate={"proof_sha256": "00" * 32, "proof_bytes": 1})
    if three:
        aggregate, second = doc["aggregate"], doc["batches"][1]
        edit("aggregate proof_bytes + 1", ("aggregate",), proof_bytes=aggregate["proof_bytes"] + 1)
        edit("aggregate proof_sha256 changed", ("aggregate",),
             proof_sha256=shifted_text(aggregate["proof_sha256"], rng))  # fmt: skip
        edit("aggregate null", aggregate=None)
        edit("a commitment changed", ("batches", 1),
             commitment=shifted_text(second["commitment"], rng))  # fmt: skip
        edit("a commitment p", ("batches", 1), commitment="78000001" + second["commitment"][8:])
        change("batches swapped", lambda d: d["batches"].insert(0, d["batches"].pop(1)))
    for j, a in enumerate(doc["assets"]):
        asset_mutations(edit, j, a, gross)
    security_mutations(edit, doc)
    return out


def count_of(doc) -> int:
    return len(doc["batches"])


def asset_mutations(edit, j, a, gross) -> None:
    """One asset's amounts, prices and haircut table, in value."""
    where, dec = ("assets", j), a["decimals"]
    price, total = a["price"], int(a["total_base_units"])
    last_digit = str((int(price[-1]) + 1) % 10)
    edit(
        f"asset {j} price + trailing zero (VALID)",
        where,
        price=price + ("0" if "." in price else ".0"),
    )
    edit(f"asset {j} price off by one digit", where, price=price[:-1] + last_digit)
    edit(f"asset {j} price with an exponent", where, price="9.7e4")
    edit(f"asset {j} price with a plus", where, price="+" + price)
    edit(f"asset {j} price with leading zeros (VALID)", where, price="00" + price)
    edit(f"asset {j} price negative", where, price="-" + price)
    edit(f"asset {j} price of 201 characters", where, price="0" * 201)
    edit(f"asset {j} price in Arabic-Indic digits", where, price="\u0661\u0662")
    edit(f"asset {j} integer_price + 1", where, integer_price=str(int(a["integer_price"]) + 1))
    edit(f"asset {j} integer_price 2^90", where, integer_price=str(1 << 90))
    edit(f"asset {j} integer_price 0 with price 0", where, integer_price="0", price="0")
    edit(f"asset {j} integer_price 41 digits", where, integer_price="1" * 41)
    edit(f"asset {j} integer_price negative", where, integer_price="-1")
    edit(f"asset {j} total + 1 unit", where, total=coins(total + 1, dec))
    edit(f"asset {j} total without trailing zeros (VALID)", where, total=strip_zeros(a["total"]))
    edit(f"asset {j} total_base_units + 1", where, total_base_units=str(total + 1))
    edit(f"asset {j} total and total_base_units + 1", where,
         total_base_units=str(total + 1), total=coins(total + 1, dec))  # fmt: skip
    edit(f"asset {j} total_base_units with a plus", where, total_base_units=f"+{total}")
    if not gross:
        return
    equity, debt = int(a["equity_base_units"]), int(a["debt_base_units"])
    edit(f"asset {j} equity + 1 unit", where, equity=coins(equity + 1, dec))
    edit(f"asset {j} debt + 1 unit", where, debt=coins(debt + 1, dec))
    edit(f"asset {j} debt_base_units + 1", where, debt_base_units=str(debt + 1))
    if debt == 0:
        edit(f"asset {j} debt_base_units -0", where, debt_base_units="-0")
    edit(f"asset {j} equity and debt + 1 unit, in both forms", where,
         equity_base_units=str(equity + 1), equity=coins(equity + 1, dec),
         debt_base_units=str(debt + 1), debt=coins(debt + 1, dec))  # fmt: skip
    edit(f"asset {j} haircut null", where, haircut=None)
    table = a["haircut"]
    edit(f"asset {j} haircut all 100%", where, haircut=[{"percent": 100}])
    nine = [{"up_to": str(10 * (t + 1)), "percent": 100 - t} for t in range(8)] + [{"percent": 50}]
    edit(f"asset {j} haircut 9 tiers", where, haircut=nine)
    edit(f"asset {j} haircut increasing", where,
         haircut=[{"up_to": "10", "percent": 50}, {"percent": 90}])  # fmt: skip
    if not table:
        return
    last = len(table) - 1

    def tier(t, **fields):
        return [{**x, **fields} if i == t else x for i, x in enumerate(table)]

    edit(f"asset {j} haircut last tier percent - 1", where,
         haircut=tier(last, percent=max(0, table[last]["percent"] - 1)))  # fmt: skip
    edit(f"asset {j} haircut last tier with up_to null", where, haircut=tier(last, up_to=None))
    edit(f"asset {j} haircut tier keys reversed (VALID)", where,
         haircut=[dict(reversed(list(x.items()))) for x in table])  # fmt: skip
    edit(f"asset {j} haircut percent 50.0", where, haircut=tier(last, percent=50.0))
    edit(f"asset {j} haircut percent 101", where, haircut=tier(0, percent=101))
    edit(f"asset {j} haircut percent True", where, haircut=tier(0, percent=True))
    if last:
        edit(f"asset {j} haircut up_to 0", where, haircut=tier(0, up_to="0"))
        edit(f"asset {j} haircut up_to 010", where, haircut=tier(0, up_to="010"))
        edit(f"asset {j} haircut up_to 2^63 coins", where, haircut=tier(0, up_to=str(1 << 63)))


def security_mutations(edit, doc) -> None:
    """The security figures moved, retyped or dropped; the parameters of the other preset and
    loose or refused parameter blocks."""
    security, terms, params = doc["security"], doc["security"]["terms"], doc["params"]
    for key in ("conjectured_bits", "provable_bits"):
        for delta in (0.004, -0.004, 0.01, -0.01, 1e-10):
            edit(f"security.{key} {delta:+}", ("security",), **{key: security[key] + delta})
        if security[key] == int(security[key]):
            edit(
                f"security.{key} as an integer (VALID)", ("security",), **{key: int(security[key])}
            )
        edit(f"security.{key} 10^400", ("security",), **{key: 10**400})
        edit(f"security.{key} as a string", ("security",), **{key: str(security[key])})
    for term, bits in terms.items():
        edit(f"security.terms.{term} + 0.01", ("security", "terms"), **{term: (bits or 0) + 0.01})
    edit("security.terms.fri_folding null", ("security", "terms"), fri_folding=None)
    edit("security.terms: one more", ("security", "terms"), extra=1.0)
    edit("security.terms: logup removed", ("security",),
         terms={k: v for k, v in terms.items() if k != "logup"})  # fmt: skip
    edit("security.regimes changed", ("security",), regimes="provable")
    for name, preset in PRESETS.items():
        block = dataclasses.asdict(preset)
        edit(f"params of {name}", params=block)
        edit(f"params and preset of {name}", params=block, preset=name)
    for label, fields in [
        ("extension_degree 5.0", {"extension_degree": float(params["extension_degree"])}),
        ("zk 1", {"zk": 1}),
        ("zk 'yes'", {"zk": "yes"}),
        ("num_queries True", {"num_queries": True}),
        ("num_queries 100.0", {"num_queries": float(params["num_queries"])}),
        ("blowup 8.0", {"blowup": 8.0}),
        ("blowup 16", {"blowup": 16}),
        ("blowup 0.5", {"blowup": 0.5}),
        ("blowup True", {"blowup": True}),
        ("folding_factor '8'", {"folding_factor": "8"}),
        ("folding_factor 8.0", {"folding_factor": 8.0}),
        ("folding_factor 3", {"folding_factor": 3}),
        ("remainder_max_len 256.0", {"remainder_max_len": 256.0}),
        ("remainder_max_len 4", {"remainder_max_len": 4}),
        ("grinding_bits 33", {"grinding_bits": 33}),
        ("grinding_bits 20.5", {"grinding_bits": 20.5}),
        ("aux_grinding_bits -1", {"aux_grinding_bits": -1}),
        ("extension_degree 3 and num_queries 0", {"extension_degree": 3, "num_queries": 0}),
        ("extension_degree [5]", {"extension_degree": [5]}),
        ("extension_degree {}", {"extension_degree": {}}),
        ("extension_degree '5'", {"extension_degree": "5"}),
        ("num_queries null", {"num_queries": None}),
        ("num_queries '100'", {"num_queries": "100"}),
        ("two unknown keys", {"zzz": 1, "aaa": 2}),
        ("a non-ASCII unknown key", {"blöwup": 8}),
        ("2^70 queries", {"num_queries": 1 << 70}),
        ("1e400 queries", {"num_queries": float("inf")}),
    ]:
        edit(f"params: {label}", ("params",), **fields)
    edit("params: zk removed", params={k: v for k, v in params.items() if k != "zk"})
    edit("params: keys reversed (VALID)", params=dict(reversed(list(params.items()))))


def strip_zeros(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def file_mutations(case_of, doc, files, rng):
    """Files missing, added, cut, flipped and swapped, the statement's digests left stale or
    updated so that the later checks are reached."""
    count = len(doc["batches"])
    out = [case_of("statement.json missing").op(path=STATEMENT, op="delete")]
    for b in range(count):
        out += [
            case_of(f"batch {b} proof.bin missing").op(path=proof_path(b), op="delete"),
            case_of(f"batch {b} leaves.bin missing").op(path=leaves_path(b), op="delete"),
        ]
    if count > 1:
        out += [
            case_of("aggregate.bin missing").op(path="aggregate.bin", op="delete"),
            case_of("aggregate.bin is batch 0's proof").op(
                path="aggregate.bin", op="copy", **{"from": proof_path(0)}
            ),
            case_of("an extra batch folder (VALID)").op(
                path=f"batches/b{count:05d}/proof.bin", op="copy", **{"from": proof_path(0)}
            ),
        ]
    else:
        out.append(
            case_of("an aggregate.bin beside one batch (VALID)").op(
                path="aggregate.bin", op="copy", **{"from": proof_path(0)}
            )
        )
    out.append(
        case_of("an unknown file (VALID)").op(path="notes.txt", op="copy", **{"from": STATEMENT})
    )

    def with_proof(label, b, *ops, sizes=True):
        c = case_of(label)
        for op in ops:
            c.op(**op)
        d = c.doc()
        path = "aggregate.bin" if b is None else proof_path(b)
        record = d["aggregate"] if b is None else d["batches"][b]
        record["proof_sha256"] = hashlib.sha256(c.files[path]).hexdigest()
        if sizes:
            record["proof_bytes"] = len(c.files[path])
        return c.statement(dump(d))

    targets = list(range(count)) + ([None] if count > 1 else [])
    for b in targets:
        path = "aggregate.bin" if b is None else proof_path(b)
        size = len(files[path])
        name = "aggregate.bin" if b is None else f"batch {b} proof.bin"
        out += [
            case_of(f"{name} truncated").op(path=path, op="truncate", length=size - 1),
            case_of(f"{name} with a byte appended").op(path=path, op="append", hex="00"),
            case_of(f"{name} with a bit flipped").op(
                path=path, op="xor", at=rng.randrange(size), mask=1
            ),
            with_proof(
                f"{name} truncated, digest updated",
                b,
                {"path": path, "op": "truncate", "length": size - 1},
            ),
            with_proof(
                f"{name} truncated, digest but not size updated",
                b,
                {"path": path, "op": "truncate", "length": size - 1},
                sizes=False,
            ),
            with_proof(
                f"{name} with a byte appended, digest updated",
                b,
                {"path": path, "op": "append", "hex": "00"},
            ),
        ]
        offsets = [0, 9, 12, 18, 19, 52, 60, 200, size // 2, size - 9, size - 1]
        if count == 1:  # and spread over the OOD values, the openings and FRI's layers
            offsets += sorted({size * k // 13 + 3 for k in range(1, 13)} - set(offsets))
        for at in offsets:
            out.append(
                with_proof(
                    f"{name} byte {at} flipped, digest updated",
                    b,
                    {"path": path, "op": "xor", "at": at, "mask": 0x40},
                )
            )
        if b is not None and count > 1:
            other = (b + 1) % count
            out.append(
                with_proof(
                    f"{name} replaced by batch {other}'s, digest updated",
                    b,
                    {"path": path, "op": "copy", "from": proof_path(other)},
                )
            )
    for b in range(count):
        path = leaves_path(b)
        size = len(files[path])

        def with_root(label, b, op, users=False):
            c = case_of(label).op(**op)
            d = c.doc()
            d["batches"][b]["leaves_root"] = elements_hex(root_of(c.files[leaves_path(b)]))
            if users:
                roots = [root_of(c.files[leaves_path(i)]) for i in range(count)]
                d["users_root"] = elements_hex(users_tree(roots)[-1][0])
            return c.statement(dump(d))

        out += [
            case_of(f"batch {b} leaves.bin cut by 4 bytes").op(
                path=path, op="truncate", length=size - 4
            ),
            case_of(f"batch {b} leaves.bin cut by one leaf").op(
                path=path, op="truncate", length=size - 32
            ),
            case_of(f"batch {b} leaves.bin with a leaf appended").op(
                path=path, op="append", hex="00" * 32
            ),
            case_of(f"batch {b} leaves.bin empty").op(path=path, op="truncate", length=0),
            case_of(f"batch {b} leaf 3 element = p").op(
                path=path, op="u32", at=3 * 32 + 4, value=P
            ),
            case_of(f"batch {b} last leaf element = 2^32 - 1").op(
                path=path, op="u32", at=size - 4, value=(1 << 32) - 1
            ),
            case_of(f"batch {b} leaf 5 flipped").op(path=path, op="xor", at=5 * 32, mask=1),
            with_root(
                f"batch {b} leaf 5 flipped, leaves_root updated",
                b,
                {"path": path, "op": "xor", "at": 5 * 32, "mask": 1},
            ),
            with_root(
                f"batch {b} leaf 5 flipped, leaves_root and users_root updated",
                b,
                {"path": path, "op": "xor", "at": 5 * 32, "mask": 1},
                users=True,
            ),
        ]
        if count > 1:
            other = (b + 1) % count
            out.append(
                case_of(f"batch {b} leaves.bin is batch {other}'s").op(
                    path=path, op="copy", **{"from": leaves_path(other)}
                )
            )
    return out


def corpus() -> list[Case]:
    cases = []
    for base_name in BASES:
        base = load_base(base_name)
        doc = document(base)
        rng = random.Random(f"publication cases {base_name}")

        def case_of(label, base_name=base_name, base=base):
            return Case(base_name, base, label)

        cases.append(case_of("the golden publication (VALID)"))
        cases += syntax_mutations(case_of, base[STATEMENT])
        cases += value_mutations(case_of, doc, rng)
        if base_name in TYPE_MUTATED:
            cases += type_mutations(case_of, doc, rng)
        cases += file_mutations(case_of, doc, base, rng)
    labels = [f"{c.base_name}: {c.label}" for c in cases]
    duplicates = {label for label in labels if labels.count(label) > 1}
    assert not duplicates, duplicates
    return cases


# -- Python's verdicts ---------------------------------------------------------------------------
class Stage:
    """What one run reached: the shapes weakest_security estimated, and whether a STARK proof
    was verified."""

    def __init__(self):
        self.shapes: list[dict] = []
        self.proofs = False


def instrument(stage_of):
    estimate, verify = statement_module.estimate_security, check_module.verify

    def estimating(params, shape):
        stage_of().shapes.append(dataclasses.asdict(shape))
        return estimate(params, shape)

    def verifying(*args, **kwargs):
        stage_of().proofs = True
        return verify(*args, **kwargs)

    statement_module.estimate_security = estimating
    check_module.verify = verifying


def write_files(folder: Path, files: dict[str, bytes], on_disk: dict[str, bytes]) -> None:
    """Make folder hold exactly `files`, rewriting only what differs from `on_disk`."""
    for rel in [r for r in on_disk if r not in files]:
        (folder / rel).unlink()
        del on_disk[rel]
    for rel, data in files.items():
        if on_disk.get(rel) is data or on_disk.get(rel) == data:
            continue
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        on_disk[rel] = data


def verify_json(folder: Path, accept: bool, min_bits: float) -> tuple[int | None, dict, str]:
    """`solvency verify . --json` inside folder: the exit code, the report minus seconds, and
    the text printed for it. An exception the command does not handle (a traceback for the
    user) gives exit None and {"python_exception": "<class>: <message>"}."""
    out = io.StringIO()
    previous = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            try:
                code = run_verify(Path("."), None, accept, min_bits, True)
            except SystemExit as e:
                code = e.code
            except Exception as e:  # a bug of the command, recorded as such
                return None, {"python_exception": f"{type(e).__name__}: {e}"}, ""
    finally:
        os.chdir(previous)
    report = json.loads(out.getvalue())
    # what the page cannot know: the time, and the packaged page's digest (which would make
    # this corpus stale at every rebuild of the page)
    report.pop("seconds", None)
    report.pop("page", None)
    return code, report, json.dumps(report)


def policies(index: int) -> list[tuple[bool, float]]:
    """The default, --accept-conjectured-security, and a --min-security (with or without it)."""
    return [
        (False, 100.0),
        (True, 100.0),
        (index % 2 == 1, MIN_SECURITY[index % len(MIN_SECURITY)]),
    ]


def build() -> dict:
    stage = Stage()
    instrument(lambda: stage)
    shapes: list[dict] = []
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "publication"
        on_disk: dict[str, bytes] = {}
        for index, case in enumerate(corpus()):
            write_files(folder, case.files, on_disk)
            record = case.record()
            record["runs"] = []
            for accept, min_bits in policies(index):
                stage = Stage()
                code, report, text = verify_json(folder, accept, min_bits)
                ids = []
                for shape in stage.shapes:
                    if shape not in shapes:
                        shapes.append(shape)
                    ids.append(shapes.index(shape))
                kind = "proofs" if stage.proofs else "shapes" if ids else "statement"
                run = {"accept_conjectured": accept, "min_bits": min_bits, "exit": code,
                       "stage": kind, "shapes": ids, "report": report}  # fmt: skip
                if report.get("verdict") == "valid":
                    run["report_text"] = text  # its floats, which JSON.parse does not keep
                record["runs"].append(run)
            records.append(record)
    return {"bases": list(BASES), "shapes": shapes, "cases": records, "floats": float_texts()}


def float_texts() -> list:
    """repr(x), format(x, "g") and format(x, ".1f") of the floats a verdict can print (bits,
    --min-security values), ties of the decimal roundings among them, and random doubles."""
    rng = random.Random("publication cases floats")
    values = [*MIN_SECURITY, 100.0625, 100.0005, 999.9995, 123456.5, 999999.5, 0.25, 2.5,
              1e15, 1e16,
              1e-4, 1e-5, 1234567.0, 5e-324, 1.5, -0.0, 0.1 + 0.2, 107.72499999999999, 107.75,
              102.0, 128.0, 1000.0]  # fmt: skip
    values += [rng.uniform(100, 1000) for _ in range(200)]
    values += [round(rng.uniform(100, 1000), 2) for _ in range(100)]
    values += [rng.uniform(0, 1) * 10 ** rng.randrange(-8, 20) for _ in range(100)]
    return [[x, repr(x), format(x, "g"), format(x, ".1f")] for x in values]


def render(data: dict) -> str:
    return json.dumps(data, indent=None, separators=(",", ":"), sort_keys=False) + "\n"


def main() -> None:
    data = build()
    OUT.write_text(render(data))
    runs = [r for c in data["cases"] for r in c["runs"]]
    by_stage = {s: sum(r["stage"] == s for r in runs) for s in ("statement", "shapes", "proofs")}
    verdicts = {
        v: sum(r["report"].get("verdict") == v for r in runs)
        for v in ("valid", "invalid", "unreadable")
    }
    print(
        f"{OUT.relative_to(ROOT)}: {len(data['cases'])} publications, {len(runs)} runs, "
        f"{by_stage}, {verdicts}"
    )


if __name__ == "__main__":
    main()
