"""The numpy backend of F_p (stark/numpy_field.py) against galois, and the numpy paths that
replace numba's kernels (stark/field.py, circuits/poseidon2.py) against the kernels: every
result must be the same field element."""

import importlib.util
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from stark import field, jit
from stark.field import MULTIPLICATIVE_GENERATOR, ExtensionField, NumpyGF, P

galois = pytest.importorskip("galois")
GaloisGF = galois.GF(P, primitive_element=MULTIPLICATIVE_GENERATOR, verify=False)

# elements near the edges are where a wrong reduction shows
EDGES = [0, 1, 2, P - 2, P - 1, (P - 1) // 2, (P + 1) // 2, 1 << 30, (1 << 31) - 1 - (1 << 27)]
elements = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
# galois compiles each ufunc on its first use: no deadline
relaxed = settings(deadline=None, max_examples=40)


def arrays(shape=shapes, nonzero: bool = False):
    values = st.sampled_from(EDGES[1:]) | st.integers(1, P - 1) if nonzero else elements
    return hnp.arrays(np.int64, shape, elements=values)


def both(values):
    """The same elements in each backend."""
    return NumpyGF(values), GaloisGF(values)


def same(ours, theirs) -> None:
    assert isinstance(ours, NumpyGF)
    assert ours.shape == theirs.shape
    assert np.array_equal(np.asarray(ours, np.int64), np.asarray(theirs, np.int64))


@relaxed
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4), st.data())
def test_binary_operations_broadcast_like_galois(shapes_, data):
    a, b = (data.draw(arrays(shape)) for shape in shapes_.input_shapes)
    (x, gx), (y, gy) = both(a), both(b)
    same(x + y, gx + gy)
    same(x - y, gx - gy)
    same(x * y, gx * gy)
    same(-x, -gx)
    nonzero = data.draw(arrays(shapes_.input_shapes[1], nonzero=True))
    same(x / NumpyGF(nonzero), gx / GaloisGF(nonzero))


@relaxed
@given(arrays(nonzero=True))
def test_inverse_and_reciprocal(a):
    x, gx = both(a)
    same(np.reciprocal(x), np.reciprocal(gx))
    same(x**-1, gx**-1)
    same(x * np.reciprocal(x), GaloisGF.Ones(gx.shape))


@relaxed
@given(arrays(), st.one_of(st.integers(0, 3 * P), st.sampled_from([0, 1, 2, 7, P - 1, P - 2])))
def test_powers(a, e):
    x, gx = both(a)
    same(x**e, gx**e)
    nonzero, g_nonzero = both(np.where(a == 0, 1, a))
    same(nonzero ** (-e), g_nonzero ** (-e))


@relaxed
@given(arrays(shape=(6,)), hnp.arrays(np.int64, (6,), elements=st.integers(0, 1 << 40)))
def test_array_exponents(a, e):
    x, gx = both(a)
    same(x**e, gx**e)
    assert np.array_equal(field.power(a[0], e), [pow(int(a[0]), int(v), P) for v in e])


@relaxed
@given(arrays(), st.integers(-(1 << 63), (1 << 63) - 1))
def test_integer_scalar_multiplication(a, n):
    """galois reads an integer operand of * as repeated addition: n * a = (n mod p) a."""
    x, gx = both(a)
    same(x * n, gx * n)
    same(n * x, n * gx)
    small = np.arange(-3, 3, dtype=np.int64).reshape(2, 3)
    same(NumpyGF(np.full((2, 3), 5)) * small, GaloisGF(np.full((2, 3), 5)) * small)


@relaxed
@given(arrays(shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)))
def test_sums_concatenation_and_indexing(a):
    x, gx = both(a)
    same(np.sum(x, axis=0), np.sum(gx, axis=0))
    same(x.reshape(-1).sum(), gx.reshape(-1).sum())
    same(np.cumsum(x, axis=0), np.cumsum(gx, axis=0))
    same(np.concatenate([x, x]), np.concatenate([gx, gx]))
    same(np.stack([x, x], axis=-1), np.stack([gx, gx], axis=-1))
    same(x[0], gx[0])  # one element is still a (0-d) field array, as in galois
    same(x.reshape(-1)[::2], gx.reshape(-1)[::2])
    assert np.array_equal(x == x[0], gx == gx[0])  # comparisons give plain booleans
    assert type(x == x[0]) is np.ndarray


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.uint32, np.int64, np.uint64])
def test_construction_from_every_integer_dtype(dtype):
    values = np.array([0, 1, 100, min(np.iinfo(dtype).max, P - 1)], dtype=dtype)
    x, gx = both(values)
    same(x, gx)
    assert x.dtype == np.uint32
    same(x * x, gx * gx)


@pytest.mark.parametrize(
    ("value", "error"),
    [(P, ValueError), (-1, ValueError), ([0, P], ValueError), (1 << 64, ValueError),
     (np.array([1.5]), TypeError)],
)  # fmt: skip
def test_construction_is_range_checked(value, error):
    for gf in (NumpyGF, GaloisGF):
        with pytest.raises(error):
            gf(value)


def test_mixing_refused_as_in_galois():
    """+ - / need two field arrays in both backends (so code tested on one runs on the other)."""
    for gf in (NumpyGF, GaloisGF):
        x = gf([1, 2, 3])
        for other in (1, 2, np.ones(3, int)):
            for op in (np.add, np.subtract, np.true_divide):
                with pytest.raises(TypeError):
                    op(x, other)
                with pytest.raises(TypeError):
                    op(other, x)
        with pytest.raises(ZeroDivisionError):
            np.reciprocal(gf([1, 0]))
        with pytest.raises(ZeroDivisionError):
            gf([0]) ** -1


