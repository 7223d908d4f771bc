"""A test tool: the aggregation AIR's values at random points, for web/src/aggregate_air.js.

For aggregation statements of versions 1 and 2 (B = 2, 3, 5, 16 and 600 batches, so m = 512
and 1,024 rows; 1 to 4 and 22 assets; the S-box registers on and off; grand totals and equities at
random and at their bounds) it builds `AggregateAir(statement, sbox_registers=...)`, evaluates
`evaluate_transition` on a random extension-field frame and writes the statement, the frame,
every constraint's value and group name, and the AIR's name, shape, transition list, boundary
constraints, periodic columns (length and SHA-256 of their u32 entries) and public-input bytes
to web/test/fixtures/aggregate_values.json. It also writes honest rows of three witnesses
(`aggregate_witness`, versions 1 and 2) with their aux rows, where every constraint is zero, and
the statement checks' refusals (ValueError messages) of malformed statements, and the
declarations alone (no frame) of AIRs at the limits (2^14 batches, 200 assets, one batch).
Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python tests/web/trace_aggregate.py

tests/web/test_aggregate_fixture.py fails if the committed fixture differs from what this writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np

from circuits.aggregate import (
    DIGEST,
    EQUITY_LIMBS,
    LIMBS,
    MAX_USER_EQUITY,
    OFFSET,
    AggregateAir,
    AggregateStatement,
    aggregate_witness,
)
from stark.air import Frame
from stark.field import ExtensionField, P

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "aggregate_values.json"
SEED = 20261205


def _trace_air():
    """tests/web/trace_air.py, for its JSON helpers (ints, ext_list, periodic_json)."""
    path = ROOT / "tests" / "web" / "trace_air.py"
    spec = importlib.util.spec_from_file_location("trace_air", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T = _trace_air()


def random_statement(rng, b: int, k: int, equity: bool, *, bounds: bool = False):
    """B random commitments and batch sizes, K grand totals (and equities) in their ranges;
    bounds: the totals and equities at the extremes the statement allows."""
    sizes = tuple(int(1 << rng.integers(9, 18)) for _ in range(b))
    n = sum(sizes)
    commitments = tuple(tuple(int(v) for v in rng.integers(0, P, DIGEST)) for _ in range(b))
    context = bytes(rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8))
    totals, equities = [], []
    for j in range(k):
        if bounds:
            e = [0, n * MAX_USER_EQUITY, n * MAX_USER_EQUITY, 0][j % 4]
            d = [n * OFFSET, 0, n * OFFSET - 1, 0][j % 4]
            t = e - d if equity else [-n * OFFSET, n * OFFSET, 0, -1][j % 4]
        else:
            e = int(rng.integers(0, 1 << 62)) * int(rng.integers(0, n))
            d = int(rng.integers(0, 1 << 62)) * int(rng.integers(0, n))
            t = e - d
        totals.append(t)
        equities.append(e)
    return AggregateStatement(
        context, k, commitments, sizes, tuple(totals), tuple(equities) if equity else None
    )


def statement_json(s: AggregateStatement) -> dict:
    """The statement as aggregate_air.js takes it (integers as decimal strings)."""
    return {
        "context": s.context.hex(),
        "num_assets": s.num_assets,
        "commitments": [list(c) for c in s.commitments],
        "batch_sizes": list(s.batch_sizes),
        "totals": [str(t) for t in s.totals],
        "equity": None if s.equity is None else [str(e) for e in s.equity],
    }


def constraint_names(air: AggregateAir) -> list[str]:
    """A name per transition constraint, from the structure of evaluate_transition (the
    Python AIR names none): the same groups as aggregate_air.js's constraintGroups."""
    k, equity = air.statement.num_assets, air.equity
    groups = [("padding limbs are zero", 1), ("running sums", LIMBS * k)]
    if equity:
        groups.append(("equity running sums", EQUITY_LIMBS * k))
    groups.append(("normalisation", LIMBS))
    if equity:
        groups.append(("equity normalisation", EQUITY_LIMBS))
    groups += [("range check", air.aux_width - 1), ("range check sum", 1)]
    for j, g in enumerate(air.sponge.permutations):
        groups.append((f"sponge permutation {j}", len(g.transition_constraints())))
    groups.append(("commitment", DIGEST))
    names = [name for name, count in groups for _ in range(count)]
    assert len(names) == len(air.transition_constraints())
    return names


def air_json(air: AggregateAir) -> dict:
    transitions = air.transition_constraints()
    return {
        "name": air.name,
        "shape": dataclasses.asdict(air.shape()),
        "transitions": [[c.degree, c.all_rows] for c in transitions],
        "constraint_names": constraint_names(air),
        "boundaries": [[b.column, b.row, str(b.value), b.aux] for b in air.boundary_constraints()],
        "periodic": [T.periodic_json(c) for c in air.periodic_columns()],
        "public_inputs": air.public_inputs().hex(),
        "main_width": air.main_width,
        "digest_cols": list(air.sponge.digest_cols),
    }


