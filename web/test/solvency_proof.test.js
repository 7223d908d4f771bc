// Real proofs of the solvency AIR verified in JS with verifier.js and the hand port
// solvency_air.js: every batch proof of the four golden publications (tests/golden: leaves,
// hidden totals, formats 1 and 2) with publicationAir, and two small proofs without leaves
// (formats 1 and 2, n = 512, the fast preset); the same proofs against mutated statements and
// AIRs refused with Python's reason (web/test/fixtures/solvency_proofs.json,
// web/tools/export_solvency_proofs.py); and a port drifting in one constraint refused.
import { test } from "node:test";
import assert from "node:assert/strict";

import { read, readJson } from "./helpers.js";
import { statementOf } from "./air_fixture.js";
import {
  SolvencyAir, publicationAir, publicationShape, batchStatement, LEAF_WIDTH, LEAF_REGISTERS,
} from "../src/solvency_air.js";
import { verify } from "../src/verifier.js";
import { VerificationError } from "../src/proof.js";
import { readStatement } from "../src/statement.js";
import { loadJsonStrict } from "../src/json.js";
import { presetOfJson } from "../src/params.js";
import { parseElementsHex } from "../src/encoding.js";
import { airShape } from "../src/protocol.js";
import { P } from "../src/field.js";
import { weakestSecurity, securityBlock } from "../src/security.js";

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

// -- the golden publications ---------------------------------------------------------------------
const OOD_FAILED = "out-of-domain check failed: constraints do not match the quotient";
const GOLDEN = [
  "publication-1/one-batch", "publication-1/three-batches", "publication-2/one-batch", "publication-2/three-batches",
];

/** A golden publication as a page reads it: statement.js's statement, the preset's parameters,
 * and per batch its leaves (Uint32Array), commitment (8 Numbers or null) and proof bytes. */
function golden(name) {
  const dir = `tests/golden/${name}/`;
  const text = read(dir + "statement.json");
  const statement = readStatement(text);
  const json = loadJsonStrict(text, 1 << 24, "statement");
  const batches = json.get("batches").map((record, b) => {
    const where = `${dir}batches/b${String(b).padStart(5, "0")}/`;
    const raw = read(where + "leaves.bin");
    return {
      leaves: new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)),
      commitment: statement.count > 1 ? parseElementsHex(record.get("commitment"), 8) : null,
      proof: new Uint8Array(read(where + "proof.bin")),
    };
  });
  return { statement, params: presetOfJson(json.get("params")).params, batches };
}

const PUBLICATIONS = new Map(GOLDEN.map((name) => [name, golden(name)]));
/** check_batch's call: verify(air, proof, accepted_params=[s.params], min_bits=100.0). */
const policyOf = (pub, minBits = 100.0) => ({ acceptedParams: [pub.params], minBits, regime: "provable" });

test("every batch proof of the four golden publications verifies with publicationAir", (t) => {
  let proofs = 0;
  for (const [name, pub] of PUBLICATIONS) {
    pub.batches.forEach((batch, b) => {
      let start = performance.now();
      const statement = batchStatement(pub.statement, b);
      const air = publicationAir(statement, batch.leaves, batch.commitment);
      const built = performance.now() - start;
      assert.deepEqual(publicationShape(statement), airShape(air), `${name} batch ${b}`);
      start = performance.now();
      assert.equal(outcome(air, batch.proof, policyOf(pub)), null, `${name} batch ${b}`);
      t.diagnostic(`${name} batch ${b}: ${air.name}, AIR built in ${built.toFixed(2)} ms, verified in ${(performance.now() - start).toFixed(0)} ms`);
      proofs += 1;
    });
  }
  assert.equal(proofs, 8);
});

/** The AIR a fixture change describes (export_solvency_proofs.py's golden_air). */
function goldenAir(pub, b, change) {
  const s = { ...batchStatement(pub.statement, change.statement_batch ?? b) };
  for (const [field, key] of [["totals", "total_add"], ["equity", "equity_add"]]) {
    if (change[key] && s[field] !== null) {
      const values = [...s[field]];
      const j = change[key][0] < 0 ? values.length + change[key][0] : change[key][0];
      values[j] += BigInt(change[key][1]);
      s[field] = values;
    }
  }
  const leaves = pub.batches[change.leaves_from ?? b].leaves.slice();
  if (change.leaf_add) {
    const [row, e] = change.leaf_add;
    leaves[8 * row + e] = (leaves[8 * row + e] + 1) % P;
  }
  if (change.leaves_swap) {
    const [r0, r1] = change.leaves_swap;
    const first = leaves.slice(8 * r0, 8 * r0 + 8);
    leaves.copyWithin(8 * r0, 8 * r1, 8 * r1 + 8);
    leaves.set(first, 8 * r1);
  }
  let commitment = pub.batches[change.commitment_from ?? b].commitment;
  if (commitment !== null) {
    commitment = commitment.slice();
    if (change.commitment_add !== undefined) commitment[change.commitment_add] = (commitment[change.commitment_add] + 1) % P;
  }
  return new SolvencyAir(s, {
    leaves: change.no_leaves ? null : leaves,
    leafWidth: change.leaf_width ?? LEAF_WIDTH,
    sboxRegisters: change.sbox_registers ?? LEAF_REGISTERS,
    totalsCommitment: commitment,
  });
}

