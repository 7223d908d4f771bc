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

export class PyFloat {
  constructor(text) {
    this.text = text;
    this.value = Number(text);
  }
}

export class JsonError extends Error {}

const MAX_INT_DIGITS = 4300; // sys.get_int_max_str_digits()
const MAX_DEPTH = 900; // Python's recursion limit (1000) less what the call stack already uses

/** Bytes (Uint8Array) or a string -> the decoded text, as solvency.files.decode_utf8. */
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
    throw new JsonError("not UTF-8 text; save the file as UTF-8");
  }
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/** Parse JSON text strictly (see the module comment); throws JsonError. */
export function parseJson(text) {
  let i = 0;
  const fail = (msg) => {
    throw new JsonError(`not valid JSON: ${msg} (at character ${i})`);
  };
  const skip = () => {
    while (i < text.length && WS.has(text[i])) i++;
  };
  const string = () => {
    i++; // the opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!HEX4.test(hex)) fail("invalid \\uXXXX escape");
          let code = parseInt(hex, 16);
          i += 6;
          if (code >= 0xd800 && code <= 0xdbff && text[i] === "\\" && text[i + 1] === "u") {
            const low = text.slice(i + 2, i + 6);
            if (HEX4.test(low)) {
              const lc = parseInt(low, 16);
              if (lc >= 0xdc00 && lc <= 0xdfff) {
                out += String.fromCharCode(code, lc);
                i += 6;
                continue;
              }
            }
          }
          out += String.fromCharCode(code);
          continue;
        }
        if (e === undefined || !(e in ESCAPES)) fail("invalid escape");
        out += ESCAPES[e];
        i += 2;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) fail("invalid control character in a string");
      out += c;
      i++;
    }
  };
  const value = (depth) => {
    if (depth > MAX_DEPTH) fail("nested too deeply");
    skip();
    const c = text[i];
    if (c === "{") {
      i++;
      const map = new Map();
      skip();
      if (text[i] === "}") {
        i++;
        return map;
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail("expecting a property name in double quotes");
        const key = string();
        skip();
        if (text[i] !== ":") fail("expecting ':'");
        i++;
        const v = value(depth + 1);
        if (map.has(key)) throw new JsonError(`not valid JSON: duplicate key ${JSON.stringify(key)}`);
        map.set(key, v);
        skip();
        if (text[i] === "}") {
          i++;
          return map;
        }
        if (text[i] !== ",") fail("expecting ',' delimiter");
        i++;
      }
    }
    if (c === "[") {
      i++;
      const list = [];
      skip();
      if (text[i] === "]") {
        i++;
        return list;
      }
      for (;;) {
        list.push(value(depth + 1));
        skip();
        if (text[i] === "]") {
          i++;
          return list;
        }
        if (text[i] !== ",") fail("expecting ',' delimiter");
        i++;
      }
    }
    if (c === '"') return string();
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
    if (m) {
      i += m[0].length;
      if (m[1] === undefined && m[2] === undefined) {
        const digits = m[0].replace("-", "");
        if (digits.length > MAX_INT_DIGITS) {
          throw new JsonError("not valid JSON: an integer of more than 4,300 digits");
        }
        return BigInt(m[0]);
      }
      return new PyFloat(m[0]);
    }
    fail("expecting a value");
  };
  const result = value(0);
  skip();
  if (i !== text.length) fail("extra data");
  return result;
}

/** decodeUtf8 then parseJson. */
export function loadJsonStrict(input, maxBytes, what) {
  return parseJson(decodeUtf8(input, maxBytes, what));
}