def test_no_silent_integer_algebra():
    """What galois computes over F_p and numpy would compute over the integers or floats is
    refused (TypeError), never answered wrongly."""
    x = NumpyGF([[1, 2], [3, P - 1]])
    for call in (
        np.linalg.matrix_rank,
        np.linalg.inv,
        np.prod,
        lambda a: a @ a,
        lambda a: np.dot(a, a),
    ):
        with pytest.raises(TypeError):
            call(x)


def test_views_of_other_dtypes_compute_the_same():
    """`_view` keeps galois's other storage types (int32, int64): the results do not change."""
    a = np.array([[P - 1, 5], [0, 1 << 30]], dtype=np.int64)
    for dtype in (np.int32, np.int64, np.uint32):
        x, gx = NumpyGF._view(a.astype(dtype)), GaloisGF._view(a.astype(dtype))
        same(x * x + x, gx * gx + gx)


def test_constructors():
    assert NumpyGF.order == GaloisGF.order == P
    same(NumpyGF.Zeros((2, 3)), GaloisGF.Zeros((2, 3)))
    same(NumpyGF.Ones(4), GaloisGF.Ones(4))
    for seed in (0, 1, 12345):
        same(NumpyGF.Random((3, 5), seed=seed), GaloisGF.Random((3, 5), seed=seed))
    assert (NumpyGF.Random(10**5) < P).all()


# -- the numpy paths that stand in for numba's kernels ----------------------------------------
@pytest.fixture
def without_numba(monkeypatch):
    """stark.field and circuits.poseidon2 as on an install without numba and galois."""
    from circuits import poseidon2

    def apply():
        monkeypatch.setattr(field, "HAVE_NUMBA", False)
        monkeypatch.setattr(field, "GALOIS", False)
        monkeypatch.setattr(poseidon2, "HAVE_NUMBA", False)

    return apply


@pytest.mark.parametrize("degree", [4, 5])
@pytest.mark.parametrize("size", [1, 7, field.SMALL_OPS + 3])  # one value, a few, the large paths
def test_extension_arithmetic_without_numba(degree, size, without_numba, monkeypatch):
    ext = ExtensionField(degree)
    a, b = ext.random((size,), seed=1), ext.random((size,), seed=2)
    one = ext.random((), seed=3)
    x = field.GF(np.arange(1, size + 1) % P)
    rows = field.GF.Random((size, 6), seed=4)
    products = [
        lambda: a * b, lambda: a * one, lambda: one * one, lambda: a.inverse(), lambda: one ** 9,
        lambda: (a + b - one) * x, lambda: field.lincomb(a, rows), lambda: field.row_dots(
            ext.random((6,), seed=5), rows), lambda: field.inverse_of_difference(x, one),
        lambda: a[:, None] * b[None, :3],
    ]  # fmt: skip
    expected = [f() for f in products]
    batch = field.batch_inverse(x)
    without_numba()
    for f, want in zip(products, expected, strict=True):
        got = f()
        assert got.shape == want.shape and got == want
    assert np.array_equal(field.batch_inverse(x), batch)


def test_poseidon2_without_numba(without_numba):
    from circuits import poseidon2
    from circuits.leaf import leaves_root

    leaves = np.random.default_rng(7).integers(0, P, (64, 8), dtype=np.uint64)
    inputs = np.random.default_rng(8).integers(0, P, (5, 30), dtype=np.uint64)
    root, digests = leaves_root(leaves), poseidon2.hash_elements(inputs, 24)
    witness = poseidon2.permutation_witness(inputs[:, :16], 16)
    without_numba()
    assert np.array_equal(leaves_root(leaves), root)
    assert np.array_equal(poseidon2.hash_elements(inputs, 24), digests)
    again = poseidon2.permutation_witness(inputs[:, :16], 16)
    assert all(
        np.array_equal(u, v)
        for u, v in zip(again.external_post, witness.external_post, strict=True)
    )


@relaxed
@given(st.integers(0, 1 << 40), st.integers(0, P - 1))
def test_power_matches_python(e, base):
    assert int(field.power(base, e)) == pow(base, e, P)


# -- the cold-cache notice ------------------------------------------------------------------------
@pytest.mark.skipif(not jit.HAVE_NUMBA, reason="numba is not installed")
def test_compiled_kernels_cached_sees_a_kernel_compile(tmp_path, monkeypatch):
    """A module whose cached kernel never ran reads False; once it has run (and numba wrote
    its cache), True; edited sources read False again."""
    source = tmp_path / "fresh_kernels.py"
    source.write_text(
        "from stark.jit import njit\n\n@njit(cache=True)\ndef twice(x):\n    return 2 * x\n"
    )
    monkeypatch.setattr(jit, "KERNELS", {})
    spec = importlib.util.spec_from_file_location("fresh_kernels", source)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fresh_kernels", module)
    spec.loader.exec_module(module)
    assert list(jit.KERNELS) == ["fresh_kernels"]
    assert not jit.compiled_kernels_cached()
    assert module.twice(21) == 42
    assert jit.compiled_kernels_cached()
    assert jit.compiled_kernels_cached(["fresh_kernels"])
    assert not jit.compiled_kernels_cached(["fresh_kernels", "not_imported"])
    source.write_text(source.read_text() + "\n# edited\n")
    jit.KERNELS.clear()
    spec.loader.exec_module(module)  # the module as imported after the edit
    assert not jit.compiled_kernels_cached()
