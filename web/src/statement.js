// statement.json, read as solvency/publication/statement.py (read_statement) reads it: the same
// documents refused (an InputError), for the same reasons, including what the circuits'
// statements refuse (circuits.solvency.Statement for every batch, its haircut tables, and the
// aggregation statement's totals and equities). One part is NOT replicated: the STARK parameter
// block ("params") is only required to be an object (StarkParams' own rules, which follow
// Python's loose comparisons of numbers, are left to the STARK verifier to come): web/README.md.
import { loadJsonStrict, JsonError, PyFloat } from "./json.js";
import { parseElementsHex } from "./encoding.js";
import { pyRepr, pyStrip } from "./pytext.js";

export const PUBLICATION_FORMAT = "stark-solvency-publication/2";
export const FORMAT_1 = "stark-solvency-publication/1";
export const FORMATS_READ = [FORMAT_1, PUBLICATION_FORMAT];
export const MAX_STATEMENT_BYTES = 1 << 24;
const MAX_BATCHES = 1 << 14;
const MAX_TRACE_LEN = 1 << 17;
const MIN_TRACE_LEN = 512;
const MAX_ASSETS = 200;
const MAX_PRICE_BITS = 90n;
const MAX_ISSUER_BYTES = 256;
const FIELDS = [
  "format", "issuer", "as_of", "quote", "price_scale", "snapshot", "users_padded",
  "insecure_seeded", "zero_knowledge", "assets", "batches", "users_root", "aggregate",
  "preset", "params", "security", "inclusion",
];
const ASSET_FIELDS_1 = ["symbol", "decimals", "price", "integer_price", "total", "total_base_units"];
const ASSET_FIELDS = [
  ...ASSET_FIELDS_1, "equity", "equity_base_units", "debt", "debt_base_units", "haircut",
];
const BATCH_FIELDS = ["users_padded", "commitment", "leaves_root", "proof_sha256", "proof_bytes"];
const PROOF_FIELDS = ["proof_sha256", "proof_bytes"];
const SECURITY_FIELDS = ["conjectured_bits", "provable_bits", "terms", "regimes"];
const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const AS_OF = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z$/;
const SHA256 = /^[0-9a-f]{64}$/;

export class InputError extends Error {}

const isInt = (v) => typeof v === "bigint";
const show = (v) =>
  typeof v === "string" ? pyRepr(v) : v instanceof PyFloat ? v.text : v instanceof Map ? "{...}" : String(v);

/** solvency.publication.encoding.Fields: typed access to one object, errors naming the field. */
class Fields {
  constructor(obj, names, where = "") {
    if (!(obj instanceof Map)) throw new InputError(`statement.json: ${where.replace(/\.$/, "") || ""}: expected a JSON object`);
    for (const k of obj.keys()) if (!names.includes(k)) throw this.fail(`${where}${k}`, "unknown field");
    for (const k of names) if (!obj.has(k)) throw this.fail(`${where}${k}`, "missing field");
    this.obj = obj;
    this.where = where;
  }
  fail(field, problem) {
    return new InputError(`statement.json: ${field}: ${problem}`);
  }
  error(name, problem) {
    return this.fail(`${this.where}${name}`, problem);
  }
  raw(name) {
    return this.obj.get(name);
  }
  integer(name, low = 0n, high = 1n << 62n) {
    const v = this.obj.get(name);
    if (!isInt(v) || v < BigInt(low) || v > BigInt(high)) {
      throw this.error(name, `expected an integer in [${low}, ${high}], got ${show(v)}`);
    }
    return v;
  }
  boolean(name) {
    const v = this.obj.get(name);
    if (typeof v !== "boolean") throw this.error(name, `expected true or false, got ${show(v)}`);
    return v;
  }
  string(name, nonempty = false) {
    const v = this.obj.get(name);
    if (typeof v !== "string") throw this.error(name, `expected a string, got ${show(v)}`);
    if (nonempty && !v) throw this.error(name, "empty");
    return v;
  }
  intString(name, signed) {
    const text = this.string(name);
    if (!(signed ? /^-?[0-9]{1,40}$/ : /^[0-9]{1,40}$/).test(text)) {
      throw this.error(name, `expected an integer as a string, got ${pyRepr(text)}`);
    }
    return BigInt(text);
  }
  decimalString(name) {
    const text = this.string(name);
    if (!DECIMAL.test(text) || text.length > 200) {
      throw this.error(name, `expected a plain decimal string, got ${pyRepr(text)}`);
    }
    return text;
  }
  hexElements(name, count) {
    try {
      return parseElementsHex(this.obj.get(name), count);
    } catch (e) {
      throw this.error(name, e.message);
    }
  }
  sha256(name) {
    const text = this.string(name);
    if (!SHA256.test(text)) throw this.error(name, "expected a SHA-256 digest (64 lowercase hex digits)");
    return text;
  }
  objects(name, names, most) {
    const v = this.obj.get(name);
    if (!Array.isArray(v) || v.length < 1 || v.length > most) {
      throw this.error(name, `expected a list of 1 to ${most} objects`);
    }
    return v.map((o, i) => new Fields(o, names, `${this.where}${name}[${i}].`));
  }
  object(name, names) {
    return new Fields(this.obj.get(name), names, `${this.where}${name}.`);
  }
}

