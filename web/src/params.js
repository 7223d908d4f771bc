// The proof parameters and the domain sizes they imply, as stark/params.py: the presets,
// mask_degree, fri_schedule, Domains.of (with check_fri_invariants) and the rate. Integer
// arithmetic on Numbers: every size here is below 2^53 (N <= 2^27, f^L <= 2^27).
//
// A parameter set is a plain object with StarkParams' field names (extension_degree, blowup,
// num_queries, grinding_bits, folding_factor, remainder_max_len, zk, aux_grinding_bits); a
// shape is one with AirShape's (name, trace_len, main_width, aux_width, num_aux_challenges,
// num_transition_constraints, num_boundary_constraints, max_constraint_degree,
// num_lookup_fractions). Errors are thrown as ValueError with Python's message.
export const TWO_ADICITY = 27;
export const MAX_LOG_TRACE_LEN = 22;

/** Python's ValueError, with its message. */
export class ValueError extends Error {
  constructor(message) {
    super(message);
    this.name = "ValueError";
  }
}

export const PARAM_FIELDS = [
  "extension_degree", "blowup", "num_queries", "grinding_bits", "folding_factor",
  "remainder_max_len", "zk", "aux_grinding_bits",
];

/** PRESETS of stark/params.py, in order (a test compares them with Python's). */
export const PRESETS = new Map([
  ["proven", Object.freeze({
    extension_degree: 5, blowup: 8, num_queries: 100, grinding_bits: 20, folding_factor: 8,
    remainder_max_len: 256, zk: true, aux_grinding_bits: 0,
  })],
  ["fast", Object.freeze({
    extension_degree: 4, blowup: 8, num_queries: 28, grinding_bits: 20, folding_factor: 8,
    remainder_max_len: 256, zk: true, aux_grinding_bits: 8,
  })],
]);
export const DEFAULT_PRESET = "proven";

