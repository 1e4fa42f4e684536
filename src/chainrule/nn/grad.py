"""``torch.nn.grad``: the gradients of a convolution with respect to its input and its weight,
given the gradient of its output (PyTorch's ``conv1d_input`` ... ``conv3d_weight``, also reached
as ``F.grad``). Custom autograd Functions call them in their ``backward``, e.g. the PyTorch
tutorial that fuses a convolution and a batch norm into one Function.

The input gradient is the transposed convolution of ``grad_output`` by ``weight``, with the
output padding that gives back ``input_size``; the weight gradient is the gradient of the
(linear) convolution at a zero weight, so it follows the convolution's own backward pass. Both are
differentiable again (``create_graph``) where their tensor arguments require grad.
"""

from __future__ import annotations

import operator

from ..autograd.grad import grad as _autograd_grad
from ..autograd.mode import enable_grad, is_grad_enabled
from ..autograd.tensor import Tensor
from ..ops import conv1d, conv2d, conv_transpose1d, conv_transpose2d, zeros
from ..ops.volumetric import conv3d, conv_transpose3d

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]

_CONV = {1: conv1d, 2: conv2d, 3: conv3d}
_TRANSPOSE = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}


def _tuple(op, name, value, nd, low):
    values = (value,) * nd if not isinstance(value, (tuple, list)) else tuple(value)
    try:
        values = tuple(operator.index(v) for v in values)
    except TypeError:
        values = ()
    if len(values) != nd or any(v < low for v in values):
        raise ValueError(f"{op}: {name} must be an int >= {low} or {nd} of them, got {value!r}")
    return values


def _size(op, name, size, nd):
    try:
        size = tuple(operator.index(s) for s in size)
    except TypeError:
        size = None
    if size is None or len(size) != nd + 2 or any(s < 1 for s in size):
        raise ValueError(f"{op}: {name} must be the full shape (N, C, {'*' * nd}) of "
                         f"{nd + 2} positive ints, got {name}={size!r}")
    return size


def _check_tensor(op, name, t, ndim):
    if not isinstance(t, Tensor) or t.ndim != ndim:
        got = f"shape {tuple(t.shape)}" if isinstance(t, Tensor) else type(t).__name__
        raise ValueError(f"{op}: {name} must be a {ndim}-D tensor, got {got}")


def _input_grad(nd, input_size, weight, grad_output, stride, padding, dilation, groups):
    op = f"conv{nd}d_input"
    size = _size(op, "input_size", input_size, nd)
    _check_tensor(op, "weight", weight, nd + 2)
    _check_tensor(op, "grad_output", grad_output, nd + 2)
    stride = _tuple(op, "stride", stride, nd, 1)
    padding = _tuple(op, "padding", padding, nd, 0)
    dilation = _tuple(op, "dilation", dilation, nd, 1)
    kernel, out = weight.shape[2:], grad_output.shape[2:]
    extra = tuple(size[2 + a] - ((out[a] - 1) * stride[a] - 2 * padding[a]
                                 + dilation[a] * (kernel[a] - 1) + 1) for a in range(nd))
    if any(e < 0 or e >= max(stride[a], dilation[a]) for a, e in enumerate(extra)):
        raise ValueError(f"{op}: grad_output of shape {tuple(grad_output.shape)} is not the output "
                         f"of a convolution of an input of size {size} by a weight of shape "
                         f"{tuple(weight.shape)} (stride {stride}, padding {padding}, dilation "
                         f"{dilation})")
    result = _TRANSPOSE[nd](grad_output, weight, None, stride, padding, extra, groups, dilation)
    if tuple(result.shape) != size:
        raise ValueError(f"{op}: input_size {size} does not match weight {tuple(weight.shape)}, "
                         f"grad_output {tuple(grad_output.shape)} and groups={groups}")
    return result


def _weight_grad(nd, input, weight_size, grad_output, stride, padding, dilation, groups):  # noqa: A002
    op = f"conv{nd}d_weight"
    size = _size(op, "weight_size", weight_size, nd)
    _check_tensor(op, "input", input, nd + 2)
    _check_tensor(op, "grad_output", grad_output, nd + 2)
    create = is_grad_enabled() and (input.requires_grad or grad_output.requires_grad)
    weight = zeros(size, dtype=grad_output.dtype, device=grad_output.device, requires_grad=True)
    with enable_grad():
        out = _CONV[nd](input, weight, None, stride, padding, dilation, groups)
    if tuple(out.shape) != tuple(grad_output.shape):
        raise ValueError(f"{op}: grad_output has shape {tuple(grad_output.shape)}, but the "
                         f"convolution of input {tuple(input.shape)} by a weight of size {size} "
                         f"gives {tuple(out.shape)}")
    return _autograd_grad(out, weight, grad_output, create_graph=create)[0]


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv1d(input, weight, ...)`` with respect to an input of shape
    ``input_size`` (N, C_in, L), given ``grad_output`` (N, C_out, L_out)."""
    return _input_grad(1, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv2d(input, weight, ...)`` with respect to an input of shape
    ``input_size`` (N, C_in, H, W), given ``grad_output`` (N, C_out, H_out, W_out).

    >>> import chainrule as cr
    >>> x = cr.ones(1, 1, 3, 3, requires_grad=True)
    >>> w = cr.ones(1, 1, 2, 2)
    >>> g = cr.ones(1, 1, 2, 2)
    >>> conv2d_input(x.shape, w, g).tolist()
    [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]
    """
    return _input_grad(2, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``conv3d(input, weight, ...)`` with respect to an input of shape
    ``input_size`` (N, C_in, D, H, W), given ``grad_output``."""
    return _input_grad(3, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """The gradient of ``conv1d(input, weight, ...)`` with respect to a weight of shape
    ``weight_size`` (C_out, C_in / groups, K), given ``grad_output``."""
    return _weight_grad(1, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """The gradient of ``conv2d(input, weight, ...)`` with respect to a weight of shape
    ``weight_size`` (C_out, C_in / groups, kH, kW), given ``grad_output``."""
    return _weight_grad(2, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """The gradient of ``conv3d(input, weight, ...)`` with respect to a weight of shape
    ``weight_size`` (C_out, C_in / groups, kD, kH, kW), given ``grad_output``."""
    return _weight_grad(3, input, weight_size, grad_output, stride, padding, dilation, groups)
