"""PyTorch's ``*_copy`` functions (``transpose_copy``, ``view_copy``, ``split_copy`` ...): the
view op's result as a new tensor that shares no memory with the input (a ``clone`` of the view),
differentiable as the view is; and ``norm_except_dim``, the norm ``weight_norm`` divides by.

``detach_copy`` is ``input.detach().clone()``: a copy cut from the graph (PyTorch 2.13's result
still reports ``requires_grad`` when the input does, with no gradient formula behind it).
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from .torch_names import no_out, tensor_input

__all__ = ["alias_copy", "detach_copy", "diagonal_copy", "expand_copy", "norm_except_dim",
           "permute_copy", "select_copy", "slice_copy", "split_copy", "split_with_sizes_copy",
           "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy", "unfold_copy",
           "unsqueeze_copy", "view_copy"]


def _copied(result):
    if isinstance(result, Tensor):
        return result.clone()
    return tuple(t.clone() for t in result)


def _copy(name, view, doc):
    def fn(input, *args, out=None, **kwargs):  # noqa: A002 - PyTorch's name
        no_out(name, out)
        return _copied(view(tensor_input(name, input), *args, **kwargs))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _slice(x, dim=0, start=None, end=None, step=1):
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 1:
        raise ValueError(f"slice_copy: step must be a positive int, got {step!r}")
    axis = dim + x.ndim if isinstance(dim, numbers.Integral) and dim < 0 else dim
    if not isinstance(axis, numbers.Integral) or not 0 <= axis < max(x.ndim, 1):
        raise IndexError(f"slice_copy: dim {dim!r} is out of range for a {x.ndim}-D tensor")
    return x[(slice(None),) * axis + (slice(start, end, step),)]


alias_copy = _copy("alias_copy", lambda x: x, "A copy of ``input`` (PyTorch's copy of an alias).")
detach_copy = _copy("detach_copy", lambda x: x.detach(),
                    "``input.detach().clone()`` (see the module docstring).")
diagonal_copy = _copy("diagonal_copy",
                      lambda x, offset=0, dim1=0, dim2=1: x.diagonal(offset, dim1, dim2),
                      "A copy of ``input.diagonal(offset=0, dim1=0, dim2=1)``.")
expand_copy = _copy("expand_copy", lambda x, size, *, implicit=False: x.expand(*size),
                    "A copy of ``input.expand(size)`` (the expanded memory written out).")
permute_copy = _copy("permute_copy", lambda x, dims: x.permute(*dims),
                     "A copy of ``input.permute(dims)``.")
select_copy = _copy("select_copy", lambda x, dim, index: x.select(dim, index),
                    "A copy of ``input.select(dim, index)``.")
slice_copy = _copy("slice_copy", _slice,
                   "A copy of ``input[..., start:end:step]`` along ``dim`` "
                   "(``slice_copy(input, dim=0, start=None, end=None, step=1)``).")
split_copy = _copy("split_copy", lambda x, split_size, dim=0: x.split(split_size, dim),
                   "Copies of ``input.split(split_size, dim=0)``.")
split_with_sizes_copy = _copy("split_with_sizes_copy",
                              lambda x, split_sizes, dim=0: x.split(list(split_sizes), dim),
                              "Copies of ``input.split(split_sizes, dim=0)``.")
squeeze_copy = _copy("squeeze_copy", lambda x, dim=None: x.squeeze() if dim is None
                     else x.squeeze(tuple(dim) if isinstance(dim, list) else dim),
                     "A copy of ``input.squeeze(dim)`` (dim: None, an int or a list).")
t_copy = _copy("t_copy", lambda x: x.t(), "A copy of ``input.t()``.")
transpose_copy = _copy("transpose_copy", lambda x, dim0, dim1: x.transpose(dim0, dim1),
                       "A copy of ``input.transpose(dim0, dim1)``.")
unbind_copy = _copy("unbind_copy", lambda x, dim=0: x.unbind(dim),
                    "Copies of ``input.unbind(dim=0)``.")
unfold_copy = _copy("unfold_copy", lambda x, dimension, size, step: x.unfold(dimension, size,
                                                                               step),
                    "A copy of ``input.unfold(dimension, size, step)``.")
unsqueeze_copy = _copy("unsqueeze_copy", lambda x, dim: x.unsqueeze(dim),
                       "A copy of ``input.unsqueeze(dim)``.")
view_copy = _copy("view_copy", lambda x, size: x.view(*size) if isinstance(size, (list, tuple))
                  else x.view(size), "A copy of ``input.view(size)`` (a shape or a dtype).")


def norm_except_dim(v, pow=2, dim: int = 0) -> Tensor:  # noqa: A002 - PyTorch's names
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, keeping ``v``'s rank (size 1
    elsewhere); ``dim=-1``: the norm of all of ``v``, 0-d. ``weight_norm``'s denominator."""
    v = tensor_input("norm_except_dim", v, "v")
    if dim == -1:
        return v.norm(pow)
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not 0 <= dim < v.ndim:
        raise IndexError(f"norm_except_dim: dim must be -1 or in [0, {v.ndim - 1}], got {dim!r}")
    others = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=others, keepdim=True) if others else v.abs()
