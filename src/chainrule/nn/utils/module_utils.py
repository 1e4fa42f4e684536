"""``torch.nn.utils`` helpers about modules: ``skip_init``, the weight memory-format conversions
``convert_conv2d_weight_memory_format``/``convert_conv3d_weight_memory_format``, and
``clip_grad_norm`` (PyTorch's deprecated name of ``clip_grad_norm_``).

chainrule keeps every array row-major whatever the memory format asked for (ops/memory_format.py):
values and results are the same in any layout, so the conversions check their arguments and
return the module unchanged.
"""

from __future__ import annotations

import warnings

from ...ops.memory_format import check_format
from ..module import Module
from .clip_grad import clip_grad_norm_

__all__ = ["clip_grad_norm", "convert_conv2d_weight_memory_format",
           "convert_conv3d_weight_memory_format", "skip_init"]


def skip_init(module_cls, *args, **kwargs) -> Module:
    """``module_cls(*args, **kwargs)``: PyTorch builds it without running its initialization
    (the parameters hold whatever memory held) for the caller to fill; chainrule builds it as
    usual, so the parameters hold the module's own initial values, which a caller that fills
    them in overwrites all the same.
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise TypeError(f"skip_init: module_cls must be an nn.Module class, got {module_cls!r}")
    return module_cls(*args, **kwargs)


def _convert(who, module, memory_format):
    if not isinstance(module, Module):
        raise TypeError(f"{who}: module must be an nn.Module, got {type(module).__name__}")
    check_format(who, memory_format)
    return module


def convert_conv2d_weight_memory_format(module: Module, memory_format) -> Module:
    """``module`` itself: PyTorch rewrites the weights of its ``Conv2d``/``ConvTranspose2d``
    layers in ``memory_format``; chainrule's layout is row-major in any format (see the module
    docstring), so the values, and the results, are already what PyTorch's would be."""
    return _convert("convert_conv2d_weight_memory_format", module, memory_format)


def convert_conv3d_weight_memory_format(module: Module, memory_format) -> Module:
    """``module`` itself, as ``convert_conv2d_weight_memory_format`` for ``Conv3d`` and
    ``ConvTranspose3d`` layers."""
    return _convert("convert_conv3d_weight_memory_format", module, memory_format)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite: bool = False,
                   foreach=None):
    """``clip_grad_norm_`` under PyTorch's deprecated name, with its FutureWarning."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
