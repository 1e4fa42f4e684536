"""PyTorch's ``default_collate`` and ``default_convert``: a list of samples as one batch.

One recursive rule, PyTorch's, serves ``default_collate`` and the DataLoader (``collate``):
Tensors, NumPy arrays and NumPy scalars are stacked along a new first axis; Python floats give a
float64 array, Python ints (and bools) an int64 (bool) array, as ``torch.tensor`` infers them;
strings and bytes stay a sequence of them; a mapping gives a mapping of batches (of its own type
where it can), a namedtuple a namedtuple of batches, any other sequence a list of batches (its
samples must all have the same length). Everything else (None, string arrays, objects) is a
TypeError, as in PyTorch. ``default_collate`` gives the stacked arrays as Tensors; the DataLoader
keeps them as arrays until it hands the batch out (worker processes send arrays).
"""

from __future__ import annotations

import collections.abc
import copy
import numbers

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.defaults import get_default_dtype
from .gather import stack_rows

__all__ = ["collate", "collate_arrays", "default_collate", "default_convert", "tensors_of"]

_REFUSED_KINDS = "SaUO"  # bytes, strings, objects: no Tensor holds them (PyTorch's rule)


def _refuse_times(value, who: str) -> None:
    """Dates and durations (NumPy's datetime64 and timedelta64, the latter an integer type to
    NumPy) and records (a structured dtype): no Tensor holds them, PyTorch refuses them with a
    TypeError."""
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "MmV":
        what = "records" if value.dtype.kind == "V" else "dates or durations"
        raise TypeError(f"{who}: can't convert NumPy values of dtype {value.dtype} ({what}) to "
                        "a Tensor; convert them to numbers in the dataset")


def _error(found) -> TypeError:
    return TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                     f"or lists; found {found}")


def _promoted(dtypes) -> np.dtype:
    """The dtype PyTorch gives values of these dtypes together: a float with an integer is the
    float (float32 stays float32), otherwise NumPy's promotion."""
    floats = [d for d in dtypes if d.kind in "fc"]
    if floats and len(floats) < len(dtypes):
        return np.result_type(*floats)
    return np.result_type(*dtypes)


def _stack(arrays):
    shapes = [a.shape for a in arrays]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shapes[0])} at entry 0 and {list(shape)} at entry {i}")
    xp = get_array_module(*arrays)
    return xp.stack(arrays).astype(_promoted([a.dtype for a in arrays]), copy=False)


def _number_dtype(value) -> np.dtype:
    _refuse_times(value, "default_collate")
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, np.generic):
        return value.dtype
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, float):
        return np.dtype(get_default_dtype())  # torch.tensor([1, 2.5]) is float32
    raise TypeError(f"default_collate: a batch of numbers also holds {type(value).__name__} "
                    f"{value!r}")


def _array_of(value):
    """One sample of an array batch as an array (a Tensor's values, a scalar 0-d)."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        _refuse_times(value, "default_collate")
        if value.dtype.char in _REFUSED_KINDS:
            raise _error(value.dtype)
        return value if type(value) is np.ndarray else np.asarray(value)  # np.matrix: 2-D
    if isinstance(value, (np.bool_, np.number, bool, int, float)):
        return np.asarray(value, dtype=_number_dtype(value))
    raise _error(type(value))


def _numbers(batch, first_is_float: bool):
    """Python and NumPy scalars as one array, with the dtype ``torch.tensor`` would infer."""
    dtype = np.dtype(np.float64) if first_is_float else \
        _promoted([_number_dtype(v) for v in batch])
    if first_is_float:
        for v in batch:
            _number_dtype(v)  # a string or None among floats is refused, not converted
    try:
        return np.array(list(batch), dtype=dtype)
    except OverflowError as e:
        raise ValueError(f"default_collate: a number of the batch does not fit {dtype}: "
                         f"{list(batch)}") from e


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _rebuilt(like, items: dict | list):
    """A container of ``like``'s type holding ``items``, or a plain dict/list if it cannot."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(items)
            return clone
        if isinstance(like, collections.abc.Mapping):
            return type(like)(items)
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(like)(items)
    except TypeError:
        return items


