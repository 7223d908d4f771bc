// Is another index.html this very page? A page cannot hold its own SHA-256 (the digest would
// change the file), so the build writes into it the SHA-256 of the page with that field set to
// 64 zeros: the page's "build digest". Another file is byte for byte this page when its field
// holds the same digest and the file with the field zeroed hashes to it. This tells something
// only in a copy of the page the customer trusts (their own, opened from disk), checking the
// exchange's; the exchange's page comparing itself with itself proves nothing, and says so.
import { sha256, toHex } from "../src/sha256.js";

// (written in two parts, so that the page's script does not hold the mark itself)
export const DIGEST_MARK = ["id=", '"page-digest">'].join("");
const ZERO = 48; // "0"

/** Where the build digest's 64 characters start in `bytes`, or -1. */
export function digestOffset(bytes) {
  const mark = new TextEncoder().encode(DIGEST_MARK);
  outer: for (let i = 0; i + mark.length + 64 <= bytes.length; i++) {
    for (let j = 0; j < mark.length; j++) if (bytes[i + j] !== mark[j]) continue outer;
    return i + mark.length;
  }
  return -1;
}

/** Whether `bytes` (another index.html) is exactly the page whose build digest is `digest`. */
export function isThisPage(bytes, digest) {
  const at = digestOffset(bytes);
  if (at < 0) return false;
  const field = new TextDecoder().decode(bytes.subarray(at, at + 64));
  if (field !== digest) return false;
  const zeroed = bytes.slice();
  zeroed.fill(ZERO, at, at + 64);
  return toHex(sha256(zeroed)) === digest;
}
