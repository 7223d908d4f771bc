// What `solvency verify DIR` (solvency/commands/verify.py) says about a checked publication, in
// its words: the customer's sentence for a failed check (customer_reason, mismatch_reason, the
// SecurityTooLow sentence), the VALID line (verdict_line), the warnings (warnings_of), and the
// --json report (json_report, without `seconds`) with the text json.dumps prints for it.
// Reserves and reference prices are not handled here (the page adds them later).
//
// Amounts are exact: a decimal string is m x 10^e with m a BigInt, as Python's Decimal keeps it.
import { PRESETS } from "./params.js";
import { pyRound, formatFixed } from "./security.js";
import { pyFloatRepr, withCommas } from "./pytext.js";

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_INPUT = 2;

// -- exact decimals -----------------------------------------------------------------------------

/** A plain decimal string ("-12.50") as [m, e] with value m x 10^e (Decimal(text)). */
export function parseDecimal(text) {
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  const [whole, fraction = ""] = body.split(".");
  const m = BigInt(whole + fraction);
  return [negative ? -m : m, -fraction.length];
}

/** Decimal equality of m1 x 10^e1 and m2 x 10^e2. */
export function decimalEquals([m1, e1], [m2, e2]) {
  const e = Math.min(e1, e2);
  return m1 * 10n ** BigInt(e1 - e) === m2 * 10n ** BigInt(e2 - e);
}

/** f"{Decimal(m).scaleb(e):f}": no exponent, every digit the exponent implies ("0.00", "5000"). */
export function fixedText(m, e) {
  const sign = m < 0n ? "-" : "";
  let digits = (m < 0n ? -m : m).toString();
  if (e >= 0) return m === 0n ? "0" : sign + digits + "0".repeat(e);
  digits = digits.padStart(-e + 1, "0");
  return `${sign}${digits.slice(0, e)}.${digits.slice(e)}`;
}

