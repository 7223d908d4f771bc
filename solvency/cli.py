"""The `solvency` command line. Each command lives in its own module under solvency/commands/,
imported only when that command runs, so `solvency --help` starts in a fraction of a second
and a verifier never imports the prover."""

from __future__ import annotations

import importlib
import os
import signal
import sqlite3
import sys
from typing import NoReturn

import click

from solvency import interrupts

EXIT_CODES = """\b
Exit codes:
  0    success (a valid proof, an included user)
  1    an invalid proof, a false statement, or a user not included
  2    bad or unreadable input, or an output that would overwrite a file
  3    a snapshot that does not satisfy the statement (the users are named)
  130  interrupted (Ctrl-C)
  141  the output pipe was closed"""

#: command name -> (module, function, one-line help); the help is shown by `solvency --help`
#: without importing the module.
COMMANDS = {
    "demo": ("solvency.commands.demo", "demo_cmd", "Generate, prove, verify and check one user."),
    "generate": (
        "solvency.commands.generate",
        "generate_cmd",
        "Write a synthetic snapshot and assets file.",
    ),
    "snapshot": (
        "solvency.commands.snapshot",
        "snapshot_group",
        "Derive the snapshot from account positions, and explain it.",
    ),
    "prove": (
        "solvency.commands.prove",
        "prove_cmd",
        "Prove a snapshot's liabilities; publish the proof.",
    ),
    "verify": (
        "solvency.commands.verify",
        "verify_cmd",
        "Check a published proof and print the proved totals.",
    ),
    "page": (
        "solvency.commands.page",
        "page_cmd",
        "Write the browser page, or print its SHA-256.",
    ),
    "inclusion": (
        "solvency.commands.inclusion",
        "inclusion_group",
        "Export users' inclusion files from the private store.",
    ),
    "verify-inclusion": (
        "solvency.commands.inclusion",
        "verify_inclusion_cmd",
        "Check that your balances are in the proved totals.",
    ),
    "bench": (
        "solvency.commands.bench",
        "bench_cmd",
        "Measure the whole job on generated snapshots.",
    ),
}

#: Imported only by the prover's side; a verify-only install lacks them.
PROVER_PACKAGES = {"galois", "numba", "pandas", "pyarrow", "matplotlib", "dask", "distributed"}


class LazyGroup(click.Group):
    """Commands imported on use; Ctrl-C and a closed pipe end with their own exit codes and one
    line, never a traceback (click would exit 1, which means an invalid proof here)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, short_help = COMMANDS[name]
        command = getattr(importlib.import_module(module), attribute)
        command.short_help = short_help
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        """click's main, with its usage errors on one line (`error: solvency prove: Missing
        option '--assets'. (see --help)`) rather than three."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as e:
            where = f"{e.ctx.command_path}: " if e.ctx is not None else ""
            _stop(e.exit_code, f"error: {where}{e.format_message()} (see --help)")
        except click.ClickException as e:
            _stop(e.exit_code, f"error: {e.format_message()}")
        except click.Abort:
            _stop(130, "interrupted")
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        """Run the command; Ctrl-C at any moment of it (the imports and numba's compilation
        included, see solvency.interrupts) ends it with exit 130, even one that something
        swallowed before the command could finish."""
        try:
            with interrupts.handling():
                result = super().invoke(ctx)
                interrupts.check()
            return result
        except KeyboardInterrupt:
            _stop(130, "interrupted")
        except ModuleNotFoundError as e:
            if (e.name or "").split(".")[0] not in PROVER_PACKAGES:
                raise
            _stop(
                2,
                f"error: this command needs the prover's packages ({e.name} is not installed): "
                "pip install 'stark-solvency[prove]'",
            )
        except BrokenPipeError:
            # the reader went away (`solvency verify ... | head -1`): nothing more to say to it
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except OSError as e:  # the machine's doing (a full disk, a permission): not a bug here
            where = f"{e.filename}: " if e.filename else ""
            _stop(2, f"error: {where}{e.strerror or e}")
        except sqlite3.Error as e:  # the private store's database (a full disk, say)
            _stop(2, f"error: the private store: {e}")


def _stop(code: int, message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


@click.group(
    cls=LazyGroup,
    epilog=EXIT_CODES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="stark-solvency", prog_name="solvency")
def main() -> None:
    """Zero-knowledge STARK proofs of solvency: an exchange proves that its per-asset
    liabilities are the exact sums of its users' balances and that no user's net value is
    negative, without revealing any balance; users and auditors verify.

    Start with `solvency demo`; `solvency COMMAND --help` describes each command."""


def run() -> None:
    """The console script. After Ctrl-C it leaves at once (os._exit) once its message is out:
    the cleanup that matters already ran while the interrupt unwound the command, and tearing
    the interpreter down while numba's worker threads are still winding up can crash it, which
    would turn exit 130 into a segmentation fault."""
    try:
        main()
    except KeyboardInterrupt:  # between the command's end and the exit: still a Ctrl-C
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        click.echo("interrupted", err=True)
        os._exit(130)
    except SystemExit as e:
        # the work is over: a Ctrl-C from now on would only interrupt the interpreter's exit
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if e.code != 130:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    except OSError as e:  # writing --help or --version to a full disk, say
        _stop(2, f"error: {e.strerror or e}")


if __name__ == "__main__":
    run()
