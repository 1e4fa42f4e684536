"""``chainrule.backends.cuda``: PyTorch's CUDA matmul switches, accepted and without effect.

``torch.backends.cuda.matmul.allow_tf32 = True`` lets PyTorch use TF32 in float32 products on
GPUs that have it; chainrule's float32 products are always full float32, so the switches only
hold what a script assigns.
"""

from __future__ import annotations

from types import SimpleNamespace

__all__ = ["matmul"]

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)
