"""Build the page: one self-contained `index.html` from the ES modules of web/page/ and web/src/
(docs/browser-verifier.md, section 3), with no npm and no network.

    python web/build.py            # writes solvency/web/index.html (the packaged page)
    python web/build.py --check    # exit 1 if solvency/web/index.html is not what this builds
    python web/build.py --out F    # writes F instead

The modules keep a restricted style (web/README.md): top-level `import {a, b as c} from
"./x.js"`, `import * as X from "./x.js"`, and `export function|class|const NAME` or
`export {a, b as c}` only. The bundler starts at web/page/page.js, follows the imports, and
writes each module reached as a function scope returning its exports, in one fixed
topological order (depth first, in the order of the import lines). Anything else (a default
export, `export let`, a dynamic import, a cycle, a name a module does not export, a closing
</script> in the code) stops the build with one line naming the file.

The output is UTF-8 without a byte-order mark, with LF line endings and no timestamp, path or
environment value: the package version (pyproject.toml) is its only variable, shown in the
footer. Its Content-Security-Policy allows exactly the inline script and style, by their
SHA-256, which the build computes."""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
ENTRY = "page/page.js"
TEMPLATE = "page/template.html"
STYLE = "page/style.css"
PACKAGED = ROOT / "solvency" / "web" / "index.html"
REBUILD = "PYTHONPATH=$PWD .venv/bin/python web/build.py"

IMPORT_NAMED = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"([^"]+)"\s*;?[ \t]*$', re.M)
IMPORT_STAR = re.compile(r'^import\s*\*\s*as\s+([\w$]+)\s+from\s*"([^"]+)"\s*;?[ \t]*$', re.M)
EXPORT_DECL = re.compile(r"^export\s+((?:async\s+)?function\*?|class|const)\s+([\w$]+)", re.M)
EXPORT_LIST = re.compile(r"^export\s*\{([^}]*)\}\s*;?[ \t]*$", re.M)
LEFT_OVER = re.compile(r"^(import|export)\b.*$", re.M)
DYNAMIC = re.compile(r"\bimport\s*\(|\bimport\.meta\b")
NAME = re.compile(r"^[A-Za-z_$][\w$]*$")
#: the page's build digest field (web/page/genuine.js), filled with ZEROS before hashing
DIGEST_MARK = b'id="page-digest">'
ZEROS = "0" * 64


class BuildError(Exception):
    """A source the bundler does not accept: one line naming the file."""


@dataclass
class Module:
    """One source module: its path under web/, the bindings it imports (local name ->
    (module path, exported name or None for a namespace)), its exports (exported name ->
    local name) and its body with the import and export syntax removed."""

    path: str
    imports: list[tuple[str, str, str | None]]
    exports: dict[str, str]
    body: str


