"""Zero knowledge, smoke tests: what a proof reveals of the witness at a glance.

Every test has a control without zero knowledge, so that each can be seen to fail when the
masks are missing. They are not evidence that the masks are large enough (they pass with a
one-coefficient mask); tests/stark/test_zk_attacks.py counts equations and runs the recovery
attack for that.
"""

from dataclasses import replace

import numpy as np
import pytest

from stark.air import Air, Frame, TransitionConstraint
from stark.examples import RangeCheckAir, range_check_trace
from stark.field import GF, P
from stark.merkle import salt_width
from stark.params import StarkParams
from stark.proof import Proof
from stark.prover import prove
from stark.verifier import verify

PARAMS = StarkParams(
    extension_degree=4,
    blowup=8,
    num_queries=8,
    grinding_bits=0,
    folding_factor=4,
    remainder_max_len=4,
)


class SecretConstantAir(Air):
    """One column that stays constant: its value is the whole (private) witness."""

    name = "secret-constant"
    main_width = 1

    def transition_constraints(self) -> list[TransitionConstraint]:
        return [TransitionConstraint(1)]

    def evaluate_transition(self, f: Frame) -> list:
        return [f.main_next[0] - f.main[0]]


SECRET = 0x6A09E667  # a distinctive 31-bit constant (below p)


def secret_proof(zk: bool) -> bytes:
    air = SecretConstantAir(16)
    trace = GF(np.full((1, 16), SECRET))
    proof = prove(air, trace, replace(PARAMS, zk=zk), seed=1)
    verify(air, proof, min_bits=0)
    return proof.to_bytes()


def test_secret_never_appears_in_the_proof():
    """The witness value occurs nowhere in the serialised proof, at any byte alignment; without
    zero knowledge it is right there in the opened rows (the control)."""
    needle = SECRET.to_bytes(4, "little")
    assert needle not in secret_proof(zk=True)
    assert needle in secret_proof(zk=False)


def opened_values(proof: Proof, main_width: int) -> tuple[np.ndarray, np.ndarray]:
    """The main trace's values at z (all k coordinates) and its opened rows (salts removed)."""
    at_z = np.asarray(proof.ood_trace_z[:main_width]).reshape(-1)
    salt = salt_width(proof.params.zk)
    rows = np.asarray(proof.main_opening.rows[:, salt : salt + main_width]).reshape(-1)
    return at_z.astype(np.int64), rows.astype(np.int64)


def test_two_proofs_of_one_witness_differ_in_every_opened_value():
    air = RangeCheckAir(16, 3)
    trace = range_check_trace(np.arange(16) % 8, 3)
    one = prove(air, trace, PARAMS, seed=1)
    two = prove(air, trace, PARAMS, seed=2)
    for a, b in zip(opened_values(one, 2), opened_values(two, 2), strict=True):
        assert not np.any(a == b)
    assert not np.any(one.ood_trace_gz == two.ood_trace_gz)
    assert not np.any(one.ood_quotient_z == two.ood_quotient_z)


# -- statistics -----------------------------------------------------------------------------------
RUNS = 150


def ks_uniform(values: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic of values/p against the uniform distribution on [0, 1)."""
    u = np.sort(values / P)
    n = len(u)
    upper = np.arange(1, n + 1) / n - u
    lower = u - np.arange(n) / n
    return float(max(upper.max(), lower.max()))


def ks_two_sample(a: np.ndarray, b: np.ndarray) -> float:
    grid = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    fb = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def ks_critical(n: int, m: int | None = None) -> float:
    """The KS critical value at significance 10^-4 (c(alpha) = sqrt(-ln(alpha / 2) / 2))."""
    c = np.sqrt(-np.log(1e-4 / 2) / 2)
    return c * (np.sqrt(1 / n) if m is None else np.sqrt((n + m) / (n * m)))


def bit_frequencies_ok(values: np.ndarray) -> bool:
    """Each of the 30 low bits is set in about half of the values (binomial, 5 sigma)."""
    n = len(values)
    for bit in range(30):
        ones = int(np.sum((values >> bit) & 1))
        if abs(ones - n / 2) > 5 * np.sqrt(n / 4):
            return False
    return True


def sample(witness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values at z and opened values of RUNS proofs of one witness (seeds fixed: the test is
    deterministic)."""
    air = RangeCheckAir(16, 3)
    trace = range_check_trace(witness, 3)
    zs, rows = [], []
    for run in range(RUNS):
        at_z, opened = opened_values(prove(air, trace, PARAMS, seed=1000 + run), 2)
        zs.append(at_z)
        rows.append(opened)
    return np.concatenate(zs), np.concatenate(rows)


@pytest.fixture(scope="module")
def samples():
    zeros = np.zeros(16, dtype=np.int64)
    mixed = (np.arange(16) * 5 + 1) % 8
    return {"zeros": sample(zeros), "mixed": sample(mixed)}


@pytest.mark.parametrize("which", [0, 1], ids=["values at z", "opened rows"])
def test_revealed_values_are_uniform_and_witness_independent(samples, which):
    """Two witnesses with the same public inputs (an all-zero column and a mixed one): what
    the verifier sees is uniform on F_p and the two are indistinguishable (KS tests at 10^-4,
    bit frequencies within 5 sigma)."""
    a, b = samples["zeros"][which], samples["mixed"][which]
    for values in (a, b):
        assert ks_uniform(values) < ks_critical(len(values))
        assert bit_frequencies_ok(values)
    assert ks_two_sample(a, b) < ks_critical(len(a), len(b))


def test_statistics_detect_an_unmasked_witness():
    """The control: without zero knowledge the all-zero column's LDE is zero, so its values at
    z and its opened values are all zero, and the KS test rejects them."""
    air = RangeCheckAir(16, 3)
    trace = range_check_trace(np.zeros(16, dtype=np.int64), 3)
    at_z, rows = opened_values(prove(air, trace, replace(PARAMS, zk=False)), 1)
    assert not np.any(at_z)  # the column's polynomial is revealed to be zero at z
    assert ks_uniform(rows) > ks_critical(len(rows))
