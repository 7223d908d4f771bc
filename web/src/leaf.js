// User leaves, as circuits/leaf.py (docs/inclusion.md):
//   idc  = hashElements(encodeId(id) || nonce, width 16)
//   leaf = hashElements(idc || packLimbs(limbs), width 24)   (LEAF_WIDTH, publication/statement.py)
import { P } from "./field.js";
import { hashElements, DIGEST } from "./poseidon2.js";

export const LIMBS = 8; // per asset: limbs 0..6 of 9 bits, limb 7 of 1 bit
export const LIMB_BITS = 9;
export const WIDE_LIMBS = 7;
export const NONCE_ELEMENTS = 5;
export const ID_WIDTH = 16;
export const LEAF_WIDTH = 24;
const OFFSET = 1n << 63n;

/** Does the string have a UTF-8 form (no lone surrogate)? */
export function isWellFormed(text) {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/**
 * encode_id: the UTF-8 byte length L, then the bytes three per element (b0 + 2^8 b1 + 2^16 b2,
 * the last group zero-padded). Throws for a string with no UTF-8 form (a lone surrogate);
 * no Unicode normalisation.
 */
export function encodeId(userId) {
  if (typeof userId !== "string") throw new TypeError("a user id is a string");
  if (!isWellFormed(userId)) throw new RangeError("the user id is not valid Unicode");
  const raw = new TextEncoder().encode(userId);
  const out = [raw.length];
  for (let i = 0; i < raw.length; i += 3) {
    out.push((raw[i] ?? 0) + 256 * (raw[i + 1] ?? 0) + 65536 * (raw[i + 2] ?? 0));
  }
  return out;
}

function checkNonce(nonce) {
  if (
    !Array.isArray(nonce) ||
    nonce.length !== NONCE_ELEMENTS ||
    nonce.some((x) => !Number.isInteger(x) || x < 0 || x >= P)
  ) {
    throw new RangeError(`a nonce is ${NONCE_ELEMENTS} canonical elements`);
  }
}

/** id_commitment: hashElements(encodeId(id) || nonce) at width 16. */
export function idCommitment(userId, nonce) {
  checkNonce(nonce);
  return hashElements([...encodeId(userId), ...nonce], ID_WIDTH);
}

/** offset_limbs of one balance (a BigInt in [-2^63, 2^63)): the 8 limbs of u = e + 2^63. */
export function offsetLimbs(balance) {
  if (typeof balance !== "bigint" || balance < -OFFSET || balance >= OFFSET) {
    throw new RangeError("a balance is a signed 64-bit integer (BigInt)");
  }
  let u = balance + OFFSET;
  const limbs = [];
  for (let l = 0; l < LIMBS; l++) {
    limbs.push(Number(u & 511n));
    u >>= 9n;
  }
  return limbs;
}

/** packing(K): for each packed element its terms [asset, limb, shift] (circuits/leaf.py). */
export function packing(numAssets) {
  if (!(numAssets >= 1)) throw new RangeError("at least one asset");
  const wide = [];
  for (let j = 0; j < numAssets; j++) for (let l = 0; l < WIDE_LIMBS; l++) wide.push([j, l]);
  const bits = [];
  for (let j = 0; j < numAssets; j++) bits.push([j, LIMBS - 1]);
  const count = Math.ceil(wide.length / 3);
  const plan = [];
  for (let e = 0; e < count; e++) {
    const terms = wide.slice(3 * e, 3 * e + 3).map(([j, l], t) => [j, l, LIMB_BITS * t]);
    bits.slice(3 * e, 3 * e + 3).forEach(([j, l], t) => terms.push([j, l, 27 + t]));
    plan.push(terms);
  }
  return plan;
}

/** pack_limbs: K x 8 range-checked limbs -> ceil(7K/3) elements below 2^30. */
export function packLimbs(limbs) {
  for (const asset of limbs) {
    if (!Array.isArray(asset) || asset.length !== LIMBS) throw new RangeError("8 limbs per asset");
    for (let l = 0; l < LIMBS; l++) {
      const v = asset[l];
      const high = l < WIDE_LIMBS ? 512 : 2;
      if (!Number.isInteger(v) || v < 0 || v >= high) {
        throw new RangeError(l < WIDE_LIMBS ? "limbs 0..6 must lie in [0, 512)" : "limb 7 must be 0 or 1");
      }
    }
  }
  return packing(limbs.length).map((terms) =>
    terms.reduce((acc, [j, l, s]) => acc + limbs[j][l] * 2 ** s, 0),
  );
}

/** leaf_hash: hashElements(idc || packLimbs(limbs), width). */
export function leafHash(idc, limbs, width = LEAF_WIDTH) {
  if (idc.length !== DIGEST) throw new RangeError("an id commitment is 8 elements");
  return hashElements([...idc, ...packLimbs(limbs)], width);
}

/** user_leaf (solvency/inclusion.py): the leaf of an id, a nonce and balances (BigInts). */
export function userLeaf(userId, nonce, balances) {
  return leafHash(idCommitment(userId, nonce), balances.map(offsetLimbs), LEAF_WIDTH);
}
