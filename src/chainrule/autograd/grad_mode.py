"""PyTorch's module path ``torch.autograd.grad_mode`` for the grad-mode context managers
(``from torch.autograd.grad_mode import no_grad`` in older programs).

PyTorch's ``set_multithreading_enabled`` and ``enforce_grad_layout_policy`` are not here: the
backward pass runs on the calling thread and gradients take their inputs' layout.
"""

from .inference import inference_mode
from .mode import enable_grad, no_grad, set_grad_enabled

__all__ = ["enable_grad", "inference_mode", "no_grad", "set_grad_enabled"]
