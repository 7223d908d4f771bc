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

from stark.params import AirShape, Domains, StarkParams
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
    # DEEP at the trace bound FRI enforces, D + 1 = 2^18 + 1 (a DEEP quotient of degree < D):
    #   3 (2^18 + 1 + 2 - 1) + 2^18 = 2^20 + 6 -> 123.627562 - 20.000008 = 103.627554
    assert r.terms["deep"] == pytest.approx(103.627554, abs=TOL)
    # FRI batching: B = 2 * 64 + 4 * 2 = 136 polynomials -> (B - 1) N = 135 * 2^21
    #   -> 123.627562 - 7.076816 - 21 = 95.550746
    # FRI folding, worst layer (N): (8 - 1) * 2^21 -> 123.627562 - 2.807355 - 21 = 99.820207
    assert r.terms["fri_batching"] == pytest.approx(95.550746, abs=TOL)
    assert r.terms["fri_folding"] == pytest.approx(99.820207, abs=TOL)
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
    # ALI: 154.534453 - 6 = 148.534453; DEEP: 154.534453 - 20.000008 = 134.534445
    assert r.terms["ali"] == pytest.approx(148.534453, abs=TOL)
    assert r.terms["deep"] == pytest.approx(134.534445, abs=TOL)
    # FRI batching: B = 2 * 64 + 5 * 2 = 138 -> 137 * 2^21 -> 154.534453 - 7.098032 - 21
    #   = 126.436421 (folding: 154.534453 - 2.807355 - 21 = 130.727098 is larger)
    assert r.terms["fri_batching"] == pytest.approx(126.436421, abs=TOL)
    assert r.terms["fri_folding"] == pytest.approx(130.727098, abs=TOL)
    # queries: 97 * 0.830075 + 20 = 80.517275 + 20 = 100.517275
    assert r.terms["fri_query"] == pytest.approx(100.517275, abs=TOL)
    assert r.provable_bits == pytest.approx(100.517275, abs=TOL)


def test_small_zk_aux_known_values() -> None:
    # Zero knowledge: at least 2 k + 2 q = 108 mask coefficients, D >= 16 + 108 = 124; FRI
    # (f = 2, remainder <= 4) folds L = 5 times to ceil(124 / 32) = 4 coefficients, so D is
    # padded to 4 * 2^5 = 128 (h = 112) and FRI enforces exactly the committed degree.
    # d = 2: Q = max(2 * 127 + 2 - 16, 127) = 240 -> S = 15 segments, E = 256.
    # N = 4 * max(16, next_pow2(ceil(15 * 128 / 16) = 120)) = 512; rate 128 / 512 = 1/4.
    # FRI layers 512, 256, 128, 64, 32; the remainder (4 coefficients) is checked on 16 points.
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
    dom = Domains.of(params, shape)
    assert (dom.hiding, dom.trace_degree_bound, dom.num_quotient_segments) == (112, 128, 15)
    assert dom.fri_layer_sizes == (512, 256, 128, 64, 32)
    assert (dom.remainder_len, dom.remainder_domain_size) == (4, 16)
    r = estimate_security(params, shape)
    # conjectured = min(123.627562 - 9, 50 * log2(4) + 0) - 1 = 99 (ALI, DEEP are higher)
    assert r.conjectured_bits == pytest.approx(99.0, abs=TOL)
    # ALI: C = 3 -> 123.627562 - 1.584963 = 122.042599
    assert r.terms["ali"] == pytest.approx(122.042599, abs=TOL)
    # DEEP at D + 1 = 129: 2 * (129 + 1) + 128 = 388 -> 123.627562 - 8.599913 = 115.027649
    assert r.terms["deep"] == pytest.approx(115.027649, abs=TOL)
    # FRI batching: B = 2 * (2 + 4 * 1) + 4 * 15 + 1 (zk) = 73 -> 72 * 512 = 36864
    #   -> 123.627562 - 15.169925 = 108.457637; folding: (2 - 1) * 512 -> 114.627562
    assert r.terms["fri_batching"] == pytest.approx(108.457637, abs=TOL)
    assert r.terms["fri_folding"] == pytest.approx(114.627562, abs=TOL)
    # queries: 50 * -log2((1 + 1/4) / 2) = 50 * 0.678072 = 33.903595
    assert r.terms["fri_query"] == pytest.approx(33.903595, abs=TOL)
    assert r.provable_bits == pytest.approx(33.903595, abs=TOL)


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
    # ALI 154.534453; DEEP: 1 * 18 + 16 = 34 -> 149.447991;
    # batching: B = 2 + 5 = 7 -> 6 * 256 -> 154.534453 - 2.584963 - 8 = 143.949490;
    # folding: 3 * 256 -> 154.534453 - 1.584963 - 8 = 144.949490;
    # queries: 160 * 0.912537 = 146.005945. Every term is above 128, so the hash caps it.
    assert r.terms["fri_batching"] == pytest.approx(143.949490, abs=TOL)
    assert r.terms["fri_query"] == pytest.approx(146.005945, abs=TOL)
    assert min(r.terms.values()) > 128
    assert r.provable_bits == 128.0


