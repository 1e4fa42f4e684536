"""Activation functions: each a Function with a fused array forward and a backward in chainrule ops.

Backward rules use ``self.output`` where the derivative is a function of the output (sigmoid,
tanh, elu) and recorded ops of the input otherwise, so every smooth activation can be
differentiated again. Masks of piecewise activations are constants: their second derivative is zero
almost everywhere. Recorded (``create_graph``), the backward of ReLU, LeakyReLU and Hardtanh still
gives their input a gradient, a zero one, as PyTorch's does (``ZeroOf``).
"""

from __future__ import annotations

import math

from ..autograd.function import Function, OutputOnly
from ..autograd.mode import _grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module, numpy
from ..kernels import K
from ._activation_checks import _check_number, _float_input, in_place
from ._conj import cj
from ._promotion import float_operand
from ._special import ndtr
from ._wide import call_in_float32, in_float32
from .elementwise import abs as _abs
from .elementwise import exp, fill_where, where

__all__ = [
    "elu", "gelu", "hardtanh", "leaky_relu", "logsigmoid", "relu", "relu6", "selu", "sigmoid",
    "silu", "softplus", "softsign", "step", "tanh",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


class ZeroOf(Function):
    """Zeros shaped like ``x``, whose derivative is 0: added to a recorded backward whose value
    does not depend on the forward input, it keeps that input in the graph, so a second backward
    gives it (and the parameters before it) a zero gradient where it would give none. PyTorch's
    threshold_, leaky_relu_ and hardtanh_backward do so, and optimizers with state tell the two
    apart (Adam counts the step, momentum still moves the weight): an R1 penalty's step through a
    LeakyReLU discriminator trains on as in PyTorch."""

    def forward(self, x):
        return get_array_module(x).zeros_like(x)

    def backward(self, g):
        return ZeroOf.apply(g)


def _kept(grad, x):
    """``grad``, plus ``ZeroOf(x)`` when the backward is being recorded and ``x`` needs it."""
    # _grad_enabled.get(): is_grad_enabled() read where it is kept, as the engine reads it
    return grad + ZeroOf.apply(x) if x.requires_grad and _grad_enabled.get() else grad


class Step(Function):
    def forward(self, x):
        return (x > 0).astype(x.dtype)

    def backward(self, g):
        if self.straight_through:
            return g
        return Tensor(get_array_module(g._data).zeros_like(g._data))


def _sigmoid_array(x):
    """1 / (1 + exp(-x)), computed from exp(-|x|), which never overflows."""
    xp = get_array_module(x)
    e = xp.asarray(xp.exp(-xp.abs(x)))  # asarray: a 0-d input gives a scalar, no ``out=``
    y = 1 / (1 + e)
    # sigmoid(x) is y = 1 / (1 + e) for x >= 0 and e * y below; e <= 1, so max(e, [x >= 0]) is the
    # factor, without a ``where`` (which NumPy runs element by element on irregular masks).
    y *= xp.maximum(e, x >= 0, out=e)
    return y


class Sigmoid(OutputOnly):
    complex_grad = True  # holomorphic: g times the conjugate derivative, from conj(y)

    def forward(self, x):
        if x.dtype.kind == "c":  # no order to take |x| by: the formula, as PyTorch's (NaN
            with numpy.errstate(over="ignore", invalid="ignore"):  # where exp overflows)
                return 1 / (1 + get_array_module(x).exp(-x))
        return _sigmoid_array(x)

    def backward(self, g):
        y = cj(self.output)
        return g * (y * (1 - y))


class Tanh(OutputOnly):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).tanh(x)

    def backward(self, g):
        y = cj(self.output)
        return g * (1 - y * y)


class ReLU(OutputOnly):
    """max(x, 0). It saves nothing: its output is positive exactly where its input is."""

    def forward(self, x):
        return K.relu(x)

    def backward(self, g):
        return ReLUMask.apply(g, self.output)  # g where the output is positive, else 0