const TIER_FIELDS = ["up_to", "percent"];
const WHOLE_COINS = /^[1-9][0-9]{0,39}$/;
const MAX_TIERS = 8;
const BALANCE_LIMIT = (1n << 63n) - 1n;
const OFFSET = 1n << 63n;

/** statement._table: an asset's haircut table as published (null: none), not yet checked. */
function readTable(asset) {
  const raw = asset.raw("haircut");
  if (raw === null) return null;
  if (!Array.isArray(raw) || raw.length === 0) {
    throw asset.error("haircut", "expected null or a non-empty list of tiers");
  }
  return raw.map((tier, t) => {
    const field = `haircut[${t}]`;
    if (!(tier instanceof Map) || [...tier.keys()].some((k) => !TIER_FIELDS.includes(k)) || !tier.has("percent")) {
      throw asset.error(field, 'expected {"up_to": "<whole coins>", "percent": <0..100>}');
    }
    const upTo = tier.has("up_to") ? tier.get("up_to") : null;
    if (upTo !== null && !(typeof upTo === "string" && WHOLE_COINS.test(upTo))) {
      throw asset.error(`${field}.up_to`, "expected a whole number of coins as a string");
    }
    const percent = tier.get("percent");
    if (typeof percent !== "bigint") {
      throw asset.error(`${field}.percent`, "expected a whole number from 0 to 100");
    }
    return { upTo: upTo === null ? null : BigInt(upTo), percent };
  });
}

/** circuits.haircut.check_table. */
function checkTable(table, decimals, what) {
  if (table.length < 1 || table.length > MAX_TIERS) throw new Error(`${what} must have 1 to ${MAX_TIERS} tiers`);
  let previousUpTo = 0n;
  let previousPercent = 100n;
  table.forEach((tier, t) => {
    const where = `${what}, tier ${t + 1}`;
    const last = t === table.length - 1;
    if (tier.percent < 0n || tier.percent > 100n) {
      throw new Error(`${where}: the percent must be a whole number from 0 to 100`);
    }
    if (tier.percent > previousPercent) {
      throw new Error(
        `${where}: ${tier.percent}% is more than the tier before (${previousPercent}%); percents must not increase down the table`,
      );
    }
    if (last !== (tier.upTo === null)) {
      throw new Error(`${where}: ` + (last ? "the last tier is open (no up_to)" : "needs an up_to"));
    }
    if (!last) {
      if (tier.upTo <= previousUpTo) throw new Error(`${where}: up_to must be a whole number of coins above the tier before's`);
      if (tier.upTo * 10n ** BigInt(decimals) > BALANCE_LIMIT) {
        throw new Error(`${where}: up_to ${tier.upTo} is at least 2^63 base units`);
      }
      previousUpTo = tier.upTo;
    }
    previousPercent = tier.percent;
  });
  if (table.every((tier) => tier.percent === 100n)) {
    throw new Error(`${what}: every tier at 100% is no table; leave the table out`);
  }
}

