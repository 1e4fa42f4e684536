"""Pooling (1-D and 2-D): max, min (the lecture's min pooling), average and their adaptive forms.

Fixed-window pools loop over the kernel offsets, each a strided slice holding that offset of every
window (kh * kw vectorized passes, no loop over pixels); large tiling windows are reshaped into one
axis instead. Max/min pooling remembers which offset won each window (the first on ties, as
PyTorch) and routes the gradient back with one mask per offset, summing where windows overlap.
Every backward is a Function whose own backward is the matching gather, so the gradients are
differentiable again. Adaptive average pooling multiplies by two small averaging matrices; adaptive
max pooling gathers its unequal windows by index and scatters back with ``bincount``.
"""

from __future__ import annotations

from typing import NamedTuple

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .conv import _LAYOUT, _as2d, _from2d, _ints, _pad, _size2d, _window

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d", "min_pool1d", "min_pool2d",
]


class _Pool(NamedTuple):
    """Pooling geometry in 2-D form; ``size`` is the unpadded input's (H, W)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    size: tuple[int, int]
    nd: int

    @property
    def pads(self):
        return tuple((p, p) for p in self.padding)

    @property
    def out_size(self):
        return tuple((n + 2 * p - k) // s + 1
                     for n, k, s, p in zip(self.size, self.kernel, self.stride, self.padding))

    def offsets(self):
        return [(i, j) for i in range(self.kernel[0]) for j in range(self.kernel[1])]

    def window(self, offset):
        return _window(offset, self.out_size, self.stride)

    @property
    def tiled(self):
        """Windows tile the input and are large: one reshape beats a loop over many offsets."""
        k = self.kernel
        return self.stride == k and not any(self.padding) and k[0] * k[1] >= 16


def _tiles(x, geom):
    """The windows of a tiled pool as the last axis: (N, C, Ho, Wo, kh * kw), row-major."""
    (ho, wo), (kh, kw) = geom.out_size, geom.kernel
    n, c = x.shape[:2]
    t = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
    return t.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, kh * kw)


def _untile(t, geom):
    """Adjoint of ``_tiles``: (N, C, Ho, Wo, kh * kw) back to (N, C, H, W), zero outside."""
    xp = get_array_module(t)
    (ho, wo), (kh, kw) = geom.out_size, geom.kernel
    n, c = t.shape[:2]
    out = xp.zeros((n, c) + geom.size, dtype=t.dtype)
    t = t.reshape(n, c, ho, wo, kh, kw).transpose(0, 1, 2, 4, 3, 5)
    out[:, :, :ho * kh, :wo * kw] = t.reshape(n, c, ho * kh, wo * kw)
    return out


def _fill(xp, dtype, largest):
    """The padding value that never wins a max (or min) comparison."""
    if dtype.kind == "f":
        return -float("inf") if largest else float("inf")
    info = xp.iinfo(dtype)
    return int(info.min if largest else info.max)


def _scatter_windows(g, geom, part):
    """Add ``part(k)`` into offset k of every window: the adjoint of reading the windows."""
    xp = get_array_module(g)
    (h, w), (pt, pl) = geom.size, geom.padding
    out = xp.zeros(g.shape[:2] + (h + 2 * pt, w + 2 * pl), dtype=g.dtype)
    for k, offset in enumerate(geom.offsets()):
        view = out[geom.window(offset)]
        view += part(k)
    return xp.ascontiguousarray(out[:, :, pt:pt + h, pl:pl + w])


class _ExtremumPool(Function):
    """Max (``largest``) or min pooling; ``self.arg`` is the winning kernel offset per window."""

    def forward(self, x):
        xp = get_array_module(x)
        geom = self.geom
        if geom.tiled:
            t = _tiles(_as2d(x, geom.nd), geom)
            self.arg = t.argmax(axis=-1) if self.largest else t.argmin(axis=-1)
            best = xp.take_along_axis(t, self.arg[..., None], axis=-1)[..., 0]
            return _from2d(best, geom.nd)
        xpad = _pad(_as2d(x, geom.nd), geom.pads, _fill(xp, x.dtype, self.largest))
        better = xp.greater if self.largest else xp.less
        pick = xp.maximum if self.largest else xp.minimum
        offsets = geom.offsets()
        best = xpad[geom.window(offsets[0])].copy()
        arg = xp.zeros(best.shape, dtype=xp.uint8 if len(offsets) < 256 else xp.int32)
        # Reused buffers: fresh large temporaries per offset would cost more than the arithmetic.
        v, won, step = xp.empty_like(best), xp.empty(best.shape, dtype=bool), xp.empty_like(arg)
        for k, offset in enumerate(offsets[1:], start=1):
            v[...] = xpad[geom.window(offset)]  # contiguous: the comparisons below run ~10x faster
            better(v, best, out=won)  # strict: the first extremum keeps its window
            step[...] = won
            step *= k
            xp.maximum(arg, step, out=arg)  # k grows, so this sets arg = k exactly where v won
            pick(best, v, out=best)  # (propagates NaN, as PyTorch does)
        self.arg = arg
        return _from2d(best, geom.nd)

    def backward(self, g):
        return _WindowScatter.apply(g, geom=self.geom, arg=self.arg)


class _WindowScatter(Function):
    """Send each window's gradient to its winning offset (``arg``), summed over overlaps."""

    def forward(self, g):
        xp = get_array_module(g)
        geom, g2 = self.geom, _as2d(g, self.geom.nd)
        if geom.tiled:
            k = xp.arange(geom.kernel[0] * geom.kernel[1])
            return _from2d(_untile((self.arg[..., None] == k) * g2[..., None], geom), geom.nd)
        won, part = xp.empty(self.arg.shape, dtype=bool), xp.empty_like(g2)

        def routed(k):
            xp.equal(self.arg, k, out=won)
            return xp.multiply(won, g2, out=part)

        return _from2d(_scatter_windows(g2, geom, routed), geom.nd)

    def backward(self, gg):
        return _WindowGather.apply(gg, geom=self.geom, arg=self.arg)


