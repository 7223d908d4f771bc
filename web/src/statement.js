// statement.json, read as solvency/publication/statement.py (read_statement) reads it: the same
// documents refused (an InputError), for the same reasons, including what the circuits'
// statements refuse (circuits.solvency.Statement for every batch, its haircut tables, and the
// aggregation statement's totals and equities) and what StarkParams(**params) refuses (its
// rules, with Python's loose numbers: 4.0 is 4, True is 1, and the TypeError a string or a float
// raises where an int is compared or masked). Messages name the file as "statement.json", as
// `solvency verify .` run inside the publication's folder names it.
import { loadJsonStrict, JsonError } from "./json.js";
import { parseElementsHex } from "./encoding.js";
import { pyRepr, pyStrip, reprJson, pyTypeName, withCommas } from "./pytext.js";
import { PARAM_FIELDS } from "./params.js";
import { isControlOrSeparator } from "./unicode.js";

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
const show = reprJson;

/** solvency.publication.encoding.Fields: typed access to one object, errors naming the field. */
class Fields {
  constructor(obj, names, where = "") {
    if (!(obj instanceof Map)) {
      const field = where.replace(/\.$/, "");
      throw new InputError(`statement.json:${field ? ` ${field}:` : ""} expected a JSON object`);
    }
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
      throw this.error(name, `expected a list of 1 to ${withCommas(most)} objects`);
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
  if (table.length < 1 || table.length > MAX_TIERS) throw new Error(`${what}: must have 1 to ${MAX_TIERS} tiers`);
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
  if (pyStrip(value) !== value || [...value].some((ch) => isControlOrSeparator(ch.codePointAt(0)))) {
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
        if (d < 0n || d > total * OFFSET) {
          throw new Error(`the equity of asset ${j} minus its total (the debt) is outside [0, N 2^63]`);
        }
      });
    }
  }
}

// -- StarkParams(**params), with Python's semantics of the JSON values --------------------------
const MAX_QUERIES = 256;
const MAX_GRINDING_BITS = 32;
const MAX_REMAINDER_LEN = 1024;

/** Python's TypeError, with its message (read_statement quotes it). */
class PyTypeError extends Error {}

/** A JSON value as a Python number (bool is 0 or 1; a float its double), or undefined. */
function pyNumber(v) {
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "bigint") return v;
  if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Map)) return v.value;
  return undefined;
}

