"""Fractional max pooling (Graham, 2014): max pooling whose windows start at pseudo-random places,
so that the output can be any size between the input's and the input's minus the window.

PyTorch's rule, reproduced exactly: each (sample, channel) plane has one number ``u`` in [0, 1)
per spatial axis (``_random_samples``, shape (N, C, 2) or (N, C, 3); drawn from the default
generator when not given, so ``chainrule.manual_seed`` repeats them). Along an axis of length
``n`` pooled by ``k`` into ``m`` outputs, ``alpha = (n - k) / (m - 1)`` and window ``i < m - 1``
starts at ``int((i + u) * alpha) - int(u * alpha)``, the last at ``n - k``, computed in the input's
dtype as PyTorch's kernel does. Each output is its window's maximum (the first in row-major order;
a NaN wins, the last one). The windows are found on the arrays; the output is a ``gather`` of the
input at the winners' flat indices, so its gradient (the output gradient added at each winner) and
gradients of gradients are the ``gather``'s. For 2-D the samples are ordered (W, H), for 3-D
(D, H, W), as in PyTorch.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend.random import default_generator, note_draw
from ..ops.indexing import gather
from ..ops.shape import reshape
from .module import Module
from .parameter import Buffer

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d", "fractional_max_pool2d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
           "fractional_max_pool3d_with_indices"]

_LAYOUT = {2: "(C, H, W) or (N, C, H, W)", 3: "(C, D, H, W) or (N, C, D, H, W)"}
_AXES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _ints(op, name, given, nd):
    value = (given,) * nd if isinstance(given, numbers.Integral) else given
    if (not isinstance(value, (tuple, list)) or len(value) != nd
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                   for v in value)):
        raise ValueError(f"{op}: {name} must be a positive int or {nd} of them, got {given!r}")
    return tuple(int(v) for v in value)


def _ratios(op, given, nd):
    value = (given,) * nd if isinstance(given, numbers.Real) else given
    if (not isinstance(value, (tuple, list)) or len(value) != nd
            or any(isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 < v < 1
                   for v in value)):
        raise ValueError(f"{op}: output_ratio must be a number in (0, 1) or {nd} of them, got "
                         f"{given!r}")
    return tuple(float(v) for v in value)


def _starts(xp, u, size, out, pool, dtype):
    """Window starts along one axis (PyTorch's ``generate_intervals``): (planes, out)."""
    starts = xp.empty(u.shape + (out,), dtype="int64")
    if out > 1:
        alpha = dtype.type(size - pool) / dtype.type(out - 1)
        i = xp.arange(out - 1, dtype=dtype)
        u = u[:, None]
        starts[:, :-1] = ((i + u) * alpha).astype("int64") - (u * alpha).astype("int64")
    starts[:, -1] = size - pool
    return starts


def _winners(x, kernel, out, samples):
    """The flat index within its plane of each output's window maximum: (planes, *out)."""
    xp = get_array_module(x)
    nd, planes = len(kernel), x.shape[0] * x.shape[1]
    sizes = x.shape[2:]
    flat = x.reshape(planes, math.prod(sizes))  # no -1: an empty batch has no planes
    u = samples.reshape(planes, nd)
    order = (1, 0) if nd == 2 else (0, 1, 2)  # which sample belongs to which axis
    taps = xp.indices(kernel).reshape(nd, -1)  # window offsets, row-major
    idx = 0
    for a in range(nd):
        start = _starts(xp, u[:, order[a]], sizes[a], out[a], kernel[a], x.dtype)
        shape = (planes,) + (1,) * a + (out[a],) + (1,) * (nd - 1 - a) + (1,)
        stride = math.prod(sizes[a + 1:])
        idx = idx + (start.reshape(shape) + taps[a]) * stride
    vals = xp.take_along_axis(flat, idx.reshape(planes, math.prod(idx.shape[1:])),
                              axis=1).reshape(idx.shape)
    nan = xp.isnan(vals)
    last_nan = nan.shape[-1] - 1 - xp.argmax(nan[..., ::-1], axis=-1)
    choice = xp.where(nan.any(axis=-1), last_nan, xp.argmax(vals, axis=-1))
    return xp.take_along_axis(idx, choice[..., None], axis=-1)[..., 0]


def _fractional(nd, input, kernel_size, output_size, output_ratio, _random_samples, rng):  # noqa: A002
    op = f"fractional_max_pool{nd}d"
    if not isinstance(input, Tensor) or input.ndim not in (nd + 1, nd + 2):
        got = f"shape {tuple(input.shape)}" if hasattr(input, "shape") else type(input).__name__
        raise ValueError(f"{op}: input must be a Tensor {_LAYOUT[nd]}, got {got}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}")
    kernel = _ints(op, "kernel_size", kernel_size, nd)
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    sizes = input.shape[-nd:]
    if output_size is None:
        ratio = _ratios(op, output_ratio, nd)
        output_size = tuple(int(s * r) for s, r in zip(sizes, ratio, strict=True))
    out = _ints(op, "output_size", output_size, nd)
    for name, o, k, s in zip(_AXES[nd], out, kernel, sizes, strict=True):
        if o + k - 1 > s or (nd == 3 and o + k - 1 == s):  # PyTorch's 3-D check is strict
            raise ValueError(f"{op}: pool {name} {k} too large relative to input {name} {s} "
                             f"for output {name} {o} (input shape {tuple(input.shape)})")
    batched = input.ndim == nd + 2
    x = input if batched else reshape(input, (1,) + tuple(input.shape))
    xp = get_array_module(x._data)
    want = tuple(x.shape[:2]) + (nd,)
    if _random_samples is None:
        if rng is None:
            rng = default_generator()
        else:
            note_draw(rng)
        samples = xp.asarray(rng.random(want), dtype=x.dtype)
    else:
        samples = _random_samples._data if isinstance(_random_samples, Tensor) \
            else xp.asarray(_random_samples)
        if samples.ndim != 3 or samples.shape[1:] != want[1:] or samples.shape[0] < want[0]:
            raise ValueError(f"{op}: _random_samples must have shape (N, C, {nd}) = {want} (or "
                             f"more than N rows) for input shape {tuple(input.shape)}, got "
                             f"{tuple(samples.shape)}")
        samples = samples[:want[0]]  # PyTorch's reads the first N rows of a longer one
        if samples.dtype != x.dtype:
            raise TypeError(f"{op}: _random_samples must have the input's dtype {x.dtype}, got "
                            f"{samples.dtype}")
        if not bool(((samples >= 0) & (samples < 1)).all()):
            raise ValueError(f"{op}: _random_samples must lie in [0, 1)")
    winners = _winners(x._data, kernel, out, samples)
    n, c = x.shape[:2]
    y = gather(reshape(x, (n, c, math.prod(sizes))), 2,
               Tensor(winners.reshape(n, c, math.prod(out))))
    y, winners = reshape(y, (n, c) + out), winners.reshape((n, c) + out)
    if not batched:
        y, winners = reshape(y, (c,) + out), winners.reshape((c,) + out)
    return y, Tensor(winners)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,  # noqa: A002
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None, *, rng=None):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) input: (output, indices).

    Args:
        input: the Tensor to pool.
        kernel_size: the window, an int or (kH, kW).
        output_size: the output's (oH, oW) (or one int for both); or give ``output_ratio``.
        output_ratio: the output's size as a fraction in (0, 1) of the input's, per axis.
        return_indices: accepted; the pair comes back either way, as in PyTorch.
        _random_samples: PyTorch's (N, C, 2) samples in [0, 1), ordered (W, H), in the input's
            dtype; None draws them from ``rng`` (None: the default generator).

    Returns:
        ``(output, indices)``: the maxima and their flat indices within each (H, W) plane.
    """
    return _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples, rng)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,  # noqa: A002
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None, *, rng=None):
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W) input: (output, indices into
    each (D, H, W) volume); ``_random_samples`` is (N, C, 3), ordered (D, H, W). Otherwise as
    ``fractional_max_pool2d_with_indices``."""
    return _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples, rng)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices=False, _random_samples=None, *, rng=None):
    """``fractional_max_pool2d_with_indices``, the output alone unless ``return_indices``."""
    y, idx = _fractional(2, input, kernel_size, output_size, output_ratio, _random_samples, rng)
    return (y, idx) if return_indices else y


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices=False, _random_samples=None, *, rng=None):
    """``fractional_max_pool3d_with_indices``, the output alone unless ``return_indices``."""
    y, idx = _fractional(3, input, kernel_size, output_size, output_ratio, _random_samples, rng)
    return (y, idx) if return_indices else y


