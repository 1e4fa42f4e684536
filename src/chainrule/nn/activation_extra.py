"""More activation layers (PyTorch's ``PReLU``, ``Mish``, ``Hardswish``, ``GLU``, ``CELU``...),
and ``Softmin``/``Softmax2d``, the layers of ``ops.activation_extra`` and ``softmin``.

Hyperparameters are checked when the layer is built. Names, positional order and defaults are
PyTorch's; ``inplace=True`` writes the result into the input and returns it, as PyTorch's.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..ops import activation_extra as A  # noqa: N812 - short alias for the op family
from ..ops.activation_extra import _number
from ..ops.softmax import softmax
from . import init
from ._checks import float_dtype, positive_int
from ._functional_extra import softmin
from .activation import _axis, _real
from .module import Module, Parameter

__all__ = ["CELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Mish", "PReLU", "Softmax2d",
           "Softmin", "Softshrink", "Tanhshrink", "Threshold"]


class PReLU(Module):
    """x where x > 0, else ``weight * x``, with a learned slope (one, or one per channel).

    Args:
        num_parameters: 1 (one slope) or the number of channels (axis 1 of the input).
        init: the slopes' initial value.
        dtype: floating-point dtype of ``weight`` (``device`` is accepted for PyTorch's order).

    >>> PReLU(3)
    PReLU(num_parameters=3)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = positive_int("PReLU", "num_parameters", num_parameters)
        self.init = _number("PReLU", "init", init)
        dt = float_dtype(dtype, "PReLU")
        self.weight = Parameter(get_array_module().full((self.num_parameters,), self.init,
                                                        dtype=dt))

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return A.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class _Inplace(Module):
    fn = None

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return type(self).fn(input, self.inplace)


class Mish(_Inplace):
    """x * tanh(softplus(x)), elementwise."""

    fn = staticmethod(A.mish)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6, elementwise."""

    fn = staticmethod(A.hardswish)


class Hardsigmoid(_Inplace):
    """relu6(x + 3) / 6, elementwise."""

    fn = staticmethod(A.hardsigmoid)


class Tanhshrink(Module):
    """x - tanh(x), elementwise."""

    def forward(self, input):  # noqa: A002
        return A.tanhshrink(input)


class GLU(Module):
    """Gated linear unit along ``dim``: first half * sigmoid(second half)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = _axis("GLU", dim)

    def forward(self, input):  # noqa: A002
        return A.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class CELU(Module):
    """x where x > 0, else ``alpha * (exp(x / alpha) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = _number("CELU", "alpha", alpha, nonzero=True)
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return A.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softshrink(Module):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = _number("Softshrink", "lambd", lambd, nonnegative=True)

    def forward(self, input):  # noqa: A002
        return A.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Module):
    """x where |x| > lambd, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = _number("Hardshrink", "lambd", lambd)

    def forward(self, input):  # noqa: A002
        return A.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Threshold(Module):
    """x where x > threshold, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold = _real("Threshold", "threshold", threshold)
        self.value = _real("Threshold", "value", value)
        self.inplace = inplace

    def forward(self, input):  # noqa: A002
        return A.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class Softmin(Module):
    """softmax(-x) along ``dim`` (None: PyTorch's implicit axis, with its warning)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = None if dim is None else _axis("Softmin", dim)

    def forward(self, input):  # noqa: A002
        return softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input (axis -3)."""

    def forward(self, input):  # noqa: A002
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got "
                             f"shape {tuple(input.shape)}")
        return softmax(input, dim=-3)

