"""Benchmark the JavaScript verifier (web/): time its generic phases on batch 0 of a publication,
in node and in headless Chromium, and record the medians.

    .venv/bin/python benches/bench_web_verify.py /tmp/pub65536 --repeat 5 --label after

PUBLICATION is a folder `solvency prove` wrote (for issue 18's target: `solvency generate
--users 65536 --assets 22 --seed 7`, then `prove` with the default preset, about 100 s and
8.4 GB). Python exports batch 0 into a temporary folder: proof.bin, leaves.bin, and the batch
AIR's declaration with the values its `evaluate_transition` gives at the proof's out-of-domain
frame (air.json, periodic.bin), after checking that Python's verifier accepts the proof. Then
web/tools/bench_verify.mjs runs --repeat timed verifications after one warm-up, in node, and
the same module in Chromium (served from 127.0.0.1 by this script, the page posting its
timings back). The solvency AIR with leaves is not ported to JS yet: its constraints at z are
Python's recorded values (see bench_verify.mjs), so "constraints at z" times only the
composition around them. Every other phase is the real JS verifier on the real proof, which
must accept it; the leaves' root and the proof's SHA-256 must be the statement's.

The table gives the median of each phase per engine; the JSON (OUT/web_verify_<users>x
<assets>_<preset>[_<label>].json) keeps every timing, the load average before each engine's
run, and the versions.
"""

from __future__ import annotations

import http.server
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


# -- the export (Python's side) ------------------------------------------------------------------
def export_batch(publication: Path, out: Path) -> dict:
    """Write batch 0 of PUBLICATION into OUT for bench_verify.mjs; return air.json's content."""
    import numpy as np

    from solvency.publication.check import read_leaves
    from solvency.publication.statement import batch_dir, publication_air, read_statement
    from stark.field import ExtArray, P
    from stark.verifier import verify

    statement, data = read_statement(publication)
    where = batch_dir(publication, 0)
    leaves = read_leaves(where / "leaves.bin")
    proof = (where / "proof.bin").read_bytes()
    air = publication_air(statement.batch(0), leaves, statement.batches[0].commitment)
    k = statement.params.extension_degree
    recorded: list = []
    evaluate = air.evaluate_transition

    def recording(frame):
        values = evaluate(frame)
        recorded[:] = values
        return values

    air.evaluate_transition = recording
    verify(air, proof, accepted_params=[statement.params])  # raises if Python refuses it

    def coordinates(v) -> list[int]:
        if isinstance(v, ExtArray):
            return [int(c) for c in np.asarray(v.coords).reshape(k)]
        return [int(v) % P] + [0] * (k - 1)

    shape = air.shape()
    periodic = [np.asarray(c, dtype=np.int64) % P for c in air.periodic_columns()]
    record = data["batches"][0]
    desc = {
        "publication": str(publication),
        "users": statement.batches[0].users_padded,
        "assets": len(data["assets"]),
        "preset": data["preset"],
        "params": data["params"],
        "name": shape.name,
        "trace_len": shape.trace_len,
        "main_width": shape.main_width,
        "aux_width": shape.aux_width,
        "num_aux_challenges": shape.num_aux_challenges,
        "lookup_fractions": shape.num_lookup_fractions,
        "transitions": [[c.degree, int(c.all_rows)] for c in air.transition_constraints()],
        "boundaries": [
            [b.column, b.row, b.value % P, int(b.aux)] for b in air.boundary_constraints()
        ],
        "public_inputs_hex": air.public_inputs().hex(),
        "periodic_lengths": [len(c) for c in periodic],
        "constraint_values": [coordinates(v) for v in recorded],
        "leaves_root": record["leaves_root"],
        "proof_sha256": record["proof_sha256"],
        "proof_bytes": len(proof),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "air.json").write_text(json.dumps(desc))
    (out / "periodic.bin").write_bytes(np.concatenate(periodic).astype("<u4").tobytes())
    shutil.copyfile(where / "proof.bin", out / "proof.bin")
    shutil.copyfile(where / "leaves.bin", out / "leaves.bin")
    return desc


