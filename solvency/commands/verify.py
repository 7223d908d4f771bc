"""`solvency verify`: check a publication (one proof, or batches and their aggregation) and
print the proved totals.

It trusts nothing in statement.json as written (solvency/publication/check.py): every field
is bound into a proof's transcript or recomputed and compared. It accepts only the named presets'
exact parameter blocks and requires at least 100 provable bits, or, with
`--accept-conjectured-security` only, 100 conjectured bits; `--min-security` can only raise that
bar. It ends with one verdict line, `VALID: ...` or `INVALID: ...` (then a `detail:` line with
the technical reason); `--json` prints one JSON object instead."""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from circuits import haircut
from solvency.commands.common import (
    EXIT_INPUT,
    EXIT_INVALID,
    REQUIRED_BITS,
    VERIFIER_KERNELS,
    PipeConsole,
    announce_compilation,
    console,
    fail,
)
from solvency.commands.page import (
    PAGE_WARNING,
    page_sha256,
    published_page_line,
    published_page_state,
)
from solvency.files import read_regular
from solvency.publication.check import (
    ProofInvalid,
    Proved,
    SecurityTooLow,
    StatementMismatch,
    check_publication,
)
from solvency.publication.encoding import coins, plain, price_decimal
from solvency.publication.statement import (
    MAX_STATEMENT_BYTES,
    STATEMENT_NAME,
    PublishedStatement,
)
from solvency.reference import (
    DEFAULT_MAX_DEVIATION,
    PriceCheck,
    check_prices,
    load_reference_prices,
)
from solvency.snapshot import InputError, load_reserves
from stark.params import PRESETS


def _reserves(path: Path | None, statement: PublishedStatement) -> dict[str, Decimal]:
    """The reserves file's amounts, for this statement's assets only (InputError otherwise)."""
    return {} if path is None else load_reserves(path, statement.symbols)


@dataclass(frozen=True)
class AssetLine:
    """One asset as `verify` reports it, every figure from the checked statement."""

    symbol: str
    price: str
    total: str
    equity: str | None  # None: a publication of format 1
    debt: str | None
    haircut: str | None  # the table in words; "100%" without one
    reserves: str | None
    ratio_percent: float | None  # None without reserves or with zero liabilities
    below: bool  # reserves below liabilities, compared exactly


def haircut_text(table: haircut.Table | None) -> str:
    """A haircut table in words: "100% to 10, 90% to 100, then 50%" (coins), or "100%"."""
    if table is None:
        return "100%"
    steps = [f"{t.percent}% to {t.up_to:,}" for t in table[:-1]]
    return ", ".join([*steps, ("then " if steps else "") + f"{table[-1].percent}%"])


def asset_lines(statement: PublishedStatement, reserve: dict[str, Decimal]) -> list[AssetLine]:
    out = []
    gross = statement.equity is not None
    for j, (sym, dec, p_int, total) in enumerate(
        zip(statement.symbols, statement.decimals, statement.prices, statement.totals, strict=True)
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
                coins(statement.equity[j], dec) if gross else None,
                coins(statement.debt[j], dec) if gross else None,
                haircut_text(statement.tables[j]) if gross else None,
                None if held is None else plain(held),
                ratio,
                held is not None and liabilities > 0 and held < liabilities,
            )
        )
    return out


def totals_table(
    statement: PublishedStatement,
    reserve: dict[str, Decimal] | None = None,
    checks: list[PriceCheck] | None = None,
) -> tuple[Table, list[str]]:
    """The proved per-asset prices and totals, with the reference prices and reserves when
    given; also the assets whose reserves fall below their liabilities."""
    table = Table()
    table.add_column("asset")
    table.add_column(f"price ({escape(statement.quote)})", justify="right")
    gross = statement.equity is not None
    if gross:
        table.add_column("equity", justify="right")
        table.add_column("debt", justify="right")
    table.add_column("total owed to users", justify="right")
    if gross:
        table.add_column("collateral counted")
    if checks is not None:
        table.add_column("reference price", justify="right")
        table.add_column("deviation", justify="right")
    if reserve:
        table.add_column("reserves", justify="right")
        table.add_column("reserve ratio", justify="right")
    below = []
    lines = asset_lines(statement, reserve or {})
    for line, check in zip(lines, checks or [None] * len(lines), strict=True):
        row = [line.symbol, line.price]
        row += [line.equity, line.debt, line.total, line.haircut] if gross else [line.total]
        if check is not None:
            flag = "  [bold red]FLAGGED[/]" if check.flagged else ""
            reference = "-" if check.reference is None else plain(check.reference)
            row += [reference, deviation_text(check) + flag]
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
    if e.field.endswith(("proof_sha256", "proof_bytes")):
        return (
            "a proof file is not the proof this statement names: the files were changed or mixed up"
        )
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


