// A whole publication checked as solvency/publication/check.py::check_publication checks it,
// with the verdict `solvency verify DIR` gives (solvency/commands/verify.py): the same checks in
// the same order, so that a publication with two faults gets the message of the first.
//
//   1. statement.json read strictly (statement.js): a problem is unreadable, exit 2.
//   2. check_declared: each asset's price, total, (format 2) debt_base_units, equity, debt and
//      haircut recomputed exactly from the integers; params exactly a preset's block; preset
//      its name; inclusion.leaf_hash; the security recomputed from the AIRs' shapes (the
//      weakest of every distinct batch shape, built with all-zero leaves, and the aggregation)
//      and every figure compared (same_json: within 1e-9 of round(x, 2)); zero_knowledge =
//      params.zk and not insecure_seeded. A difference is INVALID (a StatementMismatch).
//   3. The security floor: bits >= minBits in the regime (provable, or conjectured with
//      acceptConjectured), else INVALID (SecurityTooLow).
//   4. Each batch b in order: proof.bin's SHA-256, then its size, against the statement;
//      leaves.bin whole 32-byte leaves of canonical elements (else unreadable, naming the
//      first bad leaf); as many leaves as users_padded; their Merkle root (node =
//      compress(left, right)) equal to leaves_root; then the STARK proof against the batch's
//      AIR built from its circuit statement, its leaves and its commitment.
//   5. The users' root over the batch roots (padded to a power of two with zero digests).
//   6. With several batches: aggregate.bin's digest and size, then its STARK proof against the
//      aggregation AIR, whose context hashes every batch proof's SHA-256.
//
// Files are named relative to the publication's folder ("batches/b00000/proof.bin"), as
// `solvency verify .` run inside that folder names them.
//
// Interface:
//
//   checkPublication(files, options, progress) -> Promise of
//     { state: "valid" | "invalid" | "unreadable", exit: 0 | 1 | 2, line, detail, warnings,
//       report, statement }
//   files.read(relativePath) -> Promise of a Uint8Array, or of null for a missing file.
//   options = { minBits = 100 (a Number in [100, 1000], as --min-security; else RangeError),
//     acceptConjectured = false, airs }, with
//     airs.batch(batchStatement, leaves, commitment) -> a JS AIR (protocol.js's interface):
//       leaves a Uint32Array of usersPadded x 8 elements (row-major, as leaves.bin), commitment
//       8 Numbers (several batches) or null (one batch); batchStatement is
//       PublishedStatement.batch(b), the circuit statement batch b's proof binds, as
//       solvency_air.js's batchStatement builds it and its SolvencyAir reads it:
//         { quote, scale (BigInt), symbols, decimals (Numbers), prices (BigInts),
//           totals (BigInts; all 0n with several batches), issuer, asOf, insecureSeeded,
//           equity (BigInts, all 0n with several batches; null in format 1),
//           haircuts ([] in format 1, else per asset null or [{ upTo (BigInt or null),
//             percent (BigInt) }]),
//           traceLen (Number: the batch's users_padded), hiddenTotals (count > 1),
//           batch: { index, count, snapshot (64 hex digits) } }
//     airs.aggregate(aggregateStatement) -> the aggregation AIR, for
//       PublishedStatement.aggregate_statement():
//         { context (Uint8Array, aggregate_context), numAssets, commitments ([8 Numbers] per
//           batch), batchSizes (Numbers), totals (BigInts), equity (BigInts or null) }
//     airs.batchShape(batchStatement), optional: the shape of airs.batch(batchStatement, all-zero
//       leaves, an all-zero commitment when hidden), as weakest_security takes it
//       (solvency_air.js's publicationShape, which builds no per-row table). Without it, each
//       distinct batch AIR is built once with all-zero leaves for its shape.
//     With the real AIRs: { batch: publicationAir, batchShape: publicationShape,
//       aggregate: aggregateAir } (solvency_air.js, aggregate_air.js).
//   options.cache: optional, a Map kept by the caller across checks (the page's "verify again",
//     a test's corpus): the results of pure computations are reused from it, a leaves' root by
//     the SHA-256 of leaves.bin, a STARK verdict by the SHA-256 of the proof and everything the
//     verifier reads of the AIR (name, shape, public inputs, the leaves and commitment behind
//     its periodic columns and boundaries) and the policy.
//   options.onPhase: optional, verify()'s hook (verifier.js VERIFY_PHASES), passed to every STARK
//     verification this check runs (not to one answered from the cache); for a finer progress
//     bar, and for web/tools/bench_verify.mjs, which times the phases. It must not throw.
//   progress(fraction, phaseText): called as the work advances (0 to 1).
//   line: the CLI's verdict line ("VALID: ...", "INVALID: ...", or "error: ..." for an
//   unreadable input); detail: "detail: ..." after INVALID, else null; warnings: the WARNING
//   lines' texts (VALID only); report: what `verify --json` prints, without `seconds`, with
//   statement_sha256 (the SHA-256 of statement.json's bytes) on every VALID report;
//   statement: what statement.js read (null when unreadable).
// An exception that is none of the verdicts (a bug, an AIR that cannot be built) is thrown.
import { readStatement, InputError } from "./statement.js";
import { PRESETS, presetOfJson, ValueError } from "./params.js";
import { weakestSecurity, securityBlock, sameJson, SECURITY_FIELDS } from "./security.js";
import { airShape } from "./protocol.js";
import { batchStatement } from "./solvency_air.js";
import { verify } from "./verifier.js";
import { VerificationError, MAX_PROOF_BYTES } from "./proof.js";
import { Sha256, sha256, toHex, fromHex } from "./sha256.js";
import { compressCanonical, DIGEST } from "./poseidon2.js";
import { usersTree } from "./merkle.js";
import { elementsHex } from "./encoding.js";
import { P } from "./field.js";
import { reprJson, pyFloatRepr, pyRepr, withCommas } from "./pytext.js";
import {
  EXIT_INPUT, EXIT_INVALID, EXIT_VALID, coinsText, customerReason, decimalEquals, jsonReport,
  mismatchReason, parseDecimal, plainText, securityTooLow, tableJson, verdictLine, warningsOf,
} from "./verdict.js";

