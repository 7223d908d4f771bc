"""The binary proof format: exact round trips, a strict parser, and tamper resistance.

Every change to a serialised proof, whichever section it touches, must make verification fail
with VerificationError and never with any other exception. The proofs are small (trace length
16..64, 8 queries, 4 grinding bits) but have at least two committed FRI layers, so every
section of the format is present.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stark import fri
from stark.examples import (
    FibonacciAir,
    MimcAir,
    RangeCheckAir,
    fibonacci_trace,
    mimc_trace,
    range_check_trace,
)
from stark.field import GF, P
from stark.merkle import DIGEST_SIZE
from stark.params import Domains, StarkParams
from stark.proof import (
    FORMAT_VERSION,
    MAGIC,
    MAX_PROOF_BYTES,
    MatrixOpening,
    Proof,
    VerificationError,
    deserialize,
    serialize,
)
from stark.prover import prove
from stark.transcript import Transcript
from stark.verifier import verify

SMALL = StarkParams(
    extension_degree=4,
    blowup=8,
    num_queries=8,
    grinding_bits=4,
    folding_factor=4,
    remainder_max_len=4,
)


# -- the proofs under test -----------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    air: object
    proof: Proof
    data: bytes


def _fibonacci(n: int, params: StarkParams) -> Case:
    trace, result = fibonacci_trace(n)
    air = FibonacciAir(n, result)
    return _case(air, trace, params)


def _range_check(n: int, bits: int, params: StarkParams) -> Case:
    values = (np.arange(n) * 7 + 3) % (1 << bits)
    return _case(RangeCheckAir(n, bits), range_check_trace(values, bits), params)


def _mimc(n: int, seed: int, params: StarkParams) -> Case:
    trace, output = mimc_trace(n, seed)
    return _case(MimcAir(n, seed, output), trace, params)


def _case(air, trace, params: StarkParams) -> Case:
    assert len(Domains.of(params, air.shape()).fri_layer_sizes) >= 2, "want several FRI layers"
    proof = prove(air, trace, params)
    return Case(air, proof, serialize(proof))


CASE_NAMES = ("fib", "range", "mimc", "fib-f2", "fib-k5", "fib-plain")
HAS_AUX = {"range"}


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {
        "fib": _fibonacci(32, SMALL),
        "range": _range_check(32, 4, SMALL),
        "mimc": _mimc(32, 5, SMALL),
        "fib-f2": _fibonacci(16, replace(SMALL, folding_factor=2)),
        "fib-k5": _fibonacci(64, replace(SMALL, extension_degree=5)),
        "fib-plain": _fibonacci(32, replace(SMALL, zk=False)),
    }


# -- helpers -------------------------------------------------------------------------------------
def assert_rejected(air, data) -> VerificationError:
    """verify() must raise VerificationError (with a reason), and nothing else."""
    try:
        verify(air, data, min_bits=0)
    except VerificationError as e:
        assert isinstance(e.reason, str) and e.reason
        return e
    except Exception as e:  # any other type is a bug in the verifier
        pytest.fail(f"verify raised {type(e).__name__} instead of VerificationError: {e!r}")
    pytest.fail("verify accepted a tampered proof")


def assert_parse_rejected(data) -> VerificationError:
    """deserialize() must raise VerificationError, and nothing else."""
    try:
        deserialize(data)
    except VerificationError as e:
        return e
    except Exception as e:
        pytest.fail(f"deserialize raised {type(e).__name__} instead of VerificationError: {e!r}")
    pytest.fail("deserialize accepted a malformed proof")


def parse_or_verification_error(data) -> Proof | None:
    """deserialize(), where VerificationError is fine (None) but any other exception is not."""
    try:
        return deserialize(data)
    except VerificationError:
        return None
    except Exception as e:
        pytest.fail(f"deserialize raised {type(e).__name__} instead of VerificationError: {e!r}")


def proofs_equal(a: Proof, b: Proof) -> bool:
    """Field-wise equality of two proofs; arrays are compared by shape and values."""

    def same(x, y) -> bool:
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            return np.shape(x) == np.shape(y) and bool(np.array_equal(x, y))
        if isinstance(x, MatrixOpening) and isinstance(y, MatrixOpening):
            return same(x.rows, y.rows) and x.siblings == y.siblings
        if isinstance(x, tuple) and isinstance(y, tuple):
            return len(x) == len(y) and all(same(u, v) for u, v in zip(x, y, strict=True))
        return x == y

    return all(same(getattr(a, f), getattr(b, f)) for f in Proof.__dataclass_fields__)


def bump(m: np.ndarray, index=(0, 0)) -> np.ndarray:
    """A copy of a uint32 matrix with one element increased by 1 mod p."""
    out = np.array(m, dtype=np.uint32, copy=True)
    out[index] = (int(out[index]) + 1) % P
    return out


def flip_bit(digest: bytes, bit: int = 0) -> bytes:
    out = bytearray(digest)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# -- the layout of a serialised proof, recomputed from stark/proof.py's docstring ----------------
class Span(NamedTuple):
    name: str
    start: int
    end: int
    kind: str  # "raw", "digest", "count", "dims" or "elements"


def layout(data: bytes) -> list[Span]:
    """Split a well-formed serialised proof into its sections, contiguous and in order."""
    spans: list[Span] = []
    pos = 0

    def take(name: str, size: int, kind: str = "raw") -> None:
        nonlocal pos
        spans.append(Span(name, pos, pos + size, kind))
        pos += size

    def matrix(name: str) -> None:
        rows, cols = struct.unpack_from("<II", data, pos)
        take(f"{name}.dims", 8, "dims")
        take(f"{name}.elements", 4 * rows * cols, "elements")

    def opening(name: str) -> None:
        matrix(f"{name}.rows")
        (count,) = struct.unpack_from("<I", data, pos)
        take(f"{name}.count", 4, "count")
        take(f"{name}.siblings", DIGEST_SIZE * count, "digest")

    take("magic", len(MAGIC))
    take("version", 2)
    take("params", 9)
    take("log_trace_len", 1)
    take("main_root", DIGEST_SIZE, "digest")
    has_aux = data[pos]
    take("aux_flag", 1)
    if has_aux:
        take("aux_root", DIGEST_SIZE, "digest")
        take("aux_pow_nonce", 8)
    take("quotient_root", DIGEST_SIZE, "digest")
    num_fri = data[pos]
    take("fri_count", 1, "count")
    for i in range(num_fri):
        take(f"fri_root[{i}]", DIGEST_SIZE, "digest")
    for name in ("ood_trace_z", "ood_trace_gz", "ood_quotient_z", "fri_remainder"):
        matrix(name)
    take("pow_nonce", 8)
    opening("main_opening")
    if has_aux:
        opening("aux_opening")
    opening("quotient_opening")
    for i in range(num_fri):
        opening(f"fri_opening[{i}]")
    assert pos == len(data), "the layout must account for every byte"
    return spans


def span(data: bytes, name: str) -> Span:
    return next(s for s in layout(data) if s.name == name)


def element_offsets(data: bytes) -> list[int]:
    """Byte offsets of every field element in a serialised proof."""
    return [off for s in layout(data) if s.kind == "elements" for off in range(s.start, s.end, 4)]


def put(data: bytes, offset: int, raw: bytes) -> bytes:
    return data[:offset] + raw + data[offset + len(raw) :]


# -- valid proofs and round trips ----------------------------------------------------------------
@pytest.mark.parametrize("name", CASE_NAMES)
def test_valid_proof_verifies(cases, name):
    """An honest proof verifies, both as bytes and as a Proof object."""
    case = cases[name]
    verify(case.air, case.data, min_bits=0)
    verify(case.air, case.proof, min_bits=0)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_round_trip_is_exact(cases, name):
    """serialize(deserialize(b)) == b, and deserialize(serialize(p)) equals p field by field."""
    case = cases[name]
    parsed = deserialize(case.data)
    assert serialize(parsed) == case.data
    assert case.proof.to_bytes() == case.data
    assert proofs_equal(parsed, case.proof)
    for m in (parsed.ood_trace_z, parsed.fri_remainder, parsed.main_opening.rows):
        assert m.dtype == np.uint32
    assert proofs_equal(deserialize(bytearray(case.data)), case.proof)
    assert proofs_equal(deserialize(memoryview(case.data)), case.proof)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_layout_matches_documented_format(cases, name):
    """The documented layout accounts for every byte, and its header fields hold what the
    proof says (magic, version, trace length, section sizes)."""
    case = cases[name]
    data, proof = case.data, case.proof
    spans = {s.name: s for s in layout(data)}
    assert data[: len(MAGIC)] == MAGIC
    assert struct.unpack_from("<H", data, spans["version"].start) == (FORMAT_VERSION,)
    assert data[spans["log_trace_len"].start] == proof.log_trace_len
    assert ("aux_root" in spans) == (name in HAS_AUX)
    assert data[spans["fri_count"].start] == len(proof.fri_roots) >= 2
    k = proof.params.extension_degree
    assert proof.ood_trace_z.shape[1] == proof.fri_remainder.shape[1] == k
    remainder = spans["fri_remainder.elements"]
    assert remainder.end - remainder.start == 4 * proof.fri_remainder.size


# -- tampering, section by section ---------------------------------------------------------------
def _set_opening(proof: Proof, which: str, opening: MatrixOpening) -> Proof:
    if which.startswith("fri_opening"):
        i = int(which[len("fri_opening[") : -1])
        openings = list(proof.fri_openings)
        openings[i] = opening
        return replace(proof, fri_openings=tuple(openings))
    return replace(proof, **{which: opening})


def _get_opening(proof: Proof, which: str) -> MatrixOpening:
    if which.startswith("fri_opening"):
        return proof.fri_openings[int(which[len("fri_opening[") : -1])]
    return getattr(proof, which)


def _swap_rows(m: np.ndarray) -> np.ndarray:
    assert len(m) >= 2 and not np.array_equal(m[0], m[1])
    return m[[1, 0, *range(2, len(m))]]


OPENING_TAMPERS = {
    "rows.first": lambda o: replace(o, rows=bump(o.rows, (0, 0))),
    "rows.last": lambda o: replace(o, rows=bump(o.rows, (-1, -1))),
    "rows.swap": lambda o: replace(o, rows=_swap_rows(o.rows)),
    "rows.drop": lambda o: replace(o, rows=o.rows[:-1]),
    "rows.extra": lambda o: replace(o, rows=np.concatenate([o.rows, o.rows[-1:]])),
    "rows.extra_column": lambda o: replace(
        o, rows=np.concatenate([o.rows, np.zeros((len(o.rows), 1), np.uint32)], axis=1)
    ),
    "siblings.flip": lambda o: replace(o, siblings=(flip_bit(o.siblings[0], 77), *o.siblings[1:])),
    "siblings.drop": lambda o: replace(o, siblings=o.siblings[:-1]),
    "siblings.extra": lambda o: replace(o, siblings=(*o.siblings, o.siblings[-1])),
    "siblings.swap": lambda o: replace(o, siblings=(o.siblings[1], o.siblings[0], *o.siblings[2:])),
}


def _tamper_fri_root(i: int):
    def tamper(p: Proof) -> Proof:
        roots = list(p.fri_roots)
        roots[i] = flip_bit(roots[i], 200)
        return replace(p, fri_roots=tuple(roots))

    return tamper


def _add_aux(p: Proof) -> Proof:
    return replace(p, aux_root=flip_bit(p.main_root, 3), aux_opening=p.main_opening)


def _remove_aux(p: Proof) -> Proof:
    return replace(p, aux_root=None, aux_opening=None)


SECTION_TAMPERS = {
    "main_root": lambda p: replace(p, main_root=flip_bit(p.main_root, 0)),
    "aux_root": lambda p: replace(p, aux_root=flip_bit(p.aux_root, 255)),
    "quotient_root": lambda p: replace(p, quotient_root=flip_bit(p.quotient_root, 100)),
    "fri_root[0]": _tamper_fri_root(0),
    "fri_root[-1]": _tamper_fri_root(-1),
    "fri_layers.drop_last": lambda p: replace(
        p, fri_roots=p.fri_roots[:-1], fri_openings=p.fri_openings[:-1]
    ),
    "fri_layers.repeat_last": lambda p: replace(
        p,
        fri_roots=p.fri_roots + p.fri_roots[-1:],
        fri_openings=p.fri_openings + p.fri_openings[-1:],
    ),
    "aux.add_or_remove": lambda p: _add_aux(p) if p.aux_root is None else _remove_aux(p),
    "log_trace_len+1": lambda p: replace(p, log_trace_len=p.log_trace_len + 1),
    "log_trace_len-1": lambda p: replace(p, log_trace_len=p.log_trace_len - 1),
    "ood_trace_z": lambda p: replace(p, ood_trace_z=bump(p.ood_trace_z)),
    "ood_trace_z.last": lambda p: replace(p, ood_trace_z=bump(p.ood_trace_z, (-1, -1))),
    "ood_trace_z.drop_row": lambda p: replace(p, ood_trace_z=p.ood_trace_z[:-1]),
    "ood_trace_gz": lambda p: replace(p, ood_trace_gz=bump(p.ood_trace_gz)),
    "ood_trace_gz.last": lambda p: replace(p, ood_trace_gz=bump(p.ood_trace_gz, (-1, -1))),
    "ood_trace_gz.extra_column": lambda p: replace(
        p, ood_trace_gz=np.concatenate([p.ood_trace_gz, p.ood_trace_gz[:, :1]], axis=1)
    ),
    "ood_trace_z.swap_with_gz": lambda p: replace(
        p, ood_trace_z=p.ood_trace_gz, ood_trace_gz=p.ood_trace_z
    ),
    "ood_quotient_z": lambda p: replace(p, ood_quotient_z=bump(p.ood_quotient_z)),
    "ood_quotient_z.last": lambda p: replace(p, ood_quotient_z=bump(p.ood_quotient_z, (-1, -1))),
    "ood_quotient_z.extra_zero_segment": lambda p: replace(
        p, ood_quotient_z=np.concatenate([p.ood_quotient_z, 0 * p.ood_quotient_z[:1]])
    ),
    "fri_remainder": lambda p: replace(p, fri_remainder=bump(p.fri_remainder)),
    "fri_remainder.last": lambda p: replace(p, fri_remainder=bump(p.fri_remainder, (-1, -1))),
    "fri_remainder.extra_zero_coefficient": lambda p: replace(
        p, fri_remainder=np.concatenate([p.fri_remainder, 0 * p.fri_remainder[:1]])
    ),
    "fri_remainder.drop_coefficient": lambda p: replace(p, fri_remainder=p.fri_remainder[:-1]),
    "pow_nonce+1": lambda p: replace(p, pow_nonce=p.pow_nonce + 1),
    "pow_nonce.top_bit": lambda p: replace(p, pow_nonce=p.pow_nonce ^ (1 << 63)),
}

OPENINGS = ("main_opening", "aux_opening", "quotient_opening", "fri_opening[0]", "fri_opening[-1]")
for _which in OPENINGS:
    for _what, _tamper in OPENING_TAMPERS.items():
        SECTION_TAMPERS[f"{_which}.{_what}"] = lambda p, w=_which, t=_tamper: _set_opening(
            p, w, t(_get_opening(p, w))
        )


def _applies(case: str, section: str) -> bool:
    return ("aux_root" not in section and "aux_opening" not in section) or case in HAS_AUX


SECTION_PARAMS = [
    pytest.param(case, section, id=f"{case}:{section}")
    for case in CASE_NAMES
    for section in SECTION_TAMPERS
    if _applies(case, section)
]


@pytest.mark.parametrize(("name", "section"), SECTION_PARAMS)
def test_tampered_section_is_rejected(cases, name, section):
    """Changing any one section of a proof makes verification fail with VerificationError."""
    case = cases[name]
    tampered = SECTION_TAMPERS[section](case.proof)
    data = serialize(tampered)
    assert data != case.data, "the tamper must change the serialised proof"
    assert_rejected(case.air, data)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_span_rejects_a_bit_flip(cases, name):
    """Flipping the lowest bit of the first byte of every section of the serialised layout (every
    header field, root, matrix size, element block, sibling count and sibling block) is rejected."""
    case = cases[name]
    accepted = []
    for s in layout(case.data):
        if s.start == s.end:
            continue
        data = put(case.data, s.start, bytes([case.data[s.start] ^ 1]))
        parse_or_verification_error(data)
        try:
            verify(case.air, data, min_bits=0)
        except VerificationError:
            continue
        accepted.append(s.name)
    assert not accepted, f"bit flips accepted in {accepted}"


def test_other_nonces_are_rejected(cases):
    """Only the grinding nonce the prover found works: other nonces, including ones that pass
    the proof-of-work check (which moves the query positions), are rejected."""
    case = cases["fib"]
    for delta in range(1, 49):
        tampered = replace(case.proof, pow_nonce=case.proof.pow_nonce + delta)
        assert_rejected(case.air, serialize(tampered))


# -- wrong statements and parameters -------------------------------------------------------------
def test_wrong_public_input_is_rejected(cases):
    """A Fibonacci proof does not verify against another claimed result."""
    case = cases["fib"]
    air = case.air
    assert_rejected(FibonacciAir(air.trace_len, air.result + 1), case.data)
    assert_rejected(FibonacciAir(air.trace_len, air.result - 1), case.data)


def test_wrong_trace_length_is_rejected(cases):
    """A Fibonacci proof for n rows does not verify against the AIR for 2n or n/2 rows, whatever
    the claimed result."""
    case = cases["fib"]
    n = case.air.trace_len
    for other in (n // 2, 2 * n):
        _, result = fibonacci_trace(other)
        assert_rejected(FibonacciAir(other, result), case.data)
        assert_rejected(FibonacciAir(other, case.air.result), case.data)


def test_wrong_air_is_rejected(cases):
    """Proofs do not verify against a different AIR or different AIR parameters."""
    fib, rc, mimc = cases["fib"], cases["range"], cases["mimc"]
    assert_rejected(rc.air, fib.data)  # no aux segment where one is expected
    assert_rejected(fib.air, rc.data)  # an aux segment where none is expected
    assert_rejected(MimcAir(fib.air.trace_len, 1, fib.air.result), fib.data)
    assert_rejected(RangeCheckAir(rc.air.trace_len, rc.air.bits - 1), rc.data)
    n, seed, output = mimc.air.trace_len, mimc.air.seed, mimc.air.output
    assert_rejected(MimcAir(n, seed + 1, output), mimc.data)
    assert_rejected(MimcAir(n, seed, output + 1), mimc.data)


PARAM_CHANGES = {
    "num_queries": {"num_queries": 9},
    "num_queries_fewer": {"num_queries": 7},
    "blowup": {"blowup": 16},
    "grinding_bits": {"grinding_bits": 3},
    "grinding_bits_more": {"grinding_bits": 5},
    "folding_factor": {"folding_factor": 2},
    "aux_grinding_bits": {"aux_grinding_bits": 1},
    "remainder_max_len": {"remainder_max_len": 8},
    "extension_degree": {"extension_degree": 5},
    "zk": {"zk": False},  # SMALL proves with zero knowledge (the default)
}


@pytest.mark.parametrize("change", PARAM_CHANGES)
def test_changed_header_params_are_rejected(cases, change):
    """A proof whose parameter block is changed (and nothing else) is rejected."""
    case = cases["fib"]
    tampered = replace(case.proof, params=replace(case.proof.params, **PARAM_CHANGES[change]))
    data = serialize(tampered)
    assert data != case.data and len(data) == len(case.data)
    assert_rejected(case.air, data)


def test_min_bits_is_enforced(cases):
    """verify refuses a valid proof whose parameters fall below the required security."""
    case = cases["fib"]
    verify(case.air, case.data, min_bits=10, regime="conjectured")
    with pytest.raises(VerificationError, match="bits"):
        verify(case.air, case.data, min_bits=200, regime="conjectured")
    with pytest.raises(VerificationError, match="bits"):
        verify(case.air, case.data, min_bits=200, regime="provable")


def test_false_statements_are_rejected():
    """Proofs built with the prover's self-checks off for traces that violate the AIR fail."""
    trace, result = fibonacci_trace(32)
    bad = np.array(trace, dtype=np.int64)
    bad[1, 10] = (bad[1, 10] + 1) % P
    air = FibonacciAir(32, result)
    assert_rejected(air, serialize(prove(air, GF(bad), SMALL, check=False)))

    bits = 3
    values = np.arange(32) % (1 << bits)
    values[5] = 1 << bits  # out of range
    rc = RangeCheckAir(32, bits)
    assert_rejected(rc, serialize(prove(rc, range_check_trace(values, bits), SMALL, check=False)))


