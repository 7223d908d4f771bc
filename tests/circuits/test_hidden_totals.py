"""The solvency AIR with hidden totals (opt-in, issue 10: batches): honest proofs verify and
publish `circuits.totals.totals_commitment(T', blinding)` of the true offset totals; a cheating
prover (self-checks off) whose digit cells, sponge or public commitment disagree with the
balances is rejected; a proof never verifies in the other mode; without the option the AIR and
its proofs are unchanged."""

import hashlib
import sys
from dataclasses import asdict, replace

import numpy as np
import pytest

from circuits.leaf import id_commitments, new_nonces
from circuits.poseidon2 import DIGEST
from circuits.solvency import (
    BASE,
    HIDDEN_TOTALS_TAG,
    LIMBS,
    OFFSET,
    TOTAL_DIGITS,
    SolvencyAir,
    build_hidden_witness,
    build_witness,
    build_witness_with_leaves,
    digits,
)
from circuits.totals import CHUNKS, WIDTH, sponge_iv, total_chunks, totals_commitment
from stark.field import GF, ExtensionField, P
from stark.proof import VerificationError
from stark.prover import ProverError, prove
from stark.randomness import ProverRandomness
from stark.verifier import verify
from tests.circuits.test_solvency_air import MARKET, balances
from tests.history import module_at
from tests.quick import QUICK

K = 3
START = "19a08bf"  # the commit before hidden totals: public-mode proofs must not change


FORMAT_1_MARKET = {k: v for k, v in asdict(MARKET).items() if k != "haircuts"}


def idc(users: int) -> np.ndarray:
    return id_commitments(
        [f"user-{i}" for i in range(users)], new_nonces(users, ProverRandomness(1))
    )


@pytest.fixture(scope="module")
def honest():
    """(air, trace, opening, proof bytes): no leaves, S-box registers (degree 4); format 1
    (this file tests it; tests/circuits/test_gross.py tests format 2's hidden equity)."""
    statement, trace, leaves, opening = build_hidden_witness(
        MARKET, balances(), rng=ProverRandomness(5), gross=False
    )
    assert leaves is None
    air = SolvencyAir(statement, totals_commitment=opening.commitment)
    return air, trace, opening, prove(air, trace, QUICK).to_bytes()


def accepted(air: SolvencyAir, proof) -> None:
    verify(air, proof, accepted_params=[QUICK])


def rejected(air: SolvencyAir, trace: GF) -> None:
    with pytest.raises(ProverError):
        prove(air, trace, QUICK)
    proof = prove(air, trace, QUICK, check=False)
    with pytest.raises(VerificationError):
        accepted(air, proof.to_bytes())


def first_violation(air: SolvencyAir, trace: GF) -> str | None:
    """The first violated constraint's description (LogUp with any challenge)."""
    challenges = ExtensionField(QUICK.extension_degree).random((1,), seed=3)
    found = air.find_violation(trace, air.build_aux_trace(trace, challenges), challenges)
    return None if found is None else found[0]


def constraint_index(description: str | None) -> int:
    assert description is not None and description.startswith("transition constraint")
    return int(description.split()[-1])


def normalisation_range() -> range:
    start = K + LIMBS * K  # after the bit and running-sum constraints
    return range(start, start + LIMBS)


# -- a cheating prover's tools ---------------------------------------------------------------------
def cell_chunks(trace: np.ndarray, air: SolvencyAir, row: int) -> list[int]:
    """The 4 chunks the AIR reads from a row's tot cells, evaluated in F_p (as `_chunks`)."""
    t = [int(trace[air.layout.tot + i, row]) for i in range(TOTAL_DIGITS)]
    return [(t[3 * c] + BASE * t[3 * c + 1] + BASE * BASE * t[3 * c + 2]) % P for c in range(3)] + [
        t[9] % P
    ]


def responge(trace: np.ndarray, air: SolvencyAir, chunks: list[list[int]], blinding) -> np.ndarray:
    """Refill the totals gadget (in place) with the sponge absorbing these chunks (one list of 4
    per asset) and the blinding, exactly as the constraints chain it; returns the output on row
    K[0:8], the commitment such a sponge publishes."""
    n = trace.shape[1]
    states = np.zeros((n, WIDTH), dtype=np.uint64)
    state = sponge_iv(K)
    outputs = None
    for j in range(K + 1):
        state = state.copy()
        if j < K:
            state[:CHUNKS] = (state[:CHUNKS] + np.asarray(chunks[j], dtype=np.uint64)) % P
        else:
            state[:DIGEST] = (state[:DIGEST] + np.asarray(blinding, dtype=np.uint64)) % P
        states[j] = state
        outputs = air.layout.totals_gadget.fill(trace, states)
        state = outputs[j]
    return outputs[K, :DIGEST]


