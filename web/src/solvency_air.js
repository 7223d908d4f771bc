// circuits/solvency.py's SolvencyAir ported by hand to the JS AIR interface of protocol.js: the
// same name, shape, public-input bytes (Statement.encode and the leaves' and hidden totals'
// parts), periodic columns, boundary constraints and transition constraint values, in Python's
// order. Formats 1 and 2 (haircut tables of any tier count), with or without the users' leaves
// (LeafHashGadget, leaf_gadget.js) and with public or hidden totals (the totals' commitment
// sponge, a width-16 Poseidon2Gadget across rows 0..K). Checked against
// web/test/fixtures/air_values.json (tests/web/trace_air.py) and real proofs.
//
// publicationAir(batchStatement, leaves, commitment): solvency/publication/statement.py's
// publication_air, the AIR of one batch of a publication (leaf width 24, no S-box registers:
// LEAF_WIDTH, LEAF_REGISTERS), with
//   batchStatement: the circuit statement of the batch, as `batchStatement(published, b)` builds
//     it from what statement.js's readStatement returns (PublishedStatement.batch(b)):
//     { quote: string, scale: BigInt|Number, symbols: [string], decimals: [Number],
//       prices: [BigInt], totals: [BigInt] (zeros when hidden), traceLen: Number (the batch's
//       users_padded), issuer: string, asOf: string, insecureSeeded: bool,
//       hiddenTotals: bool (several batches), batch: { index, count, snapshot (64 hex digits) }
//       or null, equity: [BigInt] (zeros when hidden) or null (format 1),
//       haircuts: [] or one table or null per asset, a table [{ upTo: BigInt|null,
//       percent: BigInt|Number }] }.
//     batchStatement(published, b) reads from `published` exactly: quote, scale, symbols,
//     decimals, prices, totals, issuer, asOf, insecureSeeded, snapshot, count,
//     batches[b].usersPadded, equity, haircuts.
//   leaves: the batch's leaves.bin as a Uint32Array of traceLen x 8 words (row-major, row i:
//     user i's leaf), every word below p (RangeError otherwise);
//   commitment: 8 Numbers below p (the batch record's commitment, parse_elements_hex) for a
//     hidden-totals statement, else null.
// publicationShape(batchStatement): Air.shape() of that AIR as weakest_security takes it (all-zero
// leaves, a zero commitment when hidden), without building any per-row table.
import { P } from "./field.js";
import * as E from "./ext.js";
import { Poseidon2Gadget } from "./poseidon2_gadget.js";
import { LeafHashGadget } from "./leaf_gadget.js";
import { GROUP, numHelpers, helperConstraints, runningSumConstraint } from "./lookup.js";
import { BLINDING, WIDTH as TOTALS_WIDTH, spongeIv } from "./totals.js";
import { airShape } from "./protocol.js";

export const LIMB_BITS = 9;
export const BASE = 512;
export const LIMBS = 8;
export const OFFSET = 1n << 63n;
export const CARRY_OFFSET = 1 << 20;
export const EQUITY_CARRIES = LIMBS - 2;
export const CHUNK_LIMBS = 3;
export const BALANCE_LIMIT = (1n << 63n) - 1n;
export const LOOKUP_GROUP = GROUP;
export const DIGEST = 8;
export const TOTAL_DIGITS = LIMBS + 2;
export const EQUITY_DIGITS = LIMBS + 1;
export const LEAF_WIDTHS = [16, 24];
export const LEAF_WIDTH = 24;
export const LEAF_REGISTERS = false;
const STATEMENT_TAG = "stark-solvency statement v2\0";
const STATEMENT_TAG_GROSS = "stark-solvency statement v3\0";
const LEAVES_TAG = "stark-solvency leaves v1\0";
const HIDDEN_TOTALS_TAG = "stark-solvency hidden totals v1\0";

const big = (v) => (typeof v === "bigint" ? v : BigInt(v));
const modP = (v) => {
  const r = big(v) % BigInt(P);
  return Number(r < 0n ? r + BigInt(P) : r);
};
const bitLength = (v) => (v <= 0n ? 0 : v.toString(2).length);
const ceilDiv = (a, b) => Math.floor((a + b - 1) / b);
const range = (a, b) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/** The base-512 digits of a non-negative integer, lowest first (Numbers); throws if it needs more. */
export function digits(x, count) {
  x = big(x);
  if (x < 0n || x >> BigInt(LIMB_BITS * count)) {
    throw new RangeError(`${x} does not fit in ${count} base-${BASE} digits`);
  }
  return range(0, count).map((i) => Number((x >> BigInt(LIMB_BITS * i)) & 511n));
}

/** tier_columns(m). */
export function tierColumns(m) {
  return m >= 2 ? m - 1 + 2 * (LIMBS - 1) + 4 : 0;
}

