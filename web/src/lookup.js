// circuits/lookup.py's LogUp range check on the verifier's side: the looked-up values
// v_1..v_m of a row are split into helper columns of `group` values each (3, constraints of
// degree 4; or 6 in format 2 when a gadget's constraints reach degree 7 anyway). With the
// challenge alpha and d_i = alpha - v_i:
//
//   helper g:     h_g prod_i d_i - sum_i prod_(k != i) d_k = 0            (degree group + 1)
//   running sum:  (sigma' - sigma - sum_g h_g)(alpha - T) + M = 0          (degree 2)
//
// The cofactors prod_(k != i) d_k are prefix times suffix products, as Python builds them.
import * as E from "./ext.js";

export const GROUP = 3;

export function numHelpers(numValues, group = GROUP) {
  return Math.ceil(numValues / group);
}

/** One constraint per helper column (see the header). */
export function helperConstraints(alpha, values, helpers, group = GROUP) {
  const out = [];
  const count = numHelpers(values.length, group);
  for (let g = 0; g < count; g++) {
    const factors = values.slice(g * group, (g + 1) * group).map((v) => E.sub(alpha, v));
    const prefix = [null]; // prefix[i] = d_0 ... d_(i-1)
    for (const d of factors) prefix.push(prefix[prefix.length - 1] === null ? d : E.mul(prefix[prefix.length - 1], d));
    let suffix = null;
    let sumOfCofactors = null;
    for (let i = factors.length - 1; i >= 0; i--) {
      let cofactor;
      if (prefix[i] !== null && suffix !== null) cofactor = E.mul(prefix[i], suffix);
      else if (prefix[i] !== null) cofactor = prefix[i];
      else if (suffix !== null) cofactor = suffix;
      else cofactor = E.one(alpha.length);
      sumOfCofactors = sumOfCofactors === null ? cofactor : E.add(sumOfCofactors, cofactor);
      suffix = suffix === null ? factors[i] : E.mul(factors[i], suffix);
    }
    out.push(E.sub(E.mul(helpers[g], prefix[prefix.length - 1]), sumOfCofactors));
  }
  return out;
}

/** (sigma' - sigma - sum_g h_g)(alpha - T) + M. */
export function runningSumConstraint(alpha, sigma, sigmaNext, helpers, table, multiplicity) {
  let total = helpers[0];
  for (let g = 1; g < helpers.length; g++) total = E.add(total, helpers[g]);
  return E.add(E.mul(E.sub(E.sub(sigmaNext, sigma), total), E.sub(alpha, table)), multiplicity);
}
