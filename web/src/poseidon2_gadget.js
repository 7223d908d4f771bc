// circuits/poseidon2_air.py's Poseidon2Gadget on the verifier's side: one Poseidon2 permutation
// (widths 16 and 24) laid out on one trace row, its constraints evaluated at one out-of-domain
// frame row (extension elements, protocol.js's frame). Layout, from the gadget's offset:
//
//   input                  t columns (unless the caller passes its own input columns, or none)
//   4 external rounds      each: t S-box registers (if any), then the t elements after the round
//   R_p partial rounds     each: 1 S-box register (if any), then the S-box output of element 0
//   4 external rounds      as above; the last round's first `outputWidth` elements are the
//                          output (unless the caller passes its own output columns)
//
// The S-box input x of every round is affine in committed cells (computed inside the
// constraint through the public linear layers). With registers r = x^3 (degree 3):
//   r - x^3 = 0;   s_i - M_E(r^2 x)_i = 0;   y - r^2 x = 0
// without them (degree 7): s_i - M_E(x^7)_i = 0 and y - x^7 = 0. Round constants are constants
// of the expressions; the permutation starts with M_E on the input (circuits/poseidon2.py).
//
// Exported interface (stable: the aggregation AIR's port builds on it):
//   new Poseidon2Gadget(offset, width = 16, { inputCols = null, outputCols = null,
//                       sboxRegisters = true, outputWidth = null } = {})
//     inputCols: null (the gadget owns t input columns at the start of its block), [] (the
//       input is always passed to `constraints` as expressions), or t column indices;
//     outputCols: null (the gadget owns them) or `outputWidth` column indices;
//     outputWidth: commit only the first 8 (say) output elements; null: all t.
//   fields: width, offset, sboxRegisters, partialRounds, outputWidth, ownsInput, inputCols,
//     externalCols ([{ regs: [cols], post: [cols] }], 8 rounds), partialCols ([{ reg: col or
//     null, out: col }]), outputCols, ownsOutput, numColumns (all column indices are Numbers);
//   degree (3 or 7), registerCols, numConstraints;
//   transitionConstraints() -> [{ degree, allRows: true }] (one per constraint, in order);
//   constraints(main, inputs = null) -> [extension element]: `main` indexable by column (an
//     Array of extension elements, each an Array of k Numbers), `inputs` t extension elements
//     used instead of the input columns; the values in Python's order.
//   poseidon2Constants(width) -> { external: 8 rows of t, internal: R_p, diagonal: t } (Numbers);
//   externalLinearExt(xs), internalLinearExt(xs, diagonal): the linear layers on extension
//     elements;
//   permutationChain(offset, count, width, sboxRegisters): a sponge's permutations side by side.
import { P } from "./field.js";
import * as E from "./ext.js";
import { POSEIDON2 } from "./poseidon2_constants.js";
import { DIGEST } from "./poseidon2.js";

export const HALF_EXTERNAL_ROUNDS = 4;
const WIDTHS = [16, 24];
const CONSTANTS = {};

/** The round constants and the internal diagonal of one width (built once). */
export function poseidon2Constants(width) {
  if (!WIDTHS.includes(width)) throw new RangeError(`Poseidon2 width must be 16 or 24, not ${width}`);
  if (!CONSTANTS[width]) {
    const c = POSEIDON2.widths[String(width)];
    CONSTANTS[width] = {
      external: [...c.external_initial_constants, ...c.external_final_constants],
      internal: c.internal_constants,
      diagonal: c.internal_diagonal,
      partialRounds: c.partial_rounds,
    };
  }
  return CONSTANTS[width];
}

/** m4 = [[2,3,1,1],[1,2,3,1],[1,1,2,3],[3,1,1,2]] times (x0..x3), additions only. */
function m4(x0, x1, x2, x3) {
  const t01 = E.add(x0, x1);
  const t23 = E.add(x2, x3);
  const t0123 = E.add(t01, t23);
  const t01123 = E.add(t0123, x1);
  const t01233 = E.add(t0123, x3);
  return [
    E.add(t01123, t01),
    E.add(E.add(t01123, x2), x2),
    E.add(t01233, t23),
    E.add(E.add(t01233, x0), x0),
  ];
}

/** M_E on extension elements: m4 on each block of 4, then the i mod 4 sums of the blocks added. */
export function externalLinearExt(xs) {
  const blocks = [];
  for (let b = 0; b < xs.length; b += 4) blocks.push(m4(xs[b], xs[b + 1], xs[b + 2], xs[b + 3]));
  const sums = [0, 1, 2, 3].map((k) => {
    let s = blocks[0][k];
    for (let b = 1; b < blocks.length; b++) s = E.add(s, blocks[b][k]);
    return s;
  });
  const out = [];
  for (const blk of blocks) for (let k = 0; k < 4; k++) out.push(E.add(blk[k], sums[k]));
  return out;
}

/** M_I on extension elements: x_i -> S + d_i x_i, S the sum. */
export function internalLinearExt(xs, diagonal) {
  let total = xs[0];
  for (let i = 1; i < xs.length; i++) total = E.add(total, xs[i]);
  return xs.map((x, i) => {
    const d = diagonal[i];
    if (d === 1) return E.add(total, x);
    if (d === P - 1) return E.sub(total, x);
    return E.add(total, E.mulBase(x, d));
  });
}

const range = (start, count) => Array.from({ length: count }, (_, i) => start + i);