def zero_priced(statement: PublishedStatement) -> list[str]:
    """The assets priced at 0: a debt in them costs a user nothing in value, so a row of such
    debts (a user who does not exist, say) could lower their total and still pass."""
    return [sym for sym, p in zip(statement.symbols, statement.prices, strict=True) if p == 0]


def checked_publication(
    directory: Path,
    regime: str,
    min_bits: float,
    on_batch: Callable[[int, int], None] | None = None,
) -> Proved:
    """Check the publication in DIRECTORY in full (solvency/publication/check.py); raises
    Verdict with the reason in a customer's words, InputError for files that cannot be read."""
    try:
        return check_publication(directory, regime=regime, min_bits=min_bits, on_batch=on_batch)
    except StatementMismatch as e:
        raise Verdict(mismatch_reason(e), str(e)) from None
    except SecurityTooLow as e:
        hint = (
            "; a proof made with --preset fast is accepted only with --accept-conjectured-security"
            if regime == "provable"
            else ""
        )
        raise Verdict(
            f"the proof's security is below what this verifier requires: {e.bits:.1f} "
            f"{regime} bits, fewer than {min_bits:g}{hint}",
            str(e),
        ) from None
    except ProofInvalid as e:
        raise Verdict(customer_reason(e.reason), str(e)) from None


