"""What every command shares: the exit codes, the error line, the progress bars, the checks on
output paths made before any work."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from solvency import interrupts

EXIT_INVALID, EXIT_INPUT, EXIT_UNSATISFIED, EXIT_INTERRUPTED = 1, 2, 3, 130
REQUIRED_BITS = 100.0


class PipeConsole(Console):
    """A rich console that lets a closed pipe be a BrokenPipeError (the command line exits 141
    on it; rich's own handling exits 1, which here means an invalid proof), and that lays
    tables out 120 columns wide when writing to a file or a pipe (rich's 80 cut the bench's)."""

    def __init__(self, **options):
        super().__init__(**options)
        if not self.is_terminal and "width" not in options and "COLUMNS" not in os.environ:
            self.width = 120

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


#: Messages and progress go to standard error, results to standard output. soft_wrap: a line
#: piped to a file or a log is never cut at 80 columns.
console = PipeConsole(stderr=True, soft_wrap=True)


def fail(code: int, message: str) -> NoReturn:
    """One line `error: message` on standard error, then exit with `code`."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.exit(code)


class PhaseProgress:
    """One line per phase, numbered in order ("6/10 constraints"), each with its elapsed time.
    `phase(name, step, total)` matches the prover's on_phase callback.

    Each phase's start and the end of the display are safe points for Ctrl-C
    (`interrupts.check`): one that numba's compiler swallowed is raised there, before the
    next phase and before anything is written."""

    def __init__(self, enabled: bool = True):
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<28}"),
            BarColumn(bar_width=20),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self.current = None

    def __enter__(self) -> PhaseProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.finish()
        self.progress.__exit__(*exc)
        if exc[0] is None:
            interrupts.check()

    def phase(self, name: str, step: int = 0, total: int = 0) -> None:
        interrupts.check()
        self.finish()
        label = f"{step}/{total} {name}" if total else name
        self.current = self.progress.add_task(label, total=1)

    def finish(self) -> None:
        if self.current is not None:
            self.progress.update(self.current, completed=1)
            self.current = None


def check_creatable(option: str, path: Path) -> None:
    """Exit 2 unless `path` (a file or a directory, maybe not there yet) could be created: its
    nearest existing ancestor is a writable directory and no name in it is too long."""
    if any(len(part.encode(errors="surrogateescape")) > 255 for part in path.parts):
        fail(EXIT_INPUT, f"{option} {path}: a name in this path is too long")
    if path.is_symlink() and not path.exists():
        fail(EXIT_INPUT, f"{option} {path} is a symbolic link to nothing; give a real path")
    existing = next(p for p in (path, *path.parents) if p.exists() or p == Path(p.anchor))
    if existing != path and not existing.is_dir():
        fail(EXIT_INPUT, f"{option} {path}: {existing} is not a directory")
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        fail(EXIT_INPUT, f"{option} {path}: cannot be created or written ({existing})")


def check_new_file(option: str, path: Path, force: bool, inputs: dict[str, Path]) -> None:
    """Before any work, for an output file: never an input of the same command (compared as
    files: a link or another spelling of the same path counts), never a directory, and an
    existing regular file only with --force (exit 2 otherwise): never a device, a pipe or a
    dangling link, which a rename would replace."""
    if not path.name or path.name in (".", ".."):
        fail(EXIT_INPUT, f"{option} {str(path)!r}: give a file name")
    for what, source in inputs.items():
        if same_file(source, path):
            fail(EXIT_INPUT, f"{option} {path} is the same file as {what}: it would be destroyed")
    if path.is_dir():
        fail(EXIT_INPUT, f"{option} {path} is a directory; give a file name")
    if path.exists() and not path.is_file():
        fail(EXIT_INPUT, f"{option} {path} is not a regular file; it is never replaced")
    if path.exists() and not force:
        fail(EXIT_INPUT, f"{option} {path} already exists; nothing is overwritten (--force)")
    check_creatable(option, path)


def check_fresh_dir(option: str, path: Path) -> None:
    """Before any work, for an output directory: new, or an empty directory (exit 2). What is
    already in a folder would be published with it, or mixed with what it holds."""
    check_creatable(option, path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        fail(EXIT_INPUT, f"{option} {path} exists and is not an empty directory; give a new one")


def claim_dir(option: str, path: Path, mode: int = 0o777, shown: Path | None = None) -> None:
    """Before any work, make sure an output directory can really be written: create it (and
    its missing parents; the last with `mode`) and a probe file in it, then remove the probe
    (exit 2 with one line if any of it fails: /proc, a read-only file system, a full disk).
    What this created is removed when the command ends, if still empty: a run that fails
    leaves no trace, a run that succeeds has written its files there. `shown`: the path the
    user gave, if not `path` (a file's directory)."""
    shown = shown or path
    created = _make_dirs(option, path, mode, shown)
    probe = path / f".solvency-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as e:
        _remove_empty(created)
        fail(EXIT_INPUT, f"{option} {shown}: cannot write in {path} ({e.strerror or e})")
    _remove_at_exit(created)


def claim_file(option: str, path: Path) -> None:
    """Before any work, for an output file: its directory can be written (claim_dir)."""
    claim_dir(option, path.parent, shown=path)


def _make_dirs(option: str, path: Path, mode: int, shown: Path) -> list[Path]:
    """Create `path` and its missing parents; the ones created, outermost first."""
    missing = [p for p in (path, *path.parents) if not p.is_dir()][::-1]
    created: list[Path] = []
    for folder in missing:
        try:
            folder.mkdir(mode=mode if folder == path else 0o777)
        except FileExistsError:
            continue
        except OSError as e:
            _remove_empty(created)
            fail(EXIT_INPUT, f"{option} {shown}: cannot create {folder} ({e.strerror or e})")
        created.append(folder)
    return created


def _remove_empty(created: list[Path]) -> None:
    """Remove the directories this run created, innermost first, as long as they are empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def _remove_at_exit(created: list[Path]) -> None:
    """Remove `created` (if empty) when the running command ends, however it ends."""
    import click

    context = click.get_current_context(silent=True)
    if context is not None and created:
        context.call_on_close(lambda: _remove_empty(created))


def inside_publication(path: Path) -> Path | None:
    """The publication directory (one holding statement.json) that `path` is in, if any."""
    for folder in (path, *Path(os.path.abspath(path)).parents):
        if (folder / "statement.json").is_file():
            return folder
    return None


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (both existing), or the same absolute path."""
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


#: The modules whose compiled kernels a verification runs (the others are the prover's).
VERIFIER_KERNELS = ("stark.field", "circuits.poseidon2")


def announce_compilation(modules: tuple[str, ...] | None = None) -> None:
    """Say so when the compiled kernels of `modules` (default: every module loaded) are not
    cached yet: only the first run on a machine compiles them, about 30 s (`solvency demo`: 44 s
    on an empty cache, 16 s after, on 2 cores) otherwise silent."""
    from stark.jit import compiled_kernels_cached

    if not compiled_kernels_cached(modules):
        console.print(
            "compiling the numeric kernels (the first run on this machine; cached afterwards)"
        )
