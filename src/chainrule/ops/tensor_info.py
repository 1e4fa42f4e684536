"""Tensor methods PyTorch programs use to ask about a tensor's memory and kind: ``stride``,
``storage_offset``, ``data_ptr``, ``nbytes``, ``itemsize``, ``nelement``, ``ndimension``,
``dim_order``, ``layout``, ``is_cpu``/``is_sparse``/``is_pinned``..., ``pin_memory``,
``share_memory_``, ``output_nr``, ``get_device``, and ``mH``, ``H``, ``sum_to_size``,
``multinomial``, ``new_empty_strided``, ``byte``/``char``/``short``.

A chainrule tensor is a dense NumPy (or CuPy) array, so the memory answers are the array's:
strides in elements (0 along a broadcast axis, as PyTorch's ``expand``), the offset from the
start of the array that owns the memory, its address. It is never sparse, quantized, pinned
or on a meta/MPS/XPU device, and ``pin_memory()`` returns the tensor where a GPU is visible
(PyTorch's RuntimeError without one). ``share_memory_()`` moves
a CPU tensor's values into memory that processes made by ``fork`` share (``backend/shared.py``);
views made of it before then keep the old memory.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from ..autograd.tensor_data import Size
from ..backend import cuda_available, device_of, numpy
from ..backend.shared import in_shared_memory, is_shared
from ._conj import conj_copy
from ._layout import layout, strided
from .creation_extra import multinomial
from .elementwise import cast
from .shape import sum_to, transpose

__all__ = ["layout", "strided"]


def _address(arr) -> int:
    data = getattr(arr, "data", None)
    ptr = getattr(data, "ptr", None)  # CuPy
    return int(ptr) if ptr is not None else int(arr.__array_interface__["data"][0])


def _owner(arr):
    while getattr(arr, "base", None) is not None and hasattr(arr.base, "dtype") \
            and hasattr(arr.base, "shape"):
        arr = arr.base
    return arr


def _stride(self, dim=None):
    """The step in elements between neighbours along each axis (along ``dim``: one int)."""
    arr = self._data
    steps = tuple(s // arr.itemsize for s in arr.strides)
    if dim is None:
        return steps
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) \
            or not -arr.ndim <= dim < arr.ndim:  # a 0-D tensor has none (PyTorch's IndexError)
        raise IndexError(f"stride: dim {dim!r} is out of range for a tensor with {arr.ndim} "
                         "dimensions")
    return steps[dim]


def _storage_offset(self) -> int:
    """Elements from the start of the array that owns this tensor's memory to its first one."""
    arr = self._data
    return (_address(arr) - _address(_owner(arr))) // arr.itemsize


def _dim_order(self, *, ambiguity_check=False) -> tuple:
    """The axes from the outermost in memory to the innermost: ``(0, 1, ...)`` when contiguous,
    else PyTorch's order (by stride; a zero stride, or equal strides of a longer axis first,
    leave the logical order)."""
    steps, shape, n = _stride(self), tuple(self.shape), self.ndim
    if n < 2 or self._data.flags.c_contiguous:
        return tuple(range(n))

    def swap(a, b):  # 1: b is outer to a, -1: a is outer to b, 0: no preference
        sa, sb = steps[a], steps[b]
        if sa == 0 or sb == 0 or (sa == sb and shape[b] >= shape[a]):
            return 0
        return 1 if sa == sb or sa > sb else -1

    perm = list(reversed(range(n)))  # innermost first while sorting
    for i in range(1, n):
        j = i
        for k in reversed(range(i)):
            order = swap(perm[k], perm[j])
            if order > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif order < 0:
                break
    return tuple(reversed(perm))


def _sum_to_size(self, *size, **kw) -> Tensor:
    """Sum over the axes that broadcasting would expand from ``size`` (also ``size=``) to this
    shape."""
    if set(kw) - {"size"} or (kw and size):
        raise TypeError(f"sum_to_size: give the size positionally or as size=, got {size!r} and "
                        f"keywords {sorted(kw)}")
    size = (kw["size"],) if kw else size
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != n for s, n in zip(size, shape[lead:])):
        raise ValueError(f"sum_to_size: size {size} is not expandable to the tensor's shape "
                         f"{shape}")
    return sum_to(self, size)


def _h(self) -> Tensor:
    if self.ndim > 2:
        raise ValueError(f"H: only for matrices (2-D tensors), got shape {tuple(self.shape)}; "
                         "for batches of matrices use mH")
    return conj_copy(self if self.ndim < 2 else transpose(self, 0, 1), "H")


