"""``chainrule.backends.cuda``: PyTorch's CUDA matmul switches, accepted and without effect.

``torch.backends.cuda.matmul.allow_tf32 = True`` lets PyTorch use TF32 in float32 products on
GPUs that have it; chainrule's float32 products are always full float32, so the switches only
hold what a script assigns. ``is_built()`` says whether CuPy, chainrule's CUDA backend, is
installed (``chainrule.cuda.is_available()`` says whether it also sees a GPU).
"""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

__all__ = ["is_built", "matmul"]

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)


def is_built() -> bool:
    """True when CuPy is installed, so chainrule could run on a CUDA GPU (as PyTorch's: built with
    CUDA support, whether or not a GPU is present)."""
    return importlib.util.find_spec("cupy") is not None
