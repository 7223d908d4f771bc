// The security estimate of stark/security.py, in the same floating-point operations in the
// same order, and the rounding statement.json applies to it
// (solvency/publication/statement.py::security_block, check.py::same_json).
//
// log2 of a big integer is Python's math.log2(int): the integer rounded to the nearest double
// (Number(BigInt) rounds the same way), then log2. Rounding is Python's: round(x, 2) and
// format(x, ".1f") round the exact binary value half to even (toFixed does not).
import { P } from "./field.js";
import { domainsOf, numConstraints } from "./params.js";

export const HASH_COLLISION_BITS = 128.0;
export const NUM_OPENING_POINTS = 2;
export const REGIMES_NOTE =
  "conjectured: ethSTARK conjecture; provable: unique decoding, every round";
export const SECURITY_FIELDS = ["conjectured_bits", "provable_bits", "terms", "regimes"];

const log2Big = (x) => Math.log2(Number(x));

/** log2 |F| for F = F_p^k. */
export function fieldBits(k) {
  return log2Big(BigInt(P) ** BigInt(k));
}

/** num_fri_batched_polys: the functions DEEP batches into FRI, counted as base columns. */
export function numFriBatchedPolys(params, shape, domains) {
  const k = params.extension_degree;
  const count = 2 * (shape.main_width + k * shape.aux_width) + k * domains.num_quotient_segments;
  return count + (params.zk ? 1 : 0);
}

/** non_fri_terms: ali, deep and (with lookups) logup, in that order. */
export function nonFriTerms(params, shape, domains) {
  const logF = fieldBits(params.extension_degree);
  const traceBound = domains.fri_degree_bound + 1;
  const terms = { ali: logF - Math.log2(Math.max(numConstraints(shape), 1)) };
  const numerator =
    shape.max_constraint_degree * (traceBound + NUM_OPENING_POINTS - 1) + (traceBound - 1);
  const denominator =
    BigInt(P) ** BigInt(params.extension_degree) -
    BigInt(shape.trace_len) -
    BigInt(domains.lde_size);
  terms.deep = log2Big(denominator) - log2Big(BigInt(numerator));
  if (shape.num_lookup_fractions) {
    terms.logup =
      logF - log2Big(BigInt(shape.num_lookup_fractions)) + params.aux_grinding_bits;
  }
  return terms;
}

/** conjectured_bits: winterfell's ConjecturedSecurity for FRI and the non-FRI rounds. */
export function conjecturedBits(params, shape, domains = domainsOf(params, shape)) {
  const fieldCap = fieldBits(params.extension_degree) - Math.log2(domains.lde_size);
  const queryBits = params.num_queries * -Math.log2(domains.rate) + params.grinding_bits;
  const fri = Math.min(fieldCap, queryBits) - 1.0;
  return Math.min(fri, ...Object.values(nonFriTerms(params, shape, domains)), HASH_COLLISION_BITS);
}

/** provable_terms: ali, deep, [logup], fri_batching, fri_folding, fri_query (Python's order). */
export function provableTerms(params, shape, domains = domainsOf(params, shape)) {
  const bigN = domains.lde_size;
  const logF = fieldBits(params.extension_degree);
  const terms = nonFriTerms(params, shape, domains);
  const batched = numFriBatchedPolys(params, shape, domains);
  terms.fri_batching = logF - log2Big(BigInt(Math.max(batched - 1, 1)) * BigInt(bigN));
  const f = params.folding_factor;
  let folding = Infinity;
  for (const size of domains.fri_layer_sizes) {
    folding = Math.min(folding, logF - log2Big(BigInt(f - 1) * BigInt(size)));
  }
  terms.fri_folding = folding;
  const rho = domains.rate;
  terms.fri_query = params.num_queries * -Math.log2((1.0 + rho) / 2.0) + params.grinding_bits;
  return terms;
}

/**
 * estimate_security: { conjectured_bits, provable_bits, terms }; throws ValueError (from
 * domainsOf) where Python's Domains.of raises.
 */
