// The STARK's SHA-256 Merkle commitments (stark/merkle.py), as the verifier checks them. (The
// users' Poseidon2 tree is merkle.js.) Leaf i is SHA256(row i as little-endian u32 words); a
// node is SHA256(left || right). A batch opening lists the siblings the verifier cannot
// compute, level by level from the leaves up, by increasing index within a level, and every
// one of them must be used.
import { sha256 } from "./sha256.js";

export const DIGEST_SIZE = 32;
export const SALT_WORDS = 8;

/** Words of salt in front of every leaf: SALT_WORDS with zero knowledge, none without. */
export function saltWidth(zk) {
  return zk ? SALT_WORDS : 0;
}

/** SHA-256 of a row of u32 words (an Array or a typed array of Numbers < 2^32). */
export function hashRow(row) {
  const bytes = new Uint8Array(4 * row.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < row.length; i++) view.setUint32(4 * i, row[i], true);
  return sha256(bytes);
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * batch_root: the root implied by `leafDigests` (a Map from index to digest) under a tree of
 * this depth with these siblings; null if an index is out of range, there are no leaves, or
 * the opening has too few or too many siblings.
 */
export function batchRoot(leafDigests, depth, siblings) {
  if (leafDigests.size === 0) return null;
  for (const i of leafDigests.keys()) {
    if (!Number.isSafeInteger(i) || i < 0 || i >= 2 ** depth) return null;
  }
  let indices = [...leafDigests.keys()].sort((a, b) => a - b);
  let nodes = indices.map((i) => leafDigests.get(i));
  let used = 0;
  const available = siblings.length;
  for (let level = 0; level < depth; level++) {
    const parents = [];
    const digests = [];
    let k = 0;
    const count = indices.length;
    while (k < count) {
      const i = indices[k];
      let left;
      let right;
      if (i % 2 === 0 && k + 1 < count && indices[k + 1] === i + 1) {
        left = nodes[k];
        right = nodes[k + 1];
        k += 2;
      } else {
        if (used === available) return null;
        const sibling = siblings[used++];
        [left, right] = i % 2 ? [sibling, nodes[k]] : [nodes[k], sibling];
        k += 1;
      }
      parents.push(Math.floor(i / 2));
      digests.push(sha256(left, right));
    }
    indices = parents;
    nodes = digests;
  }
  if (used !== available) return null;
  return nodes[0];
}

/**
 * verify_rows: do `rows` (a Matrix of proof.js, one row per index, in the order of `indices`)
 * sit at `indices` under `root`? False on a count mismatch or a repeated index.
 */
export function verifyRows(root, depth, indices, rows, siblings) {
  if (indices.length !== rows.rows || new Set(indices).size !== indices.length) return false;
  if (rows.rows > 0 && rows.cols === 0) {
    // Python's hash_rows divides by the row width here (ZeroDivisionError, which verify()
    // turns into "malformed proof"); the verifier's shape checks never let it get this far
    throw new RangeError("rows of width 0");
  }
  const leaves = new Map();
  indices.forEach((index, j) => leaves.set(index, hashRow(rows.row(j))));
  const computed = batchRoot(leaves, depth, siblings);
  return computed !== null && sameBytes(computed, root);
}
