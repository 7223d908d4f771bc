"""solvency.interrupts in this process: a KeyboardInterrupt that a ctypes callback swallows (as
llvmlite's does while numba compiles) is raised again; the previous handlers come back."""

import ctypes
import os
import signal
import sys
import time

import pytest

from solvency import interrupts

CALLBACK = ctypes.CFUNCTYPE(None)


def _sigint_inside_a_ctypes_callback() -> None:
    """Send SIGINT to this process from a Python function that C calls: Python's handler runs
    (and raises) inside the callback, where ctypes prints the exception and drops it."""

    def callback() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0)  # a call: Python's handler runs here, inside the callback

    c_callback = CALLBACK(callback)
    c_callback()  # a call through ctypes (C), like LLVM's call of llvmlite's hook


def _wait() -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.001)


def test_a_swallowed_interrupt_is_raised_again():
    with pytest.raises(KeyboardInterrupt), interrupts.handling():
        _sigint_inside_a_ctypes_callback()
        _wait()  # the redelivery arrives here, in plain Python code
    assert interrupts.received()


def test_check_raises_once_an_interrupt_was_received():
    with interrupts.handling():
        interrupts.check()  # nothing received: goes on
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            _wait()
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()  # as if something had swallowed the first one


def test_the_previous_handlers_come_back():
    handler, hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    with interrupts.handling():
        assert signal.getsignal(signal.SIGINT) is not handler
    assert signal.getsignal(signal.SIGINT) is handler and sys.unraisablehook is hook
