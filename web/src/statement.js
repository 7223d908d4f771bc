// statement.json, read as solvency/publication/statement.py (read_statement) reads it, for what
// a customer's inclusion check needs. Everything read_statement checks about the fields that
// check reads, and about the document's shape, is checked here in the same way; what it checks
// beyond that (the STARK parameter block, the haircut tables' rules, the totals' and equities'
// ranges, the aggregation statement) is NOT replicated: see web/README.md ("Not done yet").
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
  for (const b of s.batches) {
    const n = b.usersPadded;
    if ((n & (n - 1)) !== 0 || n < MIN_TRACE_LEN || n > MAX_TRACE_LEN || n < k) {
      throw new Error(`the padded user count must be a power of two in [${MIN_TRACE_LEN}, ${MAX_TRACE_LEN}]`);
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
  };
  if (gross) {
    assets.forEach((a) => a.intString("equity_base_units", false));
    // NOT replicated: the haircut tables (_table, circuits.haircut.check_table).
    assets.forEach((a) => a.intString("debt_base_units", true));
  }
  try {
    checkCircuitStatement({ ...s, as_of: s.asOf });
  } catch (e) {
    throw new InputError(`statement.json: malformed statement: ${e.message}`);
  }
  return s;
}
