// Attack tool: proof.bin written back from parseProof's object (the inverse of parseProof), and
// structured forgeries of a golden batch proof that a cheating exchange could publish: weaker
// parameter blocks, parts spliced from another batch's proof, OOD rows swapped, the FRI
// remainder or layers cut or added, nonces moved, opened rows reordered, a surplus sibling.
// Used by web/test/attack_verifier.test.js; `node web/tools/attack_proof_bytes.mjs OUT_DIR`
// writes each forgery as OUT_DIR/<name>.bin (for Python's verdict on the same bytes).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { MAGIC, FORMAT_VERSION, encodeParams, parseProof, Matrix } from "../src/proof.js";
import { PRESETS } from "../src/params.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** serialize(proof): the bytes of a parsed proof (stark/proof.py serialize). */
export function serialize(p) {
  const parts = [];
  const u8 = (v) => parts.push(Uint8Array.of(v));
  const u16 = (v) => parts.push(Uint8Array.of(v & 0xff, v >> 8));
  const u32 = (v) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    parts.push(b);
  };
  const u64 = (v) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    parts.push(b);
  };
  const matrix = (m) => {
    u32(m.rows);
    u32(m.cols);
    parts.push(m.bytes());
  };
  const opening = (o) => {
    matrix(o.rows);
    u32(o.siblings.length);
    parts.push(...o.siblings);
  };
  parts.push(new TextEncoder().encode(MAGIC));
  u16(FORMAT_VERSION);
  parts.push(encodeParams(p.params));
  u8(p.logTraceLen);
  parts.push(p.mainRoot);
  u8(p.auxRoot ? 1 : 0);
  if (p.auxRoot) {
    parts.push(p.auxRoot);
    u64(p.auxPowNonce);
  }
  parts.push(p.quotientRoot);
  u8(p.friRoots.length);
  parts.push(...p.friRoots);
  for (const m of [p.oodTraceZ, p.oodTraceGz, p.oodQuotientZ, p.friRemainder]) matrix(m);
  u64(p.powNonce);
  opening(p.mainOpening);
  if (p.auxRoot) opening(p.auxOpening);
  opening(p.quotientOpening);
  p.friOpenings.forEach(opening);
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const b of parts) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

const rowsOf = (m, keep) => {
  const data = new Uint32Array(keep.length * m.cols);
  keep.forEach((r, i) => data.set(m.row(r), i * m.cols));
  return new Matrix(keep.length, m.cols, data);
};

export const GOLDEN_BATCH = "tests/golden/publication-2/three-batches/batches/";

export function goldenProof(b) {
  return new Uint8Array(readFileSync(`${ROOT}${GOLDEN_BATCH}b0000${b}/proof.bin`));
}

/** The forgeries of batch 0's proof: [name, bytes, what it tries]. */
export function forgeries() {
  const bytes = goldenProof(0);
  const p = parseProof(bytes);
  const other = parseProof(goldenProof(1));
  const out = [];
  const add = (name, what, change) => {
    const q = { ...p, params: { ...p.params } };
    change(q);
    out.push([name, serialize(q), what]);
  };
  add("params-fast", "the fast preset's weaker block (k = 4, 28 queries)", (q) => {
    q.params = { ...PRESETS.get("fast") };
  });
  add("params-99-queries", "one query fewer", (q) => {
    q.params.num_queries = 99;
  });
  add("params-no-grinding", "no grinding", (q) => {
    q.params.grinding_bits = 0;
  });
  add("params-no-zk", "zero knowledge off", (q) => {
    q.params.zk = false;
  });
  add("spliced-quotient-opening", "batch 1's quotient opening", (q) => {
    q.quotientOpening = other.quotientOpening;
  });
  add("spliced-fri-layer", "batch 1's last FRI root and opening", (q) => {
    q.friRoots = [...p.friRoots.slice(0, -1), other.friRoots.at(-1)];
    q.friOpenings = [...p.friOpenings.slice(0, -1), other.friOpenings.at(-1)];
  });
  add("ood-z-gz-swapped", "the trace values at z and at g z swapped", (q) => {
    q.oodTraceZ = p.oodTraceGz;
    q.oodTraceGz = p.oodTraceZ;
  });
  add("remainder-short", "the FRI remainder one coefficient short", (q) => {
    q.friRemainder = rowsOf(p.friRemainder, [...Array(p.friRemainder.rows - 1).keys()]);
  });
  add("remainder-long", "the FRI remainder one coefficient longer (degree bound raised)", (q) => {
    q.friRemainder = rowsOf(p.friRemainder, [...Array(p.friRemainder.rows).keys(), 0]);
  });
  add("fri-layer-added", "one FRI layer more (the last repeated)", (q) => {
    q.friRoots = [...p.friRoots, p.friRoots.at(-1)];
    q.friOpenings = [...p.friOpenings, p.friOpenings.at(-1)];
  });
  add("fri-layer-dropped", "one FRI layer fewer", (q) => {
    q.friRoots = p.friRoots.slice(0, -1);
    q.friOpenings = p.friOpenings.slice(0, -1);
  });
  add("pow-nonce-of-batch-1", "batch 1's grinding nonce", (q) => {
    q.powNonce = other.powNonce;
  });
  add("aux-nonce-changed", "another aux nonce (0 aux grinding bits: any nonce passes its check)", (q) => {
    q.auxPowNonce = p.auxPowNonce + 1n;
  });
  add("main-rows-swapped", "two opened main rows swapped", (q) => {
    const order = [...Array(p.mainOpening.rows.rows).keys()];
    [order[0], order[1]] = [order[1], order[0]];
    q.mainOpening = { ...p.mainOpening, rows: rowsOf(p.mainOpening.rows, order) };
  });
  add("main-row-duplicated", "an opened main row repeated in place of the next", (q) => {
    const order = [...Array(p.mainOpening.rows.rows).keys()];
    order[1] = 0;
    q.mainOpening = { ...p.mainOpening, rows: rowsOf(p.mainOpening.rows, order) };
  });
  add("fri-surplus-sibling", "a surplus sibling at the end of FRI layer 0's opening", (q) => {
    const o = p.friOpenings[0];
    q.friOpenings = [{ ...o, siblings: [...o.siblings, o.siblings[0]] }, ...p.friOpenings.slice(1)];
  });
  add("quotient-without-random-codeword", "the quotient opening without the zk codeword's columns", (q) => {
    const m = p.quotientOpening.rows;
    const k = p.params.extension_degree;
    const data = new Uint32Array(m.rows * (m.cols - k));
    for (let r = 0; r < m.rows; r++) data.set(m.row(r).subarray(0, m.cols - k), r * (m.cols - k));
    q.quotientOpening = { ...p.quotientOpening, rows: new Matrix(m.rows, m.cols - k, data) };
  });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of forgeries()) writeFileSync(`${dir}/${name}.bin`, bytes);
}
