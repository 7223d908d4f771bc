// Attack tool: compares solvency_air.js with Python's SolvencyAir on the random statements of
// web/tools/attack_air_random.py (a JSON file of trace_air.py cases, argument 1; or stdin).
// Prints one JSON line: { cases, values, differences: [...] } (the first differences found).
import { readFileSync } from "node:fs";

import { airOf } from "../test/air_fixture.js";
import { airShape, validateDeclaration } from "../src/protocol.js";
import { sha256, toHex } from "../src/sha256.js";

function periodicDigest(cycle) {
  const bytes = new Uint8Array(4 * cycle.length);
  const view = new DataView(bytes.buffer);
  cycle.forEach((v, i) => view.setUint32(4 * i, Number(v), true));
  return toHex(sha256(bytes));
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export function compare(cases) {
  const differences = [];
  let values = 0;
  const differ = (c, what, js, py) => differences.push({ name: c.name, what, js, py });
  for (const c of cases) {
    let air;
    try {
      air = airOf(c);
      validateDeclaration(air);
    } catch (e) {
      differ(c, "construction", String(e), "ok");
      continue;
    }
    if (air.name !== c.air.name) differ(c, "name", air.name, c.air.name);
    if (air.lookupGroup !== c.lookup_group) differ(c, "lookup group", air.lookupGroup, c.lookup_group);
    if (!same(airShape(air), c.air.shape)) differ(c, "shape", airShape(air), c.air.shape);
    const transitions = air.transitionConstraints().map((t) => [t.degree, t.allRows]);
    if (!same(transitions, c.air.transitions)) differ(c, "transitions", transitions.length, c.air.transitions.length);
    const bounds = air.boundaryConstraints().map((b) => [b.column, b.row, String(b.value), b.aux]);
    if (!same(bounds, c.air.boundaries)) differ(c, "boundaries", bounds, c.air.boundaries);
    const periodic = air.periodicColumns().map((cy) => ({ length: cy.length, sha256: periodicDigest(cy) }));
    if (!same(periodic, c.air.periodic)) differ(c, "periodic", periodic, c.air.periodic);
    const pub = toHex(air.publicInputs());
    if (pub !== c.air.public_inputs) differ(c, "public inputs", pub, c.air.public_inputs);
    const fr = c.frame;
    let out;
    try {
      out = air.evaluateTransition({
        k: c.k, main: fr.main, mainNext: fr.main_next, aux: fr.aux, auxNext: fr.aux_next,
        periodic: fr.periodic, challenges: fr.challenges,
      });
    } catch (e) {
      differ(c, "evaluateTransition", String(e), "ok");
      continue;
    }
    if (out.length !== c.values.length) differ(c, "constraint count", out.length, c.values.length);
    out.forEach((v, i) => {
      values += 1;
      if (!same(v, c.values[i])) differ(c, `constraint ${i} (${c.air.constraint_names[i]})`, v, c.values[i]);
    });
  }
  return { cases: cases.length, values, differences: differences.slice(0, 20), count: differences.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync(process.argv[2] ?? 0, "utf8");
  console.log(JSON.stringify(compare(JSON.parse(text))));
}
