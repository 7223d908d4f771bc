// Times the whole publication check (web/src/check.js checkPublication with the real AIRs of
// solvency_air.js and aggregate_air.js) on a real publication, phase by phase, the same module
// in node and in a browser (benches/bench_web_verify.py drives both and records them).
//
// A run reads every file of the publication into memory ("read files": readFileSync in node,
// fetch from 127.0.0.1 in the browser), then checks it as the page does: checkPublication(files,
// { airs }, progress) with verify()'s onPhase. The run fails unless the verdict is VALID (the
// caller compares the line with Python's `solvency verify`). No cache: every run does all the
// work.
//
// The phases are cut where check.js reports progress and where verify() reports onPhase; a
// phase met several times (once per batch) is the sum of its times:
//
//   read files                        every file of the publication, into memory
//   statement                         readStatement, check_declared (amounts, params, the
//                                     security recomputed from the AIRs' shapes), the floor
//   proof digest                      read each proof.bin, its SHA-256; leaves.bin parsed
//   leaves' root                      the Poseidon2 tree over each batch's leaves
//   batch AIR                         publicationAir for each batch (periodic columns, tables)
//   parse proof ... FRI               verify()'s phases (VERIFY_PHASES) on each batch proof
//   users' root                       the tree over the batch roots
//   aggregation: AIR                  aggregate.bin's SHA-256 and aggregateAir (several batches)
//   aggregation: parse proof ... FRI  verify()'s phases on aggregate.bin
//   verdict                           the verdict line and the --json report
//
// "total" is the wall time from the first read to the verdict, the sum of the phases; `visits`
// counts how many times each phase began (a phase per batch: B; the others: 1).
//
//   node web/tools/bench_verify.mjs DIR [--repeat N]     prints one JSON line
import { checkPublication } from "../src/check.js";
import { VERIFY_PHASES } from "../src/verifier.js";
import { publicationAir, publicationShape } from "../src/solvency_air.js";
import { aggregateAir } from "../src/aggregate_air.js";

export const AIRS = Object.freeze({ batch: publicationAir, batchShape: publicationShape, aggregate: aggregateAir });

const AGGREGATION = "aggregation: ";

/** The phases of a publication of `count` batches, in order (see the table above). */
export function phasesOf(count) {
  const batch = ["read files", "statement", "proof digest", "leaves' root", "batch AIR", ...VERIFY_PHASES, "users' root"];
  if (count === 1) return [...batch, "verdict"];
  return [...batch, `${AGGREGATION}AIR`, ...VERIFY_PHASES.map((p) => AGGREGATION + p), "verdict"];
}

/** check.js's progress text, without its "batch b of B: " prefix, as a phase of phasesOf. */
function progressPhase(text) {
  const phase = text.replace(/^batch \d+ of \d+: /, "");
  if (phase === "STARK proof") return "batch AIR"; // until verify's first onPhase
  if (phase === "aggregation") return `${AGGREGATION}AIR`;
  if (phase === "done") return "verdict";
  return phase;
}

/**
 * One timed check: `names` the publication's files (relative paths), `read(name)` -> Promise of
 * a Uint8Array, `now` a millisecond clock. Returns { times: { phase: ms, total }, visits: {
 * phase: count }, result } (the result of checkPublication); throws unless it is VALID.
 */
export async function checkOnce(names, read, now) {
  const times = {};
  const visits = {};
  let current = null;
  let since = 0;
  let inAggregation = false;
  const enter = (phase) => {
    const t = now();
    if (current !== null) times[current] = (times[current] || 0) + (t - since);
    current = phase;
    since = t;
    if (phase !== null) visits[phase] = (visits[phase] || 0) + 1;
  };
  enter("read files");
  const start = since;
  const contents = new Map();
  for (const name of names) contents.set(name, await read(name));
  const files = { read: async (path) => (contents.has(path) ? contents.get(path) : null) };
  const progress = (fraction, text) => {
    const phase = progressPhase(text);
    if (phase.startsWith(AGGREGATION)) inAggregation = true;
    if (phase !== current) enter(phase);
  };
  const onPhase = (name) => enter(inAggregation ? AGGREGATION + name : name);
  const result = await checkPublication(files, { airs: AIRS, onPhase }, progress);
  enter(null);
  if (result.state !== "valid") throw new Error(`the check did not give VALID: ${result.line} ${result.detail}`);
  times.total = since - start;
  return { times, visits, result };
}

const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * One cold check (the first in this engine: what a page's visitor waits for), then `repeat`
 * timed ones: { phases, repeat, line, visits (of the cold check), cold: { phase: ms }, runs: {
 * phase: [ms per run] }, median: { phase: ms } }; throws if a check's verdict line or visits
 * differ from the first's.
 */
export async function runBench(names, read, repeat, now) {
  const first = await checkOnce(names, read, now);
  const phases = [...phasesOf(first.result.statement.count), "total"];
  const met = Object.keys(first.visits);
  if (met.length !== phases.length - 1 || !met.every((p) => phases.includes(p))) {
    throw new Error(`the check met the phases ${met.join(", ")}`);
  }
  const runs = Object.fromEntries(phases.map((p) => [p, []]));
  for (let r = 0; r < repeat; r++) {
    const { times, visits, result } = await checkOnce(names, read, now);
    if (result.line !== first.result.line) throw new Error("two runs gave different verdict lines");
    if (JSON.stringify(visits) !== JSON.stringify(first.visits)) throw new Error("two runs met other phases");
    for (const p of phases) runs[p].push(times[p] || 0);
  }
  const cold = Object.fromEntries(phases.map((p) => [p, first.times[p] || 0]));
  const medians = Object.fromEntries(phases.map((p) => [p, median(runs[p])]));
  return { phases, repeat, line: first.result.line, visits: first.visits, cold, runs, median: medians };
}

const underNode = typeof process !== "undefined" && process.versions && process.versions.node;
if (underNode && process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const { readFileSync, readdirSync, statSync } = await import("node:fs");
  const { join } = await import("node:path");
  const args = process.argv.slice(2);
  const dir = args[0];
  const at = args.indexOf("--repeat");
  const repeat = at >= 0 ? Number(args[at + 1]) : 5;
  const names = [];
  const walk = (prefix) => {
    for (const entry of readdirSync(join(dir, prefix)).sort()) {
      const name = prefix + entry;
      if (statSync(join(dir, name)).isDirectory()) walk(`${name}/`);
      else names.push(name);
    }
  };
  walk("");
  const read = async (name) => new Uint8Array(readFileSync(join(dir, name)));
  const result = await runBench(names, read, repeat, () => performance.now());
  console.log(JSON.stringify({ engine: `node ${process.version}`, ...result }));
}
