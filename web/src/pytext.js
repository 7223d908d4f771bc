// Python's text forms where a verdict quotes a value: repr() of a string, "{n:,}", str.strip()
// and str.isprintable(). Unicode categories and NFC are Python 3.11's (Unicode 14.0, from
// unicode.js's generated tables), not the engine's, which are newer.
import { categoryClass, nfc } from "./unicode.js";

/** str.isprintable() of one code point (a string of one code point or a lone surrogate):
 * false for Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs, except the space. */
export function isPrintable(ch) {
  return ch === " " || categoryClass(ch.codePointAt(0)) === ".";
}

const hex = (n, width) => n.toString(16).padStart(width, "0");

/** repr(text) for a Python str. */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + hex(c, 2);
    else if (c < 0x7f) out += ch;
    else if (isPrintable(ch)) out += ch;
    else if (c <= 0xff) out += "\\x" + hex(c, 2);
    else if (c <= 0xffff) out += "\\u" + hex(c, 4);
    else out += "\\U" + hex(c, 8);
  }
  return out + quote;
}

/** f"{n:,}" for an integer (Number or BigInt). */
export function withCommas(n) {
  const s = BigInt(n).toString();
  const neg = s.startsWith("-");
  const digits = neg ? s.slice(1) : s;
  return (neg ? "-" : "") + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// str.isspace(): the characters of bidirectional class WS, B or S, or category Zs.
const PY_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
  0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
  0x2029, 0x202f, 0x205f, 0x3000,
]);

/** str.strip() with no argument. */
export function pyStrip(text) {
  const cps = [...text];
  let a = 0;
  let b = cps.length;
  while (a < b && PY_SPACE.has(cps[a].codePointAt(0))) a++;
  while (b > a && PY_SPACE.has(cps[b - 1].codePointAt(0))) b--;
  return cps.slice(a, b).join("");
}

/** solvency.ids.canonical_id: stripped, NFC. */
export function canonicalId(text) {
  const stripped = pyStrip(text);
  return /^[\x00-\x7f]*$/.test(stripped) ? stripped : nfc(stripped);
}

/**
 * repr(float): the shortest digits that round-trip (as Number's), written as Python writes
 * them: fixed when the decimal point falls within 16 digits (1e15 -> "1000000000000000.0"),
 * else d.ddde+XX (1e16 -> "1e+16", 1e-05); "inf", "-inf", "nan"; -0.0 keeps its sign.
 */
export function pyFloatRepr(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const point = Number(exp) + 1; // the value is 0.<digits> x 10^point
  if (point <= -4 || point > 16) {
    const e = point - 1;
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${body}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * repr() of a JSON value as json.js reads it, as Python prints the value json.loads made:
 * a Map as a dict ({'a': 1}), an Array as a list, a BigInt as an int, a float (an object
 * with `value`, json.js's PyFloat) by pyFloatRepr, a string by pyRepr, True, False, None.
 */
export function reprJson(v) {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === "string") return pyRepr(v);
  if (Array.isArray(v)) return `[${v.map(reprJson).join(", ")}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${pyRepr(k)}: ${reprJson(x)}`).join(", ")}}`;
  if (typeof v === "object" && "value" in v) return pyFloatRepr(v.value);
  return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${reprJson(x)}`).join(", ")}}`;
}

/** The name of a JSON value's Python type, as a TypeError message says it. */
export function pyTypeName(v) {
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  if (Array.isArray(v)) return "list";
  if (v instanceof Map) return "dict";
  return "float";
}
