"""``chainrule.multiprocessing``: PyTorch's ``torch.multiprocessing`` names, which are Python's
``multiprocessing`` (``Process``, ``Queue``, ``Pool``, ``get_context``, ``set_start_method``...).

Hogwild-style programs (pytorch/examples mnist_hogwild) import it, call
``model.share_memory()`` and start workers that step the model in place: with ``fork`` (the
default on Linux), the workers share the parameters' memory (``Tensor.share_memory_``); a
``spawn`` or ``forkserver`` worker receives a pickled copy. PyTorch's extra file-descriptor
sharing of tensors sent through queues is not provided: a tensor put in a ``Queue`` arrives as a
copy.

>>> import chainrule.multiprocessing as mp
>>> mp.get_start_method(allow_none=True) in (None, "fork", "spawn", "forkserver")
True
"""

from __future__ import annotations

from multiprocessing import (
    Barrier,
    Condition,
    Event,
    JoinableQueue,
    Lock,
    Manager,
    Pipe,
    Pool,
    Process,
    Queue,
    RLock,
    Semaphore,
    SimpleQueue,
    Value,
    cpu_count,
    current_process,
    get_all_start_methods,
    get_context,
    get_start_method,
    set_start_method,
)

__all__ = ["Barrier", "Condition", "Event", "JoinableQueue", "Lock", "Manager", "Pipe", "Pool",
           "Process", "Queue", "RLock", "Semaphore", "SimpleQueue", "Value", "cpu_count",
           "current_process", "get_all_start_methods", "get_context", "get_start_method",
           "set_start_method"]