def _m_h(self) -> Tensor:
    if self.ndim < 2:
        raise ValueError(f"mH: needs at least 2 dimensions, got shape {tuple(self.shape)}")
    return conj_copy(transpose(self, -2, -1), "mH")


def _new(self, *args, device=None) -> Tensor:
    """PyTorch's legacy constructor, in ``self``'s dtype and device: ``x.new(2, 3)`` or
    ``x.new(torch.Size([2, 3]))`` a tensor of that size (zeros; PyTorch leaves the memory
    uninitialized), ``x.new()`` an empty one, ``x.new([1, 2])`` one holding the data (the
    awd-lstm-lm repository draws its masks from ``x.data.new(1, n, d).bernoulli_(1 - p)``)."""
    if any(isinstance(a, Tensor) for a in args):
        raise TypeError("Tensor.new: a Tensor argument (PyTorch's alias of its storage) is not "
                        "supported; use new_tensor(t) for a copy")
    if not args:
        return self.new_zeros((0,), device=device)
    if len(args) == 1 and isinstance(args[0], Size):
        return self.new_zeros(tuple(args[0]), device=device)
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        if any(a < 0 for a in args):
            raise ValueError(f"Tensor.new: sizes must be non-negative, got {args!r}")
        return self.new_zeros(tuple(int(a) for a in args), device=device)
    if len(args) == 1:
        return self.new_tensor(args[0], device=device)
    raise TypeError(f"Tensor.new: expected sizes (ints), a Size or one sequence of data, got "
                    f"{args!r}")


def _pin_memory(self, device=None) -> Tensor:
    """The tensor itself where a GPU is visible (no page-locked memory is allocated); without
    one, PyTorch's RuntimeError."""
    if not cuda_available():
        raise RuntimeError("pin_memory: Cannot access accelerator device when none is available "
                           "(pinned memory needs a CUDA or other accelerator backend)")
    return self


def _new_empty_strided(self, size, stride, *, dtype=None, device=None,
                       requires_grad: bool = False) -> Tensor:
    """``new_empty(size)``: chainrule's tensors are dense, so ``stride`` is not kept."""
    return self.new_empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def _share_memory_(self):
    """Move the values into memory shared with processes forked after this (Hogwild-style
    training); a GPU or meta tensor is returned as it is, as PyTorch's CUDA tensors."""
    array = self._writable()
    if type(array) is numpy.ndarray and not is_shared(array):
        self._set_array(in_shared_memory(array))
    return self


def _no(self) -> bool:
    return False


for _name in ("is_sparse", "is_quantized", "is_mps", "is_xpu", "is_mkldnn",
              "is_sparse_csr"):
    setattr(Tensor, _name, property(_no, doc="False: chainrule's tensors are dense arrays."))
Tensor.is_cpu = property(lambda self: device_of(self._data) == "cpu",
                         doc="True when the data is a NumPy array (the CPU).")
Tensor.layout = property(lambda self: strided, doc="``strided``: dense, the only layout.")
Tensor.itemsize = property(lambda self: self._data.itemsize, doc="Bytes per element.")
Tensor.nbytes = property(lambda self: self._data.nbytes, doc="Bytes of the elements.")
Tensor.mH = property(_m_h, doc="The conjugate transpose of the last two axes (a real tensor's: "
                              "the transpose).")
Tensor.H = property(_h, doc="The conjugate transpose of a matrix (a real one's: the transpose).")
Tensor.output_nr = property(lambda self: 0 if self._ctx is None else self._out_idx,
                            doc="Which output of the op that made it this tensor is (0 for a "
                                "leaf).")
Tensor.get_device = lambda self: -1 if self.device == "cpu" else int(self._data.device.id)
Tensor.byte = lambda self: cast(self, "uint8")
Tensor.char = lambda self: cast(self, "int8")
Tensor.short = lambda self: cast(self, "int16")
Tensor.nelement = lambda self: self.numel()
Tensor.ndimension = lambda self: self.ndim
Tensor.stride = _stride
Tensor.storage_offset = _storage_offset
Tensor.data_ptr = lambda self: _address(self._data)
Tensor.dim_order = _dim_order
Tensor.is_pinned = _no
Tensor.is_shared = lambda self: is_shared(self._data)
Tensor.pin_memory = _pin_memory
Tensor.share_memory_ = _share_memory_
Tensor.sum_to_size = _sum_to_size
Tensor.new = _new
Tensor.new_empty_strided = _new_empty_strided
Tensor.multinomial = lambda self, num_samples, replacement=False, *, generator=None: (
    multinomial(self, num_samples, replacement, generator=generator))
