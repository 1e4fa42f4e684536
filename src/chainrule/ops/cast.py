"""Dtype and device conversions: ``cast`` (``Tensor.astype``, ``.float()``, ``.double()``) and
``to_device_op`` (``.cpu()``, ``.cuda()``), each recorded so that gradients flow back."""

from __future__ import annotations

from ..autograd.function import Function, nondiff
from ..autograd.grad_checks import integer_input_error
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device, validate_device
from ._conj import Real

__all__ = ["Cast", "ToDevice", "cast", "to_device_op"]


def _astype(x, dtype):
    """``x.astype(dtype)`` without NumPy's warnings for values the target cannot hold (a NaN or
    infinite float to an int, a float64 beyond float32's range, an int beyond float16's):
    PyTorch converts them silently, and NumPy's values are PyTorch's (T5's log(0).to(torch.long),
    a float32 view of a float64 ``finfo.min`` mask, are discarded or saturate)."""
    xp = get_array_module(x)
    lossy = x.dtype.kind == "f" and (dtype.kind in "iu" or dtype.itemsize < x.dtype.itemsize) \
        or dtype == xp.float16  # an integer past 65504 is inf
    if not lossy or not hasattr(xp, "errstate"):  # only these can warn; CuPy never does
        return x.astype(dtype, copy=False)
    with xp.errstate(invalid="ignore", over="ignore"):
        return x.astype(dtype, copy=False)


class Cast(Function):
    """A dtype conversion. Complex to real keeps the real part (PyTorch's cast, without NumPy's
    warning), so real to complex gives back the real part of the gradient, as PyTorch."""

    complex_grad = True

    def forward(self, x):
        if x.dtype.kind == "c" and self.dtype.kind != "c":
            x = x.real
        return _astype(x, self.dtype)

    def backward(self, g):
        x = self.inputs[0]
        if x._data.dtype.kind not in "fc":  # 2.5 would reach an int tensor as 2: refused
            raise integer_input_error(self, g._data.dtype, x._data.dtype)
        if g._data.dtype.kind == "c" and x._data.dtype.kind != "c":
            g = Real.apply(g)
        return cast(g, x.dtype)


class ToDevice(Function):
    complex_grad = True

    def forward(self, x):
        return to_device(x, self.device)

    def backward(self, g):
        return to_device_op(g, self.inputs[0].device)


def cast(x, dtype):
    """``x`` converted to ``dtype`` (differentiable between float and complex dtypes)."""
    xp = get_array_module(x._data)
    dtype = xp.dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind not in "fc":
        return nondiff(lambda a: _astype(a, dtype), x)
    return Cast.apply(x, dtype=dtype)


def to_device_op(x, device):
    """``x`` copied to ``device``; gradients are copied back."""
    return ToDevice.apply(x, device=device)


Tensor.astype = cast
Tensor.float = lambda self: cast(self, "float32")
Tensor.double = lambda self: cast(self, "float64")
Tensor.cfloat = lambda self: cast(self, "complex64")  # PyTorch's x.cfloat(): to complex64
Tensor.cdouble = lambda self: cast(self, "complex128")


def _move(self, device):
    """This tensor on ``device`` ("cpu" or "cuda"); the copy is recorded so gradients flow back."""
    name = validate_device(device)
    return self if name == self.device else to_device_op(self, name)


Tensor.cpu = lambda self: _move(self, "cpu")
Tensor.cuda = lambda self, device=None: _move(self, "cuda")
