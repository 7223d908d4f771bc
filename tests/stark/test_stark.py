"""End-to-end completeness and soundness of the prover and verifier."""

import time
from dataclasses import replace

import numpy as np
import pytest

from stark.examples import (
    FibonacciAir,
    MimcAir,
    RangeCheckAir,
    WideAir,
    fibonacci_trace,
    mimc_trace,
    range_check_trace,
    wide_trace,
)
from stark.field import GF, P
from stark.params import PRESETS, Domains
from stark.proof import VerificationError
from stark.prover import ProverError, prove
from stark.verifier import verify


def fibonacci(n):
    trace, result = fibonacci_trace(n)
    return FibonacciAir(n, result), trace


def mimc(n):
    trace, out = mimc_trace(n, seed=12345)
    return MimcAir(n, 12345, out), trace


def range_check(n, bits=3):
    values = np.random.default_rng(n).integers(0, 1 << bits, n)
    return RangeCheckAir(n, bits), range_check_trace(values, bits)


def wide(n, width=6):
    return WideAir(n, width), wide_trace(n, width)


CASES = {"fibonacci": fibonacci, "mimc": mimc, "range-check": range_check, "wide": wide}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("n", [8, 64, 1024])
def test_completeness(name, n, quick_params):
    """Honest proofs verify, from bytes, for every example AIR and several sizes."""
    air, trace = CASES[name](n)
    proof = prove(air, trace, quick_params)
    verify(air, proof.to_bytes(), min_bits=0)


@pytest.mark.parametrize("name", ["fibonacci", "range-check"])
def test_completeness_at_2_16_rows(name, quick_params):
    air, trace = CASES[name](1 << 16) if name == "fibonacci" else range_check(1 << 16, bits=8)
    verify(air, prove(air, trace, quick_params).to_bytes(), min_bits=0)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("name", ["mimc", "range-check"])
def test_completeness_with_presets(preset, name):
    """The real presets (full grinding, k = 4 and k = 5)."""
    air, trace = CASES[name](256)
    verify(air, prove(air, trace, PRESETS[preset]).to_bytes(), min_bits=0)


@pytest.mark.parametrize("folding", [2, 4, 8])
@pytest.mark.parametrize("remainder", ["folding", 256])
def test_completeness_fri_shapes(folding, remainder, quick_params):
    """Every folding factor, with the most FRI layers (the smallest remainder) and the fewest."""
    params = replace(
        quick_params,
        folding_factor=folding,
        remainder_max_len=folding if remainder == "folding" else remainder,
    )
    air, trace = mimc(512)
    verify(air, prove(air, trace, params).to_bytes(), min_bits=0)


def test_seeded_proofs_are_reproducible(quick_params):
    """With a seed the masks, and so the proof, are reproducible; without one they are fresh."""
    air, trace = fibonacci(32)
    first = prove(air, trace, quick_params, seed=7).to_bytes()
    assert first == prove(air, trace, quick_params, seed=7).to_bytes()
    assert first != prove(air, trace, quick_params, seed=8).to_bytes()
    assert prove(air, trace, quick_params).to_bytes() != prove(air, trace, quick_params).to_bytes()
    plain = replace(quick_params, zk=False)
    assert prove(air, trace, plain).to_bytes() == prove(air, trace, plain).to_bytes()


def test_phase_timings_are_reported(quick_params):
    air, trace = fibonacci(32)
    timings, phases = {}, []
    prove(air, trace, quick_params, timings=timings, on_phase=lambda *a: phases.append(a))
    assert [name for name, _, _ in phases] == list(timings) and min(timings.values()) >= 0
    assert [(step, total) for _, step, total in phases] == [(i + 1, 7) for i in range(7)]
    assert phases[0][0] == "main trace LDE" and phases[-1][0] == "queries"


def test_the_phases_account_for_the_whole_prove_call():
    """Every part of prove() belongs to a phase: the auxiliary trace too.
    (An accounting check, not a speed one: the gaps between phases are a few Python
    statements, far below a tenth of a proof of this size.)"""
    air = RangeCheckAir(1 << 13, 8)
    trace = range_check_trace(np.arange(1 << 13) % 256, 8)
    timings = {}
    start = time.perf_counter()
    prove(air, trace, PRESETS["proven"], timings=timings)
    wall = time.perf_counter() - start
    assert "auxiliary trace" in timings
    assert sum(timings.values()) >= 0.9 * wall, (timings, wall)


# -- soundness ------------------------------------------------------------------------------------
def broken(trace: GF, column: int, row: int) -> GF:
    bad = trace.copy()
    bad[column, row] = (int(bad[column, row]) + 1) % P
    return bad


@pytest.mark.parametrize("row", [0, 17, 62, 63])
def test_trace_breaking_one_constraint_is_rejected(row, quick_params):
    """A trace wrong at one cell (so one transition or boundary fails there) is refused by the
    prover's self-check and, forced through with the check off, rejected by the verifier."""
    air, trace = fibonacci(64)
    bad = broken(trace, 0, row)
    with pytest.raises(ProverError):
        prove(air, bad, quick_params)
    proof = prove(air, bad, quick_params, check=False)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), min_bits=0)


def test_periodic_constraint_violation_is_rejected(quick_params):
    air, trace = mimc(128)
    proof = prove(air, broken(trace, 0, 40), quick_params, check=False)
    with pytest.raises(VerificationError):
        verify(air, proof, min_bits=0)