# -- the engines ---------------------------------------------------------------------------------
def run_node(web: Path, data: Path, repeat: int) -> dict:
    """bench_verify.mjs of WEB (a web/ folder: src/ and tools/) in node."""
    if shutil.which("node") is None:
        raise click.ClickException("node is not installed: use --engines chromium")
    out = subprocess.run(
        ["node", str(web / "tools" / "bench_verify.mjs"), str(data), "--repeat", str(repeat)],
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
import { loadInputs, runBench } from "./tools/bench_verify.mjs";
const post = (body) => fetch("/result", { method: "POST", body: JSON.stringify(body) });
try {
  const inputs = await loadInputs(async (name) =>
    new Uint8Array(await (await fetch("./data/" + name)).arrayBuffer()));
  const result = runBench(inputs, REPEAT, () => performance.now());
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


def run_chromium(web: Path, data: Path, repeat: int, timeout: float) -> dict:
    """Serve WEB's src/, its bench_verify.mjs and the data from 127.0.0.1; run the page
    headless."""
    with tempfile.TemporaryDirectory(prefix="bench-web-verify-") as tmp:
        site = Path(tmp)
        shutil.copytree(web / "src", site / "src")
        (site / "tools").mkdir()
        shutil.copyfile(web / "tools" / "bench_verify.mjs", site / "tools" / "bench_verify.mjs")
        shutil.copytree(data, site / "data")
        (site / "index.html").write_text(PAGE.replace("REPEAT", str(repeat)))
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


def chromium_version() -> str | None:
    try:
        return subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def checkout_web(rev: str, where: Path) -> Path:
    """web/src and web/tools/bench_verify.mjs as they were at git revision REV, in WHERE/web."""
    archive = subprocess.run(
        ["git", "archive", rev, "web/src", "web/tools/bench_verify.mjs"],
        cwd=ROOT, capture_output=True, check=False,
    )  # fmt: skip
    if archive.returncode:
        raise click.ClickException(f"--baseline {rev}: {archive.stderr.decode().strip()}")
    where.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where / "web"


def merge(results: dict, name: str, run: dict) -> None:
    """Add one engine run's timings to results[name] (runs concatenated, medians recomputed)."""
    if name not in results:
        results[name] = {"engine": run["engine"], "phases": run["phases"], "runs": {}}
    into = results[name]
    for phase, times in run["runs"].items():
        into["runs"].setdefault(phase, []).extend(times)
    into["median"] = {p: statistics.median(t) for p, t in into["runs"].items()}


# -- report --------------------------------------------------------------------------------------
def print_table(meta: dict, engines: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"JS verifier, batch 0: {meta['users']:,} users x {meta['assets']} assets, "
        f"{meta['preset']} preset, median ms of {meta['repeat']} runs"
    )
    table.add_column("phase")
    for name in engines:
        table.add_column(name, justify="right")
    phases = next(iter(engines.values()))["phases"]
    for p in phases:
        table.add_row(p, *(f"{e['median'][p]:.1f}" for e in engines.values()))
    Console(width=150).print(table)


@click.command(help=__doc__.split("\n\n")[0])
@click.argument("publication", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--repeat", type=click.IntRange(min=1), default=5, show_default=True,
    help="timed verifications per engine, after one warm-up",
)  # fmt: skip
@click.option(
    "--engines", type=click.Choice(["both", "node", "chromium"]), default="both",
    show_default=True, help="where to run the JS verifier",
)  # fmt: skip
@click.option("--label", default="", help="added to the result's file name (e.g. before, after)")
@click.option(
    "--baseline", metavar="REV",
    help="also time web/ as it was at git revision REV (which has bench_verify.mjs), "
    "alternating with this checkout's, twice per engine: before and after in one run",
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
    engines: str,
    label: str,
    baseline: str | None,
    timeout: float,
    out: Path,
):
    if engines != "node" and chromium_version() is None:
        raise click.ClickException(f"{CHROMIUM} is not there: use --engines node")
    with tempfile.TemporaryDirectory(prefix="bench-web-verify-data-") as tmp:
        data = Path(tmp) / "data"
        webs = {"": WEB}
        if baseline:
            webs = {f" @{baseline}": checkout_web(baseline, Path(tmp) / "baseline"), "": WEB}
        try:
            desc = export_batch(publication, data)
        except Exception as e:  # an unreadable publication, or one Python does not accept
            raise click.BadParameter(str(e), param_hint="PUBLICATION") from None
        results: dict[str, dict] = {}
        loads: dict[str, float] = {}
        chosen = ["node", "chromium"] if engines == "both" else [engines]
        for engine in chosen:
            for _ in range(2 if baseline else 1):  # alternate: baseline, current, baseline, ...
                for suffix, web in webs.items():
                    name = engine + suffix
                    loads.setdefault(name, os.getloadavg()[0])
                    if engine == "node":
                        r = run_node(web, data, repeat)
                    else:
                        r = run_chromium(web, data, repeat, timeout)
                    merge(results, name, r)
    meta = {
        "users": desc["users"],
        "assets": desc["assets"],
        "preset": desc["preset"],
        "air": desc["name"],
        "proof_bytes": desc["proof_bytes"],
        "repeat": repeat * (2 if baseline else 1),
        "label": label,
        "baseline": baseline,
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "chromium": chromium_version() if "chromium" in results else None,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "python benches/bench_web_verify.py " + " ".join(sys.argv[1:]),
        "target_s": TARGET_S,
    }
    print_table(meta, results)
    for name, r in results.items():
        total_s = r["median"]["total"] / 1000
        medians = {p: round(v, 2) for p, v in r["median"].items()}
        print(json.dumps({"engine": name, "total_s": round(total_s, 4), "median_ms": medians}))
    out.mkdir(parents=True, exist_ok=True)
    stem = f"web_verify_{desc['users']}x{desc['assets']}_{desc['preset']}"
    path = out / (f"{stem}_{label}.json" if label else f"{stem}.json")
    engines_out = {
        name: {
            "engine": r["engine"],
            "load_before": round(loads[name], 2),
            "median_ms": r["median"],
            "median_total_s": round(statistics.median(r["runs"]["total"]) / 1000, 4),
            "runs_ms": r["runs"],
        }
        for name, r in results.items()
    }
    path.write_text(json.dumps({**meta, "engines": engines_out}, indent=2) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    run(main)
