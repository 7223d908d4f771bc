import { test } from "node:test";
import assert from "node:assert/strict";
import { P } from "../src/field.js";
import * as E from "../src/ext.js";
import { STARK } from "./stark_fixture.js";

const P_ = BigInt(P);

/** A BigInt reference product in F_p[x]/(x^k - W). */
function refMul(a, b, w) {
  const k = a.length;
  const sums = new Array(2 * k).fill(0n);
  for (let s = 0; s < k; s++) for (let t = 0; t < k; t++) sums[s + t] += BigInt(a[s]) * BigInt(b[t]);
  return Array.from({ length: k }, (_, m) => Number((sums[m] + BigInt(w) * sums[m + k]) % P_));
}

for (const k of [4, 5]) {
  const fx = STARK.ext[String(k)];

  test(`F_p^${k}: W = ${fx.nonresidue}, as stark/field.py`, () => {
    assert.equal(E.NONRESIDUE[k], fx.nonresidue);
    assert.ok(fx.cases.length >= 250);
  });

  test(`F_p^${k}: sums, differences, products, inverses, powers, Frobenius, norms agree with Python`, () => {
    for (const c of fx.cases) {
      const { a, b } = c;
      assert.deepEqual(E.add(a, b), c.sum);
      assert.deepEqual(E.sub(a, b), c.diff);
      assert.deepEqual(E.mul(a, b), c.prod, `${a} * ${b}`);
      assert.deepEqual(E.mul(a, b), refMul(a, b, fx.nonresidue));
      assert.deepEqual(E.mulGeneric(a, b), c.prod);
      assert.deepEqual(E.inv(a), c.inv);
      assert.deepEqual(E.mul(a, c.inv), E.one(k));
      assert.deepEqual(E.pow(a, BigInt(c.e)), c.pow);
      for (let j = 0; j < k; j++) assert.deepEqual(E.frobenius(a, j), c.frob[j]);
      assert.equal(E.norm(a), c.norm);
      assert.ok(E.eq(E.sub(E.add(a, b), b), a));
      if (!E.isZero(b)) assert.deepEqual(E.div(c.prod, b), a);
    }
  });

  test(`F_p^${k}: inverse_of_difference agrees with Python and with 1 / (x - z)`, () => {
    const { z, xs, out } = fx.inverse_of_difference;
    const got = E.inverseOfDifference(xs, z);
    assert.deepEqual(got, out);
    xs.forEach((x, i) => assert.deepEqual(E.inv(E.sub(E.fromBase(k, x), z)), out[i]));
  });

  test(`F_p^${k}: constants, base embedding, edge cases`, () => {
    assert.deepEqual(E.fromBase(k, -1), [P - 1, ...new Array(k - 1).fill(0)]);
    assert.deepEqual(E.mulBase(E.one(k), 5), E.fromBase(k, 5));
    assert.deepEqual(E.addBase(E.zero(k), 3), E.fromBase(k, 3));
    assert.deepEqual(E.neg(E.one(k)), E.fromBase(k, P - 1));
    assert.throws(() => E.inv(E.zero(k)), RangeError);
    assert.ok(E.isZero(E.zero(k)) && !E.isZero(E.one(k)));
    assert.ok(E.isExt(E.one(k), k) && !E.isExt(E.one(k), 9 - k) && !E.isExt([P, 0, 0, 0, 0].slice(0, k), k));
    const x = E.zero(k);
    x[1] = 1; // x^k = W
    assert.deepEqual(E.pow(x, k), E.fromBase(k, E.NONRESIDUE[k]));
    assert.deepEqual(E.pow(x, -1), E.inv(x));
    // a^(p^k - 1) = 1 for a != 0
    assert.deepEqual(E.pow([3, 1, 4, 1, 5].slice(0, k), P_ ** BigInt(k) - 1n), E.one(k));
  });
}

test("unsupported degrees are refused", () => {
  assert.throws(() => E.zero(3), RangeError);
  assert.throws(() => E.mul([1, 2, 3], [1, 2, 3]), RangeError);
});

test("the unrolled products agree with the BigInt schoolbook product on 20,000 random pairs", () => {
  let x = 987654321;
  const next = () => {
    x = (x * 48271) % 2147483647;
    return x % 8 === 0 ? P - 1 - (x % 3) : x % P; // edge values often
  };
  for (const k of [4, 5]) {
    for (let i = 0; i < 10000; i++) {
      const a = Array.from({ length: k }, next);
      const b = Array.from({ length: k }, next);
      const got = E.mul(a, b);
      const want = refMul(a, b, E.NONRESIDUE[k]);
      if (!E.eq(got, want)) assert.fail(`${a} * ${b}: ${got} != ${want}`);
    }
  }
});