class _FractionalMaxPoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None, *, rng=None):
        super().__init__()
        who, nd = type(self).__name__, self._nd
        self.kernel_size = _ints(who, "kernel_size", kernel_size, nd)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", None if _random_samples is None
                             else Buffer(_random_samples))
        if output_size is None and output_ratio is None:
            raise ValueError(f"{who} requires specifying either an output size, or a pooling "
                             f"ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{who}: only one of output_size and output_ratio may be specified")
        self.output_size = None if output_size is None else _ints(who, "output_size",
                                                                  output_size, nd)
        self.output_ratio = None if output_ratio is None else _ratios(who, output_ratio, nd)
        self._rng = rng

    def forward(self, input):  # noqa: A002
        y, idx = _fractional(self._nd, input, self.kernel_size, self.output_size,
                             self.output_ratio, self._random_samples, self._rng)
        return (y, idx) if self.return_indices else y


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) input, as ``fractional_max_pool2d``.

    Args:
        kernel_size, output_size, output_ratio, return_indices, _random_samples: as PyTorch's
            (given ``_random_samples`` are a buffer, used at every call).
        rng: the generator of the samples drawn at each call (None: the default generator).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> pool = nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True)
    >>> y, idx = pool(cr.randn(1, 2, 10, 12))
    >>> y.shape, idx.shape, bool((idx.numpy() < 10 * 12).all())
    ((1, 2, 5, 6), (1, 2, 5, 6), True)
    """


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W) input; as FractionalMaxPool2d."""

    _nd = 3
