"""Attack on the page (web/page/page.js) as a cheating exchange: two checks at once.

A customer opens a trusted copy of the page from disk and chooses a folder A (a genuine
publication of three batches), then, before A's check ends, a second folder B (the
exchange's: a publication `solvency verify` refuses at once). Both checks run; `verify()`
keeps one module-level `loaded` and writes each check's result into whichever `loaded` is
current when the check ends, then shows it: the check that ends LAST wins the verdict line,
the report and the fingerprint, while `#source` names the folder chosen last. B is refused in
a few milliseconds, A's VALID arrives after it: the page shows VALID (with A's issuer, date,
totals and fingerprint) under "The publication in B", and checks inclusion files against A's
statement, although `solvency verify B` says INVALID. And an inclusion file checked in
between stays INCLUDED on screen beside the second folder's `error:` verdict.

Found by a cold attack and fixed: each check now holds its own token, and a check that ends
after another has started shows nothing (its progress neither). These tests failed before.

Headless Chromium through playwright (tests/web/conftest.py's `browser`)."""

import hashlib
import json
import shutil
from pathlib import Path

from solvency.commands.page import page_bytes
from tests.web.test_page import cli, visit

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
GENUINE = GOLDEN / "publication-2" / "three-batches"  # folder A
REFUSED_FROM = GOLDEN / "publication-1" / "one-batch"  # folder B is made from it

#: A slow disk (a USB stick, a network share) under folder A: reading its aggregate.bin takes
#: SLOW_MS more (an init script in the tab; the page's code untouched), so that the second
#: folder is surely chosen, and checked, while A's check waits for that file. Without it the
#: overlap needs a large A or a slow device (CPU throttled 20 to 40 times: reproduced, but
#: playwright's upload time makes it flaky).
SLOW_MS = 1500
SLOW_DISK = """
const read = File.prototype.arrayBuffer;
const slow = { "A/aggregate.bin": SLOW_MS, "C/batches/b00002/leaves.bin": 3 * SLOW_MS };
File.prototype.arrayBuffer = function () {
  const ms = slow[this.webkitRelativePath];
  if (ms === undefined) return read.call(this);
  return new Promise((resolve) => setTimeout(resolve, ms)).then(() => read.call(this));
};
""".replace("SLOW_MS", str(SLOW_MS))


def sha256_of(folder: Path) -> str:
    return hashlib.sha256((folder / "statement.json").read_bytes()).hexdigest()


def refused_copy(folder: Path, into: Path) -> Path:
    """A copy of `folder` whose statement says zero_knowledge the other way: INVALID at once
    (check_declared, before any AIR)."""
    copy = Path(shutil.copytree(folder, into))
    data = json.loads((copy / "statement.json").read_text())
    data["zero_knowledge"] = not data["zero_knowledge"]
    (copy / "statement.json").write_text(json.dumps(data, indent=2))
    return copy


def folders(tmp_path: Path) -> tuple[Path, Path, str, Path]:
    """A, B, the CLI's verdict line on B, and a trusted copy of the page on disk."""
    genuine = Path(shutil.copytree(GENUINE, tmp_path / "A"))
    exchange = refused_copy(REFUSED_FROM, tmp_path / "B")
    code, lines = cli("verify", exchange)
    assert code == 1 and lines[0].startswith("INVALID: ")  # what the CLI says of B
    page = tmp_path / "trusted" / "index.html"
    page.parent.mkdir()
    page.write_bytes(page_bytes())
    return genuine, exchange, lines[0], page


