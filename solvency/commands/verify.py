"""`solvency verify`: check a publication (one proof, or batches and their aggregation) and
print the proved totals.

It trusts nothing in statement.json as written (see solvency/publish.py): every field is bound
into the proof's transcript or recomputed and compared. It accepts only the named presets'
exact parameter blocks and requires at least 100 provable bits, or, with
`--accept-conjectured-security` only, 100 conjectured bits; `--min-security` can only raise that
bar. It ends with one verdict line, `VALID: ...` or `INVALID: ...` (then a `detail:` line with
the technical reason); `--json` prints one JSON object instead."""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from circuits.solvency import Statement
from solvency import batched_publish, batches
from solvency.commands.common import (
    EXIT_INPUT,
    EXIT_INVALID,
    REQUIRED_BITS,
    VERIFIER_KERNELS,
    PipeConsole,
    announce_compilation,
    fail,
)
from solvency.publish import (
    Checked,
    Published,
    StatementMismatch,
    check_published,
    coins,
    plain,
    price_decimal,
    read_published,
)
from solvency.snapshot import InputError, load_reserves
from stark.params import PRESETS
from stark.proof import VerificationError
from stark.verifier import verify as verify_proof


def _reserves(path: Path | None, statement: Statement) -> dict[str, Decimal]:
    """The reserves file's amounts, for this statement's assets only (InputError otherwise)."""
    return {} if path is None else load_reserves(path, statement.symbols)


@dataclass(frozen=True)
class AssetLine:
    """One asset as `verify` reports it, every figure from the checked statement."""

    symbol: str
    price: str
    total: str
    reserves: str | None
    ratio_percent: float | None  # None without reserves or with zero liabilities
    below: bool  # reserves below liabilities, compared exactly


def asset_lines(statement: Statement, reserve: dict[str, Decimal]) -> list[AssetLine]:
    out = []
    for sym, dec, p_int, total in zip(
        statement.symbols, statement.decimals, statement.prices, statement.totals, strict=True
    ):
        held = reserve.get(sym)
        liabilities = Decimal(total).scaleb(-dec)
        ratio = None
        if held is not None and liabilities > 0:
            ratio = float(held / liabilities * 100)
        out.append(
            AssetLine(
                sym,
                plain(price_decimal(p_int, statement.scale, dec)),
                coins(total, dec),
                None if held is None else plain(held),
                ratio,
                held is not None and liabilities > 0 and held < liabilities,
            )
        )
    return out


def totals_table(
    statement: Statement, reserve: dict[str, Decimal] | None = None
) -> tuple[Table, list[str]]:
    """The proved per-asset prices and totals, with reserves and ratios when given; also the
    assets whose reserves fall below their liabilities."""
    table = Table()
    table.add_column("asset")
    table.add_column(f"price ({escape(statement.quote)})", justify="right")
    table.add_column("total owed to users", justify="right")
    if reserve:
        table.add_column("reserves", justify="right")
        table.add_column("reserve ratio", justify="right")
    below = []
    for line in asset_lines(statement, reserve or {}):
        row = [line.symbol, line.price, line.total]
        if reserve:
            if line.reserves is None:
                row += ["-", "-"]
            elif line.ratio_percent is None:
                row += [line.reserves, "n/a"]
            else:
                if line.below:
                    below.append(line.symbol)
                flag = "  [bold red]BELOW 100%[/]" if line.below else ""
                row += [line.reserves, f"{line.ratio_percent:.1f}%{flag}"]
        table.add_row(*row)
    return table, below


# -- verify ----------------------------------------------------------------------------------------
DOES_NOT_MATCH = (
    "the proof does not match this statement: the issuer, date, totals, prices, assets or "
    "parameters were changed, or the proof is corrupt"
)


def customer_reason(reason: str) -> str:
    """A VerificationError's reason in words a customer understands."""
    r = reason.lower()
    if r.startswith("malformed proof") or "format version" in r:
        return "the proof file is corrupt or is not a solvency proof"
    if "accepted" in r or "unacceptable" in r or " bits" in r:
        return "the proof's security parameters are not ones this verifier accepts"
    if "trace length" in r:
        return "the proof is for a different number of users than the statement says"
    return DOES_NOT_MATCH


