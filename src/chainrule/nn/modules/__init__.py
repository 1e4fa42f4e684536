"""PyTorch's ``torch.nn.modules`` path: ``nn.modules.module`` holds ``Module`` and the global
module hooks (``register_module_forward_hook`` and the rest)."""

from ..module import Module
from . import _paths, module  # noqa: F401 - _paths: nn/__init__ installs the per-kind paths

__all__ = ["Module", "module"]
