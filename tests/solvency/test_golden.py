"""Every publication ever frozen keeps verifying (tests/golden/README.md): the format is a
contract, read forever. These fail if a change to the reader, the checker, the AIRs or the
verifier stops accepting what an earlier version published."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from solvency.cli import main

GOLDEN = Path(__file__).parent.parent / "golden"
PUBLICATIONS = sorted(p.parent for p in GOLDEN.glob("*/*/statement.json"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_there_are_golden_publications():
    assert {p.name for p in PUBLICATIONS} >= {"one-batch", "three-batches"}
    assert {p.parent.name for p in PUBLICATIONS} >= {"publication-1", "publication-2"}


@pytest.mark.parametrize("publication", PUBLICATIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_golden_publication_verifies(publication):
    result = run("verify", publication, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    document = json.loads((publication / "statement.json").read_text())
    assert report["verdict"] == "valid" and report["batches"] == len(document["batches"])
    assert [a["total"] for a in report["assets"]] == [a["total"] for a in document["assets"]]
    if document["format"] != "stark-solvency-publication/1":  # equity, debt and tables
        for got, published in zip(report["assets"], document["assets"], strict=True):
            assert (got["equity"], got["debt"]) == (published["equity"], published["debt"])
            assert got["haircut"] == published["haircut"]


@pytest.mark.parametrize("publication", PUBLICATIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_golden_inclusion_file_is_included(publication):
    (file,) = publication.parent.glob(f"{publication.name}-user-*.json")
    user = json.loads(file.read_text())["user_id"]
    result = run("verify-inclusion", file, "--published", publication, "--user", user)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .startswith(f"INCLUDED: your balances as user {user!r}")
    )


def test_a_changed_golden_publication_does_not_verify(tmp_path):
    """The golden test can fail: one total changed in a copy is refused."""
    import shutil

    copy = Path(shutil.copytree(GOLDEN / "publication-1" / "three-batches", tmp_path / "p"))
    document = json.loads((copy / "statement.json").read_text())
    document["assets"][0]["total_base_units"] = str(
        int(document["assets"][0]["total_base_units"]) - 1
    )
    document["assets"][0]["total"] = (
        f"{Decimal(document['assets'][0]['total_base_units']).scaleb(-8):f}"
    )
    (copy / "statement.json").write_text(json.dumps(document))
    result = run("verify", copy)
    assert result.exit_code == 1 and "INVALID: the proof does not match" in result.stdout


def test_format_1_says_what_it_lacks():
    """A publication of format 1 (an exchange may still make one with an old version) gets a
    WARNING and a verdict that say it has no equity, debt or haircut rule (a cold attack
    showed that a format-1 publication hides what format 2 shows, in silence)."""
    result = CliRunner().invoke(main, ["verify", str(GOLDEN / "publication-1" / "one-batch")])
    assert result.exit_code == 0, result.output
    verdict = " ".join(result.stdout.split("VALID: ")[-1].split())
    assert "(format 1: without equity, debt or haircut tables)" in verdict
    assert "WARNING: this publication is format 1" in " ".join(result.stdout.split())