def read_text(web: Path, path: str) -> str:
    """A source file as UTF-8 text with LF line endings (a BOM or a bad byte stops the build)."""
    raw = (web / path).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raise BuildError(f"web/{path}: starts with a byte-order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BuildError(f"web/{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    return text.replace("\r\n", "\n")


def resolve(importer: str, spec: str) -> str:
    """The path under web/ of the module `spec` imported by `importer` ("./x.js", "../src/x.js")."""
    if not spec.startswith(("./", "../")) or not spec.endswith(".js"):
        raise BuildError(f"web/{importer}: imports {spec!r}; only relative paths to .js files")
    parts = importer.split("/")[:-1]
    for part in spec.split("/"):
        if part == "..":
            if not parts:
                raise BuildError(f"web/{importer}: imports {spec!r}, outside web/")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def bindings(text: str, where: str) -> list[tuple[str, str]]:
    """`a, b as c` -> [("a", "a"), ("b", "c")]: (name outside, name inside)."""
    out = []
    for item in filter(None, (i.strip() for i in text.split(","))):
        names = item.split()
        if len(names) == 1:
            names = [names[0], "as", names[0]]
        if len(names) != 3 or names[1] != "as" or not all(NAME.match(n) for n in names[::2]):
            raise BuildError(f"{where}: cannot read {item!r}")
        out.append((names[0], names[2]))
    return out


def parse_module(web: Path, path: str) -> Module:
    """The module at web/`path`, its imports and exports taken out of its text."""
    text = read_text(web, path)
    where = f"web/{path}"
    if DYNAMIC.search(text):
        raise BuildError(f"{where}: a dynamic import or import.meta; only static imports")
    if re.search(r"</script|<!--", text, re.I):
        raise BuildError(f"{where}: holds '</script' or '<!--', which would end the inline script")
    imports: list[tuple[str, str, str | None]] = []
    exports: dict[str, str] = {}

    def named(m: re.Match) -> str:
        source = resolve(path, m.group(2))
        imports.extend((inside, source, outside) for outside, inside in bindings(m.group(1), where))
        return ""

    def star(m: re.Match) -> str:
        imports.append((m.group(1), resolve(path, m.group(2)), None))
        return ""

    def declared(m: re.Match) -> str:
        exports[m.group(2)] = m.group(2)
        return f"{m.group(1)} {m.group(2)}"

    def listed(m: re.Match) -> str:
        for inside, outside in bindings(m.group(1), where):
            exports[outside] = inside
        return ""

    body = IMPORT_NAMED.sub(named, text)
    body = IMPORT_STAR.sub(star, body)
    body = EXPORT_DECL.sub(declared, body)
    body = EXPORT_LIST.sub(listed, body)
    left = LEFT_OVER.search(body)
    if left:
        raise BuildError(f"{where}: the bundler does not accept {left.group(0)[:60]!r}")
    return Module(path, imports, exports, body)


def modules_from(web: Path, entry: str = ENTRY) -> list[Module]:
    """Every module reached from `entry`, each after the modules it imports (depth first, in
    the order of its import lines); a cycle or a missing export stops the build."""
    order: list[Module] = []
    done: dict[str, Module] = {}
    visiting: list[str] = []

    def visit(path: str) -> Module:
        if path in done:
            return done[path]
        if path in visiting:
            cycle = " -> ".join([*visiting[visiting.index(path) :], path])
            raise BuildError(f"web/{path}: an import cycle ({cycle})")
        if not (web / path).is_file():
            raise BuildError(f"web/{visiting[-1]}: imports web/{path}, which does not exist")
        visiting.append(path)
        module = parse_module(web, path)
        for _, source, _ in module.imports:
            visit(source)
        for local, source, name in module.imports:
            if name is not None and name not in done[source].exports:
                raise BuildError(
                    f"web/{path}: imports {name!r}, which web/{source} does not export"
                )
            if not NAME.match(local):
                raise BuildError(f"web/{path}: cannot bind {local!r}")
        visiting.pop()
        done[path] = module
        order.append(module)
        return module

    visit(entry)
    return order


def variable(path: str) -> str:
    """The bundle's name for a module's exports: src/field.js -> $m_src_field."""
    return "$m_" + re.sub(r"[^\w$]", "_", path.removesuffix(".js"))


def wrapped(module: Module) -> str:
    """The module as a function scope: its imports bound from earlier modules' exports, its
    body, then a frozen object of its exports."""
    lines = [f"// web/{module.path}", f"const {variable(module.path)} = (function () {{"]
    for local, source, name in module.imports:
        target = variable(source)
        value = target if name is None else f"{target}.{name}"
        lines.append(f"const {local} = {value};")
    exports = ", ".join(
        name if name == local else f"{name}: {local}" for name, local in module.exports.items()
    )
    lines += [module.body.strip("\n"), f"return Object.freeze({{ {exports} }});", "})();", ""]
    return "\n".join(lines)


def bundle(modules: list[Module]) -> str:
    return '"use strict";\n' + "\n".join(wrapped(m) for m in modules)


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def package_version(root: Path = ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)["project"]["version"]


def build(web: Path = WEB, version: str | None = None) -> bytes:
    """The page's bytes."""
    version = package_version() if version is None else version
    script = bundle(modules_from(web))
    style = read_text(web, STYLE)
    if re.search(r"</style", style, re.I):
        raise BuildError(f"web/{STYLE}: holds '</style'")
    template = read_text(web, TEMPLATE)
    csp = (
        f"default-src 'none'; script-src {csp_hash(script)}; style-src {csp_hash(style)}; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    fields = {
        "{{CSP}}": csp,
        "{{VERSION}}": version,
        "{{SCRIPT_SHA256}}": hashlib.sha256(script.encode()).hexdigest(),
        "{{STYLE}}": style,
        "{{SCRIPT}}": script,
    }
    for key in fields:
        once = key in ("{{CSP}}", "{{STYLE}}", "{{SCRIPT}}")
        if template.count(key) != 1 if once else not template.count(key):
            raise BuildError(f"web/{TEMPLATE}: expected {key} {'exactly once' if once else ''}")
    if template.count("{{PAGE_DIGEST}}") != 1:
        raise BuildError(f"web/{TEMPLATE}: expected {{{{PAGE_DIGEST}}}} exactly once")
    fields["{{PAGE_DIGEST}}"] = ZEROS
    # one pass, so that nothing in the script or the style is taken for a placeholder
    page = re.sub("|".join(map(re.escape, fields)), lambda m: fields[m.group(0)], template)
    return with_build_digest(page.encode())


def with_build_digest(page: bytes) -> bytes:
    """The page with its build digest: the SHA-256 of the page whose digest field (after
    DIGEST_MARK) holds 64 zeros, written into that field (web/page/genuine.js)."""
    at = page.index(DIGEST_MARK) + len(DIGEST_MARK)
    if page.count(DIGEST_MARK) != 1 or page[at : at + 64] != ZEROS.encode():
        raise BuildError(f"web/{TEMPLATE}: the digest field must appear once, as {DIGEST_MARK!r}")
    digest = hashlib.sha256(page).hexdigest().encode()
    return page[:at] + digest + page[at + 64 :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the page (solvency/web/index.html).")
    parser.add_argument("--out", type=Path, default=PACKAGED, help="where to write the page")
    parser.add_argument(
        "--check", action="store_true", help="compare with the file instead of writing it"
    )
    args = parser.parse_args(argv)
    try:
        page = build()
    except (BuildError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check:
        if not args.out.is_file() or args.out.read_bytes() != page:
            print(f"error: {args.out} is not the page web/ builds; rebuild it: {REBUILD}",
                  file=sys.stderr)  # fmt: skip
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_bytes(page)
    tmp.replace(args.out)
    print(f"{args.out}: {len(page):,} bytes, SHA-256 {hashlib.sha256(page).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
