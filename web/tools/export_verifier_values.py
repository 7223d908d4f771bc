"""Write web/test/fixtures/verifier_values.json: what stark/verifier.py's verify says of the
small example proofs of stark/examples.py's Fibonacci AIR and of many damaged copies, for
web/test/verifier.test.js. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_verifier_values.py

- proofs: the three example proofs export_stark_values.py makes (the same bytes), with their
  AIR (trace length, result) and parameters;
- honest: each proof against its AIR and against other AIRs (another result, other trace
  lengths), other accepted parameters, and security floors in both regimes: Python's reason
  or None;
- mutations: a byte XORed or set to 0xff at every header, count and shape field and at 300
  random positions, truncations at the structural ones, bytes appended: the verdict under two
  policies, accepted_params=[the proof's parameters] and min_bits=0.0 (provable).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np

from stark.examples import FibonacciAir
from stark.params import PRESETS
from stark.proof import VerificationError, deserialize
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


def build() -> dict:
    exporter = stark_exporter()
    rng = np.random.default_rng(20261205)
    proofs, honest, mutations = {}, [], []
    for name, (air, data) in exporter.example_proofs().items():
        params = deserialize(data).params
        proofs[name] = {
            "hex": data.hex(),
            "trace_len": air.trace_len,
            "result": air.result,
            "params": dataclasses.asdict(params),
        }
        n, result = air.trace_len, air.result
        for label, other, policy in (
            ("own", air, {"accepted_params": [params]}),
            ("own, min_bits 0", air, {"min_bits": 0.0}),
            ("own, both", air, {"accepted_params": [params], "min_bits": 10.0}),
            ("own, conjectured 0", air, {"min_bits": 0.0, "regime": "conjectured"}),
            ("own, provable 200", air, {"min_bits": 200.0}),
            ("own, conjectured 200", air, {"min_bits": 200.0, "regime": "conjectured"}),
            ("own, provable 60.25", air, {"min_bits": 60.25}),
            ("presets only", air, {"accepted_params": list(PRESETS.values())}),
            ("result + 1", FibonacciAir(n, result + 1), {"min_bits": 0.0}),
            ("result - 1", FibonacciAir(n, result - 1), {"min_bits": 0.0}),
            ("trace 2n", FibonacciAir(2 * n, result), {"min_bits": 0.0}),
            ("trace n/2", FibonacciAir(n // 2, result), {"min_bits": 0.0}),
            ("trace 4", FibonacciAir(4, result), {"min_bits": 0.0}),
        ):
            honest.append(
                {
                    "proof": name,
                    "label": label,
                    "trace_len": other.trace_len,
                    "result": other.result,
                    "accepted_params": [
                        dataclasses.asdict(p) for p in policy.get("accepted_params", [])
                    ]
                    if "accepted_params" in policy
                    else None,
                    "min_bits": policy.get("min_bits"),
                    "regime": policy.get("regime", "provable"),
                    "python": verdict(other, data, **policy),
                }
            )
        size = len(data)
        structural = exporter.field_offsets(data)
        randoms = rng.integers(0, size, size=300).tolist()
        positions = sorted(set(structural) | set(randoms))
        for i, pos in enumerate(positions):
            flip = int(rng.integers(1, 256))
            variants = [("xor", flip, data[:pos] + bytes([data[pos] ^ flip]) + data[pos + 1 :])]
            if data[pos] != 0xFF:
                variants.append(("set", 0xFF, data[:pos] + b"\xff" + data[pos + 1 :]))
            if pos in structural or i % 5 == 0:
                variants.append(("truncate", None, data[:pos]))
            for kind, value, mutated in variants:
                mutations.append(
                    {
                        "proof": name,
                        "kind": kind,
                        "pos": pos,
                        "value": value,
                        **{p: verdict(air, mutated, **f(params)) for p, f in POLICIES.items()},
                    }
                )
        for extra in (b"\x00", bytes(32)):
            mutated = data + extra
            mutations.append(
                {
                    "proof": name,
                    "kind": "extend",
                    "pos": size,
                    "value": extra.hex(),
                    **{p: verdict(air, mutated, **f(params)) for p, f in POLICIES.items()},
                }
            )
    return {"proofs": proofs, "honest": honest, "mutations": mutations}


def render(values: dict) -> str:
    return json.dumps(values, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
