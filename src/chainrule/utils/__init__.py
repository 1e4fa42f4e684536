"""PyTorch's module paths ``torch.utils.data``, ``.checkpoint`` and ``.tensorboard``.

``from chainrule.utils.data import DataLoader``;
``from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential``;
``from chainrule.utils.tensorboard import SummaryWriter`` (imported on request, as PyTorch's).
"""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
