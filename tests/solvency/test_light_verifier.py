"""The verify-only install: `solvency verify` and `verify-inclusion` in a process where galois,
numba and the prover's other dependencies cannot be imported (docs/install.md), on
publications made with everything installed; and the STARK verifier's tests run on the numpy
field backend (STARK_FIELD=numpy), tampered proofs included."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency.cli import main
from solvency.publication.statement import batch_dir

from .test_batches import AS_OF, ISSUER, SIZE, inputs

ROOT = Path(__file__).resolve().parents[2]
#: What a verify-only install lacks: the [prove] extra and what it pulls in.
BLOCKED = ("galois", "numba", "llvmlite", "pandas", "pyarrow", "matplotlib", "dask", "distributed")
#: Run in the child before anything else: importing a blocked package raises ImportError.
BLOCKER = f"""
import sys
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"{{name}} is blocked (verify-only install)", name=name)
sys.meta_path.insert(0, _Blocker())
"""
CLI = BLOCKER + "from solvency.cli import main\nsys.exit(main())\n"


def light(*args: object, code: str = CLI, hash_seed: str | None = None):
    """Run `solvency ARGS` (or `code`) in a fresh interpreter without the prover's packages."""
    env = {k: v for k, v in os.environ.items() if k != "STARK_FIELD"}
    env["PYTHONPATH"] = str(ROOT)
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def verdict(result: subprocess.CompletedProcess) -> str:
    """The verdict line (VALID, INVALID, INCLUDED...), or everything printed if there is none."""
    lines = result.stdout.splitlines()
    found = [line for line in lines if line.split(":")[0] in ("VALID", "INVALID", "INCLUDED")]
    return found[0] if found else result.stdout + result.stderr


def test_the_blocker_blocks():
    """The control: in that process the prover's packages really are missing, and the field
    falls back to numpy."""
    for name in BLOCKED:
        result = light(code=BLOCKER + f"import {name}\n")
        assert result.returncode == 1 and "ModuleNotFoundError" in result.stderr, name
    probe = (
        BLOCKER
        + "import stark.field, stark.jit\nprint(stark.field.GF.__name__, stark.jit.HAVE_NUMBA)"
    )
    assert light(code=probe).stdout.split() == ["NumpyGF", "False"]


def test_verify_without_the_prover_packages(honest_proof, tmp_path):
    result = light("verify", honest_proof)
    assert result.returncode == 0, result.stderr
    assert verdict(result).startswith("VALID")

    tampered = Path(shutil.copytree(honest_proof, tmp_path / "tampered"))
    document = json.loads((tampered / "statement.json").read_text())
    asset = document["assets"][0]
    asset["total_base_units"] = str(int(asset["total_base_units"]) + 1)
    (tampered / "statement.json").write_text(json.dumps(document))
    refused = light("verify", tampered)
    assert refused.returncode == 1 and verdict(refused).startswith("INVALID"), refused.stdout

    # one bit of the proof, with the statement's hash of it updated: the STARK check refuses it
    damaged = Path(shutil.copytree(honest_proof, tmp_path / "damaged"))
    flip_a_bit_of_the_proof(damaged, 0)
    refused = light("verify", damaged)
    assert refused.returncode == 1 and verdict(refused).startswith("INVALID"), refused.stdout
    assert "detail: the proof: the proof is not valid" in refused.stdout


def flip_a_bit_of_the_proof(directory: Path, b: int) -> None:
    """One bit in the middle of batch b's proof.bin, its SHA-256 in statement.json updated (so
    that only the STARK verifier can tell)."""
    path = batch_dir(directory, b) / "proof.bin"
    proof = bytearray(path.read_bytes())
    proof[len(proof) // 2] ^= 1
    path.write_bytes(bytes(proof))
    document = json.loads((directory / "statement.json").read_text())
    document["batches"][b]["proof_sha256"] = hashlib.sha256(proof).hexdigest()
    (directory / "statement.json").write_text(json.dumps(document))


def test_verify_inclusion_without_the_prover_packages(honest_proof, tmp_path):
    file = tmp_path / "alice.json"
    private = honest_proof.parent / "private"
    exported = CliRunner().invoke(
        main, ["inclusion", "export", str(private), "--user", "alice", "--out", str(file)]
    )
    assert exported.exit_code == 0, exported.output
    result = light("verify-inclusion", file, "--published", honest_proof)
    assert result.returncode == 0, result.stderr
    assert verdict(result).startswith("INCLUDED: your balances as user 'alice'")


def test_a_batched_publication_without_the_prover_packages(tmp_path):
    """3 batches of up to 512 users and their aggregation, proved with everything installed
    in another process (with another hash seed: the published security block once depended on
    it)."""
    inputs(tmp_path)
    prove = [
        "prove", tmp_path / "snapshot.csv", "--assets", tmp_path / "assets.json",
        "--out", tmp_path / "out", "--private", tmp_path / "private", "--issuer", ISSUER,
        "--as-of", AS_OF, "--batch-size", SIZE, "--workers", "0",
    ]  # fmt: skip
    proved = light(*prove, code="from solvency.cli import main\nmain()\n", hash_seed="1")
    assert proved.returncode == 0, proved.stderr
    result = light("verify", tmp_path / "out", hash_seed="0")  # failed before 709bbc1
    assert result.returncode == 0, result.stderr
    assert verdict(result).startswith("VALID")
    damaged = Path(shutil.copytree(tmp_path / "out", tmp_path / "damaged"))
    flip_a_bit_of_the_proof(damaged, 1)
    refused = light("verify", damaged, hash_seed="0")
    assert refused.returncode == 1 and verdict(refused).startswith("INVALID"), refused.stdout
    assert "detail: batch 1: the proof is not valid" in refused.stdout
    statement = tmp_path / "out" / "statement.json"
    document = json.loads(statement.read_text())
    document["batches"] = document["batches"][:2]
    statement.write_text(json.dumps(document))
    dropped = light("verify", tmp_path / "out", hash_seed="0")
    assert dropped.returncode in (1, 2) and "Traceback" not in dropped.stderr
    assert "VALID:" not in dropped.stdout.replace("INVALID:", "")


@pytest.mark.skipif(os.environ.get("STARK_FIELD") == "numpy", reason="already on numpy")
def test_the_verifier_tests_on_the_numpy_backend():
    """The STARK tests of honest, tampered and malformed proofs (test_stark, test_fri,
    test_verifier_policy, test_proof_format; not the two 2^16-row proofs, for time) with GF the
    numpy backend in the test process. numba stays importable here (these tests prove, and a
    prover without numba runs its kernels as Python loops), so its kernels are used: the numpy
    paths of the kernels are covered by the publications verified above with numba blocked and
    by tests/stark/test_field_backend.py, which compares each with its kernel."""
    env = dict(os.environ, STARK_FIELD="numpy")
    probe = "import stark.field; print(stark.field.GF.__name__)"
    backend = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert backend.stdout.strip() == "NumpyGF"
    files = ["test_stark.py", "test_fri.py", "test_verifier_policy.py", "test_proof_format.py"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-p", "no:cacheprovider",
         "-k", "not 2_16_rows and not minimum_security", *(f"tests/stark/{f}" for f in files)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
