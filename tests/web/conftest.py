"""The browser the page's tests drive: Debian's chromium through playwright (never
`playwright install`, which downloads a browser). Without either the tests skip, or fail when
the environment variable CI is set."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _missing(what: str):
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed: the page's end-to-end tests cannot run")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        _missing(f"chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (pip install playwright; never `playwright install`)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()
