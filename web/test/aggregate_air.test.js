// aggregate_air.js (the hand port of circuits/aggregate.py's AggregateAir) against
// web/test/fixtures/aggregate_values.json, which tests/web/trace_aggregate.py computes with the
// Python: name, shape, transition list, boundaries, periodic columns, public-input bytes and
// every transition constraint's value at a random frame, constraint by constraint; honest rows
// of Python witnesses give zeros; the statement checks refuse what Python refuses, word for word.
import { test } from "node:test";
import assert from "node:assert/strict";

import { readJson } from "./helpers.js";
import { DIGEST, aggregateAir, checkAggregateStatement, publicDigits, limbDigits } from "../src/aggregate_air.js";
import { airShape, validateDeclaration } from "../src/protocol.js";
import { sha256, toHex } from "../src/sha256.js";
import * as E from "../src/ext.js";

const A = readJson("web/test/fixtures/aggregate_values.json");

/** tests/web/trace_aggregate.py's statement_json as aggregate_air.js takes it. */
function aggregateStatementOf(d) {
  return {
    context: new Uint8Array(Buffer.from(d.context, "hex")),
    numAssets: d.num_assets,
    commitments: d.commitments,
    batchSizes: d.batch_sizes,
    totals: d.totals.map(BigInt),
    equity: d.equity === null ? null : d.equity.map(BigInt),
  };
}

function periodicDigest(cycle) {
  const bytes = new Uint8Array(4 * cycle.length);
  const view = new DataView(bytes.buffer);
  cycle.forEach((v, i) => view.setUint32(4 * i, Number(v), true));
  return toHex(sha256(bytes));
}

const frameOf = (c) => ({
  k: c.k,
  main: c.frame.main,
  mainNext: c.frame.main_next,
  aux: c.frame.aux,
  auxNext: c.frame.aux_next,
  periodic: c.frame.periodic,
  challenges: c.frame.challenges,
});

test("the fixture covers versions 1 and 2, B = 1 to 2^14, K = 1 to 200, registers on and off", () => {
  const names = new Set(A.cases.map((c) => c.air.name));
  assert.deepEqual([...names].sort(), [
    "solvency-aggregate-v1", "solvency-aggregate-v1-noreg", "solvency-aggregate-v2", "solvency-aggregate-v2-noreg",
  ]);
  const batches = new Set(A.cases.map((c) => c.statement.batch_sizes.length));
  for (const b of [2, 3, 5, 16, 600]) assert.ok(batches.has(b), `B = ${b}`);
  assert.ok(A.cases.some((c) => c.air.shape.trace_len === 1024));
  assert.ok(A.cases.some((c) => c.statement.num_assets === 22));
  assert.ok(A.shapes.some((c) => c.batches === 2 ** 14 && c.num_assets === 200));
});

for (const c of A.cases) {
  test(`AggregateAir: ${c.name}`, () => {
    const air = aggregateAir(aggregateStatementOf(c.statement), { sboxRegisters: c.sbox_registers });
    validateDeclaration(air);
    assert.equal(air.name, c.air.name);
    assert.equal(air.mainWidth, c.air.main_width);
    assert.deepEqual(air.sponge.digestCols, c.air.digest_cols);
    assert.deepEqual(airShape(air), c.air.shape);
    assert.deepEqual(
      air.transitionConstraints().map((t) => [t.degree, t.allRows]),
      c.air.transitions,
    );
    assert.deepEqual(c.air.transitions.map((_, i) => air.constraintName(i)), c.air.constraint_names);
    assert.deepEqual(
      air.boundaryConstraints().map((b) => [b.column, b.row, String(b.value), b.aux]),
      c.air.boundaries,
    );
    assert.deepEqual(
      air.periodicColumns().map((cycle) => ({ length: cycle.length, sha256: periodicDigest(cycle) })),
      c.air.periodic,
    );
    assert.equal(toHex(air.publicInputs()), c.air.public_inputs);
    const values = air.evaluateTransition(frameOf(c));
    assert.equal(values.length, c.values.length);
    values.forEach((v, i) => {
      assert.deepEqual(v, c.values[i], `constraint ${i} (${c.air.constraint_names[i]}) differs`);
    });
  });
}

