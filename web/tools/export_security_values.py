"""Write web/test/fixtures/security_values.json: the presets, Domains.of and the security
estimate (stark/params.py, stark/security.py) as Python computes them, and the rounding
statement.json applies (solvency/publication/statement.py::security_block), for
web/test/security.test.js. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_security_values.py

- presets: PRESETS as dataclasses.asdict, in order;
- cases: parameter sets (both presets and random valid ones) against AIR shapes (the real
  shapes of the golden publications' batches and aggregations, the solvency AIR at every
  trace length 2^9 to 2^17 and 1 to 200 assets, the example AIRs, and synthetic
  shapes over every trace length 2^2 to 2^22, widths, degrees 1 to 8, aux segments and lookup
  fractions): Domains.of's fields or its ValueError, every term in full precision (repr), the
  two figures, security_block's rounded block and summary();
- rounding: round(x, 2) and f"{x:.1f}" of floats near ties and at random.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path

import solvency.publication.statement as statement_module
from circuits.solvency import MAX_ASSETS, MAX_TRACE_LEN, MIN_TRACE_LEN, SolvencyAir, Statement
from solvency.publication.statement import read_statement, security_block
from stark.examples import FibonacciAir, MimcAir, RangeCheckAir, WideAir
from stark.params import MAX_LOG_TRACE_LEN, PRESETS, AirShape, Domains, StarkParams
from stark.security import estimate_security

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "security_values.json"
GOLDEN = ROOT / "tests" / "golden"


def num(x: float):
    """A float for JSON: repr round-trips; infinities as strings (JSON has none)."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def golden_statements() -> list[dict]:
    """For each golden statement.json: the shapes weakest_security builds (recorded, in its
    order), its parameters, the security block it declares and the one Python computes."""
    out = []
    real = statement_module.estimate_security
    for st in sorted(GOLDEN.glob("publication-*/**/statement.json")):
        seen: list[AirShape] = []

        def recording(params, shape, seen=seen):
            seen.append(shape)
            return real(params, shape)

        statement_module.estimate_security = recording
        try:
            s, data = read_statement(st.parent)
            report = s.security()
        finally:
            statement_module.estimate_security = real
        out.append(
            {
                "file": str(st.relative_to(ROOT)),
                "params": dataclasses.asdict(s.params),
                "shapes": [dataclasses.asdict(x) for x in seen],
                "declared": data["security"],
                "block": security_block(report),
            }
        )
    return out


def golden_shapes(statements: list[dict]) -> list[AirShape]:
    shapes: list[AirShape] = []
    for st in statements:
        shapes += [AirShape(**x) for x in st["shapes"] if AirShape(**x) not in shapes]
    return shapes


def example_shapes() -> list[AirShape]:
    return [
        FibonacciAir(16, 987).shape(),
        FibonacciAir(1 << 10, 5).shape(),
        MimcAir(64, 3, 5).shape(),
        RangeCheckAir(256, 8).shape(),
        WideAir(1 << 12, 40).shape(),
    ]


def solvency_shapes() -> list[AirShape]:
    """SolvencyAir (public totals, no leaves) at every supported trace length and a range of
    asset counts, at the widest prices (as tests/circuits/test_security_claims.py)."""
    out = []
    for log_n in range(MIN_TRACE_LEN.bit_length() - 1, MAX_TRACE_LEN.bit_length()):
        for assets in (1, 2, 5, 22, 64, 100, MAX_ASSETS):
            statement = Statement(
                quote="USD",
                scale=2,
                symbols=tuple(f"A{j}" for j in range(assets)),
                decimals=(8,) * assets,
                prices=tuple((1 << 89) - j for j in range(assets)),
                totals=(0,) * assets,
                trace_len=1 << log_n,
            )
            out.append(SolvencyAir(statement).shape())
    return out


