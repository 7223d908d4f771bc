"""The compiled evaluation of the Poseidon2 gadget's constraints (the prover's base-field frames)
returns the very field elements the expression code returns, in the same order: on random cells
(every constraint nonzero), on filled witnesses (all zero), serial and parallel; and seeded
proofs are byte-identical with it on and off. Frames of extension values (the verifier's) never
take it."""

import numpy as np
import pytest

import circuits.poseidon2_air as p2
from circuits.leaf import id_commitments, new_nonces
from circuits.poseidon2_air import Poseidon2Air, Poseidon2Gadget, poseidon2_trace
from circuits.solvency import SolvencyAir, build_witness_with_leaves
from stark.field import GF, ExtensionField, P, reduced
from stark.prover import prove
from stark.randomness import ProverRandomness
from tests.circuits.test_solvency_air import MARKET
from tests.quick import QUICK

OFFSET = 3  # the gadget's first column; columns before and after it belong to no one
LAYOUTS = [
    # (width, registers, own input columns, output_width)
    (w, regs, own, out)
    for w in (16, 24)
    for regs in (True, False)
    for own, out in ((True, None), (False, None), (False, 8))
]


def gadget_of(width, regs, own, out) -> Poseidon2Gadget:
    return Poseidon2Gadget(
        OFFSET, width, input_cols=None if own else (), sbox_registers=regs, output_width=out
    )


def random_inputs(rng, width: int, n: int) -> list:
    """Affine-input stand-ins: GF columns, with a few GF scalars (as a sponge's capacity)."""
    cols = [GF(rng.integers(0, P, n)) for _ in range(width - 3)]
    return [*cols, GF(0), GF(int(rng.integers(0, P))), GF(P - 1)]


def both_paths(monkeypatch, gadget, main, inputs):
    fast = gadget.constraints(main, inputs)
    with monkeypatch.context() as m:
        m.setattr(p2, "FAST_CONSTRAINTS", False)
        slow = gadget.constraints(main, inputs)
    assert gadget._fast_constraints(main, inputs) is not None  # the fast path did run
    return fast, slow


def assert_same(fast, slow, n):
    assert len(fast) == len(slow)
    for f, s in zip(fast, slow, strict=True):
        assert isinstance(f, GF) and f.shape == (n,)
        np.testing.assert_array_equal(np.asarray(f, np.uint64), np.asarray(s, np.uint64))


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_kernel_equals_expressions_on_random_cells(monkeypatch, layout, parallel):
    if parallel:
        monkeypatch.setattr(p2, "PARALLEL_MIN_ELEMENTS", 1)
    rng = np.random.default_rng(LAYOUTS.index(layout))
    g, n = gadget_of(*layout), 1000  # not a multiple of the kernel's block
    main = GF(rng.integers(0, P, (OFFSET + g.num_columns + 2, n)))
    inputs = None if layout[2] else random_inputs(rng, g.width, n)
    fast, slow = both_paths(monkeypatch, g, main, inputs)
    assert len(fast) == g.num_constraints
    assert_same(fast, slow, n)
    assert np.all(np.stack([np.asarray(v) for v in slow]) != 0)  # every constraint is exercised


@pytest.mark.parametrize("layout", LAYOUTS)
def test_kernel_is_zero_on_filled_witnesses(monkeypatch, layout):
    rng = np.random.default_rng(5)
    g, n = gadget_of(*layout), 64
    trace = np.zeros((OFFSET + g.num_columns + 2, n), dtype=np.uint64)
    inputs = None
    if layout[2]:
        g.fill(trace, rng.integers(0, P, (n, g.width)).astype(np.uint64))
    else:
        inputs = random_inputs(rng, g.width, n)
        values = np.stack([np.broadcast_to(np.asarray(v, np.uint64), (n,)) for v in inputs], 1)
        g.fill(trace, values)
    fast, slow = both_paths(monkeypatch, g, reduced(trace), inputs)
    assert_same(fast, slow, n)
    assert not np.any(np.stack([np.asarray(v) for v in fast]))


def test_extension_and_single_row_frames_use_the_expressions():
    g = gadget_of(16, True, True, None)
    ext = ExtensionField(QUICK.extension_degree)
    row = ext.random((g.num_columns + OFFSET,), seed=1)
    assert g._fast_constraints(row, None) is None
    assert g._fast_constraints(GF(np.zeros(g.num_columns + OFFSET, dtype=np.uint32)), None) is None
    main = GF(np.zeros((g.num_columns + OFFSET, 4), dtype=np.uint32))
    assert g._fast_constraints(main, [row[0]] * 16) is None  # an extension input


def proofs_with_and_without(monkeypatch, air, trace) -> tuple[bytes, bytes]:
    fast = prove(air, trace, QUICK, seed=7).to_bytes()
    with monkeypatch.context() as m:
        m.setattr(p2, "FAST_CONSTRAINTS", False)
        slow = prove(air, trace, QUICK, seed=7).to_bytes()
    return fast, slow


def test_poseidon2_air_proofs_are_byte_identical(monkeypatch):
    n = 512
    inputs = np.random.default_rng(3).integers(0, P, (n, 24)).astype(np.uint64)
    trace, outputs = poseidon2_trace(inputs, sbox_registers=False)
    air = Poseidon2Air(n, 24, {0: outputs[0][:8].tolist()}, sbox_registers=False)
    fast, slow = proofs_with_and_without(monkeypatch, air, trace)
    assert fast == slow


@pytest.mark.parametrize("regs", [False, True])
def test_solvency_with_leaves_proofs_are_byte_identical(monkeypatch, regs):
    users = 40  # padded to n = 512
    balances = np.random.default_rng(1).integers(0, 10**10, size=(users, 3))
    ids = [f"user-{i}" for i in range(users)]
    idc = id_commitments(ids, new_nonces(users, ProverRandomness(1)))
    statement, trace, leaves = build_witness_with_leaves(
        MARKET, balances, idc, rng=ProverRandomness(2), sbox_registers=regs
    )
    air = SolvencyAir(statement, leaves, sbox_registers=regs)
    assert air.trace_len == 512
    fast, slow = proofs_with_and_without(monkeypatch, air, trace)
    assert fast == slow