class _WindowGather(Function):
    """Read each window's value at its winning offset (``arg``): max pooling, winners fixed."""

    def forward(self, x):
        xp = get_array_module(x)
        geom = self.geom
        if geom.tiled:
            t = _tiles(_as2d(x, geom.nd), geom)
            return _from2d(xp.take_along_axis(t, self.arg[..., None], axis=-1)[..., 0], geom.nd)
        xpad = _pad(_as2d(x, geom.nd), geom.pads)
        out = xp.zeros(self.arg.shape, dtype=x.dtype)
        for k, offset in enumerate(geom.offsets()):
            xp.copyto(out, xpad[geom.window(offset)], where=self.arg == k)
        return _from2d(out, geom.nd)

    def backward(self, g):
        return _WindowScatter.apply(g, geom=self.geom, arg=self.arg)


def _avg_divisor(xp, dtype, geom, count_include_pad):
    """Elements per window: kh * kw, or (Ho, Wo) counts of the non-padding elements."""
    if count_include_pad or not any(geom.padding):
        return geom.kernel[0] * geom.kernel[1]
    ones = _pad(xp.ones((1, 1) + geom.size, dtype=dtype), geom.pads)
    return sum(ones[geom.window(offset)] for offset in geom.offsets())[0, 0]


class _AvgPool(Function):
    def forward(self, x):
        xp = get_array_module(x)
        geom = self.geom
        if geom.tiled:
            return _from2d(_tiles(_as2d(x, geom.nd), geom).mean(axis=-1), geom.nd)
        xpad = _pad(_as2d(x, geom.nd), geom.pads)
        offsets = geom.offsets()
        acc = xpad[geom.window(offsets[0])].copy()
        for offset in offsets[1:]:
            acc += xpad[geom.window(offset)]
        acc /= _avg_divisor(xp, x.dtype, geom, self.count_include_pad)
        return _from2d(acc, geom.nd)

    def backward(self, g):
        return _AvgPoolAdjoint.apply(g, geom=self.geom, count_include_pad=self.count_include_pad)


