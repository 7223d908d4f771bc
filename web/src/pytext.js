// Python's text forms where a verdict quotes a value: repr() of a string, "{n:,}", str.strip()
// and str.isprintable(). Unicode categories come from the JavaScript engine's tables, which may
// be newer than Python's (a character assigned since then differs: see web/README.md).

const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** str.isprintable() of one code point (a string of one code point or a lone surrogate). */
export function isPrintable(ch) {
  return ch === " " || !NOT_PRINTABLE.test(ch);
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
  return /^[\x00-\x7f]*$/.test(stripped) ? stripped : stripped.normalize("NFC");
}
