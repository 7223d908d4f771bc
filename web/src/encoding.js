// Text forms of field elements, as solvency/publication/encoding.py.
import { P } from "./field.js";

/** elements_hex: 8 lowercase hex digits (big-endian) per element. */
export function elementsHex(values) {
  return values.map((v) => v.toString(16).padStart(8, "0")).join("");
}

/**
 * parse_elements_hex: exactly `count` canonical elements from 8 * count lowercase hex digits;
 * throws Error with Python's message otherwise.
 */
export function parseElementsHex(text, count) {
  const re = new RegExp(`^[0-9a-f]{${8 * count}}$`);
  if (typeof text !== "string" || !re.test(text)) {
    throw new Error(`expected ${8 * count} lowercase hex digits`);
  }
  const values = [];
  for (let i = 0; i < text.length; i += 8) values.push(parseInt(text.slice(i, i + 8), 16));
  if (values.some((v) => v >= P)) throw new Error("an element is not below the field's modulus");
  return values;
}
