// The verifier's side of stark/protocol.py and the AIR interface of stark/air.py: the
// transcript's start, the out-of-domain point, the zerofiers, the constraint composition at z,
// the periodic columns at z, and the DEEP combination at one queried point.
//
// An AIR in JS is an object with:
//   name (string), traceLen, mainWidth, auxWidth, numAuxChallenges (Numbers);
//   transitionConstraints() -> [{ degree, allRows }];
//   boundaryConstraints() -> [{ column, row, value (Number or BigInt), aux (bool) }];
//   periodicColumns() -> [cycle (Array or typed array of Numbers/BigInts)];
//   publicInputs() -> Uint8Array;
//   lookupFractions() -> Number;
//   evaluateTransition(frame) -> [extension element], frame = { k, main, mainNext, aux,
//     auxNext, periodic, challenges } (every entry an extension element, an Array of k).
import {
  P, add as fadd, mul as fmul, pow as fpow, inv as finv, batchInverse, reduceWide,
} from "./field.js";
import * as E from "./ext.js";
import { Transcript } from "./transcript.js";
import { encodeParams, FORMAT_VERSION } from "./proof.js";
import { ValueError, isPowerOfTwo } from "./params.js";

export const COSET_SHIFT = 31;
export const DOMAIN_TAG = "stark-solvency/babybear/sha256";

/** root_of_unity(logN): 31^((p - 1) >> logN). */
export function rootOfUnity(logN) {
  if (!(logN >= 0 && logN <= 27)) throw new ValueError(`F_p has no 2^${logN}-th roots of unity`);
  return fpow(COSET_SHIFT, (P - 1) / 2 ** logN);
}

/** A value mod p as a Number (a Number or a BigInt, possibly negative). */
export function modP(v) {
  if (typeof v === "bigint") {
    const r = v % BigInt(P);
    return Number(r < 0n ? r + BigInt(P) : r);
  }
  const r = v % P;
  return r < 0 ? r + P : r;
}

/** Air.shape(). */
export function airShape(air) {
  const transitions = air.transitionConstraints();
  return {
    name: air.name,
    trace_len: air.traceLen,
    main_width: air.mainWidth,
    aux_width: air.auxWidth,
    num_aux_challenges: air.numAuxChallenges,
    num_transition_constraints: transitions.length,
    num_boundary_constraints: air.boundaryConstraints().length,
    max_constraint_degree: transitions.length ? Math.max(...transitions.map((c) => c.degree)) : 1,
    num_lookup_fractions: air.lookupFractions(),
  };
}

const boundaryRepr = (b) =>
  `BoundaryConstraint(column=${b.column}, row=${b.row}, value=${b.value}, aux=${b.aux ? "True" : "False"})`;

/** Air.validate_declaration(): throws ValueError with Python's message. */
export function validateDeclaration(air) {
  const n = air.traceLen;
  for (const b of air.boundaryConstraints()) {
    const width = b.aux ? air.auxWidth : air.mainWidth;
    if (!(b.column >= 0 && b.column < width && b.row >= 0 && b.row < n)) {
      throw new ValueError(`${air.name}: boundary constraint ${boundaryRepr(b)} is outside the trace`);
    }
  }
  for (const cycle of air.periodicColumns()) {
    if (!isPowerOfTwo(cycle.length) || cycle.length > n) {
      throw new ValueError(
        `${air.name}: a periodic column's cycle must be a power of two no longer than the trace`,
      );
    }
  }
  if ((air.auxWidth === 0) !== (air.numAuxChallenges === 0)) {
    throw new ValueError(`${air.name}: an auxiliary segment needs challenges and vice versa`);
  }
}

/** _encode_shape: "<IIIIIIIQ". */
export function encodeShape(s) {
  const out = new Uint8Array(36);
  const view = new DataView(out.buffer);
  const fields = [
    s.trace_len, s.main_width, s.aux_width, s.num_aux_challenges,
    s.num_transition_constraints, s.num_boundary_constraints, s.max_constraint_degree,
  ];
  fields.forEach((v, i) => view.setUint32(4 * i, v, true));
  view.setBigUint64(28, BigInt(s.num_lookup_fractions), true);
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The "periodic" absorb's bytes: per column, u32 length, then its values mod p as u32, all
 * little-endian. Written straight into one buffer: at 65,536 users x 22 assets this is 7.9 MB
 * (31 columns, 30 of them 65,536 long), the largest SHA-256 input of the whole check.
 */
function periodicBytes(columns) {
  let size = 0;
  for (const c of columns) size += 4 + 4 * c.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const c of columns) {
    view.setUint32(at, c.length, true);
    at += 4;
    for (let j = 0; j < c.length; j++) {
      const v = c[j];
      view.setUint32(at, typeof v === "number" && v >= 0 && v < P ? v : modP(v), true);
      at += 4;
    }
  }
  return out;
}

