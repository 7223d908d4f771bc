"""The solvency AIR with user leaves (opt-in): honest proofs verify, the leaves are the reference
leaves of the very limb cells that feed the totals, and a cheating prover (self-checks off)
that publishes leaves not matching its rows is rejected. Without leaves the AIR is unchanged."""

import numpy as np
import pytest

from circuits.leaf import id_commitments, leaf_hash, new_nonces
from circuits.solvency import (
    LEAVES_TAG,
    LIMBS,
    SolvencyAir,
    build_witness,
    build_witness_with_leaves,
    offset_limbs,
)
from stark.field import GF, ExtensionField, P
from stark.proof import VerificationError
from stark.prover import ProverError, prove
from stark.randomness import ProverRandomness
from stark.verifier import verify
from tests.circuits.test_solvency_air import MARKET
from tests.quick import QUICK

USERS = 40  # padded to n = 512
TWINS = (7, 8)  # two users with identical balances


def user_balances() -> np.ndarray:
    b = np.random.default_rng(1).integers(0, 10**10, size=(USERS, 3))
    b[3, 0] = -(10**6)  # a margin user: owes BTC, holds plenty of the rest
    b[TWINS[1]] = b[TWINS[0]]
    return b


def user_idc(rng: ProverRandomness) -> np.ndarray:
    return id_commitments([f"user-{i}" for i in range(USERS)], new_nonces(USERS, rng))


@pytest.fixture(scope="module")
def honest():
    """(air, trace, leaves, idc, balances, proof) for width 24 with registers."""
    b, idc = user_balances(), user_idc(ProverRandomness(1))
    statement, trace, leaves = build_witness_with_leaves(MARKET, b, idc, rng=ProverRandomness(2))
    air = SolvencyAir(statement, leaves)
    return air, trace, leaves, idc, b, prove(air, trace, QUICK).to_bytes()


def rejected(air: SolvencyAir, trace: GF) -> None:
    with pytest.raises(ProverError):
        prove(air, trace, QUICK)
    proof = prove(air, trace, QUICK, check=False)
    with pytest.raises(VerificationError):
        verify(air, proof.to_bytes(), accepted_params=[QUICK])


def first_violation(air: SolvencyAir, trace: GF) -> int | None:
    """The index of the first violated transition constraint (LogUp with any challenge)."""
    challenges = ExtensionField(QUICK.extension_degree).random((1,), seed=3)
    found = air.find_violation(trace, air.build_aux_trace(trace, challenges), challenges)
    return None if found is None else int(found[0].split()[-1])


def first_leaf_constraint(air: SolvencyAir) -> int:
    return len(SolvencyAir(air.statement).transition_constraints())


# -- honest proofs and the layout -----------------------------------------------------------------
def test_honest_proof_with_leaves_verifies(honest):
    air, trace, *_, proof = honest
    verify(air, proof, accepted_params=[QUICK])
    plain = SolvencyAir(air.statement)
    gadget = air.leaf_gadget
    lay = air.layout
    assert air.main_width == lay.width + 8 + gadget.num_columns == trace.shape[0]
    assert list(lay.idc) == list(range(lay.width, lay.width + 8)) == list(gadget.idc_cols)
    assert gadget.limb_cols == tuple(tuple(lay.u(j, l) for l in range(LIMBS)) for j in range(3))
    shape, base = air.shape(), plain.shape()
    assert shape.max_constraint_degree == 4
    assert shape.num_transition_constraints == base.num_transition_constraints + (
        gadget.num_constraints + 8
    )
    assert (shape.aux_width, shape.num_lookup_fractions) == (
        base.aux_width,
        base.num_lookup_fractions,
    )
    assert air.boundary_constraints() == plain.boundary_constraints()
    assert len(air.periodic_columns()) == len(plain.periodic_columns()) + 8


