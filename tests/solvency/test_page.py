"""`solvency page`, the page in every publication, and what `verify` says of it: the packaged
page's SHA-256 is the file's; --out never overwrites; prove writes DIR/index.html, the same
bytes; verify prints the statement's fingerprint and whether DIR/index.html is the packaged
page (absent, the same, or DIFFERENT: a warning, never another verdict)."""

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency.cli import main
from solvency.commands.page import page_bytes

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_print_sha256_is_the_packaged_files():
    result = run("page", "--print-sha256")
    assert result.exit_code == 0, result.output
    packaged = (ROOT / "solvency" / "web" / "index.html").read_bytes()
    assert page_bytes() == packaged
    assert result.stdout == sha256(packaged) + "\n"


def test_out_writes_the_page_and_never_overwrites(tmp_path):
    out = tmp_path / "new" / "page.html"
    result = run("page", "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == page_bytes()
    out.write_text("mine")
    again = run("page", "--out", out)
    assert again.exit_code == 2 and "already exists; nothing is overwritten" in again.stderr
    assert out.read_text() == "mine"
    assert run("page", "--out", out, "--force").exit_code == 0
    assert out.read_bytes() == page_bytes()
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temporary file left


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "give --out FILE or --print-sha256"),
        (("--out", "."), "give a file name"),
        (("--out", "{tmp}"), "is a directory; give a file name"),
        (("--out", "/proc/page.html"), "cannot"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, args, message):
    result = run("page", *(a.format(tmp=tmp_path) for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_prove_publishes_the_page(either_publication):
    assert (either_publication / "index.html").read_bytes() == page_bytes()


def test_verify_prints_the_fingerprint_and_the_same_page(either_publication):
    result = run("verify", either_publication)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    digest = sha256((either_publication / "statement.json").read_bytes())
    assert f"statement: SHA-256 {digest} (statement.json's fingerprint" in result.stdout
    page = f"page: index.html SHA-256 {sha256(page_bytes())} (this package's page)"
    assert f"{page}; the publication's: the same" in lines
    assert (
        lines[-1].startswith("VALID: ") and "WARNING: the publication's index" not in result.stdout
    )
    report = json.loads(run("verify", either_publication, "--json").stdout)
    assert report["statement_sha256"] == digest
    assert report["page"] == {
        "sha256": sha256(page_bytes()),
        "published": "same",
        "published_sha256": sha256(page_bytes()),
    }


@pytest.mark.parametrize("name", ["publication-1/one-batch", "publication-2/three-batches"])
def test_a_golden_publication_without_the_page_stays_valid(name):
    result = run("verify", GOLDEN / name)
    assert result.exit_code == 0, result.output
    assert "the publication's: absent (a publication without the page)" in result.stdout
    assert "WARNING: the publication's index" not in result.stdout
    report = json.loads(run("verify", GOLDEN / name, "--json").stdout)
    assert report["page"]["published"] == "absent" and report["page"]["published_sha256"] is None


def test_another_page_is_a_warning_not_another_verdict(published):
    fake = page_bytes().replace(b"VALID", b"VALlD")
    (published / "index.html").write_bytes(fake)
    result = run("verify", published)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert f"the publication's: DIFFERENT (SHA-256 {sha256(fake)})" in result.stdout
    assert lines[-2].startswith("WARNING: the publication's index.html is not this version's")
    assert lines[-1].startswith("VALID: ")
    report = json.loads(run("verify", published, "--json").stdout)
    assert report["verdict"] == "valid"
    assert report["page"]["published"] == "different"
    assert report["page"]["published_sha256"] == sha256(fake)


def test_a_page_that_is_not_a_file_is_different(published):
    (published / "index.html").unlink()
    os.mkfifo(published / "index.html")  # never opened for long, never read
    result = run("verify", published)
    assert result.exit_code == 0, result.output
    assert "the publication's: DIFFERENT (not a regular file that can be read)" in result.stdout


def test_the_fingerprint_changes_with_any_byte(published):
    document = (published / "statement.json").read_bytes()
    (published / "statement.json").write_bytes(document.replace(b"\n", b"\r\n"))
    result = run("verify", published)
    assert result.exit_code == 0, result.output  # the same JSON: still valid
    changed = sha256(document.replace(b"\n", b"\r\n"))
    assert f"statement: SHA-256 {changed} " in result.stdout and sha256(document) != changed


def test_the_wheel_ships_the_page(tmp_path):
    """The page is package data: the wheel holds solvency/web/index.html, the same bytes, so
    installing it needs no node."""
    from .test_wheel_install import build_wheel

    with zipfile.ZipFile(build_wheel(tmp_path)) as wheel:
        assert wheel.read("solvency/web/index.html") == page_bytes()


def test_a_statement_changed_during_the_check_is_refused(published, monkeypatch):
    """The fingerprint printed is the checked statement's: one changed while the proofs were
    being verified is refused (exit 2), not printed."""
    from solvency.commands import verify

    checked = verify.checked_publication

    def and_then_change(directory, *args):
        proved = checked(directory, *args)
        (directory / "statement.json").write_bytes(
            b" " + (directory / "statement.json").read_bytes()
        )
        return proved

    monkeypatch.setattr(verify, "checked_publication", and_then_change)
    result = run("verify", published)
    assert result.exit_code == 2, result.output
    assert "statement.json: changed while it was being verified" in result.stderr
    assert "VALID" not in result.stdout
