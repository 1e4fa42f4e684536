"""``chainrule.overrides``: PyTorch's ``torch.overrides`` names, for code copied from PyTorch's
functions (a modified ``F.multi_head_attention_forward``), which begins ``if
has_torch_function(args): return handle_torch_function(...)``.

chainrule has no ``__torch_function__`` protocol: no argument overrides a function, so the
checks are False and a copied function runs its own body, as it does in PyTorch for plain
tensors.
"""

from __future__ import annotations

from .autograd.tensor import Tensor

__all__ = ["handle_torch_function", "has_torch_function", "has_torch_function_unary",
           "has_torch_function_variadic", "is_tensor_like", "wrap_torch_function"]


def has_torch_function(relevant_args) -> bool:
    """False: no argument overrides a function in chainrule."""
    return False


def has_torch_function_unary(obj) -> bool:
    """False: no argument overrides a function in chainrule."""
    return False


def has_torch_function_variadic(*args) -> bool:
    """False: no argument overrides a function in chainrule."""
    return False


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Never reached by code that asks ``has_torch_function`` first (always False here)."""
    raise RuntimeError(f"handle_torch_function: chainrule has no __torch_function__ protocol, so "
                       f"nothing overrides {getattr(public_api, '__name__', public_api)!r} "
                       "(has_torch_function is always False); call it directly")


def is_tensor_like(inp) -> bool:
    """Whether ``inp`` is a Tensor (chainrule has no other tensor-like types)."""
    return isinstance(inp, Tensor)


def wrap_torch_function(dispatcher):
    """PyTorch's decorator that makes a function overridable: here the function itself."""
    return lambda func: func
