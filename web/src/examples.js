// stark/examples.py's FibonacciAir, ported by hand to the JS AIR interface of protocol.js.
import { P } from "./field.js";
import * as E from "./ext.js";

/** Columns (a, b): a' = b, b' = a + b; a_0 = b_0 = 1 and b_{n-1} = result (public). */
export class FibonacciAir {
  constructor(traceLen, result) {
    if (!(Number.isInteger(traceLen) && traceLen > 0 && (traceLen & (traceLen - 1)) === 0)) {
      throw new RangeError("trace length must be a power of two");
    }
    this.name = "fibonacci";
    this.traceLen = traceLen;
    this.mainWidth = 2;
    this.auxWidth = 0;
    this.numAuxChallenges = 0;
    this.result = ((result % P) + P) % P;
  }

  transitionConstraints() {
    return [{ degree: 1, allRows: false }, { degree: 1, allRows: false }];
  }

  evaluateTransition(f) {
    const [a, b] = f.main;
    return [E.sub(f.mainNext[0], b), E.sub(E.sub(f.mainNext[1], a), b)];
  }

  boundaryConstraints() {
    const n = this.traceLen;
    return [
      { column: 0, row: 0, value: 1, aux: false },
      { column: 1, row: 0, value: 1, aux: false },
      { column: 1, row: n - 1, value: this.result, aux: false },
    ];
  }

  periodicColumns() {
    return [];
  }

  publicInputs() {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.result, true);
    return out;
  }

  lookupFractions() {
    return 0;
  }
}

export const MIMC_ROUNDS = 8;

/** mimc_constants(): (7^(i + 3) + 13 i) mod p. */
export function mimcConstants() {
  const out = [];
  for (let i = 0; i < MIMC_ROUNDS; i++) {
    out.push(Number((7n ** BigInt(i + 3) + 13n * BigInt(i)) % BigInt(P)));
  }
  return out;
}

const powerOfTwo = (n) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** One column x: x' = x^3 + k_i (k periodic, 8 round constants); x_0 = seed, x_{n-1} = output. */
export class MimcAir {
  constructor(traceLen, seed, output) {
    if (!powerOfTwo(traceLen)) throw new RangeError("trace length must be a power of two");
    this.name = "mimc";
    this.traceLen = traceLen;
    this.mainWidth = 1;
    this.auxWidth = 0;
    this.numAuxChallenges = 0;
    this.seed = ((seed % P) + P) % P;
    this.output = ((output % P) + P) % P;
  }

  transitionConstraints() {
    return [{ degree: 3, allRows: false }];
  }

  evaluateTransition(f) {
    const x = f.main[0];
    return [E.sub(E.sub(f.mainNext[0], E.mul(E.mul(x, x), x)), f.periodic[0])];
  }

  boundaryConstraints() {
    return [
      { column: 0, row: 0, value: this.seed, aux: false },
      { column: 0, row: this.traceLen - 1, value: this.output, aux: false },
    ];
  }

  periodicColumns() {
    return [mimcConstants()];
  }

  publicInputs() {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, this.seed, true);
    view.setUint32(4, this.output, true);
    return out;
  }

  lookupFractions() {
    return 0;
  }
}

/**
 * Every value of column v in [0, 2^bits) by a LogUp lookup into T_i = i mod 2^bits (periodic);
 * aux column s with challenge alpha, on every row cyclically:
 * (s' - s)(alpha - v)(alpha - T) - (alpha - T) + m (alpha - v) = 0; s_0 = 0.
 */
export class RangeCheckAir {
  constructor(traceLen, bits) {
    if (!powerOfTwo(traceLen)) throw new RangeError("trace length must be a power of two");
    if (2 ** bits > traceLen) throw new RangeError("the table must fit in the trace");
    this.name = "range-check";
    this.traceLen = traceLen;
    this.mainWidth = 2;
    this.auxWidth = 1;
    this.numAuxChallenges = 1;
    this.bits = bits;
  }

  transitionConstraints() {
    return [{ degree: 3, allRows: true }];
  }

  evaluateTransition(f) {
    const alpha = f.challenges[0];
    const [v, m] = f.main;
    const t = f.periodic[0];
    const [s] = f.aux;
    const [sNext] = f.auxNext;
    const av = E.sub(alpha, v);
    const at = E.sub(alpha, t);
    return [E.add(E.sub(E.mul(E.mul(E.sub(sNext, s), av), at), at), E.mul(m, av))];
  }

  boundaryConstraints() {
    return [{ column: 0, row: 0, value: 0, aux: true }];
  }

  periodicColumns() {
    return [Array.from({ length: 2 ** this.bits }, (_, i) => i)];
  }

  publicInputs() {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, this.bits, true);
    return out;
  }

  lookupFractions() {
    return this.traceLen + 2 ** this.bits;
  }
}
