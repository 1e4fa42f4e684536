"""PyTorch's ``torch.nn.modules`` path: ``nn.modules.module`` holds ``Module`` and the global
module hooks (``register_module_forward_hook`` and the rest)."""

from ..module import Module
from . import module

__all__ = ["Module", "module"]