class ReLUMask(Function):
    """g where y > 0, else 0: a gradient ``g`` passed back through a ReLU whose output is ``y``.

    Masked, not multiplied by the mask: an infinite ``g`` where ``y`` is 0 (log of a ReLU's
    output) gives 0 there, not NaN, and a NaN ``y`` passes ``g``, as PyTorch's threshold_backward.

    An op of its own so that the mask is one kernel call (``kernels.relu.relu_grad``), shared by
    ReLU and the fused layers that end in one (``linear_relu``, ``conv2d_relu``). It is linear in
    ``g`` and the mask is a constant (ReLU's second derivative is 0 almost everywhere), so its
    backward is itself and ``y`` gets a zero gradient through it (``ZeroOf``, as PyTorch's).
    """

    def forward(self, g, y):
        return K.relu_grad(g, y)

    def backward(self, gg):
        y = self.inputs[1]
        return ReLUMask.apply(gg, y), (ZeroOf.apply(y) if self.needs_input_grad[1] else None)


def relu_mask(g, y) -> Tensor:
    """``g`` where ``y > 0``, else 0, for the gradient ``g`` of a ReLU's output ``y`` (Tensors or
    arrays)."""
    return ReLUMask.apply(g, y)


class LeakyReLU(Function):
    """x where x > 0, else ``negative_slope * x``; the slope at 0 is the left side's, as in PyTorch.

    Both avoid ``where`` and masked copies, which NumPy runs element by element (several times
    slower than arithmetic) when the mask is irregular.
    """

    def forward(self, x):
        xp = get_array_module(x)
        slope = self.negative_slope
        if self.recording:
            self.positive = x > 0
        y = xp.asarray(x * slope)  # asarray: a 0-d input gives a scalar, no ``out=``
        if 0 < slope <= 1:
            return xp.maximum(x, y, out=y)
        return xp.where(x > 0, x, y)

    def backward(self, g):
        # The derivative, a constant array: 1 where x > 0, else the slope.
        slope = self.negative_slope
        d = self.positive.astype(g.dtype)
        d *= 1 - slope
        d += slope
        return _kept(g * d, self.inputs[0])


class Softplus(Function):
    def forward(self, x):
        xp = get_array_module(x)
        bx = x * self.beta
        self.linear = bx > self.threshold
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        return xp.where(self.linear, x, soft)

    def backward(self, g):
        return where(self.linear, g, g * sigmoid(self.inputs[0] * self.beta))


class ELU(Function):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)); ELU has scale 1, SELU fixed constants."""

    def forward(self, x):
        xp = get_array_module(x)
        self.positive = x > 0
        neg = self.alpha * xp.expm1(xp.minimum(x, 0))  # minimum: no overflow for large positive x
        return self.scale * xp.where(self.positive, x, neg)

    def backward(self, g):
        # x <= 0: scale * alpha * exp(x), from x (y + scale * alpha cancels); exp never overflows
        slope = exp(where(self.positive, 0.0, self.inputs[0])) * (self.scale * self.alpha)
        return where(self.positive, g * self.scale, g * slope)


def _ndtr(x):
    """Phi(x) on an array; float16 goes through float32, as Cephes' coefficients overflow it."""
    if x.dtype.itemsize < 4:
        return ndtr(x.astype("float32")).astype(x.dtype)
    return ndtr(x)


class NormalCDF(Function):
    """Phi(x), the standard normal distribution function; its derivative is the normal density."""

    def forward(self, x):
        return _ndtr(x)

    def backward(self, g):
        x = self.inputs[0]
        return g * (exp(x * x * -0.5) * _INV_SQRT_2PI)


