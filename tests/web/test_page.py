"""The page end to end in headless Chromium (Debian's chromium, driven by playwright; never
`playwright install`): the packaged page, copied into each golden publication, served over
http://127.0.0.1 and opened from file:// with the folder input; a real inclusion file gives
INCLUDED and each tampering case of tests/solvency/test_inclusion.py gives NOT INCLUDED, with
`verify-inclusion`'s line word for word; no request leaves the publication's files; the
Content-Security-Policy blocks nothing the page needs.

Each publication's verdict is `solvency verify`'s: its VALID or INVALID line, its detail
line and its --json report (the text, without `seconds` and `page`), and the options are
verify's (#min-security, #accept-conjectured).

Without chromium or playwright the tests skip, or fail when the environment variable CI is
set. With SOLVENCY_SCREENSHOTS=1 they rewrite docs/images/page-*.png (normal runs never do)."""

import contextlib
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import socketserver
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner

from solvency.cli import main
from solvency.commands.page import page_bytes
from solvency.commands.verify import asset_lines
from solvency.publication.statement import read_statement
from tests.solvency.test_inclusion import TAMPER

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
IMAGES = ROOT / "docs" / "images"
PUBLICATIONS = [
    ("publication-1", "one-batch", "one-batch-user-0007.json"),
    ("publication-1", "three-batches", "three-batches-user-1299.json"),
    ("publication-2", "one-batch", "one-batch-user-0007.json"),
    ("publication-2", "three-batches", "three-batches-user-1299.json"),
]
#: the command's note with --skip-proof
SKIP_NOTE = (
    " (the publication was not verified again: --skip-proof relies on an earlier "
    "`solvency verify` of these same files)"
)
SETTLED = "#verdict:not([data-state=running]):not([data-state=idle])"


@pytest.fixture(scope="module")
def publications(tmp_path_factory) -> Path:
    """A copy of each golden publication with the packaged page as its index.html."""
    base = tmp_path_factory.mktemp("served")
    for version, name, _ in PUBLICATIONS:
        copy = shutil.copytree(GOLDEN / version / name, base / version / name)
        (copy / "index.html").write_bytes(page_bytes())
    return base


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def served(directory: Path):
    """http://127.0.0.1:PORT/ over `directory`, as `python -m http.server --bind 127.0.0.1`."""
    handler = functools.partial(_Quiet, directory=str(directory))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


class Visit:
    """One tab: every request it makes and every console error or page error it meets."""

    def __init__(self, browser):
        self.tab = browser.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.tab.on("request", lambda r: self.requests.append(r.url))
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))
        self.tab.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def settled(self) -> tuple[str, str]:
        self.tab.wait_for_selector(SETTLED, timeout=30_000)
        verdict = self.tab.locator("#verdict")
        return verdict.get_attribute("data-state"), verdict.text_content()

    def inclusion(self, name: str, data: bytes) -> tuple[str, str]:
        """Give an inclusion file through #inclusion-file; the page's state and line."""
        self.tab.wait_for_selector("#inclusion-file:not([disabled])")
        self.tab.eval_on_selector("#inclusion-verdict", "e => { e.dataset.state = 'idle'; }")
        self.tab.set_input_files(
            "#inclusion-file",
            files=[{"name": name, "mimeType": "application/json", "buffer": data}],
        )
        self.tab.wait_for_selector("#inclusion-verdict:not([data-state=idle])")
        verdict = self.tab.locator("#inclusion-verdict")
        return verdict.get_attribute("data-state"), verdict.text_content()

    def shoot(self, name: str, section: str) -> None:
        """docs/images/page-NAME.png, the page's `section`, only with SOLVENCY_SCREENSHOTS=1."""
        if os.environ.get("SOLVENCY_SCREENSHOTS") == "1":
            IMAGES.mkdir(parents=True, exist_ok=True)
            self.tab.locator(section).screenshot(path=str(IMAGES / f"page-{name}.png"))

    def close(self) -> None:
        self.tab.close()


@contextlib.contextmanager
def visit(browser):
    tab = Visit(browser)
    try:
        yield tab
    finally:
        tab.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli(*args) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout.strip().splitlines()


