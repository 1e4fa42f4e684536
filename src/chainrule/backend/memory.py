"""Ask the C allocator to keep freed memory for reuse (``chainrule.config.malloc_tuning``).

A training step allocates the same large arrays every time (im2col columns, padded copies,
activations, gradients) and frees them again. glibc's malloc serves blocks from 128 KiB up (its
threshold rises as blocks are freed, to at most 32 MiB) with fresh ``mmap`` memory and returns it
to the operating system on free, so every step touches new pages: a page fault per 4 KiB, which
was a third of a LeNet-5 step. With the mmap threshold at 256 MiB and the trim threshold at
512 MiB, freed blocks stay in malloc's heap and the next step reuses them, as PyTorch's
performance guide gets from jemalloc or tcmalloc. This costs memory that a process keeps after
it is freed (at most the trim threshold above what it uses) and affects every allocation of the
process, so it is a setting: ``chainrule.config.malloc_tuning = False`` (or
``CHAINRULE_MALLOC_TUNING=0`` before import) puts glibc's own thresholds back. On other C
libraries (macOS, musl) it does nothing. docs/performance.md has the measurements.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "apply_malloc_tuning"]

MMAP_THRESHOLD = 256 * 2**20
TRIM_THRESHOLD = 512 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_GLIBC_DEFAULT = 128 * 2**10


def _glibc():
    """The process's glibc, or None on other systems and C libraries."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only
    except (OSError, AttributeError):
        return None
    return libc


def apply_malloc_tuning(enabled: bool) -> bool:
    """Set glibc's thresholds for ``enabled`` (True: keep freed memory); whether glibc took them."""
    libc = _glibc()
    if libc is None:
        return False
    mmap, trim = (MMAP_THRESHOLD, TRIM_THRESHOLD) if enabled else (_GLIBC_DEFAULT, _GLIBC_DEFAULT)
    took_mmap = libc.mallopt(_M_MMAP_THRESHOLD, mmap)
    took_trim = libc.mallopt(_M_TRIM_THRESHOLD, trim)
    return bool(took_mmap and took_trim)
