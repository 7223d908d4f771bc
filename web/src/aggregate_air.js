// circuits/aggregate.py's AggregateAir (docs/aggregate.md) ported by hand to the JS AIR
// interface of protocol.js: the aggregation proof of a publication of B batches (aggregate.bin),
// versions 1 (grand totals) and 2 (grand totals and grand gross equities), with or without
// S-box registers in the sponge. The same statement checks and encoding, name, shape,
// public-input bytes, periodic columns, boundary constraints and transition constraint values,
// in Python's order. Checked against web/test/fixtures/aggregate_values.json
// (tests/web/trace_aggregate.py) and the golden aggregation proofs.
//
// The statement (AggregateStatement), a plain object with the dataclass's fields in camelCase:
//   context     Uint8Array, at most 2^16 bytes (solvency/publication/statement.py
//               aggregate_context: the issuer, as_of, snapshot and the batch proofs' SHA-256);
//   numAssets   K, an integer in [1, 200];
//   commitments B Arrays of 8 integers in [0, p) (the batches' C_b), 1 <= B <= 2^14;
//   batchSizes  B integers n_b, powers of two in [512, 2^17] (the batches' users_padded);
//   totals      K integers G_j (BigInt, or Numbers when exact), |G_j| <= N 2^63, N = sum n_b;
//   equity      null or undefined (version 1), or K integers E_j (version 2), with
//               0 <= E_j <= N (2^63 - 1) and 0 <= E_j - G_j <= N 2^63.
// aggregateAir(statement, { sboxRegisters = false }) checks it (ValueError with Python's
// message, in Python's order) and returns the AIR. Publications use sboxRegisters = false
// (solvency/publication/check.py builds AggregateAir(s.aggregate_statement())).
//
// The AIR, one row per batch, m = max(512, next_pow2(B)) rows (rows B..m-1 padding):
//   u[j][l]      the 10 base-512 limbs of T'_bj = T_bj + n_b 2^63 (v2: uE[j][l], 9 limbs of E_bj)
//   blind        the 8 blinding elements of C_b
//   r[j][l]      running sums of u[j][l] down the rows, closed on row j (v2: rE[j][l])
//   carries      on row j: asset j's carries c_l = lo_l + 512 hi_l (v2: cE_l likewise)
//   mult         LogUp multiplicities of the range table [0, 512)
//   sponge       K + 1 width-16 Poseidon2 permutations: totals_commitment(T'_b, blind) (v2: with E_b)
// Constraints, on every row:
//   (1 - active) sum_jl u[j][l] = 0                                padding limbs are zero
//   (1 - sel_j)(r'[j][l] - r[j][l] - u[j][l]) = 0                  running sums (v2: rE, uE)
//   sum_j sel_j (r[j][l] + u[j][l] - d_jl) + (sum_j sel_j)(c_(l-1) - 512 c_l) = 0
//                                      normalisation against G'_j's public digits (v2: E_j's)
//   LogUp helpers and running sum (lookup.js) over every limb and carry cell
//   the sponge's permutations (poseidon2_gadget.js), inputs affine in the limb cells
//   active (digest_i - C_b,i) = 0                                  the published commitment
// periodic columns: the table 0..511 (cycle 512), active, sel_0..sel_(K-1), the 8 commitment
// columns (cycle m); boundaries r[j][l] = 0 (v2: rE[j][l] = 0) on row j + 1, sigma = 0 on row 0.
import { P } from "./field.js";
import * as E from "./ext.js";
import { ValueError } from "./params.js";
import { permutationChain } from "./poseidon2_gadget.js";
import { helperConstraints, numHelpers, runningSumConstraint } from "./lookup.js";
import { BLINDING, CHUNKS, EQUITY_CHUNKS, WIDTH as SPONGE_WIDTH, spongeIv } from "./totals.js";

