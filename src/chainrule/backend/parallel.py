"""Large elementwise sweeps split over chainrule's threads.

The matrix products of a step run on every thread BLAS has (``backend.threads``), but the work
between them (an optimizer's update, a layer's bias and activation, col2im) is one sweep each,
on one core. A sweep whose kernel releases the GIL (a numba kernel compiled ``nogil``, a NumPy
ufunc on large arrays) can instead run as a few chunks at once: the calling thread takes one
chunk and the threads of a small pool take the others.

``split(n, grain)`` says where to cut a sweep over ``n`` items (None: run it whole) and ``run``
runs the chunks. A sweep is split only when chainrule's thread count (BLAS's, as
``get_num_threads`` reads it, kept here and read again whenever ``config.threads`` is
assigned) is above 1, the sweep has at least ``2 * grain`` items, and no reference mode is on.
With one thread, no pool is ever started. Each chunk computes its own items with the same
operations as the whole sweep, so a split sweep gives the same bits as a whole one, whatever the
thread count (the kernels split here do no sums across items).

The pool's threads are daemons, started on first use, one fewer than the thread count.
"""

from __future__ import annotations

import queue
import threading
from _thread import allocate_lock as _allocate_lock

from .settings import config

__all__ = ["run", "split", "sweep_threads"]

_count: int | None = None  # the thread count; None: read it on first use
_workers: list = []
_jobs: queue.SimpleQueue = queue.SimpleQueue()
_start_lock = threading.Lock()


def sweep_threads() -> int:
    """How many threads a sweep may use now: chainrule's (BLAS's) thread count, 1 in reference
    mode."""
    global _count
    if config.reference_mode:
        return 1
    if _count is None:
        from .threads import get_num_threads

        _count = max(1, get_num_threads())
    return _count


def _forget(_value=None) -> None:
    """Read the thread count again on next use (``config.threads`` was assigned)."""
    global _count
    _count = None


config._on_change("threads", _forget)


def split(n: int, grain: int) -> list | None:
    """Bounds ``[(0, b1), (b1, b2), ...]`` cutting ``n`` items into one chunk per thread, each
    of at least ``grain`` items; None when the sweep should run whole (one thread, or too small).
    """
    if n < 2 * grain:
        return None
    threads = sweep_threads()
    if threads < 2:
        return None
    parts = min(threads, n // grain)
    step = -(-n // parts)
    # Chunk bounds on multiples of 16 items keep each chunk's vector loop aligned like the whole.
    step = -(-step // 16) * 16
    bounds = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
    return bounds if len(bounds) > 1 else None


def _work() -> None:
    while True:
        fn, args, done, errors = _jobs.get()
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - handed to the caller, which re-raises it
            errors.append(e)
        finally:
            done.release()


def _ensure_workers(count: int) -> None:
    if len(_workers) >= count:
        return
    with _start_lock:
        while len(_workers) < count:
            t = threading.Thread(target=_work, name=f"chainrule-sweep-{len(_workers)}",
                                 daemon=True)
            t.start()
            _workers.append(t)


def run(fn, chunks) -> None:
    """``fn(*chunk)`` for every chunk: the first on the calling thread, the others in the pool.

    Returns when all are done; re-raises the first exception a chunk raised. ``fn`` should
    release the GIL (a numba ``nogil`` kernel, large NumPy ufuncs), or the chunks take turns.
    """
    if len(chunks) == 1:
        fn(*chunks[0])
        return
    _ensure_workers(len(chunks) - 1)
    errors: list = []
    locks = []
    for args in chunks[1:]:
        done = _allocate_lock()  # held until the worker releases it
        done.acquire()
        locks.append(done)
        _jobs.put((fn, args, done, errors))
    try:
        fn(*chunks[0])
    finally:
        for done in locks:
            done.acquire()
    if errors:
        raise errors[0]
