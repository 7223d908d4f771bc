"""Security estimates: hand-computed values for a few parameter sets, and monotonicity.

Constants used in the hand computations below (p = 15 * 2^27 + 1 = 2013265921):
    log2 p             = 30.906891   so log2|F| = 123.627562 (k = 4), 154.534453 (k = 5)
    -log2((1 + 1/2)/2)  = 0.415037   (bits per unique-decoding query at blowup 2)
    -log2((1 + 1/4)/2)  = 0.678072   (blowup 4)
    -log2((1 + 1/8)/2)  = 0.830075   (blowup 8)
    -log2((1 + 1/16)/2) = 0.912537   (blowup 16)
    log2 3 = 1.584963, log2 6 = 2.584963, log2 7 = 2.807355, log2 49 = 5.614710,
    log2 135 = 7.076816, log2 137 = 7.098032, log2(2^20 + 2) = 20.000003
The DEEP denominator |F| - n - N differs from |F| by far less than 1e-6 bits here.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from stark.params import AirShape, StarkParams
from stark.security import (
    HASH_COLLISION_BITS,
    SecurityReport,
    estimate_security,
    min_queries,
)

TOL = 1e-5

# trace_len 2^18, 64 main columns, 64 transition constraints of degree 3.
# Domains: degree bound n = 2^18, eval size 2n -> 2 quotient segments, LDE size N = 2^21 at
# blowup 8, FRI layers (f = 8, remainder <= 64) of sizes 2^21, 2^18, 2^15, 2^12.
WIDE = AirShape(
    name="wide",
    trace_len=1 << 18,
    main_width=64,
    num_transition_constraints=64,
    max_constraint_degree=3,
)


def test_fast_preset_known_values() -> None:
    params = StarkParams(
        extension_degree=4,
        blowup=8,
        num_queries=27,
        grinding_bits=20,
        folding_factor=8,
        remainder_max_len=64,
        zk=False,
    )
    r = estimate_security(params, WIDE)
    # conjectured = min(log2|F| - log2 N, q log2(blowup) + grinding) - 1
    #             = min(123.627562 - 21, 27 * 3 + 20) - 1 = min(102.627562, 101) - 1 = 100
    assert r.conjectured_bits == pytest.approx(100.0, abs=TOL)
    # ALI: 123.627562 - log2 64 = 117.627562
    assert r.terms["ali"] == pytest.approx(117.627562, abs=TOL)
    # DEEP: numerator 3 (2^18 + 2 - 1) + (2^18 - 1) = 2^20 + 2 -> 123.627562 - 20.000003
    assert r.terms["deep"] == pytest.approx(103.627559, abs=TOL)
    # FRI batching: B = 2 * 64 + 4 * 2 = 136 polynomials -> (B - 1) N = 135 * 2^21
    #   -> 123.627562 - 7.076816 - 21 = 95.550746
    # FRI folding, worst layer (N): (8 - 1) * 2^21 -> 123.627562 - 2.807355 - 21 = 99.820207
    assert r.terms["fri_commit"] == pytest.approx(95.550746, abs=TOL)
    # queries: 27 * 0.830075 + 20 = 22.412025 + 20 = 42.412025
    assert r.terms["fri_query"] == pytest.approx(42.412025, abs=TOL)
    assert r.provable_bits == pytest.approx(42.412025, abs=TOL)


def test_proven_preset_known_values() -> None:
    params = StarkParams(
        extension_degree=5,
        blowup=8,
        num_queries=97,
        grinding_bits=20,
        folding_factor=8,
        remainder_max_len=64,
        zk=False,
    )
    r = estimate_security(params, WIDE)
    # conjectured = min(154.534453 - 21, 97 * 3 + 20) - 1 = 132.534453, capped at 128
    assert r.conjectured_bits == pytest.approx(128.0)
    # ALI: 154.534453 - 6 = 148.534453; DEEP: 154.534453 - 20.000003 = 134.534450
    assert r.terms["ali"] == pytest.approx(148.534453, abs=TOL)
    assert r.terms["deep"] == pytest.approx(134.534450, abs=TOL)
    # FRI batching: B = 2 * 64 + 5 * 2 = 138 -> 137 * 2^21 -> 154.534453 - 7.098032 - 21
    #   = 126.436421 (folding: 154.534453 - 2.807355 - 21 = 130.727098 is larger)
    assert r.terms["fri_commit"] == pytest.approx(126.436421, abs=TOL)
    # queries: 97 * 0.830075 + 20 = 80.517275 + 20 = 100.517275
    assert r.terms["fri_query"] == pytest.approx(100.517275, abs=TOL)
    assert r.provable_bits == pytest.approx(100.517275, abs=TOL)


def test_small_zk_aux_known_values() -> None:
    # Zero knowledge: h = 2 q + 2 = 102 mask coefficients, D = 16 + 102 = 118.
    # d = 2: Q = max(2 * 117 + 2 - 16, 117) = 220 -> S = ceil(220 / 16) = 14 segments, E = 256.
    # N = 4 * max(16, next_pow2(ceil(15 * 118 / 16) = 111)) = 512; rate 118 / 512.
    # FRI with f = 2 from degree 118: 59, 30, 15, 8, 4 -> layers 512, 256, 128, 64, 32.
    shape = AirShape(
        name="small",
        trace_len=16,
        main_width=2,
        aux_width=1,
        num_aux_challenges=1,
        num_transition_constraints=2,
        num_boundary_constraints=1,
        max_constraint_degree=2,
    )
    params = StarkParams(
        extension_degree=4,
        blowup=4,
        num_queries=50,
        grinding_bits=0,
        folding_factor=2,
        remainder_max_len=4,
        zk=True,
    )
    r = estimate_security(params, shape)
    # conjectured = min(123.627562 - 9, 50 * log2(512 / 118) + 0) - 1
    #             = min(114.627562, 105.867848) - 1 = 104.867848
    assert r.conjectured_bits == pytest.approx(104.867848, abs=TOL)
    # ALI: C = 3 -> 123.627562 - 1.584963 = 122.042599
    assert r.terms["ali"] == pytest.approx(122.042599, abs=TOL)
    # DEEP: 2 * (118 + 1) + 117 = 355 -> 123.627562 - 8.471675 = 115.155887
    assert r.terms["deep"] == pytest.approx(115.155887, abs=TOL)
    # FRI batching: B = 2 * (2 + 4 * 1) + 4 * 14 + 1 (zk) = 69 -> 68 * 512 = 34816
    #   -> 123.627562 - 15.087463 = 108.540100; folding: (2 - 1) * 512 -> 114.63, larger
    assert r.terms["fri_commit"] == pytest.approx(108.540100, abs=TOL)
    # queries: 50 * -log2((1 + 118/512) / 2) = 50 * 0.700792 = 35.039599
    assert r.terms["fri_query"] == pytest.approx(35.039599, abs=TOL)
    assert r.provable_bits == pytest.approx(35.039599, abs=TOL)


def test_hash_cap() -> None:
    # n = 16, d = 1, k = 5, blowup 16 -> N = 256, f = 4 -> one committed layer (256).
    shape = AirShape(name="tiny", trace_len=16, main_width=1, num_transition_constraints=1)
    params = StarkParams(
        extension_degree=5,
        blowup=16,
        num_queries=160,
        grinding_bits=0,
        folding_factor=4,
        remainder_max_len=4,
        zk=False,
    )
    r = estimate_security(params, shape)
    # conjectured: min(154.534453 - 8, 160 * 4) - 1 = 145.534453 -> capped at 128
    assert r.conjectured_bits == HASH_COLLISION_BITS == 128.0
    # ALI 154.534453; DEEP: 1 * 17 + 15 = 32 -> 149.534453;
    # batching: B = 2 + 5 = 7 -> 6 * 256 -> 154.534453 - 2.584963 - 8 = 143.949490;
    # folding: 3 * 256 -> 154.534453 - 1.584963 - 8 = 144.949490;
    # queries: 160 * 0.912537 = 146.005945. Every term is above 128, so the hash caps it.
    assert r.terms["fri_commit"] == pytest.approx(143.949490, abs=TOL)
    assert r.terms["fri_query"] == pytest.approx(146.005945, abs=TOL)
    assert min(r.terms.values()) > 128
    assert r.provable_bits == 128.0


def test_no_fri_layers_when_trace_fits_remainder() -> None:
    # trace_len 16 <= remainder_max_len 64: no folding rounds, only the batching term remains.
    shape = AirShape(name="tiny", trace_len=16, main_width=1, num_transition_constraints=1)
    params = StarkParams(extension_degree=4, blowup=4, remainder_max_len=64, zk=False)
    r = estimate_security(params, shape)
    # B = 2 + 4 = 6 -> 5 * 64 -> 123.627562 - log2 320 (= 8.321928) = 115.305634
    assert r.terms["fri_commit"] == pytest.approx(115.305634, abs=TOL)


def test_more_queries_more_bits() -> None:
    base = StarkParams(extension_degree=5, blowup=8, grinding_bits=0, zk=False)
    reports = [estimate_security(replace(base, num_queries=q), WIDE) for q in range(10, 130, 10)]
    for a, b in itertools.pairwise(reports):
        assert b.provable_bits >= a.provable_bits
        assert b.conjectured_bits >= a.conjectured_bits
        assert b.terms["fri_query"] > a.terms["fri_query"]
    # below every cap both numbers strictly grow
    assert reports[1].provable_bits > reports[0].provable_bits
    assert reports[1].conjectured_bits > reports[0].conjectured_bits


def test_more_grinding_more_bits() -> None:
    base = StarkParams(extension_degree=4, blowup=8, num_queries=20, zk=False)
    bits = [
        estimate_security(replace(base, grinding_bits=g), WIDE).conjectured_bits
        for g in range(0, 33, 4)
    ]
    assert all(b > a for a, b in itertools.pairwise(bits))  # 60 + g < 102.6 throughout
    assert bits[1] - bits[0] == pytest.approx(4.0)


def test_larger_extension_more_provable_bits() -> None:
    for q in (10, 50, 97, 150, 256):
        params4 = StarkParams(
            extension_degree=4, blowup=8, num_queries=q, grinding_bits=20, zk=False
        )
        r4 = estimate_security(params4, WIDE)
        r5 = estimate_security(replace(params4, extension_degree=5), WIDE)
        assert r5.provable_bits >= r4.provable_bits
        # every field-dependent term gains about log2 p = 30.9 bits; the query term is unchanged
        for name in ("ali", "deep", "fri_commit"):
            assert r5.terms[name] - r4.terms[name] == pytest.approx(30.9, abs=0.1)
        assert r5.terms["fri_query"] == r4.terms["fri_query"]
        if r4.terms["fri_query"] < min(r4.terms["ali"], r4.terms["deep"], r4.terms["fri_commit"]):
            assert r5.provable_bits == r4.provable_bits  # the query term binds both
        else:
            assert r5.provable_bits > r4.provable_bits


def test_larger_blowup_more_bits_per_query() -> None:
    shape = AirShape(name="s", trace_len=1 << 10, main_width=4, num_transition_constraints=4)
    bits = [
        estimate_security(
            StarkParams(blowup=b, num_queries=20, grinding_bits=0, zk=False), shape
        ).terms["fri_query"]
        for b in (2, 4, 8, 16)
    ]
    # 20 * (0.415037, 0.678072, 0.830075, 0.912537)
    assert bits == pytest.approx([8.300750, 13.561438, 16.601500, 18.250743], abs=TOL)


def test_min_queries_presets() -> None:
    # fast (k = 4, target 100 conjectured): blowup 8 needs 3q + 20 >= 101 -> q = 27,
    # blowup 4 needs 2q + 20 >= 101 -> q = 41; with grinding 16: 29 and 43.
    fast = StarkParams(extension_degree=4, blowup=8, grinding_bits=20, zk=False)
    assert min_queries(100, fast, WIDE, provable=False) == 27
    assert min_queries(100, replace(fast, blowup=4), WIDE, provable=False) == 41
    assert min_queries(100, replace(fast, grinding_bits=16), WIDE, provable=False) == 29
    # proven (k = 5, target 100 provable): 0.830075 q >= 80 -> q >= 96.38 -> 97;
    # blowup 16: 0.912537 q >= 80 -> q >= 87.67 -> 88.
    proven = StarkParams(extension_degree=5, blowup=8, grinding_bits=20, zk=False)
    assert min_queries(100, proven, WIDE, provable=True) == 97
    assert min_queries(100, replace(proven, blowup=16), WIDE, provable=True) == 88
    # k = 4 can never reach 100 provable bits here: FRI batching caps it at 95.55
    assert min_queries(100, replace(proven, extension_degree=4), WIDE, provable=True) is None


def test_summary() -> None:
    r = SecurityReport(conjectured_bits=101.0, provable_bits=63.24, terms={})
    assert r.summary() == (
        "conjectured 101.0 bits (ethSTARK conjecture), provable 63.2 bits (unique decoding)"
    )
