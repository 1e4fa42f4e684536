"""``interpolate(..., antialias=True)``: PyTorch's antialiased bilinear, bicubic and Lanczos
resizing of (N, C, H, W) input.

Each output pixel is a normalised weighted sum of the input pixels under a filter centred on its
source position: a triangle (bilinear), the cubic convolution kernel with a = -0.5 (bicubic) or
PIL's Lanczos-3 window ``sinc(x) sinc(x / 3)`` on [-3, 3) (PyTorch 2.13's mode "lanczos").
When shrinking by a scale s > 1 the filter is stretched by s, so every input pixel contributes
(the antialiasing); when growing, the filter keeps its size. Along one axis the sums are one
(out, in) weight matrix, so the resize is ``W_h @ x @ W_w^T``: two matrix products, whose
gradients (to any order) are the transposed products. The weights follow PyTorch's kernel
(``_compute_weights_aa``): centre ``s * (i + 0.5)``, taps from ``int(centre - support + 0.5)``
to ``int(centre + support + 0.5)`` (truncated, clipped to the axis), divided by their sum.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .elementwise import where
from .methods import clone
from .products import matmul
from .reduce import sum as sum_
from .shape import getitem

__all__ = ["antialiased_resize"]

_AA_CUBIC_A = -0.5  # PyTorch's antialiased bicubic filter (its plain bicubic uses -0.75)
_HALF_WIDTH = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}


def _filter(xp, x, mode):
    if mode == "lanczos":  # sinc(x) sinc(x / 3) on [-3, 3), PIL's; np.sinc is sin(pi x) / (pi x)
        return xp.where((x >= -3.0) & (x < 3.0), xp.sinc(x) * xp.sinc(x / 3.0), 0.0)
    x = xp.abs(x)
    if mode == "bilinear":
        return xp.maximum(0.0, 1.0 - x)
    a = _AA_CUBIC_A
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return xp.where(x < 1.0, near, xp.where(x < 2.0, far, 0.0))


def _scale(n_in, n_out, align_corners, scale_factor):
    """PyTorch's ``area_pixel_compute_scale``: the source step per output pixel."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if scale_factor is not None and scale_factor > 0:
        return 1.0 / scale_factor
    return n_in / n_out


def _weights(xp, n_in, n_out, scale, mode, dtype):
    """The (n_out, n_in) matrix of one axis, and its (n_out, 2) tap ranges [lo, hi)."""
    half = _HALF_WIDTH[mode]  # half the filter's width at scale 1
    support = half * scale if scale >= 1.0 else half
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    w = xp.zeros((n_out, n_in))
    spans = []
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        taps = _filter(xp, (xp.arange(lo, hi) - center + 0.5) * invscale, mode)
        total = float(taps.sum())
        w[i, lo:hi] = taps / total if total != 0.0 else taps
        spans.append((lo, hi))
    return w.astype(dtype), spans


def _along(y, w, spans, axis):
    """``y`` resampled along ``axis`` (2 or 3) by the rows of ``w``: a matrix product, or, where
    ``y`` holds an inf or NaN, each output's sum over its own taps only, as PyTorch's kernel (a
    product would multiply the value by every other output's zero weight: NaN everywhere)."""
    xp = get_array_module(y._data)
    if bool(xp.isfinite(y._data).all()):
        return matmul(y, Tensor(xp.ascontiguousarray(w.T))) if axis == 3 else matmul(Tensor(w), y)
    k = max(hi - lo for lo, hi in spans)
    offsets = xp.arange(k)
    lo = xp.asarray([s[0] for s in spans])[:, None]
    count = xp.asarray([s[1] - s[0] for s in spans])[:, None]
    inside = offsets < count  # (n_out, k): the taps each output sums
    idx = xp.where(inside, lo + offsets, lo)
    coef = xp.where(inside, xp.take_along_axis(w, idx, axis=1), 0)
    picked = getitem(y, (slice(None),) * axis + (Tensor(idx),))  # the axis becomes (n_out, k)
    shape = (1,) * axis + (w.shape[0], k) + (1,) * (3 - axis)
    terms = where(Tensor(inside.reshape(shape)), picked * Tensor(coef.reshape(shape)), 0.0)
    return sum_(terms, dim=axis + 1)


def antialiased_resize(x: Tensor, sizes, scales, mode: str, align_corners: bool) -> Tensor:
    """(N, C, H, W) ``x`` resized to ``sizes`` = (H', W') with the antialiased ``mode``
    ("bilinear", "bicubic" or "lanczos"); ``scales`` are the scale factors PyTorch hands its
    kernel (None where the size was given, or recompute_scale_factor was set)."""
    xp = get_array_module(x._data)
    (h, w), (oh, ow) = x.shape[2:], sizes
    # the width first, as PyTorch's separable kernel, which copies an axis whose size does not
    # change, whatever the scale_factor (4 by 1.3 keeps 3 columns with the step 1 / 1.3)
    y = x
    if w != ow:
        y = _along(y, *_weights(xp, w, ow, _scale(w, ow, align_corners, scales[1]), mode,
                                x._data.dtype), 3)
    if h != oh:
        y = _along(y, *_weights(xp, h, oh, _scale(h, oh, align_corners, scales[0]), mode,
                                x._data.dtype), 2)
    return clone(y) if y is x else y
