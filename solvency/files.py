"""Files: one bounded reader for every file a command reads, UTF-8 text, and atomic writes.

Every input (a snapshot, an assets, accounts, prices or reserves file, a publication's
statement.json, proof.bin and leaves.bin, an inclusion file, a batch plan or record) is read
by `read_regular`, which refuses anything but a regular file and reads at most a given number
of bytes. A named pipe (FIFO) would otherwise block a command forever, and a device such as
/dev/zero would exhaust its memory. The file is opened without blocking (O_NONBLOCK: opening a
FIFO returns at once, even one swapped in after a first check) and checked on the open file
(fstat) before a byte is read.

Every problem raises InputError: one line naming the file (and the line and field where
there is one). Every output is written by `write_atomically`: a temporary file beside it,
renamed over it, so that no reader ever sees half a file.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

#: The limit of the largest inputs (a snapshot, an accounts file): far beyond what one
#: machine can load (they are read whole), a guard against a runaway file.
MAX_INPUT_BYTES = 1 << 35
#: An assets or prices file: at most a few hundred assets.
MAX_ASSETS_BYTES = 1 << 22

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOCTTY", 0)  # a terminal never becomes the controlling one
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class InputError(ValueError):
    """Bad input, located: `file:line: field: problem`."""

    def __init__(self, file: str | Path, line: int | None, field: str | None, problem: str):
        where = f"{file}" + (f":{line}" if line else "")
        what = f" {field}:" if field else ""
        super().__init__(f"{where}:{what} {problem}")


def _not_regular(path: Path, mode: int, expected: str) -> InputError | None:
    """The error for a file of this mode, if it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return InputError(path, None, None, f"is a directory, expected {expected}")
    kind = _KINDS.get(stat.S_IFMT(mode), "a special file")
    return InputError(path, None, None, f"is {kind}, not a regular file; expected {expected}")


def _unreadable(path: Path, error: OSError) -> InputError:
    if isinstance(error, FileNotFoundError):
        return InputError(path, None, None, "no such file")
    return InputError(path, None, None, f"cannot read: {error.strerror or error}")


def check_regular(path: str | Path, expected: str = "a regular file") -> None:
    """Raise InputError unless `path` is (or links to) a regular file that exists."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise _unreadable(path, e) from None
    except ValueError as e:  # a NUL byte in the path
        raise InputError(path, None, None, f"cannot read: {e}") from None
    error = _not_regular(path, mode, expected)
    if error is not None:
        raise error


def _too_large(path: Path, max_bytes: int, what: str) -> InputError:
    whose = f" for any {what}" if what else ""
    return InputError(path, None, None, f"larger than the {max_bytes:,} bytes allowed{whose}")


def read_regular(
    path: str | Path, max_bytes: int, what: str = "", expected: str = "a regular file"
) -> bytes:
    """The bytes of the regular file `path` (a link to one is followed), at most `max_bytes`.

    Raises InputError naming the file: no such file, a directory ("expected `expected`"), a
    FIFO, a device or a socket (never opened for long, never read), unreadable, or larger than
    `max_bytes` ("allowed for any `what`", e.g. "inclusion file")."""
    path = Path(path)
    check_regular(path, expected)  # a device is never even opened
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        raise _unreadable(path, e) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)  # what was opened, whatever the path names now
        error = _not_regular(path, info.st_mode, expected)
        if error is not None:
            raise error
        if info.st_size > max_bytes:
            raise _too_large(path, max_bytes, what)
        try:
            data = _read_at_most(fh, info.st_size, max_bytes)
        except OSError as e:
            raise _unreadable(path, e) from None
    if len(data) > max_bytes:  # the file grew while being read
        raise _too_large(path, max_bytes, what)
    return data


def _read_at_most(fh: BinaryIO, size: int, max_bytes: int) -> bytes:
    """Up to max_bytes + 1 bytes of an open file whose size was `size`: one read of the whole
    file (a buffer of `size`, never of the limit), then more only if it grew meanwhile."""
    data = fh.read(min(size, max_bytes) + 1)
    while len(data) <= max_bytes:
        more = fh.read(min(1 << 20, max_bytes + 1 - len(data)))
        if not more:
            break
        data += more
    return data


#: A private record of a batch run (plan.json, batch.json, opening.json): a few hundred bytes.
MAX_RECORD_BYTES = 1 << 20


def read_json_record(
    path: str | Path, max_bytes: int = MAX_RECORD_BYTES, what: str = "record"
) -> Any:
    """The JSON document in the regular file `path` (`read_regular`), as json.loads reads it;
    InputError naming the file and the line if it is not JSON."""
    raw = read_regular(path, max_bytes, what, "a JSON file")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(path, e.lineno, None, f"not valid JSON: {e.msg}") from None
    except (UnicodeDecodeError, RecursionError) as e:
        raise InputError(path, None, None, f"not valid JSON: {e}") from None


# -- text -------------------------------------------------------------------------------------
BOM = b"\xef\xbb\xbf"


def decode_utf8(raw: bytes, path: str | Path) -> str:
    """UTF-8 text without its byte-order mark, if it has one. Bytes that are not UTF-8 raise
    InputError naming their line and byte column."""
    start = len(BOM) if raw.startswith(BOM) else 0
    try:
        return str(memoryview(raw)[start:], "utf-8")
    except UnicodeDecodeError as e:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(
                path, None, None, "UTF-16 text (it starts with a UTF-16 mark); save it as UTF-8"
            ) from None
        raise not_utf8(path, raw, start + e.start) from None


def not_utf8(path: str | Path, raw: bytes, at: int) -> InputError:
    """The error for the byte at offset `at` of `raw`, which starts no UTF-8 character."""
    line = raw.count(b"\n", 0, at) + 1
    column = at - raw.rfind(b"\n", 0, at)
    return InputError(
        path,
        line,
        None,
        f"not UTF-8 text (byte 0x{raw[at]:02X} at column {column}); save the file as UTF-8",
    )


# -- writing ----------------------------------------------------------------------------------
def write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write to a temporary file in the same directory, then rename over `path`. Private files
    stay readable by their owner only (mkstemp's 0600); others get the usual permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; published files are readable
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
