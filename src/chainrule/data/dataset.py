"""Datasets and the DataLoader: batches gathered on the host, yielded as Tensors.

Shuffling draws from ``rng``, or from the default generator (``chainrule.manual_seed``) when none
is given.

An ``ArrayDataset`` over whole arrays is batched by fancy indexing (one gather per array per batch,
no per-sample Python loop); any other ``Dataset`` is batched by collating its samples.

>>> import numpy as np
>>> x, y = np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1])
>>> [xb.shape for xb, yb in DataLoader(ArrayDataset(x, y), batch_size=2)]
[(2, 2), (2, 2), (1, 2)]
"""

from __future__ import annotations

import types

import numpy as np

from ..autograd.tensor import Tensor
from ..backend.random import default_generator, generator_scope
from .arguments import check_int
from .base import Dataset, as_generator
from .collate import collate, default_collate, default_convert, tensors_of
from .gather import gathered
from .iterable import IterableDataset
from .options import (
    FROZEN,
    LoaderIterator,
    check_batching,
    check_stream_options,
    check_torch_options,
    default_samplers,
    keys_of,
    num_workers_of,
    refuse_setting,
    sampler_keys,
)
from .streaming import past_length_warned, stream_batches
from .subsets import batch_reader
from .threads import in_threads, prefetched, thread_workers
from .workers import check_context, in_processes

__all__ = ["ArrayDataset", "DataLoader", "Dataset", "TensorDataset", "as_generator", "collate"]