def synthetic_shapes(rng: random.Random) -> list[AirShape]:
    shapes = []
    for log_n in range(2, MAX_LOG_TRACE_LEN + 1):
        for _ in range(6):
            main = rng.choice([1, 2, 3, rng.randint(1, 100), rng.randint(100, 20000)])
            aux = rng.choice([0, 0, 1, rng.randint(1, 200)])
            lookups = rng.choice([0, rng.randint(1, 1 << 22)]) if aux else 0
            shapes.append(
                AirShape(
                    name=f"synthetic-{log_n}",
                    trace_len=1 << log_n,
                    main_width=main,
                    aux_width=aux,
                    num_aux_challenges=rng.randint(0, 3) if aux else 0,
                    num_transition_constraints=rng.choice([0, 1, rng.randint(1, 20000)]),
                    num_boundary_constraints=rng.choice([0, 1, rng.randint(1, 2000)]),
                    max_constraint_degree=rng.randint(1, 8),
                    num_lookup_fractions=lookups,
                )
            )
    return shapes


def random_params(rng: random.Random) -> StarkParams:
    f = rng.choice([2, 4, 8])
    return StarkParams(
        extension_degree=rng.choice([4, 5]),
        blowup=rng.choice([2, 4, 8, 16, 32, 64]),
        num_queries=rng.choice([1, rng.randint(1, 256), 256]),
        grinding_bits=rng.randint(0, 32),
        folding_factor=f,
        remainder_max_len=rng.choice([m for m in (2, 4, 8, 16, 64, 256, 1024) if m >= f]),
        zk=rng.random() < 0.5,
        aux_grinding_bits=rng.randint(0, 32),
    )


def case(params: StarkParams, shape: AirShape) -> dict:
    out = {"params": dataclasses.asdict(params), "shape": dataclasses.asdict(shape)}
    try:
        dom = Domains.of(params, shape)
    except ValueError as e:
        out["error"] = str(e)
        return out
    out["domains"] = dataclasses.asdict(dom) | {"fri_layer_sizes": list(dom.fri_layer_sizes)}
    out["rate"] = dom.rate
    r = estimate_security(params, shape)
    out["conjectured_bits"] = num(r.conjectured_bits)
    out["provable_bits"] = num(r.provable_bits)
    out["terms"] = {k: num(v) for k, v in r.terms.items()}
    out["block"] = security_block(r)
    out["summary"] = r.summary()
    return out


def rounding_values(rng: random.Random) -> list[dict]:
    xs = [0.0, -0.0, 0.005, 0.015, 0.125, 0.375, 2.675, 1.005, 102.005, 100.125, 99.995, 0.05]
    xs += [k / 8 for k in range(-40, 1200)]  # exact binary ties at 2 digits
    xs += [k / 200 for k in range(0, 30000, 7)]  # decimal ties, not binary ones
    xs += [k / 20 for k in range(0, 3000)]  # ties at 1 digit
    xs += [rng.uniform(0, 160) for _ in range(3000)]
    xs += [math.nextafter(k / 8, math.inf) for k in range(0, 1200, 3)]
    xs += [math.nextafter(k / 8, -math.inf) for k in range(0, 1200, 3)]
    xs += [1e-300, 5e-324, 1e20, 123456789.125, 2.0**52 + 0.5, 1e16]
    return [{"x": x, "r2": round(x, 2), "f1": f"{x:.1f}"} for x in xs]


def build() -> dict:
    rng = random.Random(20261205)
    statements = golden_statements()
    shapes = [
        *golden_shapes(statements),
        *solvency_shapes(),
        *example_shapes(),
        *synthetic_shapes(rng),
    ]
    cases = []
    for shape in shapes:
        for params in PRESETS.values():
            cases.append(case(params, shape))
        for _ in range(2):
            cases.append(case(random_params(rng), shape))
    return {
        "presets": [[name, dataclasses.asdict(p)] for name, p in PRESETS.items()],
        "golden_statements": statements,
        "cases": cases,
        "rounding": rounding_values(rng),
    }


def render(values: dict) -> str:
    return json.dumps(values, separators=(",", ":"), allow_nan=False) + "\n"


def main() -> None:
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
