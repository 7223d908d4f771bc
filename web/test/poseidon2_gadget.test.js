// poseidon2_gadget.js (circuits/poseidon2_air.py's Poseidon2Gadget at one out-of-domain frame
// row) against the "gadgets" of web/test/fixtures/air_values.json, which tests/web/trace_air.py
// computes with the Python: widths 16 and 24, with and without S-box registers, input columns,
// input expressions, the caller's columns, an 8-element output; the layout, the transition list
// and every constraint's value at a random extension-field row; and on an honest row of the
// Python witness every constraint is zero (and one changed cell makes some non-zero).
import { test } from "node:test";
import assert from "node:assert/strict";

import { readJson } from "./helpers.js";
import { Poseidon2Gadget } from "../src/poseidon2_gadget.js";
import { permute } from "../src/poseidon2.js";
import * as E from "../src/ext.js";

const A = readJson("web/test/fixtures/air_values.json");

function gadgetOf(c) {
  return new Poseidon2Gadget(c.offset, c.width, {
    sboxRegisters: c.sbox_registers,
    inputCols: c.input_cols,
    outputCols: c.output_cols,
    outputWidth: c.output_width,
  });
}

test("the fixture covers widths 16 and 24, with and without registers, and input expressions", () => {
  const kinds = new Set(A.gadgets.map((c) => `${c.width} ${c.sbox_registers} ${c.input_cols !== null}`));
  for (const k of ["16 true false", "16 false false", "24 true false", "24 false false", "24 false true", "16 true true"]) {
    assert.ok(kinds.has(k), k);
  }
});

for (const c of A.gadgets) {
  test(`Poseidon2Gadget: ${c.name}`, () => {
    const g = gadgetOf(c);
    const want = c.gadget;
    assert.equal(g.numColumns, want.num_columns);
    assert.deepEqual(g.inputCols, want.input_cols);
    assert.deepEqual(g.outputCols, want.output_cols);
    assert.deepEqual(g.externalCols.map((r) => [r.regs, r.post]), want.external_cols);
    assert.deepEqual(g.partialCols.map((r) => [r.reg, r.out]), want.partial_cols);
    assert.deepEqual(g.registerCols, want.register_cols);
    assert.equal(g.degree, want.degree);
    assert.equal(g.numConstraints, want.transitions.length);
    assert.deepEqual(g.transitionConstraints().map((t) => [t.degree, t.allRows]), want.transitions);
    const values = g.constraints(c.main, c.inputs);
    assert.equal(values.length, c.values.length);
    values.forEach((v, i) => assert.deepEqual(v, c.values[i], `constraint ${i} differs`));
  });
}

for (const c of A.gadgets.filter((g) => g.honest_row)) {
  test(`Poseidon2Gadget on an honest row of the Python witness: ${c.name}`, () => {
    const g = gadgetOf(c);
    const row = c.honest_row.map((v) => E.fromBase(c.k, v));
    const zero = E.zero(c.k);
    g.constraints(row).forEach((v, i) => assert.deepEqual(v, zero, `constraint ${i}`));
    // the row's output is the permutation of its input (poseidon2.js, written separately)
    const input = g.inputCols.map((col) => c.honest_row[col]);
    assert.deepEqual(g.outputCols.map((col) => c.honest_row[col]), permute(input));
    assert.deepEqual(permute(input), c.honest_output);
    // one changed cell (a partial round's output) breaks its constraint and the ones after it
    const y = g.partialCols[3].out;
    const bad = row.slice();
    bad[y] = E.addBase(row[y], 1);
    const broken = g.constraints(bad).map((v, i) => (E.isZero(v) ? -1 : i)).filter((i) => i >= 0);
    assert.ok(broken.length > 0);
  });
}

test("the gadget refuses malformed column lists as Python does", () => {
  assert.throws(() => new Poseidon2Gadget(0, 16, { inputCols: [1, 2] }), /input_cols must name 16 columns, or none/);
  assert.throws(() => new Poseidon2Gadget(0, 24, { outputWidth: 25 }), /output_width must lie in \[1, 24\]/);
  assert.throws(() => new Poseidon2Gadget(0, 16, { outputWidth: 8, outputCols: [1] }), /output_cols must name 8 columns/);
  assert.throws(() => new Poseidon2Gadget(0, 12), /width must be 16 or 24/);
  const g = new Poseidon2Gadget(0, 16, { inputCols: [] });
  assert.throws(() => g.constraints([]), /no input columns/);
});