/** start_transcript(air, params). */
export function startTranscript(air, params) {
  const shape = airShape(air);
  const t = new Transcript(DOMAIN_TAG);
  t.absorb("format version", Uint8Array.of(FORMAT_VERSION & 0xff, FORMAT_VERSION >> 8));
  t.absorb("params", encodeParams(params));
  t.absorb("air name", new TextEncoder().encode(shape.name));
  t.absorb("air shape", encodeShape(shape));
  t.absorb(
    "transitions",
    Uint8Array.from(air.transitionConstraints().flatMap((c) => [c.degree, c.allRows ? 1 : 0])),
  );
  t.absorb(
    "boundaries",
    concat(
      air.boundaryConstraints().map((b) => {
        const out = new Uint8Array(13);
        const view = new DataView(out.buffer);
        view.setUint32(0, b.column, true);
        view.setUint32(4, b.row, true);
        view.setUint32(8, modP(b.value), true);
        view.setUint8(12, b.aux ? 1 : 0);
        return out;
      }),
    ),
  );
  t.absorb("periodic", periodicBytes(air.periodicColumns()));
  t.absorb("public inputs", air.publicInputs());
  return t;
}

/** [1, z, ..., z^(n-1)]. */
export function extPowers(z, n) {
  const out = [];
  let acc = E.one(z.length);
  for (let i = 0; i < n; i++) {
    out.push(acc);
    acc = E.mul(acc, z);
  }
  return out;
}

/** draw_ood_point: redrawn while z^n = 1 or (z / 31)^N = 1. */
export function drawOodPoint(t, k, n, ldeSize) {
  const shiftInverse = finv(COSET_SHIFT);
  for (;;) {
    const [z] = t.challengeExt(k);
    const onTrace = E.isZero(E.addBase(E.pow(z, n), P - 1));
    const onLde = E.isZero(E.addBase(E.pow(E.mulBase(z, shiftInverse), ldeSize), P - 1));
    if (!onTrace && !onLde) return z;
  }
}

/** zerofiers(air, z): 1 / (z^n - 1), z - g^(n-1), and row -> 1 / (z - g^row). */
export function zerofiers(air, z) {
  const n = air.traceLen;
  const g = rootOfUnity(Math.log2(n));
  const rows = [...new Set(air.boundaryConstraints().map((b) => b.row))].sort((a, b) => a - b);
  const invBoundary = new Map();
  for (const r of rows) invBoundary.set(r, E.inv(E.addBase(z, P - fpow(g, r))));
  return {
    invVanishing: E.inv(E.addBase(E.pow(z, n), P - 1)),
    lastRow: E.addBase(z, P - fpow(g, n - 1)),
    invBoundary,
  };
}

/** composition(air, frame, alphas, zerofiers) at one extension point. */
export function composition(air, frame, alphas, zf) {
  const k = frame.k;
  const specs = air.transitionConstraints();
  const values = air.evaluateTransition(frame);
  if (values.length !== specs.length) {
    throw new ValueError(
      `${air.name}: evaluate_transition returned ${values.length} values ` +
        `for ${specs.length} declared constraints`,
    );
  }
  let most = E.zero(k);
  let every = E.zero(k);
  specs.forEach((c, i) => {
    const term = E.mul(alphas[i], values[i]);
    if (c.allRows) every = E.add(every, term);
    else most = E.add(most, term);
  });
  let total = E.mul(E.add(E.mul(most, zf.lastRow), every), zf.invVanishing);
  const offset = specs.length;
  air.boundaryConstraints().forEach((b, j) => {
    const col = (b.aux ? frame.aux : frame.main)[b.column];
    const term = E.mul(E.sub(col, E.fromBase(k, modP(b.value))), zf.invBoundary.get(b.row));
    total = E.add(total, E.mul(alphas[offset + j], term));
  });
  return total;
}

/**
 * periodic_at(air, z): each periodic column's polynomial at z. A column of cycle m holds the
 * values v_j of a polynomial P of degree < m on the subgroup <g> of order m, and the frame
 * needs P(y) with y = z^(n/m). In barycentric form, for y^m != 1:
 *
 *   P(y) = (1 - y^m) / m * sum_j v_j g^j / (g^j - y),
 *
 * and P(y) = v_j where y = g^j otherwise. Columns are read as Arrays or typed arrays of
 * Numbers or BigInts, reduced mod p. Two ways to the same field element:
 *   - sparse columns (a one-hot selector): one extension inverse per nonzero entry;
 *   - dense columns (a leaf column: every entry nonzero) share, per cycle, the work over j.
 *     With chi and q of ext.js characteristicQuotient(y), 1 / (x - y) = q(x) / chi(x), so
 *       sum_j v_j x_j / (x_j - y) = sum_i q_i T_i,   T_i = sum_j v_j e_ij,   e_ij = x_j^(i+1) / chi(x_j),
 *     where x_j = g^j and chi(x_j) is in the base field: one batch inversion of m base values
 *     for every dense column of that cycle (chi(x_j) != 0 because y^m != 1 keeps y and its
 *     conjugates off the subgroup), then k base products per column and entry, summed lazily.
 */