const isPowerOfTwo = (x) => Number.isInteger(x) && x > 0 && (x & (x - 1)) === 0;
const ceilDiv = (a, b) => Math.floor((a + b - 1) / b);
/** next_power_of_two: 1 << max(0, (x - 1).bit_length()). */
function pow2AtLeast(x) {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** Two parameter sets (plain objects) are equal field by field (the dataclass __eq__). */
export function sameParams(a, b) {
  return PARAM_FIELDS.every((k) => a[k] === b[k]);
}

/** preset_name: the preset whose parameter block is exactly `params`, or null. */
export function presetName(params) {
  for (const [name, p] of PRESETS) if (sameParams(p, params)) return name;
  return null;
}

/**
 * The parameter block of statement.json (a Map from json.js) as check_declared accepts it:
 * exactly a preset's block by value and by JSON type (same_json against dataclasses.asdict:
 * the same keys in any order, integers as JSON integers, zk a boolean). Returns the preset's
 * name and a plain params object, or null when it is none of them.
 */
export function presetOfJson(block) {
  if (!(block instanceof Map)) return null;
  if (block.size !== PARAM_FIELDS.length || !PARAM_FIELDS.every((k) => block.has(k))) return null;
  for (const [name, p] of PRESETS) {
    const same = PARAM_FIELDS.every((k) => {
      const v = block.get(k);
      if (typeof p[k] === "boolean") return v === p[k];
      return typeof v === "bigint" && v === BigInt(p[k]);
    });
    if (same) return { name, params: { ...p } };
  }
  return null;
}

/** mask_degree: 2k + 2q with zero knowledge, 0 without. */
export function maskDegree(params) {
  return params.zk ? 2 * params.extension_degree + 2 * params.num_queries : 0;
}

/** fri_schedule: [L, r], the folds and the remainder's coefficient count. */
export function friSchedule(minDegreeBound, params) {
  const f = params.folding_factor;
  let folds = 0;
  while (ceilDiv(minDegreeBound, f ** folds) > params.remainder_max_len) folds += 1;
  return [folds, ceilDiv(minDegreeBound, f ** folds)];
}

/**
 * Domains.of(params, shape): the sizes of stark/params.py's Domains, as a plain object with
 * its field names (fri_layer_sizes an Array), plus fri_degree_bound and rate; throws
 * ValueError where Python raises it, with its message.
 */
export function domainsOf(params, shape) {
  const n = shape.trace_len;
  const d = shape.max_constraint_degree;
  const [folds, remainderLen] = friSchedule(n + maskDegree(params), params);
  const f = params.folding_factor;
  const degreeBound = remainderLen * f ** folds;
  if (!params.zk && degreeBound !== n) {
    throw new ValueError("without zero knowledge FRI's degree bound must be the trace length");
  }
  const quotientLen = Math.max(d * (degreeBound - 1) + 2 - n, degreeBound - 1);
  const evalSize = Math.max(n, pow2AtLeast(quotientLen));
  const ldeSize = params.blowup * Math.max(n, pow2AtLeast(ceilDiv(15 * degreeBound, 16)));
  if (evalSize > ldeSize || degreeBound > Math.floor(ldeSize / 2)) {
    const need = Math.max(Math.floor(evalSize / n), Math.floor((2 * pow2AtLeast(degreeBound)) / n));
    throw new ValueError(
      `blowup ${params.blowup} is too small for constraints of degree ${d}` +
        (params.zk ? " with zero knowledge" : "") +
        `: need at least ${need}`,
    );
  }
  if (ldeSize > 2 ** TWO_ADICITY) {
    throw new ValueError("the LDE domain exceeds the field's two-adic subgroup");
  }
  const friLayerSizes = [];
  for (let layer = 0; layer < folds; layer++) friLayerSizes.push(ldeSize / f ** layer);
  const domains = {
    trace_len: n,
    hiding: degreeBound - n,
    trace_degree_bound: degreeBound,
    quotient_len: quotientLen,
    eval_size: evalSize,
    num_quotient_segments: ceilDiv(quotientLen, n),
    lde_size: ldeSize,
    fri_layer_sizes: friLayerSizes,
    remainder_len: remainderLen,
    remainder_domain_size: ldeSize / f ** folds,
    blowup: params.blowup,
    folding_factor: f,
  };
  checkFriInvariants(domains);
  domains.fri_degree_bound = domains.remainder_len * f ** friLayerSizes.length;
  domains.rate = domains.fri_degree_bound / domains.lde_size;
  return domains;
}

/** check_fri_invariants: throws ValueError unless every FRI round is a real test. */
export function checkFriInvariants(dom) {
  const f = dom.folding_factor;
  const sizes = [...dom.fri_layer_sizes, dom.remainder_domain_size];
  const problems = [];
  if (sizes[0] !== dom.lde_size) problems.push("the first FRI layer is not the LDE domain");
  let shrinks = true;
  for (let i = 0; i + 1 < sizes.length; i++) {
    if (sizes[i] !== f * sizes[i + 1] || sizes[i] % f) shrinks = false;
  }
  if (!shrinks) problems.push("a FRI layer does not shrink by exactly the folding factor");
  if (dom.remainder_len * f ** dom.fri_layer_sizes.length !== dom.trace_degree_bound) {
    problems.push("FRI's degree bound differs from the committed degree bound");
  }
  if (16 * dom.remainder_domain_size < 15 * dom.blowup * dom.remainder_len) {
    problems.push("the remainder is checked on too few points for the blowup");
  }
  if (2 * dom.remainder_len > dom.remainder_domain_size || dom.remainder_len < 1) {
    problems.push("the remainder check has no redundancy");
  }
  if (problems.length) {
    throw new ValueError("FRI parameters check nothing in some round: " + problems.join("; "));
  }
}

/** AirShape's derived count. */
export const numConstraints = (shape) =>
  shape.num_transition_constraints + shape.num_boundary_constraints;

export { isPowerOfTwo, pow2AtLeast as nextPowerOfTwo };
