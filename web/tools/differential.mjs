// The JavaScript side of tests/web/test_inclusion_differential.py: one process for every case.
// Reads a JSON document {statements: {key: base64}, cases: [{inclusion: base64, statement: key,
// user: string | null}]} from the file named by argv[2]; writes [{exit, core, notes}] (one per
// case, in order) as JSON to stdout. A case that throws is reported as {exit: "throw", core}.
import { readFileSync } from "node:fs";
import { checkInclusion } from "../src/inclusion.js";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
const statements = Object.fromEntries(Object.entries(input.statements).map(([k, v]) => [k, bytes(v)]));
const out = input.cases.map((c) => {
  try {
    const r = checkInclusion(bytes(c.inclusion), statements[c.statement], c.user);
    return { exit: r.exit, core: r.core, notes: r.notes };
  } catch (e) {
    return { exit: "throw", core: String(e && e.stack), notes: [] };
  }
});
process.stdout.write(JSON.stringify(out));
