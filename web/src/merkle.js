// The Merkle tree over leaves (circuits/leaf.py): node = compress(left, right), children in row
// order; a path is the siblings bottom up; at depth d the node is the left child if bit d of
// the index is 0. Used up to a batch root and on, through the users' tree over the batch roots
// (solvency/publication/statement.py, users_tree), to the users' root.
import { P } from "./field.js";
import { compress, compressCanonical, DIGEST } from "./poseidon2.js";

export const EMPTY_ROOT = new Array(DIGEST).fill(0);

function isDigest(x) {
  return (
    Array.isArray(x) && x.length === DIGEST && x.every((v) => Number.isInteger(v) && v >= 0 && v < P)
  );
}

function isPowerOfTwo(n) {
  if (typeof n === "number") {
    if (!Number.isSafeInteger(n)) return false;
    n = BigInt(n);
  }
  return typeof n === "bigint" && n > 0n && (n & (n - 1n)) === 0n;
}

/** Every level of the tree over 2^k leaves, leaves first, the root last ([[root]]). */
export function treeLevels(leaves) {
  if (!isPowerOfTwo(leaves.length) || !leaves.every(isDigest)) {
    throw new RangeError("a power of two of canonical digests");
  }
  let level = leaves;
  const levels = [level];
  while (level.length > 1) {
    const next = [];
    // every node is canonical: the leaves were checked above, compress's outputs are reduced
    for (let i = 0; i < level.length; i += 2) next.push(compressCanonical(level[i], level[i + 1]));
    level = next;
    levels.push(level);
  }
  return levels;
}

/** The siblings of `row`'s leaf, bottom up, in a tree built by treeLevels. */
export function pathIn(levels, row) {
  const out = [];
  for (let d = 0; d < levels.length - 1; d++) out.push(levels[d][Math.floor(row / 2 ** d) ^ 1]);
  return out;
}

/** users_tree: the tree over the batch roots, padded to a power of two with EMPTY_ROOT. */
export function usersTree(batchRoots) {
  let width = 1;
  while (width < batchRoots.length) width *= 2;
  const padded = [...batchRoots];
  while (padded.length < width) padded.push(EMPTY_ROOT);
  return treeLevels(padded);
}

/**
 * verify_leaf_path: true if `leaf` sits at `index` (a Number or BigInt) under `root` with these
 * siblings; with numLeaves, the depth must be log2(numLeaves). False, never an exception, for
 * malformed input.
 */
export function verifyLeafPath(root, index, leaf, siblings, numLeaves = null) {
  if (!isDigest(root) || !isDigest(leaf) || !Array.isArray(siblings) || !siblings.every(isDigest)) {
    return false;
  }
  const depth = siblings.length;
  if (numLeaves !== null) {
    const n = BigInt(numLeaves);
    if (!isPowerOfTwo(n) || 1n << BigInt(depth) !== n) return false;
  }
  if (typeof index === "boolean" || !(typeof index === "bigint" || Number.isSafeInteger(index))) {
    return false;
  }
  const i = BigInt(index);
  if (i < 0n || i >= 1n << BigInt(depth)) return false;
  let node = leaf;
  for (let d = 0; d < depth; d++) {
    node = ((i >> BigInt(d)) & 1n) === 0n ? compress(node, siblings[d]) : compress(siblings[d], node);
  }
  return node.every((v, k) => v === root[k]);
}
