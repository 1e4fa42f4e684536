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
* ``gather``, ``scatter``, ``scatter_add``, ``scatter_reduce``, ``index_copy`` and
  ``index_reduce`` took negative indices (counted from the end), where PyTorch raises
  (``index_fill`` and ``take_along_dim`` take them in both).
* ``take`` with a 0-d index, and ``index_put(accumulate=True)`` with 0-d indices, raised: the
  NumPy scalar they made was read by ``Tensor()`` as a size (``Tensor(2)``: two zeros).
* ``nonzero``, ``argwhere`` and ``where(condition)`` of a 0-d tensor raised NumPy's ValueError;
  PyTorch counts it as one entry with no axes.
* Under ``cr.trace``, ``gather``, ``take_along_dim``, ``take``, ``index_copy``, ``index_fill``,
  ``put`` and ``one_hot`` froze their index at its first value (it was copied into a new array, a
  constant to the trace), so ``gather(x, 1, x.argmax(1, keepdim=True))`` replayed the first
  call's positions.
* ``scatter``, ``scatter_add`` and ``index_add`` (and their in-place forms) took a source of
  another dtype, casting or promoting it (``scatter_add(float16, float32 src)`` was float32),
  where PyTorch requires the input's dtype, as chainrule's ``scatter_reduce`` and
  ``index_copy`` did.
* ``masked_scatter`` refused a mask with more dimensions than the input, where PyTorch
  broadcasts the two together (as ``masked_fill`` did).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
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


def _advanced_index_read_case(seed):
    _, x, index = _case(seed)
    check(torch, lambda lib, t: t[_as(lib, index)], x, grad=(0,), label=f"{seed} {index}")


def test_advanced_index_read():
    each_case(_advanced_index_read_case, grid(("seed", range(150))))


def _advanced_index_write_case(seed, op):
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


def test_advanced_index_write():
    each_case(_advanced_index_write_case, grid(
        ("seed", range(60)),
        ("op", ["set", "iadd", "imul", "number"]),
    ))


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


_VIEWS = [lambda t: t.transpose(0, -1), lambda t: t[::2], lambda t: t[..., 1:],
          lambda t: t.unsqueeze(0), lambda t: t.permute(*reversed(range(t.ndim))),
          lambda t: t.narrow(0, 0, 1), lambda t: t.select(0, 0)]


