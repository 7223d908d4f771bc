"""Write web/test/fixtures/stark_values.json: values computed by the Python STARK code (stark/)
that web/test/{ext,transcript,proof}.test.js check the JavaScript against. Run from the
repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_stark_values.py

- ext: random sums, products, inverses, powers, Frobenius maps and inverse_of_difference in
  F_p^4 (W = 11) and F_p^5 (W = 2);
- transcripts: scripts of operations (absorb, challenge draws, grinding checks) with Python's
  outputs and the state after each, one random and one recorded while Python verifies a
  golden proof;
- example_proofs: three small proofs of stark/examples.py's Fibonacci AIR (no aux segment,
  k = 4 and 5, with and without zero knowledge), whose bytes the golden ones do not cover;
- proofs: every golden proof.bin and aggregate.bin, and the examples, parsed by stark/proof.py
  (matrices and sibling lists as their shape and SHA-256, the rest in full);
- openings: every Merkle opening check (verify_rows) Python's verifier makes on the golden
  publications and the examples: which opening of which file, depth, positions and the answer;
- mutations: truncations, extensions and byte changes of golden proofs, and what
  deserialize says of each (None when it parses).
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np

import stark.fri
import stark.merkle
import stark.verifier
from solvency.publication.check import check_publication
from stark.examples import FibonacciAir, fibonacci_trace
from stark.field import GF, ExtensionField, P, inverse_of_difference
from stark.params import StarkParams
from stark.proof import VerificationError, deserialize
from stark.prover import prove
from stark.transcript import Transcript
from stark.verifier import verify

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "test" / "fixtures" / "stark_values.json"
GOLDEN = ROOT / "tests" / "golden"


def ints(a) -> list:
    return np.asarray(a).astype(np.int64).tolist()


def ext_values(rng: np.random.Generator) -> dict:
    out = {}
    for k in (4, 5):
        ext = ExtensionField(k)

        def rand(ext=ext, k=k):
            c = rng.integers(0, P, size=k)
            r = rng.random()
            if r < 0.1:  # sparse elements: zeros in some coordinates, edge values
                c[rng.integers(0, k, size=k - 1)] = 0
            elif r < 0.15:
                c[:] = P - 1
            return ext.array(GF(c.tolist()))

        cases = []
        for i in range(300):
            a, b = rand(), rand()
            if i == 0:
                a = ext.from_base(7)
            if a == ext.zeros():
                continue
            e = int(rng.integers(0, 1 << 62)) if i % 3 else int(rng.integers(0, 20))
            cases.append(
                {
                    "a": ints(a.coords),
                    "b": ints(b.coords),
                    "sum": ints((a + b).coords),
                    "diff": ints((a - b).coords),
                    "prod": ints((a * b).coords),
                    "inv": ints(a.inverse().coords),
                    "e": str(e),
                    "pow": ints((a**e).coords),
                    "frob": [ints(a.frobenius(j).coords) for j in range(k)],
                    "norm": int(a.norm()),
                }
            )
        z = rand()
        xs = rng.integers(0, P, size=16)
        inv_diff = inverse_of_difference(GF(xs.tolist()), z)
        out[str(k)] = {
            "nonresidue": ext.nonresidue,
            "cases": cases,
            "inverse_of_difference": {
                "z": ints(z.coords),
                "xs": ints(xs),
                "out": ints(inv_diff.coords.T),
            },
        }
    return out


class Recorder:
    """Records every operation on Transcript objects while active (challenge_ext is recorded
    as the challenge_field call it makes); "t" numbers the transcripts in order of creation."""

    def __init__(self):
        self.ops = None
        self.orig = {}

    def start(self):
        self.ops, self.objects = [], []
        rec = self
        orig = self.orig = {
            name: getattr(Transcript, name)
            for name in ("__init__", "absorb", "challenge_field", "challenge_indices", "check_pow")
        }

        def init(self, tag):
            orig["__init__"](self, tag)
            rec.log({"op": "init", "tag": tag.hex()}, self)

        def absorb(self, label, data):
            orig["absorb"](self, label, data)
            rec.log({"op": "absorb", "label": label, "data": bytes(data).hex()}, self)

        def challenge_field(self, count):
            out = orig["challenge_field"](self, count)
            rec.log({"op": "field", "count": count, "out": ints(out)}, self)
            return out

        def challenge_indices(self, count, size):
            out = orig["challenge_indices"](self, count, size)
            rec.log({"op": "indices", "count": count, "size": size, "out": list(out)}, self)
            return out

        def check_pow(self, nonce, bits):
            out = orig["check_pow"](self, nonce, bits)
            rec.log({"op": "pow", "nonce": str(nonce), "bits": bits, "out": out}, self)
            return out

        for name, f in (
            ("__init__", init),
            ("absorb", absorb),
            ("challenge_field", challenge_field),
            ("challenge_indices", challenge_indices),
            ("check_pow", check_pow),
        ):
            setattr(Transcript, name, f)

    def log(self, op, t):
        if op["op"] == "init":
            self.objects.append(t)
        op["t"] = next(i for i, o in enumerate(self.objects) if o is t)
        op["state"] = t._state.hex()
        self.ops.append(op)

    def stop(self):
        for name, f in self.orig.items():
            setattr(Transcript, name, f)
        ops, self.ops, self.objects = self.ops, None, []
        return ops


def random_script(rng: np.random.Generator) -> list:
    rec = Recorder()
    rec.start()
    try:
        t = Transcript(b"stark-solvency/babybear/sha256")
        t2 = Transcript(bytes(range(100)))  # another tag, longer than a block
        t2.absorb("x", b"")
        for i in range(120):
            r = rng.random()
            if r < 0.4:
                n = int(rng.choice([0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 5000]))
                label = ["main root", "", "ood values", "\u00e9t\u00e9", "fri root"][i % 5]
                t.absorb(label, rng.integers(0, 256, size=n, dtype=np.uint8).tobytes())
            elif r < 0.55:
                t.challenge_field(int(rng.choice([1, 4, 5, 8, 9, 17, 40])))
            elif r < 0.7:
                t.challenge_ext(ExtensionField(int(rng.choice([4, 5]))), int(rng.integers(1, 4)))
            elif r < 0.85:
                size = 1 << int(rng.integers(0, 33))
                t.challenge_indices(int(rng.choice([1, 3, 8, 27, 100])), size)
            else:
                bits = int(rng.choice([0, 1, 8, 20, 32]))
                nonce = int(rng.integers(0, 1 << 63)) * 2 + int(rng.integers(0, 2))
                t.check_pow(nonce, bits)
        for bits in (0, 8, 20):  # nonces that pass: the smallest, and its predecessor fails
            nonce = t.grind(bits)
            t.check_pow(nonce, bits)
            if nonce:
                t.check_pow(nonce - 1, bits)
            t.absorb("pow nonce", nonce.to_bytes(8, "little"))
        for nonce in (-1, 1 << 64, (1 << 64) - 1):
            t.check_pow(nonce, 0)
    finally:
        ops = rec.stop()
    return ops


def matrix(m: np.ndarray) -> dict:
    m = np.asarray(m, dtype="<u4")
    return {
        "rows": int(m.shape[0]),
        "cols": int(m.shape[1]),
        "sha256": hashlib.sha256(m.tobytes()).hexdigest(),
        "head": ints(m.reshape(-1)[:16]),
    }


def opening(o) -> dict:
    return {
        "rows": matrix(o.rows),
        "count": len(o.siblings),
        "siblings_sha256": hashlib.sha256(b"".join(o.siblings)).hexdigest(),
        "first_sibling": o.siblings[0].hex() if o.siblings else None,
    }


def proof_json(proof) -> dict:
    p = proof.params
    return {
        "params": {
            "extension_degree": p.extension_degree,
            "blowup": p.blowup,
            "num_queries": p.num_queries,
            "grinding_bits": p.grinding_bits,
            "folding_factor": p.folding_factor,
            "remainder_max_len": p.remainder_max_len,
            "zk": p.zk,
            "aux_grinding_bits": p.aux_grinding_bits,
        },
        "log_trace_len": proof.log_trace_len,
        "main_root": proof.main_root.hex(),
        "aux_root": proof.aux_root.hex() if proof.aux_root is not None else None,
        "aux_pow_nonce": str(proof.aux_pow_nonce),
        "quotient_root": proof.quotient_root.hex(),
        "fri_roots": [r.hex() for r in proof.fri_roots],
        "ood_trace_z": matrix(proof.ood_trace_z),
        "ood_trace_gz": matrix(proof.ood_trace_gz),
        "ood_quotient_z": matrix(proof.ood_quotient_z),
        "fri_remainder": matrix(proof.fri_remainder),
        "pow_nonce": str(proof.pow_nonce),
        "main_opening": opening(proof.main_opening),
        "aux_opening": opening(proof.aux_opening) if proof.aux_opening is not None else None,
        "quotient_opening": opening(proof.quotient_opening),
        "fri_openings": [opening(o) for o in proof.fri_openings],
    }


def field_offsets(data: bytes) -> list[int]:
    """Offsets of every count/shape field and section start of a well-formed proof."""
    out = [0, 8, 10, 19]
    pos = 20 + 32
    out.append(pos)  # aux flag
    has_aux = data[pos]
    pos += 1
    if has_aux:
        pos += 32
        out.append(pos)
        pos += 8
    pos += 32
    out.append(pos)  # FRI layer count
    n_fri = data[pos]
    pos += 1 + 32 * n_fri

    def mat(pos):
        out.extend(range(pos, pos + 8))
        rows, cols = struct.unpack_from("<II", data, pos)
        out.append(pos + 8 + 4 * rows * cols - 1)  # the last element's top byte
        return pos + 8 + 4 * rows * cols

    for _ in range(4):
        pos = mat(pos)
    out.extend(range(pos, pos + 8))  # the grinding nonce
    pos += 8
    for _ in range(2 + has_aux + n_fri):
        pos = mat(pos)
        out.extend(range(pos, pos + 4))
        (count,) = struct.unpack_from("<I", data, pos)
        pos += 4 + 32 * count
    assert pos == len(data)
    return sorted(set(out))


def outcome(data: bytes):
    try:
        deserialize(data)
    except VerificationError as e:
        return e.reason
    return None


def mutations(rng: np.random.Generator, files: list[str]) -> list:
    cases = []
    for rel in files:
        data = data_of(rel)
        size = len(data)
        structural = field_offsets(data)
        randoms = rng.integers(0, size, size=200).tolist()
        positions = sorted(set(structural) | set(randoms))
        for i, pos in enumerate(positions):
            flip = int(rng.integers(1, 256))
            for kind, value, mutated in (
                ("xor", flip, data[:pos] + bytes([data[pos] ^ flip]) + data[pos + 1 :]),
                ("set", 0xFF, data[:pos] + b"\xff" + data[pos + 1 :]),
                ("truncate", None, data[:pos]),
            ):
                if kind == "set" and data[pos] == 0xFF:
                    continue
                if kind == "truncate" and i % 2 and pos not in structural:
                    continue
                cases.append(
                    {
                        "file": rel,
                        "kind": kind,
                        "pos": pos,
                        "value": value,
                        "python": outcome(mutated),
                    }
                )
        for extra in (b"\x00", b"\x01\x02\x03", bytes(32)):
            cases.append(
                {
                    "file": rel,
                    "kind": "extend",
                    "pos": size,
                    "value": extra.hex(),
                    "python": outcome(data + extra),
                }
            )
    return cases


def damaged_openings(call: dict, proof, name: str) -> list[bool]:
    """verify_rows on damaged copies of one opening, in the order of DAMAGES (the JS test
    builds the same copies)."""
    if name in ("main", "aux", "quotient"):
        root = getattr(proof, f"{name}_root")
        o = getattr(proof, f"{name}_opening")
    else:
        root, o = proof.fri_roots[int(name[3:])], proof.fri_openings[int(name[3:])]
    rows, sib, idx, depth = o.rows, list(o.siblings), list(call["indices"]), call["depth"]
    changed = list(sib)
    if sib:
        mid = bytearray(sib[len(sib) >> 1])
        mid[7] ^= 1
        changed[len(sib) >> 1] = bytes(mid)
    last = rows.copy()
    last.reshape(-1)[-1] ^= 1
    swapped_rows = rows[[1, 0, *range(2, len(rows))]] if len(rows) >= 2 else rows
    swapped_sib = [sib[1], sib[0], *sib[2:]] if len(sib) >= 2 else sib
    other = bytes([root[0] ^ 1]) + root[1:]
    cases = [
        (root, depth, idx, rows, [*sib, sib[0] if sib else bytes(32)]),  # a surplus sibling
        (root, depth, idx, rows, sib[1:]),  # the first missing
        (root, depth, idx, rows, sib[:-1]),  # the last missing
        (root, depth, idx, rows, changed),  # one changed
        (root, depth, idx, last, sib),  # a changed row
        (root, depth + 1, idx, rows, sib),  # another depth
        (root, depth, [i ^ 1 for i in idx], rows, sib),  # other positions
        (root, depth, idx[1:], rows, sib),  # one position fewer than rows
        (other, depth, idx, rows, sib),  # another root
        (root, depth, idx, swapped_rows, sib),  # two rows swapped
        (root, depth, idx, rows, swapped_sib),  # two siblings swapped
    ]
    return [bool(stark.merkle.verify_rows(r, d, i, m, tuple(s))) for r, d, i, m, s in cases]


def example_proofs() -> dict[str, tuple]:
    """Proofs the golden ones do not cover: no aux segment, F_p^4, without and with zero
    knowledge (seeded, so reproducible), other FRI shapes. Keyed "example/NAME"."""
    n = 64
    trace, result = fibonacci_trace(n)
    air = FibonacciAir(n, result)
    out = {}
    for name, params in (
        ("fibonacci-k4", StarkParams(4, 4, 20, 4, 4, 16, False, 0)),
        ("fibonacci-k4-zk", StarkParams(4, 8, 12, 2, 2, 8, True, 0)),
        ("fibonacci-k5-f8", StarkParams(5, 2, 30, 0, 8, 8, False, 0)),
    ):
        data = prove(air, trace, params, seed=7).to_bytes()
        out[f"example/{name}"] = (air, data)
    return out


EXAMPLES: dict[str, tuple] = {}


def data_of(rel: str) -> bytes:
    return EXAMPLES[rel][1] if rel in EXAMPLES else (ROOT / rel).read_bytes()


def golden_publications() -> list[Path]:
    return sorted(p.parent for p in GOLDEN.glob("publication-*/*/statement.json"))


def openings_and_script() -> tuple[list, list]:
    """Run check_publication on every golden publication, and verify the example proofs,
    recording verify_rows calls, and the transcript of the first proof verified."""
    calls = []
    orig_v, orig_f = stark.verifier.verify_rows, stark.fri.verify_rows

    def recording(root, depth, indices, rows, siblings):
        ok = orig_v(root, depth, indices, rows, siblings)
        calls.append({"root": root.hex(), "depth": depth, "indices": list(indices), "ok": ok})
        return ok

    stark.verifier.verify_rows = stark.fri.verify_rows = recording
    rec = Recorder()
    script = None
    result = []
    try:
        runs = [
            (
                [
                    f.relative_to(ROOT).as_posix()
                    for f in [*sorted(pub.glob("batches/*/proof.bin")), *pub.glob("aggregate.bin")]
                ],
                lambda pub=pub: check_publication(pub, regime="conjectured"),
            )
            for pub in golden_publications()
        ]
        runs += [
            (
                [rel],
                lambda air=air, data=data: verify(
                    air, data, accepted_params=[deserialize(data).params]
                ),
            )
            for rel, (air, data) in EXAMPLES.items()
        ]
        for rels, run in runs:
            parsed = {rel: deserialize(data_of(rel)) for rel in rels}
            calls.clear()
            if script is None:
                rec.start()
            try:
                run()
            finally:
                if script is None:
                    script = rec.stop()
            for call in calls:
                where = [
                    (rel, name)
                    for rel, proof in parsed.items()
                    for name, root in [
                        ("main", proof.main_root),
                        ("aux", proof.aux_root),
                        ("quotient", proof.quotient_root),
                        *((f"fri{i}", r) for i, r in enumerate(proof.fri_roots)),
                    ]
                    if root is not None and root.hex() == call["root"]
                ]
                assert len(where) == 1, where
                rel, name = where[0]
                damaged = damaged_openings(call, parsed[rel], name)
                result.append({"file": rel, "opening": name, **call, "damaged": damaged})
    finally:
        stark.verifier.verify_rows, stark.fri.verify_rows = orig_v, orig_f
    return result, script


def build() -> dict:
    rng = np.random.default_rng(20261205)
    EXAMPLES.clear()
    EXAMPLES.update(example_proofs())
    proof_files = list(EXAMPLES) + sorted(
        p.relative_to(ROOT).as_posix()
        for p in [
            *GOLDEN.glob("publication-*/*/batches/*/proof.bin"),
            *GOLDEN.glob("*/*/aggregate.bin"),
        ]
    )
    openings, golden_script = openings_and_script()
    values = {
        "p": P,
        "ext": ext_values(rng),
        "transcripts": {"random": random_script(rng), "golden": golden_script},
        "example_proofs": {rel: data.hex() for rel, (_, data) in EXAMPLES.items()},
        "proofs": {rel: proof_json(deserialize(data_of(rel))) for rel in proof_files},
        "openings": openings,
        "mutations": mutations(
            rng,
            [
                "tests/golden/publication-2/one-batch/batches/b00000/proof.bin",
                "tests/golden/publication-1/three-batches/aggregate.bin",
                "tests/golden/publication-2/three-batches/batches/b00001/proof.bin",
                *EXAMPLES,
            ],
        ),
    }
    return values


def render(values: dict) -> str:
    return json.dumps(values, separators=(",", ":")) + "\n"


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(build()))
    print(f"wrote {OUT.relative_to(ROOT)}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
