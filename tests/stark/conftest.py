"""Shared fixtures: small parameter sets that keep the suite fast (low grinding)."""

from dataclasses import replace

import pytest

from stark.params import PRESETS, StarkParams


@pytest.fixture(scope="session")
def quick_params() -> StarkParams:
    """fast-like, with FRI layers even for small traces and cheap grinding."""
    return replace(
        PRESETS["fast"],
        grinding_bits=4,
        aux_grinding_bits=2,
        folding_factor=4,
        remainder_max_len=16,
    )
