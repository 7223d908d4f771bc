"""Inclusion: the private store a proof leaves behind, the file each user receives, and the check
a user runs on it. The leaf, the tree and the soundness argument are in circuits/leaf.py and
docs/inclusion.md; this module is the application around them.

The private store (`PRIVATE_DIR/users.sqlite`, written by `solvency prove --private`) holds, for
one proof, every user's id, row, nonce and balances in base units, plus the published leaves
and the statement's identity, so that any user's file can be exported later without the public
directory. It is secret: anyone holding it can tell which leaf is whose and read every balance.

Each batch of a publication has its own store (`PRIVATE_DIR/batches/bNNNNN/users.sqlite`).

An inclusion file (INCLUSION_FORMAT, JSON) holds one user's id, nonce, batch, row, balances
(decimal strings per asset, as counted), the users' root of the publication and the path from
the user's leaf to it: through the batch's root, then over the batch roots. `check_inclusion`
recomputes the leaf from the id, the nonce and the balances (nothing in the file is trusted)
and follows the path to the published root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from circuits.leaf import (
    NONCE_ELEMENTS,
    id_commitment,
    id_commitments,
    leaf_hash,
    new_nonces,
    padding_id_commitments,
    paths_in,
    tree_levels,
    verify_leaf_path,
)
from circuits.poseidon2 import DIGEST
from circuits.solvency import (
    Insolvent,
    Market,
    Statement,
    TotalsOpening,
    build_hidden_witness,
    build_witness_with_leaves,
    offset_limbs,
    padded_size,
)
from solvency.files import InputError, check_regular
from solvency.ids import hashed_filename, id_filename
from solvency.publication.encoding import coins, elements_hex, parse_elements_hex
from solvency.publication.statement import (
    LEAF_REGISTERS,
    LEAF_WIDTH,
    PublishedStatement,
)
from stark.field import GF, P
from stark.randomness import ProverRandomness

INCLUSION_FORMAT = "stark-solvency-inclusion/3"
STORE_FORMAT = "stark-solvency-private-store/1"
STORE_NAME = "users.sqlite"
INCLUSION_FIELDS = (
    "format",
    "issuer",
    "as_of",
    "user_id",
    "batch",
    "row",
    "nonce",
    "balances",
    "users_root",
    "path",
)
MAX_INCLUSION_BYTES = 1 << 16
AMOUNT = re.compile(r"(-?)([0-9]{1,40})(?:\.([0-9]{1,40}))?")  # ASCII digits only


# -- balances ----------------------------------------------------------------------------------
def parse_amount(text: object, decimals: int) -> int:
    """A decimal string back to base units, exactly (string arithmetic: no rounding context);
    ValueError if it is not a plain decimal of ASCII digits, has more non-zero decimals than
    the asset, or does not fit a signed 64-bit balance."""
    match = AMOUNT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected a plain decimal string, got {text!r}")
    sign, whole, fraction = match.group(1), match.group(2), (match.group(3) or "").rstrip("0")
    if len(fraction) > decimals:
        raise ValueError(f"{text} has more than the asset's {decimals} decimals")
    units = int(whole + fraction.ljust(decimals, "0")) * (-1 if sign else 1)
    if not -(1 << 63) <= units < 1 << 63:
        raise ValueError(f"{text} is outside the range of a balance")
    return units


def user_leaf(user_id: str, nonce, balances: Sequence[int]) -> np.ndarray:
    """The leaf (8,) of one user: leaf_hash(id_commitment(id, nonce), limbs(balances)), the
    leaf hash of the solvency AIR at LEAF_WIDTH."""
    limbs = offset_limbs(np.asarray([balances], dtype=np.int64))
    return leaf_hash(id_commitment(user_id, nonce)[None, :], limbs, LEAF_WIDTH)[0]


@dataclass(frozen=True)
class Witness:
    """What proving a snapshot with inclusion needs: the statement, the main trace of the AIR
    with leaves, the leaves (n, 8) to publish, each user's row (users,) and their fresh nonces
    (users, 5)."""

    statement: Statement
    trace: GF
    leaves: np.ndarray
    rows: np.ndarray
    nonces: np.ndarray
    opening: TotalsOpening | None = None  # with hidden totals: the secret that opens them


def random_rows(users: int, n: int, rng: ProverRandomness | None = None) -> np.ndarray:
    """A uniformly random injection of the users into the n rows: rows[i] is user i's row.
    The order of the snapshot and the position of the padding rows are then hidden: a user's
    row says nothing about their rank or about the number of users (only n is public)."""
    rng = ProverRandomness() if rng is None else rng
    keys = np.asarray(rng.elements(n, 2), dtype=np.uint64)  # 61.8 random bits per row
    order = np.argsort(keys[:, 0] * np.uint64(P) + keys[:, 1], kind="stable")
    return order[:users]


def witness(
    market: Market,
    ids: Sequence[str],
    balances: np.ndarray,
    rng: ProverRandomness | None = None,
    *,
    hide_totals: bool = False,
) -> Witness:
    """Fresh nonces, the users' id commitments at random rows (`random_rows`), padding rows
    with zero balances and random id commitments everywhere else, and the witness with the
    leaf hash at the application's layout; with hide_totals, for the AIR that publishes a
    commitment to the totals instead of the totals (a batch, docs/batches.md). rng: None (the
    default) draws from the operating system; a seeded ProverRandomness is for tests only.
    Raises Insolvent (circuits.solvency) naming users by their index in `ids`, ValueError for
    an id with no UTF-8 form."""
    users, k = np.shape(balances)
    n = padded_size(users)
    nonces = new_nonces(users, rng)
    commitments = padding_id_commitments(n, rng)
    rows = random_rows(users, n, rng)
    commitments[rows] = id_commitments(ids, nonces)
    table = np.zeros((n, k), dtype=np.int64)
    table[rows] = balances
    owner = np.full(n, -1, dtype=np.int64)
    owner[rows] = np.arange(users)
    layout = {"leaf_width": LEAF_WIDTH, "sbox_registers": LEAF_REGISTERS, "rng": rng}
    opening = None
    try:
        if hide_totals:
            statement, trace, leaves, opening = build_hidden_witness(
                market, table, commitments, **layout
            )
        else:
            statement, trace, leaves = build_witness_with_leaves(
                market, table, commitments, **layout
            )
    except Insolvent as e:  # rows back to the users in the snapshot's order
        raise type(e)(sorted(int(owner[r]) for r in e.rows)) from None
    return Witness(statement, trace, leaves, rows, nonces, opening)


# -- the private store -------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreIdentity:
    """What the store says about the proof it belongs to."""

    issuer: str
    as_of: str
    users_padded: int
    symbols: tuple[str, ...]
    decimals: tuple[int, ...]
    leaves_root: str  # hex


def check_private_location(private: Path, public: Path) -> None:
    """Refuse (ValueError) a private directory inside the public one, or the reverse, or the
    same, or one that is not a directory. Compared both with symbolic links resolved and as
    written (a link inside the public directory pointing elsewhere still puts the store in what
    is published)."""

    def nested(a: Path, b: Path) -> bool:
        return a == b or a in b.parents or b in a.parents

    if nested(public.resolve(), private.resolve()) or nested(
        Path(os.path.abspath(public)), Path(os.path.abspath(private))
    ):
        raise ValueError(
            f"--private {private} must be outside --out {public} (and not contain it): "
            "publishing the proof directory must never publish the users' nonces"
        )
    if private.exists() and not private.is_dir():
        raise ValueError(f"--private {private} is not a directory")


def write_store(
    path: Path,
    statement: Statement,
    leaves: np.ndarray,
    root: str,
    ids: Sequence[str],
    rows: np.ndarray,
    nonces: np.ndarray,
    balances: np.ndarray,
) -> None:
    """Write the private store atomically, readable by its owner only: a temporary file, then
    a hard link to `path`, which fails with FileExistsError rather than replace a store. One
    record per user (id, row, nonce, balances in base units), the
    published leaves (n, 8), their root (hex) and the statement's identity."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)  # mkstemp made it 0600
    try:
        db = sqlite3.connect(tmp)
        with db:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value)")
            db.execute(
                "CREATE TABLE users (id TEXT PRIMARY KEY, row INTEGER UNIQUE NOT NULL, "
                "nonce TEXT NOT NULL, balances TEXT NOT NULL)"
            )
            meta = {
                "format": STORE_FORMAT,
                "issuer": statement.issuer,
                "as_of": statement.as_of,
                "users_padded": statement.trace_len,
                "symbols": json.dumps(statement.symbols),
                "decimals": json.dumps(statement.decimals),
                "leaves_root": root,
                "leaves": np.asarray(leaves, dtype="<u4").tobytes(),
            }
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            db.executemany(
                "INSERT INTO users VALUES (?, ?, ?, ?)",
                (
                    (uid, int(row), elements_hex(nonce), json.dumps([str(int(b)) for b in bal]))
                    for uid, row, nonce, bal in zip(ids, rows, nonces, balances, strict=True)
                ),
            )
        db.close()
        os.link(tmp, path)  # never replaces a store (FileExistsError), unlike a rename
    finally:
        Path(tmp).unlink(missing_ok=True)


