// circuits/solvency.py's SolvencyAir ported by hand to the JS AIR interface of protocol.js, for
// the statements without user leaves and with public totals (formats 1 and 2, haircut tables
// of any tier count): the same name, shape, public-input bytes (Statement.encode), periodic
// columns, boundary constraints and transition constraint values, in Python's order.
// Checked against web/test/fixtures/air_values.json (tests/web/trace_air.py).
import { P } from "./field.js";
import * as E from "./ext.js";

export const LIMB_BITS = 9;
export const BASE = 512;
export const LIMBS = 8;
export const OFFSET = 1n << 63n;
export const CARRY_OFFSET = 1 << 20;
export const EQUITY_CARRIES = LIMBS - 2;
export const CHUNK_LIMBS = 3;
export const BALANCE_LIMIT = (1n << 63n) - 1n;
export const LOOKUP_GROUP = 3;
const STATEMENT_TAG = "stark-solvency statement v2\0";
const STATEMENT_TAG_GROSS = "stark-solvency statement v3\0";

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

/** circuits/solvency.py Layout (no hidden totals, no leaves). */
export class Layout {
  constructor(numAssets, priceDigits, positions, tiers) {
    this.numAssets = numAssets;
    this.priceDigits = priceDigits;
    this.positions = positions;
    this.tiers = tiers; // tier counts (0: no table), or null in format 1
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
  get width() {
    return this.gross ? this.tierBlock(this.numAssets) : this.mult + 1;
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
    return cols;
  }
  kappa2() {
    return range(this.kappa + 2 * (this.positions - 1), this.mult);
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

/** SolvencyAir(statement) for a statement without leaves and with public totals. */
export class SolvencyAir {
  constructor(statement) {
    const s = statement;
    if (s.hiddenTotals) throw new RangeError("hidden totals are not ported yet");
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
    const tierCounts = gross ? this.tiers.map((t) => (t ? t.count : 0)) : null;
    this.layout = new Layout(k, priceDigits, positions, tierCounts);
    this.name = gross ? "solvency-v2" : "solvency-v1";
    this.mainWidth = this.layout.width;
    this.rangeCheckedCols = this.layout.rangeChecked();
    this.kappa2Cols = this.layout.kappa2();
    this.numLookups = this.rangeCheckedCols.length + this.kappa2Cols.length;
    this.numAuxChallenges = 1;
    this.lookupGroup = LOOKUP_GROUP; // no gadget without leaves or hidden totals
    this.auxWidth = ceilDiv(this.numLookups, this.lookupGroup) + 1;

    // public constants
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
  }

  positionTerms(s) {
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

  periodicColumns() {
    const n = this.traceLen;
    const out = [Array.from({ length: BASE }, (_, i) => i)];
    for (let j = 0; j < this.k; j++) {
      const sel = new Array(n).fill(0);
      sel[j] = 1;
      out.push(sel);
    }
    return out;
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
    return out;
  }

  publicInputs() {
    return encodeStatement({ ...this.statement, traceLen: this.traceLen });
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
    // totals (public digits)
    const carry = (l) => E.add(x[lay.carryLo + l], mulc(x[lay.carryHi + l], BASE));
    for (let l = 0; l < LIMBS; l++) {
      const perAsset = sum(
        selectors.map((sel, j) =>
          E.mul(sel, E.sub(E.add(x[lay.r(j, l)], x[lay.u(j, l)]), C(this.totalDigits[j][l]))),
        ),
      );
      let shared = E.zero(ext);
      if (l > 0) shared = E.add(shared, carry(l - 1));
      if (l < LIMBS - 1) shared = E.sub(shared, mulc(carry(l), BASE));
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
      const [cols, coeffs] = this.positionTerms(s);
      let total = sum(cols.map((c, i) => mulc(x[c], coeffs[i])));
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
    const g = this.lookupGroup;
    for (let h = 0; h < helpers.length; h++) {
      const factors = values.slice(h * g, (h + 1) * g).map((v) => E.sub(alpha, v));
      let prod = ONE;
      for (const d of factors) prod = E.mul(prod, d);
      let cof = E.zero(ext);
      factors.forEach((_, i) => {
        let p = ONE;
        factors.forEach((d, m) => {
          if (m !== i) p = E.mul(p, d);
        });
        cof = E.add(cof, p);
      });
      out.push(E.sub(E.mul(helpers[h], prod), cof));
    }
    const sigma = f.aux[this.auxWidth - 1];
    const sigmaNext = f.auxNext[this.auxWidth - 1];
    const step = E.sub(E.sub(sigmaNext, sigma), sum(helpers));
    out.push(E.add(E.mul(step, E.sub(alpha, table)), x[lay.mult]));
    return out;
  }

  _equity(x, y, selectors, onAssetRow, equity, ext) {
    const lay = this.layout;
    const ONE = E.one(ext);
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
        const term = E.sub(E.add(x[lay.rEq(j, l)], equity[j][l]), E.fromBase(ext, this.equityDigits[j][l]));
        perAsset = E.add(perAsset, E.mul(selectors[j], term));
      }
      let shared = E.zero(ext);
      if (l > 0) shared = E.add(shared, eps(l - 1));
      if (l < LIMBS - 2) shared = E.sub(shared, E.mulBase(eps(l), BASE));
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
