"""Pooling (1-D and 2-D): max, min (the lecture's min pooling), average and their adaptive forms.

Fixed-window pools loop over the kernel offsets, each a strided slice holding that offset of every
window (kh * kw vectorized passes, no loop over pixels); large tiling windows are reshaped into one
axis instead. Max/min pooling is the running extremum of those slices and saves nothing: its
backward compares each offset's slice with the output to find the winner (the first on ties, as
PyTorch) and routes the gradient there, summing where windows overlap. Outputs and gradients are
stored batch-last, like the convolutions' (see ``conv._batch_last``). Every backward is a Function
whose own backward is the matching gather, so the gradients are differentiable again. The adaptive
pools live in ``adaptive_pool`` and are re-exported here.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..backend import get_array_module
from ..backend import gpu as _gpu
from ..backend import jit as _jit
from ._windows import pool_setup
from .conv import _HOST, _as2d, _batch_last, _from2d, _memory_order, _pad

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d", "min_pool1d", "min_pool2d",
]


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


def _zeros_padded(xp, g, geom):
    """Zeros of the padded input's shape, batch-last (see ``conv._batch_last``), and its view."""
    (h, w), (pt, pl) = geom.size, geom.padding
    n, c = g.shape[:2]
    out = xp.empty((c, h + 2 * pt, w + 2 * pl, n), g.dtype)
    out.fill(0)
    return _batch_last(out)


def _crop(out, geom):
    (h, w), (pt, pl) = geom.size, geom.padding
    return out[:, :, pt:pt + h, pl:pl + w]


def _scatter_windows(g, geom, part):
    """Add ``part(k)`` into offset k of every window: the adjoint of reading the windows."""
    out = _zeros_padded(get_array_module(g), g, geom)
    for k, offset in enumerate(geom.offsets()):
        view = out[geom.window(offset)]
        view += part(k)
    return _crop(out, geom)


def _empty_out(xp, x, geom):
    """An uninitialized pooling output for ``x``, batch-last."""
    n, c = x.shape[:2]
    return _batch_last(xp.empty((c, *geom.out_size, n), x.dtype))


class _ExtremumPool(Function):
    """Max (``largest``) or min pooling: the extremum over the strided slices of each offset.

    Nothing is saved: backward finds each window's winner by comparing the input with the output.
    """

    def forward(self, x):
        xp = get_array_module(x)
        geom = self.geom
        if geom.tiled:
            t = _tiles(_as2d(x, geom.nd), geom)
            if not self.recording:
                return _from2d(t.max(axis=-1) if self.largest else t.min(axis=-1), geom.nd)
            self.arg = t.argmax(axis=-1) if self.largest else t.argmin(axis=-1)
            best = xp.take_along_axis(t, self.arg[..., None], axis=-1)[..., 0]
            return _from2d(best, geom.nd)
        xpad = _as2d(x, geom.nd)
        if geom.padded:
            xpad = _pad(xpad, geom.pads, _fill(xp, x.dtype, self.largest))
        best = _empty_out(xp, xpad, geom)
        # The kernel vectorizes over the batch (its innermost loop): small batches stay in NumPy.
        # Inference stays in NumPy too: loading numba costs a large fixed amount of memory,
        # which training pays anyway (its backward kernels) but a model only predicting should not.
        # (Figures behind the code: docs/performance.md.)
        if (self.recording and x.shape[0] >= 16 and _jit.pool is not None and xp is _HOST
                and _jit.handles(x.dtype)):
            _jit.pool(_memory_order(xpad), _memory_order(best), *geom.kernel, *geom.stride,
                      self.largest)
            return _from2d(best, geom.nd)
        pick = xp.maximum if self.largest else xp.minimum
        windows = geom.windows()  # built once per geometry: it counts at batch 1
        if len(windows) == 1:
            best[...] = xpad[windows[0]]
        else:  # propagates NaN, as PyTorch does
            pick(xpad[windows[0]], xpad[windows[1]], out=best)
        for index in windows[2:]:
            pick(best, xpad[index], out=best)
        return _from2d(best, geom.nd)

    def backward(self, g):
        if self.geom.tiled:
            return _WindowScatter.apply(g, geom=self.geom, arg=self.arg, winners=None)
        xp = get_array_module(g.data)
        x, y = self.inputs[0].data, self.output.data
        xpad = _pad(_as2d(x, self.geom.nd), self.geom.pads, _fill(xp, x.dtype, self.largest))
        return _WindowScatter.apply(g, geom=self.geom, arg=None,
                                    winners=(xpad, _as2d(y, self.geom.nd)))


