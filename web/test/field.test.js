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

test("mul (floor-based reduction) agrees with BigInt on 100,000 random pairs", () => {
  let state = 0x9e3779b97f4a7c15n;
  const next = () => {
    // xorshift64*, reproducible
    state ^= state >> 12n;
    state ^= (state << 25n) & 0xffffffffffffffffn;
    state ^= state >> 27n;
    return Number(((state * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 33n) % P;
  };
  const edge = [0, 1, P - 1, P - 2, 65535, 65536, (P - 1) / 2, 2 ** 30];
  for (let i = 0; i < 100000; i++) {
    const a = i < 64 ? edge[i % 8] : next();
    const b = i < 64 ? edge[(i >> 3) % 8] : next();
    const got = mul(a, b);
    assert.ok(isElement(got));
    if (got !== Number((big(a) * big(b)) % P_)) assert.fail(`${a} * ${b}: ${got}`);
  }
});

test("mul near the quotient estimate's edge: products within a few thousand of a multiple of p", () => {
  // a b = q p + r with r tiny or close to p is where floor(a b / p) in floating point can be off
  // by one; small a with b = floor(q p / a) + d gives exactly those products
  let x = 987654321;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  for (let a = 1; a < 4000; a++) {
    for (let t = 0; t < 20; t++) {
      const q = 1 + (next() % a);
      const base = Math.floor((q * P) / a);
      for (let d = -2; d <= 2; d++) {
        const b = base + d;
        if (b < 0 || b >= P) continue;
        assert.equal(mul(a, b), Number((big(a) * big(b)) % P_), `${a} * ${b}`);
        assert.equal(mul(b, a), Number((big(a) * big(b)) % P_), `${b} * ${a}`);
      }
    }
  }
  for (const a of [0, 1, P - 1]) for (const b of [0, 1, P - 1]) assert.equal(big(mul(a, b)), (big(a) * big(b)) % P_);
});

test("pow: a Number exponent (walked as a Number) gives the BigInt exponent's answer", () => {
  const modpow = (a, e) => {
    let r = 1n;
    let b = big(a) % P_;
    for (let k = big(e); k > 0n; k >>= 1n) {
      if (k & 1n) r = (r * b) % P_;
      b = (b * b) % P_;
    }
    return Number(r);
  };
  let x = 424242;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  const exponents = [0, 1, 2, 3, P - 2, P - 1, P, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 200; i++) exponents.push(next(), next() * 4096 + next());
  for (const e of exponents) {
    const a = next() % P;
    assert.equal(pow(a, e), modpow(a, e), `${a}^${e}`);
    assert.equal(pow(a, BigInt(e)), pow(a, e));
  }
  assert.equal(pow(0, 0), 1);
  assert.throws(() => pow(3, 2.5), RangeError); // as BigInt(2.5) refuses it
});
