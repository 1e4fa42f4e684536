"""Worker processes for the DataLoader (``num_workers=k, multiprocessing_context="fork"``).

Each of ``k`` forked processes builds whole batches (``dataset[i]`` for each sample, then the
collate) and sends them back through its own pipe, as raw bytes after a JSON header: nothing is
pickled either way (the dataset reaches the workers by the fork itself). Batch ``i`` goes to
worker ``i % k``, two batches per worker in flight, and the batches are read back in order, so
they are those of ``num_workers=0``: every sample draws from its own stream
(``backend.random.generator_scope``), whatever process reads it.
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import json
import multiprocessing
import threading
import traceback

import numpy as np

from ..backend.random import set_worker_seed

__all__ = ["WorkerInfo", "check_context", "enter_worker", "get_worker_info", "in_processes",
           "set_worker_info", "start_processes", "stop_processes", "timed_out"]

_local = threading.local()


class WorkerInfo:
    """What ``get_worker_info()`` gives inside a loader's worker (thread or process).

    Attributes:
        id: the worker's number, ``0 .. num_workers - 1``.
        num_workers: how many workers the loader runs.
        seed: a number of this pass and worker (PyTorch's ``base_seed + id``); chainrule's
            samples draw from their own streams already (``DataLoader``), so it seeds nothing.
        dataset: the loader's dataset.
    """

    def __init__(self, id: int, num_workers: int, seed: int, dataset):  # noqa: A002
        for name, value in (("id", id), ("num_workers", num_workers), ("seed", seed),
                            ("dataset", dataset)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        """Refused, as PyTorch's frozen dataclass: the worker's id and count shard a stream, so a
        stray ``info.id = 0`` would read every worker's share as worker 0's."""
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}: a WorkerInfo "
                                              "describes the running worker")

    __delattr__ = __setattr__

    def __repr__(self) -> str:
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


def get_worker_info() -> WorkerInfo | None:
    """PyTorch's ``torch.utils.data.get_worker_info``: the ``WorkerInfo`` of the loader worker
    that runs the caller (inside ``dataset[i]``), None outside workers (``num_workers=0``)."""
    return getattr(_local, "info", None)


def enter_worker(info: WorkerInfo, init=None) -> None:
    """Record ``info`` as this thread's (or process's) ``WorkerInfo``, then run the loader's
    ``worker_init_fn`` (``init``), if any, with the worker's id, as PyTorch does."""
    set_worker_info(info)
    if init is not None:
        init(info.id)


def set_worker_info(info: WorkerInfo | None) -> None:
    """Record ``info`` as this thread's ``WorkerInfo`` (a persistent worker's, again), and its
    seed as what ``initial_seed()`` returns there, as in a PyTorch worker."""
    _local.info = info
    set_worker_seed(None if info is None else info.seed)


def check_context(context) -> bool:
    """True for a fork context (processes), False for None (threads); anything else raises."""
    if context is None:
        return False
    method = context if isinstance(context, str) else getattr(context, "get_start_method",
                                                               lambda: None)()
    if method != "fork":
        raise ValueError(f"DataLoader: multiprocessing_context must be 'fork' (worker processes "
                         f"that inherit the dataset, nothing pickled) or None (worker threads), "
                         f"got {context!r}")
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError("DataLoader: this platform cannot fork; leave multiprocessing_context "
                         "unset to prepare batches in threads")
    return True


def _serve(conn, build, base, info: WorkerInfo, init) -> None:
    """A worker's loop: a JSON task in (a plan and the pass's seed), a JSON header and one bytes
    message per array out (or a ``stop`` header once ``build`` raises StopIteration: an
    IterableDataset's worker is done)."""
    set_worker_info(info)
    while True:
        task = json.loads(conn.recv_bytes())
        if task is None:
            break
        try:
            if init is not None:  # on the first task, so that its failure reaches the loader
                run, init = init, None
                run(info.id)
            batch = build((task[0], task[1]), task[2] if len(task) > 2 else base)
            plain = isinstance(batch, np.ndarray)  # samples that are single arrays or numbers
            batch = (batch,) if plain else batch
            if not isinstance(batch, tuple) or not all(isinstance(a, np.ndarray) for a in batch):
                raise TypeError("a worker process sends a batch of arrays; samples with dicts, "
                                "strings or nested fields need worker threads (leave "
                                "multiprocessing_context unset)")
            arrays = [np.ascontiguousarray(a) for a in batch]
            for a in arrays:
                if a.dtype.hasobject:
                    raise TypeError(f"a batch field of dtype object (shape {a.shape}) cannot be "
                                    "sent from a worker process; samples must be numbers")
            header = {"arrays": [[a.dtype.str, list(a.shape)] for a in arrays], "plain": plain}
        except StopIteration:
            conn.send_bytes(b'{"stop": true}')
            continue
        except Exception as e:  # noqa: BLE001 - sent to the loader, which raises it
            kind = type(e).__name__ if type(e).__module__ == "builtins" else None
            conn.send_bytes(json.dumps({"error": f"{type(e).__name__}: {e}", "type": kind,
                                        "traceback": traceback.format_exc()}).encode())
            continue
        conn.send_bytes(json.dumps(header).encode())
        for a in arrays:
            conn.send_bytes(a.tobytes())
    conn.close()


