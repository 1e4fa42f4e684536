"""Worker threads for the DataLoader: ``k`` workers that build batches in order, and a
prefetcher.

As PyTorch's worker processes, each worker thread has its own ``WorkerInfo`` and its own shallow
copy of the dataset (``worker_copy``), set up by ``worker_init_fn`` as it starts (every worker,
once per pass, or once for the loader's life with ``persistent_workers``: ``ThreadWorkers``), and
batch ``i`` of a pass is built by worker ``i % k``; so what ``worker_init_fn`` sets on
``get_worker_info().dataset`` is seen by that worker's batches only, and never by the caller's
dataset.
"""

from __future__ import annotations

import collections
import copy
import queue
import threading
from concurrent.futures import Future

from ..autograd.tensor import Tensor
from ..backend.random import generator_scope
from .workers import WorkerInfo, enter_worker, set_worker_info, timed_out

__all__ = ["ThreadWorkers", "in_threads", "prefetched", "thread_workers", "worker_copy"]


def worker_copy(dataset):
    """A worker's own copy of ``dataset``: a shallow copy of an object with attributes (what a
    ``worker_init_fn`` or the dataset itself sets stays in the worker); arrays, lists and
    Tensors, and objects that cannot be copied, are shared as they are."""
    if not hasattr(dataset, "__dict__") or isinstance(dataset, Tensor):
        return dataset
    try:
        return copy.copy(dataset)
    except Exception:  # noqa: BLE001 - a __getattr__ that recurses, a refusing __reduce__
        return dataset


class ThreadWorkers:
    """The worker threads' ``WorkerInfo``s: made (with the dataset's copy and ``init`` run) as
    each worker starts; kept for the next passes with ``persistent``, as PyTorch's persistent
    workers keep their state and run ``worker_init_fn`` once."""

    def __init__(self, count: int, dataset, init=None, persistent: bool = False,
                 timeout: float = 0):
        self.count, self.dataset, self.init, self.persistent = count, dataset, init, persistent
        self.timeout = timeout  # the loader's: the longest wait for a batch (0: no limit)
        self._infos: list = [None] * count

    def enter(self, worker: int, base) -> WorkerInfo:
        """Make the calling thread worker ``worker`` of this pass (its info, then ``init``)."""
        info = self._infos[worker]
        if info is not None:
            set_worker_info(info)
            return info
        info = WorkerInfo(worker, self.count, base[0] + worker, worker_copy(self.dataset))
        with generator_scope([*base, worker]):
            enter_worker(info, self.init)
        if self.persistent:
            self._infos[worker] = info
        return info


def thread_workers(loader) -> ThreadWorkers:
    """The loader's worker threads' state for a pass: new each pass, or the one kept with
    ``persistent_workers``."""
    kept = getattr(loader, "_thread_workers", None)
    if kept is not None and kept.dataset is loader.dataset:
        return kept
    made = ThreadWorkers(loader.num_workers, loader.dataset, loader.worker_init_fn,
                         bool(loader.persistent_workers), loader.timeout)
    if made.persistent:
        loader._thread_workers = made
    return made


def in_threads(build, plans, base, workers: ThreadWorkers, ahead: int = 2):
    """Yield ``build(plan, base, dataset)`` for each plan, in order: plan ``i`` built by worker
    ``i % k`` on its copy of the dataset, up to ``ahead * k`` batches in flight (PyTorch's
    ``prefetch_factor``). Every worker starts (``worker_init_fn``) as the pass starts."""
    k = workers.count
    tasks = [queue.SimpleQueue() for _ in range(k)]
    stop = threading.Event()

    def work(w: int) -> None:
        try:
            dataset, failure = workers.enter(w, base).dataset, None
        except BaseException as e:  # noqa: BLE001 - raised where its batches are asked for
            dataset, failure = None, e
        while True:
            task = tasks[w].get()
            if task is None:
                return
            plan, future = task
            if stop.is_set() or not future.set_running_or_notify_cancel():
                continue
            if failure is not None:
                future.set_exception(failure)
                continue
            try:
                future.set_result(build(plan, base, dataset))
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                future.set_exception(e)

    threads = [threading.Thread(target=work, args=(w,), daemon=True,
                                name=f"chainrule-loader-{w}") for w in range(k)]
    for t in threads:
        t.start()
    pending: collections.deque = collections.deque()
    hung = False

    def next_batch():  # PyTorch's RuntimeError when it takes over the loader's timeout
        nonlocal hung
        future = pending.popleft()
        try:
            return future.result(timeout=workers.timeout or None)
        except TimeoutError:
            if future.done():  # the dataset's own TimeoutError
                raise
            hung = True  # that worker may never end: it is left to finish alone
            raise timed_out(workers.timeout) from None

    try:
        for sent, plan in enumerate(plans):
            future: Future = Future()
            tasks[sent % k].put((plan, future))
            pending.append(future)
            if len(pending) >= ahead * k:
                yield next_batch()
        while pending:
            yield next_batch()
    finally:
        stop.set()
        for q in tasks:
            q.put(None)
        for t in threads if not hung else ():
            t.join()


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
