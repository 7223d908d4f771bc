// Poseidon2 over BabyBear at widths 16 and 24, as circuits/poseidon2.py (docs/poseidon2.md):
//   1. the external linear layer M_E once;
//   2. 4 external rounds: add the round constants to every element, x -> x^7, M_E;
//   3. the partial rounds: add the constant to element 0, x^7 on element 0, M_I;
//   4. 4 external rounds with the final constants.
// M_E: m4 = [[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]] on each block of 4, then add to element i
// the sum of the (i mod 4)-th elements of every block. M_I: x_i -> S + d_i x_i, S the sum.
// Plus the sponge `hashElements` and the Merkle compression `compress` of the same module.
import { P, mul, reduceWide, sbox } from "./field.js";
import { POSEIDON2 } from "./poseidon2_constants.js";

export const WIDTHS = [16, 24];
export const CAPACITY = 8;
export const DIGEST = 8;

if (
  POSEIDON2.field_modulus !== P ||
  POSEIDON2.sbox_degree !== 7 ||
  POSEIDON2.external_rounds !== 8 ||
  JSON.stringify(POSEIDON2.m4) !== "[[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]]"
) {
  throw new Error("poseidon2_constants.js: not the parameter set this code implements");
}

// The permutation works in place on a Float64Array of reduced elements (no allocation per
// round, no `%`: sums are reduced by a floor estimate and one correction, products by `mul`),
// with each width's constants in Float64Arrays. This is the leaves' root's inner loop: 65,535
// width-16 permutations at 65,536 users.
const PARAMS = {};
for (const w of WIDTHS) {
  const c = POSEIDON2.widths[String(w)];
  PARAMS[w] = {
    width: w,
    initial: c.external_initial_constants.map((r) => Float64Array.from(r)),
    internal: Float64Array.from(c.internal_constants),
    final: c.external_final_constants.map((r) => Float64Array.from(r)),
    diagonal: Float64Array.from(c.internal_diagonal),
    scratch: new Float64Array(w), // the module is single-threaded
    sums: new Float64Array(w),
  };
}

/** M_E in place on a reduced state: every intermediate sum below (1 + t/4) 7p < 2^38. */
function externalLinear(s, y) {
  const t = s.length;
  for (let b = 0; b < t; b += 4) {
    const x0 = s[b], x1 = s[b + 1], x2 = s[b + 2], x3 = s[b + 3];
    const t01 = x0 + x1, t23 = x2 + x3;
    const t0123 = t01 + t23;
    const t01123 = t0123 + x1, t01233 = t0123 + x3;
    y[b] = t01123 + t01;
    y[b + 1] = t01123 + x2 + x2;
    y[b + 2] = t01233 + t23;
    y[b + 3] = t01233 + x0 + x0;
  }
  for (let k = 0; k < 4; k++) {
    let sum = 0;
    for (let b = k; b < t; b += 4) sum += y[b];
    for (let b = k; b < t; b += 4) s[b] = reduceWide(y[b] + sum);
  }
}

/** M_I in place: x_i -> S + d_i x_i (S below 24p < 2^36, reduced once; d_i x_i by `mul`). */
function internalLinear(s, diagonal) {
  const t = s.length;
  let total = 0;
  for (let i = 0; i < t; i++) total += s[i];
  total = reduceWide(total);
  for (let i = 0; i < t; i++) {
    const v = total + mul(diagonal[i], s[i]);
    s[i] = v >= P ? v - P : v;
  }
}

function externalRound(s, constants, y) {
  for (let i = 0; i < s.length; i++) {
    const v = s[i] + constants[i];
    s[i] = sbox(v >= P ? v - P : v);
  }
  externalLinear(s, y);
}

/** The permutation in place on a Float64Array of reduced elements of one supported width. */
function permuteInPlace(s, prm) {
  const y = prm.sums;
  externalLinear(s, y);
  for (const c of prm.initial) externalRound(s, c, y);
  const internal = prm.internal;
  for (let r = 0; r < internal.length; r++) {
    const v = s[0] + internal[r];
    s[0] = sbox(v >= P ? v - P : v);
    internalLinear(s, prm.diagonal);
  }
  for (const c of prm.final) externalRound(s, c, y);
}

/**
 * The permutation of one state (an array of 16 or 24 integers). Inputs are read mod p, as
 * Python's `permute` does (the published width-24 known-answer test has an entry above p);
 * returns a new array of reduced elements.
 */
export function permute(state) {
  const prm = PARAMS[state.length];
  if (!prm) throw new RangeError(`Poseidon2 width must be 16 or 24, not ${state.length}`);
  const s = prm.scratch;
  for (let i = 0; i < state.length; i++) {
    const x = state[i];
    if (!Number.isSafeInteger(x)) throw new TypeError("Poseidon2 state elements are integers");
    s[i] = ((x % P) + P) % P;
  }
  permuteInPlace(s, prm);
  return Array.from(s);
}

function checkCanonical(values, what) {
  for (const x of values) {
    if (!Number.isInteger(x) || x < 0 || x >= P) {
      throw new RangeError(`${what}: elements must be canonical, in [0, ${P})`);
    }
  }
}

/**
 * hash_elements: the length-prefixed sponge (capacity 8, rate width - 8). The capacity starts
 * as (m, 0, ..., 0); rate-sized chunks, the last zero-padded, are added to the rate part, one
 * permutation after each; the digest is the first 8 elements of the final state.
 */
export function hashElements(inputs, width = 16) {
  if (!WIDTHS.includes(width)) throw new RangeError(`width must be 16 or 24, not ${width}`);
  const m = inputs.length;
  if (m < 1 || m >= P) throw new RangeError("a hashed input has between 1 and p - 1 elements");
  checkCanonical(inputs, "hashElements");
  const rate = width - CAPACITY;
  let state = new Array(width).fill(0);
  state[rate] = m;
  for (let start = 0; start < m; start += rate) {
    for (let i = 0; i < rate && start + i < m; i++) state[i] = (state[i] + inputs[start + i]) % P;
    state = permute(state);
  }
  return state.slice(0, DIGEST);
}

/** compress(left, right) = P(left || right)[:8] + left, the width-16 permutation. */
export function compress(left, right) {
  if (left.length !== DIGEST || right.length !== DIGEST) {
    throw new RangeError("compress takes two digests of 8 elements");
  }
  checkCanonical(left, "compress");
  checkCanonical(right, "compress");
  return compressCanonical(left, right);
}

/**
 * compress for two digests already known to be 8 canonical elements each (a Merkle tree's
 * nodes, its leaves checked once): the same result without the checks, which cost about a
 * tenth of a permutation.
 */
export function compressCanonical(left, right) {
  const prm = PARAMS[16];
  const s = prm.scratch;
  for (let i = 0; i < DIGEST; i++) {
    s[i] = left[i];
    s[DIGEST + i] = right[i];
  }
  permuteInPlace(s, prm);
  const out = new Array(DIGEST);
  for (let i = 0; i < DIGEST; i++) {
    const v = s[i] + left[i];
    out[i] = v >= P ? v - P : v;
  }
  return out;
}