export class Poseidon2Gadget {
  constructor(offset, width = 16, { inputCols = null, outputCols = null, sboxRegisters = true, outputWidth = null } = {}) {
    const consts = poseidon2Constants(width);
    this.width = width;
    this.offset = offset;
    this.sboxRegisters = sboxRegisters;
    this.partialRounds = consts.partialRounds;
    this.outputWidth = outputWidth === null ? width : outputWidth;
    if (!(this.outputWidth >= 1 && this.outputWidth <= width)) {
      throw new RangeError(`output_width must lie in [1, ${width}]`);
    }
    if (inputCols !== null && inputCols.length !== 0 && inputCols.length !== width) {
      throw new RangeError(`input_cols must name ${width} columns, or none`);
    }
    if (outputCols !== null && outputCols.length !== this.outputWidth) {
      throw new RangeError(`output_cols must name ${this.outputWidth} columns`);
    }
    let col = offset;
    const take = (count) => {
      const cols = range(col, count);
      col += count;
      return cols;
    };
    this.ownsInput = inputCols === null;
    this.inputCols = inputCols === null ? take(width) : [...inputCols];
    const regs = sboxRegisters ? width : 0;
    this.externalCols = [];
    this.partialCols = [];
    for (let r = 0; r < HALF_EXTERNAL_ROUNDS; r++) this.externalCols.push({ regs: take(regs), post: take(width) });
    for (let q = 0; q < this.partialRounds; q++) {
      const reg = sboxRegisters ? take(1)[0] : null;
      this.partialCols.push({ reg, out: take(1)[0] });
    }
    for (let r = 0; r < HALF_EXTERNAL_ROUNDS; r++) {
      const regCols = take(regs);
      const last = r === HALF_EXTERNAL_ROUNDS - 1;
      let post;
      if (last) post = outputCols === null ? take(this.outputWidth) : [...outputCols];
      else post = take(width);
      this.externalCols.push({ regs: regCols, post });
    }
    this.outputCols = this.externalCols[this.externalCols.length - 1].post;
    this.ownsOutput = outputCols === null;
    this.numColumns = col - offset;
    this.constants = consts;
  }

  get degree() {
    return this.sboxRegisters ? 3 : 7;
  }

  /** Every S-box register column (empty without registers). */
  get registerCols() {
    const ext = this.externalCols.flatMap((c) => c.regs);
    return [...ext, ...this.partialCols.filter((c) => c.reg !== null).map((c) => c.reg)];
  }

  get numConstraints() {
    const regs = this.sboxRegisters ? this.width : 0;
    const perExternal = regs + this.width;
    const perPartial = this.sboxRegisters ? 2 : 1;
    return 2 * HALF_EXTERNAL_ROUNDS * perExternal + this.partialRounds * perPartial - (this.width - this.outputWidth);
  }

  /** One constraint per constrained column, all rows (they read one row only). */
  transitionConstraints() {
    const c = { degree: this.degree, allRows: true };
    return Array.from({ length: this.numConstraints }, () => c);
  }

  /** The constraint values on one frame row (see the header), in Python's order. */
  constraints(main, inputs = null) {
    if (inputs === null && this.inputCols.length === 0) {
      throw new RangeError("this gadget has no input columns: pass the input expressions");
    }
    let state = inputs === null ? this.inputCols.map((c) => main[c]) : [...inputs];
    if (state.length !== this.width) throw new RangeError(`the permutation takes ${this.width} inputs`);
    const { external, internal, diagonal } = this.constants;
    const out = [];
    const sbox = (x, regCol) => {
      if (regCol === null) {
        const x2 = E.mul(x, x);
        const x3 = E.mul(x2, x);
        return E.mul(E.mul(x3, x3), x);
      }
      const r = main[regCol];
      out.push(E.sub(r, E.mul(E.mul(x, x), x)));
      return E.mul(E.mul(r, r), x);
    };
    const externalRound = (s, roundConstants, { regs, post }) => {
      const ys = s.map((x, i) => sbox(E.addBase(x, roundConstants[i]), regs.length ? regs[i] : null));
      const mixed = externalLinearExt(ys);
      const next = post.map((c) => main[c]);
      next.forEach((v, i) => out.push(E.sub(v, mixed[i])));
      return next;
    };
    state = externalLinearExt(state);
    for (let r = 0; r < HALF_EXTERNAL_ROUNDS; r++) state = externalRound(state, external[r], this.externalCols[r]);
    this.partialCols.forEach(({ reg, out: yCol }, q) => {
      const y = main[yCol];
      out.push(E.sub(y, sbox(E.addBase(state[0], internal[q]), reg)));
      state = internalLinearExt([y, ...state.slice(1)], diagonal);
    });
    for (let r = HALF_EXTERNAL_ROUNDS; r < 2 * HALF_EXTERNAL_ROUNDS; r++) {
      state = externalRound(state, external[r], this.externalCols[r]);
    }
    return out;
  }
}

/**
 * `count` permutations of width `width` laid side by side from column `offset`, without input
 * columns (each takes expressions: a sponge's absorbs), the last committing only its first
 * DIGEST output elements: the chain the leaf hash and the totals commitment both use.
 * Returns { permutations, numColumns, digestCols }.
 */
export function permutationChain(offset, count, width, sboxRegisters) {
  const permutations = [];
  let col = offset;
  for (let k = 0; k < count; k++) {
    const g = new Poseidon2Gadget(col, width, {
      inputCols: [],
      sboxRegisters,
      outputWidth: k === count - 1 ? DIGEST : null,
    });
    permutations.push(g);
    col += g.numColumns;
  }
  return { permutations, numColumns: col - offset, digestCols: permutations[count - 1].outputCols };
}
