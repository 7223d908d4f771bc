// The verifier's side of FRI (stark/fri.py): replay_commit, fold_cosets, evaluate_remainder and
// verify_queries, one query point at a time. Values are extension elements (Arrays of k).
import { P, mul as fmul, pow as fpow, inv as finv } from "./field.js";
import * as E from "./ext.js";
import { u32Bytes } from "./transcript.js";
import { VerificationError } from "./proof.js";
import { verifyRows, saltWidth } from "./stark_merkle.js";
import { COSET_SHIFT, rootOfUnity } from "./protocol.js";

/** s_l = 31^(f^l). */
export function layerShift(layer, f) {
  return fpow(COSET_SHIFT, BigInt(f) ** BigInt(layer));
}

/** The remainder's coefficients (a proof Matrix, remainder_len x k) as elements. */
export function remainderElements(matrix) {
  return matrix.toArrays();
}

/**
 * replay_commit: absorb each FRI root and draw its beta, then absorb the remainder
 * coordinate by coordinate (the transpose of its layout in the proof). Returns the betas.
 */
export function replayCommit(t, roots, remainder, k) {
  const betas = [];
  for (const root of roots) {
    t.absorb("fri root", root);
    betas.push(t.challengeExt(k)[0]);
  }
  const coords = [];
  for (let j = 0; j < k; j++) for (const c of remainder) coords.push(c[j]);
  t.absorb("fri remainder", u32Bytes(coords));
  return betas;
}

/** fold_cosets for one coset: values[m] = f(x_b zeta^m), xInv = 1 / x_b. */
export function foldCoset(values, xInv, beta, f) {
  const k = beta.length;
  const zeta = rootOfUnity(Math.log2(f));
  const zetaInvPowers = [];
  for (let i = 0; i < f; i++) zetaInvPowers.push(fpow(zeta, (f - i) % f));
  const ratio = E.mulBase(beta, xInv);
  let term = E.one(k);
  let acc = E.zero(k);
  for (let j = 0; j < f; j++) {
    let u = values[0];
    for (let m = 1; m < f; m++) u = E.add(u, E.mulBase(values[m], zetaInvPowers[(m * j) % f]));
    acc = E.add(acc, E.mul(term, u));
    term = E.mul(term, ratio);
  }
  return E.mulBase(acc, fpow(f, P - 2));
}

/** evaluate_remainder: Horner at a base point x. */
export function evaluateRemainder(remainder, x) {
  let acc = E.zero(remainder[0] ? remainder[0].length : 0);
  for (let i = remainder.length - 1; i >= 0; i--) acc = E.add(E.mulBase(acc, x), remainder[i]);
  return acc;
}

/**
 * verify_queries: `positions` sorted and distinct, `values` the layer-0 values there (DEEP);
 * throws VerificationError with Python's reasons.
 */
export function verifyQueries(positions, values, roots, openings, betas, remainder, params, dom) {
  const k = params.extension_degree;
  const f = params.folding_factor;
  const salt = saltWidth(params.zk);
  let pos = positions.slice();
  let vals = values;
  dom.fri_layer_sizes.forEach((size, layer) => {
    const root = roots[layer];
    const opening = openings[layer];
    const beta = betas[layer];
    const width = size / f;
    const leaf = pos.map((p) => p % width);
    const slot = pos.map((p) => Math.floor(p / width));
    const leaves = [...new Set(leaf)].sort((a, b) => a - b);
    if (opening.rows.rows !== leaves.length || opening.rows.cols !== salt + f * k) {
      throw new VerificationError(`FRI layer ${layer}: opening has the wrong shape`);
    }
    if (!verifyRows(root, Math.log2(width), leaves, opening.rows, opening.siblings)) {
      throw new VerificationError(`FRI layer ${layer}: Merkle opening does not match the root`);
    }
    const index = new Map(leaves.map((l, i) => [l, i]));
    const cosets = leaves.map((_, i) => {
      const row = opening.rows.row(i);
      const out = [];
      for (let m = 0; m < f; m++) out.push(Array.from(row.subarray(salt + m * k, salt + (m + 1) * k)));
      return out;
    });
    for (let q = 0; q < pos.length; q++) {
      if (!E.eq(cosets[index.get(leaf[q])][slot[q]], vals[q])) {
        throw new VerificationError(`FRI layer ${layer}: value disagrees with the layer before`);
      }
    }
    const shift = layerShift(layer, f);
    const w = rootOfUnity(Math.log2(size));
    const folded = leaves.map((l, i) => foldCoset(cosets[i], finv(fmul(shift, fpow(w, l))), beta, f));
    vals = leaf.map((l) => folded[index.get(l)]);
    pos = leaf;
  });
  const last = dom.fri_layer_sizes.length;
  const shift = layerShift(last, f);
  const w = rootOfUnity(Math.log2(dom.remainder_domain_size));
  for (let q = 0; q < pos.length; q++) {
    const x = fmul(shift, fpow(w, pos[q]));
    if (!E.eq(evaluateRemainder(remainder, x), vals[q])) {
      throw new VerificationError("FRI remainder disagrees with the last layer");
    }
  }
}
