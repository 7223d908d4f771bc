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
