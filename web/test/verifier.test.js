// verifier.js (with protocol.js, fri.js and examples.js's FibonacciAir) against
// web/test/fixtures/verifier_values.json, which web/tools/export_verifier_values.py computes
// with stark/verifier.py: the same verdict and reason on the example proofs, on other AIRs
// and policies, and on every damaged copy.
import { test } from "node:test";
import assert from "node:assert/strict";

import { readJson } from "./helpers.js";
import { STARK } from "./stark_fixture.js";
import { verify, VERIFY_PHASES } from "../src/verifier.js";
import { FibonacciAir, MimcAir, RangeCheckAir } from "../src/examples.js";
import { VerificationError } from "../src/proof.js";

const V = readJson("web/test/fixtures/verifier_values.json");
const bytesOf = (name) => new Uint8Array(Buffer.from(V.proofs[name].hex, "hex"));

function airOf(d) {
  if (d.kind === "fibonacci") return new FibonacciAir(d.trace_len, d.result);
  if (d.kind === "mimc") return new MimcAir(d.trace_len, d.seed, d.output);
  return new RangeCheckAir(d.trace_len, d.bits);
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

function mutate(data, m) {
  if (m.kind === "xor") {
    const out = data.slice();
    out[m.pos] ^= m.value;
    return out;
  }
  if (m.kind === "set") {
    const out = data.slice();
    out[m.pos] = m.value;
    return out;
  }
  if (m.kind === "truncate") return data.slice(0, m.pos);
  const extra = Buffer.from(m.value, "hex");
  const out = new Uint8Array(data.length + extra.length);
  out.set(data);
  out.set(extra, data.length);
  return out;
}

test("the example proofs (Fibonacci: export_stark_values.py's; MiMC; range check) verify", () => {
  assert.equal(Object.keys(V.proofs).length, 7);
  for (const [name, p] of Object.entries(V.proofs)) {
    if (p.air.kind === "fibonacci") assert.equal(p.hex, STARK.example_proofs[name]);
    const air = airOf(p.air);
    assert.equal(outcome(air, bytesOf(name), { acceptedParams: [p.params] }), null);
    assert.equal(outcome(air, bytesOf(name).buffer, { minBits: 0 }), null);
  }
});

test("other AIRs, accepted parameters and security floors: Python's verdicts", () => {
  for (const h of V.honest) {
    const air = airOf(h.air);
    const policy = { regime: h.regime };
    if (h.accepted_params !== null) policy.acceptedParams = h.accepted_params;
    if (h.min_bits !== null) policy.minBits = h.min_bits;
    assert.equal(outcome(air, bytesOf(h.proof), policy), h.python, `${h.proof}: ${h.label}`);
  }
  assert.ok(V.honest.some((h) => h.python && h.python.startsWith("out-of-domain check failed")));
  assert.throws(() => verify(new FibonacciAir(64, 1), new Uint8Array(0)), TypeError);
});

test("damaged proofs: the same verdict and reason as Python, under both policies", () => {
  const counts = { refused: 0, accepted: 0 };
  const reasons = new Set();
  for (const m of V.mutations) {
    const p = V.proofs[m.proof];
    const air = airOf(p.air);
    const data = mutate(bytesOf(m.proof), m);
    const where = `${m.proof} ${m.kind} at ${m.pos} (${m.value})`;
    assert.equal(outcome(air, data, { acceptedParams: [p.params] }), m.accepted, `${where}, accepted`);
    assert.equal(outcome(air, data, { minBits: 0 }), m.min_bits, `${where}, min_bits`);
    for (const r of [m.accepted, m.min_bits]) {
      if (r === null) counts.accepted++;
      else {
        counts.refused++;
        reasons.add(r.replace(/\d+/g, "N"));
      }
    }
  }
  assert.ok(V.mutations.length > 7000);
  assert.ok(reasons.size > 30, [...reasons].join("\n"));
});

test("proofs of false statements (self-checks off, a patched FRI): Python's reasons", () => {
  const reasons = new Set();
  for (const c of V.cheats) {
    const data = new Uint8Array(Buffer.from(c.hex, "hex"));
    const got = outcome(airOf(c.air), data, { minBits: 0 });
    assert.equal(got, c.python, JSON.stringify(c.air));
    assert.equal(outcome(airOf(c.air), data, { acceptedParams: [c.params] }), c.python);
    reasons.add(got);
  }
  assert.deepEqual([...reasons].sort(), [
    "FRI layer 0: value disagrees with the layer before",
    "FRI layer 1: value disagrees with the layer before",
    "FRI remainder disagrees with the last layer",
    "out-of-domain check failed: constraints do not match the quotient",
  ]);
});

test("onPhase hears VERIFY_PHASES in order on an honest proof, up to the failing phase otherwise", () => {
  const [name, p] = Object.entries(V.proofs)[0];
  const heard = [];
  verify(airOf(p.air), bytesOf(name), { acceptedParams: [p.params], onPhase: (ph) => heard.push(ph) });
  assert.deepEqual(heard, VERIFY_PHASES);
  const damaged = bytesOf(name);
  damaged[0] ^= 1; // the magic: refused while parsing
  heard.length = 0;
  const reason = outcome(airOf(p.air), damaged, { minBits: 0, onPhase: (ph) => heard.push(ph) });
  assert.equal(reason, "malformed proof: wrong magic tag");
  assert.deepEqual(heard, ["parse proof"]);
});