# -- malicious provers: well-formed, Merkle-consistent proofs that break one protocol check -------
def _fib_proof_with(monkeypatch, owner, attr: str, wrapper) -> tuple[FibonacciAir, bytes]:
    """A Fibonacci proof made with `owner.attr` (something the prover uses) replaced by
    wrapper(original); the patch is undone before the proof is verified."""
    trace, result = fibonacci_trace(32)
    air = FibonacciAir(32, result)
    with monkeypatch.context() as m:
        m.setattr(owner, attr, wrapper(getattr(owner, attr)))
        data = serialize(prove(air, trace, SMALL))
    return air, data


def test_insufficient_proof_of_work_is_rejected(monkeypatch):
    """A proof that is consistent in every other way but whose nonce fails the grinding check
    is rejected for its proof of work."""

    def grind(original):
        def bad_grind(self, bits):
            return next(n for n in range(1 << 16) if not self.check_pow(n, bits))

        return bad_grind

    air, data = _fib_proof_with(monkeypatch, Transcript, "grind", grind)
    assert "proof-of-work" in assert_rejected(air, data).reason


def test_fri_layer_inconsistent_with_deep_values_is_rejected(monkeypatch):
    """FRI run on a low-degree codeword other than the DEEP combination is rejected at layer 0."""

    def commit(original):
        def shifted(codeword, *args, **kwargs):
            return original(codeword + GF(1), *args, **kwargs)

        return shifted

    air, data = _fib_proof_with(monkeypatch, fri, "commit", commit)
    assert "FRI layer 0" in assert_rejected(air, data).reason