def remultiply(trace: np.ndarray, air: SolvencyAir) -> None:
    """The multiplicities (in place) counting every looked-up value inside the table: the best a
    cheating prover can do when one lies outside."""
    lay = air.layout
    looked = np.stack(
        [trace[c] for c in lay.range_checked()] + [64 * trace[c] for c in lay.kappa2()]
    )
    flat = looked.reshape(-1)
    flat = flat[(flat >= 0) & (flat < BASE)]
    trace[lay.mult] = 0
    trace[lay.mult, :BASE] = np.bincount(flat, minlength=BASE)


# -- honest proofs ---------------------------------------------------------------------------------
def test_honest_proof_verifies_and_commits_to_the_true_totals(honest):
    air, trace, opening, proof = honest
    accepted(air, proof)
    n = air.trace_len
    true_totals = [int(t) for t in balances().sum(axis=0)]
    assert list(opening.totals) == true_totals
    assert list(opening.offset_totals) == [t + n * OFFSET for t in true_totals]
    expected = totals_commitment(opening.offset_totals, opening.blinding)
    assert np.array_equal(opening.commitment, expected)
    statement = air.statement
    assert statement.hidden_totals and statement.totals == (0,) * K
    assert air.name == "solvency-v1-hidden"
    lay = air.layout
    plain = SolvencyAir(build_witness(MARKET, balances(), gross=False)[0])
    gadget = lay.totals_gadget
    assert lay.tot == plain.layout.mult + 1 and lay.blind == lay.tot + TOTAL_DIGITS
    assert air.main_width == gadget.offset + gadget.num_columns == trace.shape[0]
    assert air.main_width - plain.main_width == TOTAL_DIGITS + DIGEST + gadget.num_columns
    assert air.num_lookups == plain.num_lookups + TOTAL_DIGITS
    assert air.lookup_fractions() == plain.lookup_fractions() + TOTAL_DIGITS * n
    shape = air.shape()
    assert shape.max_constraint_degree == 4
    assert shape.num_boundary_constraints == plain.shape().num_boundary_constraints + DIGEST
    assert air.public_inputs().startswith(statement.encode() + HIDDEN_TOTALS_TAG)
    # the digit cells hold T'_j on row j, zeros elsewhere; the blinding is on row K only
    cells = np.asarray(trace[lay.tot : lay.tot + TOTAL_DIGITS], dtype=np.int64)
    for j, t in enumerate(opening.offset_totals):
        assert list(cells[:, j]) == digits(t, TOTAL_DIGITS)
    assert not cells[:, K:].any()
    blind = np.asarray(trace[lay.blind : lay.blind + DIGEST], dtype=np.uint64)
    assert np.array_equal(blind[:, K], opening.blinding) and not np.delete(blind, K, axis=1).any()


def test_chunks_of_the_cells_are_the_reference_chunks(honest):
    """chunk_c = tot[3c] + 512 tot[3c+1] + 512^2 tot[3c+2] (tot[8], tot[9] = h0, h1) and
    chunk_3 = h1 are `total_chunks`, so the sponge is the reference one."""
    air, trace, opening, _ = honest
    cells = np.asarray(trace, dtype=np.int64)
    expected = total_chunks(opening.offset_totals)
    for j in range(K):
        assert cell_chunks(cells, air, j) == [int(c) for c in expected[j]]


def test_hidden_totals_with_leaves_verify():
    """With user leaves (the application's width 24 without registers: degree 7, and the
    totals gadget without registers either)."""
    b = balances()
    statement, trace, leaves, opening = build_hidden_witness(
        MARKET, b, idc(len(b)), sbox_registers=False, rng=ProverRandomness(6), gross=False
    )
    air = SolvencyAir(statement, leaves, sbox_registers=False, totals_commitment=opening.commitment)
    assert air.name == "solvency-v1-hidden-leaves-w24-noreg"
    accepted(air, prove(air, trace, QUICK).to_bytes())
    assert np.array_equal(
        opening.commitment, totals_commitment(opening.offset_totals, opening.blinding)
    )
    # the leaves are those of the AIR with public totals (the same cells, the same idc)
    _, _, public_leaves = build_witness_with_leaves(
        MARKET, b, idc(len(b)), sbox_registers=False, rng=ProverRandomness(6)
    )
    assert np.array_equal(leaves[: len(b)], public_leaves[: len(b)])


def test_rows_past_k_do_not_matter(honest):
    """The gadget on rows K+1..n-1 may permute anything (here: random inputs)."""
    air, trace, _, _ = honest
    cells = np.asarray(trace, dtype=np.uint64).copy()
    gadget = air.layout.totals_gadget
    inputs = np.stack([cells[c] for c in gadget.input_cols], axis=1)
    inputs[K + 1 :] = np.random.default_rng(2).integers(0, P, size=(air.trace_len - K - 1, WIDTH))
    gadget.fill(cells, inputs)
    assert first_violation(air, GF(cells)) is None


