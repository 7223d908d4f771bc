// The golden aggregation proofs (tests/golden/publication-{1,2}/three-batches/aggregate.bin)
// verified in JS with verifier.js and the hand port aggregate_air.js, against the statement
// built from statement.json, under check_publication's policy; changed statements and other
// policies get Python's verdict and reason word for word, as do three small proofs made by the
// Python prover (B = 2, 5 and 16, registers on and off) (web/test/fixtures/aggregate_proofs.json,
// web/tools/export_aggregate_proofs.py); a port drifting in one constraint fails the proofs.
import { test } from "node:test";
import assert from "node:assert/strict";

import { read, readJson } from "./helpers.js";
import { aggregateAir, checkAggregateStatement } from "../src/aggregate_air.js";
import { verify } from "../src/verifier.js";
import { Matrix, VerificationError, parseProof } from "../src/proof.js";
import { sha256, toHex, fromHex } from "../src/sha256.js";
import { parseElementsHex } from "../src/encoding.js";

const F = readJson("web/test/fixtures/aggregate_proofs.json");

/** tests/web/trace_aggregate.py's statement_json as aggregate_air.js takes it. */
function aggregateStatementOf(d) {
  return {
    context: fromHex(d.context),
    numAssets: d.num_assets,
    commitments: d.commitments,
    batchSizes: d.batch_sizes,
    totals: d.totals.map(BigInt),
    equity: d.equity === null ? null : d.equity.map(BigInt),
  };
}

/** The statement as solvency/publication/statement.py's aggregate_statement() builds it from
 * statement.json (a test's own reading, no checks: check.js is the publication's reader). */
function aggregateStatementFromJson(doc) {
  const utf8 = (text) => new TextEncoder().encode(text);
  const u32 = (n) => new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]);
  const digests = doc.batches.map((b) => fromHex(b.proof_sha256));
  const parts = [
    utf8("stark-solvency-aggregate/1"), utf8(doc.issuer), utf8(doc.as_of), fromHex(doc.snapshot),
    u32(digests.length), sha256(...digests),
  ];
  const context = parts.flatMap((p) => [...u32(p.length), ...p]);
  const format2 = doc.format === "stark-solvency-publication/2";
  return {
    context: new Uint8Array(context),
    numAssets: doc.assets.length,
    commitments: doc.batches.map((b) => [...parseElementsHex(b.commitment, 8)].map(Number)),
    batchSizes: doc.batches.map((b) => b.users_padded),
    totals: doc.assets.map((a) => BigInt(a.total_base_units)),
    equity: format2 ? doc.assets.map((a) => BigInt(a.equity_base_units)) : null,
  };
}

function outcome(air, data, policy) {
  try {
    verify(air, data, policy);
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    return e.reason;
  }
  return null;
}

/** { refused: message } if the statement checks refuse it, else { python: verdict }. */
function verdict(statement, data, policy, sboxRegisters = false) {
  try {
    checkAggregateStatement(statement);
  } catch (e) {
    return { refused: e.message };
  }
  return { python: outcome(aggregateAir(statement, { sboxRegisters }), data, policy) };
}

const expected = (c) => ("refused" in c ? { refused: c.refused } : { python: c.python });

for (const p of F.publications) {
  const data = new Uint8Array(read(`${p.directory}/aggregate.bin`));

  test(`${p.directory}: the aggregation proof verifies for statement.json's statement`, () => {
    assert.equal(toHex(sha256(data)), p.aggregate_sha256, "aggregate.bin changed: rerun the exporter");
    const doc = JSON.parse(read(`${p.directory}/statement.json`).toString("utf8"));
    const fromJson = aggregateStatementFromJson(doc);
    assert.deepEqual(fromJson, aggregateStatementOf(p.statement), "Python's aggregate_statement()");
    assert.equal(doc.aggregate.proof_sha256, p.aggregate_sha256);
    const start = performance.now();
    assert.equal(outcome(aggregateAir(fromJson), data, p.policy), null);
    const ms = performance.now() - start;
    assert.ok(ms < 5000, `${ms.toFixed(0)} ms`);
  });

  test(`${p.directory}: ${p.cases.length} changed statements get Python's verdicts`, () => {
    assert.ok(p.cases.filter((c) => c.python === null).length === 1);
    assert.ok(p.cases.some((c) => "refused" in c));
    for (const c of p.cases) {
      const got = verdict(aggregateStatementOf(c.statement), data, p.policy, c.sbox_registers === true);
      assert.deepEqual(got, expected(c), c.label);
    }
  });

  test(`${p.directory}: ${p.policies.length} policies get Python's verdicts`, () => {
    const statement = aggregateStatementOf(p.statement);
    for (const c of p.policies) {
      assert.deepEqual(verdict(statement, data, c.policy), expected(c), c.label);
    }
  });
}

for (const m of F.made) {
  test(`a proof of the Python prover (${m.name}, the fast preset) and ${m.cases.length - 1} changes: Python's verdicts`, () => {
    const data = fromHex(m.hex);
    assert.equal(m.cases.filter((c) => c.python === null).length, 1);
    for (const c of m.cases) {
      const got = verdict(aggregateStatementOf(c.statement), data, m.policy, c.sbox_registers);
      assert.deepEqual(got, expected(c), c.label);
    }
  });

  test(`${m.name}: ${m.damaged.length} damaged copies get Python's reasons`, () => {
    const honest = m.cases.find((c) => c.python === null);
    const air = aggregateAir(aggregateStatementOf(honest.statement), { sboxRegisters: honest.sbox_registers });
    const bytes = fromHex(m.hex);
    for (const c of m.damaged) {
      let copy;
      if (c.offset !== undefined) {
        copy = bytes.slice();
        copy[c.offset] ^= 0x5a;
      } else {
        // "ood_trace_z[column] + 1": coordinate 0 of that column's out-of-domain value
        const [, where, column] = /^(ood_trace_g?z)\[(\d+)\] \+ 1$/.exec(c.label);
        copy = parseProof(bytes);
        const matrix = copy[where === "ood_trace_z" ? "oodTraceZ" : "oodTraceGz"];
        const data = matrix.data.slice();
        data[Number(column) * matrix.cols] = (data[Number(column) * matrix.cols] + 1) % 2013265921;
        copy[where === "ood_trace_z" ? "oodTraceZ" : "oodTraceGz"] = new Matrix(matrix.rows, matrix.cols, data);
      }
      assert.equal(outcome(air, copy, m.policy), c.python, c.label);
    }
  });
}

test("a port that differs in one constraint fails the out-of-domain check of the golden proofs", () => {
  for (const p of F.publications) {
    const data = new Uint8Array(read(`${p.directory}/aggregate.bin`));
    const air = aggregateAir(aggregateStatementOf(p.statement));
    const names = air.transitionConstraints().map((_, i) => air.constraintName(i));
    const groups = [
      "padding limbs are zero", "running sums", "normalisation", "range check", "range check sum",
      "sponge permutation 0", `sponge permutation ${air.k}`, "commitment",
    ];
    if (air.equity) groups.push("equity running sums", "equity normalisation");
    for (const name of groups) {
      const i = names.lastIndexOf(name);
      assert.ok(i >= 0, name);
      const drifted = Object.create(air);
      drifted.evaluateTransition = (f) => {
        const out = air.evaluateTransition(f);
        out[i] = out[i].map((v, d) => (d === 0 ? (v + 1) % 2013265921 : v));
        return out;
      };
      assert.equal(
        outcome(drifted, data, p.policy),
        "out-of-domain check failed: constraints do not match the quotient",
        `${p.directory}: ${name}`,
      );
    }
  }
});
