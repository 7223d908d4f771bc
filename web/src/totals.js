// circuits/totals.py: the constants of the hiding commitment to a batch's totals, which the batch
// AIR computes in its constraints (solvency_air.js) with a width-16 Poseidon2 sponge, one
// absorption per asset and one for the blinding:
//
//   state = 0^16, state[8] = DOMAIN_TAG (DOMAIN_TAG_2 in format 2), state[9] = K
//   for j in 0..K-1:  state[0:4] += chunks(T'_j) (format 2: state[4:7] += chunks(E_j));
//                     state = P16(state)
//   state[0:8] += blinding;  state = P16(state);  commitment = state[0:8]
//
// with T'_j = T_j + n 2^63 in four 27-bit chunks (three base-512 digits each) and E_j in three.
export const CHUNKS = 4;
export const CHUNK_BITS = 27;
export const WIDTH = 16;
export const BLINDING = 8;
export const DOMAIN_TAG = 0x544f54; // "TOT"
export const DOMAIN_TAG_2 = 0x544f45; // "TOE": version 2, totals and equity
export const EQUITY_CHUNKS = 3;

/** sponge_iv(K, version): the initial state (16 Numbers). */
export function spongeIv(numAssets, version = 1) {
  if (!(numAssets >= 1)) throw new RangeError("the number of assets must be positive");
  if (version !== 1 && version !== 2) throw new RangeError(`no totals commitment version ${version}`);
  const iv = new Array(WIDTH).fill(0);
  iv[8] = version === 1 ? DOMAIN_TAG : DOMAIN_TAG_2;
  iv[9] = numAssets;
  return iv;
}
