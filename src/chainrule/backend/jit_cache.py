"""numba's disk cache, made safe for several processes that compile one kernel at once.

numba keeps each compiled version of a kernel (one per argument types) in a numbered file and
finds it through an index (``cache=True``). It updates the index by reading it, adding an entry
and writing it back, without a lock, so two processes that compile new versions of one kernel
at the same moment (parallel test workers, two runs started together on a fresh install) can
take the same number: the index then names one version's machine code for another's argument
types, in every later process. Code compiled for float64 arrays run on float32 ones fails
inside numba ("can't unbox array"); code for C-ordered arrays run on Fortran-ordered ones of the
same dtype would index them wrongly, silently.

``guard`` closes that window: numba calls a dispatcher's ``_compile_for_args`` only when no
version it holds matches the arguments (to load one from the cache or compile one, never on
the hot path), and ``guard`` runs it under an exclusive lock on a file beside the cache, so the
processes take turns at the index. ``heal`` repairs an index damaged earlier (by a chainrule
without the lock): it empties the kernel's cache and compiles its versions afresh.
"""

from __future__ import annotations

import contextlib
import os

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks; numba's race remains there
    fcntl = None

__all__ = ["guard", "heal"]


@contextlib.contextmanager
def _locked(kernel):
    """An exclusive lock, across processes, on ``chainrule-compile.lock`` in the kernel's cache
    folder; nothing where there is no such folder or no locking (the race is numba's then)."""
    folder = getattr(getattr(kernel, "stats", None), "cache_path", None)
    fd = None
    if fcntl is not None and folder:
        try:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(os.path.join(folder, "chainrule-compile.lock"), os.O_RDWR | os.O_CREAT)
        except OSError:  # a read-only cache folder: numba does not write there either
            fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def guard(kernel):
    """``kernel`` (a numba dispatcher) with its cache loads and compilations under the lock."""
    compile_for_args = kernel._compile_for_args

    def locked(*args, **kwargs):
        with _locked(kernel):
            return compile_for_args(*args, **kwargs)

    kernel._compile_for_args = locked
    return kernel


def heal(kernel) -> None:
    """Empty ``kernel``'s cache index and compile the versions it holds afresh (numba's
    ``recompile``), under the lock."""
    with _locked(kernel):
        kernel.recompile()