class GELU(Function):
    """x * Phi(x), or with ``approximate == "tanh"`` the tanh approximation of Phi."""

    def forward(self, x):
        xp = get_array_module(x)
        if self.approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(_GELU_C * (x + _GELU_K * x * x * x)))
        return x * _ndtr(x)

    def backward(self, g):
        x = self.inputs[0]
        if self.approximate == "tanh":
            t = tanh(_GELU_C * (x + _GELU_K * x * x * x))
            du = _GELU_C * (1 + 3 * _GELU_K * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        cdf = NormalCDF.apply(x)
        return g * (cdf + x * exp(x * x * -0.5) * _INV_SQRT_2PI)


class SiLU(Function):
    def forward(self, x):
        return x * _sigmoid_array(x)

    def backward(self, g):
        x = self.inputs[0]
        s = sigmoid(x)
        return g * (s * (1 + x * (1 - s)))


class Softsign(Function):
    def forward(self, x):
        return x / (1 + get_array_module(x).abs(x))

    def backward(self, g):
        d = 1 + _abs(self.inputs[0])
        return g / (d * d)


class Hardtanh(Function):
    """Clamp to [min_val, max_val]. The gradient is masked where x is at or beyond a bound (not
    multiplied by 0: an infinite g gives 0 there, and a NaN x passes it, as PyTorch's)."""

    def forward(self, x):
        self.outside = (x <= self.min_val) | (x >= self.max_val)
        return get_array_module(x).clip(x, self.min_val, self.max_val)

    def backward(self, g):
        return _kept(fill_where(self.outside, 0, g), self.inputs[0])


class LogSigmoid(Function):
    def forward(self, x):
        xp = get_array_module(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g):
        return g * sigmoid(-self.inputs[0])


def step(x, *, straight_through: bool = False) -> Tensor:
    """Heaviside step, the perceptron's activation: 1 where x > 0, else 0.

    Its derivative is zero almost everywhere (and undefined at 0), so by default the gradient
    through it is zero. With ``straight_through=True`` the backward pass lets the gradient pass
    unchanged, as if the step were the identity: the straight-through estimator, which makes binary
    units trainable.

    Args:
        x: input Tensor.
        straight_through: use the straight-through estimator for the gradient.

    Shape:
        any -> same

    >>> import chainrule as cr
    >>> cr.F.step(cr.tensor([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    return Step.apply(_float_input("step", x), straight_through=bool(straight_through))


def sigmoid(input) -> Tensor:  # noqa: A002
    """Logistic sigmoid 1 / (1 + exp(-x)), stable for large real |x| (exp only sees -|x|); a
    complex input takes the formula, as PyTorch's."""
    return Sigmoid.apply(_float_input("sigmoid", float_operand(input), True))  # int: float


def tanh(input) -> Tensor:  # noqa: A002
    """Hyperbolic tangent (real or complex); its derivative 1 - tanh(x)^2 from the output."""
    return Tanh.apply(_float_input("tanh", float_operand(input), True))  # int: float


def relu(input, inplace: bool = False) -> Tensor:  # noqa: A002
    """Rectified linear unit max(x, 0); the gradient at 0 is 0, as in PyTorch.

    ``inplace=True`` (here and in the other activations) writes the result into ``input`` and
    returns it, as PyTorch's (recorded where needed: ``autograd.inplace_record.change``).
    """
    if inplace:
        return in_place("relu", input, relu)
    if isinstance(input, Tensor) and input._data.dtype.kind in "iu":  # max(x, 0), x's dtype
        return input.clamp(min=0)
    if not (isinstance(input, Tensor) and input._data.dtype.kind == "f"):
        return ReLU.apply(_float_input("relu", input))  # wraps arrays and lists; refuses bool
    return ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False) -> Tensor:  # noqa: A002
    """Leaky ReLU: x where x > 0, else ``negative_slope * x``."""
    _check_number("leaky_relu", "negative_slope", negative_slope)
    if inplace:
        return in_place("leaky_relu", input, lambda x: leaky_relu(x, negative_slope))
    if negative_slope == 0:
        return ReLU.apply(_float_input("leaky_relu", input))
    return LeakyReLU.apply(_float_input("leaky_relu", input), negative_slope=float(negative_slope))


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """Softplus log(1 + exp(beta * x)) / beta, the smooth ReLU, with PyTorch's semantics.

    Where ``beta * x > threshold`` it returns ``x`` (the two agree to float precision there). The
    other branch is computed as ``max(bx, 0) + log1p(exp(-|bx|))``, which never overflows.

    Args:
        input: input Tensor.
        beta: sharpness; large beta approaches ReLU. A negative beta is PyTorch's too:
            ``softplus(x, -1)`` is ``-softplus(-x)``, below ``min(x, 0)``.
        threshold: above this value of ``beta * x`` the function is linear.

    Shape:
        any -> same
    """
    _check_number("softplus", "beta", beta, nonzero=True)  # PyTorch's divides by 0: inf
    _check_number("softplus", "threshold", threshold)
    return Softplus.apply(_float_input("softplus", input), beta=float(beta),
                          threshold=float(threshold))


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """Exponential linear unit: x where x > 0, else alpha * (exp(x) - 1)."""
    _check_number("elu", "alpha", alpha)
    if inplace:
        return in_place("elu", input, lambda x: elu(x, alpha))
    return ELU.apply(_float_input("elu", input), alpha=float(alpha), scale=1.0)


