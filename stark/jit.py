"""numba when it is installed, plain Python otherwise.

The prover's kernels are numba-compiled. A verifier installs only numpy (docs/install.md), so
every module imports `njit` and `prange` from here: with numba they are numba's own (and each
cached kernel is remembered for `compiled_kernels_cached`); without it `njit` returns the
function unchanged and `prange` is `range`. A kernel then runs as Python loops, so every kernel
on the verifier's path has a vectorised numpy twin chosen when `HAVE_NUMBA` is False.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

try:
    import numba
except ImportError:  # the verify-only install
    numba = None

HAVE_NUMBA = numba is not None

#: Every cached kernel decorated through `njit`, by module: what `compiled_kernels_cached`
#: looks for in numba's on-disk cache.
KERNELS: dict[str, list[Any]] = {}


def njit(*args: Any, **options: Any) -> Any:
    """numba.njit (as ``@njit`` or ``@njit(**options)``) when numba is installed, else the
    identity decorator."""
    if args and callable(args[0]):  # bare @njit
        return njit(**options)(args[0])
    if numba is None:
        return lambda function: function

    def decorate(function: Callable) -> Any:
        kernel = numba.njit(*args, **options)(function)
        if options.get("cache") and options.get("inline") != "always":
            KERNELS.setdefault(function.__module__, []).append(kernel)
        return kernel

    return decorate


prange = range if numba is None else numba.prange


def num_threads() -> int:
    """numba's thread count (1 without numba)."""
    return 1 if numba is None else numba.get_num_threads()


def compiled_kernels_cached(modules: Iterable[str] | None = None) -> bool:
    """Does numba's on-disk cache already hold the kernels of these modules (by default every
    module imported so far that defines cached kernels), for their current sources and this
    numba version? True without numba: nothing will be compiled.

    Cheap (reads the cache's index files, about 10 ms for all; compiles nothing). Per module,
    at least one of its kernels must have a current index entry: a fresh machine, another
    numba version or an edited source file reads False. It does not check every kernel (one
    that earlier runs never used, such as a parallel twin, compiles on its first use, in a
    second or two), and an entry compiled for another CPU counts as present. A verifier uses
    only the kernels of stark.field and circuits.poseidon2: pass those two, or a machine that
    has never proved reads False on every verification.
    """
    if numba is None:
        return True
    names = list(KERNELS) if modules is None else list(modules)
    if not names or any(name not in KERNELS for name in names):
        return False
    return all(any(_has_cached_entry(k) for k in KERNELS[name]) for name in names)


def _has_cached_entry(kernel: Any) -> bool:
    """Whether numba's cache index of one kernel lists a compiled version for its current
    source (numba drops the index's entries when the source file's stamp or numba's version
    differs)."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return True
    try:
        return bool(kernel._cache._cache_file._load_index())  # numba's own reading of the index
    except Exception:  # an internal API: if it ever changes, say "not cached"
        return False
