"""Write web/test/fixtures/aggregate_proofs.json: for the golden publications of three batches
(tests/golden/publication-1/three-batches, format 1, and publication-2/three-batches, format 2),
the aggregation statement Python builds from statement.json (`aggregate_statement()`), the
SHA-256 of aggregate.bin, the policy solvency/publication/check.py verifies it under, and
Python's verdict on the real aggregate.bin against that statement and against changed ones (a
grand total + 1, an equity + 1, a commitment element changed, batch sizes changed or swapped,
the version swapped, another context, S-box registers, statements AggregateStatement refuses)
and under other policies, for web/test/aggregate_proof.test.js (web/src/aggregate_air.js with
web/src/verifier.js). The golden proofs themselves are read from tests/golden by the test. It
also writes three small proofs made here by the Python prover (the `fast` preset, seed 7:
version 1 with B = 5 and B = 600 (m = 1,024), version 2 with B = 16 and B = 2; S-box
registers on and off) with Python's verdicts on each, on changed statements and on damaged
copies. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_aggregate_proofs.py

tests/web/test_aggregate_fixture.py fails if the committed fixture differs from what this writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from circuits.aggregate import DIGEST, OFFSET, AggregateAir, AggregateStatement, aggregate_witness
from solvency.publication.statement import read_statement
from stark.field import P
from stark.params import PRESETS
from stark.proof import VerificationError, deserialize
from stark.prover import prove
from stark.verifier import verify

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "aggregate_proofs.json"
GOLDEN = ("tests/golden/publication-1/three-batches", "tests/golden/publication-2/three-batches")
FAST = PRESETS["fast"]
MIN_BITS = 100.0  # check_publication's default, in the provable regime


def changed(s: AggregateStatement, **kw) -> dict:
    """The statement's fields with some replaced (not yet checked: AggregateStatement may
    refuse them)."""
    fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
    return {**fields, **kw}


def mutations(s: AggregateStatement) -> list[tuple[str, dict]]:
    k, b, sizes = s.num_assets, s.num_batches, s.batch_sizes
    c = [list(x) for x in s.commitments]
    element = [*c[1][:3], (c[1][3] + 1) % P, *c[1][4:]]
    out = [
        ("honest", changed(s)),
        ("grand total of asset 0 + 1", changed(s, totals=(s.totals[0] + 1, *s.totals[1:]))),
        (
            "grand total of the last asset - 1",
            changed(s, totals=(*s.totals[:-1], s.totals[-1] - 1)),
        ),
        ("a commitment element + 1", changed(s, commitments=(c[0], element, *c[2:]))),
        ("commitments 0 and 2 swapped", changed(s, commitments=(c[2], c[1], c[0]))),
        ("batch 0 of 1,024 rows", changed(s, batch_sizes=(1024, *sizes[1:]))),
        ("batch 2 of 256 rows", changed(s, batch_sizes=(*sizes[:2], 256))),
        ("batch 1 of 768 rows", changed(s, batch_sizes=(sizes[0], 768, *sizes[2:]))),
        ("the last batch dropped", changed(s, commitments=tuple(c[:-1]), batch_sizes=sizes[:-1])),
        ("another context", changed(s, context=s.context[:-1] + bytes([s.context[-1] ^ 1]))),
        ("an empty context", changed(s, context=b"")),
        ("one asset fewer", changed(s, num_assets=k - 1, totals=s.totals[:-1])),
        (
            "a grand total beyond N 2^63",
            changed(s, totals=(sum(sizes) * OFFSET + 1, *s.totals[1:]), equity=None),
        ),
    ]
    if s.equity is None:
        out.append(("as version 2", changed(s, equity=tuple(max(t, 0) for t in s.totals))))
    else:
        out += [
            ("as version 1", changed(s, equity=None)),
            ("grand equity of asset 0 + 1", changed(s, equity=(s.equity[0] + 1, *s.equity[1:]))),
            (
                "grand equity of the last asset - 1",
                changed(s, equity=(*s.equity[:-1], s.equity[-1] - 1)),
            ),
            ("an equity below its total", changed(s, equity=(s.totals[0] - 1, *s.equity[1:]))),
        ]
    assert b == 3
    return out


def verdict(fields: dict, data: bytes, policy: dict, sbox_registers: bool = False) -> dict:
    """{"refused": ValueError message} if AggregateStatement refuses the fields, else
    {"python": the VerificationError's reason, or None if the proof verifies}."""
    try:
        statement = AggregateStatement(**fields)
    except ValueError as e:
        return {"refused": str(e)}
    try:
        air = AggregateAir(statement, sbox_registers=sbox_registers)
        verify(air, data, **policy)
    except VerificationError as e:
        return {"python": e.reason}
    return {"python": None}


def fields_json(fields: dict) -> dict:
    """The fields as aggregate_air.js takes them (tests/web/trace_aggregate.py's
    statement_json: integers as decimal strings, the context in hex)."""
    return {
        "context": fields["context"].hex(),
        "num_assets": fields["num_assets"],
        "commitments": [list(x) for x in fields["commitments"]],
        "batch_sizes": list(fields["batch_sizes"]),
        "totals": [str(v) for v in fields["totals"]],
        "equity": None if fields["equity"] is None else [str(v) for v in fields["equity"]],
    }


def policies(params) -> list[tuple[str, dict]]:
    """check_publication's policy, then others for the honest statement."""
    other = next(p for name, p in PRESETS.items() if p != params)
    return [
        ("check_publication's", {"accepted_params": [params], "min_bits": MIN_BITS}),
        (
            "conjectured bits",
            {"accepted_params": [params], "min_bits": MIN_BITS, "regime": "conjectured"},
        ),
        ("200 provable bits", {"accepted_params": [params], "min_bits": 200.0}),
        ("another preset only", {"accepted_params": [other]}),
        ("any parameters, no floor", {"min_bits": 0.0}),
    ]


def policy_json(policy: dict) -> dict:
    out = {"minBits": policy.get("min_bits"), "regime": policy.get("regime", "provable")}
    if "accepted_params" in policy:
        out["acceptedParams"] = [dataclasses.asdict(p) for p in policy["accepted_params"]]
    return out


def publication(directory: str) -> dict:
    s, _ = read_statement(ROOT / directory)
    statement = s.aggregate_statement()
    data = (ROOT / directory / "aggregate.bin").read_bytes()
    honest = changed(statement)
    standard = policies(s.params)[0][1]
    cases = [
        {"label": label, "statement": fields_json(fields), **verdict(fields, data, standard)}
        for label, fields in mutations(statement)
    ]
    cases.append(
        {
            "label": "with S-box registers",
            "statement": fields_json(honest),
            "sbox_registers": True,
            **verdict(honest, data, standard, sbox_registers=True),
        }
    )
    return {
        "directory": directory,
        "aggregate_sha256": hashlib.sha256(data).hexdigest(),
        "statement": fields_json(honest),
        "policy": policy_json(standard),
        "cases": cases,
        "policies": [
            {"label": label, "policy": policy_json(p), **verdict(honest, data, p)}
            for label, p in policies(s.params)
        ],
    }


MADE = (
    # (version, B, K, S-box registers): small proofs of the Python prover, the `fast` preset
    (1, 5, 2, True),
    (2, 16, 1, False),
    (2, 2, 3, True),
    (1, 600, 1, False),
)
DAMAGES = 24  # damaged copies of each made proof: a byte XORed at evenly spread offsets


def made_proof(version: int, b: int, k: int, regs: bool, rng) -> dict:
    """A proof by the Python prover (seed 7) of a witness of B random batches (n_b 512 or
    1,024), with Python's verdicts on it, on changed statements, the other register flag, and
    on DAMAGES copies with one byte XORed with 0x5a, and on copies with one out-of-domain value
    + 1 (a limb, running sum, carry, multiplicity, digest, LogUp helper and sigma, at z and g z)."""
    sizes = [512 << (i % 2) for i in range(b)]
    offset_totals, equity = [], []
    for n in sizes:
        e = [int(rng.integers(0, 1 << 62)) * int(rng.integers(0, n)) for _ in range(k)]
        d = [int(rng.integers(0, 1 << 62)) * int(rng.integers(0, n)) for _ in range(k)]
        equity.append(e)
        offset_totals.append([x - y + n * OFFSET for x, y in zip(e, d, strict=True)])
    blindings = rng.integers(0, P, (b, DIGEST)).astype(np.uint64)
    statement, main = aggregate_witness(
        b"a made aggregation",
        offset_totals,
        blindings,
        sizes,
        sbox_registers=regs,
        equity=equity if version == 2 else None,
    )
    data = prove(AggregateAir(statement, sbox_registers=regs), main, FAST, seed=7).to_bytes()
    policy = {"accepted_params": [FAST]}
    s = statement
    changes = [
        ("honest", changed(s)),
        (
            "grand total of the last asset - 1",
            changed(s, totals=(*s.totals[:-1], s.totals[-1] - 1)),
        ),
        (
            "batch 0 of twice its rows",
            changed(s, batch_sizes=(2 * s.batch_sizes[0], *s.batch_sizes[1:])),
        ),
    ]
    cases = [
        {"label": label, "statement": fields_json(f), **verdict(f, data, policy, regs)}
        for label, f in changes
    ]
    cases.append(
        {
            "label": "the other register flag",
            "statement": fields_json(changed(s)),
            "sbox_registers": not regs,
            **verdict(changed(s), data, policy, not regs),
        }
    )
    for c in cases[:3]:
        c["sbox_registers"] = regs
    damaged = []
    for i in range(DAMAGES):
        offset = len(data) * i // DAMAGES + int(rng.integers(0, 64))
        copy = bytearray(data)
        copy[offset] ^= 0x5A
        damaged.append(
            {
                "label": f"byte {offset} ^ 0x5a",
                "offset": offset,
                **verdict(changed(s), bytes(copy), policy, regs),
            }
        )
    air = AggregateAir(statement, sbox_registers=regs)
    lay = air.layout
    columns = [lay.u(0, 0), lay.r(0, 0), lay.carry_lo, lay.mult, air.sponge.digest_cols[0]]
    columns += [air.main_width, air.main_width + air.aux_width - 1]  # a helper, sigma
    parsed = deserialize(data)
    for where in ("ood_trace_z", "ood_trace_gz"):
        for column in columns:
            values = getattr(parsed, where).copy()
            values[column, 0] = (int(values[column, 0]) + 1) % P
            copy = dataclasses.replace(parsed, **{where: values}).to_bytes()
            label = f"{where}[{column}] + 1"
            damaged.append({"label": label, **verdict(changed(s), copy, policy, regs)})
    return {
        "name": f"version {version}, B = {b}, K = {k}, {'with' if regs else 'without'} registers",
        "hex": data.hex(),
        "policy": policy_json(policy),
        "cases": cases,
        "damaged": damaged,
    }


def build() -> dict:
    rng = np.random.default_rng(20261205)
    return {
        "publications": [publication(d) for d in GOLDEN],
        "made": [made_proof(*m, rng) for m in MADE],
    }


def render(data: dict) -> str:
    return json.dumps(data, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
