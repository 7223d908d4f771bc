// The binomial extensions F_p[x]/(x^k - W) of stark/field.py: k = 4 with W = 11, k = 5 with
// W = 2. An element is an Array of k base-field Numbers (a_0, ..., a_{k-1}), meaning
// sum a_i x^i, lowest coordinate first: the order of a row of the proof's OOD matrices and of
// the transcript's extension challenges. The degree is the array's length.
import {
  P, add as fadd, sub as fsub, mul as fmul, inv as finv, isElement, reduceWide,
} from "./field.js";

/** The non-residue W of each supported degree (stark/field.py EXTENSION_NONRESIDUE). */
export const NONRESIDUE = Object.freeze({ 4: 11, 5: 2 });

function nonresidue(k) {
  const w = NONRESIDUE[k];
  if (w === undefined) throw new RangeError(`unsupported extension degree ${k}; use 4 or 5`);
  return w;
}

/** Is `a` an element of the degree-k extension (k canonical base elements)? */
export function isExt(a, k) {
  return Array.isArray(a) && a.length === k && a.every(isElement);
}

export function zero(k) {
  nonresidue(k);
  return new Array(k).fill(0);
}

export function one(k) {
  const out = zero(k);
  out[0] = 1;
  return out;
}

/** A base element (a Number in [0, p), or any safe integer, reduced) as a constant polynomial. */
export function fromBase(k, x) {
  const out = zero(k);
  const r = x % P;
  out[0] = r < 0 ? r + P : r;
  return out;
}

export function add(a, b) {
  const out = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = fadd(a[i], b[i]);
  return out;
}

export function sub(a, b) {
  const out = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = fsub(a[i], b[i]);
  return out;
}

export function neg(a) {
  return a.map((v) => (v === 0 ? 0 : P - v));
}

/** a + b for a base element b (only coordinate 0 changes). */
export function addBase(a, b) {
  const out = a.slice();
  out[0] = fadd(a[0], b);
  return out;
}

/** a * b for a base element b. */
export function mulBase(a, b) {
  const out = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = fmul(a[i], b);
  return out;
}

// Unrolled products for k = 4 (W = 11) and k = 5 (W = 2): every term is a reduced product, so a
// coordinate's sum is below 4 * 2^31 + 11 * 3 * 2^31 < 2^37, exact, and reduced once by
// reduceWide (a floor estimate: `%` on a Number above 2^31 is a slow floating-point remainder).
function mul4(a, b) {
  const a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
  const b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
  return [
    reduceWide(fmul(a0, b0) + 11 * (fmul(a1, b3) + fmul(a2, b2) + fmul(a3, b1))),
    reduceWide(fmul(a0, b1) + fmul(a1, b0) + 11 * (fmul(a2, b3) + fmul(a3, b2))),
    reduceWide(fmul(a0, b2) + fmul(a1, b1) + fmul(a2, b0) + 11 * fmul(a3, b3)),
    reduceWide(fmul(a0, b3) + fmul(a1, b2) + fmul(a2, b1) + fmul(a3, b0)),
  ];
}

function mul5(a, b) {
  const a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4];
  const b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], b4 = b[4];
  return [
    reduceWide(fmul(a0, b0) + 2 * (fmul(a1, b4) + fmul(a2, b3) + fmul(a3, b2) + fmul(a4, b1))),
    reduceWide(fmul(a0, b1) + fmul(a1, b0) + 2 * (fmul(a2, b4) + fmul(a3, b3) + fmul(a4, b2))),
    reduceWide(fmul(a0, b2) + fmul(a1, b1) + fmul(a2, b0) + 2 * (fmul(a3, b4) + fmul(a4, b3))),
    reduceWide(fmul(a0, b3) + fmul(a1, b2) + fmul(a2, b1) + fmul(a3, b0) + 2 * fmul(a4, b4)),
    reduceWide(fmul(a0, b4) + fmul(a1, b3) + fmul(a2, b2) + fmul(a3, b1) + fmul(a4, b0)),
  ];
}

/** a * b: out_m = sum_{s+t=m} a_s b_t + W sum_{s+t=m+k} a_s b_t (as _ext_mul_ints). */
export function mul(a, b) {
  const k = a.length;
  if (b.length !== k) throw new RangeError("mixing elements of different extension fields");
  if (k === 5) return mul5(a, b);
  if (k === 4) return mul4(a, b);
  return mulGeneric(a, b);
}

/** The schoolbook product for any supported degree (the reference for mul4 and mul5). */
export function mulGeneric(a, b) {
  const k = a.length;
  const w = nonresidue(k);
  if (b.length !== k) throw new RangeError("mixing elements of different extension fields");
  const sums = new Array(2 * k - 1).fill(0); // each a sum of at most k reduced products < 2^34
  for (let s = 0; s < k; s++) {
    const x = a[s];
    if (x === 0) continue;
    for (let t = 0; t < k; t++) sums[s + t] += fmul(x, b[t]);
  }
  const out = new Array(k);
  for (let m = 0; m < k; m++) {
    const high = m + k < 2 * k - 1 ? sums[m + k] % P : 0;
    out[m] = (sums[m] + w * high) % P; // < 2^34 + 11 * 2^31: exact
  }
  return out;
}

