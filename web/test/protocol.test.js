// protocol.js's tuned paths against plain references written the slow, obvious way: the
// periodic columns at z (batched and lazy for dense columns) against one extension inverse per
// entry, on random columns of every form the AIR interface allows; the base batch inversion.
// (The verifier's fixtures check the whole protocol against Python; these reach corners the
// example proofs do not: BigInt and negative entries, several dense columns of one cycle,
// y on the subgroup.)
import { test } from "node:test";
import assert from "node:assert/strict";

import { P, mul as fmul, pow as fpow, inv as finv, batchInverse } from "../src/field.js";
import * as E from "../src/ext.js";
import { periodicAt, rootOfUnity, modP } from "../src/protocol.js";

/** A seeded generator of 31-bit values (xorshift), for reproducible cases. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** periodic_at for one column, entry by entry, as the first JS port computed it. */
function referencePeriodic(cycle, z, n) {
  const k = z.length;
  const m = cycle.length;
  const y = E.pow(z, n / m);
  const ym = E.pow(y, m);
  const g = rootOfUnity(Math.log2(m));
  const values = Array.from(cycle, modP);
  if (E.isZero(E.addBase(ym, P - 1))) {
    let point = 1;
    for (let t = 0; t < m; t++) {
      if (point === y[0]) return E.fromBase(k, values[t]);
      point = fmul(point, g);
    }
    throw new Error("unreachable");
  }
  let sum = E.zero(k);
  let gj = 1;
  for (let j = 0; j < m; j++) {
    if (values[j] !== 0) sum = E.add(sum, E.mulBase(E.inv(E.sub(E.fromBase(k, gj), y)), fmul(values[j], gj)));
    gj = fmul(gj, g);
  }
  return E.mul(E.mulBase(E.sub(E.one(k), ym), finv(m)), sum);
}

const airWith = (n, columns) => ({ traceLen: n, periodicColumns: () => columns });

function columnsFor(next, n) {
  const random = (m) => Array.from({ length: m }, () => next() % P);
  const oneHot = (m, j) => Array.from({ length: m }, (_, i) => (i === j ? 1 : 0));
  const big = random(n).map((v, i) => (i % 3 ? BigInt(v) : BigInt(v) + 5n * BigInt(P)));
  const negative = random(n).map((v, i) => (i % 2 ? -v : v + P)); // reduced mod p by the verifier
  const sparse = Array.from({ length: n }, (_, i) => (i % 37 === 5 ? next() % P : 0));
  return [
    Array.from({ length: 8 }, (_, i) => i), // a short table
    oneHot(n, 0), oneHot(n, 3), oneHot(n, n - 1),
    random(n), random(n), Uint32Array.from(random(n)), big, negative, sparse,
    new Array(n).fill(0), random(1), random(2), random(n / 2), [P - 1, 0, 0, 0],
    new Array(n).fill(P - 1), // the lazy sums' largest terms
    Array.from({ length: n }, (_, i) => (i % 2 ? P - 1 : 65535)), // every 16-bit half at its largest
  ];
}

for (const k of [4, 5]) {
  test(`periodicAt in F_p^${k} equals one inverse per entry (dense, sparse, BigInt, negative, typed)`, () => {
    const next = rng(1000 + k);
    for (const n of [8, 64, 1024]) {
      const columns = columnsFor(next, n);
      for (let trial = 0; trial < 3; trial++) {
        const z = Array.from({ length: k }, () => next() % P);
        const got = periodicAt(airWith(n, columns), z);
        assert.equal(got.length, columns.length);
        columns.forEach((c, i) => assert.deepEqual(got[i], referencePeriodic(c, z, n), `n=${n} column ${i}`));
      }
    }
  });

  test(`periodicAt in F_p^${k}: y on the subgroup gives the entry itself`, () => {
    const next = rng(2000 + k);
    const n = 64;
    const columns = columnsFor(next, n);
    const g = rootOfUnity(Math.log2(n));
    for (const power of [0, 1, 5, 63]) {
      const z = E.fromBase(k, fpow(g, power)); // z^n = 1, and every y = z^(n/m) on its subgroup
      const got = periodicAt(airWith(n, columns), z);
      columns.forEach((c, i) => assert.deepEqual(got[i], referencePeriodic(c, z, n), `g^${power} column ${i}`));
    }
  });
}

test("batchInverse: every inverse, and 0 refused", () => {
  const next = rng(7);
  const values = Array.from({ length: 1000 }, () => 1 + (next() % (P - 1)));
  values.push(1, P - 1);
  const got = batchInverse(values);
  values.forEach((v, i) => assert.equal(got[i], finv(v)));
  assert.equal(batchInverse([]).length, 0);
  assert.throws(() => batchInverse([3, 0, 5]), RangeError);
});
