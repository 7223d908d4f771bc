// unicode.js: Python 3.11's Unicode classes and NFC. The table itself is checked against
// Python's unicodedata by tests/web/test_unicode_tables.py; here, that it is decoded right and
// that nfc() keeps what Python 14.0 keeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CLASS_RUNS } from "../src/unicode_tables.js";
import { categoryClass, isControlOrSeparator, nfc, UNIDATA_VERSION } from "../src/unicode.js";

test("every run's first code point and the one before it decode to their runs' classes", () => {
  const entries = CLASS_RUNS.split(",");
  let previous = null;
  for (const entry of entries) {
    const start = parseInt(entry.slice(0, -1), 36);
    assert.equal(categoryClass(start), entry.slice(-1));
    if (previous !== null) assert.equal(categoryClass(start - 1), previous);
    previous = entry.slice(-1);
  }
  assert.equal(categoryClass(0x10ffff), previous);
  assert.equal(UNIDATA_VERSION, "14.0.0");
});

test("known classes: letters, controls, separators, private use, unassigned", () => {
  assert.equal(categoryClass(0x41), ".");
  assert.equal(categoryClass(0x0), "c");
  assert.equal(categoryClass(0x200b), "c"); // zero-width space, Cf
  assert.equal(categoryClass(0x2028), "l");
  assert.equal(categoryClass(0x20), "s");
  assert.equal(categoryClass(0xe000), "c");
  assert.equal(categoryClass(0x378), "n");
  assert.ok(isControlOrSeparator(0x2029) && !isControlOrSeparator(0x3000));
});

test("nfc composes as the engine where 14.0 knows the characters", () => {
  assert.equal(nfc("Jose\u0301"), "Jos\u00e9");
  assert.equal(nfc("\u1100\u1161"), "\uac00");
  assert.equal(nfc("a\u0328\u0301"), "\u0105\u0301"); // ogonek (ccc 202) composes first
});

test("nfc leaves a character unassigned in 14.0 alone, and what follows it", () => {
  // U+105C9 (Todhri, Unicode 16) decomposes canonically to U+105D2 U+0307 in newer engines
  const decomposed = "\u{105d2}\u0307";
  assert.equal(categoryClass(0x105d2), "n");
  assert.equal(nfc(decomposed), decomposed);
  assert.equal(nfc("\u{105c9}"), "\u{105c9}");
  assert.equal(nfc("e\u0301\u{105d2}\u0307e\u0301"), "\u00e9\u{105d2}\u0307\u00e9");
});
