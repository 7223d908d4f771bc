"""Write web/test/fixtures/python_values.json: values computed by the Python reference
(circuits/leaf.py, circuits/poseidon2.py, solvency/inclusion.py) that web/test/leaf.test.js
checks the JavaScript against. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python web/tools/export_python_values.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from circuits.leaf import (
    encode_id,
    id_commitment,
    leaf_hash,
    leaves_root,
    pack_limbs,
    paths_in,
    tree_levels,
)
from circuits.poseidon2 import compress, hash_elements
from circuits.solvency import offset_limbs
from solvency.inclusion import user_leaf
from stark.field import P

OUT = Path(__file__).resolve().parents[1] / "test" / "fixtures" / "python_values.json"


def ints(a) -> list:
    return np.asarray(a).astype(np.int64).tolist()


def main() -> None:
    rng = np.random.default_rng(20261205)
    ids = [
        "",
        "\x00",
        "a",
        "a\x00",
        "a\x00\x00",
        "user-0007",
        "é",
        "e\u0301",
        "李小龙",
        "🙂x",
        "x" * 100,
    ]
    out: dict = {"encode_id": [], "id_commitment": [], "hash": [], "compress": [], "limbs": []}
    for uid in ids:
        nonce = rng.integers(0, P, 5)
        out["encode_id"].append({"id": uid, "encoded": ints(encode_id(uid))})
        out["id_commitment"].append(
            {"id": uid, "nonce": ints(nonce), "idc": ints(id_commitment(uid, nonce))}
        )
    for width in (16, 24):
        for m in (1, 2, 7, 8, 9, 15, 16, 17, 33, 60):
            x = rng.integers(0, P, m)
            out["hash"].append(
                {"width": width, "input": ints(x), "digest": ints(hash_elements(x[None], width)[0])}
            )
    for _ in range(8):
        a, b = rng.integers(0, P, 8), rng.integers(0, P, 8)
        out["compress"].append({"left": ints(a), "right": ints(b), "out": ints(compress(a, b))})
    edge = [0, 1, -1, (1 << 63) - 1, -(1 << 63), 15000000000, -11000000000000]
    for b in edge + [int(v) for v in rng.integers(-(1 << 62), 1 << 62, 5)]:
        out["limbs"].append(
            {"balance": str(b), "limbs": ints(offset_limbs(np.array([[b]], dtype=np.int64))[0, 0])}
        )
    out["pack"] = []
    out["leaf"] = []
    for k in (1, 2, 3, 4, 22):
        bal = rng.integers(-(1 << 63), (1 << 63) - 1, k, dtype=np.int64, endpoint=True)
        limbs = offset_limbs(bal[None])[0]
        idc = rng.integers(0, P, 8)
        out["pack"].append({"limbs": ints(limbs), "packed": ints(pack_limbs(limbs))})
        out["leaf"].append(
            {
                "idc": ints(idc),
                "limbs": ints(limbs),
                "w16": ints(leaf_hash(idc, limbs, 16)[0]),
                "w24": ints(leaf_hash(idc, limbs, 24)[0]),
            }
        )
    nonce = rng.integers(0, P, 5)
    bal = [15000000000, -11000000000000, 50]
    out["user_leaf"] = {
        "id": "user-0007",
        "nonce": ints(nonce),
        "balances": [str(b) for b in bal],
        "leaf": ints(user_leaf("user-0007", nonce, bal)),
    }
    leaves = rng.integers(0, P, (16, 8))
    levels = tree_levels(leaves)
    out["tree"] = {
        "leaves": ints(leaves),
        "root": ints(leaves_root(leaves)),
        "paths": ints(paths_in(levels, list(range(16)))),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
