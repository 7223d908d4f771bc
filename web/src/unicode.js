// Unicode as Python 3.11 sees it (unicodedata, Unicode 14.0), whatever the engine's own tables
// (Node 20 and Chromium ship Unicode 15 to 17). The verifier's text rules depend on it: which
// characters an issuer may hold, how repr() quotes a character, and the NFC form of a user id.
// A character assigned after 14.0 is unassigned (Cn) to Python: it is not printable, it is
// refused in an issuer, and NFC leaves it as it is, where the engine would compose it. So an id
// that the engine's NFC would fold onto another user's id stays a different id, as in Python.
import { CLASS_RUNS, UNIDATA_VERSION } from "./unicode_tables.js";

export { UNIDATA_VERSION };

let runStarts = null; // Uint32Array of each run's first code point, ascending
let runClasses = null; // the class letter of each run

function decodeRuns() {
  const entries = CLASS_RUNS.split(",");
  runStarts = new Uint32Array(entries.length);
  runClasses = new Array(entries.length);
  entries.forEach((entry, i) => {
    runStarts[i] = parseInt(entry.slice(0, -1), 36);
    runClasses[i] = entry.slice(-1);
  });
}

/** Python's class of code point `cp`: "n" unassigned, "c" Cc/Cf/Cs/Co, "l" Zl/Zp, "s" Zs, "." other. */
export function categoryClass(cp) {
  if (runStarts === null) decodeRuns();
  let lo = 0;
  let hi = runStarts.length - 1;
  while (lo < hi) {
    // the last run starting at or before cp
    const mid = (lo + hi + 1) >> 1;
    if (runStarts[mid] <= cp) lo = mid;
    else hi = mid - 1;
  }
  return runClasses[lo];
}

/** unicodedata.category(c)[0] == "C" or category in (Zl, Zp), for one code point. */
export function isControlOrSeparator(cp) {
  const cls = categoryClass(cp);
  return cls === "n" || cls === "c" || cls === "l";
}

/** unicodedata.normalize("NFC", text) of Python 3.11. Code points unassigned in 14.0 are
 * starters that neither compose nor decompose there; by the normalisation stability policy the
 * engine's NFC agrees with 14.0's on text made of characters assigned in 14.0. So the text is
 * split at the 14.0-unassigned code points, each piece normalised by the engine, and the
 * unassigned ones kept as they are. */
export function nfc(text) {
  let out = "";
  let piece = "";
  for (const ch of text) {
    if (categoryClass(ch.codePointAt(0)) === "n") {
      out += piece.normalize("NFC") + ch;
      piece = "";
    } else {
      piece += ch;
    }
  }
  return out + piece.normalize("NFC");
}
