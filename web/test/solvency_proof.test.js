// Real proofs of the solvency AIR (no leaves, public totals; formats 1 and 2, n = 512, the fast
// preset) verified in JS with verifier.js and the hand port solvency_air.js, and the same
// proofs against mutated statements refused with Python's reason
// (web/test/fixtures/solvency_proofs.json, web/tools/export_solvency_proofs.py).
import { test } from "node:test";
import assert from "node:assert/strict";

import { readJson } from "./helpers.js";
import { statementOf } from "./air_fixture.js";
import { SolvencyAir } from "../src/solvency_air.js";
import { verify } from "../src/verifier.js";
import { VerificationError } from "../src/proof.js";

const F = readJson("web/test/fixtures/solvency_proofs.json");

function outcome(air, data, policy) {
  try {
    verify(air, data, policy);
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    return e.reason;
  }
  return null;
}

for (const p of F.proofs) {
  test(`a real solvency proof (${p.name}) and ${p.cases.length - 1} mutated statements: Python's verdicts`, () => {
    const data = new Uint8Array(Buffer.from(p.hex, "hex"));
    assert.ok(p.cases.some((c) => c.python === null));
    for (const c of p.cases) {
      const air = new SolvencyAir(statementOf(c.statement));
      assert.equal(outcome(air, data, { acceptedParams: [p.params] }), c.python, c.label);
    }
  });
}

test("a port that differs in one constraint fails the out-of-domain check on the honest proof", () => {
  const p = F.proofs[1];
  const data = new Uint8Array(Buffer.from(p.hex, "hex"));
  const honest = p.cases.find((c) => c.python === null);
  const air = new SolvencyAir(statementOf(honest.statement));
  const names = air.transitionConstraints().map((_, i) => air.constraintName(i));
  for (const name of ["totals", "equity totals", "BTC tier lower bound", "user value", "range check sum"]) {
    const i = names.indexOf(name);
    assert.ok(i >= 0, name);
    const drifted = Object.create(air);
    drifted.evaluateTransition = (f) => {
      const out = air.evaluateTransition(f);
      out[i] = out[i].map((v, d) => (d === 0 ? (v + 1) % 2013265921 : v));
      return out;
    };
    assert.equal(
      outcome(drifted, data, { acceptedParams: [p.params] }),
      "out-of-domain check failed: constraints do not match the quotient",
      name,
    );
  }
});
