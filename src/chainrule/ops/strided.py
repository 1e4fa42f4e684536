"""``as_strided`` (a strided read of a tensor's memory) and the top-level ``trace`` that is both
PyTorch's ``torch.trace(input)`` and chainrule's tracer.

``as_strided(input, size, stride, storage_offset=None)`` gives element ``(i_0, i_1, ...)`` of the
result the value at memory position ``storage_offset + i_0 * stride[0] + i_1 * stride[1] + ...``,
positions and strides counted in elements from the start of the memory that owns ``input`` (what
``input.stride()`` and ``input.storage_offset()`` report; ``storage_offset`` defaults to
``input.storage_offset()``), as PyTorch's: ``x.as_strided((n - k + 1, k), (1, 1))`` is the
sliding windows of a contiguous vector, ``x.as_strided((N, C, H - k + 1, W - k + 1, k, k), (*s,
s[2], s[3]))`` with ``s = x.stride()`` the patches of an image batch. Every position must be one
of ``input``'s own elements: reading memory outside them (which PyTorch allows within the
storage) is refused, naming the position. As PyTorch's, the result is a view of ``input``'s
memory (NumPy's stride tricks on its array): a change of ``input`` shows in it, and a change of it
reaches ``input``, counted as a change of ``input`` and recorded for autograd as a write through
any other view. A result that names one memory position more than once (overlapping windows, a
zero stride) is read-only, as ``Tensor.unfold``'s overlapping windows: an in-place change raises
(it would write that position more than once); ``clone()`` it first. ``as_strided_`` is not
provided. The gradient adds each element's share back to the element of ``input`` it was read
from, overlapping reads summed, as PyTorch's.

``chainrule.trace(A)`` with a Tensor is ``torch.trace``: the sum of a 2-D tensor's diagonal (as
``A.trace()``), differentiable. Given a callable, it is chainrule's tracer,
``chainrule.autograd.trace(fn, *example_inputs, check_inputs=())`` (a Tensor is never callable,
so the two cannot be confused).
"""

from __future__ import annotations

import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..autograd.tracing import trace as _tracer
from ..autograd.views import link_view
from ..backend import get_array_module
from .einsum import trace as _matrix_trace
from .indexing import scatter_add_along
from .shape import reshape
from .tensor_info import _storage_offset, _stride

__all__ = ["as_strided", "trace"]


def _ints(name, value, who="as_strided"):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        raise TypeError(f"{who}: {name} must be a tuple of ints, got {value!r}")
    return tuple(int(v) for v in value)


class _AsStrided(Function):
    """A strided view of ``x``'s array from its element ``start`` (an index tuple), with
    ``steps`` in elements; ``index`` is the flat (C-order) element of ``x`` each entry reads."""

    complex_grad = True

    def forward(self, x):
        xp = get_array_module(x)
        first = x[(..., *(slice(i, i + 1) for i in self.start))]  # a view starting there
        strides = tuple(s * x.itemsize for s in self.steps)
        if xp.__name__ == "numpy":
            return xp.lib.stride_tricks.as_strided(first, self.size, strides,
                                                   writeable=not self.overlap)
        return xp.lib.stride_tricks.as_strided(first, self.size, strides)

    def backward(self, g):
        x = self.inputs[0]
        flat = scatter_add_along(reshape(g, -1), 0, Tensor(self.index.reshape(-1)),
                                 (x.numel(),))
        return reshape(flat, x.shape)


def as_strided(input, size, stride, storage_offset=None):  # noqa: A002 - PyTorch's name
    """The elements of ``input``'s memory at ``storage_offset + sum(i_k * stride[k])`` for each
    index ``i`` of a result of shape ``size`` (a view; see the module docstring)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"as_strided: input must be a Tensor, got {type(input).__name__}")
    size, stride = _ints("size", size), _ints("stride", stride)
    if len(size) != len(stride):
        raise ValueError(f"as_strided: size {size} and stride {stride} must have the same "
                         "length")
    if any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise ValueError(f"as_strided: size and stride must not be negative, got size {size} "
                         f"and stride {stride}")
    offset = _storage_offset(input) if storage_offset is None else storage_offset
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or offset < 0:
        raise ValueError(f"as_strided: storage_offset must be an int >= 0, got {offset!r}")
    xp = get_array_module(input._data)
    # memory position of each of input's elements, in C order, and of each requested element
    own = xp.full((), _storage_offset(input), dtype=xp.int64)
    for n, s in zip(input.shape, _stride(input)):
        own = own[..., None] + xp.arange(n, dtype=xp.int64) * s
    own = own.reshape(-1)
    want = xp.full((), int(offset), dtype=xp.int64)
    for n, s in zip(size, stride):
        want = want[..., None] + xp.arange(n, dtype=xp.int64) * s
    order = xp.argsort(own, kind="stable")  # the first of elements sharing memory (expand)
    slot = xp.searchsorted(own[order], want)
    found = xp.minimum(slot, max(own.size - 1, 0))
    hit = (slot < own.size) & (own[order][found] == want) if own.size else xp.zeros(
        want.shape, dtype=bool)
    if not bool(hit.all()):
        bad = int(want[~hit].reshape(-1)[0])
        raise ValueError(
            f"as_strided: size {size}, stride {stride} and storage_offset {offset} read memory "
            f"position {bad}, which is not one of input's elements (input has shape "
            f"{tuple(input.shape)}, stride {_stride(input)} and storage_offset "
            f"{_storage_offset(input)}); chainrule reads only the tensor's own elements")
    index = order[found].reshape(size)
    if index.size == 0:  # reads nothing: no memory is touched
        start, stride = (0,) * input.ndim, (0,) * len(size)
    else:
        start = tuple(int(i) for i in xp.unravel_index(int(index.reshape(-1)[0]), input.shape))
    overlap = index.size > 1 and int(xp.unique(want).size) < index.size
    out = _AsStrided.apply(input, start=start, size=size, steps=stride, index=index,
                           overlap=overlap)
    link_view(out, input)  # NumPy's strided array does not name input's memory as its base
    return out


def trace(fn=None, *example_inputs, check_inputs=(), input=None):  # noqa: A002
    """``torch.trace(input)`` for a Tensor (its diagonal's sum); for a callable, chainrule's
    tracer (see the module docstring)."""
    if input is not None:
        if fn is not None or example_inputs or check_inputs:
            raise TypeError("trace: input= takes the matrix alone (torch.trace(input))")
        fn = input
    if isinstance(fn, Tensor):
        if example_inputs or check_inputs:
            raise TypeError("trace: torch.trace takes one 2-D Tensor; to trace a model, pass "
                            f"the model first (got a Tensor and {len(example_inputs)} more "
                            "inputs)")
        return _matrix_trace(fn)
    return _tracer(fn, *example_inputs, check_inputs=check_inputs)


Tensor.as_strided = as_strided
