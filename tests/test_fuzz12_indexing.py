"""Fuzz wave 12: advanced indexing (read and write, ``x[idx] += v``), index_put/index_add/
index_copy/index_fill/index_select, scatter/scatter_add/scatter_reduce, gather, take,
take_along_dim, masked_fill/masked_scatter/masked_select, put_ and where, against PyTorch: values,
dtypes, shapes, float64 gradients and error versus no error.

Before this wave:

* ``t[1] += v`` on a tensor in a graph (one element chosen by ints) raised "modified by an
  inplace operation" at backward.
* A 0-d integer Tensor in an index selected a copy, where PyTorch's indexes like an int (a view):
  ``t[cr.tensor(1)]`` did not show later changes of ``t``, and ``t[cr.tensor([0]),
  cr.tensor(0)] += 7`` wrote into a temporary copy and left ``t`` unchanged.
* An Ellipsis standing for no axis separated the integer arrays on either side of it (NumPy's
  rule): ``x[None, a, ..., b, c]`` of a 3-D ``x`` was ``(n, 1)`` (PyTorch: ``(1, n)``), and a
  write through such an index failed to broadcast.
* ``index_fill`` with a 0-d tensor value and an index naming a slice more than once gave the
  value that slice's gradient once per naming.
"""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")


def _draw_index(rng, shape):
    """A random index of ``shape``: slices (negative and out-of-range bounds, steps), ints, None,
    one Ellipsis, integer arrays (negative, broadcasting shapes) and boolean masks."""
    items, d, nd, ellipsis = [], 0, len(shape), False
    while d < nd:
        r, n = rng.random(), shape[d]
        if r < 0.15:
            items.append(None)
        elif r < 0.2 and not ellipsis:
            ellipsis = True
            items.append(Ellipsis)
            d += int(rng.integers(0, nd - d + 1))
        elif r < 0.45:
            a, b = sorted(int(v) for v in rng.integers(-n - 1, n + 2, 2))
            items.append(slice(a if rng.random() < 0.7 else None, b if rng.random() < 0.7
                               else None, int(rng.choice([1, 1, 2, 3]))))
            d += 1
        elif r < 0.6:
            items.append(int(rng.integers(-n, n)))
            d += 1
        elif r < 0.85:
            items.append(rng.integers(-n, n, tuple(rng.integers(1, 4, int(rng.integers(0, 3))))))
            d += 1
        else:
            k = int(rng.integers(1, min(3, nd - d) + 1))
            items.append(rng.random(shape[d:d + k]) < 0.5)
            d += k
    return tuple(items)


def _as(lib, index):
    return tuple(lib.tensor(i) if isinstance(i, np.ndarray) else i for i in index)


def _case(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 4))))
    return rng, rng.standard_normal(shape), _draw_index(rng, shape)


@pytest.mark.parametrize("seed", range(150))
def test_advanced_index_read(seed):
    _, x, index = _case(seed)
    check(torch, lambda lib, t: t[_as(lib, index)], x, grad=(0,), label=f"{seed} {index}")


@pytest.mark.parametrize("op", ["set", "iadd", "imul", "number"])
@pytest.mark.parametrize("seed", range(60))
def test_advanced_index_write(seed, op):
    """``t[index] = v`` / ``+=`` / ``*=`` on a clone in a graph, ``v`` broadcast or not. Where
    the index names a position twice PyTorch does not define which value is kept, so those are
    written with one value everywhere and without gradients (chainrule refuses to record them)."""
    rng, x, index = _case(seed)
    try:
        spots = torch.arange(x.size).reshape(x.shape)[_as(torch, index)]
    except (IndexError, RuntimeError):
        spots = None
    twice = spots is not None and spots.unique().numel() != spots.numel()
    region = tuple(spots.shape) if spots is not None else (1,)
    v = np.full(region, 0.5) if twice else rng.standard_normal(region)
    if rng.random() < 0.3 and region and min(region) > 0:
        v = v[(0,) * min(len(region), int(rng.integers(1, 3)))]

    def write(lib, t, value):
        t, at = t.clone(), _as(lib, index)
        if op == "set":
            t[at] = value
        elif op == "iadd":
            t[at] += value
        elif op == "imul":
            t[at] *= value
        else:
            t[at] = 7.5
        return t

    grad = () if twice else (0, 1) if rng.random() < 0.5 else (0,)
    check(torch, write, x, np.asarray(v), grad=grad, label=f"{seed} {index}")


def test_augmented_write_of_one_element_backward():
    for lib in (torch, cr):
        x = lib.tensor(np.arange(4.0), requires_grad=True)
        t = x.clone()
        t[1] += 5.0
        t[-1, ...] *= 2.0
        (t * t).sum().backward()
        assert x.grad.tolist() == [0.0, 12.0, 4.0, 24.0]


def test_zero_d_integer_index_is_an_int():
    for lib in (torch, cr):
        t = lib.tensor(np.arange(6.0).reshape(2, 3))
        t[lib.tensor(1)].mul_(10)
        t[:, lib.tensor(2)].add_(100)
        t[lib.tensor([0]), lib.tensor(0)] += 7
        t[lib.tensor(0), lib.tensor([1])] = -1
        assert t.tolist() == [[7.0, -1.0, 102.0], [30.0, 40.0, 150.0]], lib.__name__


def test_empty_ellipsis_keeps_arrays_adjacent():
    a = np.array([0, 1])
    for index in [(None, a, Ellipsis, a, a), (None, a, Ellipsis, a, a > 0), (a, Ellipsis, a)]:
        x = np.arange(24.0).reshape(2, 3, 4)[..., :2] if index[-1].dtype == bool else \
            np.arange(24.0).reshape(2, 3, 4)
        check(torch, lambda lib, t: t[_as(lib, index)], x, grad=(0,), label=str(index))
        check(torch, lambda lib, t: _set(t.clone(), _as(lib, index), 1.0), x)


def _set(t, index, value):
    t[index] = value
    return t


def test_index_fill_value_gradient_counts_each_slice_once():
    x = np.arange(12.0).reshape(3, 4)
    for index in ([1, 1, 1], [0, 2, 0, -1, 2]):
        check(torch, lambda lib, t, v: lib.index_fill(t, 1, lib.tensor(index), v) * t, x,
              np.asarray(2.5), grad=(0, 1), label=str(index))
        check(torch, lambda lib, t, v: (t * 1).index_fill_(0, lib.tensor(index[:2]), v), x,
              np.asarray(2.5), grad=(0, 1), label=str(index))
