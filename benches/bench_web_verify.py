"""Benchmark the JavaScript verifier (web/): time the whole publication check, phase by phase,
in node and in headless Chromium, and record the medians.

    .venv/bin/python benches/bench_web_verify.py /tmp/pub65536 --repeat 5 --label whole

PUBLICATION is a folder `solvency prove` wrote (for issue 18's target: `solvency generate
--users 65536 --assets 22 --seed 7`, then `prove` with the default preset, about 100 s and
8.4 GB; `--batch-size` makes one of several batches, with the aggregation). Python checks it
first (check_publication, as `solvency verify` does) and keeps its verdict line. Then
web/tools/bench_verify.mjs checks it as the page will: checkPublication (web/src/check.js) with
the real AIRs (solvency_air.js, aggregate_air.js) on every file of the folder, read into memory
first; each run must give VALID with Python's verdict line, word for word. Each engine process
(node, or a headless Chromium served the modules and the publication from 127.0.0.1 by this
script, the page posting its timings back) makes one cold check (the first: what a page's
visitor waits for) and --repeat timed ones; --processes starts several.

The phases are check.js's progress and verify()'s onPhase (bench_verify.mjs lists them). The
table gives the median of each phase per engine, warm and cold; the JSON
(OUT/web_verify_<users>x<assets>_<preset>[_<B>batches][_<label>].json) keeps every timing, the
load average before each process, Python's own check time, and the versions.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import platform
import shutil
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

import click
from _cli import run

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benches" / "results"
WEB = ROOT / "web"
CHROMIUM = "/usr/bin/chromium"
TARGET_S = 5.0  # issue 18: the whole page check of 65,536 users x 22 assets in Chromium


# -- Python's side -------------------------------------------------------------------------------
def python_check(publication: Path) -> dict:
    """`solvency verify PUBLICATION`'s verdict line (VALID only: anything else raises
    click.BadParameter), the publication's size, and how long Python's check took."""
    from solvency.commands.verify import Verdict, checked_publication, verdict_line
    from solvency.snapshot import InputError

    start = time.perf_counter()
    try:
        proved = checked_publication(publication, "provable", 100.0)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="PUBLICATION") from None
    except Verdict as e:
        raise click.BadParameter(
            f"Python's verify: INVALID: {e.message}", param_hint="PUBLICATION"
        ) from None
    seconds = time.perf_counter() - start
    s = proved.statement
    return {
        "line": "VALID: " + verdict_line(proved, "provable"),
        "users": s.trace_len,
        "assets": len(s.symbols),
        "batches": s.count,
        "preset": proved.preset,
        "python_check_s": round(seconds, 4),
    }


def publication_files(publication: Path) -> list[str]:
    """Every file of the folder, as relative paths ("batches/b00000/proof.bin"), sorted."""
    names = (p.relative_to(publication).as_posix() for p in publication.rglob("*") if p.is_file())
    return sorted(names)


# -- the engines ---------------------------------------------------------------------------------
def run_node(web: Path, publication: Path, repeat: int) -> dict:
    """bench_verify.mjs of WEB (a web/ folder: src/ and tools/) in node."""
    if shutil.which("node") is None:
        raise click.ClickException("node is not installed: use --engines chromium")
    out = subprocess.run(
        ["node", str(web / "tools" / "bench_verify.mjs"), str(publication),
         "--repeat", str(repeat)],
        check=False, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if out.returncode:
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        error = next((line for line in lines if "Error" in line), lines[-1] if lines else "")
        raise click.ClickException(f"node: {error.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


PAGE = """<!doctype html>
<meta charset="utf-8">
<title>bench_verify</title>
<p id="status">running</p>
<script type="module">
import { runBench } from "./tools/bench_verify.mjs";
const post = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });
try {
  const names = NAMES;
  const read = async (name) => new Uint8Array(await (await fetch("./pub/" + name)).arrayBuffer());
  const result = await runBench(names, read, REPEAT, () => performance.now());
  await post({ engine: navigator.userAgent, ...result });
} catch (e) {
  await post({ error: String(e && e.stack || e) });
}
</script>
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files from the site folder (module scripts as text/javascript); POST /result keeps the
    page's JSON in `result` (a list per server: the subclass made in run_chromium)."""

    extensions_map: ClassVar[dict] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
    }
    result: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()
        type(self).result.append(json.loads(body))

    def log_message(self, *args):  # quiet
        pass


