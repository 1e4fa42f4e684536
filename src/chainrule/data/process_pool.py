"""The DataLoader's forked worker processes for one pass, or kept from pass to pass with
``persistent_workers=True``, as PyTorch's persistent workers.

A kept pool is forked on the loader's first pass and serves its later passes: the same processes
(the same ``get_worker_info()`` and seed), each with the dataset copy it had, ``worker_init_fn``
run once in all. Each task carries its pass's seed, so the batches are those of
``num_workers=0`` still. A pass that stops early (a ``break``) reads and drops the batches still
in flight, so that the next pass starts clean; a pass that fails (a worker's error, a timeout)
ends the processes, and the next pass forks new ones. The processes end with the loader (or at
exit). A second pass begun while another of the same loader is still reading the pool gets
processes of its own, for that pass only.
"""

from __future__ import annotations

import weakref

from .workers import receive, start_processes, stop_processes

__all__ = ["Pool", "close_pool", "open_pool"]


class Pool:
    """``count`` forked processes serving ``build``: their pipes, and how many passes they
    served (``passes``, the token a stream's worker starts a new pass on)."""

    def __init__(self, build, base, count: int, dataset, init, kind: str):
        self.pipes, self.processes = start_processes(build, base, count, dataset, init)
        self.dataset, self.kind, self.passes, self.busy = dataset, kind, 0, False
        self.closer = None

    def usable(self, dataset, kind: str) -> bool:
        return (self.dataset is dataset and self.kind == kind
                and all(p.is_alive() for p in self.processes))

    def end(self, early: bool) -> None:
        if self.closer is not None:
            self.closer.detach()
        stop_processes(self.pipes, self.processes, early)


def open_pool(loader, build, base, count: int, dataset, init, kind: str) -> tuple[Pool, bool]:
    """The processes for a pass of ``loader`` and whether they are kept (``persistent_workers``):
    the kept ones where usable, else new ones."""
    if loader is None or not getattr(loader, "persistent_workers", False):
        return Pool(build, base, count, dataset, init, kind), False
    pool = getattr(loader, "_process_pool", None)  # the kept one, as threads.py keeps threads
    if pool is not None and not pool.busy and not pool.usable(dataset, kind):
        pool.end(early=True)  # a worker died, or the loader's dataset was replaced
        pool = None
    if pool is None:
        pool = Pool(build, base, count, dataset, init, kind)
        pool.closer = weakref.finalize(loader, stop_processes, pool.pipes, pool.processes, False)
        loader._process_pool = pool
    elif pool.busy:  # another pass of this loader is reading it: processes for this pass
        return Pool(build, base, count, dataset, init, kind), False
    pool.busy = True
    pool.passes += 1
    return pool, True


def close_pool(loader, pool: Pool, kept: bool, outstanding: list, failed: bool,
               timeout: float = 0) -> None:
    """End a pass: ``outstanding`` lists the worker of each task still unanswered. Processes of
    this pass only end (killed if tasks are outstanding); kept ones drop the unanswered batches
    and wait for the next pass, unless the pass ``failed`` (then they end)."""
    if not kept:
        pool.end(early=bool(outstanding))
        return
    try:
        if failed:
            raise RuntimeError("the pass failed")
        for w in outstanding:
            try:
                receive(pool.pipes[w], w, timeout)
            except RuntimeError as e:
                if "timed out" in str(e):
                    raise
    except RuntimeError:
        pool.end(early=True)
        if getattr(loader, "_process_pool", None) is pool:
            loader._process_pool = None
    finally:
        pool.busy = False
