"""PyTorch's ``torch.nn.modules.module``: ``Module`` and the hooks every module's call runs
(``register_module_forward_pre_hook``, ``register_module_forward_hook``,
``register_module_full_backward_pre_hook``, ``register_module_full_backward_hook``; see
nn/hooks.py)."""

from ..hooks import (
    register_module_backward_hook,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)
from ..module import Buffer, Module, Parameter, RemovableHandle

__all__ = ["Buffer", "Module", "Parameter", "RemovableHandle", "register_module_backward_hook",
           "register_module_forward_hook", "register_module_forward_pre_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook"]
