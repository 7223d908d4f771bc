// The golden inclusion files against their golden statements (both publication formats).
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkInclusion, parseAmount } from "../src/inclusion.js";
import { read } from "./helpers.js";

const GOLDEN = [
  ["publication-1", "one-batch", "one-batch-user-0007.json", "user-0007"],
  ["publication-1", "three-batches", "three-batches-user-1299.json", "user-1299"],
  ["publication-2", "one-batch", "one-batch-user-0007.json", "user-0007"],
  ["publication-2", "three-batches", "three-batches-user-1299.json", "user-1299"],
];

for (const [pub, dir, file, user] of GOLDEN) {
  const inclusion = read(`tests/golden/${pub}/${file}`);
  const statement = read(`tests/golden/${pub}/${dir}/statement.json`);
  test(`${pub}/${file} is INCLUDED`, () => {
    const r = checkInclusion(inclusion, statement, user);
    assert.equal(r.verdict, "INCLUDED", r.line);
    assert.equal(r.exit, 0);
    assert.match(r.line, new RegExp(`^INCLUDED: your balances as user '${user}', `));
    const text = checkInclusion(inclusion.toString("utf8"), statement.toString("utf8"));
    assert.equal(text.verdict, "INCLUDED", "text input as well as bytes");
    assert.match(text.notes[0], /^note: this file is for the user id/);
  });
  test(`${pub}/${file}: another user, another row, another balance are NOT INCLUDED`, () => {
    assert.equal(checkInclusion(inclusion, statement, "someone-else").exit, 1);
    const doc = JSON.parse(inclusion.toString("utf8"));
    const moved = { ...doc, row: doc.row ^ 1 };
    const r = checkInclusion(JSON.stringify(moved), statement, user);
    assert.equal(r.verdict, "NOT INCLUDED");
    assert.match(r.line, /do not lead to the published root/);
    const sym = Object.keys(doc.balances)[0];
    const richer = { ...doc, balances: { ...doc.balances, [sym]: "1" + doc.balances[sym].replace("-", "") } };
    assert.equal(checkInclusion(JSON.stringify(richer), statement, user).exit, 1);
  });
  test(`${pub}/${file}: malformed files are input errors (exit 2)`, () => {
    const doc = JSON.parse(inclusion.toString("utf8"));
    for (const bad of [
      "[]",
      "{",
      JSON.stringify({ ...doc, extra: 1 }),
      JSON.stringify({ ...doc, row: 1.0 }).replace(/"row":1/, '"row":1.0'),
      JSON.stringify({ ...doc, batch: true }),
      JSON.stringify({ ...doc, nonce: doc.nonce.toUpperCase() }),
      inclusion.toString("utf8").replace('"format"', '"format": "x", "format"'),
    ]) {
      assert.equal(checkInclusion(bad, statement).exit, 2, bad.slice(0, 80));
    }
    assert.equal(checkInclusion(inclusion, "{}").exit, 2);
  });
}

test("parse_amount", () => {
  assert.equal(parseAmount("150.00000000", 8), 15000000000n);
  assert.equal(parseAmount("-0.5", 2), -50n);
  assert.equal(parseAmount("9223372036854775807", 0), (1n << 63n) - 1n);
  assert.throws(() => parseAmount("9223372036854775808", 0), /outside the range/);
  assert.throws(() => parseAmount("0.001", 2), /more than the asset's 2 decimals/);
  assert.equal(parseAmount("0.100", 1), 1n);
  for (const bad of ["", "1.", ".5", "+1", "1e3", "١", "1 ", " 1", "1\n"]) {
    assert.throws(() => parseAmount(bad, 8), /plain decimal/, JSON.stringify(bad));
  }
});
