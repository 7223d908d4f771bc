// The customer's inclusion check, as `solvency verify-inclusion FILE --published DIR [--user ID]
// --skip-proof` decides it (solvency/commands/inclusion.py, solvency/inclusion.py:
// parse_inclusion, check_inclusion): the same documents refused, the same verdicts, the same
// reasons in the same words. The STARK proof is NOT verified here (as with --skip-proof).
import { loadJsonStrict, JsonError } from "./json.js";
import { parseElementsHex } from "./encoding.js";
import { userLeaf, isWellFormed, NONCE_ELEMENTS } from "./leaf.js";
import { verifyLeafPath } from "./merkle.js";
import { readStatement, InputError } from "./statement.js";
import { pyRepr, withCommas, canonicalId } from "./pytext.js";

export const INCLUSION_FORMAT = "stark-solvency-inclusion/3";
export const MAX_INCLUSION_BYTES = 1 << 16;
const INCLUSION_FIELDS = [
  "format", "issuer", "as_of", "user_id", "batch", "row", "nonce", "balances", "users_root", "path",
];
const AMOUNT = /^(-?)([0-9]{1,40})(?:\.([0-9]{1,40}))?$/; // ASCII digits only
const DIGEST = 8;

class NotIncluded extends Error {}

/** parse_amount: a decimal string to base units (BigInt), exactly; throws Error otherwise. */
export function parseAmount(text, decimals) {
  const m = typeof text === "string" ? AMOUNT.exec(text) : null;
  if (m === null) throw new Error(`expected a plain decimal string, got ${typeof text === "string" ? pyRepr(text) : String(text)}`);
  const [, sign, whole] = m;
  const fraction = (m[3] ?? "").replace(/0+$/, "");
  if (fraction.length > decimals) throw new Error(`${text} has more than the asset's ${decimals} decimals`);
  const units = BigInt(whole + fraction.padEnd(decimals, "0")) * (sign ? -1n : 1n);
  if (units < -(1n << 63n) || units >= 1n << 63n) throw new Error(`${text} is outside the range of a balance`);
  return units;
}

/** parse_inclusion: the shape of an inclusion file's JSON (a Map); throws Error("field: ..."). */
export function parseInclusion(data) {
  if (!(data instanceof Map)) throw new Error("expected a JSON object");
  const format = data.get("format");
  if (format !== INCLUSION_FORMAT) {
    throw new Error(`format: expected ${pyRepr(INCLUSION_FORMAT)}, got ${typeof format === "string" ? pyRepr(format) : String(format)}`);
  }
  for (const name of data.keys()) if (!INCLUSION_FIELDS.includes(name)) throw new Error(`${name}: unknown field`);
  for (const name of INCLUSION_FIELDS) if (!data.has(name)) throw new Error(`${name}: missing field`);
  for (const name of ["issuer", "as_of", "user_id"]) {
    if (typeof data.get(name) !== "string") throw new Error(`${name}: expected a string`);
  }
  for (const name of ["batch", "row"]) {
    const v = data.get(name);
    if (typeof v !== "bigint" || v < 0n || v >= 1n << 32n) throw new Error(`${name}: expected a non-negative integer`);
  }
  const balances = data.get("balances");
  if (!(balances instanceof Map) || ![...balances.values()].every((v) => typeof v === "string")) {
    throw new Error('balances: expected {"SYMBOL": "decimal", ...}');
  }
  const path = data.get("path");
  if (!Array.isArray(path) || path.length > 64) throw new Error("path: expected a list of hashes");
  const parsed = {};
  for (const [name, count] of [["nonce", NONCE_ELEMENTS], ["users_root", DIGEST]]) {
    try {
      parsed[name] = parseElementsHex(data.get(name), count);
    } catch (e) {
      throw new Error(`${name}: ${e.message}`);
    }
  }
  const siblings = path.map((text, d) => {
    try {
      return parseElementsHex(text, DIGEST);
    } catch (e) {
      throw new Error(`path[${d}]: ${e.message}`);
    }
  });
  return {
    issuer: data.get("issuer"),
    asOf: data.get("as_of"),
    userId: data.get("user_id"),
    batch: data.get("batch"),
    row: data.get("row"),
    nonce: parsed.nonce,
    usersRootText: data.get("users_root"),
    balances, // Map symbol -> decimal string, in the file's order
    path: siblings,
  };
}

function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

