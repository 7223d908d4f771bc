"""Attack on the JS batch AIR (web/src/solvency_air.js) by statement: a cheating exchange picks
statement.json within what read_statement accepts; if for some statement the JS AIR were
another polynomial system than Python's (a constraint, a constant, a boundary, a periodic
column or a public-input byte), a proof of the weaker system would verify in JS only.

web/tools/attack_air_random.py draws random statements far outside the tracer's 14 (1 to 12
assets, one of 40 and one of 200, formats 1 and 2, haircut tables of 1 to 8 tiers with extreme
bounds and percents, decimals 0 to 18, prices 0 to 2^90 - 1, scale to 2^16 - 1, totals and
equities at their bounds, hidden totals, leaves of widths 16 and 24 with or without registers,
non-ASCII issuers) and evaluates Python's AIR at a random extension-field frame;
web/tools/attack_air_random.mjs compares everything with the JS AIR, constraint by constraint.
Agreement at a random frame means the same polynomial (but with probability about
degree / p^k). The attack fails (no difference, here and on 740 more statements run by hand,
717,913 constraint values: `attack_air_random.py COUNT SEED [N]` for seeds 1 to 22, n = 512,
1024, 2048, 4096).

The control: the same comparison with one Python value changed reports exactly that value.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.web.test_inclusion_differential import _node

ROOT = Path(__file__).resolve().parents[2]


def _compare(node: str, path: Path) -> dict:
    done = subprocess.run(
        [node, "web/tools/attack_air_random.mjs", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_random_statements_give_the_same_air_in_js(tmp_path):
    node = _node()
    done = subprocess.run(
        [sys.executable, "web/tools/attack_air_random.py", "12", "20261205"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    cases = json.loads(done.stdout)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    report = _compare(node, path)
    assert report["count"] == 0, report["differences"]
    assert report["cases"] == 12 and report["values"] > 5000
    names = {c["air"]["name"] for c in cases}
    assert "solvency-v2-hidden-leaves-w24-noreg" in names or "solvency-v2-leaves-w24-noreg" in names

    # the control: one constraint value of one case changed is reported, and only it
    cases[3]["values"][-1][0] = (cases[3]["values"][-1][0] + 1) % 2013265921
    pub = cases[5]["air"]["public_inputs"]
    cases[5]["air"]["public_inputs"] = pub[:-2] + f"{int(pub[-2:], 16) ^ 1:02x}"
    path.write_text(json.dumps(cases))
    report = _compare(node, path)
    assert report["count"] == 2, report
    what = sorted(d["what"] for d in report["differences"])
    assert what[0].startswith("constraint ") and what[1] == "public inputs", what
