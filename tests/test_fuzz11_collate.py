"""Fuzz wave 11: DataLoader collation of random nested samples against PyTorch's.

Samples nest tuples, lists, dicts and namedtuples (two levels) around Python numbers, bools,
strings, NumPy arrays and scalars, 0-d arrays and tensors of several dtypes; batch_size None, 1,
2 and 3. The batches must match PyTorch's in structure, dtypes and values, allowing the
documented difference (docs/pytorch.md, "A batch of tuple samples is a tuple"): a top-level
tuple or list sample gives a tuple here where PyTorch gives a list.
"""

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import DataLoader

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

Pair = collections.namedtuple("Pair", "a b")


class _T:  # a tensor leaf, made per library
    def __init__(self, a):
        self.a = a


def _leaf(rng):
    k = int(rng.integers(0, 14))
    if k == 0:
        return int(rng.integers(-5, 5))
    if k == 1:
        return float(rng.standard_normal())
    if k == 2:
        return bool(rng.integers(0, 2))
    if k == 3:
        return f"s{rng.integers(0, 9)}"
    if k == 4:
        return rng.standard_normal(2).astype(str(rng.choice(["float32", "float64"])))
    if k == 5:
        return np.array(rng.integers(0, 5), dtype=str(rng.choice(["int32", "int64", "uint8"])))
    if k == 6:
        return np.float32(rng.standard_normal())
    if k == 7:
        return np.int64(3)
    if k == 8:
        return np.array(True)
    if k == 9:
        return rng.integers(0, 5, 3).astype("int16")
    if k == 10:
        return np.array([1.5, 2.5], dtype="float16")
    if k == 13:
        return _T(np.array(2.5, "float32"))
    dtype = str(rng.choice(["float32", "float64", "int64", "bool", "uint8"]))
    return _T((rng.standard_normal(2) * 3).astype(dtype))


def _gen(rng, depth=0):
    k = int(rng.integers(0, 6)) if depth < 2 else 9
    if k == 0:
        return tuple(_gen(rng, depth + 1) for _ in range(rng.integers(1, 3)))
    if k == 1:
        return [_gen(rng, depth + 1) for _ in range(rng.integers(1, 3))]
    if k == 2:
        return {f"k{i}": _gen(rng, depth + 1) for i in range(rng.integers(1, 3))}
    if k == 3:
        return Pair(_gen(rng, depth + 1), _gen(rng, depth + 1))
    return _leaf(rng)


def _map(x, leaf):
    if isinstance(x, dict):
        return {k: _map(v, leaf) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[_map(v, leaf) for v in x])
    if isinstance(x, (list, tuple)):
        return type(x)(_map(v, leaf) for v in x)
    return leaf(x)


def _bump(x, i):  # the same structure, other values
    if isinstance(x, _T):
        return x if x.a.dtype == bool else _T((x.a + i).astype(x.a.dtype))
    if isinstance(x, (bool, str)) or (isinstance(x, np.ndarray) and x.dtype == bool):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return (x + i).astype(x.dtype)
    return x + i


def _norm(b, top=True):
    if isinstance(b, (torch.Tensor, cr.Tensor)):
        a = b.numpy()
        return ("T", str(b.dtype).replace("torch.", ""), tuple(b.shape), a.tolist())
    if isinstance(b, dict):
        return ("D", {k: _norm(v, False) for k, v in b.items()})
    if isinstance(b, tuple) and hasattr(b, "_fields"):
        return ("NT", type(b).__name__, [_norm(v, False) for v in b])
    if isinstance(b, (list, tuple)):  # the top level: tuple here, list in PyTorch (documented)
        return ("S", "" if top else type(b).__name__, [_norm(v, False) for v in b])
    if isinstance(b, np.ndarray):
        return ("A", str(b.dtype), b.tolist())
    return ("V", type(b).__name__, b)


def _random_nested_collation_case(seed):
    samples = [_map(_gen(np.random.default_rng(seed)), lambda x, i=i: _bump(x, i))
               for i in range(5)]
    batch_size = [None, 1, 2, 3][seed % 4]
    theirs = [_norm(b) for b in torch.utils.data.DataLoader(
        [_map(s, lambda x: torch.tensor(x.a) if isinstance(x, _T) else x) for s in samples],
        batch_size=batch_size)]
    ours = [_norm(b) for b in DataLoader(
        [_map(s, lambda x: cr.tensor(x.a) if isinstance(x, _T) else x) for s in samples],
        batch_size=batch_size)]
    assert ours == theirs


def test_random_nested_collation():
    each_case(_random_nested_collation_case, grid(("seed", range(160))))


def test_top_level_tuple_is_a_list_as_in_pytorch():
    samples = [(np.float32(i), i) for i in range(4)]
    ours = next(iter(DataLoader(samples, batch_size=2)))
    theirs = next(iter(torch.utils.data.DataLoader(samples, batch_size=2)))
    assert type(ours) is list and type(theirs) is list
    ours[0] = ours[0] * 2  # a training loop's batch[0] = batch[0].to(device) works on it
    assert ours[0].tolist() == [0.0, 2.0]
    for dataset in (cr.utils.data.TensorDataset(cr.arange(4.0), cr.arange(4)),
                    torch.utils.data.TensorDataset(torch.arange(4.0), torch.arange(4))):
        loader = (DataLoader if isinstance(dataset, cr.utils.data.Dataset)
                  else torch.utils.data.DataLoader)
        assert type(next(iter(loader(dataset, batch_size=2)))) is list
    assert [str(t.dtype) for t in ours] == ["float32", "int64"]
