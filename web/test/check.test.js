// The publication check (web/src/check.js, web/src/verdict.js) against `solvency verify DIR
// --json` on the corpus of web/test/fixtures/publication_cases.json
// (web/tools/export_publication_cases.py): the four golden publications and their seeded
// mutations, each under three policies. Every run must give Python's exit code, verdict line,
// detail line, warnings and --json report (without `seconds`; with statement_sha256, the
// SHA-256 of statement.json, on a VALID report).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";

import { ROOT, readJson } from "./helpers.js";
import { checkPublication } from "../src/check.js";
import { readStatement } from "../src/statement.js";
import { publicationAir, publicationShape } from "../src/solvency_air.js";
import { aggregateAir } from "../src/aggregate_air.js";
import { airShape } from "../src/protocol.js";
import { pyJsonText, formatG } from "../src/verdict.js";
import { pyFloatRepr } from "../src/pytext.js";
import { formatFixed } from "../src/security.js";

const F = readJson("web/test/fixtures/publication_cases.json");

/** Every file of a golden publication: relative path -> bytes. */
function loadBase(name) {
  const folder = `${ROOT}tests/golden/${name}`;
  const files = new Map();
  const walk = (dir, prefix) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = `${dir}/${entry}`;
      if (statSync(path).isDirectory()) walk(path, `${prefix}${entry}/`);
      else files.set(`${prefix}${entry}`, new Uint8Array(readFileSync(path)));
    }
  };
  walk(folder, "");
  return files;
}

const bytesOfHex = (hex) => new Uint8Array(Buffer.from(hex, "hex"));
const concat = (...parts) => new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));

/** export_publication_cases.apply_op. */
function applyOp(files, op) {
  const data = files.get(op.path);
  if (op.op === "delete") files.delete(op.path);
  else if (op.op === "copy") files.set(op.path, files.get(op.from));
  else if (op.op === "truncate") files.set(op.path, data.slice(0, op.length));
  else if (op.op === "append") files.set(op.path, concat(data, bytesOfHex(op.hex)));
  else if (op.op === "xor") {
    const out = data.slice();
    out[op.at] ^= op.mask;
    files.set(op.path, out);
  } else if (op.op === "u32") {
    const out = data.slice();
    new DataView(out.buffer).setUint32(op.at, op.value, true);
    files.set(op.path, out);
  } else throw new Error(`unknown op ${op.op}`);
}

/** A case's files, made from its base as the exporter made them. */
function filesOf(c, bases) {
  const files = new Map(bases.get(c.base));
  if (c.statement) {
    const base = files.get("statement.json");
    const { at, cut, hex } = c.statement;
    files.set("statement.json", concat(base.subarray(0, at), bytesOfHex(hex), base.subarray(at + cut)));
  }
  for (const op of c.ops || []) applyOp(files, op);
  return { read: async (path) => (files.has(path) ? files.get(path) : null) };
}

/** Factories that must not be called: the run is decided before any AIR is needed. */
const NO_AIRS = {
  batch: () => {
    throw new Error("a batch AIR was built for a run Python decided without one");
  },
  aggregate: () => {
    throw new Error("the aggregation AIR was built for a run Python decided without one");
  },
};

/**
 * The real AIR factories (solvency_air.js, aggregate_air.js), checking on the way that every
 * shape the security figures take is one Python's weakest_security used for this run.
 */
function realAirs(run) {
  const recorded = run.shapes.map((i) => JSON.stringify(F.shapes[i]));
  const known = (shape) => {
    assert.ok(recorded.includes(JSON.stringify(shape)), `a shape Python did not use: ${JSON.stringify(shape)}`);
    return shape;
  };
  return {
    batch: publicationAir,
    batchShape: (statement) => known(publicationShape(statement)),
    aggregate: (statement) => {
      const air = aggregateAir(statement);
      if (run.stage === "shapes") known(airShape(air));
      return air;
    },
  };
}

/** Python's outcome in the form checkPublication returns it. */
function expected(run) {
  const r = run.report;
  if (r.verdict === "valid") return { line: `VALID: ${r.message}`, detail: null, warnings: r.warnings };
  if (r.verdict === "invalid") return { line: `INVALID: ${r.message}`, detail: `detail: ${r.reason}`, warnings: [] };
  return { line: `error: ${r.reason}`, detail: null, warnings: [] };
}

