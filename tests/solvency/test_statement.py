"""statement.json trusts nothing the prover wrote (issue 8, part 7).

Each attack publishes an honest proof, then edits statement.json as a dishonest exchange (or a
man in the middle) would, and checks that `solvency verify` refuses it: exit 1 (INVALID, a false
statement) or exit 2 (malformed input), with one clear line naming the field.

Why these passed before (the code of commit 71f1dd9): `read_published` built the Statement from
integer_price, total_base_units, symbols, decimals, quote, scale and users_padded only; it never
read `price`, `preset`, `security` or any unknown key; `json.loads` kept the last of duplicate
keys; `Statement` accepted duplicate symbols; `verify` printed `data["security"]` as written and
accepted any parameter block with at least 100 conjectured bits. There was no issuer or time.
"""

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from circuits.solvency import Statement
from solvency.cli import main
from solvency.inclusion import witness
from solvency.publish import (
    STATEMENT_FORMAT,
    leaves_bytes,
    solvency_air,
    statement_json,
    write_atomically,
)
from solvency.snapshot import load_assets, load_snapshot, parse_as_of
from stark.params import PRESETS
from stark.prover import prove

from .conftest import ASSETS, IDENTITY, SNAPSHOT

SECURITY_FIGURES = "INVALID: the security figures in statement.json are not what"
DOES_NOT_MATCH = "INVALID: the proof does not match this statement"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def make_inputs(directory: Path, assets: dict = ASSETS, snapshot: str = SNAPSHOT):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "assets.json").write_text(json.dumps(assets))
    (directory / "snapshot.csv").write_text(snapshot)
    return directory / "snapshot.csv", directory / "assets.json"


def edit(directory: Path, change) -> None:
    path = directory / "statement.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def verdict(result) -> tuple[str, str]:
    """The last two lines of verify's output: the verdict and the detail."""
    lines = result.stdout.strip().splitlines()
    assert sum(line.startswith(("VALID", "INVALID")) for line in lines) <= 1
    return lines[-2], lines[-1]


def asset(name: str):
    return lambda d: next(a for a in d["assets"] if a["symbol"] == name)