def test_the_blinding_hides(honest):
    """Two blindings, same balances: different commitments, the same statement."""
    air, _, opening, _ = honest
    statement, _, _, other = build_hidden_witness(
        MARKET, balances(), rng=ProverRandomness(9), gross=False
    )
    assert statement == air.statement
    assert not np.array_equal(other.commitment, opening.commitment)


# -- a cheating prover -----------------------------------------------------------------------------
@pytest.mark.parametrize("delta", [1, -1, 1 << 27])
def test_false_totals_in_the_cells_are_rejected(honest, delta):
    """Asset 1's digit cells hold T'_1 + delta (one base unit moved, or one in a higher chunk),
    the sponge and the public commitment are computed honestly for those false totals, the
    multiplicities count them: the totals constraint (4) fails, nothing else."""
    air, trace, opening, _ = honest
    cheat = np.asarray(trace, dtype=np.int64).copy()
    lay = air.layout
    false = list(opening.offset_totals)
    false[1] += delta
    cheat[lay.tot : lay.tot + TOTAL_DIGITS, 1] = digits(false[1], TOTAL_DIGITS)
    remultiply(cheat, air)
    commitment = responge(
        cheat, air, [cell_chunks(cheat, air, j) for j in range(K)], opening.blinding
    )
    assert np.array_equal(commitment, totals_commitment(false, opening.blinding))
    lying = SolvencyAir(air.statement, totals_commitment=commitment)
    assert constraint_index(first_violation(lying, GF(cheat))) in normalisation_range()
    rejected(lying, GF(cheat))


def test_commitment_that_is_not_the_hash_of_the_cells_is_rejected(honest):
    """The honest trace against a public commitment off in one element, or the commitment to
    other totals: the boundary constraints on row K fail."""
    air, trace, opening, _ = honest
    off = opening.commitment.copy()
    off[3] = (off[3] + 1) % P
    other = list(opening.offset_totals)
    other[0] += 1
    for commitment in (off, totals_commitment(other, opening.blinding)):
        lying = SolvencyAir(air.statement, totals_commitment=commitment)
        assert first_violation(lying, trace).startswith("boundary constraint")
        rejected(lying, trace)


def test_sponge_of_other_totals_than_the_cells_is_rejected(honest):
    """The digit cells hold the true totals, the gadget absorbs other ones (and publishes their
    commitment): the sponge's chaining constraints fail."""
    air, trace, opening, _ = honest
    cheat = np.asarray(trace, dtype=np.int64).copy()
    chunks = [cell_chunks(cheat, air, j) for j in range(K)]
    chunks[2][1] += 1
    commitment = responge(cheat, air, chunks, opening.blinding)
    lying = SolvencyAir(air.statement, totals_commitment=commitment)
    sponge_start = len(air.transition_constraints()) - WIDTH
    assert constraint_index(first_violation(lying, GF(cheat))) >= sponge_start
    rejected(lying, GF(cheat))


@pytest.mark.parametrize("l", [0, 2])
def test_digit_of_512_is_rejected(honest, l):
    """tot_l = d_l + 512 and tot_(l+1) = d_(l+1) - 1 with the carry c_l lowered by one: the
    carry chain still holds and, the sponge being refilled from the cells, so do the sponge
    and the boundary constraints (at l = 2 the cells' chunk 0 exceeds 27 bits: a commitment
    to no offset total at all); only the range check fails."""
    air, trace, opening, _ = honest
    cheat = np.asarray(trace, dtype=np.int64).copy()
    lay, j = air.layout, 0
    assert cheat[lay.tot + l + 1, j] >= 1
    cheat[lay.tot + l, j] += BASE
    cheat[lay.tot + l + 1, j] -= 1
    carry = int(cheat[lay.carry_lo + l, j] + BASE * cheat[lay.carry_hi + l, j]) - 1
    assert carry >= 0
    cheat[lay.carry_lo + l, j], cheat[lay.carry_hi + l, j] = carry % BASE, carry // BASE
    remultiply(cheat, air)
    commitment = responge(
        cheat, air, [cell_chunks(cheat, air, i) for i in range(K)], opening.blinding
    )
    assert np.array_equal(commitment, opening.commitment) == (l == 0)
    lying = SolvencyAir(air.statement, totals_commitment=commitment)
    logup_start = normalisation_range().stop + air.layout.positions
    found = constraint_index(first_violation(lying, GF(cheat)))
    assert logup_start <= found < logup_start + air.aux_width  # a LogUp constraint
    rejected(lying, GF(cheat))