export function square(a) {
  return mul(a, a);
}

/** a^e for an integer e (Number or BigInt); a negative e inverts first, as ExtArray.__pow__. */
export function pow(a, e) {
  let n = BigInt(e);
  let base = a;
  if (n < 0n) {
    base = inv(a);
    n = -n;
  }
  let result = one(a.length);
  while (n > 0n) {
    if (n & 1n) result = mul(result, base);
    n >>= 1n;
    if (n > 0n) base = mul(base, base);
  }
  return result;
}

const frobeniusTables = new Map();

/** frob[j][i] = W^(i (p^j - 1) / k), so that phi^j(sum a_i x^i) = sum a_i frob[j][i] x^i. */
function frobeniusTable(k) {
  let table = frobeniusTables.get(k);
  if (!table) {
    const w = BigInt(nonresidue(k));
    const p = BigInt(P);
    const modpow = (b, e) => {
      let r = 1n;
      b %= p;
      while (e > 0n) {
        if (e & 1n) r = (r * b) % p;
        b = (b * b) % p;
        e >>= 1n;
      }
      return r;
    };
    table = [];
    for (let j = 0; j < k; j++) {
      const row = [];
      for (let i = 0; i < k; i++) row.push(Number(modpow(w, (BigInt(i) * (p ** BigInt(j) - 1n)) / BigInt(k))));
      table.push(row);
    }
    frobeniusTables.set(k, table);
  }
  return table;
}

/** phi^j(a) = a^(p^j): a coordinate-wise scaling in a binomial extension. */
export function frobenius(a, j = 1) {
  const k = a.length;
  const f = frobeniusTable(k)[((j % k) + k) % k];
  return a.map((v, i) => fmul(v, f[i]));
}

/** prod_{j=1}^{k-1} phi^j(a): a times this is the norm N(a), an element of F_p. */
export function conjugateProduct(a) {
  let acc = frobenius(a, 1);
  for (let j = 2; j < a.length; j++) acc = mul(acc, frobenius(a, j));
  return acc;
}

/** N(a) = prod_j phi^j(a), in F_p. */
export function norm(a) {
  return mul(a, conjugateProduct(a))[0];
}

/** a^-1 = conjugateProduct(a) / N(a); throws RangeError on 0 (Python: ZeroDivisionError). */
export function inv(a) {
  const conj = conjugateProduct(a);
  const n = mul(a, conj)[0];
  if (n === 0) throw new RangeError("0 has no inverse");
  return mulBase(conj, finv(n));
}

export function div(a, b) {
  return mul(a, inv(b));
}

export function eq(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function isZero(a) {
  return a.every((v) => v === 0);
}

/**
 * The characteristic polynomial of z and its quotient by (X - z): chi(X) = prod_j (X - phi^j(z))
 * has base coefficients (z's conjugates are its roots), and q(X) = chi(X) / (X - z), so that
 * 1 / (x - z) = q(x) / chi(x) for every base x. This turns an inverse in the extension into one
 * in the base field, which many x can share (a batch inversion). Returns { chi: k + 1 base
 * coefficients, q: k extension coefficients }, lowest degree first.
 */
export function characteristicQuotient(z) {
  const k = z.length;
  let chi = [one(k)]; // lowest degree first
  for (let j = 0; j < k; j++) {
    const root = frobenius(z, j);
    const shifted = [zero(k), ...chi];
    chi = shifted.map((c, i) => (i < chi.length ? sub(c, mul(root, chi[i])) : c));
  }
  if (chi.some((c) => c.some((v, i) => i > 0 && v !== 0))) {
    throw new Error("characteristic polynomial left the base field");
  }
  const q = [chi[k]];
  for (let i = k - 1; i > 0; i--) q.push(add(chi[i], mul(z, q[q.length - 1])));
  q.reverse();
  return { chi: chi.map((c) => c[0]), q };
}

/**
 * inverse_of_difference: 1 / (x - z) for each base element x of `xs` and one extension element
 * z, as stark/field.py computes it: chi(X) = prod_j (X - phi^j(z)) has base coefficients, and
 * q(X) = chi(X) / (X - z); the answer is q(x) / chi(x). Returns an Array of elements.
 * Throws RangeError if some x - z is zero (Python: ZeroDivisionError).
 */
export function inverseOfDifference(xs, z) {
  const k = z.length;
  const { chi: chiBase, q } = characteristicQuotient(z);
  return Array.from(xs, (x) => {
    let cx = 0;
    for (let i = chiBase.length - 1; i >= 0; i--) cx = fadd(fmul(cx, x), chiBase[i]);
    if (cx === 0) throw new RangeError("0 has no inverse");
    let qx = zero(k);
    for (let i = q.length - 1; i >= 0; i--) qx = add(mulBase(qx, x), q[i]);
    return mulBase(qx, finv(cx));
  });
}