def cli_inclusion_line(file: Path, publication: Path) -> tuple[int, str]:
    """`verify-inclusion FILE --published DIR --skip-proof`: its exit code and verdict line,
    the INCLUDED line without the command's --skip-proof note (the page has its own)."""
    code, lines = cli("verify-inclusion", file, "--published", publication, "--skip-proof")
    line = next(x for x in lines if x.startswith(("INCLUDED: ", "NOT INCLUDED: ")))
    return code, line.removesuffix(SKIP_NOTE)


_VERIFIED: dict[tuple, tuple[int, dict]] = {}


def cli_verify(folder: Path, *options: str) -> tuple[int, dict]:
    """`solvency verify FOLDER [OPTIONS] --json`: exit code and report, without `seconds` and
    `page` (what the page cannot know: the packaged page is the CLI's). Kept per content of
    the folder's files, which tests change."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    key = (options, *(hashlib.sha256(p.read_bytes()).digest() for p in files))
    if key not in _VERIFIED:
        with contextlib.chdir(folder):  # files named as the page names them: "statement.json"
            code, lines = cli("verify", ".", *options, "--json")
        report = json.loads("\n".join(lines))
        for name in ("seconds", "page"):
            report.pop(name, None)
        _VERIFIED[key] = code, report
    return _VERIFIED[key]


def check_publication_verdict(tab: "Visit", folder: Path, *options: str) -> str:
    """The page's verdict is `solvency verify`'s: its verdict line, its detail line, its --json
    report. Returns the state."""
    state, line = tab.settled()
    code, report = cli_verify(folder, *options)
    # verify prints `VALID: <message>`, or `INVALID: <message>` then `detail: <reason>`, or
    # (unreadable input) `error: <reason>`
    assert state == ["valid", "invalid", "unreadable"][code]
    if code == 2:
        assert line == f"error: {report['reason']}"
    else:
        assert line == f"{state.upper()}: {report['message']}"
    if code == 1:
        assert tab.tab.text_content("#detail") == f"detail: {report['reason']}"
    # and --json's text (json.dumps), but for what the page cannot know
    assert tab.tab.text_content("#report-json") == json.dumps(report)
    return state


def table_rows(tab: "Visit", table: str) -> list[list[str]]:
    return tab.tab.eval_on_selector(
        table, "t => [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent))"
    )


def verify_rows(folder: Path) -> list[list[str]]:
    """The rows of `verify`'s table of assets: price, (equity, debt,) total, (collateral)."""
    statement = read_statement(folder)[0]
    gross = statement.equity is not None
    return [
        [a.symbol, a.price, *([a.equity, a.debt, a.total, a.haircut] if gross else [a.total])]
        for a in asset_lines(statement, {})
    ]


def assert_included_line(line: str, expected: str) -> None:
    """The page's INCLUDED line: the command's, ending as `verify-inclusion` (without
    --skip-proof) ends it, with the time the page's check took."""
    assert re.fullmatch(re.escape(expected) + r" \(proof verified in \d+\.\d\d s\)", line), line


def only_publication_requests(requests: list[str], origin: str, count: int) -> None:
    """Every request is to the server, for a file of the publication (no other host, no
    favicon, no listing)."""
    allowed = {"index.html", "statement.json", "aggregate.bin"}
    allowed |= {f"batches/b{b:05d}/{f}" for b in range(count) for f in ("proof.bin", "leaves.bin")}
    for url in requests:
        assert url.startswith(origin), url
        assert urlparse(url).path.lstrip("/") in allowed, url


