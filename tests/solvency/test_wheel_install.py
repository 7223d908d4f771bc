"""The install line that docs/install.md and the README give a customer: the wheel built from
this repository (`make dist`), installed alone into a fresh virtual environment (verify only:
numpy, click and rich from the index). Its `solvency` starts, and verifies a publication made
by the full install. (`pip install stark-solvency`, the line given before, found nothing.)"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
#: What the wheel is built from (a copy: building in the checkout would write build/ there).
SOURCES = ("pyproject.toml", "README.md", "stark", "circuits", "solvency")
VERIFY_ONLY = re.compile(r"`pip install (dist/stark_solvency-[^`\s]+\.whl)`")


def run(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a command; it must succeed."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


def documented_wheel() -> str:
    """The wheel the documents' verify-only line installs, the same in both."""
    found = {
        name: VERIFY_ONLY.findall(" ".join((ROOT / name).read_text().split()))
        for name in ("docs/install.md", "README.md")
    }
    assert all(found.values()), f"no verify-only install line of the wheel: {found}"
    (wheel,) = {paths[0] for paths in found.values()}
    return wheel


def build_wheel(into: Path) -> Path:
    """`pip wheel --no-deps -w INTO/dist` of a copy of the sources, as `make dist` does."""
    source = into / "source"
    source.mkdir()
    skip = shutil.ignore_patterns("__pycache__")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copy(ROOT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
        into / "dist", source)  # fmt: skip
    (wheel,) = (into / "dist").glob("*.whl")
    return wheel


def test_the_documented_wheel_installs_and_verifies(tmp_path, honest_proof):
    documented = documented_wheel()
    wheel = build_wheel(tmp_path)
    assert wheel == tmp_path / documented, "the documents name another wheel than make dist's"
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    # this environment's pip installs into the new one (pip's cache is reused)
    pip = (sys.executable, "-m", "pip", "--python", venv / "bin" / "python")
    run(*pip, "install", "--quiet", wheel)
    solvency = venv / "bin" / "solvency"
    assert run(solvency, "--version").stdout.strip() == "solvency, version 0.1.0"
    assert "verify-inclusion" in run(solvency, "--help").stdout
    assert "numba" not in run(*pip, "list").stdout  # verify only: no prover's package
    assert "VALID" in run(solvency, "verify", honest_proof).stdout
