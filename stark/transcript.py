"""The Fiat-Shamir transcript: a SHA-256 hash chain that absorbs everything the verifier would
have seen and squeezes the verifier's challenges from it.

absorb:    state <- H("absorb" || state || len(label) || label || len(data) || data)
challenge: block_j = H("squeeze" || state || j); afterwards state <- H("ratchet" || state)
so every challenge depends on everything absorbed before it, and no two challenges reuse bytes.
Field elements are drawn by rejection sampling (31-bit words, accepted when below p), so they
are exactly uniform; query positions come from the same stream.
"""

from __future__ import annotations

import hashlib
import itertools
import struct

import numpy as np

from stark.field import GF, ExtArray, ExtensionField, P

_U32 = np.dtype("<u4")


def _h(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.digest()


def _len_prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(8, "little") + data


class Transcript:
    """Prover and verifier drive identical copies; any difference in what they absorb gives
    different challenges."""

    def __init__(self, domain_tag: bytes):
        self._state = _h(b"stark-transcript", _len_prefixed(domain_tag))

    def absorb(self, label: str, data: bytes) -> None:
        self._state = _h(
            b"absorb", self._state, _len_prefixed(label.encode()), _len_prefixed(bytes(data))
        )

    def _stream(self):
        """Pseudo-random bytes from the current state, consumed by one challenge call."""
        for counter in itertools.count():
            yield from _h(b"squeeze", self._state, counter.to_bytes(8, "little"))

    def _ratchet(self) -> None:
        self._state = _h(b"ratchet", self._state)

    def _words(self, stream, count: int) -> list[int]:
        return [int.from_bytes(bytes(itertools.islice(stream, 4)), "little") for _ in range(count)]

    def challenge_field(self, count: int) -> GF:
        """`count` uniform elements of F_p (rejection sampling of 31-bit words)."""
        stream = self._stream()
        out: list[int] = []
        while len(out) < count:
            (word,) = self._words(stream, 1)
            value = word & 0x7FFFFFFF
            if value < P:
                out.append(value)
        self._ratchet()
        return GF(out)

    def challenge_ext(self, ext: ExtensionField, count: int = 1) -> ExtArray:
        """`count` uniform extension elements, shape (count,)."""
        coords = self.challenge_field(ext.degree * count).reshape(count, ext.degree).T
        return ExtArray(ext, GF(np.ascontiguousarray(coords)))

    def challenge_indices(self, count: int, domain_size: int) -> list[int]:
        """`count` uniform positions in [0, domain_size), domain_size a power of two."""
        if domain_size & (domain_size - 1) or not 1 <= domain_size <= 1 << 32:
            raise ValueError("domain size must be a power of two at most 2^32")
        mask = domain_size - 1
        out = [w & mask for w in self._words(self._stream(), count)]
        self._ratchet()
        return out

    # -- proof of work ------------------------------------------------------------------------
    def _pow_prefix(self, bits: int):
        return hashlib.sha256(b"grind" + self._state + bits.to_bytes(1, "little"))

    @staticmethod
    def _pow_bound(bits: int) -> bytes:
        """A digest has `bits` leading zero bits iff it is below this (as a big-endian number)."""
        return (1 << (256 - bits)).to_bytes(33, "big")[1:] if bits else b"\xff" * 33

    def grind(self, bits: int) -> int:
        """Find the smallest nonce with H(state, nonce) starting with `bits` zero bits."""
        prefix, bound = self._pow_prefix(bits), self._pow_bound(bits)
        pack = struct.Struct("<Q").pack
        for nonce in itertools.count():
            h = prefix.copy()
            h.update(pack(nonce))
            if h.digest() < bound:  # bytes compare lexicographically, i.e. big-endian
                return nonce
        raise RuntimeError("unreachable: itertools.count() is infinite")

    def check_pow(self, nonce: int, bits: int) -> bool:
        if not 0 <= nonce < 1 << 64:
            return False
        h = self._pow_prefix(bits)
        h.update(nonce.to_bytes(8, "little"))
        return h.digest() < self._pow_bound(bits)
