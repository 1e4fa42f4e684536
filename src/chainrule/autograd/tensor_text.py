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

from contextvars import ContextVar

from ..backend import MetaArray, asnumpy
from ..backend.tensor_str import tensor_repr

__all__ = ["tensor_text", "torch_name"]

_PRINTING_TANGENT = ContextVar("chainrule_printing_tangent", default=False)

# chainrule node -> PyTorch's node, where the two correspond one to one
_SAME = {
    "ReLU": "ReluBackward0", "BroadcastTo": "ExpandBackward0", "Concat": "CatBackward0",
    "Clip": "ClampBackward1", "Norm2": "LinalgVectorNormBackward0", "Cast": "ToCopyBackward0",
    "SquaredError": "MseLossBackward0", "CrossEntropy": "NllLossBackward0",
    "LeakyReLU": "LeakyReluBackward0", "GELU": "GeluBackward0", "ELU": "EluBackward0",
    "SiLU": "SiluBackward0", "Softplus": "SoftplusBackward0", "AbsoluteError": "L1LossBackward0",
    "BinaryCrossEntropy": "BinaryCrossEntropyBackward0", "ConvNd": "ConvolutionBackward0",
    "BatchNorm": "NativeBatchNormBackward0", "LayerNorm": "NativeLayerNormBackward0",
    "NLLLoss": "NllLossBackward0", "ConstantPad": "ConstantPadNdBackward0",
}


def _reduction(node, out, stem: str) -> str:
    """Sum/Mean to one number is PyTorch's first overload (``x.sum()``), over some dims (or
    with ``keepdim``) its second."""
    return f"{stem}Backward{0 if out.ndim == 0 else 1}"


def _matmul(node, out) -> str:
    names = {0: "DotBackward0", 1: "MvBackward0", 2: "MmBackward0"}
    return names.get(out.ndim, "UnsafeViewBackward0")  # batched: a product, then a view


def _pool(stem: str, tail: str = ""):
    """Max/avg pooling of 2-D or 3-D maps (4-D, 5-D tensors) as PyTorch's kernels name them."""
    def name(node, out) -> str:
        return {4: f"{stem}2D", 5: f"{stem}3D"}.get(out.ndim, stem) + tail + "Backward0"
    return name


def _index(node, out) -> str:
    if getattr(node, "rows", None) is not None:
        return "EmbeddingBackward0"  # F.embedding's lookup of rows
    if "index" not in node.__dict__:
        return "SelectBackward0"  # released by backward: the commonest (x[0], x[:, 1])
    index = node.index
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


def _pow(node, out) -> str:
    inputs = node.__dict__.get("inputs") or ()
    if len(inputs) == 2 and not inputs[1].requires_grad and inputs[1].ndim == 0:
        return "PowBackward0"  # a Python number as the exponent
    if len(inputs) == 2 and not inputs[0].requires_grad and inputs[0].ndim == 0:
        return "PowBackward2"
    return "PowBackward1" if inputs else "PowBackward0"  # released: x ** 2, the commonest


def _reshape(node, out) -> str:
    inputs, shape = node.__dict__.get("inputs") or (), tuple(getattr(node, "shape", ()))
    before = tuple(inputs[0].shape) if inputs else None
    if before is not None and len(shape) == len(before) + 1 and any(
            shape[:i] + shape[i + 1:] == before and shape[i] == 1 for i in range(len(shape))):
        return "UnsqueezeBackward0"  # a view that adds one axis: unsqueeze's, the usual way
    return "ViewBackward0"


def _permute(node, out) -> str:
    axes = getattr(node, "axes", None)
    moved = out.ndim if axes is None else sum(a != i for i, a in enumerate(axes))
    return "TransposeBackward0" if moved == 2 else "PermuteBackward0"


def _extreme(node, out) -> str:
    stem = "Max" if getattr(node, "largest", True) else "Min"
    if out.ndim == 0:
        return f"{stem}Backward1"  # x.max()
    if node.__dict__.get("inputs") is None or getattr(node, "first", False):
        # released by backward (as max(x, dim), the commoner) or max(x, dim)
        return f"{stem}Backward0"
    return f"A{stem.lower()}Backward0"


def _linear(node, out) -> str:
    if out.ndim > 2:
        return "ViewBackward0"  # the batch folded into rows, a product, then a view
    inputs = node.__dict__.get("inputs")
    return "MmBackward0" if inputs is not None and len(inputs) == 2 else "AddmmBackward0"


_BY_NODE = {
    "Sum": lambda n, out: _reduction(n, out, "Sum"),
    "Mean": lambda n, out: _reduction(n, out, "Mean"),
    "MatMul": _matmul, "GetItem": _index, "Pow": _pow, "Permute": _permute,
    "Extreme": _extreme, "Linear": _linear, "Reshape": _reshape,
    "_ExtremumPool": _pool("MaxPool", "WithIndices"), "_AvgPool": _pool("AvgPool"),
}


def torch_name(node, out) -> str:
    """The name PyTorch gives ``node``, the node that made the tensor ``out`` (see the module's
    note). Backward releases what a node recorded; the name is then read from ``out`` alone,
    where the two agree on the common ops."""
    name = type(node).__name__
    if name.endswith("Backward") or name.endswith("Backward0"):
        return name
    if name in _BY_NODE:
        return _BY_NODE[name](node, out)
    return _SAME.get(name, f"{name}Backward0")


def _dual(t):
    """``(primal, tangent)`` of a dual tensor inside a forward-AD level, else None (and None
    for the tangent being printed: PyTorch's tangents carry no tangent of their own)."""
    if not t.requires_grad or _PRINTING_TANGENT.get():
        return None
    from . import forward_ad  # it imports Tensor: read when a level may be active only

    if forward_ad._level.get() is None:
        return None
    primal, tangent = forward_ad.unpack_dual(t)
    # a primal in reverse mode's graph prints as the tensor itself (make_dual's view of it)
    return None if tangent is None else (t if primal.requires_grad else primal, tangent)


def tensor_text(t) -> str:
    """``repr`` of the Tensor ``t``, as PyTorch prints it (a dual tensor inside a forward-AD
    level as its primal with ``tangent=...``)."""
    tangent = None
    dual = _dual(t)
    if dual is not None:
        t, token = dual[0], _PRINTING_TANGENT.set(True)
        try:
            tangent = f"{dual[1]}"  # as PyTorch's: a 0-d tangent as its number
        finally:
            _PRINTING_TANGENT.reset(token)
    data = t._data
    host = None if type(data) is MetaArray else asnumpy(data)
    grad_fn = None if t._ctx is None else torch_name(t._ctx, data)
    return tensor_repr(host, dtype=data.dtype, shape=data.shape, device=str(t.device),
                       grad_fn=grad_fn, requires_grad=t.requires_grad, tangent=tangent)
