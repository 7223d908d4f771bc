"""The differential test in the browser: the page itself, in headless Chromium, against
`solvency verify DIR --json`, on the corpus of web/test/fixtures/publication_cases.json (the
four golden publications and their seeded mutations of statement.json, proof.bin, leaves.bin
and the files present; web/tools/export_publication_cases.py records Python's verdicts).

One tab holds a copy of the packaged page opened from disk, as a customer opens a copy from
elsewhere. For each case the test writes the case's files into a folder, sets the page's
options (#accept-conjectured, #min-security) to the run's policy, gives the folder through
#publication-folder and reads what the page shows: #verdict's state and line, #detail and
#report-json. Each must be Python's. Every other publication of the corpus (852 of 1,704,
so that the suite stays within its time) runs under one of its three recorded policies (in
turn); web/test/check.test.js runs all three policies of every case through the same modules
under node, and DIFFERENTIAL_ALL=1 runs every case here too (about 3 minutes).

A disagreement names the case; it is a bug in one of the two verifiers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shutil
from pathlib import Path

from solvency.commands.page import page_bytes
from tests.web.test_page import SETTLED, Visit, served

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "web" / "test" / "fixtures" / "publication_cases.json"
EXPORTER = ROOT / "web" / "tools" / "export_publication_cases.py"


def _exporter():
    spec = importlib.util.spec_from_file_location("export_publication_cases", EXPORTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def base_files(name: str) -> dict[str, bytes]:
    folder = ROOT / "tests" / "golden" / name
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def case_files(case: dict, base: dict[str, bytes], apply_op) -> dict[str, bytes]:
    """The case's files, made from its base as the exporter made them (and as check.test.js
    remakes them)."""
    files = dict(base)
    if "statement" in case:
        at, cut, text = case["statement"]["at"], case["statement"]["cut"], case["statement"]["hex"]
        old = files["statement.json"]
        files["statement.json"] = old[:at] + bytes.fromhex(text) + old[at + cut :]
    for op in case.get("ops", []):
        apply_op(files, op)
    return files


def expected(report: dict) -> tuple[str, str | None]:
    """verify's verdict line and detail line, from its --json report."""
    if report["verdict"] == "valid":
        return f"VALID: {report['message']}", None
    if report["verdict"] == "invalid":
        return f"INVALID: {report['message']}", f"detail: {report['reason']}"
    return f"error: {report['reason']}", None


def set_options(tab, accept: bool, min_bits: float) -> None:
    tab.set_checked("#accept-conjectured", accept)
    tab.fill("#min-security", repr(min_bits))


def test_the_page_gives_verifys_verdict_on_every_publication_of_the_corpus(browser, tmp_path):
    exporter = _exporter()
    corpus = json.loads(CASES.read_text())
    bases = {name: base_files(name) for name in corpus["bases"]}
    page = tmp_path / "copy" / "index.html"
    page.parent.mkdir()
    page.write_bytes(page_bytes())
    visit = Visit(browser)
    tab = visit.tab
    tab.goto(page.as_uri())
    tab.wait_for_selector("#publication-folder")
    disagreements: list[str] = []
    runs = 0
    folder = tmp_path / "publication"  # one folder, rewritten where the next case differs
    on_disk: dict[str, bytes] = {}
    only = os.environ.get("DIFFERENTIAL_ONLY")  # a label's substring, to replay one case
    stride = 1 if os.environ.get("DIFFERENTIAL_ALL") == "1" or only else 2
    for index, case in enumerate(corpus["cases"]):
        if index % stride or (only and only not in case["label"]):
            continue
        run = case["runs"][index % len(case["runs"])]
        files = case_files(case, bases[case["base"]], exporter.apply_op)
        exporter.write_files(folder, files, on_disk)
        set_options(tab, run["accept_conjectured"], run["min_bits"])
        tab.eval_on_selector("#verdict", "e => { e.dataset.state = 'running'; }")
        tab.set_input_files("#publication-folder", str(folder))
        tab.wait_for_selector(SETTLED, timeout=60_000)
        state = tab.get_attribute("#verdict", "data-state")
        line = tab.text_content("#verdict")
        detail = tab.text_content("#detail") if state == "invalid" else None
        report = {k: v for k, v in run["report"].items() if k != "page"}
        shown = tab.text_content("#report-json")
        want_line, want_detail = expected(report)
        got = (state, line, detail, json.loads(shown) if shown else None)
        want = (report["verdict"], want_line, want_detail, report)
        if got != want:
            shown_report = got[3] or {}
            differing = {
                k: (shown_report.get(k), report.get(k))
                for k in {*report, *shown_report}
                if shown_report.get(k) != report.get(k)
            }
            disagreements.append(
                f"{case['base']}: {case['label']}: page {got[:3]}, verify {want[:3]}, "
                f"report fields (page, verify): {differing}"
            )
        runs += 1
    visit.close()
    assert only or runs == len(range(0, len(corpus["cases"]), stride)) >= 800
    assert visit.errors == [], visit.errors[:5]
    assert disagreements == [], f"{len(disagreements)} of {runs}: " + "\n".join(disagreements[:20])