export const STATEMENT_NAME = "statement.json";
export const AGGREGATE_NAME = "aggregate.bin";
export const LEAF_HASH = "poseidon2-babybear-w24";
export const MAX_TRACE_LEN = 1 << 17;
export const MAX_LEAVES_BYTES = 4 * DIGEST * MAX_TRACE_LEN;
const COMPRESSIONS_PER_SLICE = 4096;

/** statement.json says something recomputed differently: `statement.json: field: problem`. */
export class StatementMismatch extends Error {
  constructor(field, problem) {
    super(`${STATEMENT_NAME}: ${field}: ${problem}`);
    this.field = field;
  }
}

/** A proof does not verify: where (batch b, the proof, the aggregation) and the reason. */
export class ProofInvalid extends Error {
  constructor(where, reason) {
    super(`${where}: the proof is not valid (${reason})`);
    this.reason = reason;
  }
}

/** The publication's weakest proof gives fewer bits than required. */
export class SecurityTooLow extends Error {
  constructor(bits, regime, minBits, preset) {
    const { message, detail } = securityTooLow(bits, regime, minBits, preset);
    super(detail);
    this.sentence = message;
  }
}

/**
 * Let the page paint and handle input: a message to ourselves, a task of its own. Not
 * setTimeout(0), which a browser clamps to 4 ms once nested (about 2.6 ms per yield measured in
 * Chromium 156, 1 ms in node).
 */
function yieldToEventLoop() {
  if (typeof MessageChannel !== "function") return new Promise((resolve) => setTimeout(resolve));
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/** statement.batch_name: "b00042". */
export const batchName = (b) => `b${String(b).padStart(5, "0")}`;
export const batchFile = (b, name) => `batches/${batchName(b)}/${name}`;

// -- the circuit statements ----------------------------------------------------------------------

const u32le = (n) => new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);

/** statement.aggregate_context: tagged, length-prefixed identity and the batch proofs' digest. */
export function aggregateContext(issuer, asOf, snapshot, proofDigests) {
  const utf8 = (text) => new TextEncoder().encode(text);
  const parts = [
    utf8("stark-solvency-aggregate/1"), utf8(issuer), utf8(asOf), fromHex(snapshot),
    u32le(proofDigests.length), sha256(...proofDigests),
  ];
  const out = [];
  for (const part of parts) out.push(...u32le(part.length), ...part);
  return new Uint8Array(out);
}

