"""A test tool: the solvency AIR's values at random points, for web/src/solvency_air.js.

For a handful of statements (no leaves, public totals; format 1 and format 2, with and
without haircut tables of 1, 2 and 4 tiers; 1 to 3 assets; n = 512) it builds
`SolvencyAir(statement)`, evaluates `evaluate_transition` on a random extension-field frame
(main, main_next, aux, aux_next, periodic values, challenges) and writes the frame, every
constraint's value and name (`constraint_name`), and the AIR's shape, transition list,
boundary constraints, periodic columns (length and SHA-256 of their u32 entries) and
public-input bytes to web/test/fixtures/air_values.json. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python tests/web/trace_air.py

tests/web/test_air_fixture.py fails if the committed fixture differs from what this writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from circuits.haircut import Tier
from circuits.poseidon2_air import Poseidon2Gadget, poseidon2_trace
from circuits.solvency import SolvencyAir, Statement
from solvency.publication.statement import publication_air
from stark.air import Frame
from stark.field import ExtensionField, P

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "air_values.json"
N = 512
SEED = 20261205


def tables():
    one = (Tier(None, 50),)
    two = (Tier(1000, 100), Tier(None, 40))
    four = (Tier(10, 100), Tier(500, 90), Tier(20000, 50), Tier(None, 0))
    return one, two, four


def statements(rng: np.random.Generator) -> list[tuple[str, Statement]]:
    one, two, four = tables()

    def stmt(name, prices, decimals, *, gross, haircuts=(), **kw):
        k = len(prices)
        symbols = tuple(["BTC", "ETH", "USDT"][:k])
        equity = [int(rng.integers(0, 1 << 62)) * int(rng.integers(1, 300)) for _ in range(k)]
        debt = [int(rng.integers(0, 1 << 62)) * int(rng.integers(1, 300)) for _ in range(k)]
        totals = tuple(e - d for e, d in zip(equity, debt, strict=True))
        if not gross:
            totals = tuple(int(rng.integers(-(1 << 62), 1 << 62)) * 100 for _ in range(k))
        s = Statement(
            quote="USD",
            scale=2,
            symbols=symbols,
            decimals=tuple(decimals),
            prices=tuple(prices),
            totals=totals,
            trace_len=N,
            issuer="Exchange Ä",
            as_of="2026-06-30T23:59:59Z",
            equity=tuple(equity) if gross else None,
            haircuts=tuple(haircuts),
            **kw,
        )
        return name, s

    return [
        stmt("format 1, one asset", [6_512_345_678_90], [8], gross=False),
        stmt(
            "format 1, three assets, a zero price",
            [0, 512 * 512 * 3, 100],
            [8, 18, 6],
            gross=False,
            insecure_seeded=True,
        ),
        stmt("format 2, two assets, no table", [6_512_345_678_90, 345_678], [8, 18], gross=True),
        stmt(
            "format 2, one asset, a 1-tier table",
            [6_512_345_678_90],
            [8],
            gross=True,
            haircuts=(one,),
        ),
        stmt(
            "format 2, three assets, tables of 2 and 4 tiers",
            [6_512_345_678_90, 512, 100],
            [8, 18, 6],
            gross=True,
            haircuts=(two, None, four),
        ),
        stmt(
            "format 2, two assets, tables of 1 and 2 tiers",
            [(1 << 89) + 3, 7],
            [2, 0],
            gross=True,
            haircuts=(one, two),
        ),
    ]


SNAPSHOT = "5a" * 32


def batch_statements(rng: np.random.Generator) -> list[tuple[str, Statement, dict]]:
    """Statements with the users' leaves and/or hidden totals (a batch of several), and the
    options of `SolvencyAir` (leaf width and S-box registers as `publication_air` or not): the
    LogUp group is 3 in format 1 and with registers, 6 in format 2 with a degree-7 gadget."""
    one, two, four = tables()

    def stmt(prices, decimals, *, gross, hidden, haircuts=(), **kw):
        k = len(prices)
        symbols = tuple(["BTC", "ETH", "USDT"][:k])
        if hidden:
            totals, equity = (0,) * k, (0,) * k
            kw = {"hidden_totals": True, "batch": (1, 3, SNAPSHOT), **kw}
        else:
            equity = tuple(
                int(rng.integers(0, 1 << 62)) * int(rng.integers(1, 300)) for _ in range(k)
            )
            debt = [int(rng.integers(0, 1 << 62)) * int(rng.integers(1, 300)) for _ in range(k)]
            totals = tuple(e - d for e, d in zip(equity, debt, strict=True))
            kw = {"batch": (0, 1, SNAPSHOT), **kw}
        return Statement(
            quote="USD",
            scale=2,
            symbols=symbols,
            decimals=tuple(decimals),
            prices=tuple(prices),
            totals=totals,
            trace_len=N,
            issuer="Exchange Ä",
            as_of="2026-06-30T23:59:59Z",
            equity=equity if gross else None,
            haircuts=tuple(haircuts),
            **kw,
        )

    btc, usdt = 6_512_345_678_90, 100
    publication = {"leaves": True, "leaf_width": 24, "sbox_registers": False}
    return [
        (
            "format 1, leaves (w24, no registers), public totals",
            stmt([btc, usdt], [8, 6], gross=False, hidden=False),
            publication,
        ),
        (
            "format 1, leaves (w24, no registers), hidden totals",
            stmt([btc, 512, usdt], [8, 18, 6], gross=False, hidden=True),
            publication,
        ),
        (
            "format 2, leaves (w24, no registers), public totals, a 2-tier table",
            stmt([btc, usdt], [8, 6], gross=True, hidden=False, haircuts=(two, None)),
            publication,
        ),
        (
            "format 2, leaves (w24, no registers), hidden totals, tables of 2 and 4 tiers",
            stmt([btc, 512, usdt], [8, 18, 6], gross=True, hidden=True, haircuts=(two, None, four)),
            publication,
        ),
        (
            "format 2, leaves (w16, registers), hidden totals, a 1-tier table",
            stmt([btc, usdt], [8, 6], gross=True, hidden=True, haircuts=(one, None)),
            {"leaves": True, "leaf_width": 16, "sbox_registers": True},
        ),
        (
            "format 2, leaves (w24, registers), public totals, no table",
            stmt([btc], [8], gross=True, hidden=False, insecure_seeded=True),
            {"leaves": True, "leaf_width": 24, "sbox_registers": True},
        ),
        (
            "format 1, one asset, hidden totals (registers), no leaves",
            stmt([btc], [8], gross=False, hidden=True),
            {"leaves": False, "sbox_registers": True},
        ),
        (
            "format 2, one asset, hidden totals (no registers), no leaves, a 2-tier table",
            stmt([btc], [8], gross=True, hidden=True, haircuts=(two,)),
            {"leaves": False, "sbox_registers": False},
        ),
    ]


def ints(ext_value) -> list[int]:
    return [int(v) for v in np.asarray(ext_value.coords).reshape(-1)]


def ext_list(arr) -> list[list[int]]:
    return [ints(arr[i]) for i in range(arr.shape[0])]


def table_json(table):
    if table is None:
        return None
    return [
        {"up_to": None if t.up_to is None else str(t.up_to), "percent": t.percent} for t in table
    ]


def statement_json(s: Statement) -> dict:
    return {
        "quote": s.quote,
        "scale": s.scale,
        "symbols": list(s.symbols),
        "decimals": list(s.decimals),
        "prices": [str(p) for p in s.prices],
        "totals": [str(t) for t in s.totals],
        "trace_len": s.trace_len,
        "issuer": s.issuer,
        "as_of": s.as_of,
        "insecure_seeded": s.insecure_seeded,
        "equity": None if s.equity is None else [str(e) for e in s.equity],
        "haircuts": [table_json(t) for t in s.haircuts],
        "hidden_totals": s.hidden_totals,
        "batch": None if s.batch is None else list(s.batch),
    }


def periodic_json(cycle) -> dict:
    raw = np.asarray(cycle, dtype=np.int64).astype("<u4").tobytes()
    return {"length": len(cycle), "sha256": hashlib.sha256(raw).hexdigest()}


def case(
    name: str, s: Statement, k: int, rng: np.random.Generator, options: dict | None = None
) -> dict:
    """One statement's AIR at a random frame. options: with "leaves", random published leaves
    at "leaf_width" and "sbox_registers" (also the hidden totals gadget's); a statement with
    hidden totals gets a random commitment."""
    options = options or {}
    leaves, commitment, kw, extra = None, None, {}, {}
    if options.get("leaves"):
        leaves = rng.integers(0, P, size=(s.trace_len, 8), dtype=np.int64).astype(np.uint64)
        kw["leaf_width"] = extra["leaf_width"] = options["leaf_width"]
        extra["leaves_hex"] = leaves.astype("<u4").tobytes().hex()
    if "sbox_registers" in options:
        kw["sbox_registers"] = extra["sbox_registers"] = options["sbox_registers"]
    if s.hidden_totals:
        commitment = rng.integers(0, P, size=8, dtype=np.int64).astype(np.uint64)
        extra["commitment"] = [int(v) for v in commitment]
    air = SolvencyAir(s, leaves, totals_commitment=commitment, **kw)
    ext = ExtensionField(k)
    seed = int(rng.integers(0, 1 << 62))
    main = ext.random((air.main_width,), seed=seed)
    main_next = ext.random((air.main_width,), seed=seed + 1)
    aux = ext.random((air.aux_width,), seed=seed + 2)
    aux_next = ext.random((air.aux_width,), seed=seed + 3)
    periodic = ext.random((len(air.periodic_columns()),), seed=seed + 4)
    challenges = ext.random((air.num_aux_challenges,), seed=seed + 5)
    frame = Frame(
        main=main,
        main_next=main_next,
        aux=aux,
        aux_next=aux_next,
        periodic=[periodic[i] for i in range(periodic.shape[0])],
        challenges=challenges,
    )
    values = air.evaluate_transition(frame)
    transitions = air.transition_constraints()
    assert len(values) == len(transitions)
    return {
        "name": name,
        "statement": statement_json(s),
        "options": extra,
        "lookup_group": air.lookup_group,
        "k": k,
        "air": {
            "name": air.name,
            "shape": dataclasses.asdict(air.shape()),
            "transitions": [[c.degree, c.all_rows] for c in transitions],
            "constraint_names": [air.constraint_name(i) for i in range(len(transitions))],
            "boundaries": [
                [b.column, b.row, str(b.value), b.aux] for b in air.boundary_constraints()
            ],
            "periodic": [periodic_json(c) for c in air.periodic_columns()],
            "public_inputs": air.public_inputs().hex(),
        },
        "frame": {
            "main": ext_list(main),
            "main_next": ext_list(main_next),
            "aux": ext_list(aux),
            "aux_next": ext_list(aux_next),
            "periodic": ext_list(periodic),
            "challenges": ext_list(challenges),
        },
        "values": [ints(v) for v in values],
    }


def gadget_json(g: Poseidon2Gadget) -> dict:
    return {
        "num_columns": g.num_columns,
        "input_cols": list(g.input_cols),
        "output_cols": list(g.output_cols),
        "external_cols": [[list(regs), list(post)] for regs, post in g.external_cols],
        "partial_cols": [[reg, y] for reg, y in g.partial_cols],
        "register_cols": list(g.register_cols),
        "degree": g.degree,
        "transitions": [[c.degree, c.all_rows] for c in g.transition_constraints()],
    }


def gadget_cases(rng: np.random.Generator) -> list[dict]:
    """Poseidon2Gadget at widths 16 and 24, with and without S-box registers: owning its input
    and output columns (with an honest row of `poseidon2_trace`, whose constraints are zero),
    taking its input as expressions with an 8-element output (the leaf's last permutation),
    and reading the caller's input and output columns."""
    out = []
    configs = []
    for width in (16, 24):
        for regs in (True, False):
            configs.append((f"w{width}{'' if regs else ' noreg'}", width, regs, {}, 0))
    configs += [
        (
            "w24 noreg, input expressions, output width 8",
            24,
            False,
            {"input_cols": (), "output_width": 8},
            3,
        ),
        ("w16, input expressions", 16, True, {"input_cols": ()}, 0),
        (
            "w16 noreg, the caller's input and output columns",
            16,
            False,
            {"input_cols": tuple(range(32, 0, -2)), "output_cols": tuple(range(33, 1, -2))},
            40,
        ),
    ]
    for i, (name, width, regs, kw, offset) in enumerate(configs):
        g = Poseidon2Gadget(offset, width, sbox_registers=regs, **kw)
        k = 5 if i % 2 else 4
        ext = ExtensionField(k)
        seed = int(rng.integers(0, 1 << 62))
        columns = max(offset + g.num_columns, *(c + 1 for c in g.output_cols))
        main = ext.random((columns,), seed=seed)
        inputs = ext.random((width,), seed=seed + 1) if kw.get("input_cols") == () else None
        values = g.constraints(main, None if inputs is None else [inputs[j] for j in range(width)])
        assert len(values) == g.num_constraints
        entry = {
            "name": name,
            "width": width,
            "offset": offset,
            "sbox_registers": regs,
            "input_cols": None if "input_cols" not in kw else list(kw["input_cols"]),
            "output_cols": None if "output_cols" not in kw else list(kw["output_cols"]),
            "output_width": kw.get("output_width"),
            "gadget": gadget_json(g),
            "k": k,
            "main": ext_list(main),
            "inputs": None if inputs is None else ext_list(inputs),
            "values": [ints(v) for v in values],
        }
        if not kw:
            state = rng.integers(0, P, size=(1, width), dtype=np.int64).astype(np.uint64)
            trace, outputs = poseidon2_trace(state, sbox_registers=regs)
            entry["honest_row"] = [int(v) for v in np.asarray(trace)[:, 0]]
            entry["honest_output"] = [int(v) for v in outputs[0]]
        out.append(entry)
    return out


def shape_cases() -> list[dict]:
    """publication_air's shape as weakest_security takes it (all-zero leaves, a zero commitment
    when hidden) for statements of n = 2^9, 2^16, 2^17 rows, K = 1, 22, 200 assets, formats 1
    and 2 (no tables, or a 2-tier table on every other asset), public and hidden totals."""
    two = tables()[1]
    out = []
    for n in (1 << 9, 1 << 16, 1 << 17):
        for k in (1, 22, 200):
            for gross, tabled in ((False, False), (True, False), (True, True)):
                for hidden in (False, True):
                    s = Statement(
                        quote="USD",
                        scale=2,
                        symbols=tuple(f"A{j}" for j in range(k)),
                        decimals=(8,) * k,
                        prices=tuple(6_512_345_678_90 * (j + 1) for j in range(k)),
                        totals=(0,) * k,
                        trace_len=n,
                        issuer="X",
                        as_of="2026-06-30T23:59:59Z",
                        hidden_totals=hidden,
                        batch=(0, 2 if hidden else 1, SNAPSHOT),
                        equity=(0,) * k if gross else None,
                        haircuts=tuple(two if tabled and j % 2 == 0 else None for j in range(k)),
                    )
                    leaves = np.zeros((n, 8), dtype=np.uint64)
                    commitment = np.zeros(8, dtype=np.uint64) if hidden else None
                    shape = publication_air(s, leaves, commitment).shape()
                    out.append({"statement": statement_json(s), "shape": dataclasses.asdict(shape)})
    return out


def build() -> dict:
    rng = np.random.default_rng(SEED)
    cases = []
    for i, (name, s) in enumerate(statements(rng)):
        cases.append(case(name, s, 5 if i % 3 else 4, rng))
    batch_rng = np.random.default_rng(SEED + 2)
    for i, (name, s, options) in enumerate(batch_statements(batch_rng)):
        cases.append(case(name, s, 5 if i % 3 else 4, batch_rng, options))
    gadgets = gadget_cases(np.random.default_rng(SEED + 1))
    return {"cases": cases, "gadgets": gadgets, "shapes": shape_cases()}


def render(data: dict) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