def case(name: str, s: AggregateStatement, regs: bool, k: int, rng) -> dict:
    air = AggregateAir(s, sbox_registers=regs)
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
    assert len(values) == len(air.transition_constraints())
    return {
        "name": name,
        "statement": statement_json(s),
        "sbox_registers": regs,
        "k": k,
        "air": air_json(air),
        "frame": {
            "main": T.ext_list(main),
            "main_next": T.ext_list(main_next),
            "aux": T.ext_list(aux),
            "aux_next": T.ext_list(aux_next),
            "periodic": T.ext_list(periodic),
            "challenges": T.ext_list(challenges),
        },
        "values": [T.ints(v) for v in values],
    }


CASES = [
    # (version, B, K, sbox registers, extension degree, totals at their bounds)
    (1, 2, 1, False, 4, False),
    (1, 3, 3, True, 5, False),
    (1, 5, 2, False, 5, True),
    (1, 16, 4, False, 4, True),
    (1, 600, 1, False, 5, False),
    (2, 2, 1, True, 4, False),
    (2, 3, 3, False, 5, False),
    (2, 5, 2, True, 5, True),
    (2, 16, 4, False, 4, True),
    (2, 600, 2, False, 4, True),
    (2, 3, 22, False, 4, False),
]
SHAPES = [
    # (version, B, K, sbox registers): the AIR's declaration only (no frame), at the limits
    (1, 1 << 14, 200, False),
    (2, 1000, 200, True),
    (2, 1, 1, False),
    (1, 513, 7, True),
]


def honest_rows(version: int, regs: bool, rng) -> dict:
    """A witness of aggregate_witness (B = 3, K = 2) and its aux trace under a random
    challenge: rows 0, 1, 2 (the batches), 3 (the first padding row) and m - 1 (the cycle's
    wrap) with their successors, where every constraint of the Python AIR is zero."""
    b, k = 3, 2
    sizes = [512, 1024, 512]
    offset_totals, equity = [], []
    for n in sizes:
        e_row, t_row = [], []
        for _ in range(k):
            e = int(rng.integers(0, 1 << 62)) * int(rng.integers(0, n))
            debt = int(rng.integers(0, 1 << 62)) * int(rng.integers(0, n))
            e_row.append(e)
            t_row.append(e - debt + n * OFFSET)
        offset_totals.append(t_row)
        equity.append(e_row)
    blindings = rng.integers(0, P, (b, DIGEST)).astype(np.uint64)
    statement, main = aggregate_witness(
        b"honest rows",
        offset_totals,
        blindings,
        sizes,
        sbox_registers=regs,
        equity=equity if version == 2 else None,
    )
    air = AggregateAir(statement, sbox_registers=regs)
    ext = ExtensionField(5)
    challenges = ext.random((1,), seed=int(rng.integers(0, 1 << 62)))
    aux = air.build_aux_trace(main, challenges)
    m = air.trace_len
    cols = np.asarray(main)
    periodic = air.periodic_columns()
    rows = []
    for i in (0, 1, 2, 3, m - 1):
        j = (i + 1) % m
        frame = Frame(
            main=ext.from_base(cols[:, i]),
            main_next=ext.from_base(cols[:, j]),
            aux=aux[:, i],
            aux_next=aux[:, j],
            periodic=[ext.from_base(int(c[i % len(c)])) for c in periodic],
            challenges=challenges,
        )
        values = air.evaluate_transition(frame)
        assert all(not any(T.ints(v)) for v in values), f"row {i} is not honest"
        rows.append(
            {
                "row": i,
                "main": [int(v) for v in cols[:, i]],
                "main_next": [int(v) for v in cols[:, j]],
                "aux": T.ext_list(aux[:, i]),
                "aux_next": T.ext_list(aux[:, j]),
            }
        )
    return {
        "name": f"version {version}, {'with' if regs else 'without'} S-box registers",
        "statement": statement_json(statement),
        "sbox_registers": regs,
        "challenges": T.ext_list(challenges),
        "rows": rows,
    }