export function estimateSecurity(params, shape) {
  const domains = domainsOf(params, shape);
  const terms = provableTerms(params, shape, domains);
  const provable = Math.min(...Object.values(terms), HASH_COLLISION_BITS);
  return {
    conjectured_bits: conjecturedBits(params, shape, domains),
    provable_bits: provable,
    terms,
  };
}

/** The report's summary() line. */
export function summary(report) {
  return (
    `conjectured ${formatFixed(report.conjectured_bits, 1)} bits (ethSTARK conjecture), ` +
    `provable ${formatFixed(report.provable_bits, 1)} bits (unique decoding)`
  );
}

/**
 * weakest_security over shapes given in Python's order (sorted by repr): the first report
 * with the least (provable, conjectured) bits.
 */
export function weakestSecurity(params, shapes) {
  let best = null;
  for (const shape of shapes) {
    const r = estimateSecurity(params, shape);
    if (
      best === null ||
      r.provable_bits < best.provable_bits ||
      (r.provable_bits === best.provable_bits && r.conjectured_bits < best.conjectured_bits)
    ) {
      best = r;
    }
  }
  return best;
}

/** security_block: the figures rounded to 0.01 bits, an infinite term as null. */
export function securityBlock(report) {
  const terms = {};
  for (const [name, bits] of Object.entries(report.terms)) {
    terms[name] = Number.isFinite(bits) ? pyRound(bits, 2) : null;
  }
  return {
    conjectured_bits: pyRound(report.conjectured_bits, 2),
    provable_bits: pyRound(report.provable_bits, 2),
    terms,
    regimes: REGIMES_NOTE,
  };
}

// -- Python's decimal rounding of a double ------------------------------------------------------

/** The exact value of a finite double as [sign, mantissa BigInt, binary exponent]. */
function decompose(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1 : 1;
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  return [sign, mant, exp];
}

/** round(|x| * 10^digits) half to even, on x's exact binary value, as a BigInt. */
function scaledHalfEven(x, digits) {
  const [, mant, exp] = decompose(x);
  const scaled = mant * 10n ** BigInt(digits);
  if (exp >= 0) return scaled << BigInt(exp);
  const shift = BigInt(-exp);
  const q = scaled >> shift;
  const rem = scaled - (q << shift);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && q & 1n)) return q + 1n;
  return q;
}

/** Python's round(x, digits) for a float x and digits >= 0 (a double; -0.0 kept). */
export function pyRound(x, digits) {
  if (!Number.isFinite(x)) throw new RangeError("cannot round an infinite or NaN float");
  const q = scaledHalfEven(x, digits);
  const value = Number(`${q}e-${digits}`); // correctly rounded, as Python's strtod
  return x < 0 || Object.is(x, -0) ? -value : value;
}

/** Python's format(x, f".{digits}f") for a float x. */
export function formatFixed(x, digits) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const q = scaledHalfEven(x, digits).toString().padStart(digits + 1, "0");
  const body = digits ? `${q.slice(0, -digits)}.${q.slice(-digits)}` : q;
  return (x < 0 || Object.is(x, -0) ? "-" : "") + body;
}

/**
 * same_json for the security block: `declared` as json.js reads it (Maps, BigInt integers,
 * PyFloat floats) against `expected` (securityBlock's plain object): the same keys, numbers
 * within 1e-9 (an integer or a float; never a boolean), null where expected is null, strings
 * equal. Used per field of SECURITY_FIELDS as check_declared does.
 */
export function sameJson(declared, expected) {
  if (expected !== null && typeof expected === "object") {
    if (!(declared instanceof Map)) return false;
    const keys = Object.keys(expected);
    if (declared.size !== keys.length || !keys.every((k) => declared.has(k))) return false;
    return keys.every((k) => sameJson(declared.get(k), expected[k]));
  }
  if (typeof expected === "number") {
    let v;
    if (typeof declared === "bigint") v = Number(declared);
    else if (declared !== null && typeof declared === "object" && "text" in declared) {
      v = declared.value;
    } else return false;
    return Math.abs(v - expected) <= 1e-9;
  }
  return declared === expected;
}
