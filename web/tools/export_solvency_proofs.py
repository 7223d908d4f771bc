"""Write web/test/fixtures/solvency_proofs.json: two small real proofs of the solvency AIR (no
leaves, public totals; n = 512, the `fast` preset, a fixed prover seed), one of format 1 and
one of format 2 with a 2-tier haircut table, and Python's verdict on each against mutated
statements (another total, equity, price, tier, issuer, flag, trace length or format), for
web/test/solvency_proof.test.js (web/src/solvency_air.js with web/src/verifier.js). Run from the
repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_solvency_proofs.py

tests/web/test_air_fixture.py fails if the committed fixture differs from what this writes.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np

from circuits.haircut import Tier
from circuits.solvency import Market, SolvencyAir, build_witness
from stark.params import PRESETS
from stark.proof import VerificationError
from stark.prover import prove
from stark.verifier import verify

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "solvency_proofs.json"
PARAMS = PRESETS["fast"]


def tracer():
    path = ROOT / "tests" / "web" / "trace_air.py"
    spec = importlib.util.spec_from_file_location("trace_air", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdict(statement, data: bytes) -> str | None:
    try:
        air = SolvencyAir(statement)
        verify(air, data, accepted_params=[PARAMS])
    except VerificationError as e:
        return e.reason
    return None


def mutations(s):
    k = s.num_assets
    bump = tuple(t - (1 if j == 0 else 0) for j, t in enumerate(s.totals))
    out = [
        ("honest", s),
        ("total of asset 0 - 1", dataclasses.replace(s, totals=bump)),
        (
            "price of the last asset + 1",
            dataclasses.replace(s, prices=(*s.prices[:-1], s.prices[-1] + 1)),
        ),
        ("issuer changed", dataclasses.replace(s, issuer="Other")),
        ("as_of changed", dataclasses.replace(s, as_of="2026-07-01T00:00:00Z")),
        ("insecure_seeded set", dataclasses.replace(s, insecure_seeded=not s.insecure_seeded)),
        ("trace length 1024", dataclasses.replace(s, trace_len=1024)),
        ("scale + 1", dataclasses.replace(s, scale=s.scale + 1)),
    ]
    if s.equity is None:
        out.append(
            (
                "as format 2",
                dataclasses.replace(s, equity=tuple(max(t, 0) for t in s.totals), haircuts=()),
            )
        )
        return out
    tables = list(s.haircuts)
    first = tables[0]
    out += [
        (
            "equity of the last asset + 1",
            dataclasses.replace(s, equity=(*s.equity[:-1], s.equity[-1] + 1)),
        ),
        ("as format 1", dataclasses.replace(s, equity=None, haircuts=())),
        (
            "a tier's percent - 1",
            dataclasses.replace(
                s, haircuts=((first[0], Tier(None, first[1].percent - 1)), *tables[1:])
            ),
        ),
        (
            "a tier's up_to + 1",
            dataclasses.replace(
                s, haircuts=((Tier(first[0].up_to + 1, first[0].percent), first[1]), *tables[1:])
            ),
        ),
        ("the table removed", dataclasses.replace(s, haircuts=(None,) * k)),
    ]
    return out


def build() -> dict:
    t = tracer()
    two = (Tier(1, 100), Tier(None, 50))
    rng = np.random.default_rng(20261205)
    balances = np.zeros((300, 2), dtype=np.int64)
    balances[:, 0] = rng.integers(0, 10**9, 300)
    balances[:, 1] = rng.integers(-(10**6), 10**9, 300)
    proofs = []
    for gross in (False, True):
        market = Market(
            "USD", 2, ("BTC", "USDT"), (8, 6), (6_512_345_678_90, 100), (two, None) if gross else ()
        )
        statement, trace = build_witness(market, balances, gross=gross)
        statement = dataclasses.replace(statement, issuer="Exchange", as_of="2026-06-30T23:59:59Z")
        data = prove(SolvencyAir(statement), trace, PARAMS, seed=7).to_bytes()
        proofs.append(
            {
                "name": f"format {2 if gross else 1}",
                "hex": data.hex(),
                "params": dataclasses.asdict(PARAMS),
                "cases": [
                    {"label": label, "statement": t.statement_json(m), "python": verdict(m, data)}
                    for label, m in mutations(statement)
                ],
            }
        )
    return {"proofs": proofs}


def render(data: dict) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
