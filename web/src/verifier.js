// The generic STARK verifier of stark/verifier.py: verify(air, proof, options) returns nothing
// or throws VerificationError with Python's reason, in Python's order of checks. Any other
// exception inside is turned into "malformed proof: ..." as Python's verify() does (the
// exception's name and message are JavaScript's, not Python's: see web/README.md).
import { mul as fmul, pow as fpow, reduceWide } from "./field.js";
import * as E from "./ext.js";
import { VerificationError, parseProof } from "./proof.js";
import { saltWidth, verifyRows } from "./stark_merkle.js";
import { domainsOf, sameParams, ValueError } from "./params.js";
import { estimateSecurity, formatFixed } from "./security.js";
import {
  COSET_SHIFT, airShape, composition, drawOodPoint, extPowers, numDeepTerms, periodicAt,
  rootOfUnity, startTranscript, validateDeclaration, zerofiers,
} from "./protocol.js";
import { replayCommit, verifyQueries } from "./fri.js";

export const REGIMES = ["provable", "conjectured"];

/** Python's repr of a float (min_bits is a float in every caller): 100 -> "100.0". */
function floatRepr(x) {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  return String(x);
}

/**
 * The phases of `verify`, in order, as it reports them to `onPhase` (for a progress bar, and
 * for web/tools/bench_verify.mjs, which times them).
 */
export const VERIFY_PHASES = Object.freeze([
  "parse proof", "parameters", "transcript start", "transcript replay", "periodic columns at z",
  "constraints at z", "openings", "DEEP", "FRI",
]);

/**
 * verify(air, proof, { acceptedParams, minBits, regime, onPhase }): proof is bytes (Uint8Array
 * or ArrayBuffer) or a parsed proof. At least one of acceptedParams (an Array of parameter
 * objects) and minBits (a Number, Python float) is required, as in Python. onPhase(name), if
 * given, is called as each phase of VERIFY_PHASES begins; it must not throw (its exception
 * would end verify() as "malformed proof", as any other does).
 */
export function verify(
  air, proof, { acceptedParams = null, minBits = null, regime = "provable", onPhase = null } = {},
) {
  if (acceptedParams === null && minBits === null) {
    throw new TypeError("verify() needs accepted_params or min_bits: the verifier decides");
  }
  if (!REGIMES.includes(regime)) throw new ValueError("regime must be one of ('provable', 'conjectured')");
  try {
    verifyInner(air, proof, acceptedParams, minBits, regime, onPhase || (() => {}));
  } catch (e) {
    if (e instanceof VerificationError) throw e;
    throw new VerificationError(`malformed proof: ${e && e.name}: ${e && e.message}`);
  }
}

/** check_acceptable. */
export function checkAcceptable(params, shape, accepted, minBits, regime) {
  if (accepted !== null && !accepted.some((p) => sameParams(p, params))) {
    throw new VerificationError("the proof's parameters are not among the accepted ones");
  }
  try {
    domainsOf(params, shape);
  } catch (e) {
    if (e instanceof ValueError) throw new VerificationError(`unacceptable parameters: ${e.message}`);
    throw e;
  }
  if (minBits !== null) {
    const report = estimateSecurity(params, shape);
    const bits = regime === "provable" ? report.provable_bits : report.conjectured_bits;
    if (bits < minBits) {
      throw new VerificationError(
        `proof parameters give ${formatFixed(bits, 1)} ${regime} bits, below the required ${floatRepr(minBits)}`,
      );
    }
  }
}

function extRows(matrix, k, what, count) {
  if (matrix.rows !== count || matrix.cols !== k) {
    throw new VerificationError(`${what}: expected ${count} values of degree ${k}`);
  }
  return matrix.toArrays();
}

function checkOpening(opening, root, depth, positions, width, salt, what) {
  if (opening.rows.rows !== positions.length || opening.rows.cols !== salt + width) {
    throw new VerificationError(`${what} opening has the wrong shape`);
  }
  if (!verifyRows(root, depth, positions, opening.rows, opening.siblings)) {
    throw new VerificationError(`${what} opening does not match its Merkle root`);
  }
  return positions.map((_, i) => opening.rows.row(i).subarray(salt));
}

const sumOf = (k, terms) => terms.reduce((acc, t) => E.add(acc, t), E.zero(k));

