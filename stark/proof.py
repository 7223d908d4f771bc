"""The proof object and its versioned binary format.

Layout (all integers little-endian):
    magic "STRKPOS1" | version u16 | parameter block | log2(trace_len) u8
    main root | has_aux u8 [aux root, aux grinding nonce u64] | quotient root
    u8 count, FRI layer roots
    out-of-domain values: trace at z, trace at g*z, quotient segments at z (matrices)
    FRI remainder coefficients (matrix) | grinding nonce u64
    openings: main, [aux], quotient, then one per FRI layer
A matrix is u32 rows, u32 cols, then rows*cols field elements as u32 (each < p). An opening is
a matrix of opened rows, then u32 count and that many 32-byte sibling digests.

The parser is strict: every length is bounded by what is left of the input, every element is
checked to be below p, and trailing bytes are an error. Any problem raises VerificationError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from stark.field import P
from stark.merkle import DIGEST_SIZE
from stark.params import MAX_LOG_TRACE_LEN, StarkParams

MAGIC = b"STRKPOS1"
FORMAT_VERSION = 2
MAX_PROOF_BYTES = 64 << 20


class VerificationError(Exception):
    """A proof is malformed or false. `reason` says which check failed."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MatrixOpening:
    """Rows of a committed matrix at the queried positions, and their batch Merkle opening."""

    rows: np.ndarray  # (queries, width) uint32
    siblings: tuple[bytes, ...]


@dataclass(frozen=True)
class Proof:
    params: StarkParams
    log_trace_len: int
    main_root: bytes
    aux_root: bytes | None
    quotient_root: bytes
    fri_roots: tuple[bytes, ...]
    ood_trace_z: np.ndarray  # (main_width + aux_width, k): every trace column at z
    ood_trace_gz: np.ndarray  # (main_width + aux_width, k): at g*z
    ood_quotient_z: np.ndarray  # (segments, k): each quotient segment at z
    fri_remainder: np.ndarray  # (remainder_len, k): coefficients, lowest degree first
    pow_nonce: int
    main_opening: MatrixOpening
    aux_opening: MatrixOpening | None
    quotient_opening: MatrixOpening
    fri_openings: tuple[MatrixOpening, ...] = field(default_factory=tuple)
    aux_pow_nonce: int = 0  # the grinding nonce before the auxiliary challenges (with aux only)

    def to_bytes(self) -> bytes:
        return serialize(self)


# -- parameters ----------------------------------------------------------------------------------
_PARAMS = struct.Struct("<BBHBBBBB")


def encode_params(p: StarkParams) -> bytes:
    return _PARAMS.pack(
        p.extension_degree,
        p.blowup.bit_length() - 1,
        p.num_queries,
        p.grinding_bits,
        p.folding_factor,
        p.remainder_max_len.bit_length() - 1,
        int(p.zk),
        p.aux_grinding_bits,
    )


def _decode_params(raw: bytes) -> StarkParams:
    k, log_blowup, queries, grinding, folding, log_rem, zk, aux_grinding = _PARAMS.unpack(raw)
    if zk > 1 or log_blowup > 6 or log_rem > 10:
        raise VerificationError("malformed proof: parameter block out of range")
    try:
        return StarkParams(
            k, 1 << log_blowup, queries, grinding, folding, 1 << log_rem, bool(zk), aux_grinding
        )
    except ValueError as e:
        raise VerificationError(f"malformed proof: {e}") from None


# -- writing -------------------------------------------------------------------------------------
def _matrix_bytes(m: np.ndarray) -> bytes:
    m = np.asarray(m, dtype="<u4")
    rows, cols = m.shape
    return struct.pack("<II", rows, cols) + m.tobytes()


def _opening_bytes(o: MatrixOpening) -> bytes:
    return _matrix_bytes(o.rows) + struct.pack("<I", len(o.siblings)) + b"".join(o.siblings)


