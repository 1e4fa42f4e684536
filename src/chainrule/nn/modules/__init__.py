"""PyTorch's ``torch.nn.modules`` path: ``nn.modules.module`` holds ``Module`` and the global
module hooks (``register_module_forward_hook`` and the rest); ``nn.modules.utils`` holds
``_pair`` and its siblings and ``consume_prefix_in_state_dict_if_present``."""

from ..module import Module
from . import _paths, module, utils  # noqa: F401 - _paths: nn/__init__ installs the per-kind paths

__all__ = ["Module", "module", "utils"]
