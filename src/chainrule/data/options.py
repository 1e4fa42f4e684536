"""The DataLoader's PyTorch-only options: which it takes, their checks, their attributes, and the
default samplers that PyTorch's loader shows as ``loader.sampler`` and ``loader.batch_sampler``.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from .arguments import check_int
from .samplers import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["FROZEN", "check_batching", "check_stream_options", "check_torch_options",
           "default_samplers", "refuse_setting",
           "num_workers_of", "keys_of", "sampler_keys", "LazyKeys"]

_DEFAULTS = {"pin_memory": False, "timeout": 0, "prefetch_factor": None,
             "persistent_workers": False, "worker_init_fn": None, "multiprocessing_context": None,
             "generator": None, "pin_memory_device": "", "in_order": True}


FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "persistent_workers")


def refuse_setting(loader, name: str) -> None:
    """PyTorch's ValueError for an option of the batches set on a built loader: its samplers (and
    ``len(loader)``) were made from the values given, so a new one would not take effect as
    asked (``batch_size=None`` would still batch). ``loader.dataset`` may change (chainrule's:
    persistent workers are then forked anew for it)."""
    raise ValueError(f"{name} attribute should not be set after {type(loader).__name__} is "
                     f"initialized; make a new DataLoader with {name}=... instead")


def num_workers_of(n) -> int:
    return check_int("DataLoader", "num_workers", n, 0)


def check_torch_options(options: dict, num_workers: int) -> dict:
    """PyTorch's checks of its options; all of them with their values (PyTorch's defaults for
    those not given, ``prefetch_factor`` 2 with workers), as the loader's attributes."""
    unknown = sorted(set(options) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"DataLoader: unexpected keyword argument(s) {unknown}")
    values = {**_DEFAULTS, **options}
    generator = values["generator"]
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError("DataLoader: generator= takes a chainrule.Generator (a "
                        "numpy.random.Generator), or pass rng= (a Generator or an int seed); got "
                        f"{type(generator).__name__}")
    init = values["worker_init_fn"]
    if init is not None and not callable(init):
        raise TypeError(f"DataLoader: worker_init_fn must be callable (it is called with each "
                        f"worker's id), got {type(init).__name__}")
    timeout = values["timeout"]
    if not isinstance(timeout, numbers.Real) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if timeout > 0 and num_workers == 0:  # PyTorch's loader asserts it when a pass starts
        raise ValueError(f"DataLoader: timeout={timeout!r} needs num_workers > 0 (it bounds the "
                         "wait for a worker's batch)")
    factor = values["prefetch_factor"]
    if num_workers == 0 and factor is not None:
        raise ValueError(f"DataLoader: prefetch_factor option could only be specified with "
                         f"num_workers > 0, got prefetch_factor={factor!r} with num_workers=0; "
                         "leave it None")
    if num_workers > 0 and factor is None:
        values["prefetch_factor"] = 2
    elif factor is not None and (isinstance(factor, bool) or not isinstance(
            factor, numbers.Integral) or factor < 1):
        raise ValueError(f"DataLoader: prefetch_factor must be a positive int (batches per "
                         f"worker), got {factor!r}")
    if values["multiprocessing_context"] is not None and num_workers == 0:
        raise ValueError(f"DataLoader: multiprocessing_context can only be used with "
                         f"multi-process loading (num_workers > 0), but got num_workers=0 and "
                         f"multiprocessing_context={values['multiprocessing_context']!r}")
    if values["persistent_workers"] and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    return values


def check_batching(batch_size, drop_last) -> None:
    """The checks of PyTorch's ``BatchSampler``, which its loader makes from ``batch_size`` and
    ``drop_last``: a positive int, and a bool (``drop_last="False"`` would drop the last batch)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"DataLoader: batch_size must be a positive int or None, got "
                         f"{batch_size!r}")
    if not isinstance(drop_last, bool):
        raise ValueError(f"DataLoader: drop_last should be a boolean value, but got "
                         f"drop_last={drop_last!r}")


def check_stream_options(shuffle, sampler, batch_sampler) -> None:
    """PyTorch's refusals for an IterableDataset, whose stream decides its own order."""
    for name, value, given in (("shuffle", shuffle, shuffle not in (False, None)),
                               ("sampler", sampler, sampler is not None),
                               ("batch_sampler", batch_sampler, batch_sampler is not None)):
        if given:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} "
                             f"option, but got {name}={value!r} (the stream decides the order "
                             "of its items; shard or shuffle inside the dataset)")