/** circuits.solvency._check_text: non-empty, no surrounding spaces, no C* / Zl / Zp, <= bytes. */
function checkText(value, what, maxBytes) {
  if (typeof value !== "string" || !value) throw new Error(`${what} must be a non-empty string`);
  if (pyStrip(value) !== value || /[\p{C}\p{Zl}\p{Zp}]/u.test(value)) {
    throw new Error(`${what} must not have surrounding spaces, control characters or line separators`);
  }
  if (new TextEncoder().encode(value).length > maxBytes) {
    throw new Error(`${what} must be at most ${maxBytes} bytes of UTF-8`);
  }
}

/** Statement._canonical_time: the pattern, and a real UTC time written canonically. */
function canonicalTime(text) {
  if (!AS_OF.test(text)) return false;
  const [y, mo, d, h, mi, s] = [0, 5, 8, 11, 14, 17].map((k, j) => Number(text.slice(k, k + (j ? 2 : 4))));
  // years below 1000 never round-trip: Python formats them without their leading zeros
  if (y < 1000 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (d < 1 || d > days) return false;
  const micro = text.length > 20 ? Number(text.slice(20, 26)) : 0;
  return !(text.length > 20 && micro === 0); // ".000000" is written without its fraction
}

/** The checks of circuits.solvency.Statement that concern what this reader keeps. */
function checkCircuitStatement(s) {
  const k = s.symbols.length;
  if (k < 1 || k > MAX_ASSETS) throw new Error(`between 1 and ${MAX_ASSETS} assets are supported, not ${k}`);
  for (const [name, what] of [[s.quote, "the quote currency"], ...s.symbols.map((x) => [x, "an asset symbol"])]) {
    if (!SYMBOL.test(name)) {
      throw new Error(`${what} ${pyRepr(name)} must be 1 to 32 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
  }
  checkText(s.issuer, "the issuer", MAX_ISSUER_BYTES);
  if (!canonicalTime(s.as_of)) {
    throw new Error(`as_of ${pyRepr(s.as_of)} is not a canonical UTC time like 2025-06-30T23:59:59Z`);
  }
  if (s.scale < 0n || s.scale >= 1n << 16n || s.decimals.some((d) => d < 0 || d >= 256)) {
    throw new Error("the price scale and the decimals must be small non-negative");
  }
  if (s.prices.some((p) => p < 0n || p >> MAX_PRICE_BITS)) {
    throw new Error(`prices must be integers in [0, 2^${MAX_PRICE_BITS})`);
  }
  const hidden = s.count > 1;
  for (const b of s.batches) {
    const n = b.usersPadded;
    if ((n & (n - 1)) !== 0 || n < MIN_TRACE_LEN || n > MAX_TRACE_LEN || n < k) {
      throw new Error(`the padded user count must be a power of two in [${MIN_TRACE_LEN}, ${MAX_TRACE_LEN}]`);
    }
    const bn = BigInt(n);
    if (!hidden && s.totals.some((t) => (t < 0n ? -t : t) > bn * OFFSET)) {
      throw new Error("a total is larger than n balances can sum to");
    }
    if (s.equity === null) continue; // format 1: no tables (read_statement reads none)
    if (!hidden) {
      s.symbols.forEach((sym, j) => {
        const e = s.equity[j];
        if (e < 0n || e > bn * BALANCE_LIMIT) throw new Error(`${sym}: the equity is not what ${n} balances can sum to`);
        const d = e - s.totals[j];
        if (d < 0n || d > bn * OFFSET) throw new Error(`${sym}: the debt (equity - total) is not what ${n} balances owe`);
      });
    }
    s.symbols.forEach((sym, j) => {
      if (s.haircuts[j] !== null) checkTable(s.haircuts[j], s.decimals[j], `the haircut table of ${sym}`);
    });
  }
  if (hidden) {
    // circuits.aggregate.AggregateStatement: the grand totals and equities over all N rows
    const total = BigInt(s.batches.reduce((a, b) => a + b.usersPadded, 0));
    if (s.totals.some((t) => (t < 0n ? -t : t) > total * OFFSET)) {
      throw new Error("a grand total is larger than N balances can sum to");
    }
    if (s.equity !== null) {
      s.equity.forEach((e, j) => {
        if (e < 0n || e > total * (OFFSET - 1n)) throw new Error(`the equity of asset ${j} is outside [0, N (2^63 - 1)]`);
        const d = e - s.totals[j];
        if (d < 0n || d > total * OFFSET) throw new Error(`the debt of asset ${j} is outside [0, N 2^63]`);
      });
    }
  }
}

/**
 * Parse statement.json (bytes or text). Returns {issuer, asOf, snapshot, symbols, decimals,
 * batches: [{usersPadded, leavesRoot}], usersRoot, count, format}; throws InputError.
 */
export function readStatement(input) {
  let data;
  try {
    data = loadJsonStrict(input, MAX_STATEMENT_BYTES, "statement");
  } catch (e) {
    if (e instanceof JsonError) throw new InputError(`statement.json: ${e.message}`);
    throw e;
  }
  const top = new Fields(data, FIELDS);
  const format = data.get("format");
  if (!FORMATS_READ.includes(format)) {
    throw top.error("format", `${show(format)} is not a format this verifier reads (${FORMATS_READ.join(", ")})`);
  }
  const gross = format !== FORMAT_1;
  const assets = top.objects("assets", gross ? ASSET_FIELDS : ASSET_FIELDS_1, 1 << 16);
  const symbols = assets.map((a) => a.string("symbol"));
  assets.forEach((a, i) => {
    a.decimalString("price");
    a.decimalString("total");
    if (gross) {
      a.decimalString("equity");
      a.decimalString("debt");
    }
    if (symbols.slice(0, i).includes(symbols[i])) {
      throw a.error("symbol", `duplicate asset symbol ${pyRepr(symbols[i])}`);
    }
  });
  const records = top.objects("batches", BATCH_FIELDS, MAX_BATCHES);
  const count = records.length;
  const batches = records.map((r) => {
    if (count > 1) r.hexElements("commitment", 8);
    else if (r.raw("commitment") !== null) {
      throw r.error("commitment", "a publication of one batch publishes its totals (null)");
    }
    r.hexElements("leaves_root", 8);
    const usersPadded = Number(r.integer("users_padded", 1, MAX_TRACE_LEN));
    r.sha256("proof_sha256");
    r.integer("proof_bytes");
    return { usersPadded, leavesRoot: r.raw("leaves_root") };
  });
  const size = batches[0].usersPadded;
  if (batches.slice(0, -1).some((b) => b.usersPadded !== size) || batches[count - 1].usersPadded > size) {
    throw top.error("batches", "every batch but the last has as many rows as the first");
  }
  const total = batches.reduce((a, b) => a + b.usersPadded, 0);
  if (top.integer("users_padded", 1, MAX_BATCHES * MAX_TRACE_LEN) !== BigInt(total)) {
    throw top.error("users_padded", "is not the sum of the batches' padded users");
  }
  if (count > 1) {
    const block = top.object("aggregate", PROOF_FIELDS);
    block.sha256("proof_sha256");
    block.integer("proof_bytes");
  } else if (data.get("aggregate") !== null) {
    throw top.error("aggregate", "a publication of one batch has no aggregation (null)");
  }
  top.boolean("zero_knowledge");
  if (data.get("preset") !== null) top.string("preset");
  top.object("security", SECURITY_FIELDS);
  top.object("inclusion", ["leaf_hash"]).string("leaf_hash");
  top.hexElements("users_root", 8);
  if (!(data.get("params") instanceof Map)) throw top.error("params", "expected a JSON object");
  // NOT replicated: StarkParams(**params) (the parameter block's own rules).
  const snapshot = top.sha256("snapshot");
  const s = {
    format,
    issuer: top.string("issuer", true),
    asOf: top.string("as_of", true),
    quote: top.string("quote"),
    scale: top.integer("price_scale"),
    symbols,
    decimals: assets.map((a) => Number(a.integer("decimals", 0, 255))),
    prices: assets.map((a) => a.intString("integer_price", false)),
    totals: assets.map((a) => a.intString("total_base_units", true)),
    snapshot,
    insecureSeeded: top.boolean("insecure_seeded"),
    batches,
    usersRoot: data.get("users_root"),
    count,
    equity: gross ? assets.map((a) => a.intString("equity_base_units", false)) : null,
    haircuts: gross ? assets.map(readTable) : [],
  };
  if (gross) assets.forEach((a) => a.intString("debt_base_units", true));
  try {
    checkCircuitStatement({ ...s, as_of: s.asOf });
  } catch (e) {
    throw new InputError(`statement.json: malformed statement: ${e.message}`);
  }
  return s;
}
