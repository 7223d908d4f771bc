"""Shared fixtures: small parameter sets that keep the suite fast (low grinding)."""

import pytest

from stark.params import StarkParams
from tests.quick import QUICK


@pytest.fixture(scope="session")
def quick_params() -> StarkParams:
    """fast-like, with FRI layers even for small traces and cheap grinding."""
    return QUICK