def typable(user: str) -> bool:
    """Whether #user-id can hold `user` as --user does: not empty (an empty field is no --user)
    and valid Unicode (a text field cannot hold a lone surrogate)."""
    try:
        user.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return user != ""


def test_the_page_gives_verify_inclusions_verdict_on_mutated_inclusion_files(browser, tmp_path):
    """The customer's check in the page against `verify-inclusion FILE --published DIR [--user
    ID]`, on the inclusion-file mutations of tests/web/test_inclusion_differential.py (fields
    in value and type, amounts, paths, ids, random text edits) given to each verified golden
    publication: the same state, the same INCLUDED / NOT INCLUDED line (INCLUDED ending with
    the time the page's verification took, as the command's ends with its own) and the same
    lines before it; for a file that cannot be read, the page's `error: ...`. Every other
    mutation (about 700 of 1,414; all with DIFFERENTIAL_ALL=1)."""
    from tests.web.test_inclusion_differential import (
        BASES,
        GOLDEN,
        _inclusion_mutations,
        _python_verdict,
        _random_text_mutations,
        _Statements,
    )

    rng = random.Random(18)
    stride = 1 if os.environ.get("DIFFERENTIAL_ALL") == "1" else 2  # as above
    statements = _Statements(tmp_path)
    roots = {
        (pub, d): json.loads((GOLDEN / pub / d / "statement.json").read_text())["users_root"]
        for pub, d, _ in BASES
    }
    page = page_bytes()
    disagreements: list[str] = []
    cases = 0
    for pub, d, user_file in BASES:
        folder = Path(shutil.copytree(GOLDEN / pub / d, tmp_path / pub / d))
        (folder / "index.html").write_bytes(page)
        raw_statement = (folder / "statement.json").read_bytes()
        statement = statements.get(f"{pub}/{d}", raw_statement)
        doc = json.loads((GOLDEN / pub / user_file).read_text(encoding="utf-8"))
        other = next(r for k, r in roots.items() if k != (pub, d))
        golden = (GOLDEN / pub / user_file).read_bytes()
        mutations = [
            *_inclusion_mutations(doc, json.loads(raw_statement), other, rng),
            *_random_text_mutations(golden, doc["user_id"], rng, 60),
        ]
        with served(folder) as origin:
            visit = Visit(browser)
            visit.tab.goto(origin + "index.html")
            assert visit.settled()[0] == "valid"
            for k, (label, raw, user) in enumerate(mutations):
                if k % stride or (user is not None and not typable(user)):
                    continue
                file = tmp_path / f"{pub}-{d}-{k}.json"
                file.write_bytes(raw)
                python = _python_verdict(file, statement, user)
                visit.tab.fill("#user-id", "" if user is None else user)
                state, line = visit.inclusion(file.name, raw)
                notes = visit.tab.locator("#inclusion-notes li").all_text_contents()
                want_state = ["included", "not-included", "unreadable"][python["exit"]]
                if python["exit"] == 0:
                    same = re.fullmatch(
                        re.escape(python["core"]) + r" \(proof verified in \d+\.\d\d s\)", line
                    )
                    same = same and notes == python["notes"]
                elif python["exit"] == 1:
                    same = line == python["core"] and notes == python["notes"]
                else:
                    same = line.startswith("error: ")
                if state != want_state or not same:
                    disagreements.append(f"{pub}/{d} {label} (--user {user!r}): {python}, page "
                                         f"{state!r} {line!r} {notes}")  # fmt: skip
                cases += 1
            assert visit.errors == [], visit.errors[:5]
            visit.close()
    assert cases >= 1_400 // stride
    print(f"{cases} inclusion files, {len(disagreements)} disagreements")
    assert disagreements == [], f"{len(disagreements)} of {cases}:\n" + "\n".join(
        disagreements[:20]
    )
