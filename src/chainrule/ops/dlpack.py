"""DLPack exchange, PyTorch's ``from_dlpack``/``to_dlpack`` and ``Tensor.__dlpack__``: a tensor's
memory shared with NumPy, PyTorch, CuPy, JAX... without a copy.

``cr.from_dlpack(x)`` wraps another library's array (anything with ``__dlpack__``, or a capsule)
in a tensor that does not require grad, the memory shared: a change on one side shows on the
other. NumPy reads a bare capsule (``to_dlpack``'s result) as read-only memory, so a tensor made
from one refuses in-place changes; pass the array itself to share writable memory.
``np.from_dlpack(t)`` and ``torch.from_dlpack(t)`` read a chainrule tensor; one that requires
grad is refused, as in PyTorch (use ``t.detach()``).
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import from_dlpack as _array_from_dlpack
from ..backend import validate_device as device_name

__all__ = ["from_dlpack", "to_dlpack"]


def _exportable(t: Tensor) -> None:
    if t.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")


def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):  # noqa: N807
    """The DLPack capsule of this tensor's memory (the array's own ``__dlpack__``)."""
    _exportable(self)
    given = {k: v for k, v in (("stream", stream), ("max_version", max_version),
                               ("dl_device", dl_device), ("copy", copy)) if v is not None}
    return self._data.__dlpack__(**given)


def __dlpack_device__(self) -> tuple:  # noqa: N807
    """``(device type, index)`` of this tensor's memory: (1, 0) on the CPU, (2, i) on GPU i."""
    return self._data.__dlpack_device__()


def to_dlpack(tensor):
    """A DLPack capsule of ``tensor``'s memory (``tensor.__dlpack__()``), for a consumer that
    takes capsules (``cr.from_dlpack``, ``torch.from_dlpack``...)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: tensor must be a Tensor, got {type(tensor).__name__}")
    _exportable(tensor)
    return tensor._data.__dlpack__()


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor sharing the memory of ``ext_tensor``: an object with ``__dlpack__`` and
    ``__dlpack_device__`` (a NumPy, PyTorch, CuPy... array) or a DLPack capsule.

    Args:
        device: where the tensor should be ("cpu", "cuda"); None keeps the producer's device (a
            different one copies).
        copy: True always copies, None copies only to change device, False never copies (a
            device change then raises).
    """
    if copy is not None and not isinstance(copy, bool):
        raise TypeError(f"from_dlpack: copy must be None, True or False, got {copy!r}")
    if isinstance(ext_tensor, Tensor):
        out = ext_tensor.detach()
    elif hasattr(ext_tensor, "__dlpack__") or type(ext_tensor).__name__ == "PyCapsule":
        out = Tensor(_array_from_dlpack(ext_tensor))
    else:
        raise TypeError(f"from_dlpack: ext_tensor must have __dlpack__ or be a DLPack capsule, "
                        f"got {type(ext_tensor).__name__}")
    moved = device is not None and device_name(device) != out.device
    if moved and copy is False:
        raise ValueError(f"from_dlpack: copy=False, but the tensor is on {out.device} and device "
                         f"{device!r} was asked for, which needs a copy")
    if moved:
        out = out.to(device)
    return out.clone() if copy and not moved else out


Tensor.__dlpack__ = __dlpack__
Tensor.__dlpack_device__ = __dlpack_device__