def selu(input, inplace: bool = False) -> Tensor:  # noqa: A002
    """Scaled ELU with the self-normalizing constants (alpha ~ 1.6733, scale ~ 1.0507)."""
    if inplace:
        return in_place("selu", input, selu)
    return ELU.apply(_float_input("selu", input), alpha=_SELU_ALPHA, scale=_SELU_SCALE)


@in_float32()  # float16 as PyTorch's: x * x overflows it from |x| = 256 (NaN gradients)
def gelu(input, approximate: str = "none") -> Tensor:  # noqa: A002
    """Gaussian error linear unit x * Phi(x), Phi the standard normal distribution function.

    Args:
        input: input Tensor.
        approximate: "none" for the exact Phi (through erf), or "tanh" for
            ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))``, as in PyTorch.

    Shape:
        any -> same
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_input("gelu", input), approximate=approximate)


def silu(input, inplace: bool = False) -> Tensor:  # noqa: A002
    """Sigmoid linear unit (swish) x * sigmoid(x)."""
    if inplace:
        return in_place("silu", input, silu)
    x = _float_input("silu", input)  # float16 in float32, as PyTorch's (gradient 270 units off)
    return call_in_float32(SiLU.apply, (x,), {}) if x.dtype == numpy.float16 else SiLU.apply(x)


def softsign(input) -> Tensor:  # noqa: A002
    """Softsign x / (1 + |x|)."""
    return Softsign.apply(_float_input("softsign", input))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False) -> Tensor:  # noqa: A002
    """Clamp to [min_val, max_val]; the gradient flows strictly inside the interval (as PyTorch)."""
    _check_number("hardtanh", "min_val", min_val)
    _check_number("hardtanh", "max_val", max_val)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val={min_val} is greater than max_val={max_val}")
    if inplace:
        return in_place("hardtanh", input, lambda x: hardtanh(x, min_val, max_val))
    return Hardtanh.apply(_float_input("hardtanh", input), min_val=float(min_val),
                          max_val=float(max_val))


def relu6(input, inplace: bool = False) -> Tensor:  # noqa: A002
    """min(max(x, 0), 6), i.e. ``hardtanh(x, 0, 6)``."""
    if inplace:
        return in_place("relu6", input, relu6)
    return Hardtanh.apply(_float_input("relu6", input), min_val=0.0, max_val=6.0)


def logsigmoid(input) -> Tensor:  # noqa: A002
    """log(sigmoid(x)) = -softplus(-x), computed without overflow or log(0)."""
    return LogSigmoid.apply(_float_input("logsigmoid", input))


Tensor.relu = relu
Tensor.sigmoid = sigmoid
Tensor.tanh = tanh
Tensor.softplus = softplus
Tensor.elu = elu
Tensor.gelu = gelu
