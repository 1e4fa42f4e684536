"""Activation layers: a Module for each activation op of ``chainrule.ops.activation``.

Hyperparameters are checked when the layer is built, so a bad value fails at construction rather
than on the first batch. Names and defaults follow PyTorch (``Softmax`` takes ``axis``).
"""

from __future__ import annotations

import numbers
import warnings

from ..ops import activation as A  # noqa: N812 - short alias for the op family
from ..ops.softmax import implicit_softmax_dim, log_softmax, softmax
from .module import Module

__all__ = [
    "ELU", "GELU", "SELU", "Hardtanh", "LeakyReLU", "LogSigmoid", "LogSoftmax", "ReLU", "ReLU6",
    "SiLU", "Sigmoid", "Softmax", "Softplus", "Softsign", "Step", "Tanh",
]


def _real(who: str, name: str, value, *, positive: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{who}: {name} must be positive, got {value}")
    # a Python number is kept as given, as PyTorch keeps it (repr: Hardtanh(min_val=-2, ...))
    return value if type(value) in (int, float) else float(value)


def _axis(who: str, axis) -> int:
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"{who}: axis must be an int, got {axis!r}")
    return int(axis)


def _inplace(module) -> str:
    """``", inplace=True"`` for a module made with it, as PyTorch's repr shows."""
    return ", inplace=True" if getattr(module, "inplace", False) else ""


