"""Zero knowledge, counted in base-field equations.

A committed polynomial with base-field coefficients, opened at an extension point, gives the
verifier k equations, not one. The first version sized every mask by points (h = 2 q + 2) and
leaked: the secret of a one-column AIR was recovered exactly from a single proof. These tests
(a) check that, for each kind of committed column, the linear map from the mask's coefficients
to everything the verifier sees about that column has full row rank, so what it sees is
uniform whatever the witness (control: h = 2 q + 2 is rank-deficient); and (b) replay that
recovery attack on real proof bytes (control: with the old masking it recovers the secret).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from stark import params as params_module
from stark import verifier as verifier_module
from stark.field import GF, ExtArray, ExtensionField, root_of_unity
from stark.params import AirShape, Domains, StarkParams
from stark.poly import COSET_SHIFT, coset_points, ext_powers
from stark.protocol import base_to_ext_columns
from stark.prover import prove
from stark.verifier import verify
from tests.stark.test_zero_knowledge import SECRET, SecretConstantAir

N_ROWS, QUERIES = 16, 8


def old_mask_degree(params: StarkParams) -> int:
    """The first version's mask size: one coefficient per point, not per equation."""
    return 2 * params.num_queries + 2 if params.zk else 0


def points(k: int, h_seed: int = 3):
    """An out-of-domain extension point z, q base points x of an LDE coset, and g."""
    ext = ExtensionField(k)
    z = ext.random((), seed=h_seed)
    rng = np.random.default_rng(h_seed)
    big_n = 1 << 12
    xs = GF(7) * root_of_unity(12) ** rng.choice(big_n, QUERIES, replace=False)
    return ext, z, xs, root_of_unity(N_ROWS.bit_length() - 1)


def ext_rows(values: ExtArray) -> GF:
    """Extension values (h,) -> their k coordinates as k rows of a base-field matrix."""
    return GF(np.asarray(values.coords).reshape(values.field.degree, -1))


def vanishing_times_powers(point, h: int):
    """(point^n - 1) point^j for j < h: how mask coefficient j moves the value at point."""
    if isinstance(point, ExtArray):
        return ext_powers(point, h) * (point**N_ROWS - 1)
    return (point**N_ROWS - GF(1)) * point ** np.arange(h)


def main_column_map(k: int, h: int) -> GF:
    """A main column t + Z_H r, r of degree < h (base coefficients): the verifier sees t at z
    and g z (k equations each), at each queried x, and at g x (through the opened quotient)."""
    _, z, xs, g = points(k)
    rows = [ext_rows(vanishing_times_powers(z, h)), ext_rows(vanishing_times_powers(z * g, h))]
    rows += [vanishing_times_powers(x, h).reshape(1, -1) for x in (*xs, *(xs * g))]
    return GF(np.concatenate([np.asarray(r) for r in rows]))


def aux_column_map(k: int, h: int) -> GF:
    """An extension column a = sum_c e_c a_c, each coordinate a_c masked by its own r_c of
    degree < h. Seen: a at z and g z (k equations each, mixing the coordinates), every
    coordinate at each queried x (the opened row), and a at g x (through the quotient)."""
    ext, z, xs, g = points(k)
    blocks = []
    for c in range(k):  # the columns of unknowns belonging to r_c
        e_c = ext.generator_power(c)
        rows = [ext_rows(vanishing_times_powers(z, h) * e_c)]
        rows.append(ext_rows(vanishing_times_powers(z * g, h) * e_c))
        for x in xs:
            opened = np.zeros((k, h), dtype=np.int64)
            opened[c] = np.asarray(vanishing_times_powers(x, h))
            rows.append(GF(opened))
        for y in xs * g:
            rows.append(ext_rows(ext.from_base(vanishing_times_powers(y, h)) * e_c))
        blocks.append(np.concatenate([np.asarray(r) for r in rows]))
    return GF(np.concatenate(blocks, axis=1))