class ArrayDataset(Dataset):
    """Samples along the first axis of one or more arrays of equal length (inputs, targets...).

    Args:
        *arrays: array-likes with the same first dimension; kept as NumPy arrays without copying.

    >>> ds = ArrayDataset(np.zeros((3, 2)), np.array([1, 2, 3]))
    >>> len(ds), ds[2][1]
    (3, np.int64(3))
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("ArrayDataset: expected at least one array, got none")
        converted = []
        for i, a in enumerate(arrays):
            arr = np.asarray(a)
            if arr.dtype == object:
                raise TypeError(
                    f"ArrayDataset: array {i} must be numeric, got {type(a).__name__} that NumPy "
                    "reads as dtype object (pass NumPy arrays; use tensor.numpy() for a Tensor)"
                )
            if arr.ndim == 0:
                raise ValueError(
                    f"ArrayDataset: array {i} must have at least one dimension, got a scalar"
                )
            converted.append(arr)
        lengths = [len(a) for a in converted]
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(a.shape) for a in converted)
            raise ValueError(
                f"ArrayDataset: arrays must have equal first dimensions, got shapes {shapes}"
            )
        self.arrays = tuple(converted)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class TensorDataset(ArrayDataset):
    """PyTorch's: samples along the first axis of Tensors (or arrays) of equal length; sample
    ``i`` is the tuple of their rows ``i``, as Tensors (``x, y = dataset[i]``).

    Attributes:
        tensors: the Tensors as given (an array as a Tensor over its memory).

    >>> import chainrule as cr
    >>> ds = TensorDataset(cr.zeros(4, 2), cr.ones(4))
    >>> len(ds), [tuple(t.shape) for t in ds[1]], len(ds.tensors)
    (4, [(2,), ()], 2)
    """

    # batches read the Tensors' arrays as they are now, as PyTorch's (also after x.data = ...)
    arrays = property(lambda self: tuple(t._data for t in self.tensors),
                      lambda self, given: setattr(self, "_given", given))

    def __init__(self, *tensors):
        super().__init__(*tensors)
        given = self.__dict__.pop("_given")  # not kept: the old arrays after x.data = ...
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(a) for t, a in zip(
            tensors, given, strict=True))

    def __getitem__(self, index):  # a Tensor over the rows (indexing tracks only a gradient)
        return tuple(t[index] if t.requires_grad else _rows(t._data[index])
                     for t in self.tensors)


def _rows(values) -> Tensor:
    return Tensor(np.asarray(values) if isinstance(values, np.generic) else values)


_GATHERED = (ArrayDataset.__getitem__, TensorDataset.__getitem__)  # one gather per batch


class DataLoader:
    """Iterate over a dataset in batches of Tensors with the batch on the first axis: a list of
    them for samples that are tuples (``ArrayDataset``, ``TensorDataset``), the batch itself for
    samples that are single arrays or numbers, as PyTorch's (see ``collate``).

    Args:
        dataset: a ``Dataset`` (anything with ``__getitem__``, and ``__len__`` unless a
            sampler gives the indices; a ``__getitems__`` of its own reads each batch), or an
            ``IterableDataset``: its items are batched in the order ``iter(dataset)`` gives them
            (no ``shuffle``, ``sampler`` or ``batch_sampler``); with ``num_workers=k`` each worker
            iterates its own copy and the batches come round robin over the workers, as in
            PyTorch (``data.streaming``); ``len(loader)`` needs ``len(dataset)``.
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``).
            None: PyTorch's "no automatic batching": each sample ``dataset[i]`` is yielded on
            its own, through ``collate_fn`` or ``default_convert`` (arrays and NumPy scalars to
            Tensors; as it is with ``tensors=False``); not with ``drop_last`` or ``transform``.
        shuffle: visit the samples in a new random order on every pass.
        rng: a ``numpy.random.Generator`` or an int seed. A Generator is used (and advanced) as
            is, so that a caller can save and restore its state. None with ``shuffle`` or a
            ``transform``: the default generator (seeded by ``chainrule.manual_seed``).
        drop_last: skip the final batch when it has fewer than ``batch_size`` samples.
        transform: ``transform(batch, rng) -> batch`` applied to each batch (a tuple of arrays;
            the stacked array itself for a dataset whose samples are single arrays),
            e.g. random distortions of the images for augmentation. Its ``rng`` is a stream of
            the pass, seeded from ``rng`` when the pass starts, so a seeded run is reproducible
            and a resumed one continues the same random sequence.
        prefetch: batches prepared ahead in a background thread (0: none). Gathering and
            transforming the next batches then overlaps the training step (NumPy releases the GIL
            in its heavy loops); the batches are identical with and without it.
        num_workers: threads that prepare batches ahead (0: the caller's thread does it). For an
            ``ArrayDataset`` one background thread gathers and transforms the next batches (as
            ``prefetch``, which wins when both are given). For any other dataset worker
            ``w`` of ``num_workers`` threads builds batches ``w, w + k, ...`` on its own copy
            of the dataset (``data.threads``), ``prefetch_factor`` each ahead, in order. Not
            processes: nothing is pickled, and NumPy releases the GIL in its heavy loops (see
            docs/pytorch.md for what the threads buy). With ``multiprocessing_context="fork"``
            they are forked processes instead (``data.workers``; the default collate only):
            Python-heavy transforms then run in parallel; the batches are the same.
        tensors: yield Tensors (PyTorch's behaviour, the default) or, when False, NumPy arrays.
        sampler: the indices of a pass, in order, from ``iter(sampler)`` when the pass starts
            (``data.samplers``: ``SubsetRandomSampler``, ``WeightedRandomSampler``...); not
            with ``shuffle``.
        batch_sampler: the batches of a pass as lists of indices, from ``iter(batch_sampler)``
            when the pass starts (``BatchSampler``...); not with ``batch_size``, ``shuffle``,
            ``sampler`` or ``drop_last``, and ``batch_size`` is then None, as in PyTorch.
        collate_fn: ``collate_fn(samples) -> batch`` makes each batch from the list of its
            samples (``dataset[i]``), as in PyTorch; its batches are yielded as it returns them
            (``tensors`` does not convert them; a ``transform`` gets them as they are).
        pin_memory, timeout, worker_init_fn, multiprocessing_context, generator,
        **torch_options: PyTorch-only options (the first five in PyTorch's positional order:
            ``sampler`` to ``generator`` are PyTorch's 4th to 13th arguments; ``rng`` and the
            other chainrule options are keyword-only), checked as PyTorch checks them and kept
            as attributes: ``pin_memory``, ``pin_memory_device``, ``in_order`` (no effect),
            ``timeout`` (a RuntimeError when a worker's batch takes longer), ``persistent_workers``
            (threads and processes persist: ``worker_init_fn`` once) and ``prefetch_factor``
            (both need ``num_workers > 0``);
            ``worker_init_fn(worker_id)`` runs in each worker as it starts, after
            ``get_worker_info()`` is set;
            ``multiprocessing_context`` ("fork" or None) picks processes or threads;
            ``generator`` (a ``chainrule.Generator``) is ``rng``; any other name is a TypeError.

    Every random number of a pass comes from ``rng`` when the pass starts (``iter(loader)``), in
    the caller's thread and in a fixed order: the permutation, then the seed of the transform's
    stream, then (for a dataset that is not an ``ArrayDataset``) the seed of the samples'
    streams. Each sample of the pass gets its own stream, derived from that seed and its
    position in the pass, as the default generator while ``dataset[i]`` runs
    (``backend.random.generator_scope``): a random transform inside the dataset (torchvision
    style) draws from it. So the batches do not depend on thread timing or ``num_workers``,
    even when something else (a dropout layer) also draws from ``rng`` while the pass runs; as
    in PyTorch, a pass of such a dataset draws its seed from the default generator when no
    ``rng`` is given. An ``IterableDataset``'s items are read the same way: each ``next()``
    in its own stream, from that seed, the worker's id and the item's count.

    Attributes:
        rng: the Generator that orders the samples (None when not shuffling and none was given).
        sampler, batch_sampler: PyTorch's: those given, else a ``SequentialSampler`` (with
            ``shuffle`` a ``RandomSampler`` on ``rng``) and a ``BatchSampler`` over it (None
            with ``batch_size=None``); None over an ``IterableDataset``.
    """

    __class_getitem__ = classmethod(types.GenericAlias)  # ``DataLoader[Tensor]``, as PyTorch's

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory=False,
                 drop_last: bool = False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, rng=None, transform=None,
                 prefetch: int = 0, tensors: bool = True, **torch_options):
        # PyTorch's positional order up to ``generator``; chainrule's own options keyword-only.
        torch_options.update(pin_memory=pin_memory, timeout=timeout, generator=generator,
                             worker_init_fn=worker_init_fn,
                             multiprocessing_context=multiprocessing_context)
        self.num_workers = num_workers_of(num_workers)
        torch_options = check_torch_options(torch_options, self.num_workers)
        self.iterable = isinstance(dataset, IterableDataset)
        if self.iterable:
            check_stream_options(shuffle, sampler, batch_sampler)
        for name, value in torch_options.items():
            setattr(self, name, value)  # generator, pin_memory, worker_init_fn... as PyTorch's
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")
        self._collate_fn = collate_fn
        if sampler is not None:
            if shuffle:
                raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive "
                                 "(the sampler chooses the order)")
            if not hasattr(sampler, "__iter__"):  # without __len__, len(loader) is refused
                raise TypeError(f"DataLoader: sampler must be an iterable of indices, got "
                                f"{type(sampler).__name__}")
        self._sampler = sampler
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            if not hasattr(batch_sampler, "__iter__"):
                raise TypeError(f"DataLoader: batch_sampler must be an iterable of lists of "
                                f"indices, got {type(batch_sampler).__name__}")
        self._batch_sampler = batch_sampler
        self.processes = check_context(torch_options.get("multiprocessing_context"))
        if self.processes and collate_fn is not None:
            raise TypeError("DataLoader: worker processes send NumPy batches made by the default "
                            "collate; with a collate_fn, leave multiprocessing_context unset "
                            "(worker threads)")
        if not self.iterable and not (hasattr(dataset, "__getitem__") and (hasattr(
                dataset, "__len__") or sampler is not None or batch_sampler is not None)):
            raise TypeError(  # a sampler's indices need no length
                "DataLoader: dataset must define __len__ and __getitem__, got "
                f"{type(dataset).__name__}"
            )
        self.unbatched = batch_size is None and batch_sampler is None
        if self.unbatched and (drop_last or transform is not None or self.processes):
            raise ValueError("DataLoader: batch_size=None (no automatic batching) is mutually "
                             "exclusive with drop_last, transform and worker processes")
        if not self.unbatched and batch_sampler is None:  # PyTorch's BatchSampler checks
            check_batching(batch_size, drop_last)
        if transform is not None and not callable(transform):
            raise TypeError(
                f"DataLoader: transform must be callable, got {type(transform).__name__}"
            )
        check_int("DataLoader", "prefetch", prefetch, 0)
        self.dataset = dataset
        self.transform = transform
        self.prefetch = int(prefetch)
        self.batch_size = None if self.unbatched else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last  # as given, as PyTorch keeps it (a bool when batching)
        if rng is None:
            rng = torch_options.get("generator")  # a numpy Generator, checked above
        self.rng = as_generator(rng) if rng is not None or shuffle or transform else None
        self.tensors = bool(tensors)
        if batch_sampler is not None:
            self.batch_size, self.drop_last = None, False  # as PyTorch's: the batch sampler
        if self.shuffle and not self.iterable and sampler is None and not len(dataset):
            raise ValueError("DataLoader: shuffle=True over an empty dataset: a RandomSampler "
                             "needs at least one sample (num_samples=0), as in PyTorch")
        self._defaults = None

    def __setattr__(self, name, value):
        if name in FROZEN and "_defaults" in self.__dict__:  # set once __init__ has finished
            refuse_setting(self, name)
        object.__setattr__(self, name, value)

    @property
    def collate_fn(self):
        """PyTorch's: the one given, else ``default_collate`` (``default_convert`` with
        ``batch_size=None``), the rule the loader follows."""
        if self._collate_fn is not None:
            return self._collate_fn
        return default_convert if self.unbatched else default_collate

    @property
    def sampler(self):
        return self._sampler if self._sampler is not None else self._samplers()[0]

    @property
    def batch_sampler(self):
        return self._batch_sampler if self._batch_sampler is not None else self._samplers()[1]

    def _samplers(self):
        if self._defaults is None:
            self._defaults = default_samplers(self)
        return self._defaults

    def __len__(self) -> int:
        if self._batch_sampler is not None:
            return len(self._batch_sampler)
        n = len(self.dataset) if self._sampler is None else len(self._sampler)
        n = -(-n // (self.batch_size or 1)) if not self.drop_last else n // self.batch_size
        if self.iterable:  # without a length, len(self.dataset) was a TypeError
            self.length_reported = n  # the passes warn beyond it, as PyTorch's
        return n

    def __iter__(self):
        order, sizes = (None, None) if self.iterable else self._order()
        stream = None
        if self.transform is not None:
            # Seeded by numbers drawn from rng (not Generator.spawn, whose count of children is
            # not part of the state a checkpoint saves), so the stream follows from rng's state.
            stream = np.random.default_rng(self.rng.integers(0, 2**63, size=4).tolist())
        by_rows = (_plain_arrays(self.dataset) and self._collate_fn is None
                    and not self.unbatched and (order is None or order.dtype != object))
        if by_rows:
            batches = gathered(self.dataset, self._plans(order, sizes), order is None)
        else:
            seeder = self.rng if self.rng is not None else default_generator()
            base = seeder.integers(0, 2**63, size=4).tolist()
            plans = None if self.iterable else self._plans(order, sizes)
            init = self.worker_init_fn
            if self.iterable:  # each worker (if any) reads its own copy of the stream
                batches = past_length_warned(self, stream_batches(
                    self.dataset, self._batch_of, self.batch_size, self.drop_last, base,
                    self.num_workers, self.processes, init, thread_workers(self), self))
            elif self.num_workers and self.processes:
                batches = in_processes(self._collated, plans, base, self.num_workers,
                                       self.dataset, init, self.timeout, self)
            elif self.num_workers and not self.prefetch:
                batches = in_threads(self._collated, plans, base, thread_workers(self),
                                     self.prefetch_factor)
            else:
                batches = (self._collated(plan, base) for plan in plans)
        if stream is not None:
            if self._collate_fn is None:
                batches = (_structure(self.transform(b, stream)) for b in batches)
            else:
                batches = (self.transform(b, stream) for b in batches)
        if self.tensors and self._collate_fn is None and not self.unbatched:
            batches = (_handed_out(b) for b in batches)
        depth = self.prefetch or (self.num_workers if by_rows else 0)
        return LoaderIterator(prefetched(batches, depth) if depth else batches, self)

    def _order(self):
        """The indices of a map-style pass (None: in order), and the batch sampler's sizes."""
        if self._batch_sampler is not None:
            chosen = [list(batch) for batch in self._batch_sampler]
            return keys_of([i for batch in chosen for i in batch]), [len(b) for b in chosen]
        if self._sampler is not None:
            return sampler_keys(self._sampler), None
        return (self.rng.permutation(len(self.dataset)) if self.shuffle else None), None

    def _plans(self, order, sizes=None):
        """Per batch: (position in the pass of its first sample, the samples' indices); ``sizes``:
        the batch sampler's batch lengths."""
        if sizes is not None:
            starts = np.cumsum([0, *sizes]).tolist()
            yield from ((a, order[a:b].tolist()) for a, b in zip(starts, starts[1:]))
            return
        n = len(self.dataset) if order is None else len(order)  # a sampler's own count, as
        size = self.batch_size or 1  # None: one sample at a time
        batches = n // size if self.drop_last else -(-n // size)  # PyTorch's count
        for start in range(0, batches * size, size):
            stop = min(start + size, n)
            yield start, (range(start, stop) if order is None else order[start:stop].tolist())

    def _collated(self, plan, base, dataset=None):
        """One batch of samples, each read inside its own stream (``generator_scope``); by the
        dataset's ``__getitems__`` (PyTorch's batched read) in the stream of the batch's first
        sample, when it has one of its own (``subsets.batch_reader``); ``dataset``: a worker
        thread's copy of the loader's."""
        start, indices = plan
        dataset = self.dataset if dataset is None else dataset
        read = None if self.unbatched else batch_reader(dataset)
        if read is not None:
            with generator_scope([*base, start]):
                return self._batch_of(list(read(list(indices))))
        samples = []
        for offset, i in enumerate(indices):
            with generator_scope([*base, start + offset]):
                samples.append(dataset[i])
        return self._batch_of(samples)

    def _batch_of(self, samples: list):
        """The batch of ``samples`` (with ``batch_size=None``: the one sample, converted)."""
        if self.unbatched:  # no automatic batching: the one sample, converted
            convert = self._collate_fn or (default_convert if self.tensors else _AS_IS)
            return convert(samples[0])
        return collate(samples) if self._collate_fn is None else self._collate_fn(samples)


def _plain_arrays(dataset) -> bool:
    """An ``ArrayDataset`` of numbers whose samples are its arrays' rows: a batch is one gather
    (a subclass's own ``__getitem__``, strings, dates, records: read sample by sample, collated)."""
    return (isinstance(dataset, ArrayDataset) and type(dataset).__getitem__ in _GATHERED
            and batch_reader(dataset) is None
            and all(a.dtype.kind not in "SUMmV" for a in dataset.arrays))


_AS_IS = lambda sample: sample  # noqa: E731 - tensors=False leaves a sample as it is


def _handed_out(batch):
    """A batch as the loop receives it: its arrays as Tensors, and the fields of tuple samples
    as a list, as PyTorch's ``default_collate`` gives them (``batch[0] = batch[0].to(device)``
    works on it)."""
    if type(batch) is tuple:
        return [tensors_of(field) for field in batch]
    return tensors_of(batch)


def _structure(batch):
    """A transformed batch with its fields as a tuple (a plain batch or a dict as it is)."""
    return tuple(batch) if isinstance(batch, list) else batch