for (const g of F.golden) {
  test(`golden ${g.publication} batch ${g.batch}: ${g.cases.length - 1} changed leaves, commitments, places and AIRs get Python's verdict`, () => {
    const pub = PUBLICATIONS.get(g.publication);
    const proof = pub.batches[g.batch].proof;
    assert.equal(g.cases.filter((c) => c.python === null).length, 1);
    for (const c of g.cases) {
      assert.equal(outcome(goldenAir(pub, g.batch, c.change), proof, policyOf(pub, g.min_bits)), c.python, c.label);
    }
  });
}

test("a port drifting in one leaf, commitment or hidden-totals constraint fails a golden proof's out-of-domain check", () => {
  for (const name of ["publication-1/three-batches", "publication-2/three-batches", "publication-2/one-batch"]) {
    const pub = PUBLICATIONS.get(name);
    const batch = pub.batches[0];
    const air = publicationAir(batchStatement(pub.statement, 0), batch.leaves, batch.commitment);
    const names = air.transitionConstraints().map((_, i) => air.constraintName(i));
    const groups = ["leaf hash", "leaf is published", "totals", "range check", "range check sum", "user value"];
    if (pub.statement.count > 1) groups.push("totals commitment hash", "totals commitment sponge");
    if (pub.statement.equity !== null) groups.push("equity totals");
    for (const group of groups) {
      const first = names.indexOf(group);
      const last = names.lastIndexOf(group);
      assert.ok(first >= 0, `${name}: ${group}`);
      for (const i of new Set([first, last])) {
        const drifted = Object.create(air);
        drifted.evaluateTransition = (f) => {
          const out = air.evaluateTransition(f);
          out[i] = out[i].map((v, d) => (d === 1 ? (v + 1) % P : v));
          return out;
        };
        assert.equal(outcome(drifted, batch.proof, policyOf(pub)), OOD_FAILED, `${name}: ${group} #${i}`);
      }
    }
  }
});

test("publicationShape gives the batch shapes Python's weakest_security takes (security_values.json), and one-batch blocks", () => {
  const V = readJson("web/test/fixtures/security_values.json");
  for (const g of V.golden_statements) {
    const name = g.file.replace(/^tests\/golden\//, "").replace(/\/statement\.json$/, "");
    const pub = PUBLICATIONS.get(name);
    const shapes = new Map();
    pub.batches.forEach((_, b) => {
      const shape = publicationShape(batchStatement(pub.statement, b));
      shapes.set(JSON.stringify(shape), shape);
    });
    const python = g.shapes.filter((shape) => shape.name.startsWith("solvency-v"));
    assert.deepEqual([...shapes.values()], python, name);
    if (pub.statement.count === 1) assert.deepEqual(securityBlock(weakestSecurity(g.params, [...shapes.values()])), g.block, name);
  }
});

test("the commitment's boundary constraints are checked: a port that drifts in one (the transcript unchanged but for it) refuses the golden proof", () => {
  const pub = PUBLICATIONS.get("publication-2/three-batches");
  const batch = pub.batches[1];
  const air = publicationAir(batchStatement(pub.statement, 1), batch.leaves, batch.commitment);
  const bounds = air.boundaryConstraints();
  const outputs = air.layout.totalsGadget.outputCols;
  const i = bounds.findIndex((b) => b.column === outputs[4] && !b.aux);
  assert.equal(bounds[i].value, batch.commitment[4]);
  const drifted = Object.create(air);
  drifted.boundaryConstraints = () => bounds.map((b, j) => (j === i ? { ...b, value: (b.value + 1) % P } : b));
  assert.notEqual(outcome(drifted, batch.proof, policyOf(pub)), null);
  assert.equal(outcome(air, batch.proof, policyOf(pub)), null);
});
