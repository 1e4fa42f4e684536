"""PyTorch's module paths ``torch.utils.data`` and ``torch.utils.checkpoint``.

``from chainrule.utils.data import DataLoader``;
``from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential``.
"""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