def timed_out(timeout: float) -> RuntimeError:
    """PyTorch's error when a worker's batch takes longer than the loader's ``timeout``."""
    return RuntimeError(f"DataLoader timed out after {timeout} seconds")


class _Message(str):
    """A message whose repr is itself: a KeyError shows its traceback's lines (PyTorch's)."""

    __repr__ = str.__str__


def worker_error(header: dict, worker: int) -> Exception:
    """The error a worker process sent, raised in the loader with its type when that is one of
    Python's own (``KeyError``, ``ValueError``...), as PyTorch re-raises a worker's error, so
    that ``except KeyError`` still catches it; another type (nothing is unpickled) is a
    RuntimeError. Either names the worker and holds its traceback."""
    message = _Message(f"DataLoader worker process {worker} failed on a batch: "
                       f"{header['error']}\n{header['traceback']}")
    kind = getattr(builtins, header.get("type") or "", None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:  # noqa: BLE001 - a type that takes other arguments
            pass
    return RuntimeError(message)


def receive(conn, worker: int, timeout: float = 0) -> tuple | None:
    """The batch a worker process sent (a tuple of arrays, or one array for single-array
    samples); None when it says it is done. Waits at most ``timeout`` seconds (0: no limit)."""
    if timeout and not conn.poll(timeout):
        raise timed_out(timeout)
    header = json.loads(conn.recv_bytes())
    if header.get("stop"):
        return None
    if "error" in header:
        raise worker_error(header, worker)
    arrays = tuple(np.frombuffer(bytearray(conn.recv_bytes()), np.dtype(dtype)).reshape(shape)
                   for dtype, shape in header["arrays"])
    return arrays[0] if header.get("plain") else arrays


def start_processes(build, base, workers: int, dataset, init=None) -> tuple[list, list]:
    """Fork ``workers`` processes that serve ``build``: their pipes and the processes."""
    context = multiprocessing.get_context("fork")
    pipes, processes = [], []
    for w in range(workers):
        mine, theirs = context.Pipe()
        info = WorkerInfo(w, workers, base[0] + w, dataset)
        process = context.Process(target=_serve, args=(theirs, build, base, info, init),
                                  daemon=True, name=f"chainrule-loader-{w}")
        process.start()
        theirs.close()
        pipes.append(mine)
        processes.append(process)
    return pipes, processes


def stop_processes(pipes, processes, early: bool) -> None:
    """End the workers: asked to (``early``: killed, as one may be blocked sending a batch)."""
    for conn, process in zip(pipes, processes, strict=True):
        if early:
            process.terminate()
        else:
            try:
                conn.send_bytes(b"null")
            except OSError:  # it has ended: at exit, multiprocessing may end it first
                pass
    for conn, process in zip(pipes, processes, strict=True):
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
        conn.close()


def in_processes(build, plans, base, workers: int, dataset=None, init=None, timeout=0,
                 loader=None):
    """Yield ``build(plan, base)`` for each plan, in order, built by ``workers`` forked processes
    (a RuntimeError when a batch takes over ``timeout`` seconds); kept for the next pass with
    the ``loader``'s ``persistent_workers`` (``data.process_pool``)."""
    from .process_pool import close_pool, open_pool

    pool, kept = open_pool(loader, build, base, workers, dataset, init, "map")
    in_flight: collections.deque = collections.deque()
    sent, failed = 0, True
    plans = iter(plans)

    def send_next() -> None:
        nonlocal sent
        plan = next(plans, None)
        if plan is not None:
            w = sent % workers
            pool.pipes[w].send_bytes(json.dumps([plan[0], list(plan[1]), base]).encode())
            in_flight.append(w)
            sent += 1

    try:
        for _ in range(2 * workers):
            send_next()
        while in_flight:
            w = in_flight[0]
            batch = receive(pool.pipes[w], w, timeout)  # a timeout leaves it in flight: killed
            in_flight.popleft()
            send_next()
            yield batch
        failed = False
    except GeneratorExit:  # the caller stopped reading: a kept pool drops what is in flight
        failed = False
        raise
    finally:
        close_pool(loader, pool, kept, list(in_flight), failed, timeout)