def quotient_map(k: int, h: int, segments: int) -> GF:
    """Segments H'_s = H_s + X^n b_s - b_(s-1), each coordinate of each b_s random of degree
    < h. Seen: every segment at z (k equations each) and every coordinate of every segment at
    each queried x. Unknowns: b_(s,c,j) for s < S - 1, c < k, j < h."""
    ext, z, xs, _ = points(k)
    unknowns = (segments - 1) * k * h
    rows = []

    def column(s: int, c: int) -> slice:
        return slice((s * k + c) * h, (s * k + c + 1) * h)

    for s in range(segments):  # H'_s(z) = sum_c e_c H'_(s,c)(z)
        block = np.zeros((k, unknowns), dtype=np.int64)
        for c in range(k):
            e_c = ext.generator_power(c)
            if s < segments - 1:  # + z^n b_(s,c)(z)
                block[:, column(s, c)] += np.asarray(ext_rows(ext_powers(z, h) * z**N_ROWS * e_c))
            if s > 0:  # - b_(s-1,c)(z)
                block[:, column(s - 1, c)] -= np.asarray(ext_rows(ext_powers(z, h) * e_c))
        rows.append(GF(block % GF.order))
        for x in xs:
            opened = np.zeros((k, unknowns), dtype=np.int64)
            powers = np.asarray(x ** np.arange(h), dtype=np.int64)
            for c in range(k):
                if s < segments - 1:
                    opened[c, column(s, c)] += powers * int(x**N_ROWS) % GF.order
                if s > 0:
                    opened[c, column(s - 1, c)] -= powers
            rows.append(GF(opened % GF.order))
    return GF(np.concatenate([np.asarray(r) for r in rows]))


def mask_size(k: int) -> int:
    params = StarkParams(extension_degree=k, num_queries=QUERIES, remainder_max_len=1024)
    dom = Domains.of(params, AirShape("zk", N_ROWS, 1, max_constraint_degree=2))
    return dom.hiding


@pytest.mark.parametrize("k", [4, 5])
def test_main_column_masks_have_full_row_rank(k):
    m = main_column_map(k, mask_size(k))
    assert m.shape[0] == 2 * k + 2 * QUERIES
    assert np.linalg.matrix_rank(m) == m.shape[0]
    # control: one coefficient per point leaves 2k - 2 equations unmasked
    old = main_column_map(k, 2 * QUERIES + 2)
    assert np.linalg.matrix_rank(old) < old.shape[0]


@pytest.mark.parametrize("k", [4, 5])
def test_aux_column_masks_have_full_row_rank(k):
    m = aux_column_map(k, mask_size(k))
    assert m.shape[0] == k * (2 + 2 * QUERIES)
    assert np.linalg.matrix_rank(m) == m.shape[0]
    control = aux_column_map(k, 2 * QUERIES + 1)  # one coefficient short of k (2 + 2 q)
    assert np.linalg.matrix_rank(control) < control.shape[0]


@pytest.mark.parametrize("k", [4, 5])
@pytest.mark.parametrize("segments", [2, 4])
def test_quotient_blinds_leave_only_the_checked_relation(k, segments):
    """Everything seen of the segments is uniform except sum_s X^(s n) H'_s = H at z and at
    each x (k (1 + q) equations the verifier checks, functions of masked trace values)."""
    m = quotient_map(k, mask_size(k), segments)
    assert np.linalg.matrix_rank(m) == m.shape[0] - k * (1 + QUERIES)
    control = quotient_map(k, QUERIES, segments)  # blinds too short: some segment value leaks
    assert np.linalg.matrix_rank(control) < control.shape[0] - k * (1 + QUERIES)


# -- (b) the recovery attack on real proofs --------------------------------------------------------
# remainder_max_len >= D: FRI has no layers to round D up, so the mask is exactly mask_degree.
PARAMS = StarkParams(
    extension_degree=4, blowup=8, num_queries=QUERIES, grinding_bits=0, remainder_max_len=64
)


def spy_on_verifier(monkeypatch, air, proof) -> dict:
    """Run the public verifier on the proof and keep what it computes: z, the constraint
    weights, the opened main rows, the opened quotient segments and the queried points."""
    seen = {}
    draw, powers, deep = (
        verifier_module.draw_ood_point,
        verifier_module.ext_powers,
        verifier_module.deep_combination,
    )

    def keep_z(*args):
        seen["z"] = draw(*args)
        return seen["z"]

    def keep_powers(base, count):
        out = powers(base, count)
        seen.setdefault("alphas", out)
        return out

    def keep_deep(gammas, main_x, aux_x, quotient_x, *rest):
        seen.update(main_x=main_x, quotient_x=base_to_ext_columns(quotient_x, gammas.field))
        seen["ood"] = rest[1]
        return deep(gammas, main_x, aux_x, quotient_x, *rest)

    monkeypatch.setattr(verifier_module, "draw_ood_point", keep_z)
    monkeypatch.setattr(verifier_module, "ext_powers", keep_powers)
    monkeypatch.setattr(verifier_module, "deep_combination", keep_deep)
    positions = []
    original_queries = verifier_module.fri.verify_queries
    monkeypatch.setattr(
        verifier_module.fri,
        "verify_queries",
        lambda pos, *a: (positions.extend(pos.tolist()), original_queries(pos, *a))[1],
    )
    verify(air, proof, accepted_params=[proof.params])
    seen["positions"] = positions
    return seen


