import { test } from "node:test";
import assert from "node:assert/strict";
import { parseProof, VerificationError, encodeParams, MAX_PROOF_BYTES } from "../src/proof.js";
import { verifyRows, batchRoot, hashRow, saltWidth } from "../src/stark_merkle.js";
import { Matrix } from "../src/proof.js";
import { sha256, toHex, fromHex } from "../src/sha256.js";
import { read } from "./helpers.js";
import { STARK } from "./stark_fixture.js";

const files = Object.keys(STARK.proofs);
const cache = new Map();
const bytesOf = (rel) => {
  if (!cache.has(rel)) {
    const example = STARK.example_proofs[rel];
    cache.set(rel, example === undefined ? new Uint8Array(read(rel)) : fromHex(example));
  }
  return cache.get(rel);
};

function matrixJson(m) {
  return { rows: m.rows, cols: m.cols, sha256: toHex(sha256(m.bytes())), head: Array.from(m.data.subarray(0, 16)) };
}

function openingJson(o) {
  return {
    rows: matrixJson(o.rows),
    count: o.siblings.length,
    siblings_sha256: toHex(sha256(...o.siblings)),
    first_sibling: o.siblings.length ? toHex(o.siblings[0]) : null,
  };
}

/** The parse in the exporter's JSON form (proof_json in web/tools/export_stark_values.py). */
function proofJson(p) {
  return {
    params: { ...p.params },
    log_trace_len: p.logTraceLen,
    main_root: toHex(p.mainRoot),
    aux_root: p.auxRoot ? toHex(p.auxRoot) : null,
    aux_pow_nonce: String(p.auxPowNonce),
    quotient_root: toHex(p.quotientRoot),
    fri_roots: p.friRoots.map(toHex),
    ood_trace_z: matrixJson(p.oodTraceZ),
    ood_trace_gz: matrixJson(p.oodTraceGz),
    ood_quotient_z: matrixJson(p.oodQuotientZ),
    fri_remainder: matrixJson(p.friRemainder),
    pow_nonce: String(p.powNonce),
    main_opening: openingJson(p.mainOpening),
    aux_opening: p.auxOpening ? openingJson(p.auxOpening) : null,
    quotient_opening: openingJson(p.quotientOpening),
    fri_openings: p.friOpenings.map(openingJson),
  };
}

test("every golden and example proof parses to exactly Python's parse", () => {
  // 2 formats x (1 + 3 batches + the aggregation), and 3 examples (no aux, k = 4, FRI shapes)
  assert.equal(files.length, 13);
  assert.equal(Object.keys(STARK.example_proofs).length, 3);
  const shapes = files.map((rel) => {
    const p = parseProof(bytesOf(rel)).params;
    return `${p.extension_degree} ${p.zk} ${p.folding_factor}`;
  });
  assert.ok(new Set(shapes).size >= 4);
  for (const rel of files) {
    const proof = parseProof(bytesOf(rel));
    assert.deepEqual(proofJson(proof), STARK.proofs[rel], rel);
    assert.deepEqual(encodeParams(proof.params), bytesOf(rel).subarray(10, 19));
  }
});

function openingOf(proof, name) {
  if (name === "main") return [proof.mainRoot, proof.mainOpening];
  if (name === "aux") return [proof.auxRoot, proof.auxOpening];
  if (name === "quotient") return [proof.quotientRoot, proof.quotientOpening];
  const i = Number(name.slice(3));
  return [proof.friRoots[i], proof.friOpenings[i]];
}