def mismatch_reason(e: StatementMismatch) -> str:
    """A false statement.json in words a customer understands."""
    if e.field in ("proof_sha256", "proof_bytes"):
        return "proof.bin is not the proof this statement names: the files were changed or mixed up"
    if e.field == "params" and "none of the accepted presets" in str(e):
        return (
            "the proof uses security parameters this verifier does not accept "
            f"(only the presets {', '.join(sorted(PRESETS))})"
        )
    if e.field.startswith("security."):
        return (
            "the security figures in statement.json are not what the proof's parameters give "
            "for this statement: it was changed or is false; nothing in it can be relied on"
        )
    if e.field in ("params", "preset", "zero_knowledge"):
        return (
            f"statement.json misreports the proof's parameters or security ({e.field}); "
            "nothing in it can be relied on"
        )
    return (
        f"statement.json says something the proof does not prove ({e.field}); "
        "nothing in it can be relied on"
    )


class Verdict(Exception):
    """An INVALID verdict: the customer's sentence and the technical detail."""

    def __init__(self, message: str, detail: str):
        super().__init__(message)
        self.message, self.detail = message, detail


def _emit_json(document: dict) -> None:
    click.echo(json.dumps(document, indent=None))


def zero_priced(statement: Statement) -> list[str]:
    """The assets priced at 0: a debt in them costs a user nothing in value, so a row of such
    debts (a user who does not exist, say) could lower their total and still pass."""
    return [sym for sym, p in zip(statement.symbols, statement.prices, strict=True) if p == 0]


def verified_publication(pub: Published, regime: str, min_bits: float) -> Checked:
    """Check a publication in full: statement.json against what is recomputed (including the
    leaves' root), the security bar, and the STARK proof for the statement and the leaves.
    Returns the `Checked` publication; raises Verdict with the reason."""
    try:
        checked = check_published(pub)
    except StatementMismatch as e:
        raise Verdict(mismatch_reason(e), str(e)) from None
    except VerificationError as e:
        raise Verdict(customer_reason(e.reason), e.reason) from None
    report = checked.security
    bits = report.provable_bits if regime == "provable" else report.conjectured_bits
    if bits < min_bits:
        hint = (
            ""
            if regime == "conjectured"
            else "; a proof made with --preset fast is accepted only with "
            "--accept-conjectured-security"
        )
        raise Verdict(
            f"the proof's security is below what this verifier requires: {bits:.1f} "
            f"{regime} bits, fewer than {min_bits:g}{hint}",
            f"{checked.preset} preset: {report.provable_bits:.2f} provable bits, "
            f"{report.conjectured_bits:.2f} conjectured bits",
        )
    try:
        verify_proof(
            checked.air,
            checked.proof,
            accepted_params=list(PRESETS.values()),
            min_bits=min_bits,
            regime=regime,
        )
    except VerificationError as e:
        raise Verdict(customer_reason(e.reason), e.reason) from None
    return checked


