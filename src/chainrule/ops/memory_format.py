"""PyTorch's memory formats: ``contiguous_format``, ``channels_last``, ``channels_last_3d`` and
``preserve_format``, taken where PyTorch takes ``memory_format=``: ``x.contiguous()``,
``x.to()``, ``x.is_contiguous()`` and ``model.to()`` (``model.to(memory_format=
torch.channels_last)``, a speed setting of convolutional programs).

The values are the same in any format. chainrule keeps its arrays row-major, so a conversion to
channels-last changes nothing (``stride()`` stays row-major), and ``is_contiguous(memory_format=
channels_last)`` says whether the array's strides are channels-last ones (NumPy's rule, which
ignores dimensions of size 1, as PyTorch's does).
"""

from __future__ import annotations

from ..autograd.tensor import Tensor

__all__ = ["channels_last", "channels_last_3d", "check_format", "contiguous_format",
           "memory_format", "preserve_format"]


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory format (PyTorch's ``torch.memory_format``)."""

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"chainrule.{self._name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


def check_format(who: str, fmt) -> None:
    """TypeError unless ``fmt`` is one of the memory formats."""
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{who}: memory_format must be one of chainrule.contiguous_format, "
                        f"channels_last, channels_last_3d, preserve_format, got {fmt!r}")


def _contiguous(self, memory_format=contiguous_format) -> Tensor:
    """``self`` when its array is row-major, else a row-major copy that gradients flow through,
    as PyTorch's: a transposed, strided or expanded view must not hand out its base's memory,
    which a write into the result would change (``x.t().contiguous()[0] = 1``)."""
    check_format("contiguous", memory_format)
    return self if self._data.flags.c_contiguous else self.clone()


def _is_contiguous(self, memory_format=contiguous_format) -> bool:
    check_format("is_contiguous", memory_format)
    rank = {channels_last: 4, channels_last_3d: 5}.get(memory_format)
    if rank is None:
        return bool(self._data.flags.c_contiguous)
    if self._data.ndim != rank:
        return False
    order = (0,) + tuple(range(2, rank)) + (1,)
    return bool(self._data.transpose(order).flags.c_contiguous)


Tensor.contiguous = _contiguous
Tensor.is_contiguous = _is_contiguous
