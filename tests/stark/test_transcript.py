"""Fiat-Shamir transcript: determinism, binding to everything absorbed, ranges, grinding."""

import numpy as np
import pytest

from stark.field import ExtensionField, P
from stark.transcript import Transcript


def test_same_inputs_same_challenges():
    a, b = Transcript(b"t"), Transcript(b"t")
    for t in (a, b):
        t.absorb("x", b"hello")
    assert a.challenge_ext(ExtensionField(4), 3) == b.challenge_ext(ExtensionField(4), 3)


@pytest.mark.parametrize("change", ["tag", "label", "data", "split"])
def test_challenges_depend_on_everything_absorbed(change):
    base = Transcript(b"t")
    base.absorb("x", b"hello")
    other = Transcript(b"u" if change == "tag" else b"t")
    if change == "label":
        other.absorb("y", b"hello")
    elif change == "data":
        other.absorb("x", b"hellp")
    elif change == "split":  # length prefixes: ("x", "hel") + ("", "lo") differs
        other.absorb("x", b"hel")
        other.absorb("", b"lo")
    else:
        other.absorb("x", b"hello")
    assert not np.array_equal(base.challenge_field(4), other.challenge_field(4))


def test_successive_challenges_differ():
    t = Transcript(b"t")
    assert not np.array_equal(t.challenge_field(4), t.challenge_field(4))


def test_field_challenges_are_canonical_and_spread():
    values = np.asarray(Transcript(b"t").challenge_field(4000), dtype=np.int64)
    assert values.max() < P and values.min() >= 0
    # 4000 uniform draws: each quarter of [0, p) holds about 1000 of them
    counts = np.bincount(values * 4 // P, minlength=4)
    assert all(800 < c < 1200 for c in counts)


def test_indices_in_range():
    idx = Transcript(b"t").challenge_indices(500, 64)
    assert all(0 <= i < 64 for i in idx) and len(set(idx)) > 32
    with pytest.raises(ValueError):
        Transcript(b"t").challenge_indices(1, 48)


@pytest.mark.parametrize("bits", [0, 1, 8, 12])
def test_grinding(bits):
    t = Transcript(b"t")
    nonce = t.grind(bits)
    assert t.check_pow(nonce, bits)
    if bits >= 8:  # the smallest valid nonce: every smaller one fails
        assert not any(t.check_pow(k, bits) for k in range(nonce))
