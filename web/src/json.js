// Strict JSON, read as Python's json.loads reads it in solvency/publication/encoding.py
// (load_json_strict): the same documents accepted and refused, with the value kinds Python
// distinguishes kept apart:
//   object  -> Map (key order kept; a duplicate key is refused)
//   integer -> BigInt (a number with neither fraction nor exponent; more than 4,300 digits
//              is refused, as Python's int() limit refuses it)
//   float   -> PyFloat (a number with a fraction or an exponent: never an integer to Python)
//   string  -> string (lone surrogates from \u escapes kept, as Python keeps them)
//   true, false, null -> themselves; NaN, Infinity, -Infinity are refused.
// Whitespace is Python's: space, tab, line feed, carriage return. The input is the bytes of
// the file: at most `maxBytes`, UTF-8 (strict), one leading byte-order mark skipped.

import { pyRepr } from "./pytext.js";

export class PyFloat {
  constructor(text) {
    this.text = text;
    this.value = Number(text);
  }
}

/**
 * A document json.loads refuses: `problem` is Python's message after "not valid JSON: " or the
 * decoding's; `line` the line Python names (JSONDecodeError.lineno, or the line of a byte that
 * is not UTF-8), null where Python names none (a ValueError of the hooks or of int()).
 * `message` is the problem alone (as before; the callers add the file's name and the line).
 */
export class JsonError extends Error {
  constructor(problem, line = null) {
    super(problem);
    this.problem = problem;
    this.line = line;
  }
}

const MAX_INT_DIGITS = 4300; // sys.get_int_max_str_digits()
const MAX_DEPTH = 900; // Python's recursion limit (1000) less what the call stack already uses

/**
 * Bytes (Uint8Array) or a string -> the decoded text, as solvency.files.decode_utf8: one
 * byte-order mark skipped; a byte that starts no UTF-8 character named with its line and column.
 */
export function decodeUtf8(input, maxBytes, what) {
  let bytes = input;
  if (typeof input === "string") bytes = new TextEncoder().encode(input);
  if (!(bytes instanceof Uint8Array)) throw new JsonError(`expected the bytes of ${what}`);
  if (bytes.length > maxBytes) {
    throw new JsonError(`larger than the ${maxBytes.toLocaleString("en-US")} bytes allowed for any ${what}`);
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start));
  } catch {
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      throw new JsonError("UTF-16 text (it starts with a UTF-16 mark); save it as UTF-8");
    }
    const at = firstInvalidUtf8(bytes, start);
    const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
    const column = at - bytes.subarray(0, at).lastIndexOf(0x0a);
    const hex = bytes[at].toString(16).toUpperCase().padStart(2, "0");
    throw new JsonError(`not UTF-8 text (byte 0x${hex} at column ${column}); save the file as UTF-8`, line);
  }
}

/** The offset of the first byte where strict UTF-8 decoding fails (UnicodeDecodeError.start). */
function firstInvalidUtf8(bytes, from) {
  let i = from;
  while (i < bytes.length) {
    const b = bytes[i];
    let need;
    let low = 0x80;
    let high = 0xbf;
    if (b < 0x80) need = 0;
    else if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const lo = k === 1 ? low : 0x80;
      const hi = k === 1 ? high : 0xbf;
      if (c === undefined || c < lo || c > hi) return i;
    }
    i += need + 1;
  }
  return i;
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Parse JSON text strictly (see the module comment); throws JsonError with the message and
 * line Python's json module gives: its scanner's errors at its positions ("Expecting value",
 * "Expecting ',' delimiter", ...), a duplicate key when its object closes (object_pairs_hook),
 * NaN and Infinity when met (parse_constant), an integer over 4,300 digits when met (int()).
 */