/** encoding.plain(Decimal): without exponent or trailing zeros ("97000.12", "0", "1.5"). */
export function plainText(m, e) {
  const text = fixedText(m, e);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** encoding.price_decimal as plain text: integer_price / 10^(scale - decimals). */
export const priceText = (price, scale, decimals) => plainText(price, decimals - Number(scale));

/** encoding.coins: base units as a plain decimal with the asset's decimals. */
export const coinsText = (units, decimals) => fixedText(units, -decimals);

/** circuits.haircut.table_json: [{ up_to, percent }, ..., { percent }] or null. */
export function tableJson(table) {
  if (table === null || table === undefined) return null;
  return table.map((t) =>
    t.upTo === null ? { percent: Number(t.percent) } : { up_to: t.upTo.toString(), percent: Number(t.percent) },
  );
}

/** format(x, "g") for a float: 6 significant digits, trailing zeros dropped. */
export function formatG(x) {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  let exp = Math.floor(Math.log10(Math.abs(x)));
  for (let attempt = 0; attempt < 2; attempt++) {
    if (exp < -4 || exp >= 6) break;
    const text = formatFixed(x, 5 - exp); // half to even on the exact value, as Python
    const integerDigits = text.replace("-", "").split(".")[0].replace(/^0$/, "").length;
    if (exp >= 0 && integerDigits > exp + 1) {
      exp += 1; // rounding carried into one more digit (999.9995 -> 1000)
      continue;
    }
    return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }
  // outside [1e-4, 1e6): exponent form (no caller of this module reaches it: --min-security
  // lies in [100, 1000])
  const [mantissa, e] = x.toExponential(5).split("e");
  const m = mantissa.includes(".") ? mantissa.replace(/0+$/, "").replace(/\.$/, "") : mantissa;
  const n = Number(e);
  return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
}

// -- INVALID: the customer's sentence -----------------------------------------------------------

export const DOES_NOT_MATCH =
  "the proof does not match this statement: the issuer, date, totals, prices, assets or " +
  "parameters were changed, or the proof is corrupt";

/** customer_reason: a VerificationError's reason in a customer's words. */
export function customerReason(reason) {
  const r = reason.toLowerCase();
  if (r.startsWith("malformed proof") || r.includes("format version")) {
    return "the proof file is corrupt or is not a solvency proof";
  }
  if (r.includes("accepted") || r.includes("unacceptable") || r.includes(" bits")) {
    return "the proof's security parameters are not ones this verifier accepts";
  }
  if (r.includes("trace length")) return "the proof is for a different number of users than the statement says";
  return DOES_NOT_MATCH;
}

/** mismatch_reason: a false statement.json field (its name, the full message) in a customer's words. */
export function mismatchReason(field, message) {
  if (field.endsWith("proof_sha256") || field.endsWith("proof_bytes")) {
    return "a proof file is not the proof this statement names: the files were changed or mixed up";
  }
  if (field === "params" && message.includes("none of the accepted presets")) {
    return (
      "the proof uses security parameters this verifier does not accept " +
      `(only the presets ${[...PRESETS.keys()].sort().join(", ")})`
    );
  }
  if (field.startsWith("security.")) {
    return (
      "the security figures in statement.json are not what the proof's parameters give " +
      "for this statement: it was changed or is false; nothing in it can be relied on"
    );
  }
  if (["params", "preset", "zero_knowledge"].includes(field)) {
    return `statement.json misreports the proof's parameters or security (${field}); nothing in it can be relied on`;
  }
  return `statement.json says something the proof does not prove (${field}); nothing in it can be relied on`;
}

/** The SecurityTooLow sentence (checked_publication) and its detail (the exception's text). */
export function securityTooLow(bits, regime, minBits, preset) {
  const hint =
    regime === "provable"
      ? "; a proof made with --preset fast is accepted only with --accept-conjectured-security"
      : "";
  return {
    message:
      `the proof's security is below what this verifier requires: ${formatFixed(bits, 1)} ` +
      `${regime} bits, fewer than ${formatG(minBits)}${hint}`,
    detail: `${formatFixed(bits, 1)} ${regime} bits, fewer than ${formatG(minBits)} (${preset} preset)`,
  };
}

// -- VALID: the line, the warnings, the report ---------------------------------------------------

const traceLen = (s) => s.batches.reduce((a, b) => a + b.usersPadded, 0);
const zeroKnowledge = (proved) => proved.params.zk && !proved.statement.insecureSeeded;

/** zero_priced: the assets priced at 0. */
export const zeroPriced = (s) => s.symbols.filter((_, j) => s.prices[j] === 0n);

/** verdict_line (without reference prices). proved = { statement, preset, params, security }. */
export function verdictLine(proved, regime) {
  const s = proved.statement;
  const batches = s.count === 1 ? "" : ` in ${s.count} batches (no batch's totals revealed)`;
  const rule =
    s.equity !== null && s.haircuts.some((t) => t !== null)
      ? "every user's debts are covered by their collateral after the published haircuts"
      : "no user's total value is below zero";
  const gross =
    s.equity === null
      ? " (format 1: without equity, debt or haircut tables)"
      : ", its equity and debt those of their positive and negative parts";
  let line =
    `the liabilities of ${s.issuer} as of ${s.asOf} are proved: each total is the exact ` +
    `sum of ${withCommas(traceLen(s))} padded user balances${batches}${gross}, and ${rule}`;
  if (regime === "conjectured") line = "at conjectured security only, " + line;
  if (!zeroKnowledge(proved)) line += "; this proof does NOT hide user balances (made for testing)";
  return line;
}

/** warnings_of (without reference prices). */
export function warningsOf(proved) {
  const s = proved.statement;
  const out = [];
  if (s.equity === null) {
    out.push(
      "this publication is format 1: it proves totals without equity, debt or haircut " +
        "tables, so a made-up user's debt does not show and debts backed by illiquid " +
        "tokens are not stopped; this version of prove writes format 2",
    );
  }
  const unpriced = zeroPriced(s);
  if (unpriced.length) {
    out.push(
      `${unpriced.join(", ")} priced at 0: negative balances in ` +
        `${unpriced.length === 1 ? "it" : "them"} do not lower any user's value, so the ` +
        "proof does not stop rows with such debts from lowering the total; check that a " +
        "price of 0 is right",
    );
  }
  if (!zeroKnowledge(proved)) {
    out.push("this proof was made with --insecure-seed (testing only): it does NOT hide user balances");
  }
  return out;
}

/** The --json report's fields that are Python floats (pyJsonText writes them with a point). */
export const FLOAT_FIELDS = new Set(["min_bits", "provable_bits", "conjectured_bits"]);

/**
 * json_report (no reserves, no reference prices), without `seconds`; with statementSha256, the
 * `statement_sha256` field (the SHA-256 of statement.json's bytes) last, where `verify --json`
 * puts it (after `seconds`; then comes `page`, the page's own digest, which the page adds).
 */
export function jsonReport(proved, regime, minBits, statementSha256 = null) {
  const s = proved.statement;
  const gross = s.equity !== null;
  return {
    verdict: "valid",
    message: verdictLine(proved, regime),
    issuer: s.issuer,
    as_of: s.asOf,
    quote: s.quote,
    users_padded: traceLen(s),
    batches: s.count,
    users_root: s.usersRoot,
    snapshot: s.snapshot,
    assets: s.symbols.map((symbol, j) => ({
      symbol,
      price: priceText(s.prices[j], s.scale, s.decimals[j]),
      total: coinsText(s.totals[j], s.decimals[j]),
      ...(gross
        ? {
            equity: coinsText(s.equity[j], s.decimals[j]),
            debt: coinsText(s.equity[j] - s.totals[j], s.decimals[j]),
            haircut: tableJson(s.haircuts.length ? s.haircuts[j] : null),
          }
        : {}),
    })),
    reserves_below_liabilities: [],
    zero_priced: zeroPriced(s),
    warnings: warningsOf(proved),
    preset: proved.preset,
    security: {
      regime_required: regime,
      min_bits: minBits,
      provable_bits: pyRound(proved.security.provable_bits, 2),
      conjectured_bits: pyRound(proved.security.conjectured_bits, 2),
      recomputed: true,
    },
    zero_knowledge: zeroKnowledge(proved),
    ...(statementSha256 === null ? {} : { statement_sha256: statementSha256 }),
  };
}

/** A string as json.dumps writes it (ensure_ascii: every non-ASCII code unit as \uxxxx). */
function jsonString(text) {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ch = text[i];
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

/**
 * json.dumps(value) with Python's defaults (", " and ": ", ensure_ascii): the text `verify
 * --json` prints. Numbers are ints, except under the keys of FLOAT_FIELDS (Python floats).
 */
export function pyJsonText(value, floatKey = false) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return floatKey ? pyFloatRepr(value) : String(value);
  if (typeof value === "string") return jsonString(value);
  if (Array.isArray(value)) return `[${value.map((v) => pyJsonText(v)).join(", ")}]`;
  const items = Object.entries(value).map(([k, v]) => `${jsonString(k)}: ${pyJsonText(v, FLOAT_FIELDS.has(k))}`);
  return `{${items.join(", ")}}`;
}