/** PublishedStatement.aggregate_statement(), or null for one batch. */
export function aggregateStatement(s) {
  if (s.count === 1) return null;
  return {
    context: aggregateContext(s.issuer, s.asOf, s.snapshot, s.batches.map((r) => fromHex(r.proofSha256))),
    numAssets: s.symbols.length,
    commitments: s.batches.map((r) => r.commitment),
    batchSizes: s.batches.map((r) => r.usersPadded),
    totals: s.totals,
    equity: s.equity,
  };
}

// -- the security of the weakest proof -----------------------------------------------------------

/** repr(AirShape): the key weakest_security sorts the shapes by. */
export function shapeRepr(shape) {
  return (
    `AirShape(name=${pyRepr(shape.name)}, trace_len=${shape.trace_len}, main_width=${shape.main_width}, ` +
    `aux_width=${shape.aux_width}, num_aux_challenges=${shape.num_aux_challenges}, ` +
    `num_transition_constraints=${shape.num_transition_constraints}, ` +
    `num_boundary_constraints=${shape.num_boundary_constraints}, ` +
    `max_constraint_degree=${shape.max_constraint_degree}, num_lookup_fractions=${shape.num_lookup_fractions})`
  );
}

/** statement.weakest_security: every distinct batch shape (all-zero leaves) and the aggregation. */
export function publicationSecurity(s, params, airs) {
  const shapes = new Map();
  const add = (shape) => shapes.set(shapeRepr(shape), shape);
  const hidden = s.count > 1;
  const seen = new Set();
  s.batches.forEach((record, b) => {
    if (seen.has(record.usersPadded)) return; // batch statements differ only in size and place
    seen.add(record.usersPadded);
    const statement = batchStatement(s, b);
    if (airs.batchShape) {
      add(airs.batchShape(statement));
      return;
    }
    const leaves = new Uint32Array(record.usersPadded * DIGEST);
    add(airShape(airs.batch(statement, leaves, hidden ? new Array(DIGEST).fill(0) : null)));
  });
  const aggregate = aggregateStatement(s);
  if (aggregate !== null) add(airShape(airs.aggregate(aggregate)));
  const sorted = [...shapes.keys()].sort().map((key) => shapes.get(key));
  return weakestSecurity(params, sorted);
}

// -- check_declared --------------------------------------------------------------------------

/** repr() of security_block's values (its numbers are Python floats). */
function reprExpected(v) {
  if (v === null) return "None";
  if (typeof v === "number") return pyFloatRepr(v);
  if (typeof v === "string") return pyRepr(v);
  return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${reprExpected(x)}`).join(", ")}}`;
}

/** a["haircut"] == table_json(table), as Python compares the JSON values. */
function sameTable(raw, table) {
  const expected = tableJson(table);
  if (raw === null || expected === null) return raw === expected;
  return (
    raw.length === expected.length &&
    raw.every((tier, t) => {
      const want = expected[t];
      const keys = Object.keys(want);
      return (
        tier.size === keys.length &&
        keys.every((k) => tier.has(k)) &&
        (!("up_to" in want) || tier.get("up_to") === want.up_to) &&
        tier.get("percent") === BigInt(want.percent)
      );
    })
  );
}

/** The assets' decimal forms against their integers (check_declared's first loop). */
function checkAmounts(s) {
  const assets = s.data.get("assets");
  s.symbols.forEach((sym, j) => {
    const a = assets[j];
    const dec = s.decimals[j];
    const price = a.get("price");
    if (!decimalEquals(parseDecimal(price), [s.prices[j], dec - Number(s.scale)])) {
      throw new StatementMismatch(
        `${sym}.price`,
        `${price} is not the proved price ${plainText(s.prices[j], dec - Number(s.scale))} ` +
          `(integer_price ${s.prices[j]} / 10^${s.scale - BigInt(dec)})`,
      );
    }
    const amounts = [["total", s.totals[j]]];
    if (s.equity !== null) {
      const debt = s.equity[j] - s.totals[j];
      amounts.push(["equity", s.equity[j]], ["debt", debt]);
      if (BigInt(a.get("debt_base_units")) !== debt) {
        throw new StatementMismatch(
          `${sym}.debt_base_units`,
          `${a.get("debt_base_units")} is not equity - total (${debt})`,
        );
      }
    }
    for (const [field, value] of amounts) {
      if (!decimalEquals(parseDecimal(a.get(field)), [value, -dec])) {
        throw new StatementMismatch(
          `${sym}.${field}`,
          `${a.get(field)} is not the proved ${field} ${coinsText(value, dec)} (${field}_base_units ${value})`,
        );
      }
    }
    if (s.equity !== null && !sameTable(a.get("haircut"), s.haircuts[j])) {
      throw new StatementMismatch(`${sym}.haircut`, "is not written as the table it states (docs/formats.md)");
    }
  });
}