def test_fri_layer_inconsistent_with_folding_is_rejected(monkeypatch):
    """A committed FRI layer that is low-degree but not the fold of the layer before is
    rejected (the first fold is shifted by a constant)."""
    calls = []

    def fold(original):
        def shifted_once(*args, **kwargs):
            out = original(*args, **kwargs)
            calls.append(None)
            return out + GF(1) if len(calls) == 1 else out

        return shifted_once

    air, data = _fib_proof_with(monkeypatch, fri, "fold_cosets", fold)
    assert "FRI layer 1" in assert_rejected(air, data).reason


def test_wrong_fri_remainder_is_rejected(monkeypatch):
    """A remainder polynomial that is not the last layer's interpolant is rejected."""

    def interpolate(original):
        def shifted(values, shift):
            coeffs = original(values, shift)
            coeffs[:, 0] += GF(1)
            return coeffs

        return shifted

    air, data = _fib_proof_with(monkeypatch, fri, "interpolate_coset", interpolate)
    assert "remainder" in assert_rejected(air, data).reason


# -- the strict parser ---------------------------------------------------------------------------
def _header(data: bytes, field: str, offset_in_field: int, raw: bytes) -> bytes:
    return put(data, span(data, field).start + offset_in_field, raw)


# params block: "<BBHBBBBB" = k, log2 blowup, queries, grinding, folding, log2 remainder, zk,
# aux grinding
PARSER_CASES = {
    "wrong magic": (lambda d: b"STRKPOS2" + d[8:], "magic"),
    "empty magic": (lambda d: b"\0" * 8 + d[8:], "magic"),
    "version 0": (lambda d: _header(d, "version", 0, struct.pack("<H", 0)), "version"),
    "version 1": (lambda d: _header(d, "version", 0, struct.pack("<H", 1)), "version"),
    "version 3": (lambda d: _header(d, "version", 0, struct.pack("<H", 3)), "version"),
    "version 0xffff": (lambda d: _header(d, "version", 0, b"\xff\xff"), "version"),
    "extension degree 3": (lambda d: _header(d, "params", 0, b"\x03"), "extension_degree"),
    "blowup 2^7": (lambda d: _header(d, "params", 1, b"\x07"), "parameter"),
    "blowup 1": (lambda d: _header(d, "params", 1, b"\x00"), "blowup"),
    "zero queries": (lambda d: _header(d, "params", 2, b"\0\0"), "num_queries"),
    "too many queries": (lambda d: _header(d, "params", 2, struct.pack("<H", 257)), "num_queries"),
    "grinding 33 bits": (lambda d: _header(d, "params", 4, b"\x21"), "grinding"),
    "folding factor 3": (lambda d: _header(d, "params", 5, b"\x03"), "folding"),
    "remainder 2^11": (lambda d: _header(d, "params", 6, b"\x0b"), "parameter"),
    "zk flag 2": (lambda d: _header(d, "params", 7, b"\x02"), "parameter"),
    "aux grinding 33 bits": (lambda d: _header(d, "params", 8, b"\x21"), "aux_grinding"),
    "remainder below folding": (lambda d: _header(d, "params", 6, b"\x01"), "remainder"),
    "log trace len 0": (lambda d: _header(d, "log_trace_len", 0, b"\x00"), "trace length"),
    "log trace len 1": (lambda d: _header(d, "log_trace_len", 0, b"\x01"), "trace length"),
    "log trace len 23": (lambda d: _header(d, "log_trace_len", 0, b"\x17"), "trace length"),
    "log trace len 255": (lambda d: _header(d, "log_trace_len", 0, b"\xff"), "trace length"),
    "aux flag 2": (lambda d: _header(d, "aux_flag", 0, b"\x02"), "aux flag"),
    "aux flag 255": (lambda d: _header(d, "aux_flag", 0, b"\xff"), "aux flag"),
    "255 FRI layers": (lambda d: _header(d, "fri_count", 0, b"\xff"), "truncated|longer"),
    "huge matrix rows": (lambda d: _header(d, "ood_trace_z.dims", 0, b"\xff" * 4), "longer"),
    "huge matrix cols": (lambda d: _header(d, "fri_remainder.dims", 4, b"\xff" * 4), "longer"),
    "huge opening rows": (lambda d: _header(d, "main_opening.rows.dims", 0, b"\xff" * 4), "longer"),
    "huge sibling count": (lambda d: _header(d, "main_opening.count", 0, b"\xff" * 4), "longer"),
    "element p": (
        lambda d: _header(d, "ood_trace_z.elements", 0, struct.pack("<I", P)),
        "not below p",
    ),
    "element 2^32-1": (
        lambda d: _header(d, "quotient_opening.rows.elements", 0, b"\xff" * 4),
        "not below p",
    ),
    "one trailing byte": (lambda d: d + b"\0", "trailing"),
    "a trailing copy": (lambda d: d + d, "trailing"),
    "truncated by one byte": (lambda d: d[:-1], "truncated|longer"),
    "only the magic": (lambda d: d[:8], "truncated"),
    "empty": (lambda d: b"", "truncated"),
}


