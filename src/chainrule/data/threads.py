"""Worker threads for the DataLoader: a pool that builds batches in order, and a prefetcher."""

from __future__ import annotations

import collections
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["in_threads", "prefetched"]


def in_threads(build, plans, base, workers: int, starter):
    """Yield ``build(plan, base)`` for each plan, in order, from a pool of ``workers`` threads
    that keeps up to ``2 * workers`` batches in flight (PyTorch's ``prefetch_factor`` of 2)."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="chainrule-loader", initializer=starter)
    pending: collections.deque = collections.deque()
    try:
        for plan in plans:
            pending.append(pool.submit(build, plan, base))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)


def prefetched(batches, depth: int):
    """Yield from ``batches`` while a background thread keeps up to ``depth`` batches ready."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for b in batches:
                while not stop.is_set():
                    try:
                        buffer.put(b, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
            buffer.put(e)

    worker = threading.Thread(target=produce, daemon=True, name="chainrule-prefetch")
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
