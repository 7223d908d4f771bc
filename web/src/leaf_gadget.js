// circuits/leaf.py's LeafHashGadget on the verifier's side: every row's leaf
//
//   leaf = hash_elements(idc || pack_limbs(limbs), width W)        (W = 16 or 24)
//
// computed inside the constraints by a chain of Poseidon2Gadget permutations on the same row.
// The sponge's m = 8 + ceil(7K/3) inputs are the 8 id-commitment cells and the packed limbs,
// each packed element sum 2^s limb(j, l) an affine expression of the host's limb cells
// (`packing(K)` of leaf.js). With rate r = W - 8, permutation 0 takes (chunk 0, zero padding,
// the capacity of sponge_iv(m) = (m, 0, ..., 0)) and permutation k takes
// (output_(k-1)[:r] + chunk k, output_(k-1)[r:]), all expressions (no input columns); the last
// permutation commits only its 8 digest elements (`digestCols`).
//
//   new LeafHashGadget(offset, idcCols (8), limbCols (K x 8), width = 16, { sboxRegisters })
//   fields: offset, width, sboxRegisters, numAssets, numPacked, inputLength, rate,
//     numPermutations, permutations (Poseidon2Gadget), numColumns, digestCols;
//   degree, transitionConstraints(), numConstraints, inputExpressions(main), constraints(main).
import * as E from "./ext.js";
import { packing, LIMBS } from "./leaf.js";
import { permutationChain } from "./poseidon2_gadget.js";

export const DIGEST = 8;
export const CAPACITY = 8;

export class LeafHashGadget {
  constructor(offset, idcCols, limbCols, width = 16, { sboxRegisters = true } = {}) {
    this.idcCols = [...idcCols];
    this.limbCols = limbCols.map((asset) => [...asset]);
    if (this.idcCols.length !== DIGEST) throw new RangeError(`the id commitment takes ${DIGEST} columns`);
    if (!this.limbCols.length || this.limbCols.some((a) => a.length !== LIMBS)) {
      throw new RangeError(`limb_cols must list ${LIMBS} columns for each of K >= 1 assets`);
    }
    this.width = width;
    this.offset = offset;
    this.sboxRegisters = sboxRegisters;
    this.numAssets = this.limbCols.length;
    this.plan = packing(this.numAssets);
    this.numPacked = this.plan.length;
    this.inputLength = DIGEST + this.numPacked;
    this.rate = width - CAPACITY;
    this.numPermutations = Math.ceil(this.inputLength / this.rate);
    Object.assign(this, permutationChain(offset, this.numPermutations, width, sboxRegisters));
    // the packed elements' terms as (column, 2^shift), built once
    this.packedTerms = this.plan.map((terms) => terms.map(([j, l, shift]) => [this.limbCols[j][l], 2 ** shift]));
  }

  get degree() {
    return this.permutations[0].degree;
  }

  transitionConstraints() {
    return this.permutations.flatMap((g) => g.transitionConstraints());
  }

  get numConstraints() {
    return this.permutations.reduce((a, g) => a + g.numConstraints, 0);
  }

  /** The m sponge inputs of a frame row: the idc cells, then the packed limbs. */
  inputExpressions(main) {
    const packed = this.packedTerms.map((terms) => {
      let total = null;
      for (const [col, factor] of terms) {
        const term = factor === 1 ? main[col] : E.mulBase(main[col], factor);
        total = total === null ? term : E.add(total, term);
      }
      return total;
    });
    return [...this.idcCols.map((c) => main[c]), ...packed];
  }

  /** Every permutation's constraints on a frame row, in order. */
  constraints(main) {
    const inputs = this.inputExpressions(main);
    const r = this.rate;
    const ext = main[this.idcCols[0]].length;
    const out = [];
    let prev = null;
    this.permutations.forEach((g, k) => {
      const chunk = inputs.slice(k * r, (k + 1) * r);
      let state;
      if (prev === null) {
        state = [...chunk];
        while (state.length < r) state.push(E.zero(ext));
        state.push(E.fromBase(ext, this.inputLength)); // the capacity: (m, 0, ..., 0)
        while (state.length < this.width) state.push(E.zero(ext));
      } else {
        state = prev.map((p, i) => (i < chunk.length ? E.add(p, chunk[i]) : p));
      }
      for (const v of g.constraints(main, state)) out.push(v);
      prev = g.outputCols.map((c) => main[c]);
    });
    return out;
  }
}