@pytest.mark.parametrize("what", PARSER_CASES)
def test_parser_rejects_malformed_input(cases, what):
    """deserialize raises VerificationError (with a fitting reason, a regex here) for malformed
    encodings, and verify rejects them too."""
    case = cases["range"]
    mutate, reason = PARSER_CASES[what]
    data = mutate(case.data)
    assert data != case.data
    e = assert_parse_rejected(data)
    assert re.search(reason, e.reason, re.IGNORECASE), e.reason
    assert_rejected(case.air, data)


@pytest.mark.parametrize("value", [None, "STRKPOS1", 12345, [1, 2, 3], object()])
def test_non_bytes_input_is_rejected(cases, value):
    """Anything that is not bytes (or a Proof) is rejected with VerificationError."""
    assert_parse_rejected(value)
    assert_rejected(cases["fib"].air, value)


def test_oversized_input_is_rejected(cases):
    """Inputs above MAX_PROOF_BYTES are refused before parsing."""
    data = cases["fib"].data + bytes(MAX_PROOF_BYTES + 1 - len(cases["fib"].data))
    assert "larger" in assert_parse_rejected(data).reason


# -- randomised tampering (hypothesis) -----------------------------------------------------------
case_names = st.sampled_from(CASE_NAMES)


@settings(max_examples=300, deadline=None)
@given(name=case_names, data=st.data())
def test_random_byte_flip_is_rejected(cases, name, data):
    """XOR-ing any one byte of a proof with a non-zero value is rejected."""
    case = cases[name]
    offset = data.draw(st.integers(0, len(case.data) - 1), label="offset")
    xor = data.draw(st.integers(1, 255), label="xor")
    tampered = put(case.data, offset, bytes([case.data[offset] ^ xor]))
    parse_or_verification_error(tampered)
    assert_rejected(case.air, tampered)


