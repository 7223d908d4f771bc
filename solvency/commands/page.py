"""`solvency page`: the browser page (docs/browser-verifier.md, section 3) that this package
ships as solvency/web/index.html, built from web/ by web/build.py. It is byte-identical for
every publication made by one version of the package (no publication data in it), so its
SHA-256 tells the genuine page from another: `--print-sha256` prints it, `--out FILE` writes
the page (never over an existing file, atomically), and `prove` puts it in every publication as
index.html."""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

import click

from solvency.commands.common import EXIT_INPUT, check_new_file, claim_file, console, fail
from solvency.files import InputError, read_regular, write_atomically

PAGE_NAME = "index.html"
#: A publication's index.html is read to compare it: the page is about 300 KB.
MAX_PAGE_BYTES = 1 << 24


def page_bytes() -> bytes:
    """The packaged page's bytes."""
    return resources.files("solvency").joinpath("web", PAGE_NAME).read_bytes()


def page_sha256() -> str:
    return hashlib.sha256(page_bytes()).hexdigest()


def write_page(directory: Path) -> None:
    """DIRECTORY/index.html: the packaged page, written atomically (a publication's copy)."""
    write_atomically(directory / PAGE_NAME, page_bytes())


#: What `verify` warns of a publication whose index.html is not the packaged page.
PAGE_WARNING = (
    "the publication's index.html is not this version's page: customers who open it may not "
    "be running this package's verifier (an older or newer version, or a page that says "
    "anything); the verdict does not depend on it"
)


def published_page_line(state: str, digest: str | None) -> str:
    """What `verify` says of a publication's index.html, from `published_page_state`: the
    packaged page's SHA-256, and whether the publication's copy is absent, the same bytes, or
    DIFFERENT (then also PAGE_WARNING)."""
    line = f"page: index.html SHA-256 {page_sha256()} (this package's page); the publication's"
    if state == "absent":
        return f"{line}: absent (a publication without the page)"
    if state == "same":
        return f"{line}: the same"
    if digest is None:
        return f"{line}: DIFFERENT (not a regular file that can be read)"
    return f"{line}: DIFFERENT (SHA-256 {digest})"


def published_page_state(directory: Path) -> tuple[str, str | None]:
    """("absent", None), ("same", digest) or ("different", digest) for DIRECTORY/index.html
    (("different", None): something there that cannot be read as a file, a FIFO say)."""
    path = directory / PAGE_NAME
    if not os.path.lexists(path):
        return "absent", None
    try:
        digest = hashlib.sha256(read_regular(path, MAX_PAGE_BYTES, "page")).hexdigest()
    except InputError:
        return "different", None
    return ("same" if digest == page_sha256() else "different"), digest


@click.command("page")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE",
    help="write the page to FILE (a new file; nothing is overwritten)",
)
@click.option("--force", is_flag=True, help="with --out: replace an existing file")
@click.option("--print-sha256", "print_sha256", is_flag=True, help="print the page's SHA-256")
def page_cmd(out: Path | None, force: bool, print_sha256: bool) -> None:
    """The browser page that checks a publication and a customer's inclusion file with nothing
    installed (prove writes it into every publication as index.html). --print-sha256 prints
    its SHA-256, to compare with `sha256sum index.html` of a page an exchange hosts; --out
    writes it, e.g. to open a copy of your own and point it at the exchange's files."""
    if out is None and not print_sha256:
        fail(EXIT_INPUT, "give --out FILE or --print-sha256 (see --help)")
    if out is not None:
        check_new_file("--out", out, force, {})
        claim_file("--out", out)
        write_atomically(out, page_bytes())
        console.print(f"wrote {out} (SHA-256 {page_sha256()})", highlight=False)
    if print_sha256:
        click.echo(page_sha256())