for (const h of A.honest) {
  test(`honest rows of a Python witness give zeros: ${h.name}`, () => {
    const air = aggregateAir(aggregateStatementOf(h.statement), { sboxRegisters: h.sbox_registers });
    const k = h.challenges[0].length;
    const lift = (row) => row.map((v) => E.fromBase(k, v));
    const periodic = air.periodicColumns();
    for (const r of h.rows) {
      const values = air.evaluateTransition({
        k,
        main: lift(r.main),
        mainNext: lift(r.main_next),
        aux: r.aux,
        auxNext: r.aux_next,
        periodic: periodic.map((cycle) => E.fromBase(k, cycle[r.row % cycle.length])),
        challenges: h.challenges,
      });
      const nonzero = values.map((v, i) => i).filter((i) => !E.isZero(values[i]));
      assert.deepEqual(nonzero.map((i) => air.constraintName(i)), [], `row ${r.row}`);
      // and a limb changed by one on a batch row breaks its sums, its LogUp and its sponge
      if (r.row < 3) {
        const main = lift(r.main);
        main[air.layout.u(0, 0)] = E.addBase(main[air.layout.u(0, 0)], 1);
        const broken = air.evaluateTransition({
          k, main, mainNext: lift(r.main_next), aux: r.aux, auxNext: r.aux_next,
          periodic: periodic.map((cycle) => E.fromBase(k, cycle[r.row % cycle.length])),
          challenges: h.challenges,
        });
        const names = new Set(broken.map((v, i) => i).filter((i) => !E.isZero(broken[i])).map((i) => air.constraintName(i)));
        // (on row 0, asset 0's own row, its running sum closes and the normalisation reads it)
        const sums = r.row === 0 ? "normalisation" : "running sums";
        for (const name of [sums, "range check", "sponge permutation 0"]) assert.ok(names.has(name), `${name}, row ${r.row}`);
      }
    }
  });
}

/** tests/web/trace_aggregate.py's ruled_statement: 2^14 commitments need not be written out. */
function ruledStatement(b, k, equity) {
  const P = 2013265921n;
  const commitments = Array.from({ length: b }, (_, c) =>
    Array.from({ length: DIGEST }, (_, i) => Number((BigInt(8 * c + i) * 2654435761n) % P)),
  );
  const batchSizes = Array.from({ length: b }, (_, c) => 512 * 2 ** (c % 9));
  const n = batchSizes.reduce((a, x) => a + BigInt(x), 0n);
  const offset = n << 63n;
  const maxEquity = n * ((1n << 63n) - 1n);
  const e = Array.from({ length: k }, (_, j) => [0n, maxEquity, maxEquity, 0n][j % 4]);
  const d = Array.from({ length: k }, (_, j) => [offset, 0n, offset - 1n, 0n][j % 4]);
  const totals = equity ? e.map((x, j) => x - d[j]) : Array.from({ length: k }, (_, j) => [-offset, offset, 0n, -1n][j % 4]);
  const context = Uint8Array.from({ length: 100 }, (_, i) => i);
  return { context, numAssets: k, commitments, batchSizes, totals, equity: equity ? e : null };
}

/** [degree, allRows, group name, count] runs of the transition list. */
function constraintRuns(air) {
  const runs = [];
  air.transitionConstraints().forEach((t, i) => {
    const name = air.constraintName(i);
    const last = runs[runs.length - 1];
    if (last && last[0] === t.degree && last[1] === t.allRows && last[2] === name) last[3] += 1;
    else runs.push([t.degree, t.allRows, name, 1]);
  });
  return runs;
}

