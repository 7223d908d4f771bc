// solvency_air.js (the hand port of circuits/solvency.py's SolvencyAir, no leaves, public
// totals) against web/test/fixtures/air_values.json, which tests/web/trace_air.py computes
// with the Python: name, shape, transition list, boundaries, periodic columns, public-input
// bytes, and every transition constraint's value at a random frame, constraint by constraint.
import { test } from "node:test";
import assert from "node:assert/strict";

import { readJson } from "./helpers.js";
import { SolvencyAir } from "../src/solvency_air.js";
import { airShape, validateDeclaration } from "../src/protocol.js";
import { sha256, toHex } from "../src/sha256.js";
import { statementOf } from "./air_fixture.js";

const A = readJson("web/test/fixtures/air_values.json");

function periodicDigest(cycle) {
  const bytes = new Uint8Array(4 * cycle.length);
  const view = new DataView(bytes.buffer);
  cycle.forEach((v, i) => view.setUint32(4 * i, Number(v), true));
  return toHex(sha256(bytes));
}

test("the fixture covers formats 1 and 2, tables of 1, 2 and 4 tiers, 1 to 3 assets", () => {
  assert.ok(A.cases.length >= 6);
  const names = new Set(A.cases.map((c) => c.air.name));
  assert.deepEqual([...names].sort(), ["solvency-v1", "solvency-v2"]);
});

for (const c of A.cases) {
  test(`SolvencyAir: ${c.name}`, () => {
    const air = new SolvencyAir(statementOf(c.statement));
    validateDeclaration(air);
    assert.equal(air.name, c.air.name);
    assert.deepEqual(airShape(air), c.air.shape);
    assert.deepEqual(
      air.transitionConstraints().map((t) => [t.degree, t.allRows]),
      c.air.transitions,
    );
    const names = c.air.transitions.map((_, i) => air.constraintName(i));
    assert.deepEqual(names, c.air.constraint_names);
    assert.deepEqual(
      air.boundaryConstraints().map((b) => [b.column, b.row, String(b.value), b.aux]),
      c.air.boundaries,
    );
    assert.deepEqual(
      air.periodicColumns().map((cycle) => ({ length: cycle.length, sha256: periodicDigest(cycle) })),
      c.air.periodic,
    );
    assert.equal(toHex(air.publicInputs()), c.air.public_inputs);
    const fr = c.frame;
    const values = air.evaluateTransition({
      k: c.k,
      main: fr.main,
      mainNext: fr.main_next,
      aux: fr.aux,
      auxNext: fr.aux_next,
      periodic: fr.periodic,
      challenges: fr.challenges,
    });
    assert.equal(values.length, c.values.length);
    values.forEach((v, i) => {
      assert.deepEqual(v, c.values[i], `constraint ${i} (${c.air.constraint_names[i]}) differs`);
    });
  });
}

test("a changed frame value changes the constraints that read it (the values are not constant)", () => {
  const c = A.cases[4];
  const air = new SolvencyAir(statementOf(c.statement));
  const fr = c.frame;
  const main = fr.main.map((v) => v.slice());
  main[air.layout.mult][0] = (main[air.layout.mult][0] + 1) % 2013265921;
  const values = air.evaluateTransition({
    k: c.k, main, mainNext: fr.main_next, aux: fr.aux, auxNext: fr.aux_next,
    periodic: fr.periodic, challenges: fr.challenges,
  });
  const differing = values.map((v, i) => i).filter((i) => values[i].some((x, d) => x !== c.values[i][d]));
  assert.deepEqual(differing, [values.length - 1]);
});
