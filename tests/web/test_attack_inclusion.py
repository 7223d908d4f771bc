"""Attacks on the customer's inclusion check in JavaScript (web/src/inclusion.js), as a
cheating exchange that writes statement.json and the inclusion files: inputs on which the JS
check says INCLUDED where `verify-inclusion FILE --published DIR [--user ID] --skip-proof`
says NOT INCLUDED (or refuses the files).

Each case is built from a golden publication: the inclusion file of a user the exchange
chooses (a new id, or the golden user's), its leaf recomputed by Python (`user_leaf`) and
folded along the golden path into a new users' root, which both files then carry (the check
under --skip-proof reads only the statement and the path to its root). Python's verdict is
the command's (tests/web/test_inclusion_differential.py `_python_verdict`); the JS verdict is
`checkInclusion` in one node process (web/tools/differential.mjs).

test_a_unicode_17_composition_lets_two_users_share_one_leaf FAILS today: it is the attack that
succeeds (see its docstring). The other tests are attacks the JS refuses as Python does, kept
as regressions; each shows that its crafted case is otherwise accepted (a control) so that
the refusal it checks is the one that matters.
"""

from __future__ import annotations

import base64
import json
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from circuits.poseidon2 import compress
from solvency.inclusion import parse_amount, user_leaf
from solvency.publication.encoding import elements_hex, parse_elements_hex
from tests.web.test_inclusion_differential import _node, _python_verdict

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "publication-2"
STATEMENT = GOLDEN / "one-batch" / "statement.json"
INCLUSION = GOLDEN / "one-batch-user-0007.json"

# A Todhri letter (Unicode 16.0) and its canonical decomposition: U+105C9 = U+105D2 U+0307.
# Python 3.11's unicodedata is Unicode 14.0: both are unassigned there, so canonical_id leaves
# either form as it is (two different ids, two different leaves); node 20's ICU is Unicode
# 17.0, whose NFC composes U+105D2 U+0307 into U+105C9.
COMPOSED = "\U000105c9"
DECOMPOSED = "\U000105d2\u0307"


def _fold(leaf: np.ndarray, row: int, path: list[str]) -> np.ndarray:
    node = leaf.reshape(1, 8)
    for d, text in enumerate(path):
        sibling = parse_elements_hex(text, 8).reshape(1, 8)
        node = compress(node, sibling) if not (row >> d) & 1 else compress(sibling, node)
    return node[0]


def _crafted(user_id: str | None = None, **changes) -> tuple[dict, dict]:
    """The golden inclusion file and statement, with `user_id` (and other inclusion fields)
    changed and the users' root recomputed over the new leaf along the golden path."""
    doc = json.loads(INCLUSION.read_text())
    statement = json.loads(STATEMENT.read_text())
    if user_id is not None:
        doc["user_id"] = user_id
    doc.update(changes)
    decimals = {a["symbol"]: a["decimals"] for a in statement["assets"]}
    balances = [parse_amount(v, decimals[s]) for s, v in doc["balances"].items()]
    leaf = user_leaf(doc["user_id"], parse_elements_hex(doc["nonce"], 5), balances)
    root = elements_hex(_fold(leaf, doc["row"], doc["path"]))
    doc["users_root"] = statement["users_root"] = root
    return doc, statement


def _dump(doc: dict) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()


Case = tuple[dict, dict, str | None]