for (const c of A.shapes) {
  test(`the declaration at the limits: version ${c.version}, B = ${c.batches}, K = ${c.num_assets}, registers ${c.sbox_registers}`, () => {
    const air = aggregateAir(ruledStatement(c.batches, c.num_assets, c.version === 2), { sboxRegisters: c.sbox_registers });
    validateDeclaration(air);
    assert.equal(air.name, c.air.name);
    assert.equal(air.mainWidth, c.air.main_width);
    assert.deepEqual(air.sponge.digestCols, c.air.digest_cols);
    assert.deepEqual(airShape(air), c.air.shape);
    assert.deepEqual(constraintRuns(air), c.air.runs);
    assert.deepEqual(
      air.boundaryConstraints().map((b) => [b.column, b.row, String(b.value), b.aux]),
      c.air.boundaries,
    );
    assert.deepEqual(
      air.periodicColumns().map((cycle) => ({ length: cycle.length, sha256: periodicDigest(cycle) })),
      c.air.periodic,
    );
    assert.equal(toHex(sha256(air.publicInputs())), c.air.public_inputs);
  });
}

test("the statement checks refuse what AggregateStatement refuses, with its message", () => {
  assert.ok(A.refusals.some((r) => r.python === null));
  assert.ok(A.refusals.filter((r) => r.python !== null).length >= 19);
  for (const r of A.refusals) {
    let got = null;
    try {
      checkAggregateStatement(aggregateStatementOf(r.statement));
    } catch (e) {
      assert.equal(e.name, "ValueError", r.label);
      got = e.message;
    }
    assert.equal(got, r.python, r.label);
  }
});

test("statements Python's types refuse: not integers, a context that is not bytes", () => {
  const s = aggregateStatementOf(A.refusals.find((r) => r.python === null).statement);
  const refused = (change) => {
    try {
      checkAggregateStatement({ ...s, ...change });
    } catch (e) {
      return e.message;
    }
    return null;
  };
  const ints = "batch sizes, totals and commitments must be integers";
  assert.equal(refused({ totals: [1.5, s.totals[1]] }), ints);
  assert.equal(refused({ totals: ["1", s.totals[1]] }), ints);
  assert.equal(refused({ batchSizes: [true, ...s.batchSizes.slice(1)] }), ints);
  assert.equal(refused({ commitments: [[0.5, ...s.commitments[0].slice(1)], ...s.commitments.slice(1)] }), ints);
  assert.equal(refused({ equity: [1.5, s.equity[1]] }), "equities must be integers");
  assert.equal(refused({ context: "abc" }), "the context must be at most 65536 bytes");
  assert.equal(refused({ numAssets: 2.5 }), "between 1 and 200 assets are supported");
  assert.equal(refused({ numAssets: true }), "between 1 and 200 assets are supported");
  assert.equal(refused({}), null);
  assert.equal(refused({ totals: s.totals.map(Number) }), null, "exact Numbers are integers");
});

test("public digits: the base-512 digits with the final carry folded into the last", () => {
  assert.deepEqual(limbDigits(0n, 3), [0, 0, 0]);
  assert.deepEqual(limbDigits(511n + 512n * 3n, 2), [511, 3]);
  assert.throws(() => limbDigits(1n << 18n, 2), RangeError);
  assert.throws(() => limbDigits(-1n, 2), RangeError);
  assert.deepEqual(publicDigits((1n << 18n) * 5n + 7n, 2), [7, 5 * 512]);
});

test("a changed frame value changes exactly the constraints that read it", () => {
  const c = A.cases.find((x) => x.statement.equity !== null);
  const air = aggregateAir(aggregateStatementOf(c.statement), { sboxRegisters: c.sbox_registers });
  const frame = frameOf(c);
  const changed = (values) => values.map((v, i) => i).filter((i) => values[i].some((x, d) => x !== c.values[i][d]));
  const main = frame.main.map((v) => v.slice());
  main[air.layout.mult] = E.addBase(main[air.layout.mult], 1);
  assert.deepEqual(changed(air.evaluateTransition({ ...frame, main })).map((i) => air.constraintName(i)), ["range check sum"]);
  const periodic = frame.periodic.slice();
  const commitment0 = 2 + air.k;
  periodic[commitment0] = E.addBase(periodic[commitment0], 1);
  const hit = changed(air.evaluateTransition({ ...frame, periodic }));
  assert.deepEqual(hit, [c.values.length - DIGEST]);
});
