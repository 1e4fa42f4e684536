"""``chainrule.backends.cuda``: PyTorch's CUDA matmul and attention switches, accepted and
without effect.

``torch.backends.cuda.matmul.allow_tf32 = True`` lets PyTorch use TF32 in float32 products on
GPUs that have it; chainrule's float32 products are always full float32, so the switches only
hold what a script assigns. ``is_built()`` says whether CuPy, chainrule's CUDA backend, is
installed (``chainrule.cuda.is_available()`` says whether it also sees a GPU). The attention
switches (``enable_flash_sdp(False)``, ``flash_sdp_enabled()``..., the deprecated
``sdp_kernel(enable_flash=...)``) hold their flags too: chainrule's attention is the math one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from types import SimpleNamespace

__all__ = ["cudnn_sdp_enabled", "enable_cudnn_sdp", "enable_flash_sdp", "enable_math_sdp",
           "enable_mem_efficient_sdp", "flash_sdp_enabled", "is_built", "math_sdp_enabled",
           "matmul", "mem_efficient_sdp_enabled", "sdp_kernel"]

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)


def is_built() -> bool:
    """True when CuPy is installed, so chainrule could run on a CUDA GPU (as PyTorch's: built with
    CUDA support, whether or not a GPU is present)."""
    return importlib.util.find_spec("cupy") is not None


_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _flag(who: str, enabled) -> bool:
    if not isinstance(enabled, bool):
        raise TypeError(f"{who}: enabled must be True or False, got {enabled!r}")
    return enabled


def enable_flash_sdp(enabled: bool) -> None:
    _SDP["flash"] = _flag("enable_flash_sdp", enabled)


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _SDP["mem_efficient"] = _flag("enable_mem_efficient_sdp", enabled)


def enable_math_sdp(enabled: bool) -> None:
    _SDP["math"] = _flag("enable_math_sdp", enabled)


def enable_cudnn_sdp(enabled: bool) -> None:
    _SDP["cudnn"] = _flag("enable_cudnn_sdp", enabled)


def flash_sdp_enabled() -> bool:
    return _SDP["flash"]


def mem_efficient_sdp_enabled() -> bool:
    return _SDP["mem_efficient"]


def math_sdp_enabled() -> bool:
    return _SDP["math"]


def cudnn_sdp_enabled() -> bool:
    return _SDP["cudnn"]


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True):
    """The deprecated switch of the four flags for a block (PyTorch's FutureWarning), restored
    after it."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context "
                  "manager will be removed. Please see `torch.nn.attention.sdpa_kernel()` for the "
                  "new context manager, with updated signature", FutureWarning, stacklevel=3)
    saved = dict(_SDP)
    for key, value in (("flash", enable_flash), ("math", enable_math),
                       ("mem_efficient", enable_mem_efficient), ("cudnn", enable_cudnn)):
        _SDP[key] = _flag("sdp_kernel", value)
    try:
        yield
    finally:
        _SDP.update(saved)
