"""The batch AIR's arithmetic constraints evaluated on columns by the compiled polynomials
(SolvencyAir._arithmetic_values) equal the constraint code run on the same columns."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.solvency import SolvencyAir, build_hidden_witness, build_witness
from stark.air import Frame
from stark.field import HAVE_NUMBA, P, reduced
from tests.circuits.test_gross import market, users

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled path needs numba")


def _airs() -> list[SolvencyAir]:
    b = users((10**8, -(10**9)), (0, 5 * 10**11))
    tabled, _ = build_witness(market(), b)
    flat, _ = build_witness(market(None), b, gross=False)
    hidden, _, _, opening = build_hidden_witness(market(), b)
    return [
        SolvencyAir(tabled),
        SolvencyAir(flat),
        SolvencyAir(hidden, totals_commitment=opening.commitment),
    ]


@pytest.mark.parametrize("index", range(3))
def test_compiled_arithmetic_equals_the_code(index):
    air = _airs()[index]
    rng = np.random.default_rng(index)
    n = 700
    columns = [reduced(rng.integers(0, P, (air.main_width, n), dtype=np.uint32)) for _ in range(2)]
    periodic = [reduced(rng.integers(0, P, n, dtype=np.uint32)) for _ in air.periodic_columns()]
    frame = Frame(main=columns[0], main_next=columns[1], periodic=periodic)
    k = air.statement.num_assets
    compiled = air._arithmetic_values(frame)
    direct = air._arithmetic(columns[0], columns[1], periodic[1 : 1 + k])
    assert len(compiled) == len(direct)
    for got, want in zip(compiled, direct, strict=True):
        assert np.array_equal(np.asarray(got), np.broadcast_to(np.asarray(want), (n,)))