def test_no_fri_layers_when_trace_fits_remainder() -> None:
    # trace_len 16 <= remainder_max_len 64: no folding rounds, only the batching term remains.
    shape = AirShape(name="tiny", trace_len=16, main_width=1, num_transition_constraints=1)
    params = StarkParams(extension_degree=4, blowup=4, remainder_max_len=64, zk=False)
    r = estimate_security(params, shape)
    # B = 2 + 4 = 6 -> 5 * 64 -> 123.627562 - log2 320 (= 8.321928) = 115.305634
    assert r.terms["fri_batching"] == pytest.approx(115.305634, abs=TOL)
    assert r.terms["fri_folding"] == float("inf")


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
        for name in ("ali", "deep", "fri_batching", "fri_folding"):
            assert r5.terms[name] - r4.terms[name] == pytest.approx(30.9, abs=0.1)
        assert r5.terms["fri_query"] == r4.terms["fri_query"]
        others = [v for name, v in r4.terms.items() if name != "fri_query"]
        if r4.terms["fri_query"] < min(others):
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


# The solvency AIR at 2^16 users x 22 assets (416 main and 78 extension columns, degree 4, 474
# constraints, 229 looked-up values per row and a 512-entry table), as given to
# ethereum/soundcalc in its unique-decoding regime: (k = 4, fast's 28 queries) and (k = 5,
# 97 queries), blowup 8, folding 8, 20 grinding bits. soundcalc's figures, per round:
SOUNDCALC_SOLVENCY_2_16 = {
    4: {"ali": 114, "deep": 105, "fri_batching": 95, "fri_query": 43, "logup": 99.8},
    5: {"ali": 145, "deep": 136, "fri_batching": 126, "fri_query": 100, "logup": 130.7},
}


@pytest.mark.parametrize("k", [4, 5])
def test_terms_agree_with_soundcalc_within_2_bits(k) -> None:
    """Our round-by-round terms are pinned to an independent calculator's (2 bits of slack:
    it counts batched columns and the DEEP numerator slightly differently)."""
    shape = AirShape(
        name="solvency-2^16x22",
        trace_len=1 << 16,
        main_width=416,
        aux_width=78,
        num_aux_challenges=1,
        num_transition_constraints=474 - 177,
        num_boundary_constraints=177,
        max_constraint_degree=4,
        num_lookup_fractions=229 * (1 << 16) + 512,
    )
    params = StarkParams(
        extension_degree=k,
        blowup=8,
        num_queries=28 if k == 4 else 97,
        grinding_bits=20,
        folding_factor=8,
        zk=False,  # soundcalc's rate is exactly 1 / blowup
    )
    terms = estimate_security(params, shape).terms
    for name, expected in SOUNDCALC_SOLVENCY_2_16[k].items():
        assert terms[name] == pytest.approx(expected, abs=2.0), name


def test_logup_term_and_its_grinding() -> None:
    """The lookup round is log2|F| - log2(fractions) + aux grinding, and it is in both regimes'
    minimum: with enough fractions it is the weakest round."""
    base = dict(
        name="lookups",
        trace_len=1 << 10,
        main_width=2,
        aux_width=1,
        num_aux_challenges=1,
        num_transition_constraints=1,
    )
    params = StarkParams(extension_degree=4, blowup=8, num_queries=28, grinding_bits=20)
    few = estimate_security(params, AirShape(**base, num_lookup_fractions=2048))
    assert few.terms["logup"] == pytest.approx(123.627562 - 11, abs=TOL)
    many = AirShape(**base, num_lookup_fractions=1 << 30)
    r = estimate_security(params, many)
    assert r.terms["logup"] == pytest.approx(93.627562, abs=TOL)
    assert r.conjectured_bits == pytest.approx(93.627562, abs=TOL)
    ground = estimate_security(replace(params, aux_grinding_bits=8), many)
    assert ground.terms["logup"] == pytest.approx(101.627562, abs=TOL)
    assert ground.conjectured_bits > 100
    with pytest.raises(ValueError, match="auxiliary"):
        AirShape(name="x", trace_len=16, main_width=1, num_lookup_fractions=5)


def test_summary() -> None:
    r = SecurityReport(conjectured_bits=101.0, provable_bits=63.24, terms={})
    assert r.summary() == (
        "conjectured 101.0 bits (ethSTARK conjecture), provable 63.2 bits (unique decoding)"
    )
