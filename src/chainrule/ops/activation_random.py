"""PyTorch's random activations and dropouts: ``rrelu`` (random leaky slopes), ``alpha_dropout``
and ``feature_alpha_dropout`` (dropout that keeps SELU's zero mean and unit variance),
``gumbel_softmax``; and the in-place forms ``rrelu_``, ``hardtanh_``, ``threshold_``.

The random draws come from an explicit ``numpy.random.Generator`` (``rng=``; None draws from the
default generator that ``chainrule.manual_seed`` seeds), on the host, as dropout's masks do. Each
op is the input times (plus) constant arrays, or a softmax of the input plus constant noise, so
the gradients are those of recorded ops and differentiate again.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.tensor import Tensor
from ..backend import device_of, get_array_module, to_device
from ..backend.random import default_generator
from ._activation_checks import in_place as _in_place
from ._unbatched import input_shape
from ._zero_d import on_one_axis, scalar_dim
from .activation import _float_input, elu, hardtanh, leaky_relu, selu
from .activation_extra import celu
from .activation_extra import threshold as _threshold
from .dropout import _check
from .elementwise import log, mul
from .reduce import argmax
from .softmax import softmax

__all__ = ["alpha_dropout", "feature_alpha_dropout", "gumbel_softmax", "hardtanh_", "rrelu",
           "rrelu_", "threshold_", "relu_", "elu_", "leaky_relu_", "celu_", "selu_"]

# SELU's scale * alpha: the value SELU saturates to is -_SELU_SAT.
_SELU_SAT = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def _uniform(rng, data, shape):
    """Uniform [0, 1) draws of ``shape`` in ``data``'s float dtype, on its device."""
    if rng is None:
        rng = default_generator()
    draw_dtype = data.dtype if data.dtype.itemsize >= 4 else "float32"  # Generator: f32/f64
    return to_device(rng.random(shape, dtype=draw_dtype).astype(data.dtype, copy=False),
                     device_of(data))


def _bound(op, name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    return float(value)


def slope_bounds(op, lower, upper) -> tuple[float, float]:
    """rrelu's ``lower`` and ``upper`` as floats, lower <= upper."""
    lower, upper = _bound(op, "lower", lower), _bound(op, "upper", upper)
    if lower > upper:
        raise ValueError(f"{op}: lower must be <= upper, got lower={lower}, upper={upper}")
    return lower, upper


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,  # noqa: A002
          inplace: bool = False, *, rng=None) -> Tensor:
    """Randomized leaky ReLU: x where x > 0, else ``a * x``.

    In training each element draws its own slope ``a`` uniformly from [lower, upper] (the
    gradient there is that slope); otherwise ``a = (lower + upper) / 2``, a leaky ReLU.
    ``rng``: the generator of the slopes (None: the default generator). ``inplace=True``
    writes the result into ``input`` and returns it (as ``rrelu_``).
    """
    lower, upper = slope_bounds("rrelu", lower, upper)
    _check("rrelu", 0.0, rng)
    if inplace:
        return _in_place("rrelu", input, lambda x: rrelu(x, lower, upper, training, rng=rng))
    x = _float_input("rrelu", input)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    data = x._data
    slopes = lower + (upper - lower) * _uniform(rng, data, data.shape)
    return mul(x, Tensor(_where_positive(data, slopes)))


def _where_positive(data, slopes):
    """The slope where ``data`` <= 0, else 1, as PyTorch's (a NaN is not <= 0: factor 1, so its
    gradient passes unscaled). An array for a 0-d input too."""
    xp = get_array_module(data)
    return xp.where(data <= 0, slopes, xp.ones((), dtype=data.dtype))


def _alpha_masked(op, x, p, training, mask_shape, rng, inplace=False):
    p = _check(op, p, rng)
    x = _float_input(op, x)
    if not training or p == 0:
        return x  # inplace too: PyTorch's returns its input unchanged
    if inplace:
        return _in_place(op, x, lambda t: _alpha_masked(op, t, p, training, mask_shape, rng))
    if p == 1:
        return x * 0.0
    data = x._data
    keep = _uniform(rng, data, mask_shape) >= p
    # An affine map a * (kept value, or -_SELU_SAT where dropped) + b with a, b chosen so that
    # zero-mean unit-variance input stays so (Klambauer et al., 2017), in PyTorch's arithmetic.
    a = 1.0 / math.sqrt((_SELU_SAT * _SELU_SAT * p + 1) * (1 - p))
    scale = keep.astype(data.dtype) * a
    shift = (keep.astype(data.dtype) - 1) * (_SELU_SAT * a) + _SELU_SAT * a * p
    return mul(x, Tensor(scale)) + Tensor(shift)


