// solvency_air.js (the hand port of circuits/solvency.py's SolvencyAir, no leaves, public
// totals) against web/test/fixtures/air_values.json, which tests/web/trace_air.py computes
// with the Python: name, shape, transition list, boundaries, periodic columns, public-input
// bytes, and every transition constraint's value at a random frame, constraint by constraint.
import { test } from "node:test";
import assert from "node:assert/strict";

import { readJson } from "./helpers.js";
import { SolvencyAir, publicationShape } from "../src/solvency_air.js";
import { airShape, validateDeclaration } from "../src/protocol.js";
import { sha256, toHex } from "../src/sha256.js";
import { statementOf, airOf } from "./air_fixture.js";

const A = readJson("web/test/fixtures/air_values.json");

function periodicDigest(cycle) {
  const bytes = new Uint8Array(4 * cycle.length);
  const view = new DataView(bytes.buffer);
  cycle.forEach((v, i) => view.setUint32(4 * i, Number(v), true));
  return toHex(sha256(bytes));
}

test("the fixture covers formats 1 and 2, tables, leaves, hidden totals, LogUp groups 3 and 6", () => {
  assert.ok(A.cases.length >= 14);
  const names = new Set(A.cases.map((c) => c.air.name));
  for (const name of [
    "solvency-v1", "solvency-v2", "solvency-v1-leaves-w24-noreg", "solvency-v1-hidden-leaves-w24-noreg",
    "solvency-v2-leaves-w24-noreg", "solvency-v2-hidden-leaves-w24-noreg", "solvency-v2-hidden-leaves-w16",
    "solvency-v2-leaves-w24", "solvency-v1-hidden", "solvency-v2-hidden-noreg",
  ]) {
    assert.ok(names.has(name), name);
  }
  assert.deepEqual([...new Set(A.cases.map((c) => c.lookup_group))].sort(), [3, 6]);
});

for (const c of A.cases) {
  test(`SolvencyAir: ${c.name}`, () => {
    const air = airOf(c);
    validateDeclaration(air);
    assert.equal(air.lookupGroup, c.lookup_group);
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

const publicationCases = A.cases.filter((c) => c.options.leaf_width === 24 && c.options.sbox_registers === false);

test("publicationShape (all-zero leaves, no per-row table) is the shape of the AIR with the real leaves", () => {
  assert.ok(publicationCases.length >= 4);
  for (const c of publicationCases) {
    assert.deepEqual(publicationShape(statementOf(c.statement)), c.air.shape, c.name);
  }
});

test("a published leaf's element is read by its own 'leaf is published' constraint only", () => {
  const c = A.cases.find((x) => x.air.name === "solvency-v2-hidden-leaves-w24-noreg");
  const air = airOf(c);
  const fr = c.frame;
  const frame = (periodic) => ({
    k: c.k, main: fr.main, mainNext: fr.main_next, aux: fr.aux, auxNext: fr.aux_next, periodic, challenges: fr.challenges,
  });
  const k = c.statement.symbols.length;
  const periodic = fr.periodic.map((v) => v.slice());
  periodic[1 + k + 5][0] = (periodic[1 + k + 5][0] + 1) % 2013265921;
  const values = air.evaluateTransition(frame(periodic));
  const differing = values.map((v, i) => i).filter((i) => values[i].some((x, d) => x !== c.values[i][d]));
  assert.equal(differing.length, 1);
  assert.equal(air.constraintName(differing[0]), "leaf is published");
  // and the commitment is a boundary constraint on the sponge's output at row K
  const outputs = air.layout.totalsGadget.outputCols;
  const bounds = air.boundaryConstraints().filter((b) => b.row === k && outputs.includes(b.column));
  assert.deepEqual(bounds.map((b) => b.value), c.options.commitment);
});

test("leaves and commitments that Python refuses are refused", () => {
  const c = publicationCases[0];
  const s = statementOf(c.statement);
  const leaves = new Uint32Array(s.traceLen * 8);
  assert.throws(() => new SolvencyAir(s, { leaves: leaves.subarray(8) }), /one leaf per row/);
  leaves[17] = 2013265921;
  assert.throws(() => new SolvencyAir(s, { leaves }), /\[0, p\)/);
  assert.throws(() => new SolvencyAir(s, { totalsCommitment: new Array(8).fill(0) }), /hidden totals/);
  const hidden = statementOf(A.cases.find((x) => x.statement.hidden_totals).statement);
  assert.throws(() => new SolvencyAir(hidden), /hidden totals needs their commitment/);
});

test("publicationShape is Python's publication_air shape at n = 2^9 to 2^17, K = 1 to 200, formats 1 and 2, hidden or public totals", (t) => {
  assert.equal(A.shapes.length, 54);
  let slowest = 0;
  for (const c of A.shapes) {
    const start = performance.now();
    const shape = publicationShape(statementOf(c.statement));
    slowest = Math.max(slowest, performance.now() - start);
    assert.deepEqual(shape, c.shape, `n = ${c.statement.trace_len}, K = ${c.statement.symbols.length}`);
  }
  t.diagnostic(`slowest publicationShape: ${slowest.toFixed(1)} ms`);
});