def test_value_outside_lookup_table_is_rejected(quick_params):
    """A value outside [0, 2^bits) breaks the LogUp sum (the wrap-around transition)."""
    air, trace = range_check(64, bits=3)
    bad = trace.copy()
    bad[0, 5] = 8  # one past the table
    with pytest.raises(ProverError):
        prove(air, bad, quick_params)
    with pytest.raises(VerificationError):
        verify(air, prove(air, bad, quick_params, check=False), min_bits=0)


def test_value_p_minus_one_is_rejected(quick_params):
    air, trace = range_check(64, bits=3)
    bad = trace.copy()
    bad[0, 9] = P - 1
    with pytest.raises(VerificationError):
        verify(air, prove(air, bad, quick_params, check=False), min_bits=0)


def test_wrong_public_input_is_rejected(quick_params):
    air, trace = fibonacci(64)
    proof = prove(air, trace, quick_params).to_bytes()
    with pytest.raises(VerificationError):
        verify(FibonacciAir(64, air.result + 1), proof, min_bits=0)


def test_false_public_output_cannot_be_proved(quick_params):
    """A prover claiming a wrong result (boundary constraint) is rejected."""
    _, trace = fibonacci(64)
    _, result = fibonacci_trace(64)
    lying = FibonacciAir(64, result + 1)
    with pytest.raises(VerificationError):
        verify(lying, prove(lying, trace, quick_params, check=False), min_bits=0)


def test_proof_for_other_air_is_rejected(quick_params):
    air, trace = mimc(64)
    proof = prove(air, trace, quick_params)
    with pytest.raises(VerificationError):
        verify(MimcAir(64, 12346, air.output), proof, min_bits=0)
    with pytest.raises(VerificationError):
        verify(FibonacciAir(64, 1), proof, min_bits=0)


def test_minimum_security_is_enforced_first(quick_params):
    """A proof below the verifier's minimum is refused on its parameters alone, even when
    the rest of it is garbage."""
    air, trace = fibonacci(32)
    weak = replace(quick_params, num_queries=2, grinding_bits=0)
    proof = prove(air, trace, weak)
    with pytest.raises(VerificationError, match="below the required"):
        verify(air, proof, min_bits=80, regime="conjectured")
    with pytest.raises(VerificationError, match="below the required"):
        verify(air, replace(proof, quotient_root=bytes(32)), min_bits=80, regime="conjectured")
    verify(air, proof, min_bits=4, regime="conjectured")  # 2 x 3 bits - 1 = 5 conjectured bits
    strong = prove(air, trace, PRESETS["proven"])
    verify(air, strong, min_bits=100, regime="provable")
    with pytest.raises(VerificationError, match="provable"):
        verify(air, prove(air, trace, PRESETS["fast"]), min_bits=100, regime="provable")


def test_lde_domain_is_sized_for_constraint_degree(quick_params):
    """The documented domain arithmetic, without and with the zero-knowledge masks."""
    air, _ = mimc(1024)
    params = replace(quick_params, remainder_max_len=64)
    plain = Domains.of(replace(params, zk=False), air.shape())
    assert (plain.trace_degree_bound, plain.eval_size, plain.num_quotient_segments) == (
        1024,
        2048,
        2,
    )
    assert plain.lde_size == params.blowup * 1024
    hidden = Domains.of(params, air.shape())
    # 2 k + 2 q = 8 + 56 = 64 mask coefficients; 1088 = 17 * 4^3 is already a FRI degree bound
    assert hidden.hiding == 64 and hidden.trace_degree_bound == 1088
    assert (hidden.remainder_len, len(hidden.fri_layer_sizes)) == (17, 3)
    # d = 3: quotient degree < 3 (D - 1) + 2 - n = 2n + 3h - 1 -> 3 segments, E = 4n
    assert hidden.quotient_len == 2 * 1024 + 3 * 64 - 1
    assert (hidden.eval_size, hidden.num_quotient_segments) == (4096, 3)
    assert hidden.lde_size == params.blowup * 1024


def test_small_traces_get_a_larger_domain_with_zero_knowledge(quick_params):
    """When the masks are large next to n, N grows so the rate stays about 1 / blowup."""
    air, _ = fibonacci(8)
    dom = Domains.of(quick_params, air.shape())
    assert dom.trace_degree_bound / dom.lde_size <= 16 / (15 * quick_params.blowup)


def test_composition_chunks_do_not_change_the_proof(quick_params, monkeypatch):
    """The constraints are evaluated chunk by chunk (memory); any chunk size, including one
    that splits a row from its next row, gives the same proof."""
    from stark import prover as prover_module

    air, trace = range_check(256, bits=4)
    whole = prove(air, trace, quick_params, seed=3).to_bytes()
    monkeypatch.setattr(prover_module, "COMPOSITION_CHUNK", 96)
    assert prove(air, trace, quick_params, seed=3).to_bytes() == whole


def test_next_rows_are_gathered_lazily_and_exactly():
    """The prover's next-row view returns, for any index, what indexing the fully gathered
    columns returns (base and extension columns; ints, negative ints, slices)."""
    from stark.field import ExtensionField
    from stark.protocol import base_to_ext_columns
    from stark.prover import _NextRows

    lde = GF.Random((12, 64), seed=4)
    positions = (np.arange(16) * 4 + 8) % 64
    full = GF(lde[:, positions])
    rows = _NextRows(lde, positions)
    for key in (0, 5, -1, np.int64(3)):
        assert np.array_equal(rows[key], full[key])
    assert np.array_equal(rows[2:7], full[2:7])
    ext = ExtensionField(4)
    ext_rows, ext_full = _NextRows(lde, positions, ext), base_to_ext_columns(full, ext)
    for key in (0, 2, -1):
        assert ext_rows[key] == ext_full[key]
    assert ext_rows[1:3] == ext_full[1:3]