function verifyInner(air, input, accepted, minBits, regime, phase) {
  phase("parse proof");
  const proof = input && input.mainRoot ? input : parseProof(input);
  phase("parameters");
  const params = proof.params;
  try {
    validateDeclaration(air);
  } catch (e) {
    if (e instanceof ValueError) {
      throw new VerificationError(`the AIR's declaration is inconsistent: ${e.message}`);
    }
    throw e;
  }
  const shape = airShape(air);
  checkAcceptable(params, shape, accepted, minBits, regime);
  const dom = domainsOf(params, shape);
  if (proof.logTraceLen !== Math.log2(air.traceLen)) {
    throw new VerificationError("proof is for a different trace length");
  }
  if ((proof.auxRoot === null) !== (air.auxWidth === 0)) {
    throw new VerificationError("aux segment present/absent against the AIR");
  }
  const k = params.extension_degree;
  const n = air.traceLen;
  const bigN = dom.lde_size;
  const width = air.mainWidth + air.auxWidth;
  const segments = dom.num_quotient_segments;
  if (proof.friRoots.length !== dom.fri_layer_sizes.length) {
    throw new VerificationError("wrong number of FRI layers");
  }

  // Replay the transcript.
  phase("transcript start");
  const t = startTranscript(air, params);
  phase("transcript replay");
  t.absorb("main root", proof.mainRoot);
  let challenges = null;
  if (air.auxWidth) {
    if (!t.checkPow(proof.auxPowNonce, params.aux_grinding_bits)) {
      throw new VerificationError("proof-of-work nonce before the aux challenges is invalid");
    }
    t.absorb("aux pow nonce", u64le(proof.auxPowNonce));
    challenges = t.challengeExt(k, air.numAuxChallenges);
    t.absorb("aux root", proof.auxRoot);
  }
  const alphas = extPowers(t.challengeExt(k)[0], shape.num_transition_constraints + shape.num_boundary_constraints);
  t.absorb("quotient root", proof.quotientRoot);
  const z = drawOodPoint(t, k, n, bigN);
  const gz = E.mulBase(z, rootOfUnity(Math.log2(n)));
  const traceZ = extRows(proof.oodTraceZ, k, "trace values at z", width);
  const traceGz = extRows(proof.oodTraceGz, k, "trace values at g*z", width);
  const quotientZ = extRows(proof.oodQuotientZ, k, "quotient values at z", segments);
  const oodBytes = new Uint8Array(
    [proof.oodTraceZ, proof.oodTraceGz, proof.oodQuotientZ].reduce((a, m) => a + 4 * m.data.length, 0),
  );
  let at = 0;
  for (const m of [proof.oodTraceZ, proof.oodTraceGz, proof.oodQuotientZ]) {
    oodBytes.set(m.bytes(), at);
    at += 4 * m.data.length;
  }
  t.absorb("ood values", oodBytes);
  const gammas = extPowers(t.challengeExt(k)[0], numDeepTerms(shape, dom, params));
  const remainder = extRows(proof.friRemainder, k, "FRI remainder", dom.remainder_len);
  const betas = replayCommit(t, proof.friRoots, remainder, k);
  if (!t.checkPow(proof.powNonce, params.grinding_bits)) {
    throw new VerificationError("proof-of-work nonce is invalid");
  }
  t.absorb("pow nonce", u64le(proof.powNonce));
  const positions = [...new Set(t.challengeIndices(params.num_queries, bigN))].sort((a, b) => a - b);

  // The out-of-domain equation.
  phase("periodic columns at z");
  const periodic = periodicAt(air, z);
  phase("constraints at z");
  const frame = {
    k,
    main: traceZ.slice(0, air.mainWidth),
    mainNext: traceGz.slice(0, air.mainWidth),
    aux: air.auxWidth ? traceZ.slice(air.mainWidth) : null,
    auxNext: air.auxWidth ? traceGz.slice(air.mainWidth) : null,
    periodic,
    challenges,
  };
  const expected = composition(air, frame, alphas, zerofiers(air, z));
  const zn = E.pow(z, n);
  let claimed = quotientZ[segments - 1];
  for (let s = segments - 2; s >= 0; s--) claimed = E.add(E.mul(claimed, zn), quotientZ[s]);
  if (!E.eq(expected, claimed)) {
    throw new VerificationError("out-of-domain check failed: constraints do not match the quotient");
  }

  // Openings, then DEEP at each queried point.
  phase("openings");
  const depth = Math.log2(bigN);
  const salt = saltWidth(params.zk);
  const mainX = checkOpening(proof.mainOpening, proof.mainRoot, depth, positions, air.mainWidth, salt, "main trace");
  let auxX = null;
  if (air.auxWidth) {
    auxX = checkOpening(proof.auxOpening, proof.auxRoot, depth, positions, air.auxWidth * k, salt, "aux trace");
  }
  const quotientX = checkOpening(
    proof.quotientOpening, proof.quotientRoot, depth, positions, (segments + (params.zk ? 1 : 0)) * k, salt, "quotient",
  );
  phase("DEEP");
  const gZ = gammas.slice(0, width);
  const gQ = gammas.slice(width, width + segments);
  const gGz = gammas.slice(width + segments, 2 * width + segments);
  const gR = gammas.slice(2 * width + segments);
  const claimedZ = E.add(
    sumOf(k, traceZ.map((v, i) => E.mul(v, gZ[i]))),
    sumOf(k, quotientZ.map((v, s) => E.mul(v, gQ[s]))),
  );
  const claimedGz = sumOf(k, traceGz.map((v, i) => E.mul(v, gGz[i])));
  const wN = rootOfUnity(depth);
  const xs = positions.map((p) => fmul(COSET_SHIFT, fpow(wN, p)));
  const invZ = E.inverseOfDifference(xs, z);
  const invGz = E.inverseOfDifference(xs, gz);
  const weights = deepWeights(k, air.mainWidth, air.auxWidth, segments, gZ, gQ, gGz);
  const lo = new Float64Array(k);
  const hi = new Float64Array(k);
  const deep = positions.map((_, q) => {
    // the sums at z (main, aux, segments) and at g z (main, aux), as lazy dot products
    lo.fill(0);
    hi.fill(0);
    lazyDot(lo, hi, mainX[q], weights.atZ, 0, k);
    if (auxX) lazyDot(lo, hi, auxX[q], weights.atZ, air.mainWidth, k);
    lazyDot(lo, hi, quotientX[q].subarray(0, segments * k), weights.atZ, weights.segmentsAt, k);
    const atZ = finishDot(lo, hi);
    lo.fill(0);
    hi.fill(0);
    lazyDot(lo, hi, mainX[q], weights.atGz, 0, k);
    if (auxX) lazyDot(lo, hi, auxX[q], weights.atGz, air.mainWidth, k);
    const atGz = finishDot(lo, hi);
    let total = E.add(
      E.mul(E.sub(atZ, claimedZ), invZ[q]),
      E.mul(E.sub(atGz, claimedGz), invGz[q]),
    );
    if (quotientX[q].length > segments * k) {
      total = E.add(total, E.mul(gR[0], Array.from(quotientX[q].subarray(segments * k, (segments + 1) * k))));
    }
    return total;
  });
  phase("FRI");
  verifyQueries(positions, deep, proof.friRoots, proof.friOpenings, betas, remainder, params, dom);
}

