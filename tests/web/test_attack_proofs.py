"""Attacks on the JavaScript batch verifier (web/src/verifier.js with solvency_air.js) by a
cheating prover: proofs of false batch statements, each made by Python's prover with its
self-checks off for a "liar" AIR, the publication's AIR (`publication_air`: leaves of width 24,
no S-box registers, format 2) with one group of transition constraints evaluating to zero.
The liar declares exactly what the real AIR declares (name, shape, degrees, boundaries,
periodic columns, public inputs), so its proofs are well formed for the real AIR's transcript
and fail only where the real AIR evaluates that group.

For each attack: Python's verifier refuses the proof (the real AIR), the JS verifier refuses
it with Python's reason, and, as a control showing that the refusal is that group's doing,
the JS verifier with the same group zeroed (web/tools/attack_verify.mjs `weakened`) accepts it.
All refusals are expected at the out-of-domain check; all pass today (the attacks fail).

The statements are those a publication of one batch proves (issuer, as_of, batch place),
n = 512, the QUICK parameters (tests/quick.py) under `accepted_params` as check_batch uses
them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from circuits.leaf import id_commitments, new_nonces
from circuits.solvency import SolvencyAir, build_witness_with_leaves
from stark.field import GF, P
from stark.proof import VerificationError
from stark.prover import prove
from stark.randomness import ProverRandomness
from stark.verifier import verify
from tests.circuits.test_solvency_air import MARKET
from tests.quick import QUICK
from tests.web.test_inclusion_differential import _node

ROOT = Path(__file__).resolve().parents[2]
USERS = 40
OOD = "out-of-domain check failed: constraints do not match the quotient"
SNAPSHOT = "e7" * 32


def _trace_air():
    spec = importlib.util.spec_from_file_location(
        "trace_air", ROOT / "tests" / "web" / "trace_air.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Liar(SolvencyAir):
    """SolvencyAir whose transition constraints in `zeroed` groups evaluate to zero."""

    def __init__(self, *args, zeroed: tuple[str, ...], **kw):
        super().__init__(*args, **kw)
        self.zeroed = zeroed

    def evaluate_transition(self, f):
        values = super().evaluate_transition(f)
        names = [self.constraint_name(i) for i in range(len(values))]
        return [v - v if name in self.zeroed else v for v, name in zip(values, names, strict=True)]


@pytest.fixture(scope="module")
def honest():
    """An honest batch of 40 users (format 2, leaves w24 without registers): statement with a
    publication's identity and place, trace, leaves."""
    rng = np.random.default_rng(5)
    b = rng.integers(0, 10**10, size=(USERS, 3))
    b[3, 0] = -(10**6)
    ids = [f"user-{i}" for i in range(USERS)]
    idc = id_commitments(ids, new_nonces(USERS, ProverRandomness(1)))
    statement, trace, leaves = build_witness_with_leaves(
        MARKET, b, idc, leaf_width=24, sbox_registers=False, rng=ProverRandomness(2)
    )
    statement = dataclasses.replace(
        statement, issuer="Cheating Exchange", as_of="2026-12-05T00:00:00Z",
        batch=(0, 1, SNAPSHOT),
    )  # fmt: skip
    return statement, trace, leaves


def _attacks(honest):
    """(label, false statement, trace, leaves, zeroed groups)."""
    statement, trace, leaves = honest
    out = []
    # 1. totals understated by 1 BTC: the trace sums the real balances
    totals = (statement.totals[0] - 10**8, *statement.totals[1:])
    understated = dataclasses.replace(statement, totals=totals)
    out.append(("BTC total understated", understated, trace, leaves, ("totals",)))
    # 2. a published leaf that no row hashes (say a customer's leaf kept out of the sums)
    forged = leaves.copy()
    forged[17] = (forged[17] + 1) % P
    out.append(("a published leaf no row hashes", statement, trace, forged, ("leaf is published",)))
    # 3. the user values at another BTC price than the published one
    prices = (statement.prices[0] + 1, *statement.prices[1:])
    repriced = dataclasses.replace(statement, prices=prices)
    out.append(("user values at an unpublished price", repriced, trace, leaves, ("user value",)))
    # 4. a row whose leaf is not the hash of its id commitment and limb cells
    bad = np.asarray(trace).copy()
    air = SolvencyAir(statement, leaves, leaf_width=24, sbox_registers=False)
    bad[air.layout.idc[0], 17] = (int(bad[air.layout.idc[0], 17]) + 1) % P
    out.append(("a leaf that is not its row's hash", statement, GF(bad), leaves, ("leaf hash",)))
    return out


def test_liar_proofs_are_refused_by_js_as_by_python(honest, tmp_path):
    node = _node()
    trace_air = _trace_air()
    cases, python = [], []
    for label, s, trace, leaves, zeroed in _attacks(honest):
        liar = Liar(s, leaves, leaf_width=24, sbox_registers=False, zeroed=zeroed)
        real = SolvencyAir(s, leaves, leaf_width=24, sbox_registers=False)
        assert liar.shape() == real.shape() and liar.public_inputs() == real.public_inputs()
        proof = prove(liar, trace, QUICK, check=False, seed=7).to_bytes()
        verify(liar, proof, accepted_params=[QUICK])  # the liar's own proof is sound for it
        try:
            verify(real, proof, accepted_params=[QUICK])
            python.append(None)
        except VerificationError as e:
            python.append(e.reason)
        cases.append(
            {
                "label": label,
                "statement": trace_air.statement_json(s),
                "options": {
                    "leaves_hex": np.asarray(leaves).astype("<u4").tobytes().hex(),
                    "leaf_width": 24,
                    "sbox_registers": False,
                },
                "proof_hex": proof.hex(),
                "params": dataclasses.asdict(QUICK),
                "zero_groups": list(zeroed),
            }
        )
    request = tmp_path / "proofs.json"
    request.write_text(json.dumps({"cases": cases}))
    done = subprocess.run(
        [node, "web/tools/attack_verify.mjs", str(request)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    js = json.loads(done.stdout)
    for case, py_reason, verdict in zip(cases, python, js, strict=True):
        label = case["label"]
        assert py_reason == OOD, (label, py_reason)
        assert verdict["real"] == py_reason, (label, verdict)
        assert verdict["weakened"] is None, (label, verdict)  # the control