# -- the modes do not mix --------------------------------------------------------------------------
def test_statement_with_hidden_totals():
    statement, _ = build_witness(MARKET, balances(), gross=False)
    with pytest.raises(ValueError, match="zero totals"):
        replace(statement, hidden_totals=True)
    hidden = replace(statement, totals=(0,) * K, hidden_totals=True)
    assert hidden.encode() != replace(statement, totals=(0,) * K).encode()
    with pytest.raises(ValueError, match="commitment"):
        SolvencyAir(hidden)
    with pytest.raises(ValueError, match="commitment"):
        SolvencyAir(statement, totals_commitment=np.zeros(DIGEST, dtype=np.uint64))
    with pytest.raises(ValueError):
        SolvencyAir(hidden, totals_commitment=np.full(DIGEST, P, dtype=np.uint64))


def test_a_proof_never_verifies_in_the_other_mode(honest):
    air, _, opening, proof = honest
    b = balances()
    public_statement, public_trace = build_witness(MARKET, b, gross=False)
    public = SolvencyAir(public_statement)
    with pytest.raises(VerificationError):  # hidden proof, public AIR of the true totals
        accepted(public, proof)
    noreg = SolvencyAir(air.statement, sbox_registers=False, totals_commitment=opening.commitment)
    with pytest.raises(VerificationError):  # hidden proof, other register choice
        accepted(noreg, proof)
    leaves = np.zeros((air.trace_len, DIGEST), dtype=np.uint64)
    with_leaves = SolvencyAir(air.statement, leaves, totals_commitment=opening.commitment)
    with pytest.raises(VerificationError):  # hidden proof, hidden AIR with leaves
        accepted(with_leaves, proof)
    public_proof = prove(public, public_trace, QUICK).to_bytes()
    with pytest.raises(VerificationError):  # public proof, hidden AIR
        accepted(air, public_proof)


# -- without the option nothing changed -----------------------------------------------------------
def _solvency_at_start():
    """circuits/solvency.py as it was at START (skips without git)."""
    return module_at(START, "circuits/solvency.py")


@pytest.mark.parametrize("with_leaves", [False, True])
def test_public_mode_proofs_are_byte_identical_to_before(with_leaves):
    """A seeded proof without the option equals, byte for byte, the one the AIR and witness
    builder of the starting commit make (the same stark/ prover)."""
    old = _solvency_at_start()
    b = balances()
    proofs = []
    for module in (old, sys.modules["circuits.solvency"]):
        v1 = {} if module is old else {"gross": False}  # format 1, as first published
        if with_leaves:
            ids = idc(len(b))
            statement, trace, leaves = module.build_witness_with_leaves(
                module.Market(**FORMAT_1_MARKET),
                b,
                ids,
                sbox_registers=False,
                rng=ProverRandomness(2),
                **v1,
            )
            air = module.SolvencyAir(statement, leaves, sbox_registers=False)
        else:
            statement, trace = module.build_witness(module.Market(**FORMAT_1_MARKET), b, **v1)
            air = module.SolvencyAir(statement)
        proofs.append(prove(air, trace, QUICK, seed=7).to_bytes())
    assert hashlib.sha256(proofs[0]).digest() == hashlib.sha256(proofs[1]).digest()


def test_a_batch_proof_binds_its_place_and_snapshot(honest):
    """Statement.batch = (index, count, snapshot digest) is bound: a batch proof verifies only
    in its own slot of its own snapshot (docs/batches.md)."""
    air, trace, opening, _ = honest
    snapshot = "ab" * 32

    def batch_air(place):
        statement = replace(air.statement, batch=place)
        return SolvencyAir(statement, totals_commitment=opening.commitment)

    proof = prove(batch_air((1, 3, snapshot)), trace, QUICK).to_bytes()
    accepted(batch_air((1, 3, snapshot)), proof)
    for other in ((2, 3, snapshot), (1, 4, snapshot), (1, 3, "cd" * 32), None):
        with pytest.raises(VerificationError):
            accepted(batch_air(other), proof)
    for bad in ((3, 3, snapshot), (-1, 3, snapshot), (0, 1, "AB" * 32), (0, 1, "ab")):
        with pytest.raises(ValueError):
            replace(air.statement, batch=bad)


def test_what_a_batch_keeps_owns_its_memory():
    """The leaves and the commitment a batch keeps (BatchResult) are arrays of their own, not
    views of the permutations' witness (rounds x n x width: about 100 MB for a batch of
    65,536 users), which a million-user job would otherwise keep alive batch after batch."""
    rows = balances()
    _, _, leaves, opening = build_hidden_witness(
        MARKET, rows, idc(len(rows)), rng=ProverRandomness(5), gross=False
    )
    assert leaves.base is None and opening.commitment.base is None