def collate_arrays(batch):
    """``default_collate`` with NumPy (or CuPy) arrays where it gives Tensors."""
    first = batch[0]
    if isinstance(first, (Tensor, np.ndarray, np.bool_, np.number)):
        # chainrule's datasets give NumPy arrays and scalars where PyTorch's give Tensors, so
        # the three mix in one batch (a TensorDataset beside a list of Tensors)
        if any(isinstance(v, Tensor) and v.requires_grad for v in batch):  # recorded, as
            return stack_rows(batch, _promoted([_array_of(v).dtype for v in batch]))  # PyTorch's
        if any(isinstance(v, (Tensor, np.ndarray)) for v in batch):
            return _stack([_array_of(v) for v in batch])
        return _numbers(batch, first_is_float=False)
    if isinstance(first, (float, int)):
        return _numbers(batch, first_is_float=isinstance(first, float))
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, collections.abc.Mapping):
        batches = {}
        for key in first:
            values = []
            for i, sample in enumerate(batch):
                if not isinstance(sample, collections.abc.Mapping) or key not in sample:
                    raise KeyError(f"default_collate: sample {i} lacks the key {key!r}; every "
                                   f"sample needs the keys of the first, {list(first)}")
                values.append(sample[key])
            batches[key] = collate_arrays(values)
        return _rebuilt(first, batches)
    if _is_namedtuple(first):
        return type(first)(*(collate_arrays(field) for field in zip(*batch)))
    if isinstance(first, collections.abc.Sequence):
        for i, sample in enumerate(batch):
            if not isinstance(sample, collections.abc.Sequence) or len(sample) != len(first):
                got = len(sample) if isinstance(sample, collections.abc.Sized) else \
                    type(sample).__name__
                raise RuntimeError(f"each element in list of batch should be of equal size "
                                   f"(sample 0 has {len(first)}, sample {i} has {got})")
        fields = [collate_arrays(field) for field in zip(*batch)]
        return fields if isinstance(first, tuple) else _rebuilt(first, fields)
    raise _error(type(first))


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or type(value).__module__.startswith("cupy")


def tensors_of(batch):
    """A collated batch with each of its arrays as a Tensor, its containers kept."""
    if _is_array(batch):
        return Tensor(batch)
    if isinstance(batch, (str, bytes)):
        return batch
    if isinstance(batch, collections.abc.Mapping):
        return _rebuilt(batch, {k: tensors_of(v) for k, v in batch.items()})
    if _is_namedtuple(batch):
        return type(batch)(*(tensors_of(v) for v in batch))
    if isinstance(batch, tuple):
        return tuple(tensors_of(v) for v in batch)
    if type(batch) is list:
        return [tensors_of(v) for v in batch]
    if isinstance(batch, collections.abc.Sequence):  # a list subclass, deque, UserList: kept
        return _rebuilt(batch, [tensors_of(v) for v in batch])
    return batch


def default_collate(batch):
    """Stack a list of samples into a batch exactly as PyTorch's ``default_collate`` (see above).

    >>> import numpy as np
    >>> x, y = default_collate([(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)])
    >>> x.shape, x.dtype, y.tolist(), y.dtype
    ((2, 2), dtype('float32'), [1, 0], dtype('int64'))
    """
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate: batch must be a list of samples, got "
                        f"{type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("default_collate: batch is empty; expected at least one sample")
    return tensors_of(collate_arrays(batch))


def default_convert(data):
    """PyTorch's ``default_convert`` (the collate of ``batch_size=None``): NumPy arrays and
    scalars become Tensors, inside mappings, namedtuples and sequences (a tuple becomes a list,
    as PyTorch's); strings, string and object arrays, Tensors and everything else stay as they
    are."""
    if isinstance(data, Tensor):
        return data
    _refuse_times(data, "default_convert")
    if isinstance(data, np.ndarray):
        return data if data.dtype.char in _REFUSED_KINDS else Tensor(np.asarray(data))
    if isinstance(data, (np.bool_, np.number)):
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuilt(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, tuple):
        return [default_convert(v) for v in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuilt(data, [default_convert(v) for v in data])
    return data


def collate(samples: list):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate`` (``data.collate``:
    the same rule, with arrays for Tensors): a sample that is an array or a number gives the
    stacked array itself, a dict sample a dict of batches, a namedtuple one that namedtuple of
    batches; a tuple or list sample gives a tuple of fields (PyTorch: a list).

    >>> [b.shape for b in collate([(np.zeros(3), 1), (np.ones(3), 0)])]
    [(2, 3), (2,)]
    >>> collate([np.zeros(3), np.ones(3)]).shape
    (2, 3)
    >>> collate([{"x": 1.5, "name": "a"}, {"x": 2.5, "name": "b"}])
    {'x': array([1.5, 2.5]), 'name': ['a', 'b']}
    """
    first = samples[0]
    if type(first) is list or (isinstance(first, tuple) and not hasattr(first, "_fields")):
        return tuple(collate_arrays(samples))
    return collate_arrays(samples)