def refusals(rng) -> list[dict]:
    """Malformed statements (JSON-expressible changes of a valid one) and the ValueError
    AggregateStatement raises for each, for aggregate_air.js's checkAggregateStatement."""
    base = statement_json(random_statement(rng, 3, 2, True))
    n = sum(base["batch_sizes"])

    def changed(**kw):
        return {**base, **kw}

    cases = [
        ("no assets", changed(num_assets=0, totals=[], equity=[])),
        ("201 assets", changed(num_assets=201)),
        ("no batches", changed(commitments=[], batch_sizes=[])),
        ("one batch size too few", changed(batch_sizes=base["batch_sizes"][:2])),
        ("one total too many", changed(totals=[*base["totals"], "0"])),
        (
            "a commitment of 7 elements",
            changed(commitments=[base["commitments"][0][:7], *base["commitments"][1:]]),
        ),
        (
            "a commitment element p",
            changed(commitments=[[P, *base["commitments"][0][1:]], *base["commitments"][1:]]),
        ),
        (
            "a commitment element -1",
            changed(commitments=[[-1, *base["commitments"][0][1:]], *base["commitments"][1:]]),
        ),
        ("a batch size 768", changed(batch_sizes=[768, *base["batch_sizes"][1:]])),
        ("a batch size 256", changed(batch_sizes=[256, *base["batch_sizes"][1:]])),
        ("a batch size 2^18", changed(batch_sizes=[1 << 18, *base["batch_sizes"][1:]])),
        ("a total below -N 2^63", changed(totals=[str(-n * OFFSET - 1), base["totals"][1]])),
        ("a total above N 2^63", changed(totals=[str(n * OFFSET + 1), base["totals"][1]])),
        ("one equity too few", changed(equity=base["equity"][:1])),
        ("a negative equity", changed(equity=["-1", base["equity"][1]])),
        (
            "an equity above N (2^63 - 1)",
            changed(equity=[str(n * MAX_USER_EQUITY + 1), base["equity"][1]]),
        ),
        (
            "an equity below its total",
            changed(equity=[str(int(base["totals"][0]) - 1), base["equity"][1]]),
        ),
        (
            "a debt above N 2^63",
            changed(totals=[str(int(base["equity"][0]) - n * OFFSET - 1), base["totals"][1]]),
        ),
        ("a context of 2^16 + 1 bytes", changed(context="00" * ((1 << 16) + 1))),
        ("a context of 2^16 bytes", changed(context="ab" * (1 << 16))),
        ("the honest statement", base),
    ]
    out = []
    for label, d in cases:
        try:
            AggregateStatement(
                bytes.fromhex(d["context"]),
                d["num_assets"],
                tuple(tuple(c) for c in d["commitments"]),
                tuple(d["batch_sizes"]),
                tuple(int(t) for t in d["totals"]),
                None if d["equity"] is None else tuple(int(e) for e in d["equity"]),
            )
            python = None
        except ValueError as e:
            python = str(e)
        out.append({"label": label, "statement": d, "python": python})
    return out


def ruled_statement(b: int, k: int, equity: bool) -> AggregateStatement:
    """A statement of B batches and K assets by a rule aggregate_air.test.js repeats (so that
    2^14 commitments need not be written out): commitment b's element i is
    (8 b + i) 2654435761 mod p, n_b = 512 << (b mod 9), a context of 100 bytes i mod 256, and
    the totals (and equities) at their bounds by asset (shape_rule_totals)."""
    commitments = tuple(
        tuple((8 * c + i) * 2654435761 % P for i in range(DIGEST)) for c in range(b)
    )
    sizes = tuple(512 << (c % 9) for c in range(b))
    totals, equities = shape_rule_totals(sum(sizes), k, equity)
    return AggregateStatement(bytes(range(100)), k, commitments, sizes, totals, equities)


def shape_rule_totals(n: int, k: int, equity: bool):
    """Asset j's grand total (and equity): cycling through the bounds of the statement."""
    e = [[0, n * MAX_USER_EQUITY, n * MAX_USER_EQUITY, 0][j % 4] for j in range(k)]
    d = [[n * OFFSET, 0, n * OFFSET - 1, 0][j % 4] for j in range(k)]
    if equity:
        return tuple(x - y for x, y in zip(e, d, strict=True)), tuple(e)
    return tuple([-n * OFFSET, n * OFFSET, 0, -1][j % 4] for j in range(k)), None


def constraint_runs(transitions, names) -> list:
    """The transition list run-length encoded: [degree, all_rows, group name, count] runs."""
    runs: list = []
    for (degree, all_rows), name in zip(transitions, names, strict=True):
        if runs and runs[-1][:3] == [degree, all_rows, name]:
            runs[-1][3] += 1
        else:
            runs.append([degree, all_rows, name, 1])
    return runs


def shape_case(version: int, b: int, k: int, regs: bool) -> dict:
    """The declaration of AggregateAir for a ruled statement; the public inputs as SHA-256, the
    transitions and their names as runs."""
    s = ruled_statement(b, k, version == 2)
    air = air_json(AggregateAir(s, sbox_registers=regs))
    air["public_inputs"] = hashlib.sha256(bytes.fromhex(air["public_inputs"])).hexdigest()
    air["runs"] = constraint_runs(air.pop("transitions"), air.pop("constraint_names"))
    return {"version": version, "batches": b, "num_assets": k, "sbox_registers": regs, "air": air}


def build() -> dict:
    rng = np.random.default_rng(SEED)
    cases = []
    for version, b, k, regs, degree, bounds in CASES:
        s = random_statement(rng, b, k, version == 2, bounds=bounds)
        name = f"version {version}, B = {b}, K = {k}, {'with' if regs else 'without'} registers" + (
            ", sums at their bounds" if bounds else ""
        )
        cases.append(case(name, s, regs, degree, rng))
    honest = [honest_rows(v, regs, rng) for v, regs in ((1, False), (2, True), (2, False))]
    shapes = [shape_case(*args) for args in SHAPES]
    return {"cases": cases, "honest": honest, "shapes": shapes, "refusals": refusals(rng)}


def render(data: dict) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
