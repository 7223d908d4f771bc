// The binary proof format of stark/proof.py (version 2), parsed as strictly as `deserialize`:
// the same refusals, in the same order, with the same reasons ("malformed proof: ..." or
// "unsupported proof format version N"), thrown as a VerificationError.
//
// Layout (little-endian): magic "STRKPOS1" | version u16 | parameter block <BBHBBBBB> |
// log2(n) u8 | main root | has_aux u8 [aux root, aux grinding nonce u64] | quotient root |
// u8 count, FRI roots | 4 matrices (trace at z, trace at g z, quotient at z, FRI remainder) |
// grinding nonce u64 | openings: main, [aux], quotient, one per FRI layer.
// A matrix is u32 rows, u32 cols, rows x cols u32 elements (each < p); an opening is a matrix
// then u32 count and that many 32-byte siblings. Nothing may follow.
import { P } from "./field.js";

export const MAGIC = "STRKPOS1";
export const FORMAT_VERSION = 2;
export const MAX_PROOF_BYTES = 64 << 20;
export const DIGEST_SIZE = 32;
export const MAX_LOG_TRACE_LEN = 22;
export const MAX_QUERIES = 256;
export const MAX_GRINDING_BITS = 32;
export const MAX_REMAINDER_LEN = 1024;

/** A proof is malformed or false; `reason` is Python's VerificationError reason. */
export class VerificationError extends Error {
  constructor(reason) {
    super(reason);
    this.name = "VerificationError";
    this.reason = reason;
  }
}

const malformed = (what) => new VerificationError(`malformed proof: ${what}`);

const isPowerOfTwo = (x) => x > 0 && (x & (x - 1)) === 0;

/**
 * StarkParams(...).__post_init__: the list of problems, joined as Python joins them; throws
 * VerificationError("malformed proof: invalid STARK parameters: ...") as _decode_params does.
 */
export function checkParams(p) {
  const problems = [];
  if (p.extension_degree !== 4 && p.extension_degree !== 5) {
    problems.push("extension_degree must be one of [4, 5]");
  }
  if (!isPowerOfTwo(p.blowup) || !(p.blowup >= 2 && p.blowup <= 64)) {
    problems.push("blowup must be a power of two in [2, 64]");
  }
  if (!(p.num_queries >= 1 && p.num_queries <= MAX_QUERIES)) {
    problems.push(`num_queries must be in [1, ${MAX_QUERIES}]`);
  }
  for (const name of ["grinding_bits", "aux_grinding_bits"]) {
    if (!(p[name] >= 0 && p[name] <= MAX_GRINDING_BITS)) {
      problems.push(`${name} must be in [0, ${MAX_GRINDING_BITS}]`);
    }
  }
  if (![2, 4, 8].includes(p.folding_factor)) problems.push("folding_factor must be 2, 4 or 8");
  if (
    !isPowerOfTwo(p.remainder_max_len) ||
    !(p.folding_factor <= p.remainder_max_len && p.remainder_max_len <= MAX_REMAINDER_LEN)
  ) {
    problems.push(
      "remainder_max_len must be a power of two between the folding factor and " +
        `${MAX_REMAINDER_LEN}`,
    );
  }
  if (problems.length) throw malformed("invalid STARK parameters: " + problems.join("; "));
}

/** The 9-byte parameter block of a params object (encode_params). */
export function encodeParams(p) {
  const out = new Uint8Array(9);
  const view = new DataView(out.buffer);
  view.setUint8(0, p.extension_degree);
  view.setUint8(1, Math.log2(p.blowup));
  view.setUint16(2, p.num_queries, true);
  view.setUint8(4, p.grinding_bits);
  view.setUint8(5, p.folding_factor);
  view.setUint8(6, Math.log2(p.remainder_max_len));
  view.setUint8(7, p.zk ? 1 : 0);
  view.setUint8(8, p.aux_grinding_bits);
  return out;
}

function decodeParams(raw) {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const k = view.getUint8(0);
  const logBlowup = view.getUint8(1);
  const queries = view.getUint16(2, true);
  const grinding = view.getUint8(4);
  const folding = view.getUint8(5);
  const logRem = view.getUint8(6);
  const zk = view.getUint8(7);
  const auxGrinding = view.getUint8(8);
  if (zk > 1 || logBlowup > 6 || logRem > 10) throw malformed("parameter block out of range");
  const params = {
    extension_degree: k,
    blowup: 2 ** logBlowup,
    num_queries: queries,
    grinding_bits: grinding,
    folding_factor: folding,
    remainder_max_len: 2 ** logRem,
    zk: zk === 1,
    aux_grinding_bits: auxGrinding,
  };
  checkParams(params);
  return Object.freeze(params);
}

/** A matrix of field elements: `rows` x `cols`, `data` row-major (a Uint32Array). */
export class Matrix {
  constructor(rows, cols, data) {
    this.rows = rows;
    this.cols = cols;
    this.data = data;
  }

  row(i) {
    return this.data.subarray(i * this.cols, (i + 1) * this.cols);
  }

  at(i, j) {
    return this.data[i * this.cols + j];
  }

  /** The rows as Arrays (e.g. extension elements of an OOD matrix, lowest coordinate first). */
  toArrays() {
    const out = [];
    for (let i = 0; i < this.rows; i++) out.push(Array.from(this.row(i)));
    return out;
  }