export function parseJson(text) {
  let i = 0;
  const lineOf = (pos) => {
    let line = 1;
    for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
    return line;
  };
  const fail = (msg, pos) => {
    throw new JsonError(`not valid JSON: ${msg}`, lineOf(pos));
  };
  const skip = () => {
    while (i < text.length && WS.has(text[i])) i++;
  };
  const hex4At = (pos, errorPos) => {
    const hex = text.slice(pos, pos + 4);
    if (!HEX4.test(hex)) fail("Invalid \\uXXXX escape", errorPos);
    return parseInt(hex, 16);
  };
  // scanstring: i is on the opening quote
  const string = () => {
    const begin = i;
    i++;
    let out = "";
    for (;;) {
      let next = i;
      while (next < text.length) {
        const c = text.charCodeAt(next);
        if (c === 34 || c === 92) break;
        if (c <= 0x1f) fail("Invalid control character at", next);
        next++;
      }
      if (next >= text.length) fail("Unterminated string starting at", begin);
      out += text.slice(i, next);
      if (text[next] === '"') {
        i = next + 1;
        return out;
      }
      next++; // past the backslash
      if (next === text.length) fail("Unterminated string starting at", begin);
      const e = text[next];
      if (e !== "u") {
        if (!(e in ESCAPES)) fail("Invalid \\escape", next - 1);
        out += ESCAPES[e];
        i = next + 1;
        continue;
      }
      next++;
      let end = next + 4;
      if (end >= text.length) fail("Invalid \\uXXXX escape", next - 1);
      let code = hex4At(next, end - 5);
      next = end;
      if (code >= 0xd800 && code <= 0xdbff && end + 6 < text.length && text[next] === "\\" && text[next + 1] === "u") {
        end += 6;
        const low = hex4At(next + 2, end - 5);
        if (low >= 0xdc00 && low <= 0xdfff) {
          out += String.fromCharCode(code, low);
          i = end;
          continue;
        }
        end -= 6;
      }
      out += String.fromCharCode(code);
      i = end;
    }
  };
  const value = (depth) => {
    if (depth > MAX_DEPTH) throw new JsonError("not valid JSON: nested too deeply");
    if (i >= text.length) throw new StopIteration(i);
    const c = text[i];
    if (c === '"') return string();
    if (c === "{") return object(depth);
    if (c === "[") return array(depth);
    for (const [word, v] of [["null", null], ["true", true], ["false", false]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    for (const word of ["NaN", "Infinity", "-Infinity"]) {
      if (text.startsWith(word, i)) throw new JsonError(`not valid JSON: ${word} is not a number`);
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) throw new StopIteration(i);
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const digits = m[0].replace("-", "");
      if (digits.length > MAX_INT_DIGITS) {
        throw new JsonError(
          `not valid JSON: Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion: ` +
            `value has ${digits.length} digits; use sys.set_int_max_str_digits() to increase the limit`,
        );
      }
      return BigInt(m[0]);
    }
    return new PyFloat(m[0]);
  };
  const object = (depth) => {
    i++;
    const pairs = [];
    skip();
    if (i >= text.length || text[i] !== "}") {
      for (;;) {
        if (i >= text.length || text[i] !== '"') fail("Expecting property name enclosed in double quotes", i);
        const key = string();
        skip();
        if (i >= text.length || text[i] !== ":") fail("Expecting ':' delimiter", i);
        i++;
        skip();
        pairs.push([key, value(depth + 1)]);
        skip();
        if (i < text.length && text[i] === "}") break;
        if (i >= text.length || text[i] !== ",") fail("Expecting ',' delimiter", i);
        i++;
        skip();
      }
    }
    i++;
    const map = new Map();
    for (const [key, v] of pairs) {
      if (map.has(key)) throw new JsonError(`not valid JSON: duplicate key ${pyRepr(key)}`);
      map.set(key, v);
    }
    return map;
  };
  const array = (depth) => {
    i++;
    const list = [];
    skip();
    if (i >= text.length || text[i] !== "]") {
      for (;;) {
        list.push(value(depth + 1));
        skip();
        if (i < text.length && text[i] === "]") break;
        if (i >= text.length || text[i] !== ",") fail("Expecting ',' delimiter", i);
        i++;
        skip();
      }
    }
    i++;
    return list;
  };
  if (text.startsWith("\ufeff")) fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
  skip();
  let result;
  try {
    result = value(0);
  } catch (e) {
    if (e instanceof StopIteration) fail("Expecting value", e.pos);
    throw e;
  }
  skip();
  if (i !== text.length) fail("Extra data", i);
  return result;
}

/** The scanner's StopIteration: no value starts at `pos` ("Expecting value" there). */
class StopIteration {
  constructor(pos) {
    this.pos = pos;
  }
}

/** decodeUtf8 then parseJson. */
export function loadJsonStrict(input, maxBytes, what) {
  return parseJson(decodeUtf8(input, maxBytes, what));
}