@pytest.mark.parametrize("version, name, user", PUBLICATIONS)
def test_served_publication_and_a_real_inclusion_file(browser, publications, version, name, user):
    folder = publications / version / name
    with served(folder) as origin, visit(browser) as tab:
        tab.tab.goto(origin + "index.html")
        check_publication_verdict(tab, folder)
        statement = (folder / "statement.json").read_bytes()
        assert tab.tab.text_content("#fingerprint") == sha256(statement)
        assert tab.tab.text_content("#published-page") == f"SHA-256 {sha256(page_bytes())}"
        assert tab.tab.get_attribute("#published-same", "data-same") == "true"
        assert tab.tab.get_attribute("#progress", "value") == "1000"
        assert json.loads(statement)["issuer"] in tab.tab.text_content("#identity")
        assert table_rows(tab, "#assets") == verify_rows(folder)
        if (version, name) == ("publication-2", "one-batch"):
            tab.shoot("publication", "#publication")
        file = GOLDEN / version / user
        code, expected = cli_inclusion_line(file, folder)
        assert code == 0
        state, line = tab.inclusion(user, file.read_bytes())
        assert state == "included"
        assert_included_line(line, expected)
        balances = tab.tab.locator("#inclusion-balances tbody tr").all_text_contents()
        assert len(balances) == len(json.loads(statement)["assets"])
        if (version, name) == ("publication-2", "one-batch"):
            tab.shoot("included", "#customer")
        count = len(json.loads(statement)["batches"])
        only_publication_requests(tab.requests, origin, count)
        assert tab.errors == []


@pytest.mark.parametrize("version, name, user", PUBLICATIONS)
def test_each_tampering_case_is_not_included(browser, publications, tmp_path, version, name, user):
    """TAMPER's cases (tests/solvency/test_inclusion.py) on a golden user's file: the page says
    NOT INCLUDED with the command's line, word for word."""
    folder = publications / version / name
    document = json.loads((GOLDEN / version / user).read_text())
    checked = 0
    with served(folder) as origin, visit(browser) as tab:
        tab.tab.goto(origin + "index.html")
        tab.settled()
        for case, (change, _) in TAMPER.items():
            changed = json.loads(json.dumps(document))
            try:
                change(changed)
            except KeyError:  # an asset this publication does not have (ETH)
                continue
            file = tmp_path / f"{case}.json"
            file.write_text(json.dumps(changed))
            code, expected = cli_inclusion_line(file, folder)
            assert code == 1, (case, expected)
            assert tab.inclusion(file.name, file.read_bytes()) == ("not-included", expected), case
            if case == "another nonce" and version == "publication-2":
                tab.shoot("not-included", "#customer")
            checked += 1
        unreadable = tab.inclusion("broken.json", b'{"format": ')
        assert unreadable[0] == "unreadable" and unreadable[1].startswith("error: inclusion file")
        if version == "publication-2":
            tab.shoot("unreadable-inclusion", "#customer")
        count = len(json.loads((folder / "statement.json").read_text())["batches"])
        only_publication_requests(tab.requests, origin, count)
        assert tab.errors == []
    assert checked >= len(TAMPER) - 1


def test_from_disk_with_the_folder_input(browser, publications, tmp_path):
    """Opened from file:// (a copy of the page from elsewhere): the page asks for the folder;
    given it, or a folder holding the publication one level down, it reads the files from
    there, and makes no request at all."""
    page = tmp_path / "elsewhere" / "index.html"
    page.parent.mkdir()
    page.write_bytes(page_bytes())
    holder = tmp_path / "holder"
    shutil.copytree(publications / "publication-1" / "one-batch", holder / "one-batch")
    cases = [
        (publications / "publication-2" / "three-batches", publications / "publication-2"
         / "three-batches", GOLDEN / "publication-2" / "three-batches-user-1299.json"),
        (holder, holder / "one-batch", GOLDEN / "publication-1" / "one-batch-user-0007.json"),
    ]  # fmt: skip
    for chosen, publication, user in cases:
        with visit(browser) as tab:
            tab.tab.goto(page.as_uri())
            assert tab.tab.get_attribute("#verdict", "data-state") == "idle"
            assert tab.tab.is_visible("#publication-folder")
            assert tab.tab.is_disabled("#inclusion-file")
            tab.tab.set_input_files("#publication-folder", str(chosen))
            check_publication_verdict(tab, publication)
            digest = sha256((publication / "statement.json").read_bytes())
            assert tab.tab.text_content("#fingerprint") == digest
            _, expected = cli_inclusion_line(user, publication)
            state, line = tab.inclusion(user.name, user.read_bytes())
            assert state == "included"
            assert_included_line(line, expected)
            assert [u for u in tab.requests if not u.startswith(("file:", "data:"))] == []
            assert tab.errors == []