@pytest.mark.parametrize(("width", "registers", "degree"), [(16, True, 4), (24, False, 7)])
def test_other_leaf_layouts_verify(width, registers, degree):
    b, idc = user_balances(), user_idc(ProverRandomness(4))
    statement, trace, leaves = build_witness_with_leaves(
        MARKET, b, idc, leaf_width=width, sbox_registers=registers, rng=ProverRandomness(5)
    )
    assert np.array_equal(leaves[:USERS], leaf_hash(idc, offset_limbs(b), width))
    air = SolvencyAir(statement, leaves, leaf_width=width, sbox_registers=registers)
    assert air.shape().max_constraint_degree == degree
    verify(air, prove(air, trace, QUICK).to_bytes(), accepted_params=[QUICK])


def test_leaves_are_the_reference_leaves_of_the_proved_cells(honest):
    air, trace, leaves, idc, b, _ = honest
    lay, n = air.layout, air.trace_len
    plain_statement, plain_trace = build_witness(MARKET, b)
    assert plain_statement == air.statement
    assert np.array_equal(np.asarray(trace[: lay.width]), np.asarray(plain_trace))  # shared code
    limbs = offset_limbs(np.concatenate([b, np.zeros((n - USERS, 3), dtype=np.int64)]))
    cells = np.asarray(trace)[[c for row in lay.limb_cols() for c in row]].T.reshape(n, 3, LIMBS)
    assert np.array_equal(cells, limbs)  # the limb cells the totals and the values read
    row_idc = np.asarray(trace)[list(lay.idc)].T.astype(np.uint64)
    assert np.array_equal(row_idc[:USERS], idc)
    assert np.array_equal(leaves[:USERS], leaf_hash(idc, limbs[:USERS], 24))  # each user's leaf
    assert np.array_equal(leaves, leaf_hash(row_idc, limbs, 24))  # padding rows too
    assert len({tuple(r) for r in row_idc[USERS:].tolist()}) == n - USERS  # random padding idc
    digest = np.asarray(trace)[list(air.leaf_gadget.digest_cols)].T
    assert np.array_equal(digest, leaves)


def test_identical_balances_get_different_leaves(honest):
    air, trace, leaves, *_ = honest
    a, b = TWINS
    cells = [c for row in air.layout.limb_cols() for c in row]
    assert np.array_equal(np.asarray(trace[cells, a]), np.asarray(trace[cells, b]))
    assert leaves[a].tolist() != leaves[b].tolist()


# -- with and without leaves are different statements ---------------------------------------------
def test_without_leaves_the_air_is_unchanged(honest):
    air = honest[0]
    plain = SolvencyAir(air.statement)
    assert (plain.name, plain.with_leaves, plain.leaf_gadget) == ("solvency-v2", False, None)
    assert plain.main_width == plain.layout.width
    assert plain.public_inputs() == air.statement.encode()
    assert len(plain.periodic_columns()) == 1 + 3
    assert air.name == "solvency-v2-leaves-w24" and air.with_leaves
    assert air.public_inputs() == air.statement.encode() + LEAVES_TAG + bytes([24, 1])
    leaves = air.leaves
    others = [
        SolvencyAir(air.statement, leaves, leaf_width=16),
        SolvencyAir(air.statement, leaves, sbox_registers=False),
    ]
    assert len({a.public_inputs() for a in [plain, air, *others]}) == 4
    assert len({a.name for a in [plain, air, *others]}) == 4


def test_leaf_proof_does_not_verify_without_leaves_nor_the_reverse(honest):
    air, _, leaves, _, b, proof = honest
    with pytest.raises(VerificationError):
        verify(SolvencyAir(air.statement), proof, accepted_params=[QUICK])
    with pytest.raises(VerificationError):
        verify(SolvencyAir(air.statement, leaves, leaf_width=16), proof, accepted_params=[QUICK])
    statement, trace = build_witness(MARKET, b)
    plain_proof = prove(SolvencyAir(statement), trace, QUICK).to_bytes()
    verify(SolvencyAir(statement), plain_proof, accepted_params=[QUICK])
    with pytest.raises(VerificationError):
        verify(SolvencyAir(statement, leaves), plain_proof, accepted_params=[QUICK])