def _verdicts(tmp_path: Path, cases: list[Case]) -> list[tuple[dict, dict]]:
    """(Python's verdict, the JS verdict) per (inclusion, statement, --user) case."""
    from solvency.files import InputError
    from solvency.publication.statement import read_statement

    node = _node()
    payload = {"statements": {}, "cases": []}
    python = []
    for i, (doc, statement, user) in enumerate(cases):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        raw = _dump(statement)
        (folder / "statement.json").write_bytes(raw)
        try:
            s = read_statement(folder)[0]
        except InputError as e:
            s = e
        file = folder / "inclusion.json"
        file.write_bytes(_dump(doc))
        python.append(_python_verdict(file, s, user))
        payload["statements"][str(i)] = base64.b64encode(raw).decode()
        payload["cases"].append(
            {"inclusion": base64.b64encode(_dump(doc)).decode(), "statement": str(i), "user": user}
        )
    request = tmp_path / "cases.json"
    request.write_text(json.dumps(payload))
    done = subprocess.run(
        [node, "web/tools/differential.mjs", str(request)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return list(zip(python, json.loads(done.stdout), strict=True))


def test_the_crafted_publication_is_accepted_by_both(tmp_path):
    """The construction itself: the golden user with a recomputed root, and a new user id."""
    cases = [(*_crafted(), "user-0007"), (*_crafted("someone-new"), "someone-new")]
    for python, js in _verdicts(tmp_path, cases):
        assert python["exit"] == 0 and js["exit"] == 0, (python, js)
        assert python["core"] == js["core"]


def test_a_unicode_17_composition_lets_two_users_share_one_leaf(tmp_path):
    """ATTACK (succeeds): the JS `--user` check canonicalises the typed id with the engine's
    NFC (web/src/pytext.js canonicalId: `normalize("NFC")`, Unicode 17.0 in node 20) where
    Python's canonical_id uses unicodedata (Unicode 14.0 in Python 3.11).

    Customer A's id is U+105D2 U+0307 (as the exchange's Python stored it: no composition is
    known there, so it is canonical). Customer B's id is U+105C9: another user for Python
    (another id, another leaf). The exchange gives A the inclusion file of B's leaf (B holds
    the same balances) and leaves A's own leaf out of the snapshot. With --user A:

    - Python: "NOT INCLUDED: this file is for the user id '\\U000105c9', not for
      '\\U000105d2\\u0307'" (exit 1);
    - JS: canonicalId(A) is U+105C9, the file's id: "INCLUDED" (exit 0).

    Two customers are shown one leaf, and one of their liabilities is not counted: the attack
    the id in the leaf is there to stop (docs/inclusion.md). The 20 code points of this kind
    (new since Unicode 14 with a canonical decomposition that NFC composes back: Todhri,
    Tulu-Tigalari, Gurung Khema, Kirat Rai) are listed by
    test_code_points_whose_nfc_differs_between_python_and_node below.
    """
    doc, statement = _crafted(COMPOSED)
    [(python, js)] = _verdicts(tmp_path, [(doc, statement, DECOMPOSED)])
    assert python["exit"] == 1, python
    assert "this file is for the user id" in python["core"]
    assert js["exit"] == python["exit"], (
        f"the JS check says {js['core']!r} where Python says {python['core']!r}"
    )


def test_code_points_whose_nfc_differs_between_python_and_node():
    """The characters behind the attack above: unassigned in Python's Unicode (so canonical_id
    keeps them) but with a canonical decomposition in node's, whose NFC recomposes them."""
    node = _node()
    unassigned = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cn"]
    script = (
        "const cps = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const out = cps.filter((cp) => { const s = String.fromCodePoint(cp);"
        " return s.normalize('NFD') !== s && s.normalize('NFD').normalize('NFC') === s; });"
        "process.stdout.write(JSON.stringify(out));"
    )
    done = subprocess.run(
        [node, "-e", script], input=json.dumps(unassigned), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    composed = json.loads(done.stdout)
    assert 0x105C9 in composed
    for cp in composed:  # Python leaves both forms alone: two ids
        s = chr(cp)
        assert unicodedata.normalize("NFC", unicodedata.normalize("NFD", s)) == s
        assert unicodedata.normalize("NFD", s) == s


@pytest.mark.parametrize(
    "label, user_id, typed",
    [
        ("NFD of a Unicode 14 letter (José)", "Jos\u00e9", "Jose\u0301"),  # both compose
        ("a full-width id", "\uff55ser", "user"),  # NFC does not fold compatibility forms
        ("a Hangul syllable as jamo", "\ud55c", "\u1112\u1161\u11ab"),
    ],
)
def test_typed_ids_canonicalised_as_python_does(tmp_path, label, user_id, typed):
    """Regression: ids whose canonical forms are the same in Unicode 14 and 17 get Python's
    verdict (INCLUDED or NOT INCLUDED alike)."""
    doc, statement = _crafted(user_id)
    [(python, js)] = _verdicts(tmp_path, [(doc, statement, typed)])
    assert js["exit"] == python["exit"] and js["core"] == python["core"], (label, python, js)


def test_a_leaf_of_another_row_or_batch_is_refused(tmp_path):
    """Regression: the path's index is the file's row. The exchange's file names another row
    (or batch 1 of a one-batch publication, or the row plus n: an index above the tree) with
    the golden path; Python and JS refuse alike. Control: the file's own row is INCLUDED."""
    doc, statement = _crafted()
    cases = [(doc, statement, None)]
    for change in ({"row": doc["row"] ^ 1}, {"row": doc["row"] + 512}, {"batch": 1}):
        cases.append(({**doc, **change}, statement, None))
    verdicts = _verdicts(tmp_path, cases)
    assert verdicts[0][0]["exit"] == verdicts[0][1]["exit"] == 0
    for python, js in verdicts[1:]:
        assert python["exit"] == js["exit"] == 1, (python, js)
        assert python["core"] == js["core"]


def test_a_path_one_level_short_or_long_is_refused(tmp_path):
    """Regression: a path of another depth that still leads to a root the exchange computed
    (the statement's users' root recomputed over it): refused by the depth rule of both, not
    by the hash. Without the depth rule the shorter path would be a second preimage of an
    inner node as a leaf."""
    doc = json.loads(INCLUSION.read_text())
    short, s_short = _crafted(path=doc["path"][:-1])
    long, s_long = _crafted(path=[*doc["path"], doc["path"][-1]])
    for python, js in _verdicts(tmp_path, [(short, s_short, None), (long, s_long, None)]):
        assert python["exit"] == 1 and js["exit"] == 1, (python, js)
        assert "cannot belong to a batch" in js["core"] and python["core"] == js["core"]