def test_a_trusted_copy_tells_another_page(browser, publications, tmp_path):
    """A copy of the page opened from disk, pointed at a folder whose index.html is another
    page (one byte changed; or also its build digest recomputed by a forger), says NOT the same
    page; without index.html it says none was found."""
    trusted = tmp_path / "trusted.html"
    trusted.write_bytes(page_bytes())
    folder = Path(shutil.copytree(publications / "publication-1" / "one-batch", tmp_path / "p"))
    fake = page_bytes().replace(b"It sends nothing anywhere", b"It sends nothing anyhow.")
    mark = b'id="page-digest">'
    at = fake.index(mark) + len(mark)
    zeroed = fake[:at] + b"0" * 64 + fake[at + 64 :]
    forged = fake[:at] + sha256(zeroed).encode() + fake[at + 64 :]
    for page, same in [
        (fake, "false"),
        (forged, "false"),
        (page_bytes(), "true"),
        (None, "absent"),
    ]:
        if page is None:
            (folder / "index.html").unlink()
        else:
            (folder / "index.html").write_bytes(page)
        with visit(browser) as tab:
            tab.tab.goto(trusted.as_uri())
            tab.tab.set_input_files("#publication-folder", str(folder))
            tab.settled()
            assert tab.tab.get_attribute("#published-same", "data-same") == same
            shown = tab.tab.text_content("#published-page")
            assert shown == ("none found" if page is None else f"SHA-256 {sha256(page)}")
            assert tab.errors == []


def test_a_served_folder_without_a_publication(browser, tmp_path):
    """statement.json missing: unreadable, the CLI's words, and the folder input offered."""
    (tmp_path / "index.html").write_bytes(page_bytes())
    with served(tmp_path) as origin, visit(browser) as tab:
        tab.tab.goto(origin + "index.html")
        state, line = tab.settled()
        assert (state, line) == ("unreadable", "error: statement.json: no such file")
        report = json.loads(tab.tab.text_content("#report-json"))
        assert report == {"verdict": "unreadable", "reason": "statement.json: no such file"}
        assert tab.tab.is_visible("#publication-folder")
        assert tab.tab.is_disabled("#inclusion-file")
        tab.shoot("unreadable", "#publication")
        only_publication_requests(tab.requests, origin, 0)
        assert [e for e in tab.errors if "404" not in e] == []


def test_an_unreadable_statement_and_verify_again(browser, publications, tmp_path):
    """A statement the strict reader refuses is unreadable with the JS reader's reason; fixed
    on the server, "verify again" reads it anew (no cache)."""
    folder = Path(shutil.copytree(publications / "publication-2" / "one-batch", tmp_path / "p"))
    honest = (folder / "statement.json").read_bytes()
    (folder / "statement.json").write_bytes(
        honest.replace(b'"issuer"', b'"issuer": "x", "issuer"', 1)
    )
    with served(folder) as origin, visit(browser) as tab:
        tab.tab.goto(origin + "index.html")
        state, line = tab.settled()
        assert state == "unreadable" and line.startswith("error: statement.json"), line
        assert "duplicate" in line
        (folder / "statement.json").write_bytes(honest)
        tab.tab.eval_on_selector("#verdict", "e => { e.dataset.state = 'idle'; }")
        tab.tab.click("#verify-again")
        check_publication_verdict(tab, folder)
        assert [e for e in tab.errors if "404" not in e] == []


def test_the_inclusion_drop_zone(browser, publications):
    """A file dropped on the inclusion zone is checked as the chosen one is."""
    folder = publications / "publication-2" / "one-batch"
    user = (GOLDEN / "publication-2" / "one-batch-user-0007.json").read_text()
    with served(folder) as origin, visit(browser) as tab:
        tab.tab.goto(origin + "index.html")
        tab.settled()
        tab.tab.wait_for_selector("#inclusion-file:not([disabled])")
        tab.tab.evaluate(
            """(text) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([text], "mine.json", { type: "application/json" }));
                const zone = document.getElementById("inclusion-drop");
                const drop = { dataTransfer: transfer, bubbles: true, cancelable: true };
                zone.dispatchEvent(new DragEvent("drop", drop));
            }""",
            user,
        )
        tab.tab.wait_for_selector("#inclusion-verdict[data-state=included]")
        assert tab.errors == []


