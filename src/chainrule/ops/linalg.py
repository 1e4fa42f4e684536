"""Matrix products: ``matmul`` (NumPy semantics, batched, broadcasting) and the fused ``linear``.

Both backwards are written with ``matmul`` itself, so they can be differentiated again.
"""

from __future__ import annotations

from ..autograd import _scratch
from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..backend import jit as _jit
from ._broadcast import sum_to
from .activation import relu_masked
from .reduce import sum as _sum
from .shape import reshape, transpose

__all__ = ["linear", "linear_relu", "matmul"]

_HOST = get_array_module()


class MatMul(Function):
    def forward(self, a, b):
        if a.ndim > 2 and b.ndim == 2 and a.flags.c_contiguous:
            # One large GEMM instead of a loop of small ones over the batch.
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + (b.shape[1],))
        return get_array_module(a, b).matmul(a, b)

    def backward(self, g):
        a, b = self.inputs
        # A 1-D operand is a row (a) or a column (b) whose unit axis was dropped from the output.
        a2 = reshape(a, 1, a.shape[0]) if a.ndim == 1 else a
        b2 = reshape(b, b.shape[0], 1) if b.ndim == 1 else b
        gshape = list(g.shape)
        if b.ndim == 1:
            gshape.append(1)
        if a.ndim == 1:
            gshape.insert(len(gshape) - 1, 1)
        g2 = reshape(g, gshape)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = reshape(sum_to(matmul(g2, transpose(b2, -1, -2)), a2.shape), a.shape)
        if self.needs_input_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:
                k, m = b2.shape
                gb = matmul(transpose(reshape(a2, -1, k), 0, 1), reshape(g2, -1, m))
            else:
                gb = sum_to(matmul(transpose(a2, -1, -2), g2), b2.shape)
            gb = reshape(gb, b.shape)
        return ga, gb


def _shape_of(op, name, x):
    if isinstance(x, Tensor):  # the usual case first: linear checks 3 arguments per call
        return x._data.shape
    try:
        shape, _ = x.shape, x.dtype
    except AttributeError:
        raise TypeError(
            f"{op}: {name} must be a Tensor or an array, got {type(x).__name__}"
        ) from None
    return shape if type(shape) is tuple else tuple(shape)


def _check_dtypes(op, *named):
    """Raise TypeError unless the (name, Tensor or array) pairs all have one dtype.

    NumPy would promote (int64 @ float32 -> float64) and silently change the precision of the
    whole computation after it; PyTorch refuses, and so does chainrule: convert explicitly.
    """
    first = named[0][1]
    want = first._data.dtype if isinstance(first, Tensor) else first.dtype
    for name, x in named[1:]:
        got = x._data.dtype if isinstance(x, Tensor) else x.dtype
        if got is not want and got != want:
            raise TypeError(
                f"{op}: {named[0][0]} has dtype {want} but {name} has dtype {got}; both must have "
                f"one dtype (convert explicitly, e.g. x.astype('{_suggest(want, got)}'))"
            )


def _one_dtype(x, w, b):
    """The usual case of ``_check_dtypes``, quickly: three Tensors of one (native) dtype."""
    return (type(x) is Tensor and isinstance(w, Tensor) and isinstance(b, Tensor)
            and x._data.dtype is w._data.dtype is b._data.dtype)


def _suggest(a, b):
    """The dtype to convert to: the floating-point one (the weights'), else the first."""
    return str(b) if a.kind != "f" and b.kind == "f" else str(a)