class BatchProgress:
    """A bar over the batches being verified (on standard error, gone when done), shown only
    for a publication of several batches."""

    def __init__(self) -> None:
        self.bars = Progress(
            TextColumn("verifying batches"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=console, transient=True,
        )  # fmt: skip
        self.task = None

    def __enter__(self) -> BatchProgress:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.__exit__(*exc)

    def advance(self, done: int, count: int) -> None:
        if count == 1:
            return
        if self.task is None:
            self.task = self.bars.add_task("batches", total=count)
        self.bars.update(self.task, completed=done)


def identify(s: PublishedStatement) -> str:
    """The line that tells this publication from another of the same issuer and date: its
    users' root (what every inclusion file leads to) and its snapshot commitment."""
    return f"publication: users' root {s.users_root}, snapshot {s.snapshot}"


def statement_sha256(directory: Path, quiet: bool = False) -> str | None:
    """The statement's fingerprint: the SHA-256 of DIRECTORY/statement.json's bytes. Customers
    compare it with what others see (the page shows the same), so that an exchange cannot show
    different publications to different people unnoticed. `quiet`: None for a file that cannot
    be read (the check then says why) rather than InputError."""
    try:
        raw = read_regular(directory / STATEMENT_NAME, MAX_STATEMENT_BYTES, "statement")
    except InputError:
        if quiet:
            return None
        raise
    return hashlib.sha256(raw).hexdigest()


def fingerprint_line(digest: str) -> str:
    return (
        f"statement: SHA-256 {digest} (statement.json's fingerprint: compare it with what "
        "others see)"
    )


def verdict_line(proved: Proved, regime: str, checks: list[PriceCheck] | None = None) -> str:
    s = proved.statement
    batches = "" if s.count == 1 else f" in {s.count} batches (no batch's totals revealed)"
    if s.equity is not None and any(s.haircuts):
        rule = "every user's debts are covered by their collateral after the published haircuts"
    else:
        rule = "no user's total value is below zero"
    gross = (
        " (format 1: without equity, debt or haircut tables)"
        if s.equity is None
        else ", its equity and debt those of their positive and negative parts"
    )
    line = (
        f"the liabilities of {s.issuer} as of {s.as_of} are proved: each total is the exact "
        f"sum of {s.trace_len:,} padded user balances{batches}{gross}, and {rule}"
    )
    if regime == "conjectured":
        line = "at conjectured security only, " + line
    if not proved.zero_knowledge:
        line += "; this proof does NOT hide user balances (made for testing)"
    flagged = flagged_prices(checks)
    if flagged:
        line += "; at published prices that the reference prices flag: " + ", ".join(
            c.symbol for c in flagged
        )
    return line


def deviation_text(check: PriceCheck) -> str:
    if check.reference is None:
        return "no reference price"
    if check.deviation_percent is None:
        return "the reference is 0"
    sign = "+" if check.published >= check.reference else "-"
    return f"{sign}{check.deviation_percent:.2f}%"


def flagged_prices(checks: list[PriceCheck] | None) -> list[PriceCheck]:
    return [c for c in checks or [] if c.flagged]


def warnings_of(proved: Proved, checks: list[PriceCheck] | None = None) -> list[str]:
    """What a reader must know beside the verdict, for every publication alike."""
    out = []
    flagged = flagged_prices(checks)
    if flagged:
        named = ", ".join(f"{c.symbol} ({deviation_text(c)})" for c in flagged)
        out.append(
            f"published prices that deviate from the reference prices by more than the bound: "
            f"{named}; the proof holds at the published prices only, and users the exchange "
            "invented can use a mispriced asset to hide a shortfall in another"
        )
    if proved.statement.equity is None:
        out.append(
            "this publication is format 1: it proves totals without equity, debt or haircut "
            "tables, so a made-up user's debt does not show and debts backed by illiquid "
            "tokens are not stopped; this version of prove writes format 2"
        )
    unpriced = zero_priced(proved.statement)
    if unpriced:
        out.append(
            f"{', '.join(unpriced)} priced at 0: negative balances in "
            f"{'it' if len(unpriced) == 1 else 'them'} do not lower any user's value, so the "
            "proof does not stop rows with such debts from lowering the total; check that a "
            "price of 0 is right"
        )
    if not proved.zero_knowledge:
        out.append(
            "this proof was made with --insecure-seed (testing only): it does NOT hide user "
            "balances"
        )
    return out


def run_verify(
    directory: Path,
    reserves: Path | None = None,
    accept_conjectured: bool = False,
    min_bits: float = REQUIRED_BITS,
    as_json: bool = False,
    reference_prices: Path | None = None,
    max_deviation: Decimal = DEFAULT_MAX_DEVIATION,
) -> int:
    """Check the publication in DIRECTORY; print the report and return the exit code (0
    valid, 1 invalid; 2, unreadable input, exits). With reference prices, every published
    price further from its reference than `max_deviation` percent is flagged (still VALID)."""
    regime = "conjectured" if accept_conjectured else "provable"
    start = time.perf_counter()
    try:
        before = statement_sha256(directory, quiet=True)
        with BatchProgress() as progress:
            proved = checked_publication(directory, regime, min_bits, progress.advance)
        fingerprint = statement_sha256(directory)
        if fingerprint != before:  # so that the fingerprint printed is the checked statement's
            raise InputError(
                directory / STATEMENT_NAME, None, None, "changed while it was being verified"
            )
        reserve = _reserves(reserves, proved.statement)
        checks = price_checks(proved.statement, reference_prices, max_deviation)
    except InputError as e:
        if as_json:
            _emit_json({"verdict": "unreadable", "reason": str(e)})
        fail(EXIT_INPUT, str(e))
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
    page = page_report(directory)
    if as_json:
        report = json_report(proved, reserve, regime, min_bits, seconds, checks)
        _emit_json({**report, "statement_sha256": fingerprint, "page": page})
    else:
        print_report(proved, reserve, regime, min_bits, seconds, checks)
        click.echo(fingerprint_line(fingerprint))
        click.echo(published_page_line(page["published"], page["published_sha256"]))
        if page["published"] == "different":
            click.echo(f"WARNING: {PAGE_WARNING}")
        click.echo(f"VALID: {verdict_line(proved, regime, checks)}")
    return 0


def page_report(directory: Path) -> dict:
    """--json's `page`: the packaged page's SHA-256, and DIRECTORY/index.html's state
    ("absent", "same" or "different") and SHA-256 (null when absent or unreadable)."""
    state, digest = published_page_state(directory)
    return {"sha256": page_sha256(), "published": state, "published_sha256": digest}


def price_checks(
    s: PublishedStatement, path: Path | None, max_deviation: Decimal
) -> list[PriceCheck] | None:
    """The published prices against the reference file's, if one is given."""
    if path is None:
        return None
    published = [price_decimal(p, s.scale, d) for p, d in zip(s.prices, s.decimals, strict=True)]
    reference = load_reference_prices(path, s.quote)
    return check_prices(s.symbols, published, reference, max_deviation)


def json_report(
    proved: Proved,
    reserve: dict[str, Decimal],
    regime: str,
    min_bits: float,
    seconds: float,
    checks: list[PriceCheck] | None = None,
) -> dict:
    s, report = proved.statement, proved.security
    lines = asset_lines(s, reserve)
    by_symbol = {c.symbol: c for c in checks or []}
    return {
        "verdict": "valid",
        "message": verdict_line(proved, regime, checks),
        "issuer": s.issuer,
        "as_of": s.as_of,
        "quote": s.quote,
        "users_padded": s.trace_len,
        "batches": s.count,
        "users_root": s.users_root,
        "snapshot": s.snapshot,
        "assets": [
            {
                "symbol": a.symbol,
                "price": a.price,
                "total": a.total,
                **(
                    {"equity": a.equity, "debt": a.debt, "haircut": haircut.table_json(table)}
                    if s.equity is not None
                    else {}
                ),
                **(
                    {"reserves": a.reserves, "reserve_ratio_percent": a.ratio_percent}
                    if reserve
                    else {}
                ),
                **(price_fields(by_symbol[a.symbol]) if checks is not None else {}),
            }
            for a, table in zip(lines, s.tables, strict=True)
        ],
        **(
            {"prices_flagged": [c.symbol for c in flagged_prices(checks)]}
            if checks is not None
            else {}
        ),
        "reserves_below_liabilities": [a.symbol for a in lines if a.below],
        "zero_priced": zero_priced(s),
        "warnings": warnings_of(proved, checks),
        "preset": proved.preset,
        "security": {
            "regime_required": regime,
            "min_bits": min_bits,
            "provable_bits": round(report.provable_bits, 2),
            "conjectured_bits": round(report.conjectured_bits, 2),
            "recomputed": True,
        },
        "zero_knowledge": proved.zero_knowledge,
        "seconds": round(seconds, 3),
    }


def price_fields(check: PriceCheck) -> dict:
    """--json's fields of one asset's price check."""
    return {
        "reference_price": None if check.reference is None else plain(check.reference),
        "deviation_percent": None
        if check.deviation_percent is None
        else round(float(check.deviation_percent), 4),
        "price_flagged": check.flagged,
    }


def print_report(
    proved: Proved,
    reserve: dict[str, Decimal],
    regime: str,
    min_bits: float,
    seconds: float,
    checks: list[PriceCheck] | None = None,
) -> None:
    s, report = proved.statement, proved.security
    table, below = totals_table(s, reserve, checks)
    batches = "" if s.count == 1 else f" in {s.count} batches"
    click.echo(
        f"Liabilities of {s.issuer} as of {s.as_of}, {s.trace_len:,} users (padded){batches}, "
        f"prices in {s.quote}:"
    )
    PipeConsole(file=sys.stdout).print(table)
    weakest = "" if s.count == 1 else ", the weakest of the batch proofs and the aggregation"
    click.echo(
        f"security, recomputed from the proof's parameters ({proved.preset} preset{weakest}): "
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
    click.echo(identify(s))
    for warning in warnings_of(proved, checks):
        click.echo(f"WARNING: {warning}")
    click.echo(f"verified in {seconds:.2f} s")


def _finite(bits: float) -> float:
    """--min-security: a number (NaN compares false with everything, so it would pass any bar)."""
    if not math.isfinite(bits):
        raise click.BadParameter(f"{bits} is not a number of bits")
    return bits


def _percent(text: str) -> Decimal:
    """--max-deviation: a plain decimal in [0, 1000] (no NaN, no exponent), kept exact."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 1000 or "e" in text.lower():
        raise click.BadParameter(f"{text!r} is not a percentage from 0 to 1000")
    return value


def publication_dir(path: Path) -> Path:
    """The publication's directory: PATH itself, or the folder holding statement.json above a
    file in it (people type `verify DIR/statement.json`, `verify DIR/batches/b00000/proof.bin`)."""
    if not path.is_file():
        return path
    return next((f for f in path.parents if (f / STATEMENT_NAME).is_file()), path.parent)


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
    "--reference-prices",
    type=click.Path(path_type=Path),
    default=None,
    metavar="PRICES.json",
    help='prices you trust, in the assets file\'s shape ({"quote": "USD", "assets": '
    "[...]}): each published price further from its reference than --max-deviation is flagged",
)
@click.option(
    "--max-deviation",
    default="5",
    show_default=True,
    metavar="PCT",
    callback=lambda ctx, param, text: _percent(text),
    help="with --reference-prices: the largest deviation, in percent, not flagged",
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
    reference_prices: Path | None,
    max_deviation: Decimal,
    accept_conjectured: bool,
    min_security: float,
    as_json: bool,
) -> None:
    """Check the publication in DIR (statement.json and every batch's proof and leaves, one
    batch or several and their aggregation) and print the proved totals and the verdict: VALID
    (exit 0) or INVALID (exit 1). Needs only the published files."""
    announce_compilation(VERIFIER_KERNELS)
    code = run_verify(
        publication_dir(directory), reserves, accept_conjectured, min_security, as_json,
        reference_prices, max_deviation,
    )  # fmt: skip
    sys.exit(code)
