"""The autodiff engine: Tensor, Function, the backward walk, grad modes and gradient checking."""

from . import (
    forward_ad,  # noqa: F401 - dual tensors (torch.autograd.forward_ad)
    functional,  # noqa: F401 - jacobian, hessian, vjp... (torch.autograd.functional)
    grad_mode,  # noqa: F401 - no_grad... under torch.autograd.grad_mode
)
from . import inplace as _inplace  # noqa: F401 - attaches Tensor's in-place methods
from . import post_accumulate as _post_accumulate  # noqa: F401 - register_post_accumulate_grad_hook
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .function import Function
from .grad import backward, grad, value_and_grad
from .gradcheck import gradcheck, gradgradcheck  # functions, as torch's (module: by its path)
from .inference import inference_mode
from .mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, tensor
from .tracing import Traced, TraceError, trace
from .variable import Variable

__all__ = [
    "Function",
    "Tensor",
    "TraceError",
    "Traced",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
    "tensor",
    "trace",
    "value_and_grad",
]
