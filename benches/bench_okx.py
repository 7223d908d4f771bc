"""Side by side with OKX's Python STARK proof of reserves (okx/proof-of-reserves, folder
zk_STARK): one generated snapshot, converted to OKX's input, proved by both, per-user times.

    python benches/bench_okx.py --users 1023 --assets 22 --okx /tmp/okx/zk_STARK \\
        --okx-python /tmp/okx/venv/bin/python

OKX's code is not part of this repository and never is: bring its zk_STARK folder into a scratch
folder (default /tmp/okx/zk_STARK, or $OKX_ZK_STARK) with a Python that has pycryptodome
(default /tmp/okx/venv/bin/python if present, or $OKX_PYTHON). Its batch proof holds at most
4,095 users (`mk_batch_proof`) and is pure Python over a 252-bit field, so it is measured at one
batch of --users; ours is measured on the same users, and with --ours-at at larger sizes (our
batch is 65,536 users) for the per-user cost at scale.

The conversion (`okx_input`): OKX adds a user's per-coin values into the net value it
range-checks, so they must be in one unit; each balance becomes its USD value in micro-dollars,
floor(e_ij * price_j * 10^6 / 10^decimals_j), exact; the id is the SHA-256 of ours in hex. Its
trace takes 32 rows per user (uts = 32: net values below 4^30 micro-USD; 16 rows would cap
them at 268 USD).

Each side runs in its own process: OKX's `mk_batch_proof` (the whole batch job: reads the
input, builds the trace, proves, writes its files), then its `verify_batch_proof`; ours, after a
warm-up (compiled kernels), the application's witness of one batch (`inclusion.witness`: nonces,
leaves, format 2 with the generated haircut tables) and `prove` with --preset, then `verify`.
Prints a table and the ratio of per-user times; saves JSON as
OUT/okx_<users>x<assets>_<preset>.json; prints one JSON object as its last line.

Exit codes: 0 done; 1 a run failed; 2 a mistake on the command line; 3 OKX's prover was not
found at --okx (ours and the converter still ran: the input file is in --work; pass
--ours-only to skip OKX on purpose and exit 0).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cli import comma_ints, stop
from _cli import run as run_command

from solvency.generate import Generated, generate
from stark.params import PRESETS

RESULTS = Path(__file__).resolve().parent / "results"
OKX_DIR = Path(os.environ.get("OKX_ZK_STARK", "/tmp/okx/zk_STARK"))
OKX_VENV_PYTHON = Path("/tmp/okx/venv/bin/python")
OKX_PYTHON = os.environ.get(
    "OKX_PYTHON", str(OKX_VENV_PYTHON) if OKX_VENV_PYTHON.exists() else sys.executable
)
OKX_MAX_USERS = 4095  # mk_batch_proof: fewer than 2^12 users in one batch
OKX_UTS = 32  # trace rows per user: net values in [0, 4^30)
OKX_PRIME = 2**251 + 17 * 2**192 + 1  # its field (the "Stark" prime); sums are reduced mod it
USD_UNIT = 10**6  # OKX's values: micro-dollars
NOT_FOUND_EXIT = 3
INPUT, CONFIG = "okx_input.json", "okx_config.json"

#: The measuring process on OKX's side (run with its Python, in the work folder): its batch
#: proof of the input, then its verifier; one JSON line.
OKX_RUNNER = """
import json, os, resource, sys, time
okx, rows, config, out, uts = sys.argv[1:6]
sys.path.insert(0, okx)
from mk_and_verify_proofs import mk_batch_proof, verify_batch_proof
start, cpu = time.perf_counter(), time.process_time()
mk_batch_proof(int(uts), rows, out, config)
prove_s, prove_cpu_s = time.perf_counter() - start, time.process_time() - cpu
start = time.perf_counter()
try:
    sums = verify_batch_proof(out, json.load(open(config)))
    verified = True
except AssertionError:
    sums, verified = None, False
