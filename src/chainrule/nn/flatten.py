"""Shape layers: Flatten (feature maps to a vector, between conv and dense layers) and Unflatten."""

from __future__ import annotations

import math
import numbers

from ..autograd.tensor import Tensor
from ..ops.shape import reshape
from .module import Module

__all__ = ["Flatten", "Unflatten"]


def _int(who: str, name: str, value) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be an int, got {value!r}")
    return int(value)


def _alias(ours, torchs, default):
    """``ours`` or PyTorch's keyword ``torchs`` (given instead of it, not beside a changed one)."""
    if torchs is None:
        return ours
    if ours != default:
        raise TypeError(f"give the axis once, not as both {ours!r} and {torchs!r}")
    return torchs


def _axis_index(who: str, axis: int, shape) -> int:
    ndim = max(len(shape), 1)  # a 0-d input counts as 1-d, as in PyTorch (flattened to (1,))
    if not -ndim <= axis < ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for input of shape {tuple(shape)}")
    return axis % ndim


class Flatten(Module):
    """Merge axes ``start_axis`` .. ``end_axis`` into one (by default all but the batch axis).

    Shape:
        ``(N, C, H, W) -> (N, C*H*W)`` with the defaults.

    >>> import chainrule as cr
    >>> Flatten()(cr.tensor([[[1.0, 2.0], [3.0, 4.0]]])).shape
    (1, 4)
    """

    def __init__(self, start_axis: int = 1, end_axis: int = -1, *, start_dim: int | None = None,
                 end_dim: int | None = None):
        super().__init__()  # start_dim/end_dim: PyTorch's names
        self.start_axis = _int("Flatten", "start_axis", _alias(start_axis, start_dim, 1))
        self.end_axis = _int("Flatten", "end_axis", _alias(end_axis, end_dim, -1))

    def forward(self, x):
        shape = x._data.shape if isinstance(x, Tensor) else getattr(x, "shape", None)
        if shape is None:
            raise TypeError(f"Flatten: input must be a Tensor, got {type(x).__name__}")
        s, e, n = self.start_axis, self.end_axis, len(shape)
        if (s, e) == (1, -1) and n >= 2:
            # The default: (N, C*H*W) without the general axis checks, which count at batch 1.
            return reshape(x, (shape[0], math.prod(shape[1:])))
        s = _axis_index("Flatten", s, shape)
        e = _axis_index("Flatten", e, shape)
        if s > e:
            raise ValueError(
                f"Flatten: start_axis {self.start_axis} comes after end_axis {self.end_axis} "
                f"for input of shape {tuple(shape)}"
            )
        # reshape directly: the axes are checked already (a view where NumPy can make one)
        return reshape(x, shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_axis}, end_dim={self.end_axis}"  # PyTorch's names

    @property
    def start_dim(self):
        """PyTorch's name for ``start_axis`` (set it, as in PyTorch, and the next call uses it)."""
        return self.start_axis

    @start_dim.setter
    def start_dim(self, value):
        self.start_axis = _int("Flatten", "start_dim", value)

    @property
    def end_dim(self):
        """PyTorch's name for ``end_axis``."""
        return self.end_axis

    @end_dim.setter
    def end_dim(self, value):
        self.end_axis = _int("Flatten", "end_dim", value)


class Unflatten(Module):
    """Split axis ``axis`` into ``sizes`` (one entry may be -1), the inverse of Flatten.

    Shape:
        ``(N, 784) -> (N, 1, 28, 28)`` with ``Unflatten(1, (1, 28, 28))``.
    """

    def __init__(self, axis: int | None = None, sizes=None, *, dim: int | None = None,
                 unflattened_size=None):
        super().__init__()  # dim/unflattened_size: PyTorch's names
        self.axis = _int("Unflatten", "axis", _alias(axis, dim, None))
        self.sizes = _sizes(_alias(sizes, unflattened_size, None))

    def forward(self, x):
        shape = tuple(getattr(x, "shape", ()))
        if not hasattr(x, "shape"):
            raise TypeError(f"Unflatten: input must be a Tensor, got {type(x).__name__}")
        a = _axis_index("Unflatten", self.axis, shape) if shape else None
        if a is None:
            raise ValueError("Unflatten: the input is 0-d; there is no axis to split")
        known = math.prod(s for s in self.sizes if s != -1)
        n = shape[a]
        fits = n % known == 0 if -1 in self.sizes else n == known
        if not fits:
            raise ValueError(
                f"Unflatten: axis {self.axis} of size {n} (input shape {shape}) cannot be split "
                f"into {self.sizes}"
            )
        sizes = tuple(n // known if s == -1 else s for s in self.sizes)
        return reshape(x, shape[:a] + sizes + shape[a + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.axis}, unflattened_size={self.sizes}"  # PyTorch's names

    @property
    def dim(self):
        """PyTorch's name for ``axis`` (set it, as in PyTorch, and the next call uses it)."""
        return self.axis

    @dim.setter
    def dim(self, value):
        self.axis = _int("Unflatten", "dim", value)

    @property
    def unflattened_size(self):
        """PyTorch's name for ``sizes``."""
        return self.sizes

    @unflattened_size.setter
    def unflattened_size(self, value):
        self.sizes = _sizes(value)


def _sizes(sizes) -> tuple:
    """Unflatten's checked ``sizes``: ints, positive, with at most one -1."""
    if not isinstance(sizes, (tuple, list)) or not sizes:
        raise TypeError(f"Unflatten: sizes must be a non-empty tuple of ints, got {sizes!r}")
    sizes = tuple(_int("Unflatten", "sizes", s) for s in sizes)
    if sizes.count(-1) > (0 if 0 in sizes else 1) or min(sizes) < -1:
        raise ValueError(  # a 0 (splitting an empty axis, as PyTorch) leaves -1 undefined
            f"Unflatten: sizes must be positive with at most one -1 (0 only without a -1), "
            f"got {sizes}"
        )
    return sizes
