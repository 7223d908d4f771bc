"""Writing a publication (statement.py): each batch's files as the batch completes, then the
aggregation proof and statement.json last, so that a statement never names a file that is not
there. Every file is written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solvency.files import write_atomically
from solvency.publication.encoding import json_bytes
from solvency.publication.statement import (
    AGGREGATE_NAME,
    LEAVES_NAME,
    PROOF_NAME,
    STATEMENT_NAME,
    PublishedStatement,
    batch_dir,
)


def leaves_bytes(leaves: np.ndarray) -> bytes:
    """leaves.bin: (n, 8) elements as little-endian 32-bit words, row by row."""
    return np.asarray(leaves, dtype="<u4").tobytes()


def write_batch_files(out: Path, index: int, leaves: np.ndarray, proof: bytes) -> None:
    """Batch `index`'s leaves.bin and proof.bin."""
    where = batch_dir(out, index)
    write_atomically(where / LEAVES_NAME, leaves_bytes(leaves))
    write_atomically(where / PROOF_NAME, proof)


def write_statement(
    out: Path, statement: PublishedStatement, aggregate_proof: bytes | None
) -> dict:
    """The aggregation proof (with several batches), then statement.json; returns the
    statement's document."""
    document = statement.document()
    if aggregate_proof is not None:
        write_atomically(out / AGGREGATE_NAME, aggregate_proof)
    write_atomically(out / STATEMENT_NAME, json_bytes(document))
    return document
