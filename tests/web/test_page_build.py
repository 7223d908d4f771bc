"""web/build.py: the page is rebuilt byte for byte from web/ and equals the packaged
solvency/web/index.html (a source change without a rebuild fails here, naming the command);
the bytes hold no BOM, no CR and no path; the Content-Security-Policy pins exactly the inline
script and style; the bundler reads every module's exports as node does, and stops on what
it does not accept."""

import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "solvency" / "web" / "index.html"


def _build_module():
    spec = importlib.util.spec_from_file_location("web_build", ROOT / "web" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


build = _build_module()


@pytest.fixture(scope="module")
def page() -> bytes:
    return build.build()


def test_the_packaged_page_is_the_one_web_builds(page):
    assert page == build.build(), "two builds differ"
    assert PACKAGED.read_bytes() == page, (
        "solvency/web/index.html is stale (web/ changed since it was built): rebuild it with "
        f"`{build.REBUILD}` and commit it"
    )


def test_the_check_option_tells_a_stale_page(tmp_path):
    stale = tmp_path / "index.html"
    stale.write_bytes(PACKAGED.read_bytes() + b"\n")
    assert build.main(["--check", "--out", str(stale)]) == 1
    assert build.main(["--out", str(stale)]) == 0
    assert stale.read_bytes() == PACKAGED.read_bytes()
    assert build.main(["--check", "--out", str(stale)]) == 0


def test_bytes_without_bom_cr_path_or_time(page):
    text = page.decode("utf-8")
    assert not page.startswith(b"\xef\xbb\xbf") and b"\r" not in page
    assert str(ROOT) not in text and os.path.expanduser("~") not in text
    version = build.package_version()
    assert f'<footer>stark-solvency <span id="version">{version}</span></footer>' in text
    # the version is the only variable: another version changes nothing else (but the build
    # digest, which covers it)
    other = zeroed(build.build(version="9.9.9")).decode()
    assert other.replace("9.9.9", version) == zeroed(page).decode()


def zeroed(page: bytes) -> bytes:
    """The page with its build digest field set to 64 zeros."""
    at = page.index(build.DIGEST_MARK) + len(build.DIGEST_MARK)
    return page[:at] + b"0" * 64 + page[at + 64 :]


def test_the_build_digest_is_the_pages_with_the_field_zeroed(page):
    at = page.index(build.DIGEST_MARK) + len(build.DIGEST_MARK)
    assert page.count(build.DIGEST_MARK) == 1
    assert page[at : at + 64].decode() == hashlib.sha256(zeroed(page)).hexdigest()


def test_the_csp_pins_the_inline_script_and_style(page):
    text = page.decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    assert "<script src" not in text and '<link rel="stylesheet"' not in text

    def pinned(body: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"

    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives == {
        "default-src": "'none'",
        "script-src": pinned(scripts[0]),
        "style-src": pinned(styles[0]),
        "connect-src": "'self'",
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    assert '<meta name="referrer" content="no-referrer">' in text
    assert hashlib.sha256(scripts[0].encode()).hexdigest() in text  # shown in the page
    # no address of any other site anywhere in the page
    assert not re.search(r"https?://(?!127\.0\.0\.1)", text)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node (Node.js 20 or later) is not installed: web/'s tests cannot run")
        pytest.skip("node is not installed")
    return node


def test_the_bundler_reads_each_modules_exports_as_node_does():
    modules = build.modules_from(build.WEB)
    assert modules[-1].path == build.ENTRY
    paths = [m.path for m in modules if m.path != build.ENTRY]  # page.js runs the page
    script = (
        "const out = {};"
        + "".join(
            f"out[{json.dumps(p)}] = Object.keys(await import({json.dumps('./web/' + p)}));"
            for p in paths
        )
        + "console.log(JSON.stringify(out));"
    )
    done = subprocess.run(
        [_node(), "--input-type=module", "-e", script],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    by_node = json.loads(done.stdout)
    for m in modules:
        if m.path != build.ENTRY:
            assert sorted(m.exports) == sorted(by_node[m.path]), m.path


def _web(tmp_path: Path, modules: dict[str, str]) -> Path:
    web = tmp_path / "web"
    (web / "page").mkdir(parents=True)
    (web / "src").mkdir()
    for name in (build.TEMPLATE, build.STYLE):
        shutil.copy(build.WEB / name, web / name)
    for path, text in modules.items():
        (web / path).write_text(text)
    return web


def test_a_small_bundle_runs(tmp_path):
    web = _web(tmp_path, {
        "page/page.js": 'import { twice, K as k } from "../src/a.js";\n'
                        'import * as B from "../src/b.js";\n'
                        "globalThis.result = twice(k) + B.one;\n",
        "src/a.js": 'import { one } from "./b.js";\nexport const K = 20 + one;\n'
                    "export function twice(x) {\n  return 2 * x;\n}\n",
        "src/b.js": "const inside = 1;\nexport { inside as one };\n",
    })  # fmt: skip
    order = [m.path for m in build.modules_from(web)]
    assert order == ["src/b.js", "src/a.js", "page/page.js"]
    script = build.bundle(build.modules_from(web)) + "\nconsole.log(globalThis.result);"
    done = subprocess.run([_node(), "-e", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "43"


@pytest.mark.parametrize(
    "source, message",
    [
        ("export default 1;\n", "does not accept 'export default 1;'"),
        ("export let x = 1;\n", "does not accept 'export let x = 1;'"),
        ('import { nothing } from "./b.js";\n', "imports 'nothing', which web/src/b.js does not"),
        ('import { one } from "./a.js";\nexport const one = 1;\n', "an import cycle"),
        ('import { x } from "https://cdn.example/x.js";\n', "only relative paths"),
        ('const s = "</script>";\n', "would end the inline script"),
        ('const m = await import("./b.js");\n', "a dynamic import"),
        ('import { one } from "./missing.js";\n', "web/src/missing.js, which does not exist"),
    ],
)
def test_the_bundler_stops_on_what_it_does_not_accept(tmp_path, source, message):
    web = _web(tmp_path, {
        "page/page.js": 'import { one } from "../src/a.js";\n',
        "src/a.js": source if "one" in source else source + "export const one = 1;\n",
        "src/b.js": "export const one = 1;\n",
    })  # fmt: skip
    with pytest.raises(build.BuildError, match=re.escape(message)):
        build.modules_from(web)