def test_a_second_folder_chosen_while_the_first_is_checked(browser, tmp_path):
    genuine, exchange, refused, page = folders(tmp_path)
    with visit(browser) as visitor:
        visitor.tab.add_init_script(SLOW_DISK)
        visitor.tab.goto(page.as_uri())
        visitor.tab.set_input_files("#publication-folder", str(genuine))
        visitor.tab.wait_for_selector('#phase:text-is("aggregation")')
        visitor.tab.set_input_files("#publication-folder", str(exchange))
        visitor.tab.wait_for_selector("#verdict[data-state=invalid]")
        assert visitor.tab.text_content("#verdict") == refused  # B's verdict shows; then
        visitor.tab.wait_for_timeout(SLOW_MS + 500)  # A's check ends meanwhile
        source = visitor.tab.text_content("#source")
        state = visitor.tab.get_attribute("#verdict", "data-state")
        line = visitor.tab.text_content("#verdict")
        fingerprint = visitor.tab.text_content("#fingerprint")
        assert source == "The publication in B"
        # with the race: VALID, A's line and A's fingerprint (A's issuer, date and totals)
        expected = ("invalid", refused, sha256_of(exchange))
        assert (state, line, fingerprint) == expected, (state, line)


def test_an_inclusion_checked_between_two_checks_stays_on_screen(browser, tmp_path):
    """A (genuine) chosen, then C (A with its last leaves.bin cut: `solvency verify` says
    error, exit 2) while A's check waits for its aggregate.bin; C's check waits longer for
    that leaves.bin. A's VALID shows under C's name, the customer's file is INCLUDED; when C's
    check ends unreadable, the INCLUDED line must go (and the input be disabled)."""
    genuine = Path(shutil.copytree(GENUINE, tmp_path / "A"))
    cut = Path(shutil.copytree(GENUINE, tmp_path / "C"))  # its last leaves.bin cut: unreadable
    leaves = cut / "batches" / "b00002" / "leaves.bin"
    leaves.write_bytes(leaves.read_bytes()[:-1])
    code, _ = cli("verify", cut)
    assert code == 2
    user = GOLDEN / "publication-2" / "three-batches-user-1299.json"
    page = tmp_path / "trusted" / "index.html"
    page.parent.mkdir()
    page.write_bytes(page_bytes())
    with visit(browser) as visitor:
        visitor.tab.add_init_script(SLOW_DISK)
        visitor.tab.goto(page.as_uri())
        visitor.tab.set_input_files("#publication-folder", str(genuine))
        visitor.tab.wait_for_selector('#phase:text-is("aggregation")')
        visitor.tab.set_input_files("#publication-folder", str(cut))
        # with the race, A's VALID shows first, under C's name, and takes an inclusion file
        visitor.tab.wait_for_selector("#verdict:is([data-state=valid], [data-state=unreadable])")
        if visitor.tab.get_attribute("#verdict", "data-state") == "valid":
            state, _ = visitor.inclusion(user.name, user.read_bytes())
            assert state == "included"
        visitor.tab.wait_for_selector("#verdict[data-state=unreadable]", timeout=30_000)
        assert visitor.tab.text_content("#source") == "The publication in C"
        shown = visitor.tab.get_attribute("#inclusion-verdict", "data-state")
        assert (shown, visitor.tab.is_disabled("#inclusion-file")) == ("idle", True)


def test_one_folder_then_another_after_it_settles(browser, tmp_path):
    """The control: the same two folders (and the same slow disk) chosen one after the other,
    each once the previous check has settled, give each its own verdict: the attack needs the
    overlap."""
    genuine, exchange, refused, page = folders(tmp_path)
    with visit(browser) as visitor:
        visitor.tab.add_init_script(SLOW_DISK)
        visitor.tab.goto(page.as_uri())
        visitor.tab.set_input_files("#publication-folder", str(genuine))
        visitor.tab.wait_for_selector("#verdict[data-state=valid]", timeout=30_000)
        visitor.tab.set_input_files("#publication-folder", str(exchange))
        visitor.tab.wait_for_selector("#verdict[data-state=invalid]")
        visitor.tab.wait_for_timeout(500)
        assert visitor.tab.text_content("#verdict") == refused
        assert visitor.tab.text_content("#source") == "The publication in B"
        assert visitor.errors == []
