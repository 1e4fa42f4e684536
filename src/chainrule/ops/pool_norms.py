"""Power-average pooling (``lp_pool1d/2d/3d``) and local response normalization (AlexNet's),
composed from average pooling, so their gradients (of every order) come from the ops they use.

``lp_pool`` is PyTorch's: ``(sum over the window of x ** p) ** (1 / p)``, computed as the mean of
``x ** p`` times the window size (so a partial ``ceil_mode`` window is scaled as PyTorch scales
it), no padding; ``p = inf`` is the max of ``|x|`` over the window and ``p = -inf`` the min, as
PyTorch's. ``local_response_norm`` divides each channel by ``(k + alpha * mean of x ** 2
over the ``size`` neighbouring channels) ** beta``, the window padded with zeros at both ends
(``size // 2`` before, ``(size - 1) // 2`` after), as PyTorch's.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._unbatched import batch_optional, input_shape
from ._windows import ints
from .activation import relu
from .elementwise import abs as _abs
from .elementwise import sign, where
from .join import pad
from .pool import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .shape import reshape
from .volume_pool import avg_pool3d, max_pool3d

__all__ = ["local_response_norm", "lp_pool1d", "lp_pool2d", "lp_pool3d"]

_AVG = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}
_MAX = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}


def _lp_pool(op, nd, x, norm_type, kernel_size, stride, ceil_mode):
    # a 0-d float Tensor p (a learned GeM exponent) takes part in the powers below, so that its
    # gradient flows, as in PyTorch's composition; the checks read its value
    p = norm_type
    if isinstance(p, Tensor) and p.ndim == 0 and p.dtype.kind in "fiu":
        norm_type = float(p.detach().item())
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or norm_type == 0:
        raise ValueError(f"{op}: norm_type must be a nonzero number, got {p!r}")
    kernel = ints(op, "kernel_size", kernel_size, nd, 1)
    if len(input_shape(op, x)) != nd + 2:  # before x ** p, so that the message names this op
        raise ValueError(f"{op}: input must be {nd + 2}-D, (N, C, *{nd} spatial), got shape "
                         f"{tuple(x.shape)}")
    if x.dtype.kind != "f":  # x ** p of an integer or bool input would be int64: name this op
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}")
    if math.isinf(norm_type) and p is norm_type:  # PyTorch's limits for a number (a Tensor
        # goes through the powers, as PyTorch's): the largest |x| of each window (the smallest
        # for -inf), a max pool's value and gradient
        if norm_type > 0:
            return _MAX[nd](_abs(x), kernel_size, stride, 0, 1, ceil_mode)
        return -_MAX[nd](-_abs(x), kernel_size, stride, 0, 1, ceil_mode)
    total = _window_sums(nd, x ** p, kernel, stride, ceil_mode)
    total = sign(total) * relu(_abs(total))
    # A window summing to 0 (all zeros, say after a ReLU) has PyTorch's 0 gradient: 0 ** (1 / p)
    # would send back inf, and inf times the ReLU's 0 mask is NaN.
    zero = total == 0  # a comparison: no gradient, and recorded (trace, ONNX export)
    at_zero = 0.0 if norm_type > 0 else math.inf
    return where(zero, at_zero, where(zero, 1.0, total) ** (1.0 / p))


def _window_sums(nd, v, kernel, stride, ceil_mode):
    """PyTorch's ``avg_pool(v) * prod(kernel)``: each window's sum, a partial ``ceil_mode``
    window's scaled by the kernel's size over its own. The 2-D and 3-D sums are summed, not
    averaged then multiplied back, so that a window of exact terms summing to 0 is 0 (the 3-D mean
    is a mean of means: it left such a window a rounding error, its root 1e-5 where PyTorch has 0,
    its gradient 1e10)."""
    k = math.prod(kernel)
    if nd == 1:  # one division, undone: an exact 0 stays 0
        return avg_pool1d(v, kernel, stride, 0, ceil_mode) * k
    sums = _AVG[nd](v, kernel, stride, 0, ceil_mode, True, 1)
    if not ceil_mode:
        return sums
    xp = get_array_module(v._data)
    ones = Tensor(xp.ones((1, 1) + tuple(v.shape[2:]), dtype=v.dtype))
    counts = _AVG[nd](ones, kernel, stride, 0, ceil_mode, True, 1)  # elements of each window
    return sums * (k / counts)


@batch_optional(1)
def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """The p-norm of each window of (N, C, L): ``(sum x ** p) ** (1 / p)``, as PyTorch's.

    Args:
        input: of shape (N, C, L).
        norm_type: p (p = 1 sums the window; p = inf is the max of |x|, -inf the min).
        kernel_size, stride, ceil_mode: as in ``avg_pool1d`` (no padding).

    Returns:
        Tensor of shape (N, C, L_out).
    """
    x = input  # taken by PyTorch's name, input=
    return _lp_pool("lp_pool1d", 1, x, norm_type, kernel_size, stride, ceil_mode)


@batch_optional(2)
def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """The p-norm of each window of (N, C, H, W), as PyTorch's (arguments as ``lp_pool1d``).

    >>> import chainrule as cr
    >>> lp_pool2d(cr.tensor([[[[3.0, 4.0]]]]), 2, (1, 2)).tolist()
    [[[[5.0]]]]
    """
    x = input  # taken by PyTorch's name, input=
    return _lp_pool("lp_pool2d", 2, x, norm_type, kernel_size, stride, ceil_mode)


@batch_optional(3)
def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """The p-norm of each window of (N, C, D, H, W), as PyTorch's (arguments as ``lp_pool1d``)."""
    x = input  # taken by PyTorch's name, input=
    return _lp_pool("lp_pool3d", 3, x, norm_type, kernel_size, stride, ceil_mode)


