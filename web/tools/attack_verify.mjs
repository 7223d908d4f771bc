// Attack tool: the JS verdict on proofs a cheating prover made (tests/web/test_attack_proofs.py).
// Reads a JSON file (argv[2]): { cases: [{ statement (trace_air.py's statement_json), options
// (trace_air.py's case options: leaves_hex, leaf_width, sbox_registers, commitment), proof_hex,
// params, min_bits?, zero_groups? }] }; for each case writes { real, weakened }: the verifier's
// reason (null: accepted) with solvency_air.js's AIR, and with the same AIR whose constraint
// groups named in zero_groups evaluate to 0 (the check a cheating prover wants gone; null if
// zero_groups is absent).
import { readFileSync } from "node:fs";

import { airOf } from "../test/air_fixture.js";
import { verify } from "../src/verifier.js";
import { VerificationError } from "../src/proof.js";

function reason(air, proof, policy) {
  try {
    verify(air, proof, policy);
  } catch (e) {
    if (e instanceof VerificationError) return e.reason;
    return `THROWN ${e && e.name}: ${e && e.message}`;
  }
  return null;
}

/** The AIR with the constraints of some groups evaluating to zero (same declaration). */
export function weakened(air, groups) {
  const names = air.transitionConstraints().map((_, i) => air.constraintName(i));
  const liar = Object.create(air);
  liar.evaluateTransition = (frame) =>
    air.evaluateTransition(frame).map((v, i) => (groups.includes(names[i]) ? v.map(() => 0) : v));
  return liar;
}

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = input.cases.map((c) => {
  const proof = new Uint8Array(Buffer.from(c.proof_hex, "hex"));
  const policy = { acceptedParams: [c.params], minBits: c.min_bits ?? null };
  const air = airOf({ statement: c.statement, options: c.options });
  return {
    real: reason(air, proof, policy),
    weakened: c.zero_groups ? reason(weakened(air, c.zero_groups), proof, policy) : null,
  };
});
process.stdout.write(JSON.stringify(out));