def alpha_dropout(input, p: float = 0.5, training: bool = False,  # noqa: A002 - PyTorch's names
                  inplace: bool = False, *, rng=None) -> Tensor:
    """Alpha dropout, for SELU networks: each element is dropped with probability ``p`` to SELU's
    saturation value, then all are mapped by ``a * x + b`` so that the mean and variance of
    zero-mean unit-variance input are kept. The identity when not ``training`` (PyTorch's
    functional default) or for ``p = 0``; zeros for ``p = 1``. ``inplace=True`` writes the
    result into ``input`` and returns it."""
    shape = tuple(input_shape("alpha_dropout", input))
    return _alpha_masked("alpha_dropout", input, p, training, shape, rng, inplace)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False,  # noqa: A002
                          inplace: bool = False, *, rng=None) -> Tensor:
    """Alpha dropout of whole channels: one draw per (sample, channel) of (N, C, *) input,
    shared over the other axes; otherwise as ``alpha_dropout``."""
    if len(input_shape("feature_alpha_dropout", input)) < 2:
        raise ValueError(f"feature_alpha_dropout: input must have a batch and a channel axis "
                         f"(N, C, *), got shape {tuple(input.shape)}")
    shape = tuple(input.shape[:2]) + (1,) * (len(input.shape) - 2)
    return _alpha_masked("feature_alpha_dropout", input, p, training, shape, rng, inplace)


def gumbel_softmax(logits, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1, *, rng=None) -> Tensor:
    """A sample of the Gumbel-softmax (concrete) distribution: ``softmax((logits + g) / tau)``
    with g standard Gumbel noise, one draw per element.

    ``hard=True`` returns the one-hot of the sample's largest entry along ``dim`` while the
    gradient is that of the soft sample (the straight-through estimator). ``eps`` is PyTorch's
    deprecated, unused argument. ``rng``: the generator of the noise.
    """
    tau = _bound("gumbel_softmax", "tau", tau)
    if tau <= 0:
        raise ValueError(f"gumbel_softmax: tau must be > 0, got {tau}")
    _check("gumbel_softmax", 0.0, rng)
    x = _float_input("gumbel_softmax", logits)
    if scalar_dim(x, dim):  # a 0-D input as one axis of size 1 (PyTorch's)
        return on_one_axis(lambda t, d: gumbel_softmax(t, tau, hard, eps, d, rng=rng), x)
    data = x._data
    if rng is None:
        rng = default_generator()
    draw_dtype = data.dtype if data.dtype.itemsize >= 4 else "float32"
    exponential = rng.standard_exponential(data.shape, dtype=draw_dtype).astype(data.dtype)
    gumbels = -log(Tensor(to_device(exponential, device_of(data))))
    y_soft = softmax((x + gumbels) / tau, dim=dim)
    if not hard:
        return y_soft
    index = argmax(y_soft.detach(), dim=dim, keepdim=True)._data
    axis = dim % data.ndim if data.ndim else 0
    xp_hard = (_positions(index, y_soft._data.shape, axis) == index).astype(data.dtype)
    return Tensor(xp_hard) - y_soft.detach() + y_soft


def _positions(index, shape, axis):
    """0, 1, ... along ``axis`` of ``shape`` (broadcastable), on ``index``'s device."""
    xp = get_array_module(index)
    return xp.arange(shape[axis]).reshape([-1 if i == axis else 1 for i in range(len(shape))])


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3,  # noqa: A002
           training: bool = False, *, rng=None) -> Tensor:
    """``rrelu`` written into ``input`` (recorded where needed)."""
    return _in_place("rrelu_", input, lambda x: rrelu(x, lower, upper, training, rng=rng))


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:  # noqa: A002
    """``hardtanh`` written into ``input`` (recorded where needed)."""
    return _in_place("hardtanh_", input, lambda x: hardtanh(x, min_val, max_val))


def threshold_(input, threshold: float, value: float) -> Tensor:  # noqa: A002
    """``threshold`` written into ``input`` (recorded where needed)."""
    return _in_place("threshold_", input, lambda x: _threshold(x, threshold, value))


def relu_(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``relu`` written into ``input`` (recorded where needed)."""
    return _in_place("relu_", input, lambda x: x.relu())


def elu_(input, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """``elu`` written into ``input`` (recorded where needed)."""
    return _in_place("elu_", input, lambda x: elu(x, alpha))


def leaky_relu_(input, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """``leaky_relu`` written into ``input`` (recorded where needed)."""
    return _in_place("leaky_relu_", input, lambda x: leaky_relu(x, negative_slope))


def celu_(input, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """``celu`` written into ``input`` (recorded where needed)."""
    return _in_place("celu_", input, lambda x: celu(x, alpha))


def selu_(input) -> Tensor:  # noqa: A002
    """``selu`` written into ``input`` (recorded where needed)."""
    return _in_place("selu_", input, selu)