def recover_secret(monkeypatch, air, proof) -> int | None:
    """The attacker: unknowns (c, r_0..r_(h-1)) with t'(X) = c + (X^n - 1) r(X); equations
    from t' at z and g z (k each), at each opened x, and at g x read off the opened quotient
    H(x) = alpha (t'(g x) - t'(x)) (x - g^(n-1)) / (x^n - 1). Returns c if the equations
    determine it, None if they leave it free."""
    seen = spy_on_verifier(monkeypatch, air, proof)
    dom = Domains.of(proof.params, air.shape())
    n, h, ext = air.trace_len, dom.hiding, ExtensionField(proof.params.extension_degree)
    g = root_of_unity(n.bit_length() - 1)
    z, alpha = seen["z"], seen["alphas"][0]
    xs = coset_points(COSET_SHIFT, dom.lde_size, np.asarray(seen["positions"]))
    ood, main_x, quotient_x = seen["ood"], seen["main_x"], seen["quotient_x"]

    rows, rhs = [], []
    for point, value in ((z, ood.trace_z[0]), (z * g, ood.trace_gz[0])):
        coeffs = np.asarray(ext_rows(vanishing_times_powers(point, h)))
        unit = np.zeros((ext.degree, 1), dtype=np.int64)
        unit[0] = 1
        rows.append(np.concatenate([unit, coeffs], axis=1))
        rhs += np.asarray(value.coords).reshape(-1).tolist()
    segments = dom.num_quotient_segments
    for i, x in enumerate(xs):
        t_x = main_x[0, i]
        rows.append(np.concatenate([[1], np.asarray(vanishing_times_powers(x, h))])[None])
        rhs.append(int(t_x))
        h_x = quotient_x[segments - 1, i]
        for s in range(segments - 2, -1, -1):
            h_x = h_x * x**n + quotient_x[s, i]
        t_gx = (h_x * (x**n - GF(1)) / (alpha * (x - g ** (n - 1))) + t_x).coords
        assert not np.any(np.asarray(t_gx)[1:]), "t(g x) is a base-field value"
        rows.append(np.concatenate([[1], np.asarray(vanishing_times_powers(x * g, h))])[None])
        rhs.append(int(np.asarray(t_gx)[0]))
    system = GF(np.concatenate([np.concatenate(rows), np.asarray(rhs)[:, None]], axis=1))
    reduced = system.row_reduce()
    first = np.asarray(reduced[0])
    if first[0] == 1 and not np.any(first[1:-1]):
        return int(first[-1])
    return None


def secret_proof():
    air = SecretConstantAir(N_ROWS)
    return air, prove(air, GF(np.full((1, N_ROWS), SECRET)), PARAMS)


def test_secret_is_undetermined_by_the_proof(monkeypatch):
    air, proof = secret_proof()
    assert Domains.of(PARAMS, air.shape()).hiding == 2 * 4 + 2 * QUERIES
    assert recover_secret(monkeypatch, air, proof) is None


def test_control_old_masking_gives_the_secret_away(monkeypatch):
    """With the first version's mask size the same attack recovers the secret exactly."""
    monkeypatch.setattr(params_module, "mask_degree", old_mask_degree)
    air, proof = secret_proof()
    assert Domains.of(PARAMS, air.shape()).hiding == 2 * QUERIES + 2
    assert recover_secret(monkeypatch, air, proof) == SECRET


def test_control_without_zero_knowledge_gives_the_secret_away(monkeypatch):
    air = SecretConstantAir(N_ROWS)
    proof = prove(air, GF(np.full((1, N_ROWS), SECRET)), replace(PARAMS, zk=False))
    assert recover_secret(monkeypatch, air, proof) == SECRET
