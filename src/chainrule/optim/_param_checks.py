"""The checks a tensor passes to become an optimizer's parameter."""

from __future__ import annotations

from ..autograd import Tensor

__all__ = ["check_param"]


def check_param(name: str, p, where: str, complex_ok: bool = True) -> None:
    """Raise unless ``p`` can be a parameter of the optimizer ``name``: a floating-point (or, where
    ``complex_ok``, complex) leaf Tensor whose memory a step can write."""
    if not isinstance(p, Tensor):
        raise TypeError(f"{name}: {where} must be a Tensor, got {type(p).__name__}")
    if not p.is_leaf:
        raise ValueError(
            f"{name}: {where} is not a leaf tensor (it was computed by "
            f"{type(p.grad_fn).__name__}); optimize the leaf tensors it was computed from"
        )
    if p._data.dtype.kind == "c" and not complex_ok:
        raise TypeError(f"{name}: {where} is complex ({p._data.dtype}), and {name} does not "
                        "support complex parameters (as PyTorch's); use another optimizer (e.g. "
                        "Adam) for it or train its real view (view_as_real)")
    if p._data.dtype.kind not in "fc":
        raise TypeError(f"{name}: {where} must have a floating-point or complex dtype, got "
                        f"{p._data.dtype}")
    if p.requires_grad and not getattr(getattr(p._writable(), "flags", None), "writeable", True):
        raise RuntimeError(f"{name}: {where} is read-only memory (e.g. an expand(), whose elements "
                           "share one memory location that a step would write more than once, "
                           "as PyTorch's step refuses); clone() it first")
