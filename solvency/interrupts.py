"""Ctrl-C that always stops a command, even when it lands inside a ctypes callback.

Python raises KeyboardInterrupt at the next bytecode after SIGINT. While numba compiles, that
bytecode is often inside llvmlite's object-cache callback, which LLVM calls through ctypes; an
exception there is printed ("Exception ignored on calling ctypes callback function") and
dropped, and the command went on, published and exited 0. So while a command runs:

- SIGINT's handler records the interrupt and raises KeyboardInterrupt;
- a KeyboardInterrupt that reaches sys.unraisablehook (where ctypes drops it) is delivered
  again a moment later (`_thread.interrupt_main`), until it is raised outside a callback;
- `check()`, called at safe points (each prover phase, the end of a progress display, the end
  of the command), raises KeyboardInterrupt if an interrupt was ever received, whatever
  swallowed it.

Imports nothing heavy: `solvency --help` stays fast.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: Seconds before a swallowed KeyboardInterrupt is delivered again: long enough for the
#: callback that dropped it to return to C, so that the next delivery is not in the same hook.
REDELIVER_AFTER = 0.01

_received = False
_active = False


def received() -> bool:
    """Whether SIGINT arrived while a command ran under `handling()`."""
    return _received


def check() -> None:
    """At a safe point (no cleanup under way): raise KeyboardInterrupt if SIGINT arrived, in
    case what raised it the first time was swallowed."""
    if _received:
        raise KeyboardInterrupt


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _received
    _received = True
    raise KeyboardInterrupt


def _redeliver() -> None:
    """Deliver SIGINT again to the main thread, from another thread, a moment from now."""
    timer = threading.Timer(REDELIVER_AFTER, _deliver)
    timer.daemon = True
    timer.start()


def _deliver() -> None:
    if _active:  # not once the command is over: its previous handler is back
        _thread.interrupt_main(signal.SIGINT)


@contextmanager
def handling() -> Iterator[None]:
    """Run the body with the handler and the hook above, then restore the previous ones (the
    tests run commands in pytest's own process). Outside the main thread, where no signal
    handler can be set, and inside another `handling()`, the body runs as it is."""
    global _received, _active
    if _active or threading.current_thread() is not threading.main_thread():
        yield
        return
    _received, _active = False, True
    previous_hook = sys.unraisablehook

    def on_unraisable(unraisable: Any) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            _redeliver()  # first, and nothing else: this hook may itself be interrupted
            return
        previous_hook(unraisable)

    previous_handler = signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = on_unraisable
    try:
        yield
    finally:
        _active = False
        signal.signal(signal.SIGINT, previous_handler)
        sys.unraisablehook = previous_hook
