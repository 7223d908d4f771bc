// Attacks on the JS verifier by a cheating exchange that rewrites a golden batch proof
// (tests/golden/publication-2/three-batches, batch 0: format 2, hidden totals, leaves, the
// proven preset): structured forgeries of web/tools/attack_proof_bytes.mjs (weaker parameter
// blocks, another batch's openings, nonces and FRI layers, OOD rows swapped, the remainder's
// degree bound moved, opened rows reordered or repeated, a surplus sibling, the zk codeword
// dropped). Each gets Python's reason word for word (stark/verifier.py on the same bytes,
// recorded below) under check_batch's policy (the statement's parameters, 100 provable bits)
// and under a policy of 100 provable bits alone. The attacks fail; these are regressions.
// Controls: the forgery tool writes the honest proof back byte for byte and it verifies; a
// forged parameter block that the policy is told to accept is refused later, by the transcript.
import { test } from "node:test";
import assert from "node:assert/strict";

import { read } from "./helpers.js";
import { forgeries, goldenProof, serialize, GOLDEN_BATCH } from "../tools/attack_proof_bytes.mjs";
import { publicationAir, batchStatement } from "../src/solvency_air.js";
import { verify } from "../src/verifier.js";
import { VerificationError, parseProof } from "../src/proof.js";
import { readStatement } from "../src/statement.js";
import { loadJsonStrict } from "../src/json.js";
import { presetOfJson, PRESETS } from "../src/params.js";
import { parseElementsHex } from "../src/encoding.js";

// stark/verifier.py's reasons on the same bytes: [check_batch's policy, min_bits=100.0 alone]
const PYTHON = {
  "aux-nonce-changed": ["proof-of-work nonce is invalid", "proof-of-work nonce is invalid"],
  "fri-layer-added": ["wrong number of FRI layers", "wrong number of FRI layers"],
  "fri-layer-dropped": ["wrong number of FRI layers", "wrong number of FRI layers"],
  "fri-surplus-sibling": ["FRI layer 0: Merkle opening does not match the root", "FRI layer 0: Merkle opening does not match the root"],
  "main-row-duplicated": ["main trace opening does not match its Merkle root", "main trace opening does not match its Merkle root"],
  "main-rows-swapped": ["main trace opening does not match its Merkle root", "main trace opening does not match its Merkle root"],
  "ood-z-gz-swapped": ["proof-of-work nonce is invalid", "proof-of-work nonce is invalid"],
  "params-99-queries": ["the proof's parameters are not among the accepted ones", "FRI remainder: expected 90 values of degree 5"],
  "params-fast": ["the proof's parameters are not among the accepted ones", "proof parameters give 45.3 provable bits, below the required 100.0"],
  "params-no-grinding": ["the proof's parameters are not among the accepted ones", "proof parameters give 87.7 provable bits, below the required 100.0"],
  "params-no-zk": ["the proof's parameters are not among the accepted ones", "quotient values at z: expected 6 values of degree 5"],
  "pow-nonce-of-batch-1": ["proof-of-work nonce is invalid", "proof-of-work nonce is invalid"],
  "quotient-without-random-codeword": ["quotient opening has the wrong shape", "quotient opening has the wrong shape"],
  "remainder-long": ["FRI remainder: expected 91 values of degree 5", "FRI remainder: expected 91 values of degree 5"],
  "remainder-short": ["FRI remainder: expected 91 values of degree 5", "FRI remainder: expected 91 values of degree 5"],
  "spliced-fri-layer": ["proof-of-work nonce is invalid", "proof-of-work nonce is invalid"],
  "spliced-quotient-opening": ["quotient opening has the wrong shape", "quotient opening has the wrong shape"],
};

const dir = "tests/golden/publication-2/three-batches/";
const text = read(dir + "statement.json");
const statement = readStatement(text);
const json = loadJsonStrict(text, 1 << 24, "statement");
const params = presetOfJson(json.get("params")).params;
const raw = read(GOLDEN_BATCH + "b00000/leaves.bin");
const leaves = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
const commitment = parseElementsHex(json.get("batches")[0].get("commitment"), 8);
const air = publicationAir(batchStatement(statement, 0), leaves, commitment);
const BATCH = { acceptedParams: [params], minBits: 100.0 };
const BITS = { minBits: 100.0 };

function outcome(bytes, policy) {
  try {
    verify(air, bytes, policy);
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    return e.reason;
  }
  return null;
}

test("control: the forgery tool writes the golden proof back byte for byte, and it verifies under both policies", () => {
  const bytes = goldenProof(0);
  assert.deepEqual(serialize(parseProof(bytes)), bytes);
  assert.equal(outcome(bytes, BATCH), null);
  assert.equal(outcome(bytes, BITS), null);
});

test("structured forgeries of a golden batch proof get Python's reason under both policies", () => {
  const forged = forgeries();
  assert.deepEqual(forged.map(([name]) => name).sort(), Object.keys(PYTHON).sort());
  for (const [name, bytes, what] of forged) {
    assert.deepEqual([outcome(bytes, BATCH), outcome(bytes, BITS)], PYTHON[name], `${name}: ${what}`);
  }
});

test("control: a weaker parameter block the policy is told to accept is refused by the transcript, not the policy", () => {
  const [, bytes] = forgeries().find(([name]) => name === "params-fast");
  const fast = { ...PRESETS.get("fast") };
  // Python: the same reason (the fast preset grinds 8 bits before the aux challenges)
  assert.equal(outcome(bytes, { acceptedParams: [params, fast] }), "proof-of-work nonce before the aux challenges is invalid");
});