export const LIMB_BITS = 9;
export const BASE = 512;
export const LIMBS = 10;
export const LIMBS_PER_CHUNK = 3;
export const CARRIES = LIMBS - 1;
export const EQUITY_LIMBS = 9;
export const EQUITY_CARRIES = EQUITY_LIMBS - 1;
export const OFFSET = 1n << 63n;
export const MAX_USER_EQUITY = OFFSET - 1n;
export const MIN_TRACE_LEN = BASE;
export const MAX_BATCHES = 1 << 14;
export const MAX_ASSETS = 200;
export const MIN_BATCH_ROWS = 512;
export const MAX_BATCH_ROWS = 1 << 17;
export const MAX_CONTEXT_BYTES = 1 << 16;
export const AGGREGATE_TAG = "stark-solvency aggregate v1\0";
export const AGGREGATE_TAG_2 = "stark-solvency aggregate v2\0";
export const DIGEST = 8; // circuits/poseidon2.py: a digest is 8 elements

const range = (start, stop) => Array.from({ length: Math.max(0, stop - start) }, (_, i) => start + i);
const isInteger = (v) => typeof v === "bigint" || Number.isInteger(v);
const big = (v) => (typeof v === "bigint" ? v : BigInt(v));
const abs = (v) => (v < 0n ? -v : v);

/** The base-512 digits of a non-negative integer, lowest first (Numbers); RangeError if more. */
export function limbDigits(x, count = LIMBS) {
  x = big(x);
  if (x < 0n || x >> BigInt(LIMB_BITS * count)) {
    throw new RangeError(`${x} does not fit in ${count} base-${BASE} digits`);
  }
  return range(0, count).map((i) => Number((x >> BigInt(LIMB_BITS * i)) & 511n));
}

/** The public digits of a grand sum for its chain of `count` limbs: the digits of
 * value mod 512^count, with 512 (value >> 9 count), the public final carry, added to the last. */
export function publicDigits(value, count) {
  const bits = BigInt(LIMB_BITS * count);
  const d = limbDigits(value & ((1n << bits) - 1n), count);
  d[count - 1] += BASE * Number(value >> bits);
  return d;
}

/** m = max(512, next_pow2(B)). */
export function paddedRows(numBatches) {
  let m = 1;
  while (m < numBatches) m *= 2;
  return Math.max(MIN_TRACE_LEN, m);
}

/** AggregateStatement.__post_init__: throws ValueError with Python's message, in its order. */
export function checkAggregateStatement(s) {
  if (!(s.context instanceof Uint8Array) || s.context.length > MAX_CONTEXT_BYTES) {
    throw new ValueError(`the context must be at most ${MAX_CONTEXT_BYTES} bytes`);
  }
  const k = s.numAssets;
  const b = s.commitments.length;
  if (!Number.isInteger(k) || !(k >= 1 && k <= MAX_ASSETS)) {
    throw new ValueError(`between 1 and ${MAX_ASSETS} assets are supported`);
  }
  if (!(b >= 1 && b <= MAX_BATCHES)) {
    throw new ValueError(`between 1 and ${MAX_BATCHES} batches are supported, not ${b}`);
  }
  if (s.batchSizes.length !== b) throw new ValueError("one batch size per commitment");
  if (s.totals.length !== k) throw new ValueError("one grand total per asset");
  const ints = [...s.batchSizes, ...s.totals, ...s.commitments.flatMap((c) => [...c])];
  if (!ints.every(isInteger)) {
    throw new ValueError("batch sizes, totals and commitments must be integers");
  }
  for (const c of s.commitments) {
    if (c.length !== DIGEST || [...c].some((v) => !(big(v) >= 0n && big(v) < BigInt(P)))) {
      throw new ValueError(`a commitment is ${DIGEST} field elements in [0, p)`);
    }
  }
  for (const size of s.batchSizes) {
    const n = big(size);
    if (n & (n - 1n) || !(n >= BigInt(MIN_BATCH_ROWS) && n <= BigInt(MAX_BATCH_ROWS))) {
      throw new ValueError(
        `a batch size must be a power of two in [${MIN_BATCH_ROWS}, ${MAX_BATCH_ROWS}]`,
      );
    }
  }
  const bound = rowsTotal(s) * OFFSET;
  if (s.totals.some((t) => abs(big(t)) > bound)) {
    throw new ValueError("a grand total is larger than N balances can sum to");
  }
  if (s.equity !== null && s.equity !== undefined) checkEquity(s);
}