/** circuits/haircut.py Tiers.of (the table as statement.js reads it: [{ upTo, percent }]). */
export function tiersOf(table, decimals) {
  const unit = 10n ** BigInt(decimals);
  const lower = [0n, ...table.slice(0, -1).map((t) => big(t.upTo) * unit)];
  const width = lower.map((a, i) => (i + 1 < lower.length ? lower[i + 1] : BALANCE_LIMIT) - a);
  const ratio = table.map((t) => Number(t.percent));
  const lossBelow = [];
  let loss = 0n;
  width.forEach((w, i) => {
    lossBelow.push(loss);
    loss += BigInt(100 - ratio[i]) * w;
  });
  return { count: table.length, lower, width, ratio, lossBelow };
}

/** circuits/solvency.py Layout: the main trace's columns. */
export class Layout {
  constructor(numAssets, priceDigits, positions, tiers, hiddenTotals = false, totalsRegisters = true) {
    this.numAssets = numAssets;
    this.priceDigits = priceDigits;
    this.positions = positions;
    this.tiers = tiers; // tier counts (0: no table), or null in format 1
    this.hiddenTotals = hiddenTotals;
    this.totalsRegisters = totalsRegisters;
    this.carryLo = 2 * LIMBS * numAssets;
    this.carryHi = this.carryLo + LIMBS - 1;
    this.value = this.carryHi + LIMBS - 1;
    this.kappa = this.value + positions;
    this.mult = this.kappa + 3 * (positions - 1);
    if (this.gross) {
      this.epsLo = this.rEq(numAssets, 0);
      const starts = [this.epsLo + 2 * EQUITY_CARRIES];
      for (const m of tiers) starts.push(starts[starts.length - 1] + tierColumns(m));
      this.tierBlocks = starts;
    }
    this.grossEnd = this.gross ? this.tierBlock(numAssets) : this.mult + 1;
    if (hiddenTotals) {
      this.tot = this.grossEnd;
      this.teq = this.gross ? this.tot + TOTAL_DIGITS : null;
      this.blind = this.tot + TOTAL_DIGITS + (this.gross ? EQUITY_DIGITS : 0);
      this.totalsGadget = new Poseidon2Gadget(this.blind + BLINDING, TOTALS_WIDTH, { sboxRegisters: totalsRegisters });
      this.width = this.totalsGadget.offset + this.totalsGadget.numColumns;
    } else {
      this.width = this.grossEnd;
    }
  }
  get gross() {
    return this.tiers !== null;
  }
  u(j, l) {
    return LIMBS * j + l;
  }
  r(j, l) {
    return LIMBS * (this.numAssets + j) + l;
  }
  rEq(j, l) {
    return this.mult + 1 + (LIMBS - 1) * j + l;
  }
  tierBlock(j) {
    return this.tierBlocks[j];
  }
  selector(j, t) {
    return this.tierBlock(j) + t - 1;
  }
  lo(j, l) {
    return this.tierBlock(j) + this.tiers[j] - 1 + l;
  }
  hi(j, l) {
    return this.lo(j, LIMBS - 1 + l);
  }
  kl(j, c) {
    return this.lo(j, 2 * (LIMBS - 1) + c);
  }
  kh(j, c) {
    return this.kl(j, 2 + c);
  }
  rangeChecked() {
    const k = this.numAssets;
    const cols = [];
    for (let j = 0; j < k; j++) for (let l = 0; l < LIMBS - 1; l++) cols.push(this.u(j, l));
    cols.push(...range(this.carryLo, this.value + this.positions));
    cols.push(...range(this.kappa, this.mult));
    if (this.gross) {
      cols.push(...range(this.epsLo, this.epsLo + 2 * EQUITY_CARRIES));
      this.tiers.forEach((m, j) => {
        if (m >= 2) cols.push(...range(this.lo(j, 0), this.lo(j, 2 * (LIMBS - 1))));
      });
    }
    if (this.hiddenTotals) cols.push(...range(this.tot, this.blind));
    return cols;
  }
  kappa2() {
    return range(this.kappa + 2 * (this.positions - 1), this.mult);
  }
  /** The 8 id-commitment columns, right after the columns above (with leaves only). */
  idc() {
    return range(this.width, this.width + DIGEST);
  }
  limbCols() {
    return range(0, this.numAssets).map((j) => range(0, LIMBS).map((l) => this.u(j, l)));
  }
  leafGadget(width = LEAF_WIDTH, { sboxRegisters = true } = {}) {
    if (!LEAF_WIDTHS.includes(width)) throw new RangeError(`the leaf width must be one of (16, 24), not ${width}`);
    return new LeafHashGadget(this.width + DIGEST, this.idc(), this.limbCols(), width, { sboxRegisters });
  }
}

function utf8Text(value) {
  const raw = new TextEncoder().encode(value);
  if (raw.length > 0xffff) throw new RangeError("text too long");
  return [raw.length & 0xff, raw.length >> 8, ...raw];
}

