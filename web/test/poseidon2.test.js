import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { permute, hashElements, compress } from "../src/poseidon2.js";
import { POSEIDON2 } from "../src/poseidon2_constants.js";
import { readJson, sharedVectorsPath } from "./helpers.js";

const data = readJson("circuits/data/poseidon2_babybear.json"); // what the Python code loads

test("the generated constants equal the JSON the Python code loads", () => {
  for (const key of ["field_modulus", "sbox_degree", "external_rounds", "m4"]) {
    assert.deepEqual(POSEIDON2[key], data[key]);
  }
  assert.deepEqual(Object.keys(POSEIDON2.widths).sort(), Object.keys(data.widths).sort());
  for (const [w, v] of Object.entries(data.widths)) {
    const { test_vectors, ...constants } = v;
    assert.deepEqual(POSEIDON2.widths[w], constants, `width ${w}`);
  }
});

function kats(vectors, source) {
  for (const w of ["16", "24"]) {
    const list = vectors.widths[w].test_vectors;
    assert.ok(list.length >= 1);
    for (const [i, v] of list.entries()) {
      assert.deepEqual(permute(v.input), v.output, `${source} width ${w} vector ${i}`);
    }
  }
}

test("known-answer tests of the shared reference vectors (widths 16 and 24)", (t) => {
  const path = sharedVectorsPath();
  if (path === null) {
    t.skip("../shared/vectors not found (set SHARED_VECTORS); the repository's copy is tested below");
    return;
  }
  kats(JSON.parse(readFileSync(path, "utf8")), path);
});

test("known-answer tests of the repository's copy (circuits/data)", () => {
  kats(data, "circuits/data");
});

test("permute refuses other widths; reads inputs mod p", () => {
  assert.throws(() => permute(new Array(8).fill(0)));
  const a = permute(new Array(16).fill(0).map((_, i) => i));
  const b = permute(new Array(16).fill(0).map((_, i) => i + 2013265921));
  assert.deepEqual(a, b);
});

test("hashElements and compress refuse malformed input", () => {
  assert.throws(() => hashElements([], 16));
  assert.throws(() => hashElements([2013265921], 16));
  assert.throws(() => hashElements([1], 20));
  assert.throws(() => compress([1, 2], [3, 4]));
});
