"""chainrule: error backpropagation you can read, over NumPy (and CuPy).

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

from . import data, functional, io, models, nn, ops, optim, train
from . import functional as F  # noqa: N812 - the conventional alias
from .autograd import (
    Function,
    Tensor,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    tensor,
    trace,
    value_and_grad,
)
from .autograd.gradcheck import gradcheck, gradgradcheck
from .backend import config, get_num_threads, reference_mode, set_num_threads, set_reference_mode

__version__ = "0.1.0"

__all__ = [
    "F",
    "Function",
    "Tensor",
    "config",
    "enable_grad",
    "data",
    "functional",
    "get_num_threads",
    "io",
    "models",
    "nn",
    "optim",
    "train",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "ops",
    "reference_mode",
    "set_grad_enabled",
    "set_num_threads",
    "set_reference_mode",
    "tensor",
    "trace",
    "value_and_grad",
]