test("every Merkle opening Python's verifier checks on the golden publications and examples checks here", () => {
  const seen = new Set();
  assert.ok(STARK.openings.length >= 50);
  for (const call of STARK.openings) {
    const proof = parseProof(bytesOf(call.file));
    const [root, opening] = openingOf(proof, call.opening);
    assert.equal(toHex(root), call.root);
    const where = `${call.file} ${call.opening}`;
    assert.equal(verifyRows(root, call.depth, call.indices, opening.rows, opening.siblings), call.ok, where);
    assert.ok(call.ok, where);
    seen.add(call.file);
    // ... and damaged copies (DAMAGES in the exporter) get Python's answer
    const sib = opening.siblings;
    const rows = opening.rows;
    const idx = call.indices;
    const changed = sib.slice();
    if (sib.length) {
      changed[sib.length >> 1] = sib[sib.length >> 1].slice();
      changed[sib.length >> 1][7] ^= 1;
    }
    const lastData = rows.data.slice();
    lastData[lastData.length - 1] ^= 1;
    const last = new Matrix(rows.rows, rows.cols, lastData);
    let swappedRows = rows;
    if (rows.rows >= 2) {
      const d = rows.data.slice();
      d.set(rows.row(1), 0);
      d.set(rows.row(0), rows.cols);
      swappedRows = new Matrix(rows.rows, rows.cols, d);
    }
    const swappedSib = sib.length >= 2 ? [sib[1], sib[0], ...sib.slice(2)] : sib;
    const other = root.slice();
    other[0] ^= 1;
    const d = call.depth;
    const cases = [
      [root, d, idx, rows, [...sib, sib.length ? sib[0] : new Uint8Array(32)]],
      [root, d, idx, rows, sib.slice(1)],
      [root, d, idx, rows, sib.slice(0, -1)],
      [root, d, idx, rows, changed],
      [root, d, idx, last, sib],
      [root, d + 1, idx, rows, sib],
      [root, d, idx.map((i) => i ^ 1), rows, sib],
      [root, d, idx.slice(1), rows, sib],
      [other, d, idx, rows, sib],
      [root, d, idx, swappedRows, sib],
      [root, d, idx, rows, swappedSib],
    ];
    assert.deepEqual(
      cases.map((c) => verifyRows(...c)),
      call.damaged,
      where,
    );
  }
  assert.equal(seen.size, files.length);
});

function mutate(data, m) {
  switch (m.kind) {
    case "xor":
    case "set": {
      const out = data.slice();
      out[m.pos] = m.kind === "xor" ? out[m.pos] ^ m.value : m.value;
      return out;
    }
    case "truncate":
      return data.slice(0, m.pos);
    case "extend": {
      const extra = fromHex(m.value);
      const out = new Uint8Array(data.length + extra.length);
      out.set(data);
      out.set(extra, data.length);
      return out;
    }
    default:
      throw new Error(m.kind);
  }
}

test("mutated proofs: refused or accepted as by Python, with Python's reason", () => {
  const muts = STARK.mutations;
  assert.ok(muts.length >= 4500);
  let refused = 0;
  for (const m of muts) {
    let reason = null;
    try {
      parseProof(mutate(bytesOf(m.file), m));
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      reason = e.reason;
    }
    assert.equal(reason, m.python, `${m.file} ${m.kind} at ${m.pos} (${m.value})`);
    if (reason) refused += 1;
  }
  assert.ok(refused > 1000 && refused < muts.length);
});

test("parser edge cases", () => {
  const refused = (bytes, reason) =>
    assert.throws(() => parseProof(bytes), (e) => e instanceof VerificationError && e.reason === reason);
  refused(new Uint8Array(0), "malformed proof: truncated in magic");
  refused(new Uint8Array(MAX_PROOF_BYTES + 1), "malformed proof: larger than the format allows");
  refused([1, 2, 3], "malformed proof: not bytes");
  const golden = files.find((rel) => rel.startsWith("tests/golden/"));
  const buffer = read(golden); // a node Buffer, and an ArrayBuffer: the same parse
  const fromBuffer = parseProof(buffer);
  assert.deepEqual(proofJson(fromBuffer), STARK.proofs[golden]);
  assert.equal(fromBuffer.mainRoot.constructor, Uint8Array);
  const copy = new Uint8Array(buffer);
  assert.deepEqual(proofJson(parseProof(copy.buffer)), STARK.proofs[golden]);
  const good = bytesOf(files[0]);
  const block = (edit) => {
    const b = good.slice();
    edit(b);
    return b;
  };
  refused(block((b) => (b[17] = 2)), "malformed proof: parameter block out of range");
  refused(block((b) => (b[11] = 7)), "malformed proof: parameter block out of range");
  refused(
    block((b) => {
      b[10] = 3; // k
      b[11] = 0; // blowup 1
      b[12] = 0; // 0 queries
      b[13] = 0;
      b[14] = 40; // grinding
      b[15] = 3; // folding
      b[16] = 0; // remainder 1
      b[18] = 33; // aux grinding
    }),
    "malformed proof: invalid STARK parameters: extension_degree must be one of [4, 5]; " +
      "blowup must be a power of two in [2, 64]; num_queries must be in [1, 256]; " +
      "grinding_bits must be in [0, 32]; aux_grinding_bits must be in [0, 32]; " +
      "folding_factor must be 2, 4 or 8; remainder_max_len must be a power of two between " +
      "the folding factor and 1024",
  );
  refused(block((b) => (b[19] = 1)), "malformed proof: trace length out of range");
  refused(block((b) => (b[52] = 2)), "malformed proof: aux flag must be 0 or 1");
  refused(block((b) => (b[19] = 23)), "malformed proof: trace length out of range");
  assert.equal(saltWidth(true), 8);
  assert.equal(saltWidth(false), 0);
});