verify_s = time.perf_counter() - start
print(json.dumps({
    "prove_s": prove_s, "prove_cpu_s": prove_cpu_s, "verify_s": verify_s,
    "verified": verified, "sums": sums,
    "proof_bytes": os.path.getsize(os.path.join(out, "sum_proof.json")),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


# -- the conversion --------------------------------------------------------------------------
def usd_micro(balances: list[int], price: str, decimals: int) -> list[int]:
    """floor(e * price * 10^6 / 10^decimals) for each balance e, exact (Python integers)."""
    num, den = Decimal(price).as_integer_ratio()
    scale_num, scale_den = num * USD_UNIT, den * 10**decimals
    return [e * scale_num // scale_den for e in balances]


def okx_input(data: Generated) -> tuple[dict, list[dict]]:
    """OKX's config (coins, all of them constrained) and its user rows, {"id": hex, SYMBOL:
    "value"}, for our snapshot: values in micro-USD (`usd_micro`)."""
    symbols = [a["symbol"] for a in data.assets]
    columns = [
        usd_micro([int(e) for e in data.balances[:, j]], a["price"], a["decimals"])
        for j, a in enumerate(data.assets)
    ]
    rows = [
        {"id": hashlib.sha256(uid.encode()).hexdigest()}
        | {s: str(col[i]) for s, col in zip(symbols, columns, strict=True)}
        for i, uid in enumerate(data.ids)
    ]
    return {"main_coins_num": len(symbols), "coins": symbols}, rows


def write_okx_input(data: Generated, work: Path) -> tuple[Path, Path, dict]:
    """Write OKX's input and config into `work`; their paths and the expected per-coin sums."""
    config, rows = okx_input(data)
    work.mkdir(parents=True, exist_ok=True)
    (work / INPUT).write_text(json.dumps(rows))
    (work / CONFIG).write_text(json.dumps(config))
    sums = {s: sum(int(r[s]) for r in rows) for s in config["coins"]}
    return work / INPUT, work / CONFIG, sums


# -- the two sides -----------------------------------------------------------------------------
def okx_found(okx: Path) -> bool:
    return (okx / "mk_and_verify_proofs.py").is_file() and (okx / "por_stark.py").is_file()


def measure_okx(okx: Path, python: str, work: Path, rows: Path, config: Path) -> dict:
    """OKX's batch proof and its verification, in its own process."""
    out = work / "okx_proof"
    args = [python, "-c", OKX_RUNNER, str(okx.resolve()), str(rows), str(config),
            f"{out}/", str(OKX_UTS)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=work, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise click.ClickException(f"OKX's prover failed ({python}): {last}")
    (work / "okx_result.json").write_text(done.stdout)  # kept if ours fails later: minutes
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_ours(users: int, assets: int, seed: int, preset: str) -> dict:
    """The application's batch proof of the generated snapshot, after a warm-up on 64 users:
    witness (nonces, leaves, format 2 with the haircut tables) and prove, then verify."""
    from solvency import inclusion
    from solvency.bench import market_of
    from solvency.publication.statement import publication_air
    from stark.prover import prove
    from stark.verifier import verify

    data = generate(users, assets, seed=seed)
    market, params = market_of(data.assets), PRESETS[preset]

    def one(ids: list[str], balances) -> dict:
        start, cpu = time.perf_counter(), time.process_time()
        wit = inclusion.witness(market, ids, balances)
        witness_s = time.perf_counter() - start
        air = publication_air(wit.statement, wit.leaves)
        start = time.perf_counter()
        blob = prove(air, wit.trace, params).to_bytes()
        prove_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        verify(air, blob, accepted_params=[params])
        verify_s = time.perf_counter() - start
        return {"rows": int(wit.trace.shape[1]), "main_columns": air.main_width,
                "witness_s": witness_s, "prove_s": prove_s, "total_cpu_s": cpu_s,
                "verify_s": verify_s,
                "proof_bytes": len(blob)}  # fmt: skip

    one(data.ids[:64], data.balances[:64])  # warm-up
    got = one(data.ids, data.balances)
    return {
        "users": users,
        **got,
        "total_s": got["witness_s"] + got["prove_s"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def ours_in_child(users: int, assets: int, seed: int, preset: str) -> dict:
    """measure_ours() in a fresh process (its memory and compiled state its own)."""
    args = [sys.executable, __file__, "--child-ours", str(users), "--assets", str(assets),
            "--seed", str(seed), "--preset", preset]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise click.ClickException(f"ours at {users:,} users: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the report --------------------------------------------------------------------------------
def rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def summary_table(users: int, assets: int, preset: str, okx: dict | None, ours: list[dict]):
    """Wall and CPU seconds of each proof, per user, and OKX's over ours."""
    table = Table(title=f"OKX's Python STARK vs ours: {users:,} users x {assets} assets")
    for name in ("prover", "users", "trace rows", "prove s", "per user ms", "CPU per user ms",
                 "verify s", "proof bytes", "peak MB", "OKX / ours wall, CPU"):  # fmt: skip
        table.add_column(name, justify="left" if name == "prover" else "right")
    if okx is not None:
        table.add_row("OKX zk_STARK", f"{users:,}", f"{okx['rows']:,}",
                      f"{okx['prove_s']:.2f}", f"{okx['per_user_ms']:.2f}",
                      f"{okx['cpu_per_user_ms']:.2f}", f"{okx['verify_s']:.3f}",
                      f"{okx['proof_bytes']:,}", f"{okx['peak_rss_mb']:,.0f}", "1")  # fmt: skip
    for r in ours:
        ratio = (f"{r['okx_over_ours']:,.0f}x, {r['okx_over_ours_cpu']:,.0f}x"
                 if "okx_over_ours" in r else "-")  # fmt: skip
        table.add_row(f"ours ({preset})", f"{r['users']:,}", f"{r['rows']:,}",
                      f"{r['total_s']:.2f}", f"{r['per_user_ms']:.3f}",
                      f"{r['cpu_per_user_ms']:.3f}", f"{r['verify_s']:.3f}",
                      f"{r['proof_bytes']:,}", f"{r['peak_rss_mb']:,.0f}", ratio)  # fmt: skip
    return table


@dataclass(frozen=True)
class Run:
    """What one comparison measures (the command line's options)."""

    users: int
    assets: int
    seed: int
    preset: str
    okx_dir: Path
    okx_python: str
    ours_only: bool
    ours_at: list[int]
    out: Path


@click.command(epilog="Exit codes: 0 done, 1 a run failed, 2 usage, 3 OKX's prover not found.")
@click.option("--users", type=click.IntRange(1, OKX_MAX_USERS), default=255, show_default=True,
              help="users of the snapshot (OKX's batch holds at most 4,095)")  # fmt: skip
@click.option("--assets", type=click.IntRange(1, 200), default=22, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="proven",
              show_default=True, help="our STARK preset")  # fmt: skip
@click.option("--okx", "okx_dir", type=click.Path(file_okay=False, path_type=Path),
              default=OKX_DIR, show_default=True,
              help="OKX's zk_STARK folder (or $OKX_ZK_STARK)")  # fmt: skip
@click.option("--okx-python", default=OKX_PYTHON, show_default=True,
              help="a Python with pycryptodome for OKX's code (or $OKX_PYTHON)")  # fmt: skip
@click.option("--ours-only", is_flag=True, help="skip OKX on purpose (exit 0)")
@click.option("--ours-at", default="", metavar="N,N", help="also ours alone at these sizes")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="keep OKX's input and proof here (default: a temporary folder)")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="where the JSON result goes")  # fmt: skip
@click.option("--child-ours", type=int, hidden=True, help="measure ours at this size, alone")
def main(work: Path | None, child_ours: int | None, ours_at: str, **options) -> None:
    """Prove one generated snapshot with OKX's zk_STARK and with ours; per-user times."""
    if child_ours is not None:
        args = (child_ours, options["assets"], options["seed"], options["preset"])
        click.echo(json.dumps(measure_ours(*args)))
        return
    run = Run(ours_at=comma_ints("--ours-at", ours_at) if ours_at else [], **options)
    if work is None:
        with tempfile.TemporaryDirectory(prefix="bench-okx-") as tmp:
            found = compare(run, Path(tmp), kept=False)
    else:
        found = compare(run, work.resolve(), kept=True)
    if not found:
        stop(
            NOT_FOUND_EXIT,
            f"OKX's prover not found at {run.okx_dir} (no mk_and_verify_proofs.py): measured "
            "ours only; give --okx DIR, or --ours-only",
        )


def compare(run: Run, work: Path, kept: bool) -> bool:
    """Convert, measure both sides, report; False if OKX's prover was wanted but not found.
    `kept`: the work folder stays (its path goes in the summary)."""
    console = Console(stderr=True, width=120)
    users, assets, preset = run.users, run.assets, run.preset
    found = run.ours_only or okx_found(run.okx_dir)
    with console.status(f"converting {users:,} users x {assets} assets to OKX's input"):
        data = generate(users, assets, seed=run.seed)
        rows_path, config_path, sums = write_okx_input(data, work)
    okx = None
    if not run.ours_only and found:
        with console.status(f"OKX's prover: {users:,} users (pure Python: minutes)"):
            got = measure_okx(run.okx_dir, run.okx_python, work, rows_path, config_path)
        published = got.pop("sums")  # per coin, then the total; None if it did not verify
        got["sums_match"] = published is not None and [
            int(v) % OKX_PRIME for v in published[:-1]
        ] == [v % OKX_PRIME for v in sums.values()]
        blocks = 1 << users.bit_length()  # a zero block and the users, to a power of two
        okx = {"users": users, "uts": OKX_UTS, "rows": OKX_UTS * blocks, **got,
               "per_user_ms": got["prove_s"] / users * 1000,
               "cpu_per_user_ms": got["prove_cpu_s"] / users * 1000}  # fmt: skip
    ours = []
    for size in [users, *run.ours_at]:
        with console.status(f"ours: {size:,} users x {assets} assets, {preset}"):
            r = ours_in_child(size, assets, run.seed, preset)
        r["per_user_ms"] = r["total_s"] / size * 1000
        r["cpu_per_user_ms"] = r["total_cpu_s"] / size * 1000
        if okx is not None:
            r["okx_over_ours"] = okx["per_user_ms"] / r["per_user_ms"]
            r["okx_over_ours_cpu"] = okx["cpu_per_user_ms"] / r["cpu_per_user_ms"]
        ours.append(rounded(r))
    console.print(summary_table(users, assets, preset, okx, ours))
    if okx is not None:
        console.print(f"OKX's proof verified: {okx['verified']}; its per-coin sums equal the "
                      f"snapshot's (micro-USD): {okx['sums_match']}")  # fmt: skip
        for r in ours:
            console.print(f"ours at {r['users']:,} users: {r['okx_over_ours']:,.0f}x faster per "
                          f"user than OKX's batch ({r['okx_over_ours_cpu']:,.0f}x in CPU "
                          "time)")  # fmt: skip
    skipped = "--ours-only" if run.ours_only else f"not found at {run.okx_dir}"
    summary = {
        "users": users, "assets": assets, "seed": run.seed, "preset": preset,
        "okx": rounded(okx) if okx is not None else {"skipped": skipped},
        "ours": ours, "okx_input": str(rows_path) if kept else None,
    }  # fmt: skip
    run.out.mkdir(parents=True, exist_ok=True)
    path = run.out / f"okx_{users}x{assets}_{preset}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    click.echo(json.dumps(summary))
    return found


if __name__ == "__main__":
    run_command(main)