class _AvgPoolAdjoint(Function):
    """Spread each window's gradient evenly over it: the adjoint (and gradient) of avg pooling."""

    def forward(self, g):
        xp = get_array_module(g)
        geom, g2 = self.geom, _as2d(g, self.geom.nd)
        share = g2 / _avg_divisor(xp, g.dtype, geom, self.count_include_pad)
        if geom.tiled:
            k = geom.kernel[0] * geom.kernel[1]
            return _from2d(_untile(xp.broadcast_to(share[..., None], share.shape + (k,)), geom),
                           geom.nd)
        return _from2d(_scatter_windows(share, geom, lambda k: share), geom.nd)

    def backward(self, gg):
        return _AvgPool.apply(gg, geom=self.geom, count_include_pad=self.count_include_pad)


class _Separable(Function):
    """``A_h @ x @ A_w.T`` over the last two axes (``A_h`` None: last axis only); linear."""

    def forward(self, x):
        a_h, a_w = self.mats
        y = (x.reshape(-1, x.shape[-1]) @ a_w.T).reshape(x.shape[:-1] + (a_w.shape[0],))
        if a_h is None:
            return y
        y = y.swapaxes(-1, -2)
        y = (y.reshape(-1, y.shape[-1]) @ a_h.T).reshape(y.shape[:-1] + (a_h.shape[0],))
        return get_array_module(y).ascontiguousarray(y.swapaxes(-1, -2))

    def backward(self, g):
        return _Separable.apply(g, mats=tuple(None if a is None else a.T for a in self.mats))


def _adaptive_bounds(xp, n, m):
    """Start and end of the ``m`` adaptive windows over ``n`` elements (PyTorch's formula)."""
    i = xp.arange(m)
    return (i * n) // m, ((i + 1) * n + m - 1) // m


