// SHA-256 (FIPS 180-4), synchronous and incremental, in plain JavaScript. The verifier hashes
// many small messages (Merkle leaves and nodes, the transcript), for which WebCrypto's
// promise per call is slow; this is about 250 ns per 64-byte block.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INIT = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

const W = new Int32Array(64); // shared schedule: the module is single-threaded

function compress(h, bytes, offset) {
  for (let i = 0; i < 16; i++) {
    const o = offset + 4 * i;
    W[i] = (bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15];
    const y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0];
  let b = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let f = h[5];
  let g = h[6];
  let hh = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (hh + S1 + ch + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + hh) | 0;
}

/** An incremental SHA-256: `new Sha256().update(bytes).update(more).digest()`. */
export class Sha256 {
  constructor() {
    this.h = new Int32Array(INIT);
    this.buffer = new Uint8Array(64);
    this.buffered = 0;
    this.length = 0; // bytes hashed so far (a Number: exact below 2^53)
    this.done = false;
  }

  /** Add bytes (a Uint8Array, or an array of byte values). Returns this. */
  update(data) {
    if (this.done) throw new Error("digest() was already called");
    const bytes = data instanceof Uint8Array ? data : Uint8Array.from(data);
    let i = 0;
    const n = bytes.length;
    this.length += n;
    if (this.buffered > 0) {
      const take = Math.min(64 - this.buffered, n);
      this.buffer.set(bytes.subarray(0, take), this.buffered);
      this.buffered += take;
      i = take;
      if (this.buffered < 64) return this;
      compress(this.h, this.buffer, 0);
      this.buffered = 0;
    }
    for (; i + 64 <= n; i += 64) compress(this.h, bytes, i);
    if (i < n) {
      this.buffer.set(bytes.subarray(i), 0);
      this.buffered = n - i;
    }
    return this;
  }

  /** A copy of this state (to hash several continuations of one prefix). */
  copy() {
    const c = new Sha256();
    c.h.set(this.h);
    c.buffer.set(this.buffer);
    c.buffered = this.buffered;
    c.length = this.length;
    c.done = this.done;
    return c;
  }

  /** The 32-byte digest (a Uint8Array); the object cannot be updated afterwards. */
  digest() {
    if (this.done) throw new Error("digest() was already called");
    this.done = true;
    const bits = this.length * 8;
    const buf = this.buffer;
    let used = this.buffered;
    buf[used++] = 0x80;
    if (used > 56) {
      buf.fill(0, used);
      compress(this.h, buf, 0);
      used = 0;
    }
    buf.fill(0, used, 56);
    const hi = Math.floor(bits / 2 ** 32);
    const lo = bits >>> 0;
    buf[56] = hi >>> 24;
    buf[57] = (hi >>> 16) & 0xff;
    buf[58] = (hi >>> 8) & 0xff;
    buf[59] = hi & 0xff;
    buf[60] = lo >>> 24;
    buf[61] = (lo >>> 16) & 0xff;
    buf[62] = (lo >>> 8) & 0xff;
    buf[63] = lo & 0xff;
    compress(this.h, buf, 0);
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) {
      const v = this.h[i];
      out[4 * i] = v >>> 24;
      out[4 * i + 1] = (v >>> 16) & 0xff;
      out[4 * i + 2] = (v >>> 8) & 0xff;
      out[4 * i + 3] = v & 0xff;
    }
    return out;
  }
}

/** SHA-256 of the concatenation of the given parts (Uint8Arrays). */
export function sha256(...parts) {
  const h = new Sha256();
  for (const part of parts) h.update(part);
  return h.digest();
}

export function toHex(bytes) {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

export function fromHex(hex) {
  if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) throw new RangeError("not hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