def test_options_and_an_invalid_publication(browser, publications, tmp_path):
    """--min-security and --accept-conjectured-security through #min-security,
    #accept-conjectured and "verify again": the page's verdict is the command's with that
    option. A proof.bin changed after publishing: the command's INVALID
    verdict, and a customer's file then gets verify-inclusion's NOT INCLUDED line."""
    folder = Path(shutil.copytree(publications / "publication-2" / "one-batch", tmp_path / "p"))
    user = GOLDEN / "publication-2" / "one-batch-user-0007.json"
    with served(folder) as origin, visit(browser) as tab:
        tab.tab.goto(origin + "index.html")
        check_publication_verdict(tab, folder)
        tab.tab.fill("#min-security", "200")
        tab.tab.eval_on_selector("#verdict", "e => { e.dataset.state = 'idle'; }")
        tab.tab.click("#verify-again")
        check_publication_verdict(tab, folder, "--min-security", "200")
        tab.tab.fill("#min-security", "100")
        tab.tab.check("#accept-conjectured")
        tab.tab.eval_on_selector("#verdict", "e => { e.dataset.state = 'idle'; }")
        tab.tab.click("#verify-again")
        check_publication_verdict(tab, folder, "--accept-conjectured-security")
        tab.tab.uncheck("#accept-conjectured")
        tab.tab.fill("#min-security", "99")  # below the floor: put back to 100
        proof = folder / "batches" / "b00000" / "proof.bin"
        damaged = bytearray(proof.read_bytes())
        damaged[-1] ^= 1
        proof.write_bytes(bytes(damaged))
        tab.tab.eval_on_selector("#verdict", "e => { e.dataset.state = 'idle'; }")
        tab.tab.click("#verify-again")
        assert check_publication_verdict(tab, folder) == "invalid"
        assert tab.tab.input_value("#min-security") == "100"
        tab.shoot("invalid", "#publication")
        code, lines = cli("verify-inclusion", user, "--published", folder)
        state, line = tab.inclusion(user.name, user.read_bytes())
        assert code == 1 and (state, line) == ("not-included", lines[0])
        assert tab.errors == []


def test_files_dropped_on_the_folder_zone(browser, tmp_path):
    """Files dropped on the page opened from disk are read by their names (here statement.json
    alone: the page's verdict is verify's on a folder holding only it)."""
    folder = tmp_path / "only"
    folder.mkdir()
    statement = GOLDEN / "publication-2" / "one-batch" / "statement.json"
    shutil.copy(statement, folder / "statement.json")
    page = tmp_path / "index.html"
    page.write_bytes(page_bytes())
    with visit(browser) as tab:
        tab.tab.goto(page.as_uri())
        tab.tab.evaluate(
            """(text) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([text], "statement.json"));
                const drop = { dataTransfer: transfer, bubbles: true, cancelable: true };
                document.getElementById("chooser").dispatchEvent(new DragEvent("drop", drop));
            }""",
            statement.read_text(),
        )
        check_publication_verdict(tab, folder)
        assert tab.tab.text_content("#fingerprint") == sha256(statement.read_bytes())
        assert tab.errors == []


def test_the_user_id_field(browser, publications, tmp_path):
    """#user-id is verify-inclusion's --user: the right id (any spelling canonical_id takes)
    drops the note on whose file it is; another id is NOT INCLUDED, in the command's words."""
    folder = publications / "publication-2" / "one-batch"
    user = GOLDEN / "publication-2" / "one-batch-user-0007.json"
    with served(folder) as origin, visit(browser) as tab:
        tab.tab.goto(origin + "index.html")
        tab.settled()
        for typed in ("user-0007", " user-0007", "user-0008"):
            code, lines = cli(
                "verify-inclusion", user, "--published", folder, "--user", typed, "--skip-proof"
            )
            tab.tab.fill("#user-id", typed)
            state, line = tab.inclusion(user.name, user.read_bytes())
            notes = tab.tab.locator("#inclusion-notes li").all_text_contents()
            if code == 0:
                assert state == "included"
                assert_included_line(line, lines[-1].removesuffix(SKIP_NOTE))
                assert notes == lines[:-1]  # no note on whose file it is
            else:
                assert (code, state, line) == (1, "not-included", lines[0])
        assert tab.errors == []