def matmul(a, b):
    """Matrix product with NumPy's rules: 1-D operands are vectors, leading (batch) axes broadcast.

    Shape:
        ``(..., n, k) @ (..., k, m) -> (..., n, m)``; ``(k,) @ (k, m) -> (m,)``;
        ``(n, k) @ (k,) -> (n,)``

    >>> import chainrule as cr
    >>> (cr.tensor([[1.0, 2.0]]) @ cr.tensor([[3.0], [4.0]])).tolist()
    [[11.0]]
    """
    sa, sb = _shape_of("matmul", "a", a), _shape_of("matmul", "b", b)
    if not sa or not sb:
        raise ValueError(f"matmul: both operands must be at least 1-D, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[-2] if len(sb) > 1 else sb[0]
    if ka != kb:
        raise ValueError(
            f"matmul: shapes {sa} and {sb} are not aligned: the last axis of a has size {ka} but "
            f"the {'second-to-last' if len(sb) > 1 else 'only'} axis of b has size {kb}"
        )
    for m, n in zip(reversed(sa[:-2]), reversed(sb[:-2]), strict=False):
        if m != n and m != 1 and n != 1:
            raise ValueError(
                f"matmul: batch axes of shapes {sa} and {sb} cannot be broadcast together "
                f"({sa[:-2]} and {sb[:-2]})"
            )
    _check_dtypes("matmul", ("a", a), ("b", b))
    return MatMul.apply(a, b)


def _affine(x, w, b):
    """``x @ w.T + b`` on arrays, into a recycled array that the caller may overwrite."""
    if x.ndim == 2:
        # Batch-last: (out, batch) in memory behind the (batch, out) view. BLAS runs this
        # orientation of the product faster with several threads (docs/performance.md),
        # and the next layer's input and the gradients then come batch-last too.
        y = _scratch.matmul(w, x.T).T
    else:
        y = _scratch.matmul(x.reshape(-1, x.shape[-1]), w.T)
    if b is not None:
        y += b
    return y if x.ndim == 2 else y.reshape(x.shape[:-1] + (w.shape[0],))


def _linear_backward(fn, g):
    """Linear's gradients for the incoming gradient ``g`` of its (pre-activation) output."""
    x, w = fn.inputs[:2]
    out_features, in_features = w.shape
    need = fn.needs_input_grad
    if not is_grad_enabled():
        return _linear_grads(g._data, x._data, w._data, need, len(fn.inputs) == 3)
    g2 = reshape(g, -1, out_features)
    gx = reshape(matmul(g2, w), x.shape) if need[0] else None
    gw = matmul(transpose(g2, 0, 1), reshape(x, -1, in_features)) if need[1] else None
    if len(fn.inputs) == 2:
        return gx, gw
    return gx, gw, _sum(g2, axis=0) if need[2] else None


class Linear(Function):
    def forward(self, x, w, b=None):
        return _affine(x, w, b)

    def backward(self, g):
        return _linear_backward(self, g)


class LinearReLU(Function):
    """``relu(x @ w.T + b)`` as one node: the ReLU runs in place on the product, saves nothing.

    The same array operations as Linear followed by ReLU, so the results are identical; what it
    saves is a node, a Tensor and an array per layer. As for ReLU, backward builds the mask from
    the output, which is positive exactly where the pre-activation is.
    """

    fused_relu = True  # backward masks by output > 0 (see pool._fused_relu_output)

    def forward(self, x, w, b=None):
        # The compiled sweep only when training: loading numba costs a large fixed amount of
        # memory, which a training step pays anyway but a model only predicting should not (as
        # pooling's forward).
        if (self.recording and b is not None and x.ndim == 2 and _jit.bias_relu is not None
                and type(x) is _HOST.ndarray and _jit.handles(x.dtype)
                and x.dtype == w.dtype == b.dtype):
            y = _scratch.matmul(w, x.T)  # batch-last, as in _affine: (out, batch) in memory
            _jit.bias_relu(y, b)  # one sweep instead of NumPy's two passes
            return y.T
        return _scratch.relu(_affine(x, w, b), inplace=True)

    def backward(self, g):
        return _linear_backward(self, relu_masked(g, self.output._data))


def _linear_grads(g, x, w, need, has_bias):
    """Linear's gradients on raw arrays: a first-order backward records nothing, needs no nodes."""
    g2 = g.reshape(-1, w.shape[0])
    gx = None
    if need[0]:  # batch-last like the forward's output, when the input is a plain matrix
        gx = _scratch.matmul(w.T, g2.T).T if x.ndim == 2 else _scratch.matmul(g2, w)
        gx = Tensor(gx.reshape(x.shape))
    gw = Tensor(_scratch.matmul(g2.T, x.reshape(-1, w.shape[1]))) if need[1] else None
    if not has_bias:
        return gx, gw
    return gx, gw, Tensor(_scratch.column_sums(g2)) if need[2] else None


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` in one op; ``weight`` is (out_features, in_features) as in PyTorch.

    Args:
        x: input of shape ``(..., in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Shape:
        ``(..., in_features) -> (..., out_features)``
    """
    sx = _shape_of("linear", "input", x)
    sw = _shape_of("linear", "weight", weight)
    _check_linear("linear", sx, sw, bias)
    if bias is None:
        _check_dtypes("linear", ("weight", weight), ("input", x))
        return Linear.apply(x, weight)
    if not _one_dtype(x, weight, bias):
        _check_dtypes("linear", ("weight", weight), ("input", x), ("bias", bias))
    return Linear.apply(x, weight, bias)


def _check_linear(op, sx, sw, bias):
    if len(sw) != 2:
        raise ValueError(f"{op}: weight must be 2-D (out_features, in_features), got shape {sw}")
    if not sx:
        raise ValueError(f"{op}: input must be at least 1-D (..., {sw[1]}), got shape {sx}")
    if sx[-1] != sw[1]:
        raise ValueError(
            f"{op}: input has {sx[-1]} features (shape {sx}) but weight expects {sw[1]} "
            f"(shape {sw})"
        )
    if bias is not None:
        sb = _shape_of(op, "bias", bias)
        if sb != (sw[0],):
            raise ValueError(
                f"{op}: bias must have shape ({sw[0]},) to match weight {sw}, got {sb}"
            )


def linear_relu(x, weight, bias=None):
    """``relu(linear(x, weight, bias))`` in one op: the same values and gradients, less overhead.

    ``nn.Sequential`` uses it for every ``Linear`` followed by ``ReLU`` (neither with hooks).

    Shape:
        ``(..., in_features) -> (..., out_features)``

    >>> import chainrule as cr
    >>> cr.F.linear_relu(cr.tensor([[1.0, -1.0]]), cr.tensor([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[1.0, 0.0]]
    """
    sx = _shape_of("linear_relu", "input", x)
    sw = _shape_of("linear_relu", "weight", weight)
    _check_linear("linear_relu", sx, sw, bias)
    if bias is None:
        _check_dtypes("linear_relu", ("weight", weight), ("input", x))
        return LinearReLU.apply(x, weight)
    if not _one_dtype(x, weight, bias):
        _check_dtypes("linear_relu", ("weight", weight), ("input", x), ("bias", bias))
    return LinearReLU.apply(x, weight, bias)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.matmul = matmul
