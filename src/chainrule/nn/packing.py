"""Packed sequences: a batch of sequences of different lengths, as PyTorch's ``nn.utils.rnn``
(which re-exports these beside ``pad_sequence`` and ``pack_sequence``).

``pack_padded_sequence`` keeps only the real steps of a padded batch, time step by time step: the
steps at time 0 of every sequence (longest first), then those at time 1 of the sequences that
still run, and so on; ``batch_sizes[t]`` counts the sequences that have a step t. A recurrent
layer (``RNN``, ``LSTM``, ``GRU``) given a PackedSequence runs each sequence only over its own
steps: its final state is the state after its last real step and its output is packed the same
way. ``pad_packed_sequence`` turns such an output back into a padded batch. Packing and unpacking
are gathers, so gradients flow through them to the padded input (and never to its padding).

>>> import chainrule as cr
>>> from chainrule.nn.utils import rnn
>>> x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])      # batch first, lengths 3 and 2
>>> packed = rnn.pack_padded_sequence(x, [3, 2], batch_first=True)
>>> packed.data.tolist(), packed.batch_sizes.tolist()
([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
>>> padded, lengths = rnn.pad_packed_sequence(packed, batch_first=True)
>>> padded.tolist(), lengths.tolist()
([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]], [3, 2])
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

from ..autograd.tensor import Tensor
from ..autograd.trace_guard import guard_value
from ..backend import get_array_module
from ..ops.join import concat
from ..ops.shape import getitem

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence"]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: object
    sorted_indices: object = None
    unsorted_indices: object = None


class PackedSequence(_PackedFields):
    """The real steps of a batch of sequences, time-major (see the module's description).

    Attributes:
        data: Tensor (sum of lengths, *): the steps, time step by time step.
        batch_sizes: int64 Tensor (max length,): how many sequences have a step t.
        sorted_indices: int64 Tensor (N,): the batch order of the packed sequences (longest
            first), or None when the batch was already sorted.
        unsorted_indices: its inverse permutation, or None.

    The three are Tensors as in PyTorch, so that code written for its PackedSequence runs
    (``sorted_indices.to(data.device)``, ``batch_sizes.size(0)``); one built by hand may hold
    arrays or lists instead.

    Built with ``sorted_indices`` and no ``unsorted_indices``, the latter is its inverse, as in
    PyTorch (without it the lengths and final states would come back in the sorted order). As in
    PyTorch, ``PackedSequence((data, batch_sizes))`` takes the pair as the first argument.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # PyTorch's older form: the (data, batch_sizes) pair
            if not isinstance(data, (tuple, list)) or len(data) != 2:
                raise TypeError("PackedSequence: batch_sizes is missing: pass (data, "
                                f"batch_sizes, ...) or the pair (data, batch_sizes), got {data!r}")
            data, batch_sizes = data
        if unsorted_indices is None and sorted_indices is not None:
            order = _host(sorted_indices)
            inverse = get_array_module().empty_like(order)
            inverse[order] = get_array_module().arange(len(order), dtype=order.dtype)
            unsorted_indices = Tensor(inverse)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same sequences with ``data.to(*args, **kwargs)`` (a device or a dtype), as
        PyTorch's ``packed.to(device)``; the bookkeeping Tensors stay on the host."""
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self) -> bool:
        """Whether the steps are on a GPU, as PyTorch's ``packed.is_cuda``."""
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        """Whether the steps are in pinned memory, as PyTorch's ``packed.is_pinned()``."""
        return self.data.is_pinned()


def _on_data(name: str):
    def method(self, *args, **kwargs):
        return self._replace(data=getattr(self.data, name)(*args, **kwargs))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"The same sequences with ``data.{name}()``, as PyTorch's "
                      f"``PackedSequence.{name}``; the bookkeeping Tensors stay on the host.")
    return method


# PyTorch's PackedSequence conversions, each applied to the steps
for _name in ("byte", "char", "cpu", "cuda", "double", "float", "half", "int", "long",
              "pin_memory", "short"):
    setattr(PackedSequence, _name, _on_data(_name))


def _host(indices):
    """A PackedSequence's bookkeeping (a Tensor, an array or a list) as a host int64 array."""
    if indices is None:
        return None
    xp = get_array_module()
    raw = indices._data if isinstance(indices, Tensor) else indices
    return xp.asarray(getattr(raw, "get", lambda: raw)(), dtype=xp.int64)


