"""Average pooling of int64 input, as PyTorch's CPU kernels compute it: each window's sum in
int64, divided by the window's divisor with the quotient truncated toward zero (C's integer
division). The divisor is PyTorch's: ``divisor_override``, else the window's size within the
padded input (a ``ceil_mode`` window cut at its end) or, without ``count_include_pad``, within
the input itself. Integers carry no gradient, so this is plain array work on the padded input,
one strided slice per kernel offset."""

from __future__ import annotations

import itertools

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._unbatched import add_batch, drop_batch
from ._windows import ints, no_stride, pool_setup, positive_int

__all__ = ["integer_average"]


def integer_average(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override):
    """The average pool ``op`` of an int64 (N, C, *nd spatial) or (C, *nd spatial) ``x``, as an
    int64 Tensor."""
    a = x._data if isinstance(x, Tensor) else x
    if a.ndim == nd + 1:  # unbatched, as the float pools take it
        return drop_batch(integer_average(op, nd, add_batch(x), kernel_size, stride, padding,
                                          ceil_mode, count_include_pad, divisor_override))
    if divisor_override is not None and positive_int(divisor_override) is None:
        raise ValueError(f"{op}: divisor_override must be a positive int or None, got "
                         f"{divisor_override!r}")
    pool_setup(op, nd, False, tuple(a.shape), a.dtype, ceil_mode, kernel_size, stride, padding)
    k = ints(op, "kernel_size", kernel_size, nd, 1)
    s = k if no_stride(stride) else ints(op, "stride", stride, nd, 1)
    p = ints(op, "padding", padding, nd, 0)
    sizes, outs = a.shape[2:], []
    for n, kk, ss, pp in zip(sizes, k, s, p):
        out = (-(-(n + 2 * pp - kk) // ss) if ceil_mode else (n + 2 * pp - kk) // ss) + 1
        outs.append(out - 1 if ceil_mode and (out - 1) * ss >= n + pp else out)
    xp = get_array_module(a)
    ends = [max(pp, (o - 1) * ss + kk - n - pp) for o, ss, kk, n, pp in zip(outs, s, k, sizes, p)]
    padded = xp.pad(a, [(0, 0), (0, 0)] + list(zip(p, ends)))
    total = xp.zeros(a.shape[:2] + tuple(outs), dtype=a.dtype)
    for offset in itertools.product(*(range(kk) for kk in k)):
        total += padded[(slice(None), slice(None)) + tuple(
            slice(i, i + (o - 1) * ss + 1, ss) for i, o, ss in zip(offset, outs, s))]
    divisor = 1
    for axis, (o, ss, kk, n, pp) in enumerate(zip(outs, s, k, sizes, p)):
        start = xp.arange(o) * ss - pp
        end = xp.minimum(start + kk, n + pp)
        size = end - start if count_include_pad else xp.minimum(end, n) - xp.maximum(start, 0)
        divisor = divisor * size.reshape([-1 if b == axis else 1 for b in range(nd)])
    if divisor_override is not None:
        divisor = positive_int(divisor_override)
    return Tensor(xp.sign(total) * (xp.abs(total) // divisor))