def default_samplers(loader) -> tuple:
    """PyTorch's ``(sampler, batch_sampler)`` of a loader given no batch sampler: the sampler
    given, else a ``SequentialSampler`` (a ``RandomSampler`` on the loader's generator with
    ``shuffle``: iterating it draws from the generator as a pass does), and a ``BatchSampler``
    over it (None without automatic batching). None for both over an IterableDataset."""
    if loader.iterable:
        return None, None
    sampler = loader._sampler
    if sampler is None and loader.shuffle:
        sampler = RandomSampler(loader.dataset, generator=loader.rng)
    elif sampler is None:
        sampler = SequentialSampler(loader.dataset)
    if loader.batch_size is None:
        return sampler, None
    return sampler, BatchSampler(sampler, loader.batch_size, loader.drop_last)


def sampler_keys(sampler) -> np.ndarray:
    """The indices a sampler gives for a pass: an int64 array; or, when they are not all integers
    (a sampler of batches, ``BatchSampler`` as ``sampler`` with ``batch_size=None``: lists of
    indices; or keys of a dict-like dataset), an object array of them, each passed to
    ``dataset[...]`` as it is (arrays and Tensors as lists), as PyTorch's loader passes them."""
    try:
        if len(sampler) > _EAGER:
            return LazyKeys(sampler)
    except TypeError:  # no length: take what it gives
        pass
    return keys_of([i for i in sampler])  # not list(): it would ask a sampler for its length


def keys_of(items: list) -> np.ndarray:
    """``items`` (what a sampler or a batch sampler gave) as an int64 array when every one is an
    integer (``operator.index``: a float ``3.0`` or a bool is not), else as an object array of the
    keys as they are: ``dataset[3.5]`` then raises where PyTorch's does, instead of reading
    sample 3."""
    try:
        return np.array([_index(i) for i in items], np.int64)
    except TypeError:
        keys = np.empty(len(items), object)
        for j, key in enumerate(items):
            keys[j] = key.tolist() if hasattr(key, "tolist") else key
        return keys


def _index(key) -> int:
    if isinstance(key, (bool, np.bool_)):
        raise TypeError("a bool is a key, not an index")
    return operator.index(key)


_EAGER = 1 << 20  # a longer pass (minGPT's num_samples=int(1e10)) is read as it goes


class LazyKeys:
    """The integer indices of a long sampler's pass, drawn from ``iter(sampler)`` as the batches
    ask for them (in order: ``keys[a:b]`` must start where the previous slice stopped)."""

    dtype = np.dtype(np.int64)

    def __init__(self, sampler):
        self._length, self._it, self._next = len(sampler), iter(sampler), 0

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if not isinstance(index, slice) or index.step not in (None, 1) \
                or (index.start or 0) != self._next:
            raise IndexError(f"the indices of a long sampler's pass are read in order; asked "
                             f"for {index!r} at position {self._next}")
        stop = min(self._length if index.stop is None else index.stop, self._length)
        keys = [_index(next(self._it)) for _ in range(stop - self._next)]
        self._next = stop
        return np.array(keys, np.int64)


class LoaderIterator:
    """The iterator of a pass (``iter(loader)``), as PyTorch's: ``next`` gives the batches and
    ``len`` is ``len(loader)`` (a TypeError where the dataset has no length)."""

    def __init__(self, batches, loader):
        self._batches, self._loader = batches, loader

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self) -> int:
        return len(self._loader)

    def close(self) -> None:
        """Stop the pass early (its worker threads or processes end), as a generator's close."""
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
