"""``repr(tensor)``: the values laid out by ``backend/tensor_str.py`` and the graph node named as
PyTorch names it (``grad_fn=<AddBackward0>``).

chainrule's nodes are named for the mathematics (``Add``, ``MatMul``, ``Reshape``); PyTorch's
for the ATen op that ran and its overload (``MmBackward0`` for a matrix product,
``DotBackward0`` for two vectors, ``SumBackward1`` for a sum over some dims). ``torch_name``
maps the nodes of the common ops, from what the node recorded, to the name PyTorch prints; any
other node prints as its class name with PyTorch's ``Backward0`` ending, and a custom
``autograd.Function``'s node (``MyFnBackward``) as it is, as PyTorch's.
"""

from __future__ import annotations

from ..backend import MetaArray, asnumpy
from ..backend.tensor_str import tensor_repr

__all__ = ["tensor_text", "torch_name"]

# chainrule node -> PyTorch's node, where the two correspond one to one
_SAME = {
    "ReLU": "ReluBackward0", "BroadcastTo": "ExpandBackward0", "Concat": "CatBackward0",
    "Clip": "ClampBackward1", "Norm2": "LinalgVectorNormBackward0", "Cast": "ToCopyBackward0",
    "SquaredError": "MseLossBackward0", "CrossEntropy": "NllLossBackward0",
    "LeakyReLU": "LeakyReluBackward0", "GELU": "GeluBackward0", "ELU": "EluBackward0",
    "SiLU": "SiluBackward0", "Softplus": "SoftplusBackward0", "AbsoluteError": "L1LossBackward0",
    "BinaryCrossEntropy": "BinaryCrossEntropyBackward0", "Dropout": "MulBackward0",
    "Conv2d": "ConvolutionBackward0", "Conv": "ConvolutionBackward0",
}


def _ndims(node):
    inputs = node.__dict__.get("inputs") or ()
    return tuple(getattr(t, "ndim", 0) for t in inputs)


def _reduction(node, stem: str) -> str:
    """Sum/Mean over every axis is PyTorch's first overload, over some dims its second."""
    axes = getattr(node, "axes", None)
    ndim = _ndims(node)[:1]
    whole = axes is None or (ndim and len(set(axes)) == ndim[0] and not node.keepdims)
    return f"{stem}Backward{0 if whole else 1}"


def _matmul(node) -> str:
    names = {(1, 1): "DotBackward0", (2, 2): "MmBackward0", (2, 1): "MvBackward0"}
    return names.get(_ndims(node), "UnsafeViewBackward0")  # batched: a product, then a view


def _index(node) -> str:
    index = getattr(node, "index", None)
    parts = index if isinstance(index, tuple) else (index,)
    if any(not (p is None or p is Ellipsis or isinstance(p, (int, slice))) for p in parts):
        return "IndexBackward0"
    for p in reversed(parts):  # the last view PyTorch applies names the node
        if p is None:
            return "UnsqueezeBackward0"
        if isinstance(p, int):
            return "SelectBackward0"
        if isinstance(p, slice) and p != slice(None):
            return "SliceBackward0"
    return "AliasBackward0"


def _pow(node) -> str:
    inputs = node.__dict__.get("inputs") or ()
    if len(inputs) == 2 and not inputs[1].requires_grad and inputs[1].ndim == 0:
        return "PowBackward0"  # a Python number as the exponent
    if len(inputs) == 2 and not inputs[0].requires_grad and inputs[0].ndim == 0:
        return "PowBackward2"
    return "PowBackward1"


def _reshape(node) -> str:
    inputs, shape = node.__dict__.get("inputs") or (), tuple(getattr(node, "shape", ()))
    before = tuple(inputs[0].shape) if inputs else None
    if before is not None and len(shape) == len(before) + 1 and any(
            shape[:i] + shape[i + 1:] == before and shape[i] == 1 for i in range(len(shape))):
        return "UnsqueezeBackward0"  # a view that adds one axis: unsqueeze's, the usual way
    return "ViewBackward0"


def _permute(node) -> str:
    axes = getattr(node, "axes", ())
    moved = [i for i, a in enumerate(axes) if a != i]
    return "TransposeBackward0" if len(moved) == 2 else "PermuteBackward0"


def _extreme(node) -> str:
    stem = "Max" if getattr(node, "largest", True) else "Min"
    if getattr(node, "first", False):
        return f"{stem}Backward0"
    return f"{stem}Backward1" if _reduction(node, "")[-1] == "0" else f"A{stem.lower()}Backward0"


def _linear(node) -> str:
    ndims = _ndims(node)
    if ndims[:1] != (2,):
        return "ViewBackward0" if ndims else "AddmmBackward0"
    return "AddmmBackward0" if len(ndims) == 3 else "MmBackward0"


_BY_NODE = {
    "Sum": lambda n: _reduction(n, "Sum"), "Mean": lambda n: _reduction(n, "Mean"),
    "MatMul": _matmul, "GetItem": _index, "Pow": _pow, "Permute": _permute,
    "Extreme": _extreme, "Linear": _linear, "Reshape": _reshape,
}


def torch_name(node) -> str:
    """The name PyTorch gives the node of the op that made ``node`` (see the module's note)."""
    name = type(node).__name__
    if name.endswith("Backward") or name.endswith("Backward0"):
        return name
    if name in _BY_NODE:
        return _BY_NODE[name](node)
    return _SAME.get(name, f"{name}Backward0")


def tensor_text(t) -> str:
    """``repr`` of the Tensor ``t``, as PyTorch prints it."""
    data = t._data
    host = None if type(data) is MetaArray else asnumpy(data)
    grad_fn = None if t._ctx is None else torch_name(t._ctx)
    return tensor_repr(host, dtype=data.dtype, shape=data.shape, device=str(t.device),
                       grad_fn=grad_fn, requires_grad=t.requires_grad)