def set_in(path: tuple, value):
    def change(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def rescale(document: dict, scale: int) -> None:
    """Change the price scale and every decimal price with it, consistently."""
    document["price_scale"] = scale
    for a in document["assets"]:
        a["price"] = f"{Decimal(a['integer_price']).scaleb(a['decimals'] - scale):f}"


# -- false statements: exit 1 -------------------------------------------------------------------
#: name -> (edit, the field the detail line names, the verdict's start)
FALSE = {
    # the decimal price is recomputed from integer_price and the scale
    "price": (set_in(("assets", 0, "price"), "1"), "BTC.price", "INVALID: statement.json says"),
    "price, trailing digit": (
        set_in(("assets", 0, "price"), "97000.1200001"),
        "BTC.price",
        "INVALID: statement.json says",
    ),
    # the decimal total is recomputed from total_base_units
    "total": (set_in(("assets", 1, "total"), "1.0"), "ETH.total", "INVALID: statement.json says"),
    # security figures are recomputed, never printed as written
    "security, provable": (
        set_in(("security", "provable_bits"), 128.0),
        "security.provable_bits",
        SECURITY_FIGURES,
    ),
    "security, conjectured": (
        set_in(("security", "conjectured_bits"), 200.0),
        "security.conjectured_bits",
        SECURITY_FIGURES,
    ),
    "security, a term": (
        lambda d: d["security"]["terms"].update(fri_query=300.0),
        "security.terms",
        SECURITY_FIGURES,
    ),
    "security, regimes text": (
        set_in(("security", "regimes"), "provable: list decoding"),
        "security.regimes",
        SECURITY_FIGURES,
    ),
    # the preset is the name of the preset whose block the proof carries
    "preset": (set_in(("preset",), "fast"), "preset", "INVALID: statement.json misreports"),
    "preset, null": (set_in(("preset",), None), "preset", "INVALID: statement.json misreports"),
    # params must be the proof's own block
    "params": (
        set_in(("params",), dataclasses.asdict(PRESETS["fast"])),
        "params",
        "INVALID: statement.json misreports",
    ),
    "params, one knob": (
        set_in(("params", "num_queries"), 101),
        "params",
        "INVALID: statement.json misreports",
    ),
    "zero_knowledge": (
        set_in(("zero_knowledge",), False),
        "zero_knowledge",
        "INVALID: statement.json misreports",
    ),
    "insecure_seeded alone": (
        set_in(("insecure_seeded",), True),
        "zero_knowledge",
        "INVALID: statement.json misreports",
    ),
    "proof_bytes": (set_in(("proof_bytes",), 1), "proof_bytes", "INVALID: proof.bin is not"),
    "proof_sha256": (
        set_in(("proof_sha256",), "00" * 32),
        "proof_sha256",
        "INVALID: proof.bin is not",
    ),
    # bound into the transcript: the proof no longer matches
    "issuer": (set_in(("issuer",), "Another Exchange"), None, DOES_NOT_MATCH),
    "as_of": (set_in(("as_of",), "2025-05-31T23:59:59Z"), None, DOES_NOT_MATCH),
    "quote": (set_in(("quote",), "EUR"), None, DOES_NOT_MATCH),
    "both seed flags": (
        lambda d: d.update(insecure_seeded=True, zero_knowledge=False),
        None,
        DOES_NOT_MATCH,
    ),
    "integer price, consistently": (
        lambda d: d["assets"][0].update(integer_price="9700013", price="97000.13"),
        None,
        DOES_NOT_MATCH,
    ),
    "price scale, consistently": (lambda d: rescale(d, 11), None, DOES_NOT_MATCH),
    "users_padded": (
        set_in(("users_padded",), 1024),
        "users_padded",
        "INVALID: statement.json says",
    ),
}


@pytest.mark.parametrize("case", FALSE)
def test_false_statement_is_invalid(published, case):
    change, field, start = FALSE[case]
    edit(published, change)
    result = run("verify", published)
    assert result.exit_code == 1, result.output
    line, detail = verdict(result)
    assert line.startswith(start), line
    assert detail.startswith("detail: ")
    if field is not None:
        assert f"statement.json: {field}: " in detail
    assert "Traceback" not in result.output


# -- malformed statements: exit 2 ---------------------------------------------------------------
MALFORMED = {
    "unknown field": (lambda d: d.update(audited_by="Big Four"), "audited_by: unknown field"),
    "unknown asset field": (
        lambda d: d["assets"][0].update(note="cold wallet"),
        "assets[0].note: unknown field",
    ),
    "missing security": (lambda d: d.pop("security"), "security: missing field"),
    "unknown security field": (
        lambda d: d["security"].update(list_decoding_bits=150.0),
        "security.list_decoding_bits: unknown field",
    ),
    "duplicate symbol": (
        set_in(("assets", 1, "symbol"), "BTC"),
        "assets[1].symbol: duplicate asset symbol 'BTC'",
    ),
    "old format": (set_in(("format",), "stark-solvency-statement/1"), "format: unknown format"),
    "as_of not canonical": (
        set_in(("as_of",), "2025-06-30T23:59:59+00:00"),
        "not a canonical UTC time",
    ),
    "empty issuer": (set_in(("issuer",), ""), "issuer"),
    "boolean scale": (set_in(("price_scale",), True), "price_scale: expected an integer"),
    "float users": (set_in(("users_padded",), 512.0), "users_padded: expected an integer"),
    "price with exponent": (
        set_in(("assets", 0, "price"), "9.700012E+4"),
        "assets[0].price: expected a plain decimal string",
    ),
    "integer price as number": (
        set_in(("assets", 0, "integer_price"), 9700012),
        "BTC.integer_price: expected a string",
    ),
    "seed flag as string": (set_in(("insecure_seeded",), "no"), "insecure_seeded: expected true"),
    # Cyrillic letters that look like BTC: a reserves file for "BTC" would match the wrong line
    "look-alike symbol": (
        set_in(("assets", 0, "symbol"), "\u0412\u0422\u0421"),
        "an asset symbol 'ВТС' must be 1 to 32 ASCII letters",
    ),
    "look-alike quote": (set_in(("quote",), "\u0055SD\u200b"), "the quote currency"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_statement_is_refused(published, case):
    change, message = MALFORMED[case]
    edit(published, change)
    result = run("verify", published)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "statement.json: " in lines[0] and message in lines[0], lines


def test_duplicate_json_keys_are_refused(published):
    """With plain json.loads the last "issuer" wins, so the file could show two issuers."""
    path = published / "statement.json"
    text = path.read_text()
    path.write_text(text.replace('"issuer": ', '"issuer": "Someone Else",\n  "issuer": ', 1))
    result = run("verify", published)
    assert result.exit_code == 2
    assert "duplicate key 'issuer'" in result.stderr


def test_nan_is_refused(published):
    path = published / "statement.json"
    path.write_text(path.read_text().replace('"provable_bits": ', '"provable_bits": NaN, "x": ', 1))
    result = run("verify", published)
    assert result.exit_code == 2 and "NaN is not a number" in result.stderr


# -- the attacks of the issue, reproduced end to end ---------------------------------------------
def test_zero_price_published_as_a_real_price(tmp_path):
    """Issue 8: an honest proof at BTC integer price 0 (a user 10 BTC in debt is then 'solvent')
    was published with "price": "97000.12" and verify accepted it."""
    assets = json.loads(json.dumps(ASSETS))
    assets["assets"][0]["price"] = "0"
    snapshot, assets_path = make_inputs(tmp_path, assets, "id,BTC,USDT\ndebtor,-10,1\nholder,12,\n")
    out = tmp_path / "out"
    proved = run(
        "prove",
        snapshot,
        "--assets",
        assets_path,
        "--out",
        out,
        "--private",
        out.parent / "private",
        *IDENTITY,
    )
    assert proved.exit_code == 0, proved.stderr
    honest = run("verify", out)
    assert honest.exit_code == 0  # honest: the price 0 is shown as 0, with a warning
    assert "warning: BTC priced at 0: negative balances in it do not lower" in honest.stdout
    edit(out, set_in(("assets", 0, "price"), "97000.12"))
    result = run("verify", out)
    assert result.exit_code == 1
    assert "BTC.price: 97000.12 is not the proved price 0" in result.stdout


def _publish_with(tmp_path: Path, params, preset_field) -> Path:
    """A proof made with the library at `params` and published next to its statement."""
    snapshot, assets_path = make_inputs(tmp_path)
    assets = load_assets(assets_path)
    snap = load_snapshot(snapshot, assets)
    wit = witness(assets.market(), snap.ids, snap.balances)
    statement = dataclasses.replace(
        wit.statement, issuer="Test Exchange", as_of="2025-06-30T23:59:59Z"
    )
    air = solvency_air(statement, wit.leaves)
    proof = prove(air, wit.trace, params).to_bytes()
    document = statement_json(air, params, proof)
    document["preset"] = preset_field
    out = tmp_path / "out"
    write_atomically(out / "leaves.bin", leaves_bytes(wit.leaves))
    write_atomically(out / "proof.bin", proof)
    write_atomically(out / "statement.json", json.dumps(document).encode())
    return out


@pytest.mark.parametrize("preset_field", [None, "proven"])
def test_parameters_outside_the_presets_are_refused(tmp_path, preset_field):
    """The proof's parameters are the prover's choice; the verifier accepts only the presets'
    exact blocks (before: any block with 100 conjectured bits, whatever the statement said)."""
    params = dataclasses.replace(PRESETS["proven"], num_queries=120)  # more queries, still not ok
    out = _publish_with(tmp_path, params, preset_field)
    result = run("verify", out)
    assert result.exit_code == 1
    line, detail = verdict(result)
    assert line.startswith(
        "INVALID: the proof uses security parameters this verifier does not accept"
    )
    assert "none of the accepted presets" in detail


def test_verify_prints_only_recomputed_security(honest_proof):
    document = json.loads((honest_proof / "statement.json").read_text())
    result = run("verify", honest_proof)
    expected = (
        f"{document['security']['provable_bits']:.1f} bits provable (unique decoding), "
        f"{document['security']['conjectured_bits']:.1f} bits conjectured"
    )
    assert "recomputed" in result.stdout and expected in result.stdout


# -- the Statement dataclass and its encoding ----------------------------------------------------
def base_statement(**changes) -> Statement:
    fields = dict(
        quote="USD",
        scale=10,
        symbols=("BTC", "ETH"),
        decimals=(8, 8),
        prices=(9700012, 340055),
        totals=(49000000, 2599000000),
        trace_len=512,
        issuer="Test Exchange",
        as_of="2025-06-30T23:59:59Z",
    )
    fields.update(changes)
    return Statement(**fields)


def test_statement_refuses_duplicate_symbols():
    with pytest.raises(ValueError, match="duplicate asset symbol 'BTC'"):
        base_statement(symbols=("BTC", "BTC"))


@pytest.mark.parametrize(
    "as_of",
    ["2025-06-30T23:59:59", "2025-06-30T23:59:59+00:00", "2025-06-30 23:59:59Z",
     "2025-02-30T00:00:00Z", "2025-06-30T23:59:59.000000Z"],
)  # fmt: skip
def test_statement_refuses_a_non_canonical_time(as_of):
    with pytest.raises(ValueError, match="canonical UTC"):
        base_statement(as_of=as_of)


@pytest.mark.parametrize("issuer", [" padded", "tab\there", "x" * 257])
def test_statement_refuses_a_strange_issuer(issuer):
    with pytest.raises(ValueError, match="issuer"):
        base_statement(issuer=issuer)


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "Test Exchange Ltd"},
        {"as_of": "2025-06-30T23:59:58Z"},
        {"insecure_seeded": True},
        {"quote": "EUR"},
        {"scale": 11},
        {"decimals": (8, 7)},
        {"prices": (9700012, 340056)},
        {"totals": (49000000, -2599000000)},
        {"symbols": ("BTC", "ETC")},
        {"trace_len": 1024},
    ],
)
def test_every_field_is_in_the_encoding(change):
    assert base_statement(**change).encode() != base_statement().encode()


def test_encoding_is_length_prefixed():
    """Moving characters between adjacent text fields changes the bytes."""
    a = base_statement(issuer="AB", as_of="2025-06-30T23:59:59Z")
    b = base_statement(quote="USDA", issuer="B", as_of="2025-06-30T23:59:59Z")
    assert a.encode() != b.encode()
    assert base_statement(issuer="").encode() != base_statement(issuer="T").encode()


def test_parse_as_of_normalises_to_utc():
    assert parse_as_of("2025-07-01T01:59:59+02:00") == "2025-06-30T23:59:59Z"
    assert parse_as_of("2025-06-30T23:59:59.250Z") == "2025-06-30T23:59:59.250000Z"
    for bad in ("2025-06-30", "yesterday", "2025-06-30T23:59:59"):
        with pytest.raises(ValueError):
            parse_as_of(bad)


def test_format_tag():
    assert STATEMENT_FORMAT.endswith("/3")
