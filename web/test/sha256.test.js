import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Sha256, sha256, toHex, fromHex } from "../src/sha256.js";

const ref = (bytes) => createHash("sha256").update(bytes).digest("hex");

test("known answers", () => {
  assert.equal(toHex(sha256(new Uint8Array(0))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(toHex(sha256(new TextEncoder().encode("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("random messages of every length 0..200 agree with node:crypto", () => {
  for (let len = 0; len <= 200; len++) {
    for (let rep = 0; rep < 5; rep++) {
      const m = new Uint8Array(randomBytes(len));
      assert.equal(toHex(sha256(m)), ref(m), `length ${len}`);
    }
  }
});

test("large messages, and incremental updates split anywhere", () => {
  for (const len of [1 << 16, 1_000_003, (1 << 22) + 17]) {
    const m = new Uint8Array(randomBytes(len));
    assert.equal(toHex(sha256(m)), ref(m), `length ${len}`);
  }
  const m = new Uint8Array(randomBytes(1000));
  for (let trial = 0; trial < 200; trial++) {
    const h = new Sha256();
    let pos = 0;
    while (pos < m.length) {
      const step = Math.floor(Math.random() * 150);
      h.update(m.subarray(pos, pos + step));
      pos += step;
    }
    assert.equal(toHex(h.digest()), ref(m));
  }
  const prefix = new Sha256().update(m.subarray(0, 70));
  const copy = prefix.copy();
  assert.equal(toHex(prefix.update(m.subarray(70)).digest()), ref(m));
  assert.equal(toHex(copy.digest()), ref(m.subarray(0, 70)));
  assert.equal(toHex(sha256(m.subarray(0, 3), m.subarray(3))), ref(m));
  assert.equal(toHex(sha256([1, 2, 3])), ref(Uint8Array.of(1, 2, 3)));
});

test("hex helpers", () => {
  assert.deepEqual(fromHex("00ff10"), Uint8Array.of(0, 255, 16));
  assert.throws(() => fromHex("0"));
  assert.throws(() => fromHex("zz"));
});
