"""PyTorch's conversions and the ``alpha=`` forms of a sparse COO tensor: ``s.to(...)`` with
every form ``Tensor.to`` takes (a dtype, a device, both, ``dtype=``/``device=``/``copy=``, another
tensor), ``cpu()``, ``half()``/``long()``/``int()``/``bool()``, ``abs(s)``, and
``s.add(other, alpha=)``/``s.sub(other, alpha=)``. Before, ``to`` took a dtype only (``to("cpu",
dtype)`` was a TypeError), the others were missing (AttributeError), and ``add``/``sub`` had no
``alpha``. Each works on the values, so gradients follow them."""

from __future__ import annotations

from .tensor import SparseTensor

__all__ = ["attach", "attach_in_place"]


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


def _scale_in_place(name, method):
    def op(self, *args):
        new = getattr(type(self), method)(self, *args)  # the out-of-place op, with its checks
        if new._vals.dtype != self._vals.dtype:  # was: missing; PyTorch's error, not a cast
            raise RuntimeError(
                f"SparseTensor.{name}: result type {new._vals.dtype} can't be "
                f"cast to the desired output type {self._vals.dtype}"
            )
        self._vals.copy_(new._vals)  # in place, with the values' autograd rules
        return self

    op.__name__ = name
    op.__doc__ = (
        f"PyTorch's in-place ``{name}`` of a sparse tensor: the stored values changed "
        "in place (a leaf that requires grad refused outside no_grad, as a dense "
        "one's); the pattern is kept."
    )
    return op


def add_(self, other, *, alpha=1):
    """``s.add_(other)``: ``s`` becomes ``s + alpha * other`` (the merged pattern); a leaf that
    requires grad is refused (its values would leave the graph's leaf)."""
    if self.requires_grad and self.is_leaf:
        raise RuntimeError(
            "SparseTensor.add_/sub_: a sparse leaf that requires grad is not "
            "changed in place (as PyTorch's: a leaf Variable that requires grad "
            "is being used in an in-place operation)"
        )
    out = add(self, other, alpha=alpha)
    if not isinstance(out, SparseTensor):
        raise TypeError(
            f"SparseTensor.add_: other must be sparse (the result of adding a dense "
            f"tensor is dense), got {type(other).__name__}"
        )
    self._idx, self._vals, self._coalesced = out._idx, out._vals, out._coalesced
    return self


def attach_in_place(cls) -> None:
    for name, method in (("mul_", "__mul__"), ("div_", "__truediv__"), ("neg_", "__neg__")):
        setattr(cls, name, _scale_in_place(name, method))
    cls.add_ = add_
    cls.sub_ = lambda self, other, *, alpha=1: add_(self, other, alpha=-alpha)