/**
 * DEEP's weights per opened base value, so that each sum of the DEEP combination at a query is
 * one dot product of the opened rows with fixed extension weights: a main column i carries
 * gamma_i; an aux column c's coordinate j (its value is sum_j coord_j X^j) carries
 * gamma_(main + c) X^j; a quotient segment s's coordinate j carries gamma_Q,s X^j. `atZ` holds
 * main, aux, then segment weights (segments from `segmentsAt`); `atGz` main and aux. Each
 * weight is k coordinates in a Float64Array (weight i at i k).
 */
function deepWeights(k, mainWidth, auxWidth, segments, gZ, gQ, gGz) {
  const auxValues = auxWidth * k;
  const segmentsAt = mainWidth + auxValues;
  const atZ = new Float64Array((segmentsAt + segments * k) * k);
  const atGz = new Float64Array(segmentsAt * k);
  const put = (into, index, e) => into.set(e, index * k);
  const timesX = (e, j) => E.mul(e, Array.from({ length: k }, (_, i) => (i === j ? 1 : 0)));
  for (let i = 0; i < mainWidth; i++) {
    put(atZ, i, gZ[i]);
    put(atGz, i, gGz[i]);
  }
  for (let c = 0; c < auxWidth; c++) {
    for (let j = 0; j < k; j++) {
      put(atZ, mainWidth + c * k + j, timesX(gZ[mainWidth + c], j));
      put(atGz, mainWidth + c * k + j, timesX(gGz[mainWidth + c], j));
    }
  }
  for (let s = 0; s < segments; s++) {
    for (let j = 0; j < k; j++) put(atZ, segmentsAt + s * k + j, timesX(gQ[s], j));
  }
  return { atZ, atGz, segmentsAt };
}

// Lazy dot products: a value v (< 2^31) splits into 16-bit halves, so each product with a weight
// coordinate (< 2^31) is exact, below 2^47; 32 of them plus a reduced sum stay below 2^53.
// Reduce every 32 values: about 2 floating multiply-adds per product instead of a `mul`.
const LAZY_RUN = 32;

/** lo/hi[j] += sum_i low/high half of values[i] * weights[(first + i) k + j], reduced mod p. */
function lazyDot(lo, hi, values, weights, first, k) {
  const count = values.length;
  for (let start = 0; start < count; start += LAZY_RUN) {
    const stop = Math.min(count, start + LAZY_RUN);
    for (let i = start; i < stop; i++) {
      const v = values[i];
      const vl = v & 0xffff;
      const vh = v >>> 16;
      const at = (first + i) * k;
      for (let j = 0; j < k; j++) {
        const w = weights[at + j];
        lo[j] += vl * w;
        hi[j] += vh * w;
      }
    }
    for (let j = 0; j < k; j++) {
      lo[j] = reduceWide(lo[j]);
      hi[j] = reduceWide(hi[j]);
    }
  }
}

/** The element sum hi 2^16 + lo of a lazy dot product. */
function finishDot(lo, hi) {
  const out = new Array(lo.length);
  for (let j = 0; j < lo.length; j++) out[j] = reduceWide(reduceWide(hi[j]) * 65536 + lo[j]);
  return out;
}

function u64le(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}