/**
 * check_declared: the fields recomputed from the statement alone. Returns { preset, params,
 * security } (the recomputed report); throws StatementMismatch.
 */
export function checkDeclared(s, airs) {
  checkAmounts(s);
  const data = s.data;
  const preset = presetOfJson(data.get("params"));
  if (preset === null) {
    throw new StatementMismatch("params", `the parameters are none of the accepted presets (${[...PRESETS.keys()].join(", ")})`);
  }
  if (data.get("preset") !== preset.name) {
    throw new StatementMismatch(
      "preset",
      `says ${reprJson(data.get("preset"))}, but the parameters are the ${pyRepr(preset.name)} preset`,
    );
  }
  const leafHash = data.get("inclusion").get("leaf_hash");
  if (leafHash !== LEAF_HASH) {
    throw new StatementMismatch(
      "inclusion.leaf_hash",
      `says ${pyRepr(leafHash)}; this verifier knows only ${pyRepr(LEAF_HASH)}`,
    );
  }
  let security;
  try {
    security = publicationSecurity(s, preset.params, airs);
  } catch (e) {
    if (e instanceof ValueError) throw new StatementMismatch("params", `unacceptable parameters: ${e.message}`);
    throw e;
  }
  const expected = securityBlock(security);
  const declared = data.get("security");
  for (const key of SECURITY_FIELDS) {
    if (!sameJson(declared.get(key), expected[key])) {
      throw new StatementMismatch(
        `security.${key}`,
        `says ${reprJson(declared.get(key))}, the parameters give ${reprExpected(expected[key])}`,
      );
    }
  }
  const zk = preset.params.zk && !s.insecureSeeded;
  if (data.get("zero_knowledge") !== zk) {
    throw new StatementMismatch(
      "zero_knowledge",
      `says ${data.get("zero_knowledge")}, but the proofs ` + (zk ? "hide balances" : "do not hide balances"),
    );
  }
  return { preset: preset.name, params: preset.params, security };
}

// -- files -----------------------------------------------------------------------------------

/** read_regular: the file's bytes, or InputError (missing, or above maxBytes). */
async function readFile(files, path, maxBytes) {
  const bytes = await files.read(path);
  if (bytes === null || bytes === undefined) throw new InputError(`${path}: no such file`);
  if (bytes.length > maxBytes) {
    throw new InputError(`${path}: larger than the ${withCommas(maxBytes)} bytes allowed`);
  }
  return bytes;
}

/** check.read_proof: the proof file statement.json names by digest (first) and size. */
async function readProof(files, path, field, digest, size) {
  const proof = await readFile(files, path, MAX_PROOF_BYTES);
  if (toHex(new Sha256().update(proof).digest()) !== digest) {
    throw new StatementMismatch(`${field}.proof_sha256`, `differs from the SHA-256 of ${path}`);
  }
  if (BigInt(proof.length) !== size) {
    throw new StatementMismatch(`${field}.proof_bytes`, `says ${size}, ${path} has ${proof.length}`);
  }
  return proof;
}