@settings(max_examples=100, deadline=None)
@given(name=case_names, data=st.data())
def test_truncation_is_rejected(cases, name, data):
    """Every proper prefix of a proof is rejected by the parser."""
    case = cases[name]
    length = data.draw(st.integers(0, len(case.data) - 1), label="length")
    assert_parse_rejected(case.data[:length])
    assert_rejected(case.air, case.data[:length])


@settings(max_examples=100, deadline=None)
@given(name=case_names, extra=st.binary(min_size=1, max_size=64), data=st.data())
def test_extra_bytes_are_rejected(cases, name, extra, data):
    """Bytes appended to a proof, or inserted anywhere in it, are rejected."""
    case = cases[name]
    assert "trailing" in assert_parse_rejected(case.data + extra).reason
    assert_rejected(case.air, case.data + extra)
    offset = data.draw(st.integers(0, len(case.data)), label="insert at")
    inserted = case.data[:offset] + extra + case.data[offset:]
    parse_or_verification_error(inserted)
    assert_rejected(case.air, inserted)


@settings(max_examples=100, deadline=None)
@given(name=case_names, value=st.integers(P, 2**32 - 1), data=st.data())
def test_out_of_range_element_is_rejected(cases, name, value, data):
    """Replacing any field element of a proof by a value >= p is refused by the parser."""
    case = cases[name]
    offset = data.draw(st.sampled_from(element_offsets(case.data)), label="element offset")
    tampered = put(case.data, offset, struct.pack("<I", value))
    assert "not below p" in assert_parse_rejected(tampered).reason
    assert_rejected(case.air, tampered)


@settings(max_examples=100, deadline=None)
@given(name=case_names, data=st.data())
def test_random_element_change_is_rejected(cases, name, data):
    """Replacing any field element of a proof by another value below p is rejected."""
    case = cases[name]
    offset = data.draw(st.sampled_from(element_offsets(case.data)), label="element offset")
    (old,) = struct.unpack_from("<I", case.data, offset)
    new = data.draw(st.integers(0, P - 1).filter(lambda v: v != old), label="new value")
    assert_rejected(case.air, put(case.data, offset, struct.pack("<I", new)))
