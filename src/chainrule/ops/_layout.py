"""PyTorch's ``torch.layout`` values and the factory keywords ``layout=`` and ``pin_memory=``.

Every chainrule factory makes a dense array, so ``layout`` may be ``None`` or ``strided``; a
sparse layout is refused (build one with ``chainrule.sparse_coo_tensor``). ``pin_memory=True``
is PyTorch's error where no GPU is visible, as PyTorch's on a machine without one; with CuPy and
a GPU it is accepted and the tensor is an ordinary host array (chainrule allocates no page-locked
memory: ``is_pinned()`` stays False, and ``Tensor.pin_memory()`` returns the tensor itself there;
without a GPU it is PyTorch's RuntimeError, as ``chainrule.tensor(data, pin_memory=True)``).
"""

from __future__ import annotations

from ..backend import cuda_available
from ..backend.device import check_pin_memory

__all__ = ["check_factory_options", "layout", "strided"]


class layout:  # noqa: N801 - PyTorch's name
    """PyTorch's ``torch.layout``: ``chainrule.strided`` (dense: every Tensor's) or
    ``chainrule.sparse_coo`` (a SparseTensor's), so ``isinstance(x.layout, torch.layout)``
    holds."""

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"chainrule.{self._name}"


strided = layout("strided")


def check_factory_options(op: str, layout_=None, pin_memory=False) -> None:
    """Refuse what a factory named ``op`` cannot make: a layout other than ``strided`` (or a
    value that is no layout), and ``pin_memory=True`` without a GPU (PyTorch's error)."""
    if layout_ is not None and layout_ is not strided:
        if not isinstance(layout_, layout):
            raise TypeError(f"{op}: layout must be chainrule.strided (a chainrule.layout) or "
                            f"None, got {layout_!r}")
        raise NotImplementedError(f"{op}: layout={layout_!r} is not supported: chainrule's "
                                  "factories make dense tensors (layout=chainrule.strided); "
                                  "build a sparse one with chainrule.sparse_coo_tensor")
    check_pin_memory(op, pin_memory, cuda_available)