# -- a cheating prover ----------------------------------------------------------------------------
@pytest.mark.parametrize("digest_cells", ["honest", "published"])
def test_published_leaf_not_matching_its_row_is_rejected(honest, digest_cells):
    """The exchange publishes, for row 5, the leaf of other balances (one base unit more of
    ETH, what it shows the user) than the ones its row holds and sums. Whether the digest cells
    keep the row's true leaf or are set to the published one, a constraint fails on row 5."""
    air, trace, leaves, idc, b, _ = honest
    shown = b[5].copy()
    shown[1] += 1
    published = leaves.copy()
    published[5] = leaf_hash(idc[5], offset_limbs(shown[None, :]), 24)[0]
    liar = SolvencyAir(air.statement, published)
    cheat = trace.copy()
    if digest_cells == "published":
        for k, c in enumerate(air.leaf_gadget.digest_cols):
            cheat[c, 5] = GF(int(published[5, k]))
    assert first_violation(liar, cheat) >= first_leaf_constraint(air)
    rejected(liar, cheat)


def test_row_balances_differing_from_the_hashed_ones_are_rejected(honest):
    """The leaves (and every gadget cell) are of balances B; the rows hold B', with one base unit
    of ETH moved from user 10 to user 11: the totals, the running sums, the value digits and
    the LogUp multiplicities are all B's consistent witness, so only the leaf fails."""
    air, trace, _, idc, b, _ = honest
    moved = b.copy()
    moved[10, 1] -= 1
    moved[11, 1] += 1
    statement, other, other_leaves = build_witness_with_leaves(
        MARKET, moved, idc, rng=ProverRandomness(2)
    )
    assert statement == air.statement  # the same totals: nothing public changes
    assert first_violation(SolvencyAir(statement, other_leaves), other) is None  # the control
    cheat = other.copy()
    hashed = [*air.layout.idc, *air.leaf_gadget.columns]
    cheat[hashed] = trace[hashed]  # B's id commitments and gadget cells on every row
    assert first_violation(air, cheat) >= first_leaf_constraint(air)
    rejected(air, cheat)


def test_limb_cell_changed_after_hashing_is_rejected(honest):
    """The simplest form: one limb cell (asset 0's top bit, user 6) changed after the gadget
    was filled. (It breaks the totals' running sum too; the test above keeps them intact.)"""
    air, trace, *_ = honest
    cheat = trace.copy()
    col = air.layout.u(0, LIMBS - 1)
    cheat[col, 6] = GF(1) - cheat[col, 6]
    rejected(air, cheat)


@pytest.mark.parametrize("with_cells", [False, True])
def test_leaf_swapped_between_rows_is_rejected(honest, with_cells):
    """Users 2 and 5's published leaves are swapped; with_cells: their id commitments and gadget
    cells are swapped too, so the digests match the published leaves, but the limbs are not."""
    air, trace, leaves, *_ = honest
    published = leaves.copy()
    published[[2, 5]] = leaves[[5, 2]]
    liar = SolvencyAir(air.statement, published)
    cheat = trace.copy()
    if with_cells:
        hashed = np.array([*air.layout.idc, *air.leaf_gadget.columns])
        cheat[hashed[:, None], np.array([2, 5])] = trace[hashed[:, None], np.array([5, 2])]
    assert first_violation(liar, cheat) >= first_leaf_constraint(air)
    rejected(liar, cheat)


def test_inputs_are_checked(honest):
    air, _, leaves, idc, b, _ = honest
    with pytest.raises(ValueError):
        SolvencyAir(air.statement, leaves[:-1])  # one leaf per row
    bad = leaves.copy()
    bad[0, 0] = P  # canonical elements only
    with pytest.raises(ValueError):
        SolvencyAir(air.statement, bad)
    with pytest.raises(ValueError):
        SolvencyAir(air.statement, leaves, leaf_width=20)
    with pytest.raises(ValueError):
        build_witness_with_leaves(MARKET, b, idc[:-1])  # one id commitment per user