def run_verify(
    directory: Path,
    reserves: Path | None = None,
    accept_conjectured: bool = False,
    min_bits: float = REQUIRED_BITS,
    as_json: bool = False,
) -> int:
    """Check DIRECTORY/proof.bin against DIRECTORY/statement.json; print the report and
    return the exit code (0 valid, 1 invalid, 2 unreadable input)."""
    regime = "conjectured" if accept_conjectured else "provable"
    start = time.perf_counter()
    if batched_publish.is_batched(directory):
        return run_verify_snapshot(directory, reserves, regime, min_bits, as_json=as_json)
    try:
        pub = read_published(directory)
        reserve = _reserves(reserves, pub.statement)
    except InputError as e:
        if as_json:
            _emit_json({"verdict": "unreadable", "reason": str(e)})
        fail(EXIT_INPUT, str(e))
    statement = pub.statement
    try:
        checked = verified_publication(pub, regime, min_bits)
    except Verdict as v:
        seconds = time.perf_counter() - start
        if as_json:
            _emit_json(
                {
                    "verdict": "invalid",
                    "message": v.message,
                    "reason": v.detail,
                    "seconds": round(seconds, 3),
                }
            )
        else:
            click.echo(f"INVALID: {v.message}")
            click.echo(f"detail: {v.detail}")
        return EXIT_INVALID
    seconds = time.perf_counter() - start
    report = checked.security
    zk = checked.params.zk and not statement.insecure_seeded
    verdict = (
        f"the liabilities of {statement.issuer} as of {statement.as_of} are proved: each "
        f"total is the exact sum of {statement.trace_len:,} padded user balances and no "
        f"user's total value is below zero"
    )
    if regime == "conjectured":
        verdict = "at conjectured security only, " + verdict
    if not zk:
        verdict += "; this proof does NOT hide user balances (made for testing)"
    if as_json:
        lines = asset_lines(statement, reserve)
        _emit_json(
            {
                "verdict": "valid",
                "message": verdict,
                "issuer": statement.issuer,
                "as_of": statement.as_of,
                "quote": statement.quote,
                "users_padded": statement.trace_len,
                "assets": [
                    {
                        "symbol": a.symbol,
                        "price": a.price,
                        "total": a.total,
                        **(
                            {"reserves": a.reserves, "reserve_ratio_percent": a.ratio_percent}
                            if reserve
                            else {}
                        ),
                    }
                    for a in lines
                ],
                "reserves_below_liabilities": [a.symbol for a in lines if a.below],
                "zero_priced": zero_priced(statement),
                "preset": checked.preset,
                "security": {
                    "regime_required": regime,
                    "min_bits": min_bits,
                    "provable_bits": round(report.provable_bits, 2),
                    "conjectured_bits": round(report.conjectured_bits, 2),
                    "recomputed": True,
                },
                "zero_knowledge": zk,
                "seconds": round(seconds, 3),
            }
        )
        return 0
    table, below = totals_table(statement, reserve)
    click.echo(
        f"Liabilities of {statement.issuer} as of {statement.as_of}, "
        f"{statement.trace_len:,} users (padded), prices in {statement.quote}:"
    )
    PipeConsole(file=sys.stdout).print(table)
    click.echo(
        f"security, recomputed from the proof's parameters ({checked.preset} preset): "
        f"{report.provable_bits:.1f} bits provable (unique decoding), "
        f"{report.conjectured_bits:.1f} bits conjectured; required: {min_bits:g} {regime} bits"
    )
    if regime == "conjectured":
        click.echo(
            "note: conjectured security rests on the ethSTARK conjecture, known since 2025 to "
            "be false in general; accepted only because --accept-conjectured-security was given"
        )
    if below:
        click.echo(f"reserves below liabilities: {', '.join(below)}")
    unpriced = zero_priced(statement)
    if unpriced:
        click.echo(
            f"warning: {', '.join(unpriced)} priced at 0: negative balances in "
            f"{'it' if len(unpriced) == 1 else 'them'} do not lower any user's value, so "
            "the proof does not stop rows with such debts from lowering the total; check "
            "that a price of 0 is right"
        )
    if not zk:
        click.echo(
            "WARNING: this proof was made with --insecure-seed (testing only): it does NOT "
            "hide user balances"
        )
    click.echo(f"verified in {seconds:.2f} s")
    click.echo(f"VALID: {verdict}")
    return 0