def serialize(proof: Proof) -> bytes:
    out = [MAGIC, struct.pack("<H", FORMAT_VERSION), encode_params(proof.params)]
    out.append(struct.pack("<B", proof.log_trace_len))
    out.append(proof.main_root)
    if proof.aux_root is None:
        out.append(b"\x00")
    else:
        out.append(b"\x01" + proof.aux_root + struct.pack("<Q", proof.aux_pow_nonce))
    out.append(proof.quotient_root)
    out.append(struct.pack("<B", len(proof.fri_roots)) + b"".join(proof.fri_roots))
    for m in (proof.ood_trace_z, proof.ood_trace_gz, proof.ood_quotient_z, proof.fri_remainder):
        out.append(_matrix_bytes(m))
    out.append(struct.pack("<Q", proof.pow_nonce))
    out.append(_opening_bytes(proof.main_opening))
    if (proof.aux_opening is None) != (proof.aux_root is None):
        raise ValueError("aux opening and aux root must both be present or both absent")
    if proof.aux_opening is not None:
        out.append(_opening_bytes(proof.aux_opening))
    out.append(_opening_bytes(proof.quotient_opening))
    if len(proof.fri_openings) != len(proof.fri_roots):
        raise ValueError("one FRI opening per FRI layer")
    out.extend(_opening_bytes(o) for o in proof.fri_openings)
    return b"".join(out)


# -- reading -------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise VerificationError(f"malformed proof: truncated in {what}")
        chunk = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str):
        s = struct.Struct("<" + fmt)
        return s.unpack(self.take(s.size, what))

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def digest(self, what: str) -> bytes:
        return self.take(DIGEST_SIZE, what)

    def matrix(self, what: str) -> np.ndarray:
        rows, cols = self.unpack("II", what)
        if rows * cols * 4 > self.remaining():
            raise VerificationError(f"malformed proof: {what} longer than the proof")
        m = np.frombuffer(self.take(rows * cols * 4, what), dtype="<u4").reshape(rows, cols)
        if np.any(m >= P):
            raise VerificationError(f"malformed proof: {what} holds a value not below p")
        return m.astype(np.uint32)

    def opening(self, what: str) -> MatrixOpening:
        rows = self.matrix(f"{what} rows")
        (count,) = self.unpack("I", f"{what} siblings")
        if count * DIGEST_SIZE > self.remaining():
            raise VerificationError(f"malformed proof: {what} siblings longer than the proof")
        siblings = tuple(self.digest(f"{what} siblings") for _ in range(count))
        return MatrixOpening(rows, siblings)


def deserialize(data: bytes) -> Proof:
    """Parse a proof; raises VerificationError on anything but a well-formed encoding."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise VerificationError("malformed proof: not bytes")
    if len(data) > MAX_PROOF_BYTES:
        raise VerificationError("malformed proof: larger than the format allows")
    r = _Reader(bytes(data))
    if r.take(len(MAGIC), "magic") != MAGIC:
        raise VerificationError("malformed proof: wrong magic tag")
    (version,) = r.unpack("H", "version")
    if version != FORMAT_VERSION:
        raise VerificationError(f"unsupported proof format version {version}")
    params = _decode_params(r.take(_PARAMS.size, "parameters"))
    (log_n,) = r.unpack("B", "trace length")
    if not 2 <= log_n <= MAX_LOG_TRACE_LEN:
        raise VerificationError("malformed proof: trace length out of range")
    main_root = r.digest("main root")
    (has_aux,) = r.unpack("B", "aux flag")
    if has_aux > 1:
        raise VerificationError("malformed proof: aux flag must be 0 or 1")
    aux_root = r.digest("aux root") if has_aux else None
    (aux_nonce,) = r.unpack("Q", "aux grinding nonce") if has_aux else (0,)
    quotient_root = r.digest("quotient root")
    (n_fri,) = r.unpack("B", "FRI layer count")
    fri_roots = tuple(r.digest("FRI root") for _ in range(n_fri))
    ood_z = r.matrix("trace values at z")
    ood_gz = r.matrix("trace values at g*z")
    ood_q = r.matrix("quotient values at z")
    remainder = r.matrix("FRI remainder")
    (nonce,) = r.unpack("Q", "grinding nonce")
    main_opening = r.opening("main opening")
    aux_opening = r.opening("aux opening") if has_aux else None
    quotient_opening = r.opening("quotient opening")
    fri_openings = tuple(r.opening(f"FRI layer {i} opening") for i in range(n_fri))
    if r.remaining():
        raise VerificationError(f"malformed proof: {r.remaining()} trailing bytes")
    return Proof(
        params=params,
        log_trace_len=log_n,
        main_root=main_root,
        aux_root=aux_root,
        quotient_root=quotient_root,
        fri_roots=fri_roots,
        ood_trace_z=ood_z,
        ood_trace_gz=ood_gz,
        ood_quotient_z=ood_q,
        fri_remainder=remainder,
        pow_nonce=nonce,
        main_opening=main_opening,
        aux_opening=aux_opening,
        quotient_opening=quotient_opening,
        fri_openings=fri_openings,
        aux_pow_nonce=aux_nonce,
    )
