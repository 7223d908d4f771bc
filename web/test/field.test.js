import { test } from "node:test";
import assert from "node:assert/strict";
import { P, add, sub, mul, pow, inv, reduce, sbox, isElement } from "../src/field.js";

const big = (x) => BigInt(x);
const P_ = BigInt(P);

function* samples() {
  const edge = [0, 1, 2, 65535, 65536, 65537, 2 ** 30, 2 ** 30 + 12345, P - 2, P - 1]; // reduced inputs only;
  for (const a of edge) for (const b of edge) yield [a, b];
  let x = 123456789;
  for (let i = 0; i < 5000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const a = x % P;
    x = (x * 1103515245 + 12345) % 2147483648;
    yield [a, x % P];
  }
}

test("p is BabyBear's", () => {
  assert.equal(P, 15 * 2 ** 27 + 1);
});

test("add, sub, mul agree with BigInt arithmetic", () => {
  for (const [a, b] of samples()) {
    assert.equal(big(add(a, b)), (big(a) + big(b)) % P_);
    assert.equal(big(sub(a, b)), (((big(a) - big(b)) % P_) + P_) % P_);
    assert.equal(big(mul(a, b)), (big(a) * big(b)) % P_, `${a} * ${b}`);
  }
});

test("pow, inv, sbox", () => {
  for (const [a] of samples()) {
    assert.equal(big(sbox(a)), big(a) ** 7n % P_);
    if (a) assert.equal(mul(a, inv(a)), 1);
  }
  assert.equal(pow(31, P - 1), 1); // Fermat
  assert.equal(pow(31, (P - 1) / 2), P - 1); // 31 generates the multiplicative group
  assert.throws(() => inv(0));
});

test("reduce and isElement", () => {
  assert.equal(reduce(-1), P - 1);
  assert.equal(reduce(P), 0);
  assert.equal(reduce(2 ** 40), Number(2n ** 40n % P_));
  assert.ok(isElement(0) && isElement(P - 1));
  assert.ok(!isElement(P) && !isElement(-1) && !isElement(1.5) && !isElement("1"));
});
