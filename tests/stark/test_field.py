"""Field laws for F_p and its extensions, inverses, the irreducibility of x^k - W."""

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stark import field
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


# -- serial and parallel kernels, small and large operand paths ----------------------------------
def reference_ext_mul(a, b, k, w):
    """Schoolbook product of two coordinate lists in F_p[x]/(x^k - W), in Python integers."""
    out = [0] * k
    for s in range(k):
        for t in range(k):
            term = a[s] * b[t] % P
            if s + t >= k:
                term = term * w % P
            out[(s + t) % k] = (out[(s + t) % k] + term) % P
    return out


@pytest.mark.parametrize("k", DEGREES)
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 300),
    broadcast=st.sampled_from(["none", "a", "b"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_ext_mul_serial_and_parallel_twins_agree(k, n, broadcast, seed):
    """Both ext-mul kernels give the same products (also with one side a broadcast scalar),
    and those are the schoolbook products."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, P, (k, 1 if broadcast == "a" else n), dtype=np.int64).astype(np.uint32)
    b = rng.integers(0, P, (k, 1 if broadcast == "b" else n), dtype=np.int64).astype(np.uint32)
    a[:, 0] = P - 1  # extreme values
    w = np.uint64(EXTENSION_NONRESIDUE[k])
    serial, parallel = np.empty((k, n), np.uint32), np.empty((k, n), np.uint32)
    field._ext_mul_serial(a, b, serial, w)
    field._ext_mul_parallel(a, b, parallel, w)
    assert np.array_equal(serial, parallel)
    for i in {0, n // 2, n - 1}:
        ia, ib = (0 if broadcast == "a" else i), (0 if broadcast == "b" else i)
        expected = reference_ext_mul(
            [int(v) for v in a[:, ia]], [int(v) for v in b[:, ib]], k, int(w)
        )
        assert [int(v) for v in serial[:, i]] == expected


@settings(max_examples=25, deadline=None)
@given(
    k=st.sampled_from([1, 4, 5]),
    m=st.integers(1, 70),
    width=st.sampled_from([1, 3, 2047, 2048, 2049, 5000]),
    seed=st.integers(0, 2**32 - 1),
)
def test_lincomb_serial_and_parallel_twins_agree(k, m, width, seed):
    """Both linear-combination kernels agree, across the 2048-column block boundary."""
    rng = np.random.default_rng(seed)
    w = rng.integers(0, P, (k, m), dtype=np.int64).astype(np.uint64)
    rows = rng.integers(0, P, (m, width), dtype=np.int64).astype(np.uint32)
    rows[0] = P - 1
    low, high = np.ascontiguousarray(w & 0xFFFF), np.ascontiguousarray(w >> 16)
    serial, parallel = np.empty((k, width), np.uint32), np.empty((k, width), np.uint32)
    field._lincomb_serial(low, high, rows, serial)
    field._lincomb_parallel(low, high, rows, parallel)
    assert np.array_equal(serial, parallel)
    col = width - 1
    expected = [sum(int(w[j, i]) * int(rows[i, col]) for i in range(m)) % P for j in range(k)]
    assert [int(v) for v in serial[:, col]] == expected


def test_lincomb_past_2_16_rows_serial_and_parallel():
    """The periodic reduction of the accumulators (every 2^16 rows) is the same in both."""
    rng = np.random.default_rng(9)
    m, width = (1 << 16) + 5, 3
    w = rng.integers(0, P, (2, m), dtype=np.int64).astype(np.uint64)
    w[:, :100] = P - 1
    rows = np.full((m, width), P - 1, dtype=np.uint32)
    low, high = np.ascontiguousarray(w & 0xFFFF), np.ascontiguousarray(w >> 16)
    serial, parallel = np.empty((2, width), np.uint32), np.empty((2, width), np.uint32)
    field._lincomb_serial(low, high, rows, serial)
    field._lincomb_parallel(low, high, rows, parallel)
    assert np.array_equal(serial, parallel)
    expected = [int(np.sum(w[j] % P * np.uint64(P - 1) % P) % P) for j in range(2)]
    assert [int(v) for v in serial[:, 0]] == expected


def ext_ops(a, b, x, s):
    """A fixed menu of operations mixing extension arrays a, b, base array x, scalar s."""
    return [
        a + b, a - b, -a, a * b, a * x, x * a, a + x, x - a, a - x, a + 3, 5 - a, a * 7,
        a * s, s + a, s * x, a / x, b / a, a.inverse(), a**5, a.frobenius(2),
        (a * b).reshape(-1).sum(), a.reshape(-1)[1:4] + s, a.reshape(-1)[:1] * b.reshape(-1)[-1],
    ]  # fmt: skip


@pytest.mark.parametrize("k", DEGREES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5)])
def test_small_and_large_operand_paths_agree(k, shape, monkeypatch):
    """numpy integer arithmetic (small operands) and galois's ufuncs (large operands) give the
    same values for every operation, with broadcasting; so do the serial and parallel kernels
    (forced with PARALLEL_MIN_ELEMENTS)."""
    ext = ExtensionField(k)
    rng = np.random.default_rng(len(shape) + k)
    a, b = ext.random(shape, seed=rng), ext.random(shape, seed=rng)
    x = GF.Random(shape, seed=rng) + GF(1) if shape else GF(17)
    x[x == 0] = 1
    s = ext.random(seed=rng)
    monkeypatch.setattr(field, "SMALL_OPS", 1 << 40)
    monkeypatch.setattr(field, "PARALLEL_MIN_ELEMENTS", 1 << 40)
    small = ext_ops(a, b, x, s)
    monkeypatch.setattr(field, "SMALL_OPS", 0)
    monkeypatch.setattr(field, "PARALLEL_MIN_ELEMENTS", 0)
    large = ext_ops(a, b, x, s)
    for i, (u, v) in enumerate(zip(small, large, strict=True)):
        assert u.shape == v.shape, i
        assert u == v, i
        assert isinstance(u.coords, GF) and isinstance(v.coords, GF)


def test_coords_view_shares_memory():
    """`coords` is a field array over the same memory: writes through either are seen."""
    ext = ExtensionField(4)
    a = ext.zeros((3,))
    view = a.coords
    assert isinstance(view, GF) and view is a.coords
    a[1] = ext.ones()
    assert int(view[0, 1]) == 1
    view[2, 2] = 9
    assert a[2] == ext.generator_power(2) * 9
    b = a * 2  # a computed result gets its view on first use
    assert isinstance(b.coords, GF) and np.array_equal(b.coords, view * GF(2))


def test_small_arrays_never_use_the_thread_pool(monkeypatch, quick_params):
    """Proving, then verifying with the parallel kernels removed: the verifier of AIRs with
    periodic columns and a LogUp segment runs entirely on the serial twins."""
    from stark import ntt
    from stark.examples import MimcAir, RangeCheckAir, mimc_trace, range_check_trace
    from stark.prover import prove
    from stark.verifier import verify

    values = np.random.default_rng(1).integers(0, 8, 256)
    mimc, out = mimc_trace(256, seed=5)
    cases = [
        (RangeCheckAir(256, 3), range_check_trace(values, 3)),
        (MimcAir(256, 5, out), mimc),
    ]
    proofs = [prove(air, trace, quick_params).to_bytes() for air, trace in cases]

    def refuse(*args):
        raise AssertionError("a parallel kernel was called on the verifier's path")

    for name in ("_ext_mul_parallel", "_lincomb_parallel"):
        monkeypatch.setattr(field, name, refuse)
    monkeypatch.setattr(ntt, "_transform_rows", refuse)
    for (air, _), proof in zip(cases, proofs, strict=True):
        verify(air, proof, min_bits=0)


def test_large_arrays_use_the_parallel_kernels(monkeypatch):
    """Past their thresholds (EXT_MUL_PARALLEL_MIN for extension products,
    PARALLEL_MIN_ELEMENTS otherwise) the parallel kernels are still the ones called; a
    product of one chunk of the constraint domain stays serial."""
    calls = []
    for name in ("_ext_mul_parallel", "_ext_mul_serial", "_lincomb_parallel"):
        kernel = getattr(field, name)
        monkeypatch.setattr(field, name, lambda *a, _k=kernel, _n=name: (calls.append(_n), _k(*a)))
    ext = ExtensionField(4)
    a = ext.random((field.EXT_MUL_PARALLEL_MIN,), seed=1)
    _ = a * a
    lincomb(ext.random((4,), seed=2), GF.Random((4, 4 * 2048), seed=3))
    b = ext.random((field.PARALLEL_MIN_ELEMENTS,), seed=4)
    _ = b * b
    assert calls == ["_ext_mul_parallel", "_lincomb_parallel", "_ext_mul_serial"]


@settings(max_examples=25, deadline=None)
@given(
    k=st.sampled_from(DEGREES),
    rows=st.integers(1, 40),
    m=st.sampled_from([1, 2, 17, 300, 5000]),
    seed=st.integers(0, 2**32 - 1),
)
def test_row_dots_is_lincomb_of_the_transpose(k, rows, m, seed):
    """row_dots(w, rows) = lincomb(w, rows.T), serial and parallel kernels alike."""
    ext = ExtensionField(k)
    rng = np.random.default_rng(seed)
    data = GF(rng.integers(0, P, (rows, m), dtype=np.int64))
    data[0] = P - 1
    w = ext.random((m,), seed=rng)
    expected = lincomb(w, data.T)
    assert field.row_dots(w, data) == expected
    raw = w._raw.reshape(k, -1).astype(np.uint64)
    low, high = np.ascontiguousarray(raw & 0xFFFF), np.ascontiguousarray(raw >> 16)
    serial, parallel = np.empty((k, rows), np.uint32), np.empty((k, rows), np.uint32)
    field._row_dots_serial(low, high, np.asarray(data, dtype=np.uint32), serial)
    field._row_dots_parallel(low, high, np.asarray(data, dtype=np.uint32), parallel)
    assert np.array_equal(serial, parallel)
    assert np.array_equal(serial, np.asarray(expected.coords))


def test_row_dots_past_2_16_entries():
    """Rows longer than 2^16 entries (the accumulators are reduced every 2^16 products)."""
    ext = ExtensionField(5)
    data = GF(np.full((2, (1 << 16) + 300), P - 1, dtype=np.int64))
    w = ext.array(np.full((5, (1 << 16) + 300), P - 1, dtype=np.int64))
    assert field.row_dots(w, data) == lincomb(w, data.T)