/** check.read_leaves: whole leaves of canonical elements, as a Uint32Array (n x 8). */
export function parseLeaves(bytes, path) {
  if (bytes.length % (4 * DIGEST)) {
    throw new InputError(`${path}: ${withCommas(bytes.length)} bytes are not a whole number of leaves`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const leaves = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < leaves.length; i++) {
    const v = view.getUint32(4 * i, true);
    if (v >= P) {
      throw new InputError(`${path}: leaf ${Math.floor(i / DIGEST)}: an element is not below the field's modulus`);
    }
    leaves[i] = v;
  }
  return leaves;
}

/**
 * circuits.leaf.leaves_root: the root of the tree over n leaves (n a power of two), node =
 * compress(left, right); yields to the event loop every few thousand compressions, calling
 * onSlice(done, total) after each slice.
 */
export async function leavesRoot(leaves, onSlice = () => {}) {
  const n = leaves.length / DIGEST;
  // every element checked once here (compress's own check, per call, costs a tenth of a
  // permutation); the bottom level's pairs are read in place from `leaves`, the levels above
  // are compressCanonical's reduced outputs
  for (let i = 0; i < leaves.length; i++) {
    if (!(leaves[i] < P)) throw new RangeError(`compress: elements must be canonical, in [0, ${P})`);
  }
  let level = [];
  for (let i = 0; i < n; i++) level.push(leaves.subarray(DIGEST * i, DIGEST * (i + 1)));
  let done = 0;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(compressCanonical(level[i], level[i + 1]));
      if (++done % COMPRESSIONS_PER_SLICE === 0) {
        onSlice(done, n - 1);
        await yieldToEventLoop();
      }
    }
    level = next;
  }
  return Array.from(level[0]);
}

// -- the publication -------------------------------------------------------------------------

const wordBytes = (words) => new Uint8Array(words.buffer, words.byteOffset, words.byteLength);

/** compute(), or its result kept in cache under key (no cache: computed every time). */
async function cached(cache, key, compute) {
  if (cache === null) return compute();
  if (!cache.has(key)) cache.set(key, await compute());
  return cache.get(key);
}

/**
 * The STARK verifier's reason for refusing the proof (null: it verifies), under the statement's
 * parameters and the policy. With a cache, keyed by the proof's SHA-256 (proofSha256, already
 * compared with the file's), what the verifier reads of the AIR, `inputs` (what its periodic
 * columns and boundaries are made of beyond its public inputs) and the policy.
 */
async function starkVerdict(air, proof, proofSha256, inputs, declared, policy) {
  const options = { acceptedParams: [declared.params], minBits: policy.minBits, regime: policy.regime };
  const key = () =>
    ["stark", air.name, JSON.stringify(airShape(air)), toHex(sha256(air.publicInputs())), inputs, proofSha256,
      JSON.stringify(options)].join("|");
  return cached(policy.cache, policy.cache === null ? null : key(), () => {
    try {
      verify(air, proof, { ...options, onPhase: policy.onPhase });
      return null;
    } catch (e) {
      if (e instanceof VerificationError) return e.reason;
      throw e;
    }
  });
}

/** The phases' shares of the bar: per batch (proof digest, leaves' root, STARK proof). */
const BATCH_WEIGHTS = { digest: 0.1, leaves: 0.5, proof: 0.4 };
const STATEMENT_SHARE = 0.02;

async function checkBatch(files, s, b, declared, policy, report) {
  const record = s.batches[b];
  const field = `batches[${b}]`;
  const of = s.count > 1 ? `batch ${b + 1} of ${s.count}: ` : "";
  report(b, 0, `${of}proof digest`);
  const proofPath = batchFile(b, "proof.bin");
  const proof = await readProof(files, proofPath, field, record.proofSha256, record.proofBytes);
  const leavesPath = batchFile(b, "leaves.bin");
  const leaves = parseLeaves(await readFile(files, leavesPath, MAX_LEAVES_BYTES), leavesPath);
  const count = leaves.length / DIGEST;
  if (count !== record.usersPadded) {
    throw new StatementMismatch(
      `${field}.users_padded`,
      `says ${withCommas(record.usersPadded)}, ${leavesPath} has ${withCommas(count)} leaves`,
    );
  }
  report(b, BATCH_WEIGHTS.digest, `${of}leaves' root`);
  const leavesDigest = policy.cache ? toHex(sha256(wordBytes(leaves))) : null;
  const root = await cached(policy.cache, `leaves root|${leavesDigest}`, () =>
    leavesRoot(leaves, (done, total) =>
      report(b, BATCH_WEIGHTS.digest + (BATCH_WEIGHTS.leaves * done) / total, `${of}leaves' root`),
    ),
  );
  if (elementsHex(root) !== record.leavesRoot) {
    throw new StatementMismatch(`${field}.leaves_root`, `is not the root of ${leavesPath}`);
  }
  report(b, BATCH_WEIGHTS.digest + BATCH_WEIGHTS.leaves, `${of}STARK proof`);
  await yieldToEventLoop();
  const air = policy.airs.batch(batchStatement(s, b), leaves, record.commitment);
  const reason = await starkVerdict(air, proof, record.proofSha256, `${leavesDigest}|${record.commitment}`, declared, policy);
  if (reason !== null) throw new ProofInvalid(s.count > 1 ? `batch ${b}` : "the proof", reason);
  return root;
}