def run_verify_snapshot(
    directory: Path,
    reserves: Path | None,
    regime: str,
    min_bits: float,
    *,
    quiet: bool = False,
    as_json: bool = False,
) -> int:
    """`verify` of a snapshot proved in batches (solvency/batched_publish.py): every batch
    proof, the aggregation, and the grand totals."""
    start = time.perf_counter()
    try:
        try:
            checked = batched_publish.check_snapshot(directory, list(PRESETS.values()))
        except StatementMismatch as e:
            raise Verdict(mismatch_reason(e), str(e)) from None
        except (batches.SnapshotError, VerificationError) as e:
            raise Verdict(str(e), str(e)) from None
        bits = getattr(checked.security, f"{regime}_bits")
        if bits < min_bits:
            raise Verdict(
                f"the proofs' security is below what this verifier requires: {bits:.1f} "
                f"{regime} bits, fewer than {min_bits:g}",
                f"{checked.preset} preset",
            )
        reserve = _reserves(reserves, checked.statement)
    except InputError as e:
        if as_json:
            _emit_json({"verdict": "unreadable", "reason": str(e)})
        fail(EXIT_INPUT, str(e))
    except Verdict as v:
        if as_json:
            _emit_json({"verdict": "invalid", "message": v.message, "reason": v.detail})
        else:
            click.echo(f"INVALID: {v.message}")
            if v.detail != v.message:
                click.echo(f"detail: {v.detail}")
        return EXIT_INVALID
    if as_json:
        statement = checked.statement
        _emit_json(
            {
                "verdict": "valid",
                "issuer": statement.issuer,
                "as_of": statement.as_of,
                "quote": statement.quote,
                "users_padded": statement.trace_len,
                "batches": checked.count,
                "assets": [
                    {"symbol": a.symbol, "price": a.price, "total": a.total}
                    for a in asset_lines(statement, reserve)
                ],
                "preset": checked.preset,
                "security": {
                    "regime_required": regime,
                    "min_bits": min_bits,
                    "provable_bits": round(checked.security.provable_bits, 2),
                    "conjectured_bits": round(checked.security.conjectured_bits, 2),
                    "recomputed": True,
                },
                "zero_knowledge": checked.params.zk,
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
        return 0
    if quiet:
        return 0
    statement = checked.statement
    table, below = totals_table(statement, reserve)
    click.echo(
        f"Liabilities of {statement.issuer} as of {statement.as_of}, "
        f"{statement.trace_len:,} users (padded) in {checked.count} batches, prices in "
        f"{statement.quote}:"
    )
    PipeConsole(file=sys.stdout).print(table)
    click.echo(
        f"security, recomputed ({checked.preset} preset, the weaker of a batch proof and the "
        f"aggregation): {checked.security.provable_bits:.1f} bits provable, "
        f"{checked.security.conjectured_bits:.1f} bits conjectured"
    )
    if below:
        click.echo(f"reserves below liabilities: {', '.join(below)}")
    click.echo(f"verified in {time.perf_counter() - start:.2f} s")
    click.echo(
        f"VALID: the liabilities of {statement.issuer} as of {statement.as_of} are proved: "
        f"each total is the exact sum of {statement.trace_len:,} padded user balances in "
        f"{checked.count} batches (no batch's totals revealed) and no user's total value is "
        "below zero"
    )
    return 0


def _finite(bits: float) -> float:
    """--min-security: a number (NaN compares false with everything, so it would pass any bar)."""
    if not math.isfinite(bits):
        raise click.BadParameter(f"{bits} is not a number of bits")
    return bits


def publication_dir(path: Path) -> Path:
    """The publication's directory: PATH itself, or the folder of a file in it (people type
    `verify DIR/proof.bin` or `verify DIR/statement.json`)."""
    return path.parent if path.is_file() else path


@click.command("verify")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--reserves",
    type=click.Path(path_type=Path),
    default=None,
    metavar="RESERVES.json",
    help='the exchange\'s reserves, JSON {"BTC": "142014", ...} in whole coins: adds each '
    "asset's reserve ratio",
)
@click.option(
    "--accept-conjectured-security",
    "accept_conjectured",
    is_flag=True,
    help="accept 100 conjectured bits (ethSTARK conjecture, e.g. the fast preset) instead of "
    "requiring 100 provable bits; the output then says so",
)
@click.option(
    "--min-security",
    type=click.FloatRange(min=REQUIRED_BITS, max=1000.0),
    default=REQUIRED_BITS,
    show_default=True,
    metavar="BITS",
    callback=lambda ctx, param, bits: _finite(bits),
    help="require more bits (in the regime above); it cannot go below 100",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object (for scripts)")
def verify_cmd(
    directory: Path,
    reserves: Path | None,
    accept_conjectured: bool,
    min_security: float,
    as_json: bool,
) -> None:
    """Check the publication in DIR (statement.json, proof.bin, leaves.bin; or a snapshot
    proved in batches) and print the proved totals and the verdict: VALID (exit 0) or INVALID
    (exit 1). Needs only the published files."""
    announce_compilation(VERIFIER_KERNELS)
    code = run_verify(
        publication_dir(directory), reserves, accept_conjectured, min_security, as_json
    )
    sys.exit(code)
