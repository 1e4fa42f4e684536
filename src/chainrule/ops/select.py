"""Selecting, comparing, counting and writing by index, PyTorch's names.

Differentiable: ``masked_select`` (an indexing), ``scatter`` and ``scatter_add`` out of place
(their adjoints gather the gradient at the index), ``index_add``. Not differentiable (they give
positions, counts or booleans): ``nonzero``, ``argwhere``, ``unique``, ``bincount``,
``searchsorted``, ``bucketize``, ``isclose``, ``allclose``, ``equal``.

The in-place writers (``scatter_``, ``scatter_add_``, ``index_add_``, ``index_fill_``,
``index_copy_``, ``exp_``, ``relu_``...) go through ``autograd.inplace_record.change``: recorded
while gradients are recorded (as in PyTorch), counted so that backward refuses values changed
after an op read them. Random draws (``bernoulli``, ``normal``)
use the default generator unless given ``generator=``/``rng=``.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import Function, nondiff
from ..autograd.inplace_record import change
from ..autograd.tensor import Tensor
from ..backend import asnumpy, get_array_module
from ..backend.defaults import get_default_dtype
from ..backend.dtypes import check_fill
from ..backend.random import resolve_rng
from ._layout import check_factory_options
from ._real_only import refuse_complex
from ._zero_d import as_1d, scalar_dim
from .creation import _leaf
from .elementwise import cast, fill_where
from .indexing import _index, gather, scatter_add_along
from .join import pad
from .random_fills import bernoulli_values
from .rearrange import broadcast_shapes
from .shape import _one_axis, broadcast_to, getitem, reshape
from .unique import unique

__all__ = ["allclose", "argwhere", "bernoulli", "bincount", "bucketize", "equal", "index_add",
           "isclose", "masked_select", "nonzero", "normal", "scatter", "scatter_add",
           "searchsorted", "unique"]


def _arr(x, like=None):
    if isinstance(x, Tensor):
        return x._data
    xp = get_array_module(like._data) if like is not None else get_array_module()
    return xp.asarray(x)


def _positions(idx, axis):
    """Full index arrays for writing ``idx`` (a gather-shaped index) along ``axis``."""
    xp = get_array_module(idx)
    grids = xp.indices(idx.shape, sparse=True)
    return tuple(idx if d == axis else grids[d] for d in range(idx.ndim))


class Scatter(Function):
    """``x`` with ``src`` written at ``index`` along ``axis`` (the last write wins)."""

    complex_grad = True

    def forward(self, x, src):
        out = x.copy()
        out[_positions(self.index, self.axis)] = src[tuple(slice(0, n) for n in
                                                            self.index.shape)]
        return out

    def backward(self, g):
        xp = get_array_module(g._data)
        written = xp.zeros(g.shape, bool)
        written[_positions(self.index, self.axis)] = True
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = gather(g, self.axis, Tensor(self.index))
            src = self.inputs[1]
            if gsrc.shape != src.shape:  # src larger than index: the rest got no gradient
                gsrc = pad(gsrc, [(0, n - m) for n, m in zip(src.shape, gsrc.shape)])
        return fill_where(written, 0, g), gsrc


def _same_dtype(op, x, src, what="src"):
    """PyTorch's rule for the scatter and index_add writes: a Tensor source of the input's own
    dtype (no promotion, no cast)."""
    if isinstance(src, Tensor) and src.dtype != x.dtype:
        raise TypeError(f"{op}: {what} must have input's dtype {x.dtype}, got {src.dtype}")


def _src(op, x, src):
    if isinstance(src, Tensor):
        _same_dtype(op, x, src)
        return src
    xp = get_array_module(x._data)  # a number x's dtype cannot hold is PyTorch's error
    src = check_fill(op, src, x.dtype) if isinstance(src, numbers.Number) else src
    return Tensor(xp.full((1,) * x.ndim, src, dtype=x.dtype))


def _one_position(x, index) -> bool:
    """A 0-D index into a 1-D input: PyTorch reads it as one position (shape (1,)), as it reads
    every 0-D tensor of gather and scatter as one of a single element."""
    return x.ndim == 1 and getattr(index, "ndim", None) == 0


def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """``input`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``;
    PyTorch's (deprecated) ``reduce="add"`` or ``"multiply"`` combines them with ``input``
    instead, as ``scatter_add`` and ``scatter_reduce(..., "prod")`` do."""
    if reduce not in (None, "add", "multiply"):
        raise ValueError(f"scatter: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    if (src is None) == (value is None):
        raise TypeError("scatter: give one of src (a tensor or a number) and value")
    if scalar_dim(input, dim):  # a 0-D input as one axis of size 1 (PyTorch's)
        return reshape(scatter(as_1d(input), 0, as_1d(index), as_1d(src), value=value,
                               reduce=reduce), ())
    if _one_position(input, index):  # the Transforms tutorial's zeros(10).scatter_(0, y, 1)
        return scatter(input, dim, as_1d(index), as_1d(src), value=value, reduce=reduce)
    axis = _one_axis("scatter", dim, input.ndim)
    idx = _index("scatter", input.shape, axis, index, get_array_module(input._data))._data
    s = _src("scatter", input, value if src is None else src)
    if s._data.size == 1 and idx.size != 1:
        s = Tensor(get_array_module(s._data).broadcast_to(s._data.reshape(()), idx.shape))
    if reduce == "add":
        return scatter_add(input, dim, index, s)
    if reduce == "multiply":
        from .scatter_reduce import scatter_reduce

        return scatter_reduce(input, dim, index, s, "prod")
    return Scatter.apply(input, s, index=idx, axis=axis)


def scatter_add(input, dim, index, src):  # noqa: A002
    """``input`` plus ``src`` added at ``index`` along ``dim`` (repeated indices add up)."""
    if scalar_dim(input, dim):  # a 0-D input as one axis of size 1 (PyTorch's)
        return reshape(scatter_add(as_1d(input), 0, as_1d(index), as_1d(src)), ())
    if _one_position(input, index):
        return scatter_add(input, dim, as_1d(index), as_1d(src))
    axis = _one_axis("scatter_add", dim, input.ndim)
    _same_dtype("scatter_add", input, src)
    if input.dtype == "float16":  # PyTorch adds float16 in float32 and rounds once
        return scatter_add(input.float(), dim, index, src.float()).half()
    return input + scatter_add_along(src, axis, index, input.shape)


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002
    """``input`` with ``alpha * source``'s slices added at ``index`` along ``dim``."""
    if scalar_dim(input, dim):  # a 0-D input as one axis of size 1 (PyTorch's)
        return reshape(index_add(as_1d(input), 0, as_1d(index), as_1d(source), alpha=alpha), ())
    axis = _one_axis("index_add", dim, input.ndim)
    _same_dtype("index_add", input, source, "source")
    if input.dtype == "float16" and alpha == 1:  # PyTorch adds float16 in float32, rounds once
        return index_add(input.float(), dim, index, source.float()).half()
    idx = _index_args("index_add", input, axis, index, source)
    shape = list(source.shape)
    full = idx.reshape([-1 if d == axis else 1 for d in range(input.ndim)])
    full = get_array_module(idx).broadcast_to(full, shape)
    size = list(input.shape)
    scaled = source if alpha == 1 else source * _alpha_of(input, alpha)
    return input + scatter_add_along(scaled, axis, Tensor(full), size)


def _alpha_of(x, alpha):
    """PyTorch's index_add casts ``alpha`` to the input's dtype: an integer tensor truncates it
    (0.5 adds nothing, -1 in uint8 is 255), a bool tensor takes bool(alpha); a value the dtype
    cannot hold (a complex one for a real tensor) is its error."""
    if isinstance(alpha, Tensor) and alpha.ndim == 0:
        alpha = alpha.item()  # PyTorch's alpha is a number
    if not isinstance(alpha, numbers.Number):
        raise TypeError(f"index_add: alpha must be a number, got {alpha!r}")
    alpha = check_fill("index_add (alpha)", alpha, x.dtype)
    if x.dtype.kind in "biu":  # truncated toward zero, as C's cast
        return get_array_module(x._data).asarray(alpha).astype(x.dtype)
    return alpha


def masked_select(input, mask):  # noqa: A002
    """The entries of ``input`` where ``mask`` holds, as a 1-D tensor (row-major order)."""
    m = _arr(mask, input)
    if m.dtype != bool:
        raise TypeError(f"masked_select: mask must be boolean, got dtype {m.dtype}")
    xp = get_array_module(input._data)
    shape = broadcast_shapes(input.shape, m.shape)
    if shape != input.shape:
        input = broadcast_to(input, shape)  # noqa: A001
    return getitem(input, Tensor(xp.broadcast_to(m, shape)))


def nonzero(input, *, as_tuple: bool = False):  # noqa: A002
    """The indices of the nonzero entries: (N, ndim) int64, or one 1-D tensor per axis. Each is
    a nondiff step, which a trace (cr.trace, onnx.export) computes again (or refuses)."""
    xp = get_array_module(input._data)

    def nonzero_of(a, axis=None):
        if a.ndim == 0:  # PyTorch's: a 0-d tensor counts as one entry with no axes
            return xp.zeros((int(bool(a)),) + ((0,) if axis is None else ()), "int64")
        where = xp.nonzero(a)
        return (xp.stack(where, axis=1) if axis is None else where[axis]).astype("int64")
    def nonzero_of_axis(k):
        return lambda a: nonzero_of(a, k)
    if as_tuple:
        return tuple(nondiff(nonzero_of_axis(k), input) for k in range(max(input._data.ndim, 1)))
    return nondiff(nonzero_of, input)


def argwhere(input):  # noqa: A002
    return nonzero(input)


def bincount(input, weights=None, minlength: int = 0):  # noqa: A002
    """How often each value 0, 1, ... occurs in the 1-D non-negative int ``input`` (summed
    ``weights`` instead of counts, if given)."""
    a = input._data
    if a.ndim != 1 or a.dtype.kind not in "iu" or (a.size and int(a.min()) < 0):
        raise ValueError(f"bincount: expects a 1-D tensor of non-negative ints, got shape "
                         f"{a.shape}, dtype {a.dtype}")
    xp = get_array_module(a)
    w = None if weights is None else _arr(weights, input)
    if w is not None and w.shape != a.shape:
        raise ValueError(f"bincount: weights must have the input's shape {a.shape}, got {w.shape}")

    def bincount_of(a, w=None):  # a nondiff step: a trace computes it again, not frozen
        out = xp.bincount(a, weights=w, minlength=minlength)
        if w is None or a.size == 0:  # PyTorch's: an empty input counts in int64 even so
            return out.astype("int64")
        return out.astype("float32") if w.dtype == xp.float32 else out  # PyTorch's dtypes
    wt = () if w is None else (weights if isinstance(weights, Tensor) else Tensor(w),)
    return nondiff(bincount_of, input, *wt)


def searchsorted(sorted_sequence, values, *, out_int32: bool = False, right: bool = False,
                 side=None, sorter=None):
    """Where ``values`` would go in ``sorted_sequence`` (1-D, or one sorted row per leading
    index) to keep it sorted: the first such place, or the last for ``right``/``side="right"``.
    ``sorter``: indices (of the sequence's shape) that sort an unsorted sequence along its last
    axis, as ``argsort`` gives them."""
    if side is not None and side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if right and side == "left":
        raise ValueError("searchsorted: side='left' and right=True ask for opposite sides")
    side = side or ("right" if right else "left")
    like = sorted_sequence if isinstance(sorted_sequence, Tensor) else None
    args = [a if isinstance(a, Tensor) else Tensor(_arr(a, like))
            for a in (sorted_sequence, values) + (() if sorter is None else (sorter,))]
    refuse_complex("searchsorted", *args[:2])
    seq, vals = args[0]._data, args[1]._data
    if sorter is not None and (args[2].shape != seq.shape or args[2].dtype.kind not in "iu"):
        raise ValueError(f"searchsorted: sorter must be integers of the sequence's shape "
                         f"{seq.shape}, got {args[2].dtype} of shape {tuple(args[2].shape)}")
    if seq.ndim > 1 and seq.shape[:-1] != vals.shape[:-1]:
        raise ValueError(f"searchsorted: leading shapes differ: {seq.shape} and {vals.shape}")
    dtype = "int32" if out_int32 else "int64"
    # a nondiff step, which a trace (cr.trace) runs again at every call
    return nondiff(lambda *a: _search(*a, side=side).astype(dtype), *args)


def _search(seq, vals, order=None, *, side):
    xp = get_array_module(seq)
    if order is not None:
        seq = xp.take_along_axis(seq, order, -1)
    if seq.ndim == 1:
        return xp.asarray(xp.searchsorted(seq, vals, side=side))
    rows = math.prod(seq.shape[:-1])  # reshape(-1, n) cannot tell it when it is empty
    flat_s, flat_v = seq.reshape(rows, seq.shape[-1]), vals.reshape(rows, vals.shape[-1])
    out = xp.zeros(flat_v.shape, "int64")
    for r in range(rows):
        out[r] = xp.searchsorted(flat_s[r], flat_v[r], side=side)
    return out.reshape(vals.shape)


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):  # noqa: A002
    """The bucket of each entry of ``input`` among the sorted 1-D ``boundaries``."""
    if (nd := getattr(boundaries, "ndim", 1)) != 1:  # PyTorch's rule (searchsorted takes rows)
        raise ValueError(f"bucketize: boundaries must be 1-D, got {nd} dims")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
            equal_nan: bool = False):
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if tol < 0:  # NumPy would compare with it
            raise ValueError(f"isclose: {name} must be greater than or equal to zero, got {tol}")
    operands = [t if isinstance(t, Tensor) else Tensor(_arr(t)) for t in (input, other)]

    def isclose_of(a, b):  # a nondiff step: a trace (cr.trace, onnx.export) computes it again
        xp = get_array_module(a)
        if rtol == 0 and atol == 0:  # PyTorch's exact test (NumPy's floats round big ints)
            same = a == b
            if equal_nan and a.dtype.kind in "fc" and b.dtype.kind in "fc":
                same = same | (xp.isnan(a) & xp.isnan(b))
            return xp.asarray(same)
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":  # PyTorch's: in the default dtype
            a, b = a.astype(get_default_dtype()), b.astype(get_default_dtype())
        return xp.asarray(xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    return nondiff(isclose_of, *operands)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
             equal_nan: bool = False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other) -> bool:  # noqa: A002
    """True when a and b have the same shape and values."""
    return tuple(input.shape) == tuple(other.shape) and bool((_arr(input) == _arr(other)).all())


def bernoulli(input, p=None, *, generator=None, rng=None):  # noqa: A002 - PyTorch's name
    """1 with probability ``input`` (each entry), else 0, in its dtype; with ``p`` (a number,
    PyTorch's second form), probability ``p`` for every entry of ``input``'s shape."""
    gen = resolve_rng(generator if rng is None else rng, "bernoulli")
    a = _arr(input)
    out_dtype = a.dtype
    if p is None and a.dtype.kind != "f":  # PyTorch's: the probabilities must be floating
        raise NotImplementedError(f"bernoulli: input holds the probabilities and must be "
                                  f"floating-point, got dtype {a.dtype}; bernoulli(input, p) "
                                  "draws with probability p in an integer or bool tensor's shape")
    if p is not None:  # float64 probabilities: an int or bool input must not round p to 0 or 1
        a = get_array_module(a).full(a.shape, p, dtype="float64")
    if a.size and not (float(a.min()) >= 0 and float(a.max()) <= 1):  # NaN fails too
        raise ValueError(f"bernoulli: probabilities must lie in [0, 1], got values from "
                         f"{float(a.min())} to {float(a.max())}")
    draws = gen.random(a.shape) < asnumpy(a)  # on the host, from the host generator
    return Tensor(get_array_module(a).asarray(draws.astype(out_dtype)))


def normal(mean, std=1.0, size=None, *, generator=None, rng=None, dtype=None, layout=None,
           device=None, pin_memory: bool = False, requires_grad: bool = False):
    """Normal draws with ``mean`` and ``std`` (tensors broadcast, or numbers with ``size``: then
    in the default dtype, with PyTorch's factory keywords, as d2l's ``torch.normal(0, 0.01,
    size=(2, 1), requires_grad=True)``)."""
    check_factory_options("normal", layout, pin_memory)
    gen = resolve_rng(generator if rng is None else rng, "normal")
    m, s = asnumpy(_arr(mean)), asnumpy(_arr(std))
    if (s < 0).any():
        raise ValueError("normal: std must be >= 0")
    shape = tuple(size) if size is not None else broadcast_shapes(m.shape, s.shape)
    like = [t for t in (mean, std) if isinstance(t, Tensor)]
    if like and (like[0].dtype.kind not in "fc" or size is not None):  # PyTorch's rule
        raise TypeError("normal: the first tensor of mean, std (the result's dtype) must be "
                        f"floating-point, and size only with numbers; got {like[0].dtype}")
    dtype = dtype or (like[0].dtype if like else get_default_dtype())
    draws = (m + s * gen.standard_normal(shape)).astype(dtype)
    if not like:
        return _leaf("normal", draws, device, requires_grad)
    return Tensor(get_array_module(like[0]._data).asarray(draws), requires_grad=requires_grad)


# In place: the same values written into the tensor's own memory (see the module docstring).

def _writer(name, compute):
    """The in-place method ``name``: ``compute(self, *args)``'s values written into ``self``
    (recorded while gradients are recorded and ``self`` or an argument requires grad, see
    ``autograd.inplace_record``)."""
    def method(self, *args, **kwargs):
        cast = name.startswith(("scatter", "index"))  # their integer results keep the dtype
        values = (*args, *kwargs.values())

        def result(x):
            out = compute(x, *args, **kwargs)
            if cast and isinstance(out, Tensor) and out._data.dtype != x._data.dtype:
                out = Tensor(out._data.astype(x._data.dtype)) if not out.requires_grad else out
            return out

        return change(self, name, result, values)

    method.__name__ = name
    return method


def _scatter_add_(self, dim, index, src):
    return scatter_add(self, dim, index, src)


for _name, _compute in {
    "scatter_": lambda self, dim, index, src=None, *, value=None, reduce=None: scatter(
        self, dim, index, src, value=value, reduce=reduce),
    "scatter_add_": _scatter_add_,
    "index_add_": lambda self, dim, index, source, *, alpha=1: index_add(self, dim, index,
                                                                        source, alpha=alpha),
    "exp_": lambda self: self.exp(), "log_": lambda self: self.log(),
    "sqrt_": lambda self: self.sqrt(), "abs_": lambda self: self.abs(),
    "neg_": lambda self: -self, "sigmoid_": lambda self: self.sigmoid(),
    "tanh_": lambda self: self.tanh(), "relu_": lambda self: self.relu(),
    "floor_": lambda self: self.floor(), "ceil_": lambda self: self.ceil(),
    "round_": lambda self, **kw: self.round(**kw), "trunc_": lambda self: self.trunc(),
    "sin_": lambda self: self.sin(), "cos_": lambda self: self.cos(),
    "square_": lambda self: self * self, "reciprocal_": lambda self: 1 / self,
    "pow_": lambda self, p: self ** p, "clamp_min_": lambda self, m: self.clamp_min(m),
    "clamp_max_": lambda self, m: self.clamp_max(m),
    "lerp_": lambda self, end, weight: self.lerp(end, weight),
    "nan_to_num_": lambda self, *a, **kw: self.nan_to_num(*a, **kw),
    "bernoulli_": bernoulli_values,
}.items():
    setattr(Tensor, _name, _writer(_name, _compute))


def _index_args(op, x, axis, index, source=None, low=0):
    """``index`` as an array after PyTorch's checks: 1-D integers in [low, size) (``index_fill_``
    takes negatives), and a ``source`` with x's shape but one slice per index along ``axis``."""
    idx = _arr(index, x)
    if idx.ndim > 1 or idx.dtype.kind not in "iu":
        raise ValueError(f"{op}: index must be a 1-D tensor of integers, got shape {idx.shape}, "
                         f"dtype {idx.dtype}")
    idx = idx.reshape(-1)
    n = x.shape[axis] if x.ndim else 1
    if idx.size and (int(idx.min()) < low * n or int(idx.max()) >= n):
        raise IndexError(f"{op}: index holds {int(idx.min())}..{int(idx.max())}, out of range "
                         f"for axis {axis} of size {n} ({low * n}..{n - 1})")
    if source is not None:
        want = tuple(idx.size if d == axis else s for d, s in enumerate(x.shape))
        if tuple(_arr(source, x).shape) != want:
            raise ValueError(f"{op}: source must have shape {want} (x's {tuple(x.shape)} with "
                             f"{idx.size} slices along {axis}), got {tuple(source.shape)}")
    return idx


for _name, _fn in {"scatter": scatter, "scatter_add": scatter_add, "index_add": index_add,
                   "masked_select": masked_select, "nonzero": nonzero, "argwhere": argwhere,
                   "unique": unique, "bincount": bincount, "isclose": isclose,
                   "allclose": allclose, "equal": equal, "bernoulli": bernoulli,
                   "type_as": lambda self, other: cast(self, other.dtype)}.items():
    setattr(Tensor, _name, _fn)
