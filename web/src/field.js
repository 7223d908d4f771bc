// BabyBear arithmetic: p = 15 * 2^27 + 1 = 2013265921, elements as JavaScript Numbers in [0, p).
//
// Numbers are exact integers below 2^53. A sum of two elements is below 2^32 and a sum of a few
// dozen below 2^38: exact. A product of two 31-bit elements is up to 2^62: NOT exact as a
// Number. `mul` therefore splits the second factor into 16-bit halves (no BigInt, no
// Math.imul): a * hi < 2^46, reduced, times 2^16 < 2^47, plus a * lo < 2^47: every
// intermediate below 2^53. Each reduction is `t - floor(t / p) * p` rather than `t % p`
// (2 to 2.6 times faster, docs/browser-verifier.md 1.4): floor(t / p) < 2^18 and its product
// with p are exact, and a floor estimate off by one is fixed by one conditional correction at
// the end (the intermediate stays in (-p, 2p), so the next step stays below 2^48).
// BigInt is used only outside the hot path (balances, ids, indices).

export const P = 2013265921;

/** Is `x` a canonical element (an integer Number in [0, p))? */
export function isElement(x) {
  return Number.isInteger(x) && x >= 0 && x < P;
}

/** x mod p for any safe integer (negative ones too). */
export function reduce(x) {
  const r = x % P;
  return r < 0 ? r + P : r;
}

export function add(a, b) {
  const s = a + b;
  return s >= P ? s - P : s;
}

export function sub(a, b) {
  const d = a - b;
  return d < 0 ? d + P : d;
}

/** a * b mod p, exact for a, b in [0, p): the 16-bit split above. */
export function mul(a, b) {
  const hi = Math.floor(b / 65536);
  const lo = b - hi * 65536;
  let t = a * hi;
  t -= Math.floor(t / P) * P; // in (-p, 2p)
  t = t * 65536 + a * lo; // |t| < 2^48
  t -= Math.floor(t / P) * P;
  if (t >= P) return t - P;
  return t < 0 ? t + P : t;
}

/** a^e mod p for a non-negative integer exponent (square and multiply). */
export function pow(a, e) {
  let result = 1;
  let base = a;
  let k = BigInt(e);
  while (k > 0n) {
    if (k & 1n) result = mul(result, base);
    base = mul(base, base);
    k >>= 1n;
  }
  return result;
}

/** The multiplicative inverse (a != 0), by Fermat: a^(p-2). */
export function inv(a) {
  if (a === 0) throw new RangeError("0 has no inverse");
  return pow(a, P - 2);
}

/**
 * The inverses of many nonzero elements with one `inv` (Montgomery's trick: prefix products,
 * one inversion, then back), in a new Float64Array; 3 multiplications per element instead of
 * about 45 for an inversion each. Throws RangeError if some value is 0.
 */
export function batchInverse(values) {
  const count = values.length;
  const prefix = new Float64Array(count);
  let acc = 1;
  for (let i = 0; i < count; i++) {
    if (values[i] === 0) throw new RangeError("0 has no inverse");
    prefix[i] = acc;
    acc = mul(acc, values[i]);
  }
  let inverse = inv(acc); // 1 / (v_0 ... v_{count-1})
  const out = new Float64Array(count);
  for (let i = count - 1; i >= 0; i--) {
    out[i] = mul(inverse, prefix[i]);
    inverse = mul(inverse, values[i]);
  }
  return out;
}

/** x^7, the Poseidon2 S-box. */
export function sbox(x) {
  const x2 = mul(x, x);
  const x3 = mul(x2, x);
  return mul(mul(x3, x3), x);
}