def run_chromium(web: Path, publication: Path, repeat: int, timeout: float) -> dict:
    """Serve WEB's src/, its bench_verify.mjs and the publication (as pub/) from 127.0.0.1; run
    the page headless."""
    with tempfile.TemporaryDirectory(prefix="bench-web-verify-") as tmp:
        site = Path(tmp)
        shutil.copytree(web / "src", site / "src")
        (site / "tools").mkdir()
        shutil.copyfile(web / "tools" / "bench_verify.mjs", site / "tools" / "bench_verify.mjs")
        shutil.copytree(publication, site / "pub")
        names = json.dumps(publication_files(publication))
        page = PAGE.replace("NAMES", names).replace("REPEAT", str(repeat))
        (site / "index.html").write_text(page)
        handler = type("Handler", (_Handler,), {"result": []})
        server = socketserver.ThreadingTCPServer(
            ("127.0.0.1", 0), lambda *a: handler(*a, directory=str(site))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        profile = site / "profile"
        browser = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", f"http://127.0.0.1:{server.server_address[1]}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while not handler.result and time.monotonic() < deadline and browser.poll() is None:
                time.sleep(0.1)
        finally:
            browser.kill()
            browser.wait()
            server.shutdown()
            server.server_close()
        if not handler.result:
            raise click.ClickException("Chromium gave no result (timed out or exited)")
        result = handler.result[0]
        if "error" in result:
            raise click.ClickException(f"Chromium: {result['error'].splitlines()[0]}")
        return result


SETTLED = """() => {
  const v = document.getElementById("verdict");
  return v && !["running", "idle"].includes(v.dataset.state) && performance.now();
}"""


def run_page(publication: Path, repeat: int, timeout: float) -> dict:
    """The page itself: web/build.py's page of this checkout's web/ (never written into the
    repository) as the publication's index.html, served from 127.0.0.1 and opened repeat + 1
    times in a fresh tab of one headless Chromium (playwright); each load is timed from the
    navigation's start to the settled #verdict (performance.now() in the page) and its verdict
    line kept. Phases: only the total."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise click.ClickException(
            "the page engine needs playwright (never `playwright install`)"
        ) from None
    spec = importlib.util.spec_from_file_location("web_build", WEB / "build.py")
    build = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build  # dataclasses look their module up
    spec.loader.exec_module(build)
    with tempfile.TemporaryDirectory(prefix="bench-web-page-") as tmp:
        site = Path(tmp) / "pub"
        shutil.copytree(publication, site)
        (site / "index.html").write_bytes(build.build())
        handler = type("Handler", (_Handler,), {"result": []})
        server = socketserver.ThreadingTCPServer(
            ("127.0.0.1", 0), lambda *a: handler(*a, directory=str(site))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        times, lines = [], []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                for _ in range(repeat + 1):
                    tab = browser.new_page()
                    tab.goto(url)
                    done = tab.wait_for_function(SETTLED, polling="raf", timeout=timeout * 1000)
                    times.append(done.json_value())
                    lines.append(tab.locator("#verdict").text_content())
                    tab.close()
                engine = browser.version
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    if len(set(lines)) != 1:
        raise click.ClickException(f"the page gave several verdicts: {sorted(set(lines))}")
    return {
        "engine": f"Chromium {engine}, the page", "phases": ["total"], "repeat": repeat,
        "line": lines[0], "visits": {}, "cold": {"total": times[0]},
        "runs": {"total": times[1:]},
    }  # fmt: skip


def chromium_version() -> str | None:
    try:
        return subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def checkout_web(rev: str, where: Path) -> Path:
    """web/src as it was at git revision REV, with this checkout's bench_verify.mjs, in
    WHERE/web (REV's check.js must take options.onPhase for verify()'s phases to be cut)."""
    archive = subprocess.run(
        ["git", "archive", rev, "web/src"], cwd=ROOT, capture_output=True, check=False
    )
    if archive.returncode:
        raise click.ClickException(f"--baseline {rev}: {archive.stderr.decode().strip()}")
    where.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    (where / "web" / "tools").mkdir()
    tool = Path("tools") / "bench_verify.mjs"
    shutil.copyfile(WEB / tool, where / "web" / tool)
    return where / "web"


def merge(results: dict, name: str, run: dict, load: float) -> None:
    """Add one engine process's timings to results[name] (runs concatenated, one cold run per
    process, medians recomputed)."""
    if name not in results:
        results[name] = {
            "engine": run["engine"], "phases": run["phases"], "visits": run["visits"],
            "runs": {}, "cold": {}, "loads": [],
        }  # fmt: skip
    into = results[name]
    if run["visits"] != into["visits"]:
        raise click.ClickException(f"{name}: two processes met other phases")
    into["loads"].append(round(load, 2))
    for phase, times in run["runs"].items():
        into["runs"].setdefault(phase, []).extend(times)
    for phase, ms in run["cold"].items():
        into["cold"].setdefault(phase, []).append(ms)
    into["median"] = {p: statistics.median(t) for p, t in into["runs"].items()}
    into["cold_median"] = {p: statistics.median(t) for p, t in into["cold"].items()}


# -- report --------------------------------------------------------------------------------------
def print_table(meta: dict, engines: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    batches = "" if meta["batches"] == 1 else f" in {meta['batches']} batches"
    table = Table(
        title=f"JS publication check: {meta['users']:,} users{batches} x {meta['assets']} assets, "
        f"{meta['preset']} preset; median ms of {meta['runs']} warm runs and of "
        f"{meta['processes']} cold (first) runs"
    )
    table.add_column("phase")
    for name in engines:
        table.add_column(name, justify="right")
        table.add_column(f"{name} cold", justify="right")
    phases = next(iter(engines.values()))["phases"]
    for p in phases:
        row = []
        for e in engines.values():
            if p in e["median"]:
                row += [f"{e['median'][p]:.1f}", f"{e['cold_median'][p]:.1f}"]
            else:
                row += ["", ""]
        table.add_row(p, *row)
    Console(width=160).print(table)


@click.command(help=__doc__.split("\n\n")[0])
@click.argument("publication", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--repeat", type=click.IntRange(min=1), default=5, show_default=True,
    help="timed checks per engine process, after its first (cold) one",
)  # fmt: skip
@click.option(
    "--processes", type=click.IntRange(min=1), default=1, show_default=True,
    help="engine processes per engine (and per code version): one cold run each",
)  # fmt: skip
@click.option(
    "--engines", type=click.Choice(["both", "node", "chromium", "page", "all"]),
    default="both", show_default=True,
    help="where to run the JS check: node, Chromium (bench_verify.mjs), both, the page itself "
    "(the packaged page in Chromium via playwright: its total only), or all three",
)  # fmt: skip
@click.option("--label", default="", help="added to the result's file name (e.g. before, after)")
@click.option(
    "--baseline", metavar="REV",
    help="also time web/src as it was at git revision REV (whose check.js takes "
    "options.onPhase), alternating with this checkout's, process by process",
)  # fmt: skip
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
    help="seconds to wait for Chromium's result",
)  # fmt: skip
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RESULTS,
    show_default=True,
    help="directory for the JSON results",
)
def main(
    publication: Path,
    repeat: int,
    processes: int,
    engines: str,
    label: str,
    baseline: str | None,
    timeout: float,
    out: Path,
):
    if engines != "node" and chromium_version() is None:
        raise click.ClickException(f"{CHROMIUM} is not there: use --engines node")
    publication = publication.resolve()
    python = python_check(publication)
    with tempfile.TemporaryDirectory(prefix="bench-web-verify-") as tmp:
        webs = {"": WEB}
        if baseline:
            webs = {f" @{baseline}": checkout_web(baseline, Path(tmp) / "baseline"), "": WEB}
        results: dict[str, dict] = {}
        chosen = {"both": ["node", "chromium"], "all": ["node", "chromium", "page"]}.get(
            engines, [engines]
        )
        for engine in chosen:
            for _ in range(processes):
                for suffix, web in webs.items():  # alternate: baseline, current, baseline, ...
                    if engine == "page" and web is not WEB:
                        continue  # the page is built from this checkout only
                    load = os.getloadavg()[0]
                    if engine == "node":
                        r = run_node(web, publication, repeat)
                    elif engine == "chromium":
                        r = run_chromium(web, publication, repeat, timeout)
                    else:
                        r = run_page(publication, repeat, timeout)
                    if r["line"] != python["line"]:
                        raise click.ClickException(
                            f"{engine}{suffix} gave another verdict line than Python's: {r['line']}"
                        )
                    merge(results, engine + suffix, r, load)
    preset = python["preset"]
    meta = {
        "publication": str(publication),
        "users": python["users"],
        "assets": python["assets"],
        "batches": python["batches"],
        "preset": preset,
        "files": {n: (publication / n).stat().st_size for n in publication_files(publication)},
        "verdict_line": python["line"],
        "python_check_s": python["python_check_s"],
        "repeat": repeat,
        "processes": processes,
        "runs": repeat * processes,
        "label": label,
        "baseline": baseline,
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "chromium": chromium_version() if any(not n.startswith("node") for n in results) else None,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "python benches/bench_web_verify.py " + " ".join(sys.argv[1:]),
        "target_s": TARGET_S,
    }
    print_table(meta, results)
    for name, r in results.items():
        medians = {p: round(v, 2) for p, v in r["median"].items()}
        print(json.dumps({
            "engine": name, "total_s": round(r["median"]["total"] / 1000, 4),
            "cold_total_s": round(r["cold_median"]["total"] / 1000, 4), "median_ms": medians,
        }))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    stem = f"web_verify_{meta['users']}x{meta['assets']}_{preset}"
    if meta["batches"] > 1:
        stem += f"_{meta['batches']}batches"
    path = out / (f"{stem}_{label}.json" if label else f"{stem}.json")
    engines_out = {
        name: {
            "engine": r["engine"],
            "load_before": r["loads"],
            "median_ms": r["median"],
            "median_total_s": round(r["median"]["total"] / 1000, 4),
            "visits": r["visits"],
            "range_total_s": [round(f(r["runs"]["total"]) / 1000, 4) for f in (min, max)],
            "cold_median_ms": r["cold_median"],
            "cold_ms": r["cold"],
            "runs_ms": r["runs"],
        }
        for name, r in results.items()
    }
    path.write_text(json.dumps({**meta, "engines": engines_out}, indent=2) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    run(main)