def _check_lrn(op, size, alpha, beta, k):
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"{op}: size must be a positive int, got {size!r}")
    for name, v in (("alpha", alpha), ("beta", beta), ("k", k)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{op}: {name} must be a number, got {v!r}")


def _channel_window_sums(sq, before, after, size):
    """Sum of ``sq`` (N, C, *) over channels c - before .. c + after (zeros beyond the ends),
    as an average pool over the channel axis times the window ``size``."""
    n, c = sq.shape[:2]
    rest = math.prod(sq.shape[2:])
    planes = pad(reshape(sq, (n, 1, c, rest)), ((0, 0), (0, 0), (before, after), (0, 0)))
    return reshape(avg_pool2d(planes, (size, 1), 1), sq.shape) * size


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """Local response normalization across channels (AlexNet's), as PyTorch's.

    ``y[:, c] = x[:, c] / (k + alpha / size * sum of x[:, j] ** 2 over the size channels j
    around c) ** beta``, the sum over channels c - size // 2 .. c + (size - 1) // 2 that exist.

    Args:
        input: of shape (N, C, *) with at least one axis after C.
        size: how many neighbouring channels to sum over.
        alpha, beta, k: the multiplier, the exponent and the additive constant.

    Returns:
        Tensor of the shape of ``x``.
    """
    x = input  # taken by PyTorch's name, input=
    op = "local_response_norm"
    _check_lrn(op, size, alpha, beta, k)
    if len(x.shape) < 3:
        raise ValueError(f"{op}: input must be 3-D or more, (N, C, *), got shape "
                         f"{tuple(x.shape)}")
    if math.prod(x.shape) == 0:
        return x
    sums = _channel_window_sums(x * x, size // 2, (size - 1) // 2, size)
    return x / (sums * (alpha / size) + k) ** beta


def cross_map_lrn2d(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """PyTorch's ``nn.CrossMapLRN2d`` (the legacy LRN of (N, C, H, W)), value for value.

    ``y = x * (k + alpha / size * s) ** -beta`` where, with ``h = (size - 1) // 2 + 1``, ``s`` sums
    ``x ** 2`` over channels c - h + 1 .. c + h - 1 and, for every c >= h, channel 0 once more:
    PyTorch's running sum never removes channel 0. The gradient is that of these values (PyTorch's
    hand-written backward does not pass its own gradcheck).
    """
    op = "CrossMapLRN2d"
    _check_lrn(op, size, alpha, beta, k)
    if len(x.shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    reach = (size - 1) // 2 + 1
    sq = x * x
    sums = _channel_window_sums(sq, reach - 1, reach - 1, 2 * reach - 1)
    channels = x.shape[1]
    if channels > reach:
        xp = get_array_module(x._data)
        late = Tensor((xp.arange(channels) >= reach).astype(x.dtype).reshape(1, -1, 1, 1))
        sums = sums + sq[:, :1] * late
    return x * (sums * (alpha / size) + k) ** -beta
