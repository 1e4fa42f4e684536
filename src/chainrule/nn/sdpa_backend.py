"""PyTorch's attention-kernel choice, ``torch.nn.attention.SDPBackend`` and ``sdpa_kernel``.

PyTorch picks a fused kernel (flash, memory-efficient, cuDNN) or the plain "math" one for
``scaled_dot_product_attention``; a program may restrict the choice, ``with
sdpa_kernel(SDPBackend.MATH):``. chainrule has the math computation only, whose results the
choice cannot change, so the context manager checks its argument and changes nothing.
"""

from __future__ import annotations

import contextlib
import enum

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """The kernels PyTorch's ``scaled_dot_product_attention`` chooses among (its values)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """``with sdpa_kernel(SDPBackend.MATH):`` (one backend or a list): accepted; chainrule always
    computes attention the math way, so the block's results are those without the manager."""
    items = list(backends) if isinstance(backends, (list, tuple)) else [backends]
    for b in items:
        if not isinstance(b, SDPBackend):
            raise TypeError(f"sdpa_kernel: backends must be an SDPBackend or a list of them, got "
                            f"{b!r}")
    if not isinstance(set_priority, bool):
        raise TypeError(f"sdpa_kernel: set_priority must be True or False, got {set_priority!r}")
    yield