def _host_lengths(lengths, n):
    """``lengths`` (a list, array or Tensor of ints) as a host int64 array, checked. Floats are
    taken as PyTorch's ``as_tensor(lengths, dtype=int64)`` takes them, truncated (a float mask's
    ``mask.sum(1)`` holds the lengths as floats), and bools as it takes them, as 1 and 0."""
    xp = get_array_module()
    guard_value(lengths, "pack_padded_sequence", "lengths")  # a trace cannot follow new lengths
    raw = lengths._data if isinstance(lengths, Tensor) else lengths
    try:
        arr = xp.asarray(getattr(raw, "get", lambda: raw)())
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or (arr.size and arr.dtype.kind not in "biuf"):
        raise ValueError("pack_padded_sequence: lengths must be a 1-D list, array or Tensor of "
                         f"ints, got {lengths!r}")
    if arr.dtype.kind == "f" and not xp.isfinite(arr).all():
        raise ValueError(f"pack_padded_sequence: lengths must be finite, got {lengths!r}")
    if len(arr) != n:
        raise ValueError(f"pack_padded_sequence: expected {n} lengths (one per sequence of the "
                         f"batch), got {len(arr)}")
    return arr.astype(xp.int64)


def _order(sequence):
    """The batch column of each packed sequence: ``sorted_indices``, or, when a PackedSequence
    was built with ``unsorted_indices`` alone, its inverse (where PyTorch's ``pad_packed_sequence``
    puts them: column j holds packed sequence ``unsorted_indices[j]``)."""
    if sequence.sorted_indices is not None or sequence.unsorted_indices is None:
        return sequence.sorted_indices
    unsorted = _host(sequence.unsorted_indices)
    order = get_array_module().empty_like(unsorted)
    order[unsorted] = get_array_module().arange(len(unsorted), dtype=unsorted.dtype)
    return order


def _in_batch_order(sequence, state):
    """A recurrent layer's initial ``state`` tuple in the batch columns of ``sequence``. PyTorch
    takes hx in the batch's order and sorts it by ``sorted_indices``; built with
    ``unsorted_indices`` alone, it takes hx in the packed order, unpermuted: row i starts packed
    sequence i, which ``_order`` puts in column ``order[i]``."""
    if state is None or sequence.sorted_indices is not None or sequence.unsorted_indices is None:
        return state
    unsorted = _host(sequence.unsorted_indices)
    return tuple(getitem(t, (slice(None), unsorted)) for t in state)


def _positions(lengths, sorted_indices):
    """The (time, batch) index of every packed step and the batch sizes."""
    xp = get_array_module()
    steps = int(lengths.max())
    batch_sizes = (lengths[None, :] > xp.arange(steps)[:, None]).sum(axis=1).astype(xp.int64)
    order = xp.arange(len(lengths)) if sorted_indices is None else _host(sorted_indices)
    t_idx = xp.repeat(xp.arange(steps), batch_sizes)
    b_idx = xp.concatenate([order[:b] for b in batch_sizes.tolist()])
    return t_idx, b_idx, batch_sizes