class StoreError(ValueError):
    """A private store that cannot be read or is not one."""


Record = tuple[str, int, str, list[int]]  # id, row, nonce (hex), balances in base units


class PrivateStore:
    """A private store opened read-only. Anything it holds that is not what `write_store`
    writes raises StoreError (a damaged store), here or when the records are read."""

    #: (batch index, the users' tree over the batch roots), set by `batches.open_stores`:
    #: the files reach the users' root through the batch's root.
    placement: tuple[int, list[np.ndarray]] | None = None

    def __init__(self, directory: Path):
        self.path = directory / STORE_NAME
        if not os.path.lexists(self.path):
            raise StoreError(f"{self.path}: no private store here (no such file)")
        try:  # a FIFO or a device would block sqlite or be read as a database
            check_regular(self.path, "a private store (an SQLite file)")
        except InputError as e:
            raise StoreError(str(e)) from None
        try:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            meta = dict(self.db.execute("SELECT key, value FROM meta"))
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: not a private store ({e})") from None
        if meta.get("format") != STORE_FORMAT:
            raise StoreError(f"{self.path}: format: not a {STORE_FORMAT} store")
        try:
            self.identity = StoreIdentity(
                str(meta["issuer"]),
                str(meta["as_of"]),
                int(meta["users_padded"]),
                tuple(str(x) for x in json.loads(meta["symbols"])),
                tuple(int(x) for x in json.loads(meta["decimals"])),
                str(meta["leaves_root"]),
            )
            n = self.identity.users_padded
            leaves = np.frombuffer(meta["leaves"], dtype="<u4").astype(np.uint64)
            self.leaves = leaves.reshape(n, DIGEST)
        except (KeyError, ValueError, TypeError) as e:
            raise StoreError(
                f"{self.path}: damaged private store ({type(e).__name__}: {e})"
            ) from None
        if elements_hex(self.tree[-1][0]) != self.identity.leaves_root:
            raise StoreError(f"{self.path}: damaged private store: the leaves are not the root's")

    @cached_property
    def tree(self) -> list[np.ndarray]:
        """The Merkle tree over the leaves (`tree_levels`), built once for every export."""
        try:
            return tree_levels(self.leaves)
        except ValueError as e:
            raise StoreError(f"{self.path}: damaged private store: leaves: {e}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> PrivateStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _query(self, sql: str, *args) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, args)
        except (sqlite3.Error, UnicodeError) as e:
            raise StoreError(f"{self.path}: damaged private store ({e})") from None

    def _record(self, r: tuple) -> Record:
        """A users row, checked: text id, a row below n, a 5-element nonce, K balances."""
        try:
            uid, row, nonce, balances = r
            balances = [int(b) for b in json.loads(balances)]
            parse_elements_hex(nonce, NONCE_ELEMENTS)
            ok = isinstance(uid, str) and isinstance(row, int) and 0 <= row < len(self.leaves)
            if not ok or len(balances) != len(self.identity.symbols):
                raise ValueError("a user record is malformed")
        except (ValueError, TypeError) as e:
            raise StoreError(f"{self.path}: damaged private store: {e}") from None
        return uid, row, nonce, balances

    def count(self) -> int:
        return self._query("SELECT COUNT(*) FROM users").fetchone()[0]

    def user(self, user_id: str) -> Record | None:
        """The user's record, or None if the store has no such user."""
        row = self._query("SELECT * FROM users WHERE id = ?", user_id).fetchone()
        return None if row is None else self._record(row)

    def users(self, batch: int = 4096) -> Iterator[list[Record]]:
        """Every record, in row order, `batch` at a time."""
        cursor = self._query("SELECT * FROM users ORDER BY row")
        while True:
            try:
                records = cursor.fetchmany(batch)
            except sqlite3.Error as e:
                raise StoreError(f"{self.path}: damaged private store ({e})") from None
            if not records:
                return
            yield [self._record(r) for r in records]


def inclusion_documents(store: PrivateStore, records: Sequence[Record]) -> list[dict]:
    """The inclusion files of these users of one batch: one tree for all of them; each path
    goes on from the batch's root to the users' root (`PrivateStore.placement`)."""
    ident = store.identity
    if store.placement is None:
        raise StoreError(f"{store.path}: the store is not placed in its publication")
    b, top = store.placement
    above = paths_in(top, [b])[0]
    paths = [
        np.concatenate([path, above]) for path in paths_in(store.tree, [r[1] for r in records])
    ]
    return [
        {
            "format": INCLUSION_FORMAT,
            "issuer": ident.issuer,
            "as_of": ident.as_of,
            "user_id": uid,
            "batch": b,
            "row": row,
            "nonce": nonce,
            "balances": {
                sym: coins(b, dec)
                for sym, dec, b in zip(ident.symbols, ident.decimals, bal, strict=True)
            },
            "users_root": elements_hex(top[-1][0]),
            "path": [elements_hex(sibling) for sibling in path],
        }
        for (uid, row, nonce, bal), path in zip(records, paths, strict=True)
    ]


def document_bytes(document: dict) -> bytes:
    """An inclusion file's bytes: indented JSON, UTF-8."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def inclusion_filename(user_id: str) -> str:
    """A user's file name in an export folder (`solvency.ids.id_filename`): safe on every
    operating system, injective."""
    return id_filename(user_id)


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


def export_all(
    stores: Sequence[PrivateStore], out: Path, on_progress: Callable[[int], None] | None = None
) -> int:
    """Every user's file into the new folder OUT (`inclusion_filename`), plus index.csv (id,
    row, file). Written in a temporary folder beside OUT, renamed to OUT when complete, so
    that OUT is never half-written. on_progress(k) is called after each k users. Returns the
    number of files."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        index = ["id,row,file"]
        for store, records in ((s, r) for s in stores for r in s.users()):
            for document in inclusion_documents(store, records):
                name = inclusion_filename(document["user_id"])
                try:  # O_EXCL: two users never share a file, 0600: each is secret
                    fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:  # a case-insensitive file system folded two ids
                    name = hashed_filename(document["user_id"])
                    fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(document_bytes(document))
                where = f"{document['batch']}:{document['row']}"
                index.append(f"{_csv_field(document['user_id'])},{where},{name}")
            if on_progress is not None:
                on_progress(len(records))
        (tmp / "index.csv").write_text("\n".join(index) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(index) - 1


# -- checking a user's file --------------------------------------------------------------------
@dataclass(frozen=True)
class InclusionClaim:
    """An inclusion file, parsed (well-formed, not yet checked)."""

    issuer: str
    as_of: str
    user_id: str
    batch: int
    row: int
    nonce: np.ndarray
    balances: dict[str, str]  # symbol -> decimal string, as in the file
    users_root: np.ndarray
    path: list[np.ndarray]


def parse_inclusion(data: object) -> InclusionClaim:
    """Check the shape of an inclusion file's JSON; raises ValueError("field: problem")."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if data.get("format") != INCLUSION_FORMAT:
        raise ValueError(f"format: expected {INCLUSION_FORMAT!r}, got {data.get('format')!r}")
    for name in data:
        if name not in INCLUSION_FIELDS:
            raise ValueError(f"{name}: unknown field")
    for name in INCLUSION_FIELDS:
        if name not in data:
            raise ValueError(f"{name}: missing field")
    for name in ("issuer", "as_of", "user_id"):
        if not isinstance(data[name], str):
            raise ValueError(f"{name}: expected a string")
    for name in ("batch", "row"):
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
            raise ValueError(f"{name}: expected a non-negative integer")
    balances = data["balances"]
    if not isinstance(balances, dict) or not all(isinstance(v, str) for v in balances.values()):
        raise ValueError('balances: expected {"SYMBOL": "decimal", ...}')
    if not isinstance(data["path"], list) or len(data["path"]) > 64:
        raise ValueError("path: expected a list of hashes")
    fields = {"nonce": (data["nonce"], NONCE_ELEMENTS), "users_root": (data["users_root"], DIGEST)}
    parsed = {}
    for name, (text, count) in fields.items():
        try:
            parsed[name] = parse_elements_hex(text, count)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    path = []
    for d, text in enumerate(data["path"]):
        try:
            path.append(parse_elements_hex(text, DIGEST))
        except ValueError as e:
            raise ValueError(f"path[{d}]: {e}") from None
    return InclusionClaim(
        data["issuer"],
        data["as_of"],
        data["user_id"],
        data["batch"],
        data["row"],
        parsed["nonce"],
        dict(balances),
        parsed["users_root"],
        path,
    )


class NotIncluded(Exception):
    """The file does not show the user's balances in the published root: why, in plain words."""


def check_inclusion(claim: InclusionClaim, published: PublishedStatement) -> list[int]:
    """Check a parsed inclusion file against a publication's statement and its users' root.

    Returns the user's balances in base units, in the statement's asset order. Raises
    NotIncluded with the reason: another issuer, date or root (another publication), balances
    for other assets or not exact in the asset's decimals, a batch, row or path that cannot
    belong to this publication, or a leaf (recomputed from id, nonce and balances) that the
    path does not lead to the root.
    """
    s = published
    if (claim.issuer, claim.as_of) != (s.issuer, s.as_of):
        raise NotIncluded(
            f"this file is for the proof of {claim.issuer!r} as of {claim.as_of!r}, but the "
            f"published proof is {s.issuer!r}'s as of {s.as_of!r}"
        )
    if elements_hex(claim.users_root) != s.users_root:
        raise NotIncluded(
            "this file's root is not the published proof's: it belongs to another snapshot "
            "or was changed"
        )
    if list(claim.balances) != list(s.symbols):
        raise NotIncluded(
            f"this file lists the assets {', '.join(map(repr, claim.balances))}, the proof has "
            f"{', '.join(map(repr, s.symbols))}"
        )
    balances = []
    for sym, dec in zip(s.symbols, s.decimals, strict=True):
        try:
            balances.append(parse_amount(claim.balances[sym], dec))
        except ValueError as e:
            raise NotIncluded(f"your {sym} balance cannot have been counted: {e}") from None
    if claim.batch >= s.count:
        raise NotIncluded(f"this file names batch {claim.batch}; there are {s.count}")
    # the users' tree over the batch roots: batch b's rows follow b * n (every batch before the
    # last has n rows; the last may have fewer, and its subtree is then the shallower)
    n = s.batches[claim.batch].users_padded
    width = 1 << max(0, (s.count - 1).bit_length())
    leaves = n * width
    if claim.row >= n or len(claim.path) != leaves.bit_length() - 1:
        raise NotIncluded(
            f"this file's position (row {claim.row}, a path of {len(claim.path)} hashes) "
            f"cannot belong to a batch of {n:,} rows in {s.count} batch(es)"
        )
    try:
        leaf = user_leaf(claim.user_id, claim.nonce, balances)
    except ValueError as e:  # an id with no UTF-8 form
        raise NotIncluded(f"the user id {claim.user_id!r} cannot be hashed: {e}") from None
    root = parse_elements_hex(s.users_root, DIGEST)
    if not verify_leaf_path(root, claim.batch * n + claim.row, leaf, claim.path, num_leaves=leaves):
        raise NotIncluded(
            "your id, nonce and balances, with this file's path, do not lead to the published "
            "root: these balances are not the ones the exchange committed for you at row "
            f"{claim.row}, or the file was changed"
        )
    return balances
