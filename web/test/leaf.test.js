// The leaf, the id commitment, the packing and the Merkle tree against values the Python
// reference computed (web/tools/export_python_values.py -> fixtures/python_values.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { hashElements, compress } from "../src/poseidon2.js";
import { encodeId, idCommitment, offsetLimbs, packLimbs, leafHash, userLeaf, packing } from "../src/leaf.js";
import { treeLevels, pathIn, verifyLeafPath, usersTree, EMPTY_ROOT } from "../src/merkle.js";
import { readJson } from "./helpers.js";

const v = readJson("web/test/fixtures/python_values.json");

test("encode_id", () => {
  for (const c of v.encode_id) assert.deepEqual(encodeId(c.id), c.encoded, JSON.stringify(c.id));
  assert.throws(() => encodeId("a\ud800"));
  assert.throws(() => encodeId(5));
});

test("id_commitment", () => {
  for (const c of v.id_commitment) assert.deepEqual(idCommitment(c.id, c.nonce), c.idc);
  assert.throws(() => idCommitment("a", [1, 2, 3, 4]));
  assert.throws(() => idCommitment("a", [1, 2, 3, 4, 2013265921]));
});

test("hash_elements at widths 16 and 24", () => {
  for (const c of v.hash) assert.deepEqual(hashElements(c.input, c.width), c.digest, `w${c.width} m${c.input.length}`);
});

test("compress", () => {
  for (const c of v.compress) assert.deepEqual(compress(c.left, c.right), c.out);
});

test("offset limbs", () => {
  for (const c of v.limbs) assert.deepEqual(offsetLimbs(BigInt(c.balance)), c.limbs, c.balance);
  assert.throws(() => offsetLimbs(1n << 63n));
  assert.throws(() => offsetLimbs(-(1n << 63n) - 1n));
});

test("pack_limbs and the packing plan", () => {
  for (const c of v.pack) assert.deepEqual(packLimbs(c.limbs), c.packed);
  assert.equal(packing(1).length, 3);
  assert.equal(packing(22).length, 52);
  assert.equal(packing(200).length, 467);
  assert.throws(() => packLimbs([[512, 0, 0, 0, 0, 0, 0, 0]]));
  assert.throws(() => packLimbs([[0, 0, 0, 0, 0, 0, 0, 2]]));
});

test("leaf_hash at widths 16 and 24, and user_leaf", () => {
  for (const c of v.leaf) {
    assert.deepEqual(leafHash(c.idc, c.limbs, 16), c.w16);
    assert.deepEqual(leafHash(c.idc, c.limbs, 24), c.w24);
  }
  const u = v.user_leaf;
  assert.deepEqual(userLeaf(u.id, u.nonce, u.balances.map(BigInt)), u.leaf);
});

test("the Merkle tree, its paths and verify_leaf_path", () => {
  const t = v.tree;
  const levels = treeLevels(t.leaves);
  assert.deepEqual(levels.at(-1)[0], t.root);
  for (let row = 0; row < 16; row++) {
    const path = pathIn(levels, row);
    assert.deepEqual(path, t.paths[row]);
    assert.ok(verifyLeafPath(t.root, row, t.leaves[row], path, 16));
    assert.ok(!verifyLeafPath(t.root, row ^ 1, t.leaves[row], path, 16), "another row");
    assert.ok(!verifyLeafPath(t.root, row, t.leaves[row], path, 32), "another depth");
    assert.ok(!verifyLeafPath(t.root, row, t.leaves[row], path.slice(1), 16), "a shorter path");
    const bad = path.map((s) => [...s]);
    bad[2][3] = (bad[2][3] + 1) % 2013265921;
    assert.ok(!verifyLeafPath(t.root, row, t.leaves[row], bad, 16), "a changed sibling");
  }
  assert.ok(!verifyLeafPath(t.root, 16, t.leaves[0], t.paths[0], 16), "a row past the tree");
  assert.ok(!verifyLeafPath(t.root, -1, t.leaves[0], t.paths[0]), "a negative row");
  assert.ok(!verifyLeafPath(t.root, 0, [1, 2], t.paths[0]), "a malformed leaf");
  // an inner node presented as a leaf, with the shorter path, passes only without the depth
  assert.ok(verifyLeafPath(t.root, 0, levels[1][0], pathIn(levels, 0).slice(1)));
  assert.ok(!verifyLeafPath(t.root, 0, levels[1][0], pathIn(levels, 0).slice(1), 16));
});

test("the users' tree pads with the empty root", () => {
  const roots = v.tree.leaves.slice(0, 3);
  const tree = usersTree(roots);
  assert.deepEqual(tree[0], [...roots, EMPTY_ROOT]);
  assert.deepEqual(usersTree([roots[0]]).at(-1)[0], roots[0]);
});