function le(value, bytes, signed = false) {
  let v = big(value);
  if (signed && v < 0n) v += 1n << BigInt(8 * bytes);
  if (v < 0n || v >> BigInt(8 * bytes)) throw new RangeError(`${value} does not fit in ${bytes} bytes`);
  const out = [];
  for (let i = 0; i < bytes; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/**
 * Statement.encode() of a statement as statement.js reads it: { quote, scale, symbols,
 * decimals, prices, totals, issuer, asOf, insecureSeeded, equity (null in format 1), haircuts
 * ([] or one table or null per asset) }, with traceLen, and optionally hiddenTotals and batch
 * ({ index, count, snapshot: 64 hex digits }).
 */
export function encodeStatement(s) {
  const gross = s.equity !== null && s.equity !== undefined;
  const flags = (s.insecureSeeded ? 1 : 0) | (s.hiddenTotals ? 2 : 0) | (s.batch ? 4 : 0);
  const out = [...new TextEncoder().encode(gross ? STATEMENT_TAG_GROSS : STATEMENT_TAG)];
  out.push(...le(s.traceLen, 4), ...le(s.symbols.length, 4), ...le(s.scale, 4), flags);
  out.push(...utf8Text(s.quote), ...utf8Text(s.issuer ?? ""), ...utf8Text(s.asOf ?? ""));
  s.symbols.forEach((sym, j) => {
    out.push(...utf8Text(sym), ...le(s.decimals[j], 1));
    out.push(...le(s.prices[j], 16), ...le(s.totals[j], 16, true));
    if (gross) {
      const table = (s.haircuts && s.haircuts[j]) || [];
      out.push(...le(s.equity[j], 16), ...le(table.length, 1));
      for (const tier of table) {
        out.push(...le(tier.percent, 1));
        if (tier.upTo !== null) out.push(...le(tier.upTo, 16));
      }
    }
  });
  if (s.batch) {
    const { index, count, snapshot } = s.batch;
    out.push(...le(index, 4), ...le(count, 4));
    for (let i = 0; i < 64; i += 2) out.push(parseInt(snapshot.slice(i, i + 2), 16));
  }
  return new Uint8Array(out);
}

/** One asset's public tier constants (TierConstants.of). */
function tierConstants(tiers, price, layout) {
  const chunks = (v) => {
    const d = digits(v, LIMBS - 1);
    return [0, 1, 2].map((c) => {
      let sum = 0;
      for (let i = 0; i < CHUNK_LIMBS; i++) {
        if (CHUNK_LIMBS * c + i < LIMBS - 1) sum += d[CHUNK_LIMBS * c + i] * 2 ** (LIMB_BITS * i);
      }
      return sum;
    });
  };
  return {
    count: tiers.count,
    lowerChunks: tiers.lower.map(chunks),
    widthChunks: tiers.width.map(chunks),
    rateDigits: tiers.ratio.map((r) => digits(price * BigInt(100 - r), layout.priceDigits)),
    belowDigits: tiers.lossBelow.map((lam) => digits(price * lam, layout.positions)),
  };
}

/** PublishedStatement.batch(b): batch b's circuit statement (see the header for the fields). */
export function batchStatement(published, index) {
  const s = published;
  const hidden = s.count > 1;
  const k = s.symbols.length;
  let equity = s.equity;
  if (equity !== null && hidden) equity = new Array(k).fill(0n);
  return {
    quote: s.quote,
    scale: s.scale,
    symbols: s.symbols,
    decimals: s.decimals,
    prices: s.prices,
    totals: hidden ? new Array(k).fill(0n) : s.totals,
    traceLen: s.batches[index].usersPadded,
    issuer: s.issuer,
    asOf: s.asOf,
    insecureSeeded: s.insecureSeeded,
    hiddenTotals: hidden,
    batch: { index, count: s.count, snapshot: s.snapshot },
    equity,
    haircuts: s.haircuts,
  };
}

/** publication_air(statement, leaves, commitment): see the header. */
export function publicationAir(statement, leaves, commitment = null) {
  return new SolvencyAir(statement, {
    leaves,
    leafWidth: LEAF_WIDTH,
    sboxRegisters: LEAF_REGISTERS,
    totalsCommitment: commitment,
  });
}

/** The shape of publicationAir(statement, zero leaves, zero commitment if hidden). */
export function publicationShape(statement) {
  const air = new SolvencyAir(statement, {
    leaves: SHAPE_ONLY,
    leafWidth: LEAF_WIDTH,
    sboxRegisters: LEAF_REGISTERS,
    totalsCommitment: statement.hiddenTotals ? new Array(DIGEST).fill(0) : null,
  });
  return airShape(air);
}

/** Stands for all-zero leaves when only the AIR's shape is wanted (no per-row table is built). */
const SHAPE_ONLY = Symbol("shape only");

/** The leaves (traceLen x 8 words, row-major) as 8 columns of cycle n, checked canonical. */
function leafColumns(leaves, n) {
  if (!(leaves instanceof Uint32Array) || leaves.length !== n * DIGEST) {
    throw new RangeError(`one leaf per row: ${leaves && leaves.length / DIGEST} for ${n} rows`);
  }
  const columns = range(0, DIGEST).map(() => new Uint32Array(n));
  for (let i = 0, w = 0; i < n; i++) {
    for (let c = 0; c < DIGEST; c++, w++) {
      const v = leaves[w];
      if (v >= P) throw new RangeError("states must be integers in [0, p)");
      columns[c][i] = v;
    }
  }
  return columns;
}

/**
 * SolvencyAir(statement, leaves, leaf_width=..., sbox_registers=..., totals_commitment=...):
 * `new SolvencyAir(statement, { leaves, leafWidth, sboxRegisters, totalsCommitment })`, the
 * statement as described in the header, leaves null (no inclusion) or a Uint32Array of
 * traceLen x 8 words, totalsCommitment null (public totals) or 8 Numbers below p.
 */
export class SolvencyAir {
  constructor(statement, { leaves = null, leafWidth = LEAF_WIDTH, sboxRegisters = true, totalsCommitment = null } = {}) {
    const s = statement;
    const n = Number(s.traceLen);
    if (!(Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0)) {
      throw new RangeError("trace length must be a power of two");
    }
    this.statement = s;
    this.traceLen = n;
    const k = s.symbols.length;
    this.k = k;
    const gross = s.equity !== null && s.equity !== undefined;
    this.prices = s.prices.map(big);
    const haircuts = gross && s.haircuts && s.haircuts.length ? s.haircuts : new Array(k).fill(null);
    this.tiers = gross ? haircuts.map((t, j) => (t ? tiersOf(t, s.decimals[j]) : null)) : null;
    this.tabled = gross && this.tiers.some((t) => t !== null);
    this.valuePrices = this.tabled ? this.prices.map((p) => 100n * p) : this.prices;
    const maxPrice = this.valuePrices.reduce((a, b) => (b > a ? b : a), 1n);
    const priceDigits = Math.max(1, ceilDiv(bitLength(maxPrice), LIMB_BITS));
    const sum = this.valuePrices.reduce((a, b) => a + b, 0n);
    const valueBits = 64 + bitLength(sum > 1n ? sum : 1n);
    const positions = Math.max(LIMBS + priceDigits, ceilDiv(valueBits, LIMB_BITS) + 1);
    const hidden = totalsCommitment !== null;
    if (hidden !== Boolean(s.hiddenTotals)) {
      throw new RangeError("a statement with hidden totals needs their commitment, and only such a statement");
    }
    this.totalsCommitment = null;
    if (hidden) {
      const c = Array.from(totalsCommitment);
      if (c.length !== DIGEST || !c.every((v) => Number.isInteger(v) && v >= 0 && v < P)) {
        throw new RangeError("the totals commitment is 8 elements below p");
      }
      this.totalsCommitment = c;
      if (!(k < n - 1)) throw new RangeError("hidden totals need more rows than assets + 1");
    }
    const tierCounts = gross ? this.tiers.map((t) => (t ? t.count : 0)) : null;
    this.layout = new Layout(k, priceDigits, positions, tierCounts, hidden, sboxRegisters);
    const version = gross ? "v2" : "v1";
    this.name = `solvency-${version}`;
    this.mainWidth = this.layout.width;
    this.rangeCheckedCols = this.layout.rangeChecked();
    this.kappa2Cols = this.layout.kappa2();
    this.numLookups = this.rangeCheckedCols.length + this.kappa2Cols.length;
    this.numAuxChallenges = 1;
    this.leafGadget = null;
    this.leafColumns = null;
    if (leaves !== null) {
      this.leafColumns = leaves === SHAPE_ONLY ? null : leafColumns(leaves, n);
      this.leafGadget = this.layout.leafGadget(leafWidth, { sboxRegisters });
      this.mainWidth = this.leafGadget.offset + this.leafGadget.numColumns;
      this.name = `solvency-${version}-leaves-w${leafWidth}${sboxRegisters ? "" : "-noreg"}`;
    }
    if (hidden) {
      const leavesPart = this.leafGadget !== null ? `-leaves-w${leafWidth}` : "";
      this.name = `solvency-${version}-hidden${leavesPart}${sboxRegisters ? "" : "-noreg"}`;
    }
    this.lookupGroup = this._lookupGroup();
    this.auxWidth = numHelpers(this.numLookups, this.lookupGroup) + 1;

    // public constants, built once
    this.priceDigitTable = this.valuePrices.map((p) => digits(p, priceDigits));
    this.offsetValue = OFFSET * sum;
    this.tierConsts = gross
      ? this.tiers.map((t, j) => (t ? tierConstants(t, this.prices[j], this.layout) : null))
      : new Array(k).fill(null);
    this.offsetTotals = s.totals.map((t) => big(t) + BigInt(n) * OFFSET);
    this.totalDigits = this.offsetTotals.map((t) => {
      const d = digits(t % (1n << BigInt(LIMB_BITS * LIMBS)), LIMBS).map(BigInt);
      d[LIMBS - 1] += BigInt(BASE) * (t >> BigInt(LIMB_BITS * LIMBS));
      return d.map(modP);
    });
    this.equityDigits = gross
      ? s.equity.map((e) => {
          e = big(e);
          const d = digits(e % OFFSET, LIMBS - 1).map(BigInt);
          d[LIMBS - 2] += BigInt(BASE) * (e >> 63n);
          return d.map(modP);
        })
      : null;
    this.valueDigits = digits(this.offsetValue, positions);
    this.positionTermTable = range(0, positions).map((p) => this._positionTerms(p));
    this.totalsIv = hidden ? spongeIv(k, gross ? 2 : 1) : null;
    this._periodic = null;
  }

  /** 3, or in format 2 the gadgets' degree - 1 when it exceeds 4 (6 without S-box registers). */
  _lookupGroup() {
    if (this.tiers === null) return GROUP;
    const degrees = [];
    if (this.leafGadget !== null) degrees.push(this.leafGadget.degree);
    if (this.totalsCommitment !== null) degrees.push(this.layout.totalsGadget.degree);
    return Math.max(GROUP, (degrees.length ? Math.max(...degrees) : 0) - 1);
  }

  get withLeaves() {
    return this.leafGadget !== null;
  }

  get hiddenTotals() {
    return this.totalsCommitment !== null;
  }

  _positionTerms(s) {
    const cols = [];
    const coeffs = [];
    for (let j = 0; j < this.k; j++) {
      for (let l = 0; l < LIMBS; l++) {
        const m = s - l;
        if (m >= 0 && m < this.layout.priceDigits && this.priceDigitTable[j][m]) {
          cols.push(this.layout.u(j, l));
          coeffs.push(this.priceDigitTable[j][m]);
        }
      }
    }
    return [cols, coeffs];
  }

  positionTerms(s) {
    return this.positionTermTable[s];
  }

  /** [name, [{ degree, allRows }]] in evaluateTransition's order. */
  constraintGroups() {
    const k = this.k;
    const group = (name, degree, count) => [name, Array.from({ length: count }, () => ({ degree, allRows: true }))];
    const out = [group("limb 7 is a bit", 2, k), group("running sums", 2, LIMBS * k), group("totals", 2, LIMBS)];
    if (this.tiers !== null) {
      out.push(group("equity running sums", 3, (LIMBS - 1) * k), group("equity totals", 3, LIMBS - 1));
      this.tiers.forEach((t, j) => {
        if (t !== null && t.count >= 2) {
          const sym = this.statement.symbols[j];
          out.push(
            group(`${sym} tier selectors`, 2, t.count),
            group(`${sym} tier lower bound`, 2, 3),
            group(`${sym} tier upper bound`, 1, 3),
            group(`${sym} tier carries`, 2, 4),
          );
        }
      });
    }
    out.push(
      group("user value", this.tabled ? 2 : 1, this.layout.positions),
      group("range check", this.lookupGroup + 1, this.auxWidth - 1),
      group("range check sum", 2, 1),
    );
    if (this.leafGadget !== null) {
      out.push(["leaf hash", this.leafGadget.transitionConstraints()], group("leaf is published", 1, DIGEST));
    }
    if (this.hiddenTotals) {
      out.push(
        ["totals commitment hash", this.layout.totalsGadget.transitionConstraints()],
        group("totals commitment sponge", 2, TOTALS_WIDTH),
      );
    }
    return out;
  }

  transitionConstraints() {
    return this.constraintGroups().flatMap(([, g]) => g);
  }

  constraintName(index) {
    for (const [name, g] of this.constraintGroups()) {
      if (index < g.length) return name;
      index -= g.length;
    }
    throw new RangeError("no such transition constraint");
  }

  /** The range table (cycle 512), one one-hot selector per asset (cycle n), with leaves the 8 leaf
   * columns (cycle n), with hidden totals `last` (1 on row n - 1 only); built on first use. */
  periodicColumns() {
    if (this._periodic === null) {
      const n = this.traceLen;
      const out = [Uint32Array.from({ length: BASE }, (_, i) => i)];
      for (let j = 0; j < this.k; j++) {
        const sel = new Uint32Array(n);
        sel[j] = 1;
        out.push(sel);
      }
      if (this.leafGadget !== null) {
        out.push(...(this.leafColumns ?? range(0, DIGEST).map(() => new Uint32Array(n))));
      }
      if (this.hiddenTotals) {
        const last = new Uint32Array(n);
        last[n - 1] = 1;
        out.push(last);
      }
      this._periodic = out;
    }
    return this._periodic;
  }

  boundaryConstraints() {
    const n = this.traceLen;
    const lay = this.layout;
    const out = [];
    for (let j = 0; j < this.k; j++) {
      for (let l = 0; l < LIMBS; l++) out.push({ column: lay.r(j, l), row: (j + 1) % n, value: 0, aux: false });
    }
    if (lay.gross) {
      for (let j = 0; j < this.k; j++) {
        for (let l = 0; l < LIMBS - 1; l++) out.push({ column: lay.rEq(j, l), row: (j + 1) % n, value: 0, aux: false });
      }
    }
    out.push({ column: this.auxWidth - 1, row: 0, value: 0, aux: true });
    if (this.hiddenTotals) {
      const outputs = lay.totalsGadget.outputCols;
      this.totalsCommitment.forEach((v, e) => out.push({ column: outputs[e], row: this.k, value: v, aux: false }));
    }
    return out;
  }

  publicInputs() {
    const parts = [...encodeStatement({ ...this.statement, traceLen: this.traceLen })];
    const text = (t) => new TextEncoder().encode(t);
    if (this.leafGadget !== null) {
      parts.push(...text(LEAVES_TAG), this.leafGadget.width, this.leafGadget.sboxRegisters ? 1 : 0);
    }
    if (this.hiddenTotals) {
      parts.push(...text(HIDDEN_TOTALS_TAG), this.layout.totalsRegisters ? 1 : 0);
      for (const v of this.totalsCommitment) parts.push(...le(v, 4));
    }
    return new Uint8Array(parts);
  }

  lookupFractions() {
    return this.numLookups * this.traceLen + BASE;
  }

  evaluateTransition(f) {
    const ext = f.main[0].length;
    const C = (v) => E.fromBase(ext, modP(v));
    const ONE = E.one(ext);
    const { k, layout: lay } = this;
    const x = f.main;
    const y = f.mainNext;
    const mulc = (a, c) => E.mulBase(a, modP(c));
    const sum = (terms) => terms.reduce((a, b) => E.add(a, b), E.zero(ext));
    const table = f.periodic[0];
    const selectors = f.periodic.slice(1, 1 + k);
    const out = [];
    // limb 7 is a bit
    for (let j = 0; j < k; j++) {
      const b = x[lay.u(j, 7)];
      out.push(E.mul(b, E.sub(b, ONE)));
    }
    // running sums
    for (let j = 0; j < k; j++) {
      const keep = E.sub(ONE, selectors[j]);
      for (let l = 0; l < LIMBS; l++) {
        out.push(E.mul(keep, E.sub(E.sub(y[lay.r(j, l)], x[lay.r(j, l)]), x[lay.u(j, l)])));
      }
    }
    const onAssetRow = sum(selectors);
    // totals: public digits, or the digit cells with hidden totals
    const carry = (l) => E.add(x[lay.carryLo + l], mulc(x[lay.carryHi + l], BASE));
    for (let l = 0; l < LIMBS; l++) {
      let perAsset;
      let shared = E.zero(ext);
      if (this.hiddenTotals) {
        perAsset = sum(selectors.map((sel, j) => E.mul(sel, E.add(x[lay.r(j, l)], x[lay.u(j, l)]))));
        shared = E.sub(shared, x[lay.tot + l]);
      } else {
        perAsset = sum(
          selectors.map((sel, j) =>
            E.mul(sel, E.sub(E.add(x[lay.r(j, l)], x[lay.u(j, l)]), C(this.totalDigits[j][l]))),
          ),
        );
      }
      if (l > 0) shared = E.add(shared, carry(l - 1));
      if (l < LIMBS - 1) shared = E.sub(shared, mulc(carry(l), BASE));
      else if (this.hiddenTotals) {
        const high = E.add(x[lay.tot + LIMBS], mulc(x[lay.tot + LIMBS + 1], BASE));
        shared = E.sub(shared, mulc(high, BASE));
      }
      out.push(E.add(perAsset, E.mul(onAssetRow, shared)));
    }
    let equity = null;
    if (lay.gross) {
      equity = range(0, k).map((j) => range(0, LIMBS - 1).map((l) => E.mul(x[lay.u(j, 7)], x[lay.u(j, l)])));
      out.push(...this._equity(x, y, selectors, onAssetRow, equity, ext));
      out.push(...this._tierConstraints(x, equity, ext));
    }
    // user value
    const losses = this.tabled ? this._losses(x, equity, ext) : [];
    const W = lay.positions - 1;
    const kappa = (s) =>
      E.sub(
        E.add(E.add(x[lay.kappa + s], mulc(x[lay.kappa + W + s], BASE)), mulc(x[lay.kappa + 2 * W + s], 1 << 18)),
        C(CARRY_OFFSET),
      );
    for (let s = 0; s < lay.positions; s++) {
      const [cols, coeffs] = this.positionTermTable[s];
      let total = E.zero(ext);
      for (let i = 0; i < cols.length; i++) total = E.add(total, E.mulBase(x[cols[i]], coeffs[i]));
      total = E.sub(E.sub(total, x[lay.value + s]), C(this.valueDigits[s]));
      if (losses[s]) total = E.sub(total, losses[s]);
      if (s > 0) total = E.add(total, kappa(s - 1));
      if (s < W) total = E.sub(total, mulc(kappa(s), BASE));
      out.push(total);
    }
    // the LogUp range check
    const alpha = f.challenges[0];
    const helpers = f.aux.slice(0, this.auxWidth - 1);
    const values = [...this.rangeCheckedCols.map((c) => x[c]), ...this.kappa2Cols.map((c) => mulc(x[c], 64))];
    out.push(...helperConstraints(alpha, values, helpers, this.lookupGroup));
    const sigma = f.aux[this.auxWidth - 1];
    const sigmaNext = f.auxNext[this.auxWidth - 1];
    out.push(runningSumConstraint(alpha, sigma, sigmaNext, helpers, table, x[lay.mult]));
    if (this.leafGadget !== null) {
      // the leaf of this row's idc and limb cells is the published leaf of this row
      out.push(...this.leafGadget.constraints(x));
      const leaf = f.periodic.slice(1 + k, 1 + k + DIGEST);
      this.leafGadget.digestCols.forEach((c, e) => out.push(E.sub(x[c], leaf[e])));
    }
    if (this.hiddenTotals) {
      // each row's permutation, chained from row n - 1 (the IV) through rows 0..K
      out.push(...lay.totalsGadget.constraints(x));
      out.push(...this._sponge(x, y, selectors[k - 1], onAssetRow, f.periodic[f.periodic.length - 1], ext));
    }
    return out;
  }

  /** The 4 chunks of T'_j (and in format 2 the 3 of E_j) from the digit cells of a row. */
  _chunks(z, ext) {
    const lay = this.layout;
    const three = (cells) => E.add(E.add(cells[0], E.mulBase(cells[1], BASE)), E.mulBase(cells[2], BASE * BASE));
    const t = range(0, TOTAL_DIGITS).map((i) => z[lay.tot + i]);
    const chunks = [0, 1, 2].map((c) => three(t.slice(3 * c, 3 * c + 3)));
    chunks.push(t[9]);
    if (lay.gross) {
      const e = range(0, EQUITY_DIGITS).map((i) => z[lay.teq + i]);
      for (let c = 0; c < 3; c++) chunks.push(three(e.slice(3 * c, 3 * c + 3)));
    }
    return chunks;
  }

  /** (C + L) in'_e - C out_e - L iv_e - (C - F + L) chunk'_e - F blind'_e, e < 16. */
  _sponge(x, y, final, onAssetRow, last, ext) {
    const lay = this.layout;
    const gadget = lay.totalsGadget;
    const chunks = this._chunks(y, ext);
    const starts = E.add(onAssetRow, last);
    const absorbs = E.add(E.sub(onAssetRow, final), last);
    const out = [];
    for (let e = 0; e < TOTALS_WIDTH; e++) {
      let v = E.sub(E.mul(starts, y[gadget.inputCols[e]]), E.mul(onAssetRow, x[gadget.outputCols[e]]));
      if (this.totalsIv[e]) v = E.sub(v, E.mulBase(last, this.totalsIv[e]));
      if (e < chunks.length) v = E.sub(v, E.mul(absorbs, chunks[e]));
      if (e < BLINDING) v = E.sub(v, E.mul(final, y[lay.blind + e]));
      out.push(v);
    }
    return out;
  }

  _equity(x, y, selectors, onAssetRow, equity, ext) {
    const lay = this.layout;
    const ONE = E.one(ext);
    const hidden = this.hiddenTotals;
    const out = [];
    for (let j = 0; j < this.k; j++) {
      const keep = E.sub(ONE, selectors[j]);
      for (let l = 0; l < LIMBS - 1; l++) {
        out.push(E.mul(keep, E.sub(E.sub(y[lay.rEq(j, l)], x[lay.rEq(j, l)]), equity[j][l])));
      }
    }
    const eps = (l) => E.add(x[lay.epsLo + l], E.mulBase(x[lay.epsLo + EQUITY_CARRIES + l], BASE));
    for (let l = 0; l < LIMBS - 1; l++) {
      let perAsset = E.zero(ext);
      for (let j = 0; j < this.k; j++) {
        let term = E.add(x[lay.rEq(j, l)], equity[j][l]);
        if (!hidden) term = E.sub(term, E.fromBase(ext, this.equityDigits[j][l]));
        perAsset = E.add(perAsset, E.mul(selectors[j], term));
      }
      let shared = E.zero(ext);
      if (l > 0) shared = E.add(shared, eps(l - 1));
      if (l < LIMBS - 2) shared = E.sub(shared, E.mulBase(eps(l), BASE));
      if (hidden) {
        shared = E.sub(shared, x[lay.teq + l]);
        if (l === LIMBS - 2) {
          const high = E.add(x[lay.teq + l + 1], E.mulBase(x[lay.teq + l + 2], BASE));
          shared = E.sub(shared, E.mulBase(high, BASE));
        }
      }
      out.push(E.add(perAsset, E.mul(onAssetRow, shared)));
    }
    return out;
  }

  _tierSelectors(x, j, ext) {
    const lay = this.layout;
    const cells = range(1, this.tiers[j].count).map((t) => x[lay.selector(j, t)]);
    let first = E.one(ext);
    for (const c of cells) first = E.sub(first, c);
    return [first, ...cells];
  }

  _tierConstraints(x, equity, ext) {
    const lay = this.layout;
    const ONE = E.one(ext);
    const bit = (v) => E.mul(v, E.sub(v, ONE));
    const out = [];
    this.tierConsts.forEach((consts, j) => {
      if (consts === null || consts.count < 2) return;
      const sel = this._tierSelectors(x, j, ext);
      out.push(...sel.slice(1).map(bit), bit(sel[0]));
      const lo = range(0, LIMBS - 1).map((l) => x[lay.lo(j, l)]);
      const hi = range(0, LIMBS - 1).map((l) => x[lay.hi(j, l)]);
      const kl = [0, 1].map((c) => x[lay.kl(j, c)]);
      const kh = [0, 1].map((c) => x[lay.kh(j, c)]);
      const select = (column, skipFirst) => {
        let acc = E.zero(ext);
        sel.forEach((s, t) => {
          if (!(skipFirst && t === 0)) acc = E.add(acc, E.mulBase(s, column[t] % P));
        });
        return acc;
      };
      for (let c = 0; c < 3; c++) {
        const beta = select(consts.lowerChunks.map((r) => r[c]), true);
        const v = E.add(E.sub(chunk(lo, c, ext), chunk(equity[j], c, ext)), beta);
        out.push(carried(v, kl, c));
      }
      for (let c = 0; c < 3; c++) {
        const width = select(consts.widthChunks.map((r) => r[c]), false);
        out.push(carried(E.sub(E.add(chunk(lo, c, ext), chunk(hi, c, ext)), width), kh, c));
      }
      out.push(...[...kl, ...kh].map(bit));
    });
    return out;
  }

  _losses(x, equity, ext) {
    const lay = this.layout;
    const positions = lay.positions;
    const out = new Array(positions).fill(null);
    const addTo = (s, term) => {
      out[s] = out[s] === null ? term : E.add(out[s], term);
    };
    this.tierConsts.forEach((consts, j) => {
      if (consts === null) return;
      if (consts.count === 1) {
        for (let s = 0; s < positions; s++) {
          for (let l = Math.max(0, s - lay.priceDigits + 1); l < Math.min(s + 1, LIMBS - 1); l++) {
            const d = consts.rateDigits[0][s - l];
            if (d) addTo(s, E.mulBase(equity[j][l], d));
          }
        }
        return;
      }
      const sel = this._tierSelectors(x, j, ext);
      for (let s = 0; s < positions; s++) {
        for (let t = 0; t < consts.count; t++) {
          let term = E.zero(ext);
          let any = false;
          for (let l = Math.max(0, s - lay.priceDigits + 1); l < Math.min(s + 1, LIMBS - 1); l++) {
            const d = consts.rateDigits[t][s - l];
            if (d) {
              term = E.add(term, E.mulBase(x[lay.lo(j, l)], d));
              any = true;
            }
          }
          const below = consts.belowDigits[t][s];
          if (!any && !below) continue;
          if (below) term = E.addBase(term, below);
          addTo(s, E.mul(sel[t], term));
        }
      }
    });
    return out;
  }
}

/** chunk_c of 7 limbs: limbs 3c, 3c + 1, 3c + 2 in base 512 (chunk 2 is limb 6 alone). */
function chunk(limbs, c, ext) {
  let out = E.zero(ext);
  limbs.slice(CHUNK_LIMBS * c, CHUNK_LIMBS * (c + 1)).forEach((limb, i) => {
    out = E.add(out, i ? E.mulBase(limb, BASE ** i) : limb);
  });
  return out;
}

/** v + k_(c-1) - 2^27 k_c for the chunk chain's carry bits. */
function carried(v, carries, c) {
  if (c > 0) v = E.add(v, carries[c - 1]);
  if (c < 2) v = E.sub(v, E.mulBase(carries[c], 2 ** (LIMB_BITS * CHUNK_LIMBS)));
  return v;
}
