"""PyTorch's conversions and the ``alpha=`` forms of a sparse COO tensor: ``s.to(...)`` with
every form ``Tensor.to`` takes (a dtype, a device, both, ``dtype=``/``device=``/``copy=``, another
tensor), ``cpu()``, ``half()``/``long()``/``int()``/``bool()``, ``abs(s)``, and
``s.add(other, alpha=)``/``s.sub(other, alpha=)``. Before, ``to`` took a dtype only (``to("cpu",
dtype)`` was a TypeError), the others were missing (AttributeError), and ``add``/``sub`` had no
``alpha``. Each works on the values, so gradients follow them."""

from __future__ import annotations

from .tensor import SparseTensor

__all__ = ["attach"]


def to(self, *args, **kwargs) -> SparseTensor:
    """The values converted as ``Tensor.to(*args, **kwargs)`` converts them; same entries."""
    vals = self._vals.to(*args, **kwargs)
    if vals is self._vals:
        return self  # nothing to convert: PyTorch's to() returns the tensor itself
    return SparseTensor(self._idx, vals, self.shape, coalesced=self._coalesced)


def add(self, other, *, alpha=1):
    """``self + alpha * other`` (``other`` sparse, dense or a number), as PyTorch's."""
    return self + (other if alpha == 1 else other * alpha)


def sub(self, other, *, alpha=1):
    """``self - alpha * other``, as PyTorch's."""
    return self + other * -alpha


def attach(cls) -> None:
    cls.to = to
    cls.cpu = lambda self, memory_format=None: self.to("cpu")
    for name, dtype in (
        ("half", "float16"),
        ("float", "float32"),
        ("double", "float64"),
        ("long", "int64"),
        ("int", "int32"),
        ("bool", "bool"),
    ):
        setattr(cls, name, lambda self, memory_format=None, _dtype=dtype: self.to(_dtype))
    cls.__abs__ = cls.abs
    cls.add, cls.sub = add, sub