def _write_through_a_view_case(seed):
    """``base[...]`` changed through a view of it by an index write; the gradients reach the
    base's source and the value (the view itself is not used afterwards: chainrule refuses a
    view made before its base changed, where PyTorch rebuilds it)."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(2, 5, int(rng.integers(2, 4))))
    view = _VIEWS[seed % len(_VIEWS)]
    vshape = tuple(view(torch.zeros(shape)).shape)
    index = _draw_index(rng, vshape)
    try:
        spots = torch.arange(int(np.prod(vshape))).reshape(vshape)[_as(torch, index)]
        region, once = tuple(spots.shape), spots.unique().numel() == spots.numel()
    except (IndexError, RuntimeError):
        region, once = (1,), True
    op = ["set", "iadd", "imul"][seed % 3]

    def write(lib, t, value):
        base = t * 1
        w, at = view(base), _as(lib, index)
        if op == "set":
            w[at] = value
        elif op == "iadd":
            w[at] += value
        else:
            w[at] *= value
        return base

    v = rng.standard_normal(region) if once else np.full(region, 0.5)
    check(torch, write, rng.standard_normal(shape), v, grad=(0, 1) if once else (),
          label=f"{seed} {shape} {index} {op}")


def test_write_through_a_view():
    each_case(_write_through_a_view_case, grid(("seed", range(40))))


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


def _shape(rng):
    return tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 4))))


def _gather_and_take_along_dim_case(seed):
    rng = np.random.default_rng(seed)
    s = _shape(rng)
    dim = int(rng.integers(-len(s), len(s)))
    d = dim % len(s)
    ish = tuple(int(rng.integers(0, 5)) if k == d else int(rng.integers(0, n + 1))
                for k, n in enumerate(s))
    bad = rng.random() < 0.15  # negatives and one past the end: PyTorch's gather refuses both
    idx = rng.integers(-s[d] if bad else 0, s[d] + bad, ish)
    x = rng.standard_normal(s)
    check(torch, lambda lib, t, i: lib.gather(t, dim, i), x, idx, grad=(0,), label=f"{seed}")
    if not (idx >= s[d]).any():  # PyTorch's take_along_dim does not check the range
        check(torch, lambda lib, t, i: lib.take_along_dim(t, i, dim), x, idx, grad=(0,))
        check(torch, lambda lib, t, i: lib.take_along_dim(t, i), x, idx.reshape(-1) % x.size,
              grad=(0,))


def test_gather_and_take_along_dim():
    each_case(_gather_and_take_along_dim_case, grid(("seed", range(60))))


REDUCES = ["set", "value", "add", "sum", "prod", "mean", "amax", "amin", "legacy_add",
           "legacy_multiply"]


def _scatter_family_case(seed, reduce):
    """Duplicate targets only where the result is defined (every reduction but plain writes);
    ``src`` may be larger than ``index``, whose shape picks the part that is used."""
    rng = np.random.default_rng(seed)
    s = _shape(rng)
    dim = int(rng.integers(-len(s), len(s)))
    d = dim % len(s)
    ish = tuple(int(rng.integers(0, n + 1)) for n in s)
    once = reduce in ("set", "value") or rng.random() < 0.3
    if once:  # a permutation along dim: each target once
        ish = tuple(n if k == d else m for k, (m, n) in enumerate(zip(ish, s)))
        idx = np.argsort(rng.random(ish), axis=d)
    else:
        idx = rng.integers(0, s[d], ish)
    if rng.random() < 0.1 and idx.size:
        idx.flat[int(rng.integers(0, idx.size))] = int(rng.choice([-1, s[d]]))
    wide = reduce != "prod" and rng.random() < 0.5  # PyTorch's prod gradient is wrong for it
    src = rng.standard_normal(tuple(m + int(wide and rng.integers(0, 2)) for m in ish))
    x = rng.standard_normal(s)
    if reduce in ("amax", "amin", "prod"):  # ties would make the gradient split undefined
        x, src = np.round(x, 3) + 1e-4 * rng.random(s), src + 1e-4 * rng.random(src.shape)
    incl = bool(rng.random() < 0.5)
    calls = {
        "set": lambda lib, t, i, v: lib.scatter(t, dim, i, v),
        "value": lambda lib, t, i, v: lib.scatter(t, dim, i, 2.5),
        "add": lambda lib, t, i, v: lib.scatter_add(t, dim, i, v),
        "legacy_add": lambda lib, t, i, v: (t * 1).scatter_(dim, i, v, reduce="add"),
        "legacy_multiply": lambda lib, t, i, v: (t * 1).scatter_(dim, i, v, reduce="multiply"),
    }
    call = calls.get(reduce, lambda lib, t, i, v: lib.scatter_reduce(t, dim, i, v, reduce,
                                                                     include_self=incl))
    grad = () if reduce.startswith("legacy") else (0, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's deprecation of reduce=
        check(torch, call, x, idx, src, grad=grad, rtol=1e-10, label=f"{seed} {incl}")


def test_scatter_family():
    each_case(_scatter_family_case, grid(("seed", range(20)), ("reduce", REDUCES)))


def _index_family_case(seed, op):
    rng = np.random.default_rng(seed)
    s = _shape(rng)
    dim = int(rng.integers(-len(s), len(s)))
    n = s[dim % len(s)]
    k = int(rng.integers(0, 6))
    once = op == "copy" or (rng.random() < 0.5 and k <= n)  # index_copy of repeats: undefined
    idx = rng.permutation(n)[:k] if once else rng.integers(0, n, k)
    if rng.random() < 0.3 and idx.size:
        idx[int(rng.integers(0, idx.size))] = int(rng.choice([-1, -n, n]))
    src = rng.standard_normal(tuple(idx.size if j == dim % len(s) else m for j, m in enumerate(s)))
    x = rng.standard_normal(s)
    alpha = float(rng.choice([1, 2.5, -1]))
    red, incl = str(rng.choice(["prod", "mean", "amax", "amin"])), bool(rng.random() < 0.5)
    calls = {
        "select": lambda lib, t, i, v: lib.index_select(t, dim, i),
        "add": lambda lib, t, i, v: lib.index_add(t, dim, i, v, alpha=alpha),
        "copy": lambda lib, t, i, v: lib.index_copy(t, dim, i, v),
        "fill": lambda lib, t, i, v: lib.index_fill(t, dim, i, -3.0),
        "fill_tensor": lambda lib, t, i, v: lib.index_fill(t, dim, i, v.sum()),
        "reduce": lambda lib, t, i, v: lib.index_reduce(t, dim, i, v, red, include_self=incl),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's index_reduce is in beta
        check(torch, calls[op], x, idx, src, grad=(0, 2), rtol=1e-10, label=f"{seed} {idx}")


def test_index_family():
    each_case(_index_family_case, grid(
        ("seed", range(25)),
        ("op", ["select", "add", "copy", "fill", "fill_tensor", "reduce"]),
    ))


def test_negative_index_refused_as_pytorch():
    x, v = cr.zeros(2, 3), cr.ones(2, 1)
    i2 = cr.tensor([[-1], [0]])
    for call in (lambda: cr.gather(x, 1, i2), lambda: cr.scatter(x, 1, i2, v),
                 lambda: cr.scatter_add(x, 1, i2, v), lambda: x.scatter_(1, i2, 2.0),
                 lambda: cr.scatter_reduce(x, 1, i2, v, "amax"),
                 lambda: cr.index_copy(x, 1, cr.tensor([-1]), v),
                 lambda: cr.index_reduce(x, 1, cr.tensor([-1]), v, "prod")):
        with pytest.raises(IndexError, match="out of range"):
            call()
    assert cr.index_fill(x, 1, cr.tensor([-1]), 1.0)[:, 2].tolist() == [1.0, 1.0]
    assert cr.take_along_dim(cr.arange(3.0), cr.tensor([-1, -3]), 0).tolist() == [2.0, 0.0]


DTYPES = ["float64", "float64", "float32", "int64", "int32", "uint8", "bool"]


def _values(rng, shape, dtype):
    x = np.asarray(rng.standard_normal(shape) * 3)
    return x > 0 if dtype == "bool" else x.astype(dtype)


@pytest.mark.parametrize("seed", range(60))
def test_put_and_take(seed):
    rng = np.random.default_rng(seed)
    s, dtype = _shape(rng), str(rng.choice(DTYPES))
    x, n = _values(rng, s, dtype), int(np.prod(s))
    k = int(rng.integers(0, 6))
    once = rng.random() < 0.5 and k <= n
    idx = rng.permutation(n)[:k] if once else rng.integers(-n, n, k)
    if k == 1 and rng.random() < 0.5:
        idx = idx.reshape(())
    if rng.random() < 0.1 and idx.size:
        idx.flat[0] = n
    src = _values(rng, idx.shape, dtype)
    acc = bool(rng.random() < 0.5)
    defined = acc or len(np.unique(idx % n)) == idx.size  # which repeated write wins: undefined
    grad = ((0, 2) if defined else ()) if dtype == "float64" else ()
    skip = () if defined else (0,)
    label = f"{seed} {dtype} {idx.tolist()} {acc}"
    check(torch, lambda lib, t, i, v: t.clone().put_(i, v, accumulate=acc), x, idx, src,
          grad=grad, skip=skip, label=label)
    check(torch, lambda lib, t, i, v: lib.put(t, i, v, accumulate=acc), x, idx, src, grad=grad,
          skip=skip, label=label)
    check(torch, lambda lib, t, i: lib.take(t, i), x, idx, grad=grad[:1], label=label)


def _index_put_case(seed):
    rng = np.random.default_rng(seed)
    s, dtype = _shape(rng), str(rng.choice(DTYPES))
    x = _values(rng, s, dtype)
    lead = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(0, 3))))
    indices = []
    for j in range(int(rng.integers(1, len(s) + 1))):
        if rng.random() < 0.2:
            indices.append(rng.random(s[j]) < 0.5)
        else:
            indices.append(rng.integers(-s[j], s[j], lead[int(rng.integers(0, len(lead) + 1)):]))
    acc = bool(rng.random() < 0.5)
    try:
        spots = torch.arange(x.size).reshape(s)[tuple(torch.tensor(i) for i in indices)]
        region, once = tuple(spots.shape), spots.unique().numel() == spots.numel()
    except (IndexError, RuntimeError):
        region, once = (1,), True
    v = _values(rng, region if rng.random() < 0.7 else region[-1:], dtype)
    if not (once or acc):  # which repeated write wins is undefined: one value everywhere
        v = np.full(v.shape, v.flat[0] if v.size else 0, dtype=v.dtype)
    grad = (0, len(indices) + 1) if dtype == "float64" and (once or acc) else ()
    label = f"{seed} {dtype} {[i.tolist() for i in indices]} {acc}"
    check(torch, lambda lib, t, *r: lib.index_put(t, r[:-1], r[-1], accumulate=acc), x,
          *indices, v, grad=grad, label=label)
    check(torch, lambda lib, t, *r: t.clone().index_put_(r[:-1], r[-1], accumulate=acc), x,
          *indices, v, grad=grad, label=label)


def test_index_put():
    each_case(_index_put_case, grid(("seed", range(60))))


def test_zero_d_index_of_take_and_accumulating_index_put():
    check(torch, lambda lib, t, i: lib.take(t, i), np.arange(6.0), np.array(-2), grad=(0,))
    check(torch, lambda lib, t, i, j, v: lib.index_put(t, (i, j), v, accumulate=True),
          np.arange(6.0).reshape(2, 3), np.array(1), np.array(2), np.array(5.0), grad=(0, 3))


def _masked_family_and_where_case(seed, op):
    rng = np.random.default_rng(seed)
    s, dtype = _shape(rng), str(rng.choice(DTYPES))
    x = _values(rng, s, dtype)
    ms = tuple(n if rng.random() < 0.7 else 1 for n in s)[int(rng.integers(0, 2)):]
    if rng.random() < 0.15:
        ms = (1,) + ms
    if rng.random() < 0.05:
        ms = ms + (2,)  # does not broadcast (mostly)
    m = rng.random(ms) < 0.5
    f = dtype == "float64"
    g, label = ((0,) if f else ()), f"{seed} {dtype} {s} mask {ms}"
    if op == "fill":
        check(torch, lambda lib, t, k: lib.masked_fill(t, k, -2.5 if f else 3), x, m, grad=g)
    elif op == "fill_tensor":
        check(torch, lambda lib, t, k, v: lib.masked_fill(t, k, v), x, m, np.asarray(1.5),
              grad=(0, 2) if f else (), label=label)
    elif op == "fill_":
        check(torch, lambda lib, t, k: t.clone().masked_fill_(k, 2), x, m, grad=g, label=label)
    elif op in ("scatter", "scatter_"):
        extra = int(rng.integers(0, 3))
        src = _values(rng, tuple(n + extra for n in s) if rng.random() < 0.8 else (2,), dtype)
        call = ((lambda lib, t, k, v: lib.masked_scatter(t, k, v)) if op == "scatter" else
                (lambda lib, t, k, v: t.clone().masked_scatter_(k, v)))
        check(torch, call, x, m, src, grad=(0, 2) if f else (), label=label)
    elif op == "select":
        check(torch, lambda lib, t, k: lib.masked_select(t, k), x, m, grad=g, label=label)
    elif op == "where":
        y = rng.standard_normal(s[int(rng.integers(0, len(s) + 1)):])
        check(torch, lambda lib, k, t, o: lib.where(k, t, o), m, x, y,
              grad=(1, 2) if f else (2,), label=label)
    elif op == "where_numbers":
        check(torch, lambda lib, k, t: lib.where(k, t, 2.5), m, x, grad=(1,) if f else (),
              label=label)
        check(torch, lambda lib, k, t: lib.where(k, 1, t), m, x, grad=(1,) if f else (),
              label=label)
    else:
        check(torch, lambda lib, k: lib.where(k), m, label=label)
        check(torch, lambda lib, t: lib.nonzero(t, as_tuple=bool(seed % 2)), x, label=label)


def test_masked_family_and_where():
    each_case(_masked_family_and_where_case, grid(
        ("seed", range(25)),
        ("op", ["fill", "fill_tensor", "fill_", "scatter", "scatter_", "select",
                "where", "where_numbers", "where_one"]),
    ))


def test_masked_scatter_broadcasts_the_input():
    check(torch, lambda lib, t, k, v: lib.masked_scatter(t, k, v), np.arange(3.0),
          np.array([[True, False, True], [False, True, True]]), np.arange(6.0) + 10, grad=(0, 2))


def test_nonzero_of_a_zero_d_tensor():
    for v in (True, False, 0.0, 2.5):
        check(torch, lambda lib, t: lib.nonzero(t), np.asarray(v))
        check(torch, lambda lib, t: lib.argwhere(t), np.asarray(v))
        check(torch, lambda lib, t: lib.nonzero(t, as_tuple=True), np.asarray(v))
        check(torch, lambda lib, t: lib.where(t), np.asarray(v == 0))


def test_trace_follows_gather_and_take_along_dim_indices():
    def f(x):
        return (cr.gather(x, 1, x.argmax(1, keepdim=True))
                + cr.take_along_dim(x, x.argmin(1, keepdim=True), 1)
                + cr.take_along_dim(x, x.argmin(1, keepdim=True) - 3, 1)
                + cr.take(x, x.argmax(1, keepdim=True) - 6)
                + cr.index_copy(x, 1, x.argmax(1)[:1], x[:, 1:2] * 10)[:, :1]
                + cr.index_fill(x, 1, x.argmin(1), x.sum())[:, 2:]
                + cr.put(x, x.argmax(1) - 6, x[:, 0] * 3)[:, :1]
                + cr.nn.functional.one_hot(x.argmax(1), 3)[:, 2:])
    traced = cr.trace(f, cr.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]]))
    other = cr.tensor([[9.0, 5.0, 2.0], [7.0, 0.0, 8.0]])
    assert traced(other).tolist() == f(other).tolist() == [[130.0], [49.0]]


@pytest.mark.parametrize("dtypes", [("float16", "float32"), ("float32", "float64"),
                                    ("float32", "int64"), ("int8", "bool"), ("int64", "int32")])
def test_scatter_sources_of_another_dtype_refused_as_pytorch(dtypes):
    x, src = np.zeros((2, 3), dtypes[0]), np.ones((2, 3), dtypes[1])
    idx = np.array([[0, 1, 2], [2, 1, 0]])
    for call in (lambda lib, t, i, v: lib.scatter(t, 1, i, v),
                 lambda lib, t, i, v: lib.scatter_add(t, 1, i, v),
                 lambda lib, t, i, v: t.clone().scatter_(1, i, v),
                 lambda lib, t, i, v: t.clone().scatter_add_(1, i, v),
                 lambda lib, t, i, v: lib.index_add(t, 1, i[0], v),
                 lambda lib, t, i, v: t.clone().index_add_(1, i[0], v),
                 lambda lib, t, i, v: lib.scatter(t, 1, i, 2)):  # a number is cast
        check(torch, call, x, idx, src, label=str(dtypes))