def pack_padded_sequence(input, lengths, batch_first: bool = False,  # noqa: A002 - torch's name
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch whose sequence ``i`` has ``lengths[i]`` real steps.

    Args:
        input: Tensor (T, N, *) or, with ``batch_first``, (N, T, *).
        lengths: N ints, each in [1, T].
        batch_first: the batch axis comes first.
        enforce_sorted: require lengths in decreasing order (False sorts them and records the
            permutation in ``sorted_indices``).

    Raises:
        ValueError: lengths of the wrong count, not decreasing with ``enforce_sorted``, below 1 or
            beyond the padded length.
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError("pack_padded_sequence: input must be a Tensor of shape (T, N, *) or, "
                         f"batch first, (N, T, *), got {getattr(input, 'shape', input)!r}")
    steps, n = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    lengths = _host_lengths(lengths, n)
    if n == 0:
        raise ValueError("pack_padded_sequence: the batch is empty")
    if lengths.min() < 1 or lengths.max() > steps:
        raise ValueError(f"pack_padded_sequence: every length must be from 1 to the padded length "
                         f"{steps}, got {lengths.tolist()}")
    xp = get_array_module()
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if (lengths[1:] > lengths[:-1]).any():
            raise ValueError("pack_padded_sequence: lengths must be in decreasing order with "
                             f"enforce_sorted=True, got {lengths.tolist()}; pass "
                             "enforce_sorted=False to sort them")
    else:
        sorted_indices = xp.argsort(-lengths, kind="stable").astype(xp.int64)
        unsorted_indices = xp.empty_like(sorted_indices)
        unsorted_indices[sorted_indices] = xp.arange(n, dtype=xp.int64)
    t_idx, b_idx, batch_sizes = _positions(lengths, sorted_indices)
    data = getitem(input, (b_idx, t_idx) if batch_first else (t_idx, b_idx))
    return PackedSequence(data, Tensor(batch_sizes),
                          *(None if i is None else Tensor(i) for i in (sorted_indices,
                                                                       unsorted_indices)))


def _fill_value(who: str, value, dtype):
    """``padding_value`` for steps of ``dtype``, refused where PyTorch refuses it ("value cannot
    be converted to type ... without overflow") rather than written as another number: NaN, an
    infinity or a value out of range for an integer dtype (NaN became -2**63 in int64), a finite
    value beyond a float dtype's range (1e6 became inf in float16)."""
    kind = getattr(dtype, "kind", "")
    if kind and kind in "iuf" and isinstance(value, numbers.Real) and not isinstance(value, bool):
        xp = get_array_module()
        if kind in "iu":
            info = xp.iinfo(dtype)
            bad = not (-math.inf < value < math.inf and info.min <= value <= info.max)
        else:
            bad = -math.inf < value < math.inf and abs(value) > float(xp.finfo(dtype).max)
        if bad:
            raise ValueError(f"{who}: padding_value {value!r} cannot be converted to the steps' "
                             f"dtype {dtype} without overflow (PyTorch refuses it too)")
    return value


def _lengths_of(sequence: PackedSequence):
    """Each sequence's length, in the original batch order."""
    xp = get_array_module()
    batch_sizes = _checked_sizes(sequence)
    n = int(batch_sizes[0])
    lengths = (batch_sizes[None, :] > xp.arange(n)[:, None]).sum(axis=1).astype(xp.int64)
    if sequence.unsorted_indices is not None:
        lengths = lengths[_host(sequence.unsorted_indices)]
    return lengths


def _checked_sizes(sequence: PackedSequence):
    """``batch_sizes`` as a host array, refused where a PackedSequence built by hand does not hold
    together (sorted_indices [0, 0] read one sequence twice, silently; other faults failed in
    numpy's indexing, naming nothing)."""
    xp = get_array_module()
    sizes = _host(sequence.batch_sizes)
    rows = sequence.data.shape[0] if sequence.data.ndim else -1
    if (sizes.ndim != 1 or not sizes.size or sizes[0] < 1 or (sizes < 0).any()
            or (sizes[1:] > sizes[:-1]).any() or int(sizes.sum()) != rows):
        raise ValueError(f"PackedSequence: batch_sizes must be non-increasing counts, the first "
                         f"at least 1, summing to the {rows} rows of data, got "
                         f"{sizes.tolist()!r:.80}")
    n = int(sizes[0])
    for name in ("sorted_indices", "unsorted_indices"):
        perm = _host(getattr(sequence, name))
        if perm is not None and not xp.array_equal(xp.sort(perm.ravel()), xp.arange(n)):
            raise ValueError(f"PackedSequence: {name} must be a permutation of the {n} "
                             f"sequences (0 to {n - 1} once each), got {perm.tolist()!r:.80}")
    return sizes


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """The padded batch of a PackedSequence and the lengths: ``(padded, lengths)``.

    Args:
        sequence: a PackedSequence.
        batch_first: return (N, T, *) instead of (T, N, *).
        padding_value: the value of the steps after each sequence's end.
        total_length: pad to this many steps (at least the longest length); None: the longest.

    Returns:
        ``padded`` in the original batch order and ``lengths``, an int64 Tensor of N (as in
        PyTorch: ``(lengths - 1).view(-1, 1, 1)`` and the like work on it).
    """
    padded, lengths = _pad_packed(sequence, batch_first, padding_value, total_length)
    return padded, Tensor(lengths)


def _pad_packed(sequence, batch_first, padding_value, total_length):
    """``pad_packed_sequence`` with the lengths as a host int64 array."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError("pad_packed_sequence: sequence must be a PackedSequence, got "
                        f"{type(sequence).__name__}")
    xp = get_array_module()
    lengths = _lengths_of(sequence)
    longest = len(sequence.batch_sizes)
    steps = longest if total_length is None else total_length
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < longest:
        raise ValueError("pad_packed_sequence: total_length must be an int at least the longest "
                         f"length {longest}, got {total_length!r}")
    t_idx, b_idx, _ = _positions(lengths, _order(sequence))
    data = sequence.data
    value = _fill_value("pad_packed_sequence", padding_value, data.dtype)
    filler = Tensor(get_array_module(data._data).full((1,) + data.shape[1:], value,
                                                     dtype=data.dtype))
    # Every (t, b) reads a row of data, or the filler row after the data for a padded step.
    where = xp.full((steps, len(lengths)), data.shape[0], dtype=xp.int64)
    where[t_idx, b_idx] = xp.arange(data.shape[0])
    padded = getitem(concat([data, filler], axis=0), where.T if batch_first else where)
    return padded, lengths