test("batchRoot: Python's rules on small trees", () => {
  const leaf = (i) => hashRow([i]);
  const level1 = [0, 1, 2, 3].map((i) => sha256(leaf(2 * i), leaf(2 * i + 1)));
  const level2 = [sha256(level1[0], level1[1]), sha256(level1[2], level1[3])];
  const root = sha256(level2[0], level2[1]);
  const all = new Map([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, leaf(i)]));
  assert.deepEqual(batchRoot(all, 3, []), root);
  assert.deepEqual(batchRoot(new Map([[5, leaf(5)]]), 3, [leaf(4), level1[3], level2[0]]), root);
  assert.deepEqual(batchRoot(new Map([[1, leaf(1)], [6, leaf(6)]]), 3, [leaf(0), leaf(7), level1[1], level1[2]]), root);
  assert.equal(batchRoot(new Map(), 3, []), null);
  assert.equal(batchRoot(new Map([[8, leaf(8)]]), 3, [leaf(4), level1[3], level2[0]]), null);
  assert.equal(batchRoot(all, 3, [leaf(0)]), null); // a surplus sibling
  assert.deepEqual(batchRoot(new Map([[0, leaf(0)]]), 0, []), leaf(0));
  assert.throws(() => verifyRows(root, 3, [0], new Matrix(1, 0, new Uint32Array(0)), []), RangeError);
  assert.equal(verifyRows(root, 3, [0, 0], new Matrix(2, 1, Uint32Array.of(0, 0)), []), false);
});

test("the opened positions follow from the query positions (FRI: pos mod width, sorted, distinct)", () => {
  for (const rel of files) {
    const calls = STARK.openings.filter((c) => c.file === rel);
    const proof = parseProof(bytesOf(rel));
    const main = calls.find((c) => c.opening === "main");
    for (const name of ["aux", "quotient"]) {
      const c = calls.find((x) => x.opening === name);
      if (name === "aux" && !proof.auxRoot) assert.equal(c, undefined);
      else assert.deepEqual([c.depth, c.indices], [main.depth, main.indices], `${rel} ${name}`);
    }
    const f = proof.params.folding_factor;
    let size = 2 ** main.depth;
    let pos = main.indices;
    proof.friRoots.forEach((_, layer) => {
      const width = size / f;
      pos = [...new Set(pos.map((p) => p % width))].sort((a, b) => a - b);
      const c = calls.find((x) => x.opening === `fri${layer}`);
      assert.deepEqual([c.depth, c.indices], [Math.log2(width), pos], `${rel} FRI layer ${layer}`);
      size = width;
    });
    assert.equal(calls.length, 2 + (proof.auxRoot ? 1 : 0) + proof.friRoots.length);
  }
  // and the first proof's positions are the JS transcript's draw, sorted and deduplicated
  const script = STARK.transcripts.golden;
  const drawn = script.find((o) => o.op === "indices").out;
  const first = STARK.openings[0]; // the first proof Python verified, whose transcript that is
  assert.equal(first.opening, "main");
  assert.deepEqual([...new Set(drawn)].sort((a, b) => a - b), first.indices);
});