def _averaging_matrix(xp, n, m, dtype):
    start, end = _adaptive_bounds(xp, n, m)
    pos = xp.arange(n)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class _AdaptiveExtremum(Function):
    """Adaptive max pooling; ``self.flat`` is each window's winner as an index of ``x.ravel()``."""

    def forward(self, x):
        xp = get_array_module(x)
        x2 = _as2d(x, self.nd)
        n, c, h, w = x2.shape
        (sh, eh), (sw, ew) = (_adaptive_bounds(xp, n_, m) for n_, m in zip((h, w), self.out_size))
        kh, kw = int((eh - sh).max()), int((ew - sw).max())
        best = arg = None
        for k in range(kh * kw):
            # Offset k of every window; short windows repeat their last element, which never wins.
            rows = xp.minimum(sh + k // kw, eh - 1)[:, None]
            cols = xp.minimum(sw + k % kw, ew - 1)[None, :]
            v = x2[:, :, rows, cols]
            if best is None:
                best, arg = v, xp.zeros(v.shape, dtype=xp.int64)
                continue
            step = (v > best).astype(arg.dtype)
            step *= k
            xp.maximum(arg, step, out=arg)  # k grows, so this sets arg = k where v won
            xp.maximum(best, v, out=best)
        rows = xp.minimum(sh[:, None] + arg // kw, eh[:, None] - 1)
        cols = xp.minimum(sw + arg % kw, ew - 1)
        self.flat = rows * w + cols + (xp.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
        return _from2d(best, self.nd)

    def backward(self, g):
        return _IndexScatter.apply(g, flat=self.flat, shape=self.inputs[0].shape)


class _IndexScatter(Function):
    """Sum ``g`` into a zero array of ``shape`` at the flat positions ``flat`` (repeats add up)."""

    def forward(self, g):
        xp = get_array_module(g)
        size = 1
        for s in self.shape:
            size *= s
        out = xp.bincount(self.flat.ravel(), weights=g.ravel(), minlength=size)
        return out.astype(g.dtype).reshape(self.shape)

    def backward(self, gg):
        return _IndexGather.apply(gg, flat=self.flat, shape=self.inputs[0].shape)


class _IndexGather(Function):
    def forward(self, x):
        return x.ravel()[self.flat].reshape(self.shape)

    def backward(self, g):
        return _IndexScatter.apply(g, flat=self.flat, shape=self.inputs[0].shape)


def _check_rank(op, x, nd, floating=False):
    if x.ndim != nd + 2:
        raise ValueError(
            f"{op}: input must be {nd + 2}-D {_LAYOUT[nd]}, got shape {tuple(x.shape)}"
        )
    if floating and x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}")


def _pool_geom(op, x, nd, kernel_size, stride, padding, floating=False):
    _check_rank(op, x, nd, floating)
    kernel = _ints(op, "kernel_size", kernel_size, nd, 1)
    stride = kernel if stride is None else _ints(op, "stride", stride, nd, 1)
    padding = _ints(op, "padding", padding, nd, 0)
    for a in range(nd):
        if 2 * padding[a] > kernel[a]:
            raise ValueError(
                f"{op}: padding {padding} must be at most half the kernel size {kernel}"
            )
        if kernel[a] > x.shape[2 + a] + 2 * padding[a]:
            raise ValueError(
                f"{op}: kernel size {kernel} is larger than the padded input on spatial axis {a} "
                f"(input shape {tuple(x.shape)}, padding {padding})"
            )
    return _Pool(_size2d(kernel, nd), _size2d(stride, nd), ((0,) * (2 - nd)) + padding,
                 _size2d(x.shape[2:], nd), nd)


def _extremum_pool(op, nd, x, kernel_size, stride, padding, largest):
    geom = _pool_geom(op, x, nd, kernel_size, stride, padding)
    return _ExtremumPool.apply(x, geom=geom, largest=largest)


def max_pool1d(x, kernel_size, stride=None, padding=0):
    """Max over sliding windows of a batch of sequences (N, C, L) -> (N, C, L_out).

    Args:
        x: input of shape (N, C, L).
        kernel_size: window length.
        stride: step between windows (default: ``kernel_size``).
        padding: -inf added at both ends (at most half the kernel).

    Returns:
        Tensor of shape (N, C, (L + 2 * padding - kernel_size) // stride + 1). The gradient goes to
        the first maximum of each window (PyTorch's rule) and adds up where windows overlap.
    """
    return _extremum_pool("max_pool1d", 1, x, kernel_size, stride, padding, True)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over sliding windows of a batch of images (N, C, H, W) -> (N, C, H_out, W_out).

    Args:
        x: input of shape (N, C, H, W).
        kernel_size: window size, an int or (kh, kw).
        stride: step between windows (default: ``kernel_size``).
        padding: -inf border (at most half the kernel), an int or (ph, pw).

    Returns:
        Tensor of shape (N, C, H_out, W_out), H_out = (H + 2 * padding - kh) // stride + 1. The
        gradient goes to the first maximum of each window in row-major order (PyTorch's rule),
        summed over overlapping windows.

    >>> import chainrule as cr
    >>> max_pool2d(cr.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]), 2).tolist()
    [[[[4.0]]]]
    """
    return _extremum_pool("max_pool2d", 2, x, kernel_size, stride, padding, True)


def min_pool1d(x, kernel_size, stride=None, padding=0):
    """Min over sliding windows of (N, C, L): ``max_pool1d`` with min, +inf padding, first min."""
    return _extremum_pool("min_pool1d", 1, x, kernel_size, stride, padding, False)


def min_pool2d(x, kernel_size, stride=None, padding=0):
    """Min pooling (the lecture's): like ``max_pool2d``, +inf padding, gradient to the first min.

    Args:
        x: input of shape (N, C, H, W).
        kernel_size, stride, padding: as in ``max_pool2d``.

    Returns:
        Tensor of shape (N, C, H_out, W_out).
    """
    return _extremum_pool("min_pool2d", 2, x, kernel_size, stride, padding, False)


def _avg_pool(op, nd, x, kernel_size, stride, padding, count_include_pad):
    geom = _pool_geom(op, x, nd, kernel_size, stride, padding, floating=True)
    return _AvgPool.apply(x, geom=geom, count_include_pad=bool(count_include_pad))


def avg_pool1d(x, kernel_size, stride=None, padding=0, *, count_include_pad=True):
    """Mean over sliding windows of (N, C, L); zero padding, counted unless told otherwise.

    Args:
        x: input of shape (N, C, L).
        kernel_size, stride, padding: as in ``max_pool1d``.
        count_include_pad: divide by the kernel size (True) or by the non-padding elements.

    Returns:
        Tensor of shape (N, C, L_out).
    """
    return _avg_pool("avg_pool1d", 1, x, kernel_size, stride, padding, count_include_pad)


def avg_pool2d(x, kernel_size, stride=None, padding=0, *, count_include_pad=True):
    """Mean over sliding windows of (N, C, H, W), as PyTorch's ``avg_pool2d``.

    Args:
        x: input of shape (N, C, H, W).
        kernel_size, stride, padding: as in ``max_pool2d`` (zero padding).
        count_include_pad: divide by kh * kw (True) or by the number of non-padding elements;
            keyword-only, because PyTorch's fifth positional parameter is ``ceil_mode``.

    Returns:
        Tensor of shape (N, C, H_out, W_out).
    """
    return _avg_pool("avg_pool2d", 2, x, kernel_size, stride, padding, count_include_pad)


def _adaptive_size(op, x, nd, output_size, floating=False):
    _check_rank(op, x, nd, floating)
    if isinstance(output_size, (tuple, list)):
        given = tuple(x.shape[2 + a] if v is None else v for a, v in enumerate(output_size))
    else:
        given = output_size
    return _ints(op, "output_size", given, nd, 1)


def _adaptive_avg(op, nd, x, output_size):
    out = _adaptive_size(op, x, nd, output_size, floating=True)
    xp = get_array_module(x.data if isinstance(x, Tensor) else x)
    mats = [_averaging_matrix(xp, n, m, x.dtype) for n, m in zip(x.shape[2:], out)]
    return _Separable.apply(x, mats=(None, mats[0]) if nd == 1 else tuple(mats))


def adaptive_avg_pool1d(x, output_size):
    """Average (N, C, L) down to (N, C, output_size) over PyTorch's adaptive windows."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, x, output_size)


def adaptive_avg_pool2d(x, output_size):
    """Average (N, C, H, W) down to (N, C, *output_size) (``1`` gives global average pooling).

    Args:
        x: input of shape (N, C, H, W).
        output_size: an int or (h, w); None in the tuple keeps that input size. Window i of m
            along an axis of n elements covers [floor(i * n / m), ceil((i + 1) * n / m)), as in
            PyTorch.

    Returns:
        Tensor of shape (N, C, h, w).
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, x, output_size)


def _adaptive_max(op, nd, x, output_size):
    out = _adaptive_size(op, x, nd, output_size)
    if all(n % m == 0 for n, m in zip(x.shape[2:], out)):
        kernel = tuple(n // m for n, m in zip(x.shape[2:], out))
        geom = _Pool(_size2d(kernel, nd), _size2d(kernel, nd), (0, 0), _size2d(x.shape[2:], nd), nd)
        return _ExtremumPool.apply(x, geom=geom, largest=True)
    return _AdaptiveExtremum.apply(x, out_size=_size2d(out, nd), nd=nd)


def adaptive_max_pool1d(x, output_size):
    """Max of (N, C, L) over ``output_size`` adaptive windows; gradient to the first maximum."""
    return _adaptive_max("adaptive_max_pool1d", 1, x, output_size)


def adaptive_max_pool2d(x, output_size):
    """Max of (N, C, H, W) over adaptive windows (as ``adaptive_avg_pool2d``): (N, C, h, w).

    Args:
        x: input of shape (N, C, H, W).
        output_size: an int or (h, w); None keeps that input size.

    Returns:
        Tensor of shape (N, C, h, w); the gradient goes to the first maximum of each window.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, x, output_size)