/** check_inclusion: the user's balances (BigInt, the statement's order), or NotIncluded. */
function check(claim, s) {
  if (claim.issuer !== s.issuer || claim.asOf !== s.asOf) {
    throw new NotIncluded(
      `this file is for the proof of ${pyRepr(claim.issuer)} as of ${pyRepr(claim.asOf)}, but the ` +
        `published proof is ${pyRepr(s.issuer)}'s as of ${pyRepr(s.asOf)}`,
    );
  }
  if (claim.usersRootText !== s.usersRoot) {
    throw new NotIncluded(
      "this file's root is not the published proof's: it belongs to another snapshot or was changed",
    );
  }
  const listed = [...claim.balances.keys()];
  if (listed.length !== s.symbols.length || listed.some((k, i) => k !== s.symbols[i])) {
    throw new NotIncluded(
      `this file lists the assets ${listed.map(pyRepr).join(", ")}, the proof has ${s.symbols.map(pyRepr).join(", ")}`,
    );
  }
  const balances = s.symbols.map((sym, j) => {
    try {
      return parseAmount(claim.balances.get(sym), s.decimals[j]);
    } catch (e) {
      throw new NotIncluded(`your ${sym} balance cannot have been counted: ${e.message}`);
    }
  });
  if (claim.batch >= BigInt(s.count)) {
    throw new NotIncluded(`this file names batch ${claim.batch}; there are ${s.count}`);
  }
  const n = BigInt(s.batches[Number(claim.batch)].usersPadded);
  const width = 1n << BigInt(Math.max(0, bitLength(BigInt(s.count - 1))));
  const leaves = n * width;
  if (claim.row >= n || claim.path.length !== bitLength(leaves) - 1) {
    throw new NotIncluded(
      `this file's position (row ${claim.row}, a path of ${claim.path.length} hashes) ` +
        `cannot belong to a batch of ${withCommas(n)} rows in ${s.count} batch(es)`,
    );
  }
  if (!isWellFormed(claim.userId)) {
    throw new NotIncluded(
      `the user id ${pyRepr(claim.userId)} cannot be hashed: the user id ${pyRepr(claim.userId)} is not valid Unicode`,
    );
  }
  const leaf = userLeaf(claim.userId, claim.nonce, balances);
  const root = parseElementsHex(s.usersRoot, DIGEST);
  if (!verifyLeafPath(root, claim.batch * n + claim.row, leaf, claim.path, leaves)) {
    throw new NotIncluded(
      "your id, nonce and balances, with this file's path, do not lead to the published " +
        "root: these balances are not the ones the exchange committed for you at row " +
        `${claim.row}, or the file was changed`,
    );
  }
  return balances;
}

/** Decimal(b).scaleb(-dec), printed as `plain` prints it (no exponent, no trailing zeros). */
export function plainAmount(units, decimals) {
  const neg = units < 0n;
  let digits = (neg ? -units : units).toString().padStart(decimals + 1, "0");
  let text = decimals ? `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}` : digits;
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return (neg ? "-" : "") + text;
}

const NOTE =
  " (the publication's STARK proof was not verified here: only the path from your leaf to " +
  "its published users' root)";

/**
 * The customer's check. inclusion, statement: the files' bytes (Uint8Array) or text; userId:
 * the id the customer types (optional; compared in its canonical form).
 * Returns {verdict: "INCLUDED" | "NOT INCLUDED", exit: 0 | 1 | 2, reasons: [...], line,
 * core, notes, balances?}: exit as the command's (0 included, 1 not included, 2 unreadable
 * input: then the verdict is NOT INCLUDED and the reason says which file is malformed);
 * `core` is the verdict line without its note on what was not verified.
 */
export function checkInclusion(inclusion, statement, userId = null) {
  const wanted = userId === null || userId === undefined ? null : canonicalId(userId);
  let claim;
  let s;
  try {
    let raw;
    try {
      raw = loadJsonStrict(inclusion, MAX_INCLUSION_BYTES, "inclusion file");
      claim = parseInclusion(raw);
    } catch (e) {
      if (e instanceof JsonError || !(e instanceof TypeError || e instanceof RangeError)) {
        throw new InputError(`inclusion file: ${e.message}`);
      }
      throw e;
    }
    s = readStatement(statement);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const line = `error: ${e.message}`;
    return { verdict: "NOT INCLUDED", exit: 2, reasons: [e.message], line, core: line, notes: [] };
  }
  try {
    if (wanted !== null && wanted !== claim.userId) {
      throw new NotIncluded(`this file is for the user id ${pyRepr(claim.userId)}, not for ${pyRepr(wanted)}`);
    }
    const balances = check(claim, s);
    const held = [];
    s.symbols.forEach((sym, j) => {
      if (balances[j] !== 0n) held.push(`${sym} ${plainAmount(balances[j], s.decimals[j])}`);
    });
    const zeros = balances.length - held.length;
    let listed = held.length ? held.join(", ") : "all zero";
    if (held.length && zeros) listed += ` (and zero in the ${zeros} other asset${zeros > 1 ? "s" : ""})`;
    const notes = [];
    if (wanted === null) {
      notes.push(
        `note: this file is for the user id ${pyRepr(claim.userId)}: check that it is yours ` +
          "(--user ID checks it), or these may be someone else's balances",
      );
    }
    notes.push(`publication: users' root ${s.usersRoot}, snapshot ${s.snapshot}`);
    const core =
      `INCLUDED: your balances as user ${pyRepr(claim.userId)}, ${listed}, are included in the ` +
      `liabilities proved as of ${s.asOf} by ${s.issuer}`;
    return { verdict: "INCLUDED", exit: 0, reasons: [], line: core + NOTE, core, notes, balances };
  } catch (e) {
    if (!(e instanceof NotIncluded)) throw e;
    const line = `NOT INCLUDED: ${e.message}`;
    return { verdict: "NOT INCLUDED", exit: 1, reasons: [e.message], line, core: line, notes: [] };
  }
}