/** `a op b` for an ordering op, raising Python's TypeError between non-numbers. */
function pyCompare(a, op, b) {
  const x = pyNumber(a);
  const y = pyNumber(b);
  if (x === undefined || y === undefined) {
    throw new PyTypeError(`'${op}' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
  }
  return op === "<=" ? x <= y : x > y;
}

/** `v == c` for an int constant c (numbers compare by value; 4.0 == 4, True == 1). */
function pyEqualsInt(v, c) {
  const x = pyNumber(v);
  return x !== undefined && x == c; // eslint-disable-line eqeqeq -- BigInt against Number
}

/** `v in {4: ..., 5: ...}`: a dict lookup, so a list or a dict is unhashable. */
function inDict(v, keys) {
  if (Array.isArray(v) || v instanceof Map) throw new PyTypeError(`unhashable type: '${pyTypeName(v)}'`);
  return keys.some((c) => pyEqualsInt(v, c));
}

/** stark.params.is_power_of_two: x > 0 and x & (x - 1) == 0 (a float cannot be masked). */
function isPowerOfTwoPy(v) {
  if (!pyCompare(v, ">", 0n)) return false;
  if (typeof v !== "bigint" && typeof v !== "boolean") {
    throw new PyTypeError("unsupported operand type(s) for &: 'float' and 'float'");
  }
  const x = pyNumber(v);
  return (x & (x - 1n)) === 0n;
}

/** `low <= v <= high`, evaluated left to right as Python chains it. */
const pyBetween = (low, v, high) => pyCompare(low, "<=", v) && pyCompare(v, "<=", high);

const PARAM_DEFAULTS = {
  extension_degree: 4n, blowup: 8n, num_queries: 27n, grinding_bits: 20n, folding_factor: 8n,
  remainder_max_len: 256n, zk: true, aux_grinding_bits: 0n,
};

/**
 * StarkParams(**block) of stark/params.py: throws PyTypeError or Error with the message Python's
 * TypeError or ValueError has (an unknown key, a comparison a value cannot take, the ranges).
 * Missing keys take the defaults; zk is never checked (check_declared's same_json refuses it).
 */
export function checkStarkParams(block) {
  for (const key of block.keys()) {
    if (!PARAM_FIELDS.includes(key)) {
      throw new PyTypeError(`StarkParams.__init__() got an unexpected keyword argument '${key}'`);
    }
  }
  const p = (name) => (block.has(name) ? block.get(name) : PARAM_DEFAULTS[name]);
  const problems = [];
  if (!inDict(p("extension_degree"), [4n, 5n])) problems.push("extension_degree must be one of [4, 5]");
  if (!isPowerOfTwoPy(p("blowup")) || !pyBetween(2n, p("blowup"), 64n)) {
    problems.push("blowup must be a power of two in [2, 64]");
  }
  if (!pyBetween(1n, p("num_queries"), BigInt(MAX_QUERIES))) problems.push(`num_queries must be in [1, ${MAX_QUERIES}]`);
  for (const name of ["grinding_bits", "aux_grinding_bits"]) {
    if (!pyBetween(0n, p(name), BigInt(MAX_GRINDING_BITS))) problems.push(`${name} must be in [0, ${MAX_GRINDING_BITS}]`);
  }
  const f = p("folding_factor");
  if (![2n, 4n, 8n].some((c) => pyEqualsInt(f, c))) problems.push("folding_factor must be 2, 4 or 8");
  const r = p("remainder_max_len");
  if (!isPowerOfTwoPy(r) || !pyBetween(f, r, BigInt(MAX_REMAINDER_LEN))) {
    problems.push(`remainder_max_len must be a power of two between the folding factor and ${MAX_REMAINDER_LEN}`);
  }
  if (problems.length) throw new Error("invalid STARK parameters: " + problems.join("; "));
}

/**
 * Parse statement.json (bytes or text); throws InputError. Returns PublishedStatement's
 * fields: { format, issuer, asOf, quote, scale (BigInt), symbols, decimals (Numbers), prices,
 * totals (BigInts), snapshot, insecureSeeded, batches: [{ usersPadded (Number), leavesRoot,
 * proofSha256, proofBytes (BigInt), commitment (8 Numbers, or null for one batch) }], usersRoot,
 * count, equity (BigInts, null in format 1), haircuts ([] in format 1, else one table
 * [{ upTo (BigInt or null), percent (BigInt) }] or null per asset), aggregate ({ proofSha256,
 * proofBytes } or null), data (the document as json.js read it: Maps, BigInts, PyFloats) }.
 */
export function readStatement(input) {
  let data;
  try {
    data = loadJsonStrict(input, MAX_STATEMENT_BYTES, "statement");
  } catch (e) {
    if (e instanceof JsonError) throw new InputError(`statement.json${e.line ? `:${e.line}` : ""}: ${e.message}`);
    throw e;
  }
  const top = new Fields(data, FIELDS);
  const format = data.get("format");
  if (!FORMATS_READ.includes(format)) {
    throw top.error("format", `${show(format)} is not a format this verifier reads (${FORMATS_READ.join(", ")}; docs/publication.md, 'Formats read')`);
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
    let commitment = null;
    if (count > 1) commitment = r.hexElements("commitment", 8);
    else if (r.raw("commitment") !== null) {
      throw r.error("commitment", "a publication of one batch publishes its totals (null)");
    }
    r.hexElements("leaves_root", 8);
    const usersPadded = Number(r.integer("users_padded", 1, MAX_TRACE_LEN));
    const proofSha256 = r.sha256("proof_sha256");
    const proofBytes = r.integer("proof_bytes");
    return { usersPadded, leavesRoot: r.raw("leaves_root"), proofSha256, proofBytes, commitment };
  });
  const size = batches[0].usersPadded;
  if (batches.slice(0, -1).some((b) => b.usersPadded !== size) || batches[count - 1].usersPadded > size) {
    throw top.error("batches", "every batch but the last has as many rows as the first");
  }
  const total = batches.reduce((a, b) => a + b.usersPadded, 0);
  if (top.integer("users_padded", 1, MAX_BATCHES * MAX_TRACE_LEN) !== BigInt(total)) {
    throw top.error("users_padded", "is not the sum of the batches' padded users");
  }
  let aggregate = null;
  if (count > 1) {
    const block = top.object("aggregate", PROOF_FIELDS);
    aggregate = { proofSha256: block.sha256("proof_sha256"), proofBytes: block.integer("proof_bytes") };
  } else if (data.get("aggregate") !== null) {
    throw top.error("aggregate", "a publication of one batch has no aggregation (null)");
  }
  top.boolean("zero_knowledge");
  if (data.get("preset") !== null) top.string("preset");
  top.object("security", SECURITY_FIELDS);
  top.object("inclusion", ["leaf_hash"]).string("leaf_hash");
  top.hexElements("users_root", 8);
  if (data.get("params") instanceof Map) {
    try {
      checkStarkParams(data.get("params"));
    } catch (e) {
      throw top.error("params", `not a parameter block (${e.message})`);
    }
  } else throw top.error("params", "expected a JSON object");
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
    aggregate,
    data,
  };
  if (gross) assets.forEach((a) => a.intString("debt_base_units", true));
  try {
    checkCircuitStatement({ ...s, as_of: s.asOf });
  } catch (e) {
    throw new InputError(`statement.json: malformed statement: ${e.message}`);
  }
  return s;
}