const bases = new Map(F.bases.map((name) => [name, loadBase(name)]));
// One cache for the whole corpus (check.js's options.cache): each distinct leaves.bin gets its
// root computed once and each distinct (AIR, proof, policy) is verified once; a wrong key would
// hand a later run another run's answer, which its comparison with Python would catch.
const cache = new Map();

for (const base of F.bases) {
  const cases = F.cases.filter((c) => c.base === base);
  test(`${base}: ${cases.length} publications x 3 policies give Python's verdict, lines and --json report`, async () => {
    const disagreements = [];
    let runs = 0;
    for (const c of cases) {
      for (const run of c.runs) {
        const airs = run.stage === "statement" ? NO_AIRS : realAirs(run);
        const fractions = [];
        const options = { acceptConjectured: run.accept_conjectured, minBits: run.min_bits, airs, cache };
        const got = await checkPublication(filesOf(c, bases), options, (f) => fractions.push(f));
        runs += 1;
        const want = expected(run);
        // the corpus keeps verify's report without `seconds` and `page` (the packaged page's
        // digest, which the page cannot know); the rest, statement_sha256 included, is compared
        const report = { ...got.report };
        const python = run.report;
        const where = `${c.label} (${run.accept_conjectured ? "conjectured, " : ""}min ${run.min_bits})`;
        try {
          assert.equal(got.exit, run.exit);
          assert.equal(got.line, want.line);
          assert.equal(got.detail, want.detail);
          assert.deepEqual(got.warnings, want.warnings);
          assert.deepEqual(report, python);
          if (run.report_text !== undefined) assert.equal(pyJsonText(report), run.report_text);
          assert.equal(got.state, run.report.verdict);
          assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])));
          if (got.state === "valid") assert.equal(fractions[fractions.length - 1], 1);
        } catch (e) {
          disagreements.push(`${where}: ${e.message.split("\n").slice(0, 6).join(" | ")}`);
        }
      }
    }
    assert.ok(runs > 0);
    assert.deepEqual(disagreements.slice(0, 10), [], `${disagreements.length} of ${runs} runs disagree`);
  });
}

test("Python's float texts: repr(x), format(x, 'g'), format(x, '.1f')", () => {
  for (const [x, repr, g, f1] of F.floats) {
    assert.equal(pyFloatRepr(x), repr, `repr(${x})`);
    assert.equal(formatG(x), g, `format(${x}, 'g')`);
    assert.equal(formatFixed(x, 1), f1, `format(${x}, '.1f')`);
  }
});

test("a params block equal to a preset's by value but not by JSON type is refused, as in Python", () => {
  // "zk": 1 or "num_queries": 100.0 (Python once let them through: check_declared compared the
  // block with the parameters read from it rather than with the preset's block)
  const loose = F.cases.filter((c) => /^params: (zk 1|(extension_degree|num_queries|folding_factor) \d+\.0)$/.test(c.label));
  assert.equal(loose.length, 16);
  for (const c of loose) for (const run of c.runs) assert.equal(run.report.verdict, "invalid", c.label);
});

test("without a cache (as the page checks once): the golden publications and a changed proof get Python's verdicts", async () => {
  const labels = ["the golden publication (VALID)", "batch 0 proof.bin byte 200 flipped, digest updated"];
  for (const c of F.cases.filter((x) => labels.includes(x.label))) {
    const run = c.runs[0];
    const phases = [];
    const options = { acceptConjectured: run.accept_conjectured, minBits: run.min_bits, airs: realAirs(run) };
    const got = await checkPublication(filesOf(c, bases), options, (f, phase) => phases.push(phase));
    assert.equal(got.line, expected(run).line, `${c.base}: ${c.label}`);
    assert.equal(got.detail, expected(run).detail, `${c.base}: ${c.label}`);
    assert.ok(phases.includes("statement") && phases.some((p) => p.endsWith("STARK proof")));
    if (got.state === "valid") {
      assert.ok(phases.includes("users' root"));
      assert.equal(phases.includes("aggregation"), c.base.endsWith("three-batches"));
    }
  }
});