function checkEquity(s) {
  const e = s.equity;
  if (!Array.isArray(e) || e.length !== s.numAssets) {
    throw new ValueError("one grand equity per asset (a tuple)");
  }
  if (!e.every(isInteger)) throw new ValueError("equities must be integers");
  const n = rowsTotal(s);
  e.forEach((value, j) => {
    const eq = big(value);
    if (!(eq >= 0n && eq <= n * MAX_USER_EQUITY)) {
      throw new ValueError(`the equity of asset ${j} is outside [0, N (2^63 - 1)]`);
    }
    const debt = eq - big(s.totals[j]);
    if (!(debt >= 0n && debt <= n * OFFSET)) {
      throw new ValueError(
        `the equity of asset ${j} minus its total (the debt) is outside [0, N 2^63]`,
      );
    }
  });
}

/** N = sum_b n_b (BigInt). */
function rowsTotal(s) {
  return s.batchSizes.reduce((a, n) => a + big(n), 0n);
}

function hasEquity(s) {
  return s.equity !== null && s.equity !== undefined;
}

function leBytes(value, count, signed = false) {
  let v = big(value);
  if (signed && v < 0n) v += 1n << BigInt(8 * count);
  if (v < 0n || v >> BigInt(8 * count)) throw new RangeError(`${value} does not fit in ${count} bytes`);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** AggregateStatement.encode(): tag; K, B, m, 0 (u32 each); u32 context length, the context;
 * per batch n_b and its 8 elements (u32 each); per asset G_j (16 bytes, signed) and, in
 * version 2, E_j (16 bytes). All little-endian. */
export function encodeAggregateStatement(s) {
  const equity = hasEquity(s);
  const out = [...new TextEncoder().encode(equity ? AGGREGATE_TAG_2 : AGGREGATE_TAG)];
  const b = s.commitments.length;
  out.push(...leBytes(s.numAssets, 4), ...leBytes(b, 4), ...leBytes(paddedRows(b), 4), ...leBytes(0, 4));
  out.push(...leBytes(s.context.length, 4), ...s.context);
  s.commitments.forEach((c, i) => {
    out.push(...leBytes(s.batchSizes[i], 4));
    for (const v of c) out.push(...leBytes(v, 4));
  });
  s.totals.forEach((t, j) => {
    out.push(...leBytes(t, 16, true));
    if (equity) out.push(...leBytes(s.equity[j], 16));
  });
  return new Uint8Array(out);
}

/** circuits/aggregate.py Layout: u (v2: uE), blind, r (v2: rE), carries (v2: equity carries),
 * mult, then the sponge. Without equity the v2 blocks are empty. */
export class Layout {
  constructor(numAssets, equity = false) {
    this.numAssets = numAssets;
    this.equity = equity;
    this.equityLimbs = equity ? EQUITY_LIMBS : 0;
    const blindStart = (LIMBS + this.equityLimbs) * numAssets;
    this.blind = range(blindStart, blindStart + BLINDING);
    this.blindStop = blindStart + BLINDING;
    this.carryLo = this.blindStop + (LIMBS + this.equityLimbs) * numAssets;
    this.carryHi = this.carryLo + CARRIES;
    this.carryELo = this.carryHi + CARRIES;
    this.carryEHi = this.carryELo + EQUITY_CARRIES;
    this.mult = this.carryHi + CARRIES + (equity ? 2 * EQUITY_CARRIES : 0);
    this.sponge = this.mult + 1;
  }
  u(j, l) {
    return LIMBS * j + l;
  }
  ue(j, l) {
    return LIMBS * this.numAssets + EQUITY_LIMBS * j + l;
  }
  r(j, l) {
    return this.blindStop + LIMBS * j + l;
  }
  re(j, l) {
    return this.blindStop + LIMBS * this.numAssets + EQUITY_LIMBS * j + l;
  }
  limbCols() {
    return range(0, this.numAssets).map((j) => range(0, LIMBS).map((l) => this.u(j, l)));
  }
  equityCols() {
    if (!this.equity) return null;
    return range(0, this.numAssets).map((j) => range(0, EQUITY_LIMBS).map((l) => this.ue(j, l)));
  }
  rangeChecked() {
    const cols = this.limbCols().flat();
    if (this.equity) cols.push(...this.equityCols().flat());
    return [...cols, ...range(this.carryLo, this.mult)];
  }
}

/** circuits/aggregate.py TotalsCommitmentGadget: totals_commitment computed on one row by K + 1
 * width-16 permutations without input columns, the last committing its 8 digest elements.
 * Permutation j < K takes the previous output (permutation 0: sponge_iv(K, version)) with
 * state[0:4] += asset j's chunks (v2: state[4:7] += its equity chunks); permutation K takes
 * state[0:8] += blind. chunk_c = u_3c + 512 u_3c+1 + 512^2 u_3c+2 (affine in the cells). */
export class TotalsCommitmentGadget {
  constructor(offset, limbCols, blindCols, { sboxRegisters = false, equityCols = null } = {}) {
    this.limbCols = limbCols;
    this.blindCols = blindCols;
    this.numAssets = limbCols.length;
    this.equityCols = equityCols;
    if (equityCols !== null && (equityCols.length !== this.numAssets || equityCols.some((a) => a.length !== EQUITY_LIMBS))) {
      throw new RangeError(`${EQUITY_LIMBS} equity limb columns per asset`);
    }
    this.version = equityCols === null ? 1 : 2;
    this.offset = offset;
    this.sboxRegisters = sboxRegisters;
    this.iv = spongeIv(this.numAssets, this.version);
    Object.assign(this, permutationChain(offset, this.numAssets + 1, SPONGE_WIDTH, sboxRegisters));
  }

  get degree() {
    return this.permutations[0].degree;
  }

  transitionConstraints() {
    return this.permutations.flatMap((g) => g.transitionConstraints());
  }

  /** Asset j's 4 chunks (v2: then its 3 equity chunks) as affine expressions of its cells. */
  chunkExpressions(main, j) {
    const out = packed(main, this.limbCols[j], CHUNKS);
    if (this.equityCols !== null) out.push(...packed(main, this.equityCols[j], EQUITY_CHUNKS));
    return out;
  }

  constraints(main) {
    const ext = main[0].length;
    const out = [];
    let prev = this.iv.map((v) => E.fromBase(ext, v));
    this.permutations.forEach((g, j) => {
      const absorbed = j < this.numAssets ? this.chunkExpressions(main, j) : this.blindCols.map((c) => main[c]);
      const state = prev.map((v, i) => (i < absorbed.length ? E.add(absorbed[i], v) : v));
      out.push(...g.constraints(main, state));
      prev = g.outputCols.map((c) => main[c]);
    });
    return out;
  }
}

/** count chunks of up to 3 limb cells each: sum_i 512^i limb_(3c+i). */
function packed(main, cols, count) {
  return range(0, count).map((c) => {
    const limbs = cols.slice(LIMBS_PER_CHUNK * c, LIMBS_PER_CHUNK * (c + 1));
    let expr = main[limbs[0]];
    for (let i = 1; i < limbs.length; i++) expr = E.add(expr, E.mulBase(main[limbs[i]], BASE ** i));
    return expr;
  });
}

/** AggregateAir(statement, sbox_registers=...) on the verifier's side. */
export class AggregateAir {
  constructor(statement, { sboxRegisters = false } = {}) {
    checkAggregateStatement(statement);
    const s = statement;
    this.statement = s;
    this.k = s.numAssets;
    this.numBatches = s.commitments.length;
    this.equity = hasEquity(s);
    this.version = this.equity ? 2 : 1;
    this.traceLen = paddedRows(this.numBatches);
    this.layout = new Layout(this.k, this.equity);
    const lay = this.layout;
    this.sponge = new TotalsCommitmentGadget(lay.sponge, lay.limbCols(), lay.blind, {
      sboxRegisters,
      equityCols: lay.equityCols(),
    });
    this.sboxRegisters = sboxRegisters;
    this.mainWidth = lay.sponge + this.sponge.numColumns;
    this.rangeCheckedCols = lay.rangeChecked();
    this.numLookups = this.rangeCheckedCols.length;
    this.auxWidth = numHelpers(this.numLookups) + 1;
    this.numAuxChallenges = 1;
    this.name = `solvency-aggregate-v${this.version}${sboxRegisters ? "" : "-noreg"}`;
    this.limbsPerAsset = LIMBS + lay.equityLimbs;
    // public constants: G'_j = G_j + N 2^63 and the digits of the carry chains
    const n = rowsTotal(s);
    this.offsetTotals = s.totals.map((t) => big(t) + n * OFFSET);
    this.totalDigits = this.offsetTotals.map((g) => publicDigits(g, LIMBS));
    this.equityDigits = this.equity ? s.equity.map((e) => publicDigits(big(e), EQUITY_LIMBS)) : [];
  }

  /** [name, [{ degree, allRows }]] in evaluateTransition's order (the names are this port's;
   * tests/web/trace_aggregate.py derives the same from Python's structure). */
  constraintGroups() {
    if (!this.groups) this.groups = this.buildConstraintGroups();
    return this.groups;
  }

  buildConstraintGroups() {
    const group = (name, degree, count) => [name, Array.from({ length: count }, () => ({ degree, allRows: true }))];
    const k = this.k;
    const out = [group("padding limbs are zero", 2, 1), group("running sums", 2, LIMBS * k)];
    if (this.equity) out.push(group("equity running sums", 2, EQUITY_LIMBS * k));
    out.push(group("normalisation", 2, LIMBS));
    if (this.equity) out.push(group("equity normalisation", 2, EQUITY_LIMBS));
    out.push(group("range check", 4, this.auxWidth - 1), group("range check sum", 2, 1));
    this.sponge.permutations.forEach((g, j) => {
      out.push([`sponge permutation ${j}`, g.transitionConstraints()]);
    });
    out.push(group("commitment", 2, DIGEST));
    return out;
  }

  transitionConstraints() {
    return this.constraintGroups().flatMap(([, g]) => g);
  }

  constraintName(index) {
    if (!Number.isInteger(index) || index < 0) throw new RangeError("no such transition constraint");
    for (const [name, g] of this.constraintGroups()) {
      if (index < g.length) return name;
      index -= g.length;
    }
    throw new RangeError("no such transition constraint");
  }

  /** The table 0..511; active (1 on rows < B); one selector per asset (1 on row j); the 8
   * commitment columns (row b < B: C_b's element, padding rows 0). Built once (the caller
   * must not change them), as Python's cached_property. */
  periodicColumns() {
    if (!this.periodic) this.periodic = this.buildPeriodicColumns();
    return this.periodic;
  }

  buildPeriodicColumns() {
    const m = this.traceLen;
    const b = this.numBatches;
    const out = [range(0, BASE), range(0, m).map((i) => (i < b ? 1 : 0))];
    for (let j = 0; j < this.k; j++) out.push(range(0, m).map((i) => (i === j ? 1 : 0)));
    for (let i = 0; i < DIGEST; i++) {
      out.push(range(0, m).map((row) => (row < b ? Number(this.statement.commitments[row][i]) : 0)));
    }
    return out;
  }

  boundaryConstraints() {
    const m = this.traceLen;
    const lay = this.layout;
    const out = [];
    for (let j = 0; j < this.k; j++) {
      for (let l = 0; l < LIMBS; l++) out.push({ column: lay.r(j, l), row: (j + 1) % m, value: 0, aux: false });
    }
    if (this.equity) {
      for (let j = 0; j < this.k; j++) {
        for (let l = 0; l < EQUITY_LIMBS; l++) out.push({ column: lay.re(j, l), row: (j + 1) % m, value: 0, aux: false });
      }
    }
    out.push({ column: this.auxWidth - 1, row: 0, value: 0, aux: true });
    return out;
  }

  /** The statement's encoding and the register flag (one byte). */
  publicInputs() {
    const encoded = encodeAggregateStatement(this.statement);
    const out = new Uint8Array(encoded.length + 1);
    out.set(encoded);
    out[encoded.length] = this.sboxRegisters ? 1 : 0;
    return out;
  }

  lookupFractions() {
    return this.numLookups * this.traceLen + BASE;
  }

  evaluateTransition(f) {
    const ext = f.main[0].length;
    const { k, layout: lay } = this;
    const x = f.main;
    const y = f.mainNext;
    const ONE = E.one(ext);
    const table = f.periodic[0];
    const active = f.periodic[1];
    const selectors = f.periodic.slice(2, 2 + k);
    const commitment = f.periodic.slice(2 + k, 2 + k + DIGEST);
    const out = [];
    // padding rows: the sum of every limb is 0 (each is range-checked, so each is 0)
    let limbSum = E.zero(ext);
    for (const c of lay.limbCols().flat()) limbSum = E.add(limbSum, x[c]);
    if (this.equity) for (const c of lay.equityCols().flat()) limbSum = E.add(limbSum, x[c]);
    out.push(E.mul(E.sub(ONE, active), limbSum));
    // running sums: r' = r + u except on asset j's own row, where the cycle closes
    const runningSums = (limbs, running, cell) => {
      for (let j = 0; j < k; j++) {
        const keep = E.sub(ONE, selectors[j]);
        for (let l = 0; l < limbs; l++) {
          out.push(E.mul(keep, E.sub(E.sub(y[running(j, l)], x[running(j, l)]), x[cell(j, l)])));
        }
      }
    };
    runningSums(LIMBS, (j, l) => lay.r(j, l), (j, l) => lay.u(j, l));
    if (this.equity) runningSums(EQUITY_LIMBS, (j, l) => lay.re(j, l), (j, l) => lay.ue(j, l));
    out.push(...this.normalisation(x, selectors, false));
    if (this.equity) out.push(...this.normalisation(x, selectors, true));
    // the LogUp range check of every limb and carry cell
    const alpha = f.challenges[0];
    const helpers = f.aux.slice(0, this.auxWidth - 1);
    out.push(...helperConstraints(alpha, this.rangeCheckedCols.map((c) => x[c]), helpers));
    const sigma = f.aux[this.auxWidth - 1];
    const sigmaNext = f.auxNext[this.auxWidth - 1];
    out.push(runningSumConstraint(alpha, sigma, sigmaNext, helpers, table, x[lay.mult]));
    // the commitment of this row's limbs and blinding ...
    out.push(...this.sponge.constraints(x));
    // ... is the published C_b on the batch rows
    this.sponge.digestCols.forEach((c, i) => out.push(E.mul(active, E.sub(x[c], commitment[i]))));
    return out;
  }

  /** On row j: S_jl + c_(l-1) - d_jl - 512 c_l = 0 with S_jl = r + u, for the grand totals
   * (10 limbs) or, equity = true, the grand equities (9 limbs). */
  normalisation(x, selectors, equity) {
    const ext = x[0].length;
    const lay = this.layout;
    const limbs = equity ? EQUITY_LIMBS : LIMBS;
    const digits = equity ? this.equityDigits : this.totalDigits;
    const running = equity ? (j, l) => lay.re(j, l) : (j, l) => lay.r(j, l);
    const cell = equity ? (j, l) => lay.ue(j, l) : (j, l) => lay.u(j, l);
    const [lo, hi] = equity ? [lay.carryELo, lay.carryEHi] : [lay.carryLo, lay.carryHi];
    const carry = (l) => E.add(x[lo + l], E.mulBase(x[hi + l], BASE));
    let onAssetRow = E.zero(ext);
    for (const sel of selectors) onAssetRow = E.add(onAssetRow, sel);
    const out = [];
    for (let l = 0; l < limbs; l++) {
      let perAsset = E.zero(ext);
      for (let j = 0; j < this.k; j++) {
        const term = E.sub(E.add(x[running(j, l)], x[cell(j, l)]), E.fromBase(ext, digits[j][l] % P));
        perAsset = E.add(perAsset, E.mul(selectors[j], term));
      }
      let shared = E.zero(ext);
      if (l > 0) shared = E.add(shared, carry(l - 1));
      if (l < limbs - 1) shared = E.sub(shared, E.mulBase(carry(l), BASE));
      out.push(E.add(perAsset, E.mul(onAssetRow, shared)));
    }
    return out;
  }
}

/** The AIR of an aggregation proof: AggregateAir(statement) of circuits/aggregate.py, the
 * statement a plain object as described at the top of this file (ValueError if Python's
 * AggregateStatement refuses it). */
export function aggregateAir(statement, { sboxRegisters = false } = {}) {
  return new AggregateAir(statement, { sboxRegisters });
}
