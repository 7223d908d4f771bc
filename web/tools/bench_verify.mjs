// Times the generic JavaScript verifier's phases on one batch of a real publication, the same
// module in node and in a browser (benches/bench_web_verify.py drives both and records them).
//
// Its input is what benches/bench_web_verify.py exports from Python for batch 0: the
// publication's proof.bin and leaves.bin, and `air.json` + `periodic.bin`, the batch AIR's
// declaration (name, shape, transitions, boundaries, public inputs, periodic columns) and the
// values Python's `evaluate_transition` gave at the proof's out-of-domain frame. The solvency
// AIR with leaves is being ported by hand elsewhere; until then `ReplayAir` stands in for it:
// it declares exactly what the Python AIR declares (so the transcript, every challenge and every
// query position are the real ones) and returns Python's constraint values at z (so the
// out-of-domain check passes, and the phase "constraints at z" times only the composition
// around them, not a port). Everything else is the real verifier on the real proof: verify()
// must accept it, the leaves' root must be the statement's, the proof's SHA-256 the statement's.
//
// Phases: "read leaves.bin" (bytes to digests), "leaves' root" (merkle.js treeLevels: 65,535
// Poseidon2 permutations at 65,536 users), "SHA-256 of proof.bin", then verify()'s phases
// (VERIFY_PHASES: parse proof, parameters, transcript start, ...). Times are milliseconds.
//
//   node web/tools/bench_verify.mjs DIR [--repeat N]     prints one JSON line
import { verify, VERIFY_PHASES } from "../src/verifier.js";
import { sha256, toHex } from "../src/sha256.js";
import { treeLevels } from "../src/merkle.js";
import { P } from "../src/field.js";
import { parseElementsHex } from "../src/encoding.js";

export const PHASES = Object.freeze([
  "read leaves.bin", "leaves' root", "SHA-256 of proof.bin", ...VERIFY_PHASES,
]);

/** The batch AIR as Python declares it, with Python's constraint values at the OOD frame. */
export class ReplayAir {
  /** desc: air.json (parsed); periodicWords: periodic.bin as a Uint32Array. */
  constructor(desc, periodicWords) {
    this.name = desc.name;
    this.traceLen = desc.trace_len;
    this.mainWidth = desc.main_width;
    this.auxWidth = desc.aux_width;
    this.numAuxChallenges = desc.num_aux_challenges;
    this.transitions = desc.transitions.map(([degree, allRows]) => ({ degree, allRows: allRows === 1 }));
    this.boundaries = desc.boundaries.map(([column, row, value, aux]) => ({ column, row, value, aux: aux === 1 }));
    this.lookups = desc.lookup_fractions;
    this.inputs = Uint8Array.from(desc.public_inputs_hex.match(/../g) || [], (h) => parseInt(h, 16));
    this.values = desc.constraint_values;
    // plain Arrays, the form solvency_air.js gives today (built once, as Python caches them)
    this.periodic = [];
    let at = 0;
    for (const length of desc.periodic_lengths) {
      this.periodic.push(Array.from(periodicWords.subarray(at, at + length)));
      at += length;
    }
  }

  transitionConstraints() {
    return this.transitions;
  }

  boundaryConstraints() {
    return this.boundaries;
  }

  periodicColumns() {
    return this.periodic;
  }

  publicInputs() {
    return this.inputs;
  }

  lookupFractions() {
    return this.lookups;
  }

  evaluateTransition(frame) {
    return this.values.map((v) => {
      if (v.length !== frame.k) throw new Error("recorded constraint values of another degree");
      return v.slice();
    });
  }
}

/** leaves.bin (little-endian u32, 8 per leaf) as digests (Arrays of 8), every element < p. */
export function leafDigests(bytes) {
  if (bytes.length % 32) throw new Error("leaves.bin is not a whole number of leaves");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array(bytes.length / 32);
  for (let i = 0; i < out.length; i++) {
    const leaf = new Array(8);
    for (let c = 0; c < 8; c++) {
      const v = view.getUint32(32 * i + 4 * c, true);
      if (v >= P) throw new Error(`leaf ${i} holds a value not below p`);
      leaf[c] = v;
    }
    out[i] = leaf;
  }
  return out;
}

/**
 * One timed run over `inputs` = { desc, periodicWords, proofBytes, leavesBytes }; `now` a
 * millisecond clock. Returns { phase: ms }; throws if any check fails.
 */
export function benchOnce(inputs, now) {
  const { desc, proofBytes, leavesBytes } = inputs;
  const times = {};
  let t0 = now();
  const leaves = leafDigests(leavesBytes);
  let t1 = now();
  times["read leaves.bin"] = t1 - t0;
  const levels = treeLevels(leaves);
  t0 = now();
  times["leaves' root"] = t0 - t1;
  const digest = toHex(sha256(proofBytes));
  t1 = now();
  times["SHA-256 of proof.bin"] = t1 - t0;
  const root = levels[levels.length - 1][0];
  if (root.join() !== parseElementsHex(desc.leaves_root, 8).join()) throw new Error("leaves' root differs");
  if (digest !== desc.proof_sha256) throw new Error("proof.bin's SHA-256 differs");

  const air = new ReplayAir(desc, inputs.periodicWords); // the AIR port's work, not timed
  let current = null;
  let since = 0;
  const onPhase = (name) => {
    const t = now();
    if (current !== null) times[current] = t - since;
    current = name;
    since = now();
  };
  verify(air, proofBytes, { acceptedParams: [desc.params], minBits: 0, onPhase });
  times[current] = now() - since;
  times.total = PHASES.reduce((a, p) => a + times[p], 0);
  return times;
}

/** `repeat` runs after one warm-up: { phases, runs: { phase: [ms per run] }, median: {...} }. */
export function runBench(inputs, repeat, now) {
  benchOnce(inputs, now); // warm-up: compile the hot paths
  const names = [...PHASES, "total"];
  const runs = Object.fromEntries(names.map((p) => [p, []]));
  for (let r = 0; r < repeat; r++) {
    const times = benchOnce(inputs, now);
    for (const p of names) runs[p].push(times[p]);
  }
  const median = {};
  for (const p of names) {
    const s = runs[p].slice().sort((a, b) => a - b);
    median[p] = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
  return { phases: names, repeat, runs, median };
}

/** The four exported files of DIR, read by `read(name)` -> Uint8Array. */
export async function loadInputs(read) {
  const text = new TextDecoder().decode(await read("air.json"));
  const periodic = await read("periodic.bin");
  return {
    desc: JSON.parse(text),
    periodicWords: new Uint32Array(periodic.buffer, periodic.byteOffset, periodic.byteLength / 4),
    proofBytes: await read("proof.bin"),
    leavesBytes: await read("leaves.bin"),
  };
}

const underNode = typeof process !== "undefined" && process.versions && process.versions.node;
if (underNode && process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const { readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const args = process.argv.slice(2);
  const dir = args[0];
  const at = args.indexOf("--repeat");
  const repeat = at >= 0 ? Number(args[at + 1]) : 5;
  const inputs = await loadInputs(async (name) => {
    const b = readFileSync(join(dir, name));
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice(); // aligned copy
  });
  const result = runBench(inputs, repeat, () => performance.now());
  console.log(JSON.stringify({ engine: `node ${process.version}`, ...result }));
}