  /** The elements' bytes, little-endian u32 (numpy "<u4" tobytes()). */
  bytes() {
    const out = new Uint8Array(4 * this.data.length);
    const view = new DataView(out.buffer);
    for (let i = 0; i < this.data.length; i++) view.setUint32(4 * i, this.data[i], true);
    return out;
  }
}

class Reader {
  constructor(data) {
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.pos = 0;
  }

  remaining() {
    return this.data.length - this.pos;
  }

  take(n, what) {
    if (n < 0 || this.pos + n > this.data.length) throw malformed(`truncated in ${what}`);
    const chunk = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return chunk;
  }

  u8(what) {
    this.take(1, what);
    return this.view.getUint8(this.pos - 1);
  }

  u16(what) {
    this.take(2, what);
    return this.view.getUint16(this.pos - 2, true);
  }

  u32(what) {
    this.take(4, what);
    return this.view.getUint32(this.pos - 4, true);
  }

  u64(what) {
    this.take(8, what);
    return this.view.getBigUint64(this.pos - 8, true);
  }

  digest(what) {
    return this.take(DIGEST_SIZE, what);
  }

  matrix(what) {
    // "II" is one 8-byte unpack in Python: truncation inside it names `what` alike
    this.take(8, what);
    const rows = this.view.getUint32(this.pos - 8, true);
    const cols = this.view.getUint32(this.pos - 4, true);
    const size = rows * cols; // exact below 2^53; beyond, certainly longer than the proof
    if (size * 4 > this.remaining()) throw malformed(`${what} longer than the proof`);
    const data = new Uint32Array(size);
    for (let i = 0; i < size; i++) data[i] = this.view.getUint32(this.pos + 4 * i, true);
    this.pos += 4 * size;
    for (let i = 0; i < size; i++) {
      if (data[i] >= P) throw malformed(`${what} holds a value not below p`);
    }
    return new Matrix(rows, cols, data);
  }

  opening(what) {
    const rows = this.matrix(`${what} rows`);
    const count = this.u32(`${what} siblings`);
    if (count * DIGEST_SIZE > this.remaining()) {
      throw malformed(`${what} siblings longer than the proof`);
    }
    const siblings = [];
    for (let i = 0; i < count; i++) siblings.push(this.digest(`${what} siblings`));
    return { rows, siblings };
  }
}

/**
 * Parse proof bytes (a Uint8Array, e.g. a node Buffer, or an ArrayBuffer as a page's
 * File.arrayBuffer() gives); throws VerificationError as stark/proof.py deserialize. Roots and
 * siblings are copies, not views of `data`.
 */
export function parseProof(input) {
  let data = input;
  if (data instanceof ArrayBuffer) data = new Uint8Array(data);
  if (!(data instanceof Uint8Array)) throw malformed("not bytes");
  if (data.constructor !== Uint8Array) {
    data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // Buffer.slice is a view
  }
  if (data.length > MAX_PROOF_BYTES) throw malformed("larger than the format allows");
  const r = new Reader(data);
  const magic = r.take(MAGIC.length, "magic");
  if (!magic.every((b, i) => b === MAGIC.charCodeAt(i))) throw malformed("wrong magic tag");
  const version = r.u16("version");
  if (version !== FORMAT_VERSION) {
    throw new VerificationError(`unsupported proof format version ${version}`);
  }
  const params = decodeParams(r.take(9, "parameters"));
  const logN = r.u8("trace length");
  if (!(logN >= 2 && logN <= MAX_LOG_TRACE_LEN)) throw malformed("trace length out of range");
  const mainRoot = r.digest("main root");
  const hasAux = r.u8("aux flag");
  if (hasAux > 1) throw malformed("aux flag must be 0 or 1");
  const auxRoot = hasAux ? r.digest("aux root") : null;
  const auxPowNonce = hasAux ? r.u64("aux grinding nonce") : 0n;
  const quotientRoot = r.digest("quotient root");
  const nFri = r.u8("FRI layer count");
  const friRoots = [];
  for (let i = 0; i < nFri; i++) friRoots.push(r.digest("FRI root"));
  const oodTraceZ = r.matrix("trace values at z");
  const oodTraceGz = r.matrix("trace values at g*z");
  const oodQuotientZ = r.matrix("quotient values at z");
  const friRemainder = r.matrix("FRI remainder");
  const powNonce = r.u64("grinding nonce");
  const mainOpening = r.opening("main opening");
  const auxOpening = hasAux ? r.opening("aux opening") : null;
  const quotientOpening = r.opening("quotient opening");
  const friOpenings = [];
  for (let i = 0; i < nFri; i++) friOpenings.push(r.opening(`FRI layer ${i} opening`));
  if (r.remaining()) throw malformed(`${r.remaining()} trailing bytes`);
  return {
    params,
    logTraceLen: logN,
    mainRoot,
    auxRoot,
    auxPowNonce,
    quotientRoot,
    friRoots,
    oodTraceZ,
    oodTraceGz,
    oodQuotientZ,
    friRemainder,
    powNonce,
    mainOpening,
    auxOpening,
    quotientOpening,
    friOpenings,
  };
}
