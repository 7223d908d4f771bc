"""User ids: their one canonical form, the characters they may not hold, and their file names.

An id is compared, hashed into its leaf and stored in its canonical form (`canonical_id`):
surrounding whitespace removed and Unicode normalised to NFC, so that "José" typed with a
precomposed é (U+00E9) and with e + a combining accent (U+0065 U+0301) is one user, in a
snapshot, an accounts file and on the command line (`--user`) alike.

Refused in an id (`id_problem`):

- control characters (Unicode category Cc: NUL, tab, line feed, escape, DEL, the C1 controls):
  they end lines in the CSV files, logs and index this program writes, end C strings, and
  make an id print as something else in a terminal;
- line and paragraph separators (Zl U+2028, Zp U+2029): line breaks to many readers;
- format characters (Cf), except the zero-width non-joiner and joiner (U+200C, U+200D):
  invisible, so that two ids would look the same and be two users (a soft hyphen, a
  zero-width space, a byte-order mark), or reorder how an id is displayed (the bidirectional
  overrides and isolates), so that the id a user is shown is not the one committed. The two
  joiners are kept: Persian, Indic scripts and emoji sequences need them to spell words;
- surrogates (Cs): they have no UTF-8 form, so no leaf.

Other characters (any letter, digit, punctuation, symbol or space inside an id, private-use or
not yet assigned code points) are accepted: an id is the exchange's own string.
"""

from __future__ import annotations

import hashlib
import unicodedata
from urllib.parse import quote

_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_ALLOWED_FORMAT = {"\u200c", "\u200d"}  # zero-width non-joiner, zero-width joiner
_KIND = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "a surrogate (no UTF-8 form)",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
#: Names Windows reserves for devices, with any extension ("NUL.json" is the null device).
WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{port}{k}" for port in ("COM", "LPT") for k in "0123456789"}
)
MAX_NAME_STEM = 200  # bytes of a file name before ".json" (file systems allow 255)


def canonical_id(text: str) -> str:
    """The canonical form of a user id: surrounding whitespace removed, NFC. Used wherever an
    id is read: the snapshot, the accounts file, `--user`."""
    stripped = text.strip()
    if stripped.isascii():
        return stripped  # ASCII is already NFC
    return unicodedata.normalize("NFC", stripped)


def _refused(char: str) -> bool:
    category = unicodedata.category(char)
    return category in _REFUSED_CATEGORIES and char not in _ALLOWED_FORMAT


def id_problem(user_id: str) -> str | None:
    """Why `user_id` (canonical) cannot be a user's id, or None: empty, or holding a character
    this module refuses (named by its code point)."""
    if not user_id:
        return "empty user id"
    if user_id.isprintable():  # the common case: no character of a refused category
        return None
    for char in user_id:
        if _refused(char):
            kind = _KIND[unicodedata.category(char)]
            name = unicodedata.name(char, "")
            named = f"U+{ord(char):04X}" + (f" {name}" if name else "")
            return f"the user id {user_id!r} contains {named}, {kind}"
    return None


def id_filename(user_id: str) -> str:
    """A user's file name in an export folder, safe on every operating system: the id
    percent-encoded (UTF-8), so no path separator and no character Windows forbids
    (<>:"/\\|?* and the controls), with '~' and a leading '.' encoded too (no hidden file, never
    '.' or '..'), and the first character of a Windows device name (CON, NUL, COM1...) encoded;
    the name always ends with '.json', never with a dot or a space. Decoding the name gives the
    id back, so two ids never share a name. An id too long for a file name gets '%sha256-' and
    its digest instead ('%s' is never a percent-encoding, so the two forms cannot collide).
    Case-insensitive file systems are handled where the files are written."""
    stem = quote(user_id, safe="").replace("~", "%7E")
    if stem.startswith(".") or stem.split(".")[0].upper() in WINDOWS_DEVICES:
        stem = f"%{ord(stem[0]):02X}{stem[1:]}"
    if len(stem) > MAX_NAME_STEM:
        return hashed_filename(user_id)
    return f"{stem}.json"


def hashed_filename(user_id: str) -> str:
    """The fallback file name of an id: '%sha256-' and the SHA-256 of its UTF-8 form."""
    return f"%sha256-{hashlib.sha256(user_id.encode()).hexdigest()}.json"
