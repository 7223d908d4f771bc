"""Write web/test/fixtures/solvency_proofs.json: two small real proofs of the solvency AIR (no
leaves, public totals; n = 512, the `fast` preset, a fixed prover seed), one of format 1 and
one of format 2 with a 2-tier haircut table, and Python's verdict on each against mutated
statements (another total, equity, price, tier, issuer, flag, trace length or format); and
Python's verdict on batch proofs of the four golden publications (tests/golden: leaves, hidden
totals, formats 1 and 2; `publication_air` under the statement's parameters and the default
policy of `check_batch`) against mutated AIRs (a changed or swapped leaf, another batch's
leaves, a changed commitment element, another batch's commitment or place, a changed total or
equity, another leaf width, S-box registers, no leaves), described so that the JS test builds
the same; for web/test/solvency_proof.test.js (web/src/solvency_air.js with
web/src/verifier.js). Run from the repository root:

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
from solvency.publication.check import read_leaves
from solvency.publication.statement import (
    LEAF_REGISTERS,
    LEAF_WIDTH,
    LEAVES_NAME,
    PROOF_NAME,
    batch_dir,
    read_statement,
)
from stark.field import P
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


GOLDEN = ROOT / "tests" / "golden"
PUBLICATIONS = (
    "publication-1/one-batch",
    "publication-1/three-batches",
    "publication-2/one-batch",
    "publication-2/three-batches",
)
MIN_BITS = 100.0  # check_publication's default policy (provable regime)


def golden_mutations(count: int, b: int, gross: bool) -> list[tuple[str, dict]]:
    """(label, change) for batch b of a publication of `count` batches (gross: format 2). A
    change names what differs from publication_air(s.batch(b), leaves_b, commitment_b):
    "statement_batch" (whose statement), "leaves_from", "leaf_add" [row, element] (+1),
    "leaves_swap" [row, row], "commitment_from", "commitment_add" (element +1), "total_add" /
    "equity_add" [asset, delta], "leaf_width", "sbox_registers", "no_leaves"."""
    other = (b + 1) % count
    out = [
        ("honest", {}),
        ("a changed leaf", {"leaf_add": [5, 3]}),
        ("two leaves swapped", {"leaves_swap": [0, 1]}),
        ("the last leaf changed", {"leaf_add": [511, 7]}),
        ("leaf width 16", {"leaf_width": 16}),
        ("S-box registers", {"sbox_registers": True}),
        ("no leaves", {"no_leaves": True}),
    ]
    if count == 1:
        out.append(("a total - 1", {"total_add": [0, -1]}))
        if gross:
            out.append(("the last asset's equity + 1", {"equity_add": [-1, 1]}))
    else:
        out += [
            ("a changed commitment element", {"commitment_add": 2}),
            ("the first commitment element changed", {"commitment_add": 0}),
            ("another batch's commitment", {"commitment_from": other}),
            ("another batch's leaves", {"leaves_from": other}),
            ("another batch's place", {"statement_batch": other}),
        ]
    return out


def golden_air(s, b: int, change: dict, leaves_of, commitment_of):
    """The AIR a change describes (golden_mutations), as SolvencyAir."""
    statement = s.batch(change.get("statement_batch", b))
    for field, key in (("totals", "total_add"), ("equity", "equity_add")):
        if key in change and getattr(statement, field) is not None:
            j, delta = change[key]
            values = list(getattr(statement, field))
            values[j] += delta
            statement = dataclasses.replace(statement, **{field: tuple(values)})
    leaves = leaves_of(change.get("leaves_from", b)).copy()
    if "leaf_add" in change:
        row, e = change["leaf_add"]
        leaves[row, e] = (leaves[row, e] + 1) % P
    if "leaves_swap" in change:
        r0, r1 = change["leaves_swap"]
        leaves[[r0, r1]] = leaves[[r1, r0]]
    commitment = commitment_of(change.get("commitment_from", b))
    if commitment is not None:
        commitment = commitment.copy()
        if "commitment_add" in change:
            e = change["commitment_add"]
            commitment[e] = (commitment[e] + 1) % P
    return SolvencyAir(
        statement,
        None if change.get("no_leaves") else leaves,
        leaf_width=change.get("leaf_width", LEAF_WIDTH),
        sbox_registers=change.get("sbox_registers", LEAF_REGISTERS),
        totals_commitment=commitment,
    )


def golden() -> list[dict]:
    out = []
    for name in PUBLICATIONS:
        directory = GOLDEN / name
        s, _ = read_statement(directory)
        leaves = [read_leaves(batch_dir(directory, b) / LEAVES_NAME) for b in range(s.count)]
        commitments = [r.commitment for r in s.batches]
        for b in sorted({0, s.count - 1}):
            proof = (batch_dir(directory, b) / PROOF_NAME).read_bytes()
            cases = []
            for label, change in golden_mutations(s.count, b, s.equity is not None):
                air = golden_air(s, b, change, leaves.__getitem__, commitments.__getitem__)
                try:
                    verify(air, proof, accepted_params=[s.params], min_bits=MIN_BITS)
                    reason = None
                except VerificationError as e:
                    reason = e.reason
                cases.append({"label": label, "change": change, "python": reason})
            out.append({"publication": name, "batch": b, "min_bits": MIN_BITS, "cases": cases})
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
    return {"proofs": proofs, "golden": golden()}


def render(data: dict) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
