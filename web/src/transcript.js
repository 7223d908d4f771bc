// The Fiat-Shamir transcript of stark/transcript.py: a SHA-256 hash chain.
//
//   init:      state = H("stark-transcript" || u64(len tag) || tag)
//   absorb:    state = H("absorb" || state || u64(len label) || label || u64(len data) || data)
//   challenge: reads block_j = H("squeeze" || state || u64(j)), j = 0, 1, ...; afterwards
//              state = H("ratchet" || state)
//   grinding:  H("grind" || state || u8(bits) || u64(nonce)) below 2^(256 - bits), big-endian
//
// u64 are little-endian. Field elements are 4-byte little-endian words masked with 0x7fffffff
// and rejected unless below p; an extension element takes k consecutive field elements, lowest
// coordinate first. Query positions are words masked to the domain size (no rejection).
import { P } from "./field.js";
import { Sha256, sha256 } from "./sha256.js";

const utf8 = new TextEncoder();
const ascii = (s) => utf8.encode(s);
const TAG_INIT = ascii("stark-transcript");
const TAG_ABSORB = ascii("absorb");
const TAG_SQUEEZE = ascii("squeeze");
const TAG_RATCHET = ascii("ratchet");
const TAG_GRIND = ascii("grind");

/** The domain tag of stark/protocol.py. */
export const DOMAIN_TAG = ascii("stark-solvency/babybear/sha256");

/** n (a Number or BigInt in [0, 2^64)) as 8 little-endian bytes. */
export function u64(n) {
  let v = BigInt(n);
  if (v < 0n || v >= 1n << 64n) throw new RangeError("u64 out of range");
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function asBytes(data) {
  if (typeof data === "string") return ascii(data);
  if (data instanceof Uint8Array) return data;
  return Uint8Array.from(data);
}

/** Base elements (Numbers < 2^32) as little-endian u32 words, as numpy's "<u4" tobytes(). */
export function u32Bytes(values) {
  const out = new Uint8Array(4 * values.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint32(4 * i, values[i], true);
  return out;
}

/** The byte stream of one challenge call: H("squeeze" || state || u64(j)) for j = 0, 1, ... */
class Stream {
  constructor(state) {
    this.state = state;
    this.counter = 0;
    this.block = new Uint8Array(0);
    this.pos = 0;
  }

  word() {
    // the 4 bytes may straddle two blocks, as Python's itertools stream does
    let w = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos === this.block.length) {
        this.block = sha256(TAG_SQUEEZE, this.state, u64(this.counter++));
        this.pos = 0;
      }
      w += this.block[this.pos++] * 2 ** (8 * i);
    }
    return w;
  }
}

export class Transcript {
  /** domainTag: bytes or a string (encoded as UTF-8). */
  constructor(domainTag = DOMAIN_TAG) {
    const tag = asBytes(domainTag);
    this.state = sha256(TAG_INIT, u64(tag.length), tag);
  }

  /** absorb(label, data): label a string (UTF-8), data bytes. */
  absorb(label, data) {
    const l = ascii(label);
    const d = asBytes(data);
    const h = new Sha256();
    h.update(TAG_ABSORB).update(this.state).update(u64(l.length)).update(l);
    h.update(u64(d.length)).update(d);
    this.state = h.digest();
  }

  ratchet() {
    this.state = sha256(TAG_RATCHET, this.state);
  }

  /** `count` uniform elements of F_p (rejection sampling of 31-bit words). */
  challengeField(count) {
    const stream = new Stream(this.state);
    const out = [];
    while (out.length < count) {
      const value = stream.word() % 2 ** 31; // & 0x7fffffff on an unsigned word
      if (value < P) out.push(value);
    }
    this.ratchet();
    return out;
  }

  /** `count` uniform elements of the degree-k extension, each an Array of k coordinates. */
  challengeExt(k, count = 1) {
    const flat = this.challengeField(k * count);
    const out = [];
    for (let i = 0; i < count; i++) out.push(flat.slice(i * k, (i + 1) * k));
    return out;
  }

  /** `count` positions in [0, domainSize), domainSize a power of two at most 2^32. Not sorted
   * or deduplicated (the verifier does that). */
  challengeIndices(count, domainSize) {
    if (
      !Number.isSafeInteger(domainSize) ||
      domainSize < 1 ||
      domainSize > 2 ** 32 ||
      !Number.isInteger(Math.log2(domainSize))
    ) {
      throw new RangeError("domain size must be a power of two at most 2^32");
    }
    const stream = new Stream(this.state);
    const out = [];
    for (let i = 0; i < count; i++) out.push(stream.word() % domainSize);
    this.ratchet();
    return out;
  }

  powDigest(nonce, bits) {
    return sha256(TAG_GRIND, this.state, Uint8Array.of(bits), u64(nonce));
  }

  /** check_pow: H("grind" || state || u8(bits) || u64(nonce)) has `bits` leading zero bits.
   * nonce a Number or BigInt; false outside [0, 2^64). bits in [0, 255]. */
  checkPow(nonce, bits) {
    if (!Number.isInteger(bits) || bits < 0 || bits > 255) throw new RangeError("bits is a u8");
    let n;
    try {
      n = BigInt(nonce);
    } catch {
      return false;
    }
    if (n < 0n || n >= 1n << 64n) return false;
    if (bits === 0) return true;
    return leadingZeroBits(this.powDigest(n, bits)) >= bits;
  }

  /** grind: the smallest nonce passing checkPow (a BigInt). For tests: the prover's side. */
  grind(bits) {
    for (let n = 0n; ; n++) if (this.checkPow(n, bits)) return n;
  }
}

function leadingZeroBits(digest) {
  let count = 0;
  for (const byte of digest) {
    if (byte === 0) {
      count += 8;
      continue;
    }
    return count + Math.clz32(byte) - 24;
  }
  return count;
}