class _Elementwise(Module):
    """An activation without hyperparameters: ``forward`` applies the class's ``fn``."""

    fn = None
    shows_inplace = False  # PyTorch's repr shows inplace=True for ReLU, ReLU6, SELU, SiLU

    def __init__(self, inplace: bool = False):
        # inplace=True (PyTorch's, for ReLU, ReLU6, SELU, SiLU): the input is changed and returned
        super().__init__()
        if inplace and not self.shows_inplace:
            raise TypeError(f"{type(self).__name__}: inplace=True is not an option of this layer "
                            "(PyTorch's takes no inplace); use it without")
        self.inplace = inplace

    def forward(self, x):
        if self.inplace:
            return type(self).fn(x, True)
        return type(self).fn(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace and self.shows_inplace else ""


class ReLU(_Elementwise):
    """Rectified linear unit max(x, 0), elementwise."""

    fn = staticmethod(A.relu)
    shows_inplace = True


class Sigmoid(_Elementwise):
    """Logistic sigmoid 1 / (1 + exp(-x)), elementwise."""

    fn = staticmethod(A.sigmoid)


class Tanh(_Elementwise):
    """Hyperbolic tangent, elementwise."""

    fn = staticmethod(A.tanh)


class SELU(_Elementwise):
    """Scaled exponential linear unit (self-normalizing constants), elementwise."""

    fn = staticmethod(A.selu)
    shows_inplace = True


class SiLU(_Elementwise):
    """Sigmoid linear unit (swish) x * sigmoid(x), elementwise."""

    fn = staticmethod(A.silu)
    shows_inplace = True


class Softsign(_Elementwise):
    """Softsign x / (1 + |x|), elementwise."""

    fn = staticmethod(A.softsign)


class ReLU6(_Elementwise):
    """min(max(x, 0), 6), elementwise."""

    fn = staticmethod(A.relu6)
    shows_inplace = True
    min_val, max_val = 0.0, 6.0  # PyTorch's (its ReLU6 is a Hardtanh(0, 6))

    def forward(self, x):
        if (self.min_val, self.max_val) != (0.0, 6.0):  # set by hand: PyTorch's clamps to them
            return A.hardtanh(x, self.min_val, self.max_val, self.inplace)
        return super().forward(x)


class LogSigmoid(_Elementwise):
    """log(sigmoid(x)), elementwise and without overflow."""

    fn = staticmethod(A.logsigmoid)


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope * x``.

    >>> LeakyReLU(0.2)
    LeakyReLU(negative_slope=0.2)
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = _real("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = inplace

    def forward(self, x):
        return A.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _inplace(self)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, linear where ``beta * x > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = _real("Softplus", "beta", beta)  # negative too, as PyTorch's
        if self.beta == 0:
            raise ValueError("Softplus: beta must not be 0 (the result is log(2) / beta), got 0")
        self.threshold = _real("Softplus", "threshold", threshold)

    def forward(self, x):
        return A.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    """x where x > 0, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = _real("ELU", "alpha", alpha)
        self.inplace = inplace

    def forward(self, x):
        return A.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace(self)


class GELU(Module):
    """x * Phi(x) (Phi the standard normal CDF), or its tanh approximation."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return A.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Hardtanh(Module):
    """Clamp to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None):
        super().__init__()
        # PyTorch's deprecated spellings, with its FutureWarning
        for old, new in (("min_value", min_value), ("max_value", max_value)):
            if new is not None:
                warnings.warn(f"keyword argument `{old}` is deprecated and renamed to "
                              f"`{old[:3]}_val`", FutureWarning, stacklevel=2)
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        self.min_val = _real("Hardtanh", "min_val", min_val)
        self.max_val = _real("Hardtanh", "max_val", max_val)
        self.inplace = inplace
        if self.min_val >= self.max_val:
            raise ValueError(
                f"Hardtanh: min_val must be less than max_val, got min_val={min_val}, "
                f"max_val={max_val}"
            )

    def forward(self, x):
        return A.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + _inplace(self)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``axis``: class probabilities from scores."""

    def __init__(self, axis: int | None = None, *, dim: int | None = None):
        super().__init__()
        if axis is not None and dim is not None:
            raise TypeError(f"Softmax: give dim or axis, not both (got dim={dim!r}, "
                            f"axis={axis!r})")
        # None (no axis given): PyTorch's implicit axis for the input's rank, chosen per call
        self.axis = None if axis is None and dim is None else \
            _axis("Softmax", axis if dim is None else dim)

    def forward(self, x):
        axis = self.axis
        if axis is None and hasattr(x, "ndim"):
            axis = implicit_softmax_dim("softmax", x.ndim, stacklevel=5)
        return softmax(x, axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"  # PyTorch's name

    @property
    def dim(self):
        """PyTorch's name for ``axis``."""
        return self.axis

    @dim.setter
    def dim(self, value):
        self.axis = value


class LogSoftmax(Module):
    """log(softmax(x)) along ``axis``, computed stably."""

    def __init__(self, axis: int | None = None, *, dim: int | None = None):
        super().__init__()
        if axis is not None and dim is not None:
            raise TypeError(f"LogSoftmax: give dim or axis, not both (got dim={dim!r}, "
                            f"axis={axis!r})")
        # None (no axis given): PyTorch's implicit axis for the input's rank, chosen per call
        self.axis = None if axis is None and dim is None else \
            _axis("LogSoftmax", axis if dim is None else dim)

    def forward(self, x):
        axis = self.axis
        if axis is None and hasattr(x, "ndim"):
            axis = implicit_softmax_dim("log_softmax", x.ndim, stacklevel=5)
        return log_softmax(x, axis)

    def extra_repr(self) -> str:
        return f"dim={self.axis}"  # PyTorch's name

    @property
    def dim(self):
        """PyTorch's name for ``axis``."""
        return self.axis

    @dim.setter
    def dim(self, value):
        self.axis = value


class Step(Module):
    """Heaviside step (the perceptron's activation): 1 where x > 0, else 0.

    Args:
        straight_through: pass the gradient through unchanged (the straight-through estimator)
            instead of the true derivative, which is zero almost everywhere.
    """

    def __init__(self, straight_through: bool = False):
        super().__init__()
        if not isinstance(straight_through, bool):
            raise TypeError(f"Step: straight_through must be a bool, got {straight_through!r}")
        self.straight_through = straight_through

    def forward(self, x):
        return A.step(x, straight_through=self.straight_through)

    def extra_repr(self) -> str:
        return f"straight_through={self.straight_through}"
