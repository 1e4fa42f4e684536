"""The DataLoader's reading of an ``IterableDataset``: its items, batched, from 0 or k workers.

As in PyTorch, each worker (thread or forked process) iterates its own copy of the dataset and
batches its own items, so without sharding (``get_worker_info()``) every worker yields all of
them; a worker's last batch may be short (``drop_last`` leaves it out). The batches come back
round robin over the workers in id order, an exhausted worker skipped: worker 0's first batch,
worker 1's first, ..., worker 0's second, and so on, which is the order PyTorch's loader gives.

Each ``next()`` on a worker's iterator runs in its own random stream
(``backend.random.generator_scope``), made from the pass's seed, the worker's id and the item's
count, so what a random dataset draws with ``rng=None`` does not depend on thread timing.
"""

from __future__ import annotations

import json
import queue
import threading
import warnings

from ..backend.random import generator_scope
from .threads import ThreadWorkers
from .workers import (
    get_worker_info,
    receive,
    timed_out,
)

__all__ = ["past_length_warned", "stream_batches"]


def stream_batches(dataset, make_batch, size, drop_last: bool, base, workers: int,
                   processes: bool, init=None, threads=None, loader=None):
    """The batches of one pass over ``dataset``.

    Args:
        make_batch: ``make_batch(items) -> batch``; with ``size`` None it gets one item at a time.
        size: items per batch, or None (no automatic batching).
        base: the pass's seed (a list of ints); workers: 0 reads in the caller's thread.
        processes: forked worker processes instead of threads; init: ``worker_init_fn``.
        threads: the worker threads' ``ThreadWorkers`` (``data.threads``): each worker's copy
            of the dataset, set up by ``init`` (kept from pass to pass with persistent workers),
            and the loader's ``timeout`` (a RuntimeError when a batch takes longer).
        loader: the loader, whose ``persistent_workers`` keeps worker processes.
    """
    if not workers:
        return _batches(dataset, make_batch, size, drop_last, base, 0)
    timeout = threads.timeout if threads is not None else 0
    if processes:
        return _from_processes(dataset, make_batch, size, drop_last, base, workers, init,
                               timeout, loader)
    if threads is None:
        threads = ThreadWorkers(workers, dataset, init)
    return _from_threads(make_batch, size, drop_last, base, threads)


def _batches(dataset, make_batch, size, drop_last, base, worker):
    """One reader's batches; ``iter(dataset)`` is called now, the items are read lazily."""
    with generator_scope([*base, worker, 0]):
        items = iter(dataset)
    return _grouped(items, make_batch, size, drop_last, base, worker)


def _grouped(items, make_batch, size, drop_last, base, worker):
    count = 0
    while True:  # as PyTorch's fetcher: a short group ends the stream only if it is empty
        group = []
        for _ in range(size or 1):
            count += 1
            with generator_scope([*base, worker, count]):
                item = next(items, _END)
            if item is _END:
                break
            group.append(item)
        if not group or (drop_last and size is not None and len(group) < size):
            return
        yield make_batch(group)


_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def _from_threads(make_batch, size, drop_last, base, workers):
    """Round robin over ``workers`` threads (a ``ThreadWorkers``), each filling its own queue
    two batches ahead."""
    stop = threading.Event()
    queues = [queue.Queue(maxsize=2) for _ in range(workers.count)]

    def put(w, item) -> bool:
        while not stop.is_set():
            try:
                queues[w].put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work(w):
        try:
            mine = workers.enter(w, base).dataset  # its own copy, as a worker process's
            for batch in _batches(mine, make_batch, size, drop_last, base, w):
                if not put(w, batch):
                    return
            put(w, _END)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            put(w, _Failed(e))

    threads = [threading.Thread(target=work, args=(w,), daemon=True,
                                name=f"chainrule-loader-{w}") for w in range(workers.count)]
    for t in threads:
        t.start()
    hung = False
    try:
        active = list(range(len(queues)))
        while active:
            for w in list(active):
                try:
                    item = queues[w].get(timeout=workers.timeout or None)
                except queue.Empty:
                    hung = True  # a worker that may never end is left to finish alone
                    raise timed_out(workers.timeout) from None
                if item is _END:
                    active.remove(w)
                elif isinstance(item, _Failed):
                    raise item.error
                else:
                    yield item
    finally:
        stop.set()
        for t in threads if not hung else ():
            t.join()


def _from_processes(dataset, make_batch, size, drop_last, base, workers, init, timeout,
                    loader=None):
    """Round robin over ``workers`` forked processes, two requests in flight per worker; kept
    for the next pass with the ``loader``'s ``persistent_workers`` (``data.process_pool``)."""
    from .process_pool import close_pool, open_pool

    state = {}

    def build(plan, pass_base):  # runs in a worker process, on its copy of the dataset
        if state.get("pass") != plan[0]:  # a kept worker's next pass reads the stream anew
            worker = get_worker_info().id
            state["pass"] = plan[0]
            state["batches"] = _batches(dataset, make_batch, size, drop_last, pass_base, worker)
        return next(state["batches"])

    pool, kept = open_pool(loader, build, base, workers, dataset, init, "stream")
    task = json.dumps([pool.passes, [], base]).encode()
    active, outstanding, failed = list(range(workers)), [2] * workers, True
    for conn in pool.pipes:
        for _ in range(2):
            conn.send_bytes(task)
    try:
        while active:
            for w in list(active):
                batch = receive(pool.pipes[w], w, timeout)
                outstanding[w] -= 1
                if batch is None:
                    active.remove(w)
                    continue
                pool.pipes[w].send_bytes(task)
                outstanding[w] += 1
                yield batch
        failed = False
    except GeneratorExit:
        failed = False
        raise
    finally:
        close_pool(loader, pool, kept, [w for w in range(workers) for _ in range(outstanding[w])],
                   failed, timeout)


def past_length_warned(loader, batches):
    """``batches``, with PyTorch's UserWarning once a pass yields more of them than
    ``len(loader)`` said (when it was asked): a dataset's ``__len__`` that is wrong, or a stream
    that every worker reads in full because it does not shard itself."""
    for count, batch in enumerate(batches, 1):
        said = getattr(loader, "length_reported", None)
        if said is not None and count == said + 1:
            hint = (" With workers, each reads its own copy of the stream: shard it with "
                    "get_worker_info()." if loader.num_workers else "")
            warnings.warn(f"DataLoader: the length of {type(loader.dataset).__name__} was "
                          f"reported as {said} batches (len(loader)), but more have been "
                          f"fetched.{hint}", UserWarning, stacklevel=2)
        yield batch
