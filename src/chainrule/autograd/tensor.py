"""Tensor: an array, its gradient, and the Function node that made it.

Operators and most methods (``+``, ``@``, ``.sum()``, ``.relu()`` ...) are attached by
``chainrule.ops``, which is where every differentiable op lives; this file holds only the
bookkeeping.
"""

from __future__ import annotations

from ..backend import asnumpy, device_of, get_array_module, numpy, to_device

__all__ = ["Tensor", "tensor"]

_FLOAT_KINDS = "f"


class Tensor:
    """A multi-dimensional array that remembers how it was computed, for reverse-mode autodiff.

    Attributes:
        data: the underlying NumPy (or CuPy) array.
        grad: the accumulated gradient (a Tensor) after ``backward()``, else None.
        requires_grad: whether operations on this tensor are recorded.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_out_idx", "_retains_grad",
                 "__weakref__")
    __array_priority__ = 1000  # make ``ndarray + Tensor`` call Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False):
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self._ctx = None
        self._out_idx = 0
        self._retains_grad = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def numel(self) -> int:
        """Number of elements."""
        return self.data.size

    @property
    def device(self) -> str:
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for user-made tensors (not from a recorded op); gradients accumulate only here."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function node that produced this tensor, or None for a leaf."""
        return self._ctx

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.data)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = numpy.array2string(asnumpy(self.data), separator=", ", prefix="tensor(")
        extra = []
        if self.data.dtype != numpy.float32:
            extra.append(f"dtype={self.data.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        if self._ctx is not None:
            extra.append(f"grad_fn={type(self._ctx).__name__}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extra) + ")"

    def numpy(self):
        """The data as a NumPy array (shares memory on the CPU; copies from a GPU)."""
        return asnumpy(self.data)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): tensor has {self.data.size} elements (shape {self.shape}), expected 1"
            )
        return self.data.item()

    def tolist(self):
        return asnumpy(self.data).tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this data, cut from the graph (it does not require grad)."""
        return Tensor(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaf tensors of a float dtype only); returns self."""
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (e.g. for sensitivity analysis)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def backward(self, grad=None, *, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Backpropagate from this tensor, accumulating gradients into leaf tensors' ``.grad``.

        Args:
            grad: gradient of the final objective with respect to this tensor; may be omitted only
                for a one-element tensor (it is then 1).
            retain_graph: keep the graph's saved values so that backward can run through it again.
            create_graph: record the backward pass itself, for higher-order derivatives.
        """
        from .graph import backward

        backward([self], None if grad is None else [grad], retain_graph=retain_graph,
                 create_graph=create_graph)


def tensor(data, *, requires_grad: bool = False, dtype=None, device: str | None = None) -> Tensor:
    """Make a leaf Tensor from a Python number, nested list, NumPy/CuPy array or Tensor (copied).

    Python floats become float32 (the default dtype), Python ints int64; arrays keep their dtype
    unless ``dtype`` is given.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    if isinstance(data, Tensor):
        data = data.data
    xp = get_array_module(data)
    if dtype is not None:
        arr = xp.array(data, dtype=dtype)
    elif hasattr(data, "dtype"):
        arr = xp.array(data)
    else:
        arr = numpy.array(data)
        if arr.dtype.kind == "f":
            arr = arr.astype(numpy.float32)
        elif arr.dtype.kind == "O":
            raise TypeError(
                f"tensor(): cannot make a numeric tensor from {type(data).__name__} data"
            )
    if device is not None:
        arr = to_device(arr, device)
    if requires_grad and arr.dtype.kind not in _FLOAT_KINDS:
        raise TypeError(
            f"tensor(): only floating-point tensors can require gradients, got dtype {arr.dtype}; "
            "pass dtype='float32' or use float data"
        )
    return Tensor(arr, requires_grad=bool(requires_grad))

