"""Each named preset reaches its claim for the solvency AIR at every supported size: 2^9 to
2^17 padded users and 1 to 200 assets, every round counted (the LogUp range check included)
at the degree bound FRI enforces."""

import pytest

from circuits.solvency import MAX_ASSETS, MAX_TRACE_LEN, MIN_TRACE_LEN, SolvencyAir, Statement
from stark.params import DEFAULT_PRESET, PRESETS
from stark.security import estimate_security

ASSET_COUNTS = (1, 2, 22, 64, MAX_ASSETS)
TRACE_LENS = [1 << e for e in range(MIN_TRACE_LEN.bit_length() - 1, MAX_TRACE_LEN.bit_length())]


def solvency_shape(n: int, assets: int):
    statement = Statement(
        quote="USD",
        scale=2,
        symbols=tuple(f"A{j}" for j in range(assets)),
        decimals=(8,) * assets,
        prices=tuple((1 << 89) - j for j in range(assets)),  # the widest prices allowed
        totals=(0,) * assets,
        trace_len=n,
    )
    return SolvencyAir(statement).shape()


SHAPES = [(n, a, solvency_shape(n, a)) for n in TRACE_LENS for a in ASSET_COUNTS]


def test_the_default_is_the_provable_preset():
    assert DEFAULT_PRESET == "proven"


@pytest.mark.parametrize("preset, regime", [("proven", "provable"), ("fast", "conjectured")])
def test_presets_reach_their_claim_at_every_size(preset, regime):
    weakest = min(
        (getattr(estimate_security(PRESETS[preset], shape), f"{regime}_bits"), n, a)
        for n, a, shape in SHAPES
    )
    assert weakest[0] >= 100, f"{preset}: {weakest[0]:.2f} {regime} bits at n={weakest[1]}"


def test_the_lookup_round_is_counted():
    """The LogUp term is in the report, and it is what limits k = 4 at the largest sizes
    without the grinding before its challenge (the control)."""
    from dataclasses import replace

    shape = solvency_shape(MAX_TRACE_LEN, MAX_ASSETS)
    assert shape.num_lookup_fractions > MAX_TRACE_LEN * MAX_ASSETS * 7
    fast = PRESETS["fast"]
    without = estimate_security(replace(fast, aux_grinding_bits=0), shape)
    assert without.terms["logup"] < 100 and without.conjectured_bits < 100
    with_grinding = estimate_security(fast, shape)
    assert with_grinding.terms["logup"] == pytest.approx(
        without.terms["logup"] + fast.aux_grinding_bits
    )
