"""Max unpooling, power-average pooling and local response normalization layers (PyTorch's
``MaxUnpool1d/2d/3d``, ``LPPool1d/2d/3d``, ``LocalResponseNorm`` and ``CrossMapLRN2d``).
None has parameters."""

from __future__ import annotations

import numbers

from ..ops import pool_norms as PN  # noqa: N812 - short alias for the op family
from ..ops import unpool as U  # noqa: N812
from ..ops._unbatched import either_layout
from ._checks import check_input, int_tuple
from .module import Module

__all__ = ["CrossMapLRN2d", "LPPool1d", "LPPool2d", "LPPool3d", "LocalResponseNorm",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]

_RANKS = {nd: (nd + 1, nd + 2) for nd in (1, 2, 3)}  # (C, *spatial) or (N, C, *spatial)


class _MaxUnpool(Module):
    """Put a max pool's values back at its indices; kernel_size, stride (default kernel_size)
    and padding are the pool's, stored as tuples as PyTorch stores them."""

    _nd = 0
    _op = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        who, nd = type(self).__name__, self._nd
        self.kernel_size = int_tuple(who, "kernel_size", kernel_size, nd, 1)
        self.stride = self.kernel_size if stride is None else int_tuple(who, "stride", stride,
                                                                         nd, 1)
        self.padding = int_tuple(who, "padding", padding, nd, 0)

    def forward(self, input, indices, output_size=None):  # noqa: A002 - PyTorch's name
        """Unpool ``input`` with ``indices`` (from the pool's ``return_indices=True``)."""
        check_input(type(self).__name__, input, _RANKS[self._nd], either_layout(self._nd))
        return type(self)._op(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """The inverse of MaxPool1d on its winners: (N, C, L) -> (N, C, L_out), zeros elsewhere."""

    _nd = 1
    _op = staticmethod(U.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """The inverse of MaxPool2d on its winners: (N, C, H, W) -> (N, C, H_out, W_out).

    Shape:
        H_out = (H - 1) * stride - 2 * padding + kernel_size, or the forward's ``output_size``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    >>> y, i = pool(cr.tensor([[[[1.0, 2.0], [4.0, 3.0]]]]))
    >>> unpool(y, i).tolist()
    [[[[0.0, 0.0], [4.0, 0.0]]]]
    """

    _nd = 2
    _op = staticmethod(U.max_unpool2d)


class MaxUnpool3d(_MaxUnpool):
    """The inverse of MaxPool3d on its winners: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out)."""

    _nd = 3
    _op = staticmethod(U.max_unpool3d)


class _LPPool(Module):
    """``(sum over the window of x ** p) ** (1 / p)``; arguments stored as given (PyTorch's)."""

    _nd = 0
    _op = None

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        who, nd = type(self).__name__, self._nd
        if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or (
                norm_type == 0):
            raise ValueError(f"{who}: norm_type must be a nonzero number, got {norm_type!r}")
        int_tuple(who, "kernel_size", kernel_size, nd, 1)
        if stride is not None:
            int_tuple(who, "stride", stride, nd, 1)
        if not isinstance(ceil_mode, bool):
            raise TypeError(f"{who}: ceil_mode must be a bool, got {ceil_mode!r}")
        self.norm_type, self.kernel_size, self.stride = norm_type, kernel_size, stride
        self.ceil_mode = ceil_mode

    def forward(self, x):
        check_input(type(self).__name__, x, _RANKS[self._nd], either_layout(self._nd))
        return type(self)._op(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    """Power-average pooling of (N, C, L): the p-norm of each window (p = norm_type)."""

    _nd = 1
    _op = staticmethod(PN.lp_pool1d)


class LPPool2d(_LPPool):
    """Power-average pooling of (N, C, H, W): the p-norm of each window (p = norm_type)."""

    _nd = 2
    _op = staticmethod(PN.lp_pool2d)


class LPPool3d(_LPPool):
    """Power-average pooling of (N, C, D, H, W): the p-norm of each window (p = norm_type)."""

    _nd = 3
    _op = staticmethod(PN.lp_pool3d)


class _LRN(Module):
    _op = None

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        PN._check_lrn(type(self).__name__, size, alpha, beta, k)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return type(self)._op(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LocalResponseNorm(_LRN):
    """Local response normalization across channels (AlexNet's), as ``torch.nn.LocalResponseNorm``.

    Args:
        size: how many neighbouring channels to normalize over.
        alpha, beta, k: ``y = x / (k + alpha * mean of x ** 2 over the channels) ** beta``.

    Shape:
        (N, C, *) -> same, at least one axis after C.
    """

    _op = staticmethod(PN.local_response_norm)


class CrossMapLRN2d(_LRN):
    """PyTorch's legacy ``CrossMapLRN2d`` over (N, C, H, W), value for value (its channel window
    keeps channel 0 in every sum past the first ``(size - 1) // 2 + 1`` channels, as PyTorch's
    does); prefer LocalResponseNorm. Gradients are those of these values."""

    _op = staticmethod(PN.cross_map_lrn2d)

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__(size, alpha, beta, k)  # PyTorch's default k is the int 1 here