/** check_publication: the proved statement, or a thrown InputError / StatementMismatch / ... */
async function checkAll(files, policy, progress, seen) {
  progress(0, "statement");
  const bytes = await files.read(STATEMENT_NAME);
  if (bytes === null || bytes === undefined) throw new InputError(`${STATEMENT_NAME}: no such file`);
  seen.statementSha256 = toHex(sha256(bytes));
  const s = readStatement(bytes);
  seen.statement = s;
  const declared = checkDeclared(s, policy.airs);
  const bits = policy.regime === "provable" ? declared.security.provable_bits : declared.security.conjectured_bits;
  if (!(bits >= policy.minBits)) throw new SecurityTooLow(bits, policy.regime, policy.minBits, declared.preset);
  const parts = s.count + (s.count > 1 ? 1 : 0);
  const share = (1 - STATEMENT_SHARE) / parts;
  const report = (b, within, phase) => progress(STATEMENT_SHARE + share * (b + within), phase);
  const roots = [];
  for (let b = 0; b < s.count; b++) roots.push(await checkBatch(files, s, b, declared, policy, report));
  report(s.count, 0, "users' root");
  const levels = usersTree(roots);
  if (elementsHex(levels[levels.length - 1][0]) !== s.usersRoot) {
    throw new StatementMismatch("users_root", "is not the root over the batches' roots");
  }
  if (s.aggregate !== null) {
    report(s.count, 0, "aggregation");
    const proof = await readProof(files, AGGREGATE_NAME, "aggregate", s.aggregate.proofSha256, s.aggregate.proofBytes);
    await yieldToEventLoop();
    const air = policy.airs.aggregate(aggregateStatement(s));
    const reason = await starkVerdict(air, proof, s.aggregate.proofSha256, "aggregation", declared, policy);
    if (reason !== null) throw new ProofInvalid("the aggregation", reason);
  }
  progress(1, "done");
  return { statement: s, ...declared };
}

/** Check the publication (see the interface at the top of this file). */
export async function checkPublication(files, options = {}, progress = () => {}) {
  const { minBits = 100, acceptConjectured = false, airs, cache = null, onPhase = null } = options;
  const regime = acceptConjectured ? "conjectured" : "provable";
  if (!(Number.isFinite(minBits) && minBits >= 100 && minBits <= 1000)) {
    // verify's --min-security is a float in [100, 1000]; the page's input must keep it there
    throw new RangeError(`--min-security ${minBits} is not a number of bits from 100 to 1000`);
  }
  const seen = { statement: null, statementSha256: null };
  const invalid = (message, detail) => ({
    state: "invalid",
    exit: EXIT_INVALID,
    line: `INVALID: ${message}`,
    detail: `detail: ${detail}`,
    warnings: [],
    report: { verdict: "invalid", message, reason: detail },
    statement: seen.statement,
  });
  let proved;
  try {
    proved = await checkAll(files, { minBits, regime, airs, cache, onPhase }, progress, seen);
  } catch (e) {
    if (e instanceof InputError) {
      return {
        state: "unreadable",
        exit: EXIT_INPUT,
        line: `error: ${e.message}`,
        detail: null,
        warnings: [],
        report: { verdict: "unreadable", reason: e.message },
        statement: null,
      };
    }
    if (e instanceof StatementMismatch) return invalid(mismatchReason(e.field, e.message), e.message);
    if (e instanceof SecurityTooLow) return invalid(e.sentence, e.message);
    if (e instanceof ProofInvalid) return invalid(customerReason(e.reason), e.message);
    throw e;
  }
  return {
    state: "valid",
    exit: EXIT_VALID,
    line: `VALID: ${verdictLine(proved, regime)}`,
    detail: null,
    warnings: warningsOf(proved),
    report: jsonReport(proved, regime, minBits, seen.statementSha256),
    statement: proved.statement,
  };
}
