"""The arguments every PyTorch loss takes before ``reduction``: ``weight`` in its positional
slot, and the deprecated ``size_average``/``reduce`` that PyTorch still reads (with a warning)."""

from __future__ import annotations

import numbers
import warnings

from ..autograd.tensor import Tensor

__all__ = ["_torch_loss_args", "legacy_reduction", "plain_number"]


def plain_number(value):
    """A 0-d Tensor that does not require grad as its Python number, as PyTorch's argument parser
    takes one for a float or int option (``margin=torch.tensor(0.2)``); anything else as given."""
    if isinstance(value, Tensor) and value.ndim == 0 and not value.requires_grad:
        return value.item()
    return value


def _torch_loss_args(op, weight, size_average, reduce, reduction="mean"):
    """PyTorch's positional slots before ``reduction``: ``weight`` must not be a reduction name;
    the reduction to use (``legacy_reduction``: the deprecated ``size_average``/``reduce``, when
    given, decide it, as in PyTorch)."""
    if isinstance(weight, str):
        raise TypeError(f"{op}: weight must be a Tensor or None, got {weight!r}; the third "
                        f"positional argument is weight, as in PyTorch: pass reduction={weight!r}")
    return legacy_reduction(size_average, reduce, reduction)


def legacy_reduction(size_average, reduce, reduction):
    """``reduction``, or PyTorch's reading of its deprecated ``size_average``/``reduce`` when
    either is given (``F.binary_cross_entropy(x, y, size_average=False)``, the older VAE
    example's sum): None counts as True; both True is "mean", ``reduce`` alone "sum", else
    "none"; with PyTorch's deprecation warning. PyTorch 0.4's ``reduction="elementwise_mean"`` is
    "mean", with its warning too."""
    if size_average is None and reduce is None:
        if reduction == "elementwise_mean":  # PyTorch 0.4's name of "mean", read with a warning
            warnings.warn("reduction='elementwise_mean' is deprecated. Please use "
                          "reduction='mean' instead.", UserWarning, stacklevel=4)
            return "mean"
        return reduction
    for name, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None and not isinstance(value, (bool, numbers.Integral)):
            raise TypeError(f"{name} must be a bool or None (PyTorch's deprecated option, before "
                            f"reduction in the positional order), got {value!r}; pass "
                            f"reduction={value!r}")
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{legacy}' instead.", UserWarning, stacklevel=4)
    return legacy
