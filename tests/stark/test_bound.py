"""stark.bound: the prover's bound has its parts."""

import pytest

from stark.bound import prover_bound
from stark.examples import WideAir
from stark.params import PRESETS


@pytest.mark.parametrize("preset", ["fast", "proven"])
def test_the_bound_has_its_parts(preset):
    bound = prover_bound(WideAir(256, 8).shape(), PRESETS[preset])
    assert bound["lde_s"] > 0 and bound["hash_s"] > 0
    assert bound["bound_s"] == bound["lde_s"] + bound["hash_s"]
