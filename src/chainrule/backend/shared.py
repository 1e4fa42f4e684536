"""Arrays in memory that forked processes share: ``Tensor.share_memory_()`` and
``Module.share_memory()``, for Hogwild-style training (processes that update one model's
parameters in place, as PyTorch's mnist_hogwild example does).

The array is copied into an anonymous ``MAP_SHARED`` mapping, which a child process made by
``fork`` (``multiprocessing``'s default start method on Linux) maps at the same place: an
in-place change there (an optimizer step) is seen by the parent and every other child. A child
started by ``spawn`` or ``forkserver`` receives a pickled copy instead, as any other object.
"""

from __future__ import annotations

import mmap

import numpy

__all__ = ["in_shared_memory", "is_shared"]


def in_shared_memory(array: numpy.ndarray) -> numpy.ndarray:
    """A copy of ``array`` (its values, shape and dtype, row-major) in shared memory."""
    buffer = mmap.mmap(-1, max(array.nbytes, 1), flags=mmap.MAP_SHARED)
    shared = numpy.frombuffer(buffer, dtype=array.dtype, count=array.size).reshape(array.shape)
    shared[...] = array
    return shared


def is_shared(array) -> bool:
    """Whether ``array``'s memory is a shared mapping made by ``in_shared_memory``."""
    while isinstance(array, numpy.ndarray):
        array = array.base
    return isinstance(getattr(array, "obj", array), mmap.mmap)  # NumPy holds a memoryview