export function periodicAt(air, z) {
  const n = air.traceLen;
  const columns = air.periodicColumns();
  const out = new Array(columns.length);
  const dense = new Map(); // cycle m -> [[column index, reduced values]]
  columns.forEach((cycle, c) => {
    const m = cycle.length;
    const values = new Uint32Array(m);
    const nonzero = reduceColumn(cycle, values);
    // an extension inverse costs about as much as 20 entries of the shared dense work
    if (nonzero * 20 > m) {
      if (!dense.has(m)) dense.set(m, []);
      dense.get(m).push([c, values]);
    } else {
      out[c] = periodicSparse(values, E.pow(z, n / m));
    }
  });
  for (const [m, group] of dense) {
    const y = E.pow(z, n / m);
    if (E.isZero(E.addBase(E.pow(y, m), P - 1))) {
      for (const [c, values] of group) out[c] = periodicSparse(values, y);
    } else {
      const results = periodicDense(group.map(([, values]) => values), y);
      group.forEach(([c], i) => {
        out[c] = results[i];
      });
    }
  }
  return out;
}

/** A periodic column's entries mod p into `out` (the fast path skips modP); returns how many
 * are nonzero. */
function reduceColumn(cycle, out) {
  let nonzero = 0;
  for (let j = 0; j < out.length; j++) {
    const v = cycle[j];
    const r = typeof v === "number" && v >= 0 && v < P ? v : modP(v);
    out[j] = r;
    if (r !== 0) nonzero++;
  }
  return nonzero;
}

/** One column at y, one extension inverse per nonzero entry (or the entry itself if y^m = 1). */
function periodicSparse(values, y) {
  const m = values.length;
  const k = y.length;
  const ym = E.pow(y, m);
  const g = rootOfUnity(Math.log2(m));
  if (E.isZero(E.addBase(ym, P - 1))) {
    let point = 1;
    for (let t = 0; t < m; t++) {
      if (point === y[0]) return E.fromBase(k, values[t]);
      point = fmul(point, g);
    }
    throw new Error("unreachable: y^m = 1 outside the subgroup");
  }
  let sum = E.zero(k);
  for (let j = 0; j < m; j++) {
    if (values[j] !== 0) {
      const gj = fpow(g, j);
      const gjy = E.sub(E.fromBase(k, gj), y);
      sum = E.add(sum, E.mulBase(E.inv(gjy), fmul(values[j], gj)));
    }
  }
  return E.mul(E.mulBase(E.sub(E.one(k), ym), finv(m)), sum);
}

// Lazy sums: v_j splits into 16-bit halves, so each product with e_ij (< 2^31) is below 2^47
// and exact; 32 of them plus a reduced accumulator stay below 2^53. Reduce every 32 entries.
const LAZY_RUN = 32;

/** Several columns of one cycle m at y (y^m != 1), sharing the work over j (see periodicAt). */
function periodicDense(columns, y) {
  const m = columns[0].length;
  const k = y.length;
  const g = rootOfUnity(Math.log2(m));
  const { chi, q } = E.characteristicQuotient(y);
  const xs = new Float64Array(m);
  const chiAt = new Float64Array(m);
  let x = 1;
  for (let j = 0; j < m; j++) {
    xs[j] = x;
    let acc = 1; // chi is monic: Horner from its leading coefficient
    for (let i = k - 1; i >= 0; i--) acc = fadd(fmul(acc, x), chi[i]);
    chiAt[j] = acc;
    x = fmul(x, g);
  }
  const invChi = batchInverse(chiAt);
  const e = new Float64Array(m * k); // e[j k + i] = x_j^(i+1) / chi(x_j)
  for (let j = 0; j < m; j++) {
    let t = fmul(xs[j], invChi[j]);
    e[j * k] = t;
    for (let i = 1; i < k; i++) {
      t = fmul(t, xs[j]);
      e[j * k + i] = t;
    }
  }
  const scale = E.mulBase(E.sub(E.one(k), E.pow(y, m)), finv(m));
  const lo = new Float64Array(k);
  const hi = new Float64Array(k);
  return columns.map((values) => {
    lo.fill(0);
    hi.fill(0);
    for (let start = 0; start < m; start += LAZY_RUN) {
      const stop = Math.min(m, start + LAZY_RUN);
      for (let j = start; j < stop; j++) {
        const v = values[j];
        const vl = v & 0xffff;
        const vh = v >>> 16;
        const at = j * k;
        for (let i = 0; i < k; i++) {
          lo[i] += vl * e[at + i];
          hi[i] += vh * e[at + i];
        }
      }
      for (let i = 0; i < k; i++) {
        lo[i] = reduceWide(lo[i]);
        hi[i] = reduceWide(hi[i]);
      }
    }
    let sum = E.zero(k);
    for (let i = 0; i < k; i++) {
      const t = reduceWide(hi[i] * 65536 + lo[i]); // < 2^47 + 2^31
      sum = E.add(sum, E.mulBase(q[i], t));
    }
    return E.mul(scale, sum);
  });
}

/** num_deep_terms. */
export function numDeepTerms(shape, domains, params) {
  const width = shape.main_width + shape.aux_width;
  return 2 * width + domains.num_quotient_segments + (params.zk ? 1 : 0);
}
