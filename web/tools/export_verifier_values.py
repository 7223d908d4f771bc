"""Write web/test/fixtures/verifier_values.json: what stark/verifier.py's verify says of the
small example proofs of stark/examples.py's Fibonacci AIR and of many damaged copies, for
web/test/verifier.test.js. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_verifier_values.py

- proofs: the three Fibonacci example proofs export_stark_values.py makes (the same bytes),
  two of the MiMC AIR (a periodic column) and two of the range-check AIR (an aux segment,
  LogUp, aux grinding), with their AIR (kind and public inputs) and parameters;
- honest: each proof against its AIR and against other AIRs (other public inputs, other
  trace lengths), other accepted parameters, and security floors in both regimes: Python's reason
  or None;
- mutations: a byte XORed or set to 0xff at every header, count and shape field and at 300
  random positions, truncations at the structural ones, every bit of bytes 8 to 19 (the
  version's high byte, the parameter block, the trace length) flipped, bytes appended: the
  verdict under two policies, accepted_params=[the proof's parameters] and min_bits=0.0 (provable).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np

import stark.fri
from stark.examples import (
    FibonacciAir,
    MimcAir,
    RangeCheckAir,
    fibonacci_trace,
    mimc_trace,
    range_check_trace,
)
from stark.field import P
from stark.params import PRESETS, StarkParams
from stark.proof import VerificationError, deserialize
from stark.prover import prove
from stark.verifier import verify

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "verifier_values.json"


def stark_exporter():
    path = ROOT / "web" / "tools" / "export_stark_values.py"
    spec = importlib.util.spec_from_file_location("export_stark_values", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdict(air, data: bytes, **policy) -> str | None:
    try:
        verify(air, data, **policy)
    except VerificationError as e:
        return e.reason
    return None


POLICIES = {
    "accepted": lambda params: {"accepted_params": [params]},
    "min_bits": lambda params: {"min_bits": 0.0},
}


def air_of(desc: dict):
    """The AIR an "air" record of the fixture names."""
    if desc["kind"] == "fibonacci":
        return FibonacciAir(desc["trace_len"], desc["result"])
    if desc["kind"] == "mimc":
        return MimcAir(desc["trace_len"], desc["seed"], desc["output"])
    return RangeCheckAir(desc["trace_len"], desc["bits"])


def example_proofs(exporter) -> dict[str, tuple[dict, bytes]]:
    """export_stark_values.py's Fibonacci proofs, and proofs of the MiMC AIR (a periodic
    column, degree 3) and of the range-check AIR (an aux segment, its challenge, LogUp,
    aux grinding, an all-rows constraint and an aux boundary)."""
    out = {}
    for name, (air, data) in exporter.example_proofs().items():
        out[name] = ({"kind": "fibonacci", "trace_len": air.trace_len, "result": air.result}, data)
    n, seed = 64, 3
    trace, output = mimc_trace(n, seed)
    desc = {"kind": "mimc", "trace_len": n, "seed": seed, "output": output}
    for name, params in (
        ("mimc-k4", StarkParams(4, 8, 16, 2, 4, 8, False, 0)),
        ("mimc-k5-zk", StarkParams(5, 8, 10, 0, 2, 16, True, 0)),
    ):
        out[f"example/{name}"] = (desc, prove(air_of(desc), trace, params, seed=7).to_bytes())
    rng = np.random.default_rng(5)
    values = rng.integers(0, 16, size=64)
    desc = {"kind": "range-check", "trace_len": 64, "bits": 4}
    trace = range_check_trace(values, 4)
    for name, params in (
        ("range-check-k4-zk", StarkParams(4, 8, 12, 2, 8, 8, True, 3)),
        ("range-check-k5", StarkParams(5, 4, 20, 0, 2, 4, False, 0)),
    ):
        out[f"example/{name}"] = (desc, prove(air_of(desc), trace, params, seed=7).to_bytes())
    return out


def variants(desc: dict) -> list[tuple[str, dict]]:
    """Other AIRs to check a proof against: other public inputs, other trace lengths."""
    n = desc["trace_len"]
    if desc["kind"] == "fibonacci":
        pub = [("result + 1", {**desc, "result": desc["result"] + 1}),
               ("result - 1", {**desc, "result": desc["result"] - 1})]  # fmt: skip
    elif desc["kind"] == "mimc":
        pub = [("output + 1", {**desc, "output": desc["output"] + 1}),
               ("seed + 1", {**desc, "seed": desc["seed"] + 1})]  # fmt: skip
    else:
        pub = [("bits 3", {**desc, "bits": 3}), ("bits 5", {**desc, "bits": 5})]
    return [
        *pub,
        ("trace 2n", {**desc, "trace_len": 2 * n}),
        ("trace n/2", {**desc, "trace_len": n // 2}),
    ]


@contextlib.contextmanager
def patched_fri(patch: str | None):
    """With patch "deep", FRI commits to the DEEP codeword plus 1; with "fold", every folded
    layer is its fold plus 1."""
    real_commit, real_fold = stark.fri.commit, stark.fri.fold_cosets

    def commit(codeword, *args, **kwargs):
        return real_commit(codeword + codeword.field.ones(codeword.shape), *args, **kwargs)

    def fold(*args, **kwargs):
        out = real_fold(*args, **kwargs)
        return out + out.field.ones(out.shape)

    if patch == "deep":
        stark.fri.commit = commit
    elif patch == "fold":
        stark.fri.fold_cosets = fold
    try:
        yield
    finally:
        stark.fri.commit, stark.fri.fold_cosets = real_commit, real_fold


def cheating_proofs() -> list[dict]:
    """Proofs of false statements, made with the prover's self-checks off: a changed trace
    cell, a wrong public output, a value outside the range-check table (all refused by the
    OOD check); and honest traces through a patched FRI (refused by FRI's query phase).
    Merkle-consistent, so the verifier gets past the openings."""
    out = []
    n = 64
    trace, result = fibonacci_trace(n)
    mimc, output = mimc_trace(n, 3)
    rng = np.random.default_rng(9)
    bad_values = rng.integers(0, 16, size=n)
    bad_values[17] = 20
    cases = []
    for params in (
        StarkParams(4, 4, 20, 4, 4, 16, False, 0),
        StarkParams(4, 8, 12, 2, 2, 8, True, 0),
        StarkParams(5, 2, 30, 0, 8, 8, False, 0),
        StarkParams(5, 8, 10, 0, 2, 16, True, 3),
    ):
        changed = trace.copy()
        changed[0, 10] = (int(changed[0, 10]) + 1) % P
        cases.append(({"kind": "fibonacci", "trace_len": n, "result": result}, changed, params))
        cases.append(({"kind": "fibonacci", "trace_len": n, "result": result + 1}, trace, params))
        changed = mimc.copy()
        changed[0, 33] = (int(changed[0, 33]) + 5) % P
        cases.append(
            ({"kind": "mimc", "trace_len": n, "seed": 3, "output": output}, changed, params)
        )
        cases.append(
            (
                {"kind": "range-check", "trace_len": n, "bits": 4},
                range_check_trace(bad_values, 4),
                params,
            )
        )
    # an honest trace, but FRI's input or a folded layer shifted by 1 (a patched prover)
    honest_desc = {"kind": "fibonacci", "trace_len": n, "result": result}
    for params in (
        StarkParams(4, 4, 20, 4, 4, 16, False, 0),  # two FRI layers
        StarkParams(5, 2, 30, 0, 8, 8, False, 0),  # one FRI layer
        StarkParams(4, 8, 12, 2, 2, 8, True, 0),
    ):
        for patch in ("deep", "fold"):
            cases.append(({**honest_desc, "patch": patch}, trace, params))
    for desc, tr, params in cases:
        with patched_fri(desc.get("patch")):
            data = prove(air_of(desc), tr, params, seed=11, check=False).to_bytes()
        out.append(
            {
                "hex": data.hex(),
                "air": desc,
                "params": dataclasses.asdict(params),
                "python": verdict(air_of(desc), data, min_bits=0.0),
            }
        )
    return out


def build() -> dict:
    exporter = stark_exporter()
    rng = np.random.default_rng(20261205)
    proofs, honest, mutations = {}, [], []
    for name, (desc, data) in example_proofs(exporter).items():
        air = air_of(desc)
        params = deserialize(data).params
        proofs[name] = {"hex": data.hex(), "air": desc, "params": dataclasses.asdict(params)}
        cases = [
            ("own", desc, {"accepted_params": [params]}),
            ("own, min_bits 0", desc, {"min_bits": 0.0}),
            ("own, both", desc, {"accepted_params": [params], "min_bits": 10.0}),
            ("own, conjectured 0", desc, {"min_bits": 0.0, "regime": "conjectured"}),
            ("own, provable 200", desc, {"min_bits": 200.0}),
            ("own, conjectured 200", desc, {"min_bits": 200.0, "regime": "conjectured"}),
            ("own, provable 60.25", desc, {"min_bits": 60.25}),
            ("presets only", desc, {"accepted_params": list(PRESETS.values())}),
        ]
        cases += [(label, other, {"min_bits": 0.0}) for label, other in variants(desc)]
        for label, other, policy in cases:
            honest.append(
                {
                    "proof": name,
                    "label": label,
                    "air": other,
                    "accepted_params": [
                        dataclasses.asdict(p) for p in policy.get("accepted_params", [])
                    ]
                    if "accepted_params" in policy
                    else None,
                    "min_bits": policy.get("min_bits"),
                    "regime": policy.get("regime", "provable"),
                    "python": verdict(air_of(other), data, **policy),
                }
            )
        size = len(data)
        structural = exporter.field_offsets(data)
        randoms = rng.integers(0, size, size=300).tolist()
        positions = sorted(set(structural) | set(randoms))
        for i, pos in enumerate(positions):
            flip = int(rng.integers(1, 256))
            changes = [("xor", flip, data[:pos] + bytes([data[pos] ^ flip]) + data[pos + 1 :])]
            if data[pos] != 0xFF:
                changes.append(("set", 0xFF, data[:pos] + b"\xff" + data[pos + 1 :]))
            if pos in structural or i % 5 == 0:
                changes.append(("truncate", None, data[:pos]))
            for kind, value, mutated in changes:
                mutations.append(mutation(name, air, params, kind, pos, value, mutated))
        # every bit of the header (parameter block, trace length): other valid parameters
        for pos in range(8, 20):
            for bit in range(8):
                mutated = data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1 :]
                mutations.append(mutation(name, air, params, "xor", pos, 1 << bit, mutated))
        for extra in (b"\x00", bytes(32)):
            mutated = data + extra
            mutations.append(mutation(name, air, params, "extend", size, extra.hex(), mutated))
    return {
        "proofs": proofs,
        "honest": honest,
        "mutations": mutations,
        "cheats": cheating_proofs(),
    }


def mutation(name, air, params, kind, pos, value, mutated) -> dict:
    return {
        "proof": name,
        "kind": kind,
        "pos": pos,
        "value": value,
        **{p: verdict(air, mutated, **f(params)) for p, f in POLICIES.items()},
    }


def render(values: dict) -> str:
    return json.dumps(values, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