def _route_to_winners(g2, geom, winners, arg):
    """Send each window's gradient to the first offset whose input equals the window's output.

    Fills ``arg`` (the winning offset per window) when it is not None, for a recorded backward.
    """
    xp = get_array_module(g2)
    xpad, y = winners
    if (arg is None and _jit.route_to_winners is not None and xp is _HOST
            and _jit.handles(g2.dtype) and xpad.dtype == y.dtype == g2.dtype):
        (h, w), (pt, pl) = geom.size, geom.padding
        n, c = g2.shape[:2]
        out = xp.empty((c, h + 2 * pt, w + 2 * pl, n), g2.dtype)
        _jit.route_to_winners(_memory_order(xpad), _memory_order(y), _memory_order(g2), out,
                              *geom.kernel, *geom.stride, False)
        return _crop(_batch_last(out), geom)
    if arg is None and xp is not _HOST and xpad.dtype == y.dtype == g2.dtype:  # one GPU launch
        (h, w), (pt, pl) = geom.size, geom.padding
        n, c = g2.shape[:2]
        out = xp.empty((c, h + 2 * pt, w + 2 * pl, n), g2.dtype)
        dense = [xp.ascontiguousarray(_memory_order(a)) for a in (xpad, y, g2)]
        if _gpu.route_to_winners(*dense, out, *geom.kernel, *geom.stride):
            return _crop(_batch_last(out), geom)
    out = _zeros_padded(xp, g2, geom)
    # *_like keeps y's memory layout, so that every pass below runs over matching strides.
    free = xp.ones_like(y, dtype=bool)  # windows whose winner is still to be found
    won = xp.empty_like(y, dtype=bool)
    nan = bool(xp.isnan(y).any()) if y.dtype.kind == "f" else False
    part = None if geom.disjoint else xp.empty_like(g2)
    for k, offset in enumerate(geom.offsets()):
        window = geom.window(offset)
        xp.equal(xpad[window], y, out=won)
        if nan:  # a NaN output came from the window's first NaN, which gets the gradient
            won |= xp.isnan(xpad[window])
        won &= free
        free ^= won
        if arg is not None:
            xp.copyto(arg, k, where=won)
        if geom.disjoint:  # each input element lies in one window at most: write, no add
            xp.multiply(g2, won, out=out[window])
        else:
            out[window] += xp.multiply(g2, won, out=part)
    return _crop(out, geom)


class _WindowScatter(Function):
    """Send each window's gradient to its winning offset, summed over overlaps.

    The winners are given as ``arg`` (winning offset per window) or as ``winners`` (the padded
    input and the output, compared here; ``arg`` is then filled only when this node is recorded,
    for its own backward).
    """

    def forward(self, g):
        xp = get_array_module(g)
        geom, g2 = self.geom, _as2d(g, self.geom.nd)
        if self.arg is None:
            if self.recording:
                self.arg = xp.zeros_like(g2, dtype=xp.uint8 if len(geom.offsets()) < 256
                                         else xp.int32)
            out = _route_to_winners(g2, geom, self.winners, self.arg)
            self.winners = None
            return _from2d(out, geom.nd)
        if geom.tiled:
            k = xp.arange(geom.kernel[0] * geom.kernel[1])
            return _from2d(_untile((self.arg[..., None] == k) * g2[..., None], geom), geom.nd)
        won, part = xp.empty_like(self.arg, dtype=bool), xp.empty_like(g2)

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
        out = xp.zeros_like(self.arg, dtype=x.dtype)
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


def _pool_geom(op, x, nd, kernel_size, stride, padding, floating=False):
    return pool_setup(op, nd, floating, tuple(x.shape), x.dtype, kernel_size, stride, padding)


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


# Re-exported so that the whole pooling family is reachable from here (``nn.pool`` uses them).
from .adaptive_pool import (  # noqa: E402 - adaptive_pool imports _ExtremumPool from this module
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
)
