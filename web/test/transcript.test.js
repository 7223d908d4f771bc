import { test } from "node:test";
import assert from "node:assert/strict";
import { Transcript, DOMAIN_TAG, u64, u32Bytes } from "../src/transcript.js";
import { toHex, fromHex } from "../src/sha256.js";
import { STARK } from "./stark_fixture.js";

/** Replay a Python transcript script: every output and every state after each op. */
function replay(ops) {
  const transcripts = [];
  const counts = {};
  for (const [i, op] of ops.entries()) {
    let t = transcripts[op.t];
    counts[op.op] = (counts[op.op] || 0) + 1;
    const where = `op ${i} (${op.op}${op.label !== undefined ? " " + op.label : ""})`;
    switch (op.op) {
      case "init":
        assert.equal(op.t, transcripts.length);
        t = new Transcript(fromHex(op.tag));
        transcripts.push(t);
        break;
      case "absorb":
        t.absorb(op.label, fromHex(op.data));
        break;
      case "field":
        assert.deepEqual(t.challengeField(op.count), op.out, where);
        break;
      case "indices":
        assert.deepEqual(t.challengeIndices(op.count, op.size), op.out, where);
        break;
      case "pow":
        assert.equal(t.checkPow(BigInt(op.nonce), op.bits), op.out, where);
        break;
      default:
        assert.fail(`unknown op ${op.op}`);
    }
    assert.equal(toHex(t.state), op.state, where);
  }
  return counts;
}

test("a random script replays as in Python (absorbs, field/ext/index draws, grinding)", () => {
  const counts = replay(STARK.transcripts.random);
  assert.ok(counts.absorb > 20 && counts.field > 20 && counts.indices > 5 && counts.pow > 10);
  const passing = STARK.transcripts.random.filter((o) => o.op === "pow" && o.out && o.bits === 20);
  assert.ok(passing.length >= 1, "a 20-bit grinding check passes");
});

test("the transcript of a golden proof's verification replays as in Python", () => {
  const ops = STARK.transcripts.golden;
  assert.equal(ops[0].op, "init");
  assert.equal(ops[0].tag, toHex(DOMAIN_TAG));
  const counts = replay(ops);
  assert.ok(counts.absorb >= 10 && counts.field >= 3 && counts.indices === 1);
});

test("extension challenges take k consecutive field elements, lowest coordinate first", () => {
  const a = new Transcript();
  const b = new Transcript();
  const flat = a.challengeField(10);
  assert.deepEqual(b.challengeExt(5, 2), [flat.slice(0, 5), flat.slice(5)]);
  assert.equal(toHex(a.state), toHex(b.state));
});

test("grind finds the smallest passing nonce; bounds of checkPow and indices", () => {
  const t = new Transcript();
  const n = t.grind(8);
  assert.ok(t.checkPow(n, 8));
  for (let m = 0n; m < n; m++) assert.ok(!t.checkPow(m, 8));
  assert.ok(t.checkPow(0, 0));
  assert.ok(!t.checkPow(-1n, 0) && !t.checkPow(1n << 64n, 0) && t.checkPow((1n << 64n) - 1n, 0));
  assert.throws(() => t.challengeIndices(1, 3), RangeError);
  assert.throws(() => t.challengeIndices(1, 2 ** 33), RangeError);
  assert.deepEqual(t.challengeIndices(4, 1), [0, 0, 0, 0]);
  assert.deepEqual(u64(258), Uint8Array.of(2, 1, 0, 0, 0, 0, 0, 0));
  assert.deepEqual(u32Bytes([1, 2 ** 32 - 1]), Uint8Array.of(1, 0, 0, 0, 255, 255, 255, 255));
});
