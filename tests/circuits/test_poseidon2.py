"""Poseidon2 over BabyBear: the reference permutation against the shared known-answer tests and
an independent scalar implementation; the hashing helpers; the AIR gadget against the reference,
proved and verified, and rejected when tampered with."""

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.poseidon2 import (
    CAPACITY,
    compress,
    hash_elements,
    params,
    permute,
    sponge_iv,
)
from circuits.poseidon2_air import Poseidon2Air, Poseidon2Gadget, poseidon2_trace
from stark.air import Air, Frame, TransitionConstraint
from stark.field import GF, P
from stark.proof import VerificationError
from stark.prover import prove
from stark.verifier import verify
from tests.quick import QUICK

SHARED_VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
PACKAGED = Path(__file__).resolve().parents[2] / "circuits" / "data" / "poseidon2_babybear.json"


# -- an independent scalar implementation (plain Python integers, full matrices) ---------------
@cache
def vectors_file() -> dict:
    return json.loads(PACKAGED.read_text())


def scalar_permute(state: list[int]) -> list[int]:
    """Poseidon2 written from the vectors' README with explicit matrices, one state at a time."""
    data = vectors_file()
    t = len(state)
    w = data["widths"][str(t)]
    m4 = data["m4"]
    # M_E = circ(2 M4, M4, ..., M4): block (a, b) is 2 m4 on the diagonal, m4 elsewhere
    m_ext = [
        [m4[i % 4][j % 4] * (2 if i // 4 == j // 4 else 1) for j in range(t)] for i in range(t)
    ]
    diagonal = w["internal_diagonal"]
    m_int = [[(1 + (diagonal[i] if i == j else 0)) % P for j in range(t)] for i in range(t)]

    def mat(m, x):
        return [sum(a * b for a, b in zip(row, x, strict=True)) % P for row in m]

    x = mat(m_ext, [v % P for v in state])
    for rc in w["external_initial_constants"]:
        x = mat(m_ext, [pow((v + c) % P, 7, P) for v, c in zip(x, rc, strict=True)])
    for c in w["internal_constants"]:
        x = mat(m_int, [pow((x[0] + c) % P, 7, P), *x[1:]])
    for rc in w["external_final_constants"]:
        x = mat(m_ext, [pow((v + c) % P, 7, P) for v, c in zip(x, rc, strict=True)])
    return x


def random_states(rng, n, width):
    return rng.integers(0, P, (n, width), dtype=np.int64)


# -- the reference permutation -----------------------------------------------------------------
def test_packaged_vectors_are_the_shared_ones():
    shared = SHARED_VECTORS / "poseidon2_babybear.json"
    if not shared.exists():
        pytest.skip("the shared vectors are not beside this checkout")
    assert json.loads(shared.read_text()) == json.loads(PACKAGED.read_text())


@pytest.mark.parametrize("width", [16, 24])
def test_known_answers(width):
    """Every known-answer test of the JSON, one by one and as one batch, both return kinds."""
    vectors = params(width).test_vectors
    assert len(vectors) >= 3
    for inp, out in vectors:
        assert permute(np.array(inp, dtype=np.int64)).tolist() == list(out)
        assert scalar_permute(list(inp)) == list(out)
    inputs = np.array([v[0] for v in vectors], dtype=np.int64)
    outputs = np.array([v[1] for v in vectors])
    assert np.array_equal(permute(inputs), outputs)
    assert np.array_equal(permute(inputs.astype(np.uint64)), outputs)
    as_gf = permute(GF(inputs % P))
    assert isinstance(as_gf, GF) and np.array_equal(np.asarray(as_gf), outputs)


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from([16, 24]).flatmap(
        lambda t: st.lists(
            st.lists(st.integers(0, P - 1), min_size=t, max_size=t), min_size=1, max_size=4
        )
    )
)
def test_vectorised_equals_scalar(states):
    assert permute(np.array(states, dtype=np.int64)).tolist() == [scalar_permute(s) for s in states]


def test_permute_rejects_bad_shapes():
    with pytest.raises(ValueError):
        permute(np.zeros((2, 12), dtype=np.int64))
    with pytest.raises(ValueError):
        permute(np.zeros((2, 16), dtype=np.float64))


# -- hashing -----------------------------------------------------------------------------------
def scalar_hash(values: list[int], width: int) -> list[int]:
    rate = width - CAPACITY
    state = [0] * width
    state[rate] = len(values)
    padded = values + [0] * (-len(values) % rate)
    for k in range(0, len(padded), rate):
        state = [
            (s + v) % P
            for s, v in zip(state, [*padded[k : k + rate], *[0] * CAPACITY], strict=True)
        ]
        state = scalar_permute(state)
    return state[:8]


@pytest.mark.parametrize("width", [16, 24])
@pytest.mark.parametrize("length", [1, 8, 9, 17, 60])
def test_hash_elements_is_the_documented_sponge(width, length):
    inputs = random_states(np.random.default_rng(length), 3, length)
    digests = hash_elements(inputs, width)
    assert digests.shape == (3, 8)
    assert digests.tolist() == [scalar_hash(row.tolist(), width) for row in inputs]


def test_hash_domain_separation_and_canonical_inputs():
    # zero padding cannot make two lengths collide: the length is in the IV
    assert (
        hash_elements(np.array([[5]]))[0].tolist() != hash_elements(np.array([[5, 0]]))[0].tolist()
    )
    assert sponge_iv(3).tolist()[8] == 3
    with pytest.raises(ValueError):
        hash_elements(np.array([[P]]))  # x and x + p must not hash alike
    with pytest.raises(ValueError):
        hash_elements(np.zeros((1, 0), dtype=np.int64))


def test_compress_is_feed_forward_truncation():
    rng = np.random.default_rng(7)
    left, right = random_states(rng, 4, 8), random_states(rng, 4, 8)
    out = compress(left, right)
    expected = [
        [(a + b) % P for a, b in zip(scalar_permute([*l, *r])[:8], l, strict=True)]
        for l, r in zip(left.tolist(), right.tolist(), strict=True)
    ]
    assert out.tolist() == expected
    assert isinstance(compress(GF(left), GF(right)), GF)


# -- the gadget --------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [16, 24])
@pytest.mark.parametrize("registers", [True, False])
def test_gadget_trace_satisfies_constraints(width, registers):
    n = 32
    inputs = random_states(np.random.default_rng(width), n, width)
    trace, outputs = poseidon2_trace(inputs, sbox_registers=registers)
    assert np.array_equal(outputs, permute(inputs))
    air = Poseidon2Air(n, width, {3: outputs[3].tolist()}, sbox_registers=registers)
    assert air.main_width == trace.shape[0]
    gadget = air.gadget
    assert np.array_equal(np.asarray(trace[list(gadget.output_cols)]).T, outputs)
    assert air.find_violation(trace, None, None) is None
    specs = air.transition_constraints()
    assert all(s.degree == (3 if registers else 7) and s.all_rows for s in specs)
    regs = params(width).num_sboxes if registers else 0
    assert gadget.num_columns == width + regs + 8 * width + params(width).partial_rounds
    assert len(gadget.register_cols) == regs
    # a changed register or output cell violates a constraint on that row, the last row included
    for col in (*gadget.register_cols[-1:], gadget.output_cols[5]):
        bad = trace.copy()
        bad[col, n - 1] += GF(1)
        assert air.find_violation(bad, None, None) is not None


class TwoPermutationsAir(Air):
    """Two chained gadgets at offsets, as a sponge would use them. Columns 0..7 hold extra
    elements and 8..23 the second permutation's output; the first gadget (at 24) owns its
    input; the second takes as input the affine expressions (first output's rate + extra,
    first output's capacity), has no input columns and writes its output into 8..23."""

    name = "two-poseidon2"

    def __init__(self, n):
        super().__init__(n)
        self.first = Poseidon2Gadget(24)
        start = 24 + self.first.num_columns
        self.second = Poseidon2Gadget(start, input_cols=(), output_cols=range(8, 24))
        self.main_width = start + self.second.num_columns

    def chained_inputs(self, row):
        out1 = [row[c] for c in self.first.output_cols]
        return [out1[i] + row[i] for i in range(8)] + out1[8:]

    def transition_constraints(self) -> list[TransitionConstraint]:
        return self.first.transition_constraints() + self.second.transition_constraints()

    def evaluate_transition(self, f: Frame) -> list:
        return self.first.constraints(f.main) + self.second.constraints(
            f.main, self.chained_inputs(f.main)
        )


def test_gadgets_compose_at_offsets_with_affine_inputs():
    n = 8
    rng = np.random.default_rng(3)
    air = TwoPermutationsAir(n)
    trace = np.zeros((air.main_width, n), dtype=np.uint64)
    extra, start = random_states(rng, n, 8), random_states(rng, n, 16)
    trace[:8] = extra.T
    out1 = air.first.fill(trace, start)
    chained = np.concatenate([(out1[:, :8] + extra.astype(np.uint64)) % P, out1[:, 8:]], axis=1)
    out2 = air.second.fill(trace, chained)
    absorbed = permute(start).astype(np.int64) + np.pad(extra, ((0, 0), (0, 8)))  # read mod p
    assert np.array_equal(out2, permute(absorbed))
    assert np.array_equal(trace[list(air.second.output_cols)].T, out2)
    gf_trace = GF(trace)
    assert air.find_violation(gf_trace, None, None) is None
    verify(air, prove(air, gf_trace, QUICK).to_bytes(), accepted_params=[QUICK])


# -- proving, and tampering --------------------------------------------------------------------
N = 8


@pytest.fixture(scope="module")
def honest():
    inputs = random_states(np.random.default_rng(99), N, 16)
    trace, outputs = poseidon2_trace(inputs)
    public = {0: outputs[0][:8].tolist(), N - 1: outputs[N - 1][:8].tolist()}
    air = Poseidon2Air(N, 16, public)
    return air, trace, outputs, prove(air, trace, QUICK).to_bytes()


def test_prove_and_verify(honest):
    air, _, _, proof = honest
    verify(air, proof, accepted_params=[QUICK])


def test_wrong_public_digest_is_rejected(honest):
    _, trace, outputs, proof = honest
    digest = outputs[0][:8].tolist()
    digest[2] = (digest[2] + 1) % P
    liar = Poseidon2Air(N, 16, {0: digest, N - 1: outputs[N - 1][:8].tolist()})
    with pytest.raises(VerificationError):
        verify(liar, proof, accepted_params=[QUICK])
    forged = prove(liar, trace, QUICK, check=False).to_bytes()
    with pytest.raises(VerificationError):
        verify(liar, forged, accepted_params=[QUICK])


@pytest.mark.parametrize("what", ["register", "output"])
def test_tampered_trace_is_rejected(honest, what):
    """One changed cell, proved with the prover's self-checks off: the verifier rejects.
    The output cell is on a row with no public digest, so only the gadget's constraints
    catch it."""
    air, trace, _, _ = honest
    bad = trace.copy()
    col = air.gadget.register_cols[7] if what == "register" else air.gadget.output_cols[0]
    bad[col, 3] += GF(12345)
    assert air.find_violation(bad, None, None) is not None
    with pytest.raises(VerificationError):
        verify(air, prove(air, bad, QUICK, check=False).to_bytes(), accepted_params=[QUICK])
