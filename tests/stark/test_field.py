"""Field laws for F_p and its extensions, inverses, the irreducibility of x^k - W."""

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stark.field import (
    EXTENSION_NONRESIDUE,
    GF,
    TWO_ADICITY,
    ExtensionField,
    P,
    base_lincomb,
    lincomb,
    powers,
    root_of_unity,
)

felts = st.integers(0, P - 1)
DEGREES = sorted(EXTENSION_NONRESIDUE)


def ext_element(k):
    return st.lists(felts, min_size=k, max_size=k).map(lambda c: ExtensionField(k).array(c))


def test_modulus_shape():
    """p = 15 * 2^27 + 1 is prime and has a 2^27 two-adic subgroup."""
    assert P == 15 * 2**27 + 1 and galois.is_prime(P)
    assert (P - 1) % 2**TWO_ADICITY == 0


@pytest.mark.parametrize("log_n", [0, 1, 5, 20, TWO_ADICITY])
def test_root_of_unity_has_exact_order(log_n):
    """root_of_unity(k) has multiplicative order exactly 2^k."""
    w = root_of_unity(log_n)
    assert w ** (1 << log_n) == 1
    if log_n:
        assert w ** (1 << (log_n - 1)) != 1


def test_root_of_unity_rejects_too_large():
    with pytest.raises(ValueError):
        root_of_unity(TWO_ADICITY + 1)


def test_powers():
    assert [int(v) for v in powers(GF(3), 7)] == [pow(3, i, P) for i in range(7)]


@pytest.mark.parametrize("k", DEGREES)
def test_binomial_is_irreducible(k):
    """x^k - W is irreducible: galois's test, and the criterion for binomials (W is not an
    r-th power for any prime r | k, and for 4 | k, W is not in -4 F_p^4)."""
    w = EXTENSION_NONRESIDUE[k]
    poly = galois.Poly([1] + [0] * (k - 1) + [(-w) % P], field=GF)
    assert poly.is_irreducible()
    for r in galois.factors(k)[0]:
        assert pow(w, (P - 1) // r, P) != 1
    if k % 4 == 0:
        # -4 y^4 = W would make x^4 - W = (x^2 + 2yx + 2y^2)(x^2 - 2yx + 2y^2)
        assert pow(w * pow(-4, -1, P) % P, (P - 1) // 4, P) != 1


@pytest.mark.parametrize("k", DEGREES)
def test_nonresidue_is_smallest(k):
    """The documented choice: the smallest W > 1 making x^k - W irreducible."""
    for w in range(2, EXTENSION_NONRESIDUE[k]):
        poly = galois.Poly([1] + [0] * (k - 1) + [(-w) % P], field=GF)
        assert not poly.is_irreducible()


@pytest.mark.parametrize("k", DEGREES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_extension_field_laws(k, data):
    """Associativity, commutativity, distributivity, identities, inverses."""
    a, b, c = (data.draw(ext_element(k)) for _ in range(3))
    ext = ExtensionField(k)
    assert a + b == b + a and a * b == b * a
    assert (a + b) + c == a + (b + c) and (a * b) * c == a * (b * c)
    assert a * (b + c) == a * b + a * c
    assert a + ext.zeros() == a and a * ext.ones() == a
    assert a - a == ext.zeros()
    if not a.is_zero():
        assert a * a.inverse() == ext.ones()
        assert b / a * a == b


@pytest.mark.parametrize("k", DEGREES)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_frobenius_is_pth_power(k, data):
    """phi(a) = a^p and the norm lies in F_p (it equals a^((p^k - 1)/(p - 1)))."""
    a = data.draw(ext_element(k))
    assert a.frobenius(1) == a**P
    norm = a.norm()
    assert ExtensionField(k).from_base(norm) == a ** ((P**k - 1) // (P - 1))


@pytest.mark.parametrize("k", DEGREES)
def test_mixed_base_and_extension_arithmetic(k):
    """Base arrays, extension scalars and Python ints mix in any order with broadcasting."""
    ext = ExtensionField(k)
    rng = np.random.default_rng(1)
    a = ext.random((50,), seed=rng)
    x = GF.Random(50, seed=rng)
    s = ext.random(seed=rng)
    assert x + a == a + x and x - a == -(a - x) and x * a == a * x
    assert (s * x)[7] == s * x[7]
    assert (a + 3)[0] == a[0] + GF(3)
    assert (3 - a)[1] == GF(3) - a[1]
    assert (a / x) * x == a


def test_inverse_of_zero_raises():
    ext = ExtensionField(4)
    with pytest.raises(ZeroDivisionError):
        ext.zeros((3,)).inverse()


def test_vectorised_inverse_matches_scalar():
    ext = ExtensionField(5)
    a = ext.random((20,), seed=3)
    inv = a.inverse()
    for i in range(20):
        assert inv[i] == a[i] ** (P**5 - 2)


@pytest.mark.parametrize("m", [1, 63, 64, 65, 130])
def test_lincomb_matches_naive_sum(m):
    """The float64 matrix-product path is exact, including at and past 64-row blocks."""
    ext = ExtensionField(4)
    rng = np.random.default_rng(m)
    w = ext.random((m,), seed=rng)
    rows = GF.Random((m, 33), seed=rng)
    rows[0] = P - 1  # extreme values
    expected = ext.zeros((33,))
    for i in range(m):
        expected = expected + w[i] * rows[i]
    assert lincomb(w, rows) == expected


def test_base_lincomb_matches_naive_sum():
    rng = np.random.default_rng(3)
    coeffs = GF.Random(70, seed=rng)
    rows = GF.Random((70, 17), seed=rng)
    expected = GF.Zeros(17)
    for i in range(70):
        expected = expected + coeffs[i] * rows[i]
    assert np.array_equal(base_lincomb(coeffs, rows), expected)
