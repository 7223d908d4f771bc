"""What the benchmark scripts share: click's command run with one-line errors.

A mistake on the command line (`--users x`) gives one line, `error: ... (see --help)`, and exit
2; Ctrl-C gives "interrupted" and exit 130; never a traceback or click's three-line usage."""

from __future__ import annotations

import sys
from typing import NoReturn

import click


def run(command: click.Command) -> NoReturn:
    """Run `command` on sys.argv as a script's entry point, and exit with its code."""
    try:
        command.main(standalone_mode=False)
    except click.UsageError as e:
        where = f"{e.ctx.command_path}: " if e.ctx is not None else ""
        stop(e.exit_code, f"error: {where}{e.format_message()} (see --help)")
    except click.ClickException as e:
        stop(e.exit_code, f"error: {e.format_message()}")
    except (click.Abort, KeyboardInterrupt):
        stop(130, "interrupted")
    sys.exit(0)


def stop(code: int, message: str) -> NoReturn:
    """One line on standard error, then exit with `code`."""
    click.echo(message, err=True)
    sys.exit(code)


def comma_ints(option: str, text: str, least: int = 1) -> list[int]:
    """'4096,16384' -> [4096, 16384]; a click.BadParameter naming the option otherwise."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give integers separated by commas", param_hint=option
        ) from None
    if any(v < least for v in values):
        raise click.BadParameter(f"{text!r}: each at least {least}", param_hint=option)
    return values


def comma_choices(option: str, text: str, choices: tuple[str, ...]) -> list[str]:
    """'none,w24' -> ['none', 'w24'], each one of `choices`; a click.BadParameter otherwise."""
    values = [part.strip() for part in text.split(",")]
    unknown = sorted(set(values) - set(choices))
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(choices)}", param_hint=option
        )
    return values
