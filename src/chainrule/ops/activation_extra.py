"""More of PyTorch's activations: ``prelu``, ``mish``, ``hardswish``, ``hardsigmoid``, ``glu``,
``celu``, ``softshrink``, ``hardshrink``, ``tanhshrink`` and ``threshold``.

Each but ``prelu`` is a composition of recorded ops (``where``, ``relu6``, ``softplus``,
``tanh``...), in the order of PyTorch's arithmetic, so none needs a gradient rule of its own and
all differentiate again. Masks of the piecewise ones are constants: their second derivative is
zero almost everywhere.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._activation_checks import in_place
from ._promotion import promoted
from ._wide import in_float32
from .activation import _float_input, _kept, elu, relu6, sigmoid, softplus, tanh
from .elementwise import where
from .shape import _one_axis, getitem, reshape, sum_to

__all__ = ["celu", "glu", "hardshrink", "hardsigmoid", "hardswish", "mish", "prelu", "softshrink",
           "tanhshrink", "threshold"]


def _number(op, name, value, *, nonnegative=False, nonzero=False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    if math.isnan(value):
        raise ValueError(f"{op}: {name} must not be NaN")
    if nonnegative and value < 0:
        raise ValueError(f"{op}: {name} must be >= 0, got {value!r}")
    if nonzero and value == 0:
        raise ValueError(f"{op}: {name} must not be 0, got {value!r}")
    return float(value)


class PReLU(Function):
    """x where x > 0, else ``w * x``, for a slope ``w`` already shaped to broadcast against x.

    An op of its own, not ``where(x > 0, x, w * x)``, for its recorded backward: each gradient
    keeps the input it does not depend on in the graph (``ZeroOf``), so a second backward gives
    ``x`` through the input-gradient and ``w`` through the weight-gradient a zero, as PyTorch's
    ``_prelu_kernel_backward`` does, where the composition gave None.
    """

    def forward(self, x, w):
        positive = x > 0
        if self.recording:
            self.positive = positive
        return get_array_module(x).where(positive, x, w * x)

    def backward(self, g):
        x, w = self.inputs
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = _kept(where(self.positive, g, g * w), x)
        if self.needs_input_grad[1]:
            gw = _kept(sum_to(where(self.positive, 0.0, g * x), w.shape), w)
        return gx, gw


def prelu(input, weight) -> Tensor:  # noqa: A002 - PyTorch's names
    """x where x > 0, else ``weight * x``; ``weight`` holds one slope, or one per channel (axis 1).

    Shape: ``weight`` is (1,) or (C,) for input (N, C, *); input with fewer than 2 axes has no
    channel axis and takes one slope.
    """
    x = _float_input("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a Tensor, got {type(weight).__name__}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim > 1 or weight.numel() not in (1, channels):
        raise ValueError(f"prelu: weight must hold 1 slope or one per channel ({channels} for "
                         f"input of shape {tuple(x.shape)}), got shape {tuple(weight.shape)}")
    if weight.numel() == 1:
        w = reshape(weight, ())
    else:
        w = reshape(weight, (channels,) + (1,) * (x.ndim - 2))
    x, w = promoted(x, w)  # PyTorch refuses mixed dtypes; chainrule computes in the common one
    return PReLU.apply(x, w)


def mish(input, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * tanh(softplus(x)), elementwise."""
    if inplace:
        return in_place("mish", input, mish)
    return _mish(_float_input("mish", input))


@in_float32()  # float16 as PyTorch's: in float16 the gradient near its minimum was 17% off
def _mish(x):
    return x * tanh(softplus(x))


def hardswish(input, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * relu6(x + 3) / 6: 0 below -3, x above 3, a parabola between."""
    if inplace:
        return in_place("hardswish", input, hardswish)
    return _hardswish(_float_input("hardswish", input))


@in_float32()  # float16 as PyTorch's: x * relu6(x + 3) overflowed it to inf from |x| = 10923
def _hardswish(x):
    return x * relu6(x + 3.0) / 6.0


def hardsigmoid(input, inplace: bool = False) -> Tensor:  # noqa: A002
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    if inplace:
        return in_place("hardsigmoid", input, hardsigmoid)
    return _hardsigmoid(_float_input("hardsigmoid", input))


@in_float32()  # float16 as PyTorch's: x + 3 rounded to 6 below x = 3, and the gradient to 0
def _hardsigmoid(x):
    return relu6(x + 3.0) / 6.0


def glu(input, dim: int = -1) -> Tensor:  # noqa: A002
    """Gated linear unit: the first half of ``dim`` times the sigmoid of the second half."""
    x = _float_input("glu", input)
    if x.ndim == 0:
        raise ValueError("glu: input must have at least one axis, got a 0-d tensor")
    axis = _one_axis("glu", dim, x.ndim)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: axis {axis} of input shape {tuple(x.shape)} must have even size "
                         f"(it is halved), got {n}")
    lead = (slice(None),) * axis
    a = getitem(x, lead + (slice(0, n // 2),))
    b = getitem(x, lead + (slice(n // 2, n),))
    return a * sigmoid(b)


def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > 0, else ``alpha * (exp(x / alpha) - 1)``."""
    alpha = _number("celu", "alpha", alpha, nonzero=True)
    if inplace:
        return in_place("celu", input, lambda x: celu(x, alpha))
    return _celu(_float_input("celu", input), alpha)


@in_float32()  # float16 as PyTorch's, in float32
def _celu(x, alpha):
    positive = x > 0  # a recorded comparison, so that chainrule.onnx.export can write it
    # alpha * elu(x / alpha) on the negative side: expm1 forward (exp - 1 cancels near 0: 5% off
    # at x = -1e-6 in float32) and exp(x / alpha) from x backward, as PyTorch's
    negative = where(positive, 0.0, x)
    return where(positive, x, alpha * elu(negative / alpha))


def softshrink(input, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    lambd = _number("softshrink", "lambd", lambd, nonnegative=True)
    x = _float_input("softshrink", input)
    # |NaN| <= lambd is False: a NaN stays NaN, as in PyTorch
    return where(abs(x) <= lambd, 0.0, where(x > 0, x - lambd, x + lambd))


def hardshrink(input, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """x where |x| > lambd, else 0."""
    lambd = _number("hardshrink", "lambd", lambd)
    x = _float_input("hardshrink", input)
    return where(abs(x) <= lambd, 0.0, x)  # |NaN| <= lambd is False: NaN stays


def tanhshrink(input) -> Tensor:  # noqa: A002
    """x - tanh(x), elementwise."""
    x = _float_input("tanhshrink", input)
    return x - tanh(x)


def threshold(input, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: A002
    """``value`` where x <= threshold, else x (a NaN x stays NaN and takes the gradient, as in
    PyTorch)."""
    threshold = _number("threshold", "threshold", threshold)
    value = _number("threshold", "value", value)
    if inplace:
        return in_place("threshold", input, lambda x: _threshold(x, threshold, value))
    x = _float_input("threshold", input)
    return where(x <= threshold, value, x)


_threshold = threshold  # the op, by a name its argument ``threshold`` does not hide
