"""Matrix products: ``matmul`` (NumPy semantics, batched, broadcasting) and the fused ``linear``.

Both backwards are written with ``matmul`` itself, so they can be differentiated again.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..kernels import K
from ._conj import cj
from .activation import ReLUMask
from .reduce import Sum
from .shape import Permute, reshape, sum_to, transpose

__all__ = ["linear", "linear_relu", "matmul"]



class MatMul(Function):
    complex_grad = True
    reads_output = False  # backward reads a and b only

    batch_last = False  # lay a 2-D product out batch-last, like a layer's input (kernels.gemm)

    def forward(self, a, b):
        if a.ndim == 2 and b.ndim == 2:
            return K.matmul_batch_last(a, b) if self.batch_last else K.matmul(a, b)
        if a.ndim > 2 and b.ndim == 2 and a.flags.c_contiguous:
            # One large GEMM instead of a loop of small ones over the batch.
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(a.shape[:-1] + (b.shape[1],))
        return get_array_module(a, b).matmul(a, b)

    def backward(self, g):
        a, b = self.inputs
        a, b = cj(a), cj(b)  # complex: the conjugate transposes (a real operand as it is)
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


def _suggest(a, b):
    """The dtype to convert to: the floating-point one (the weights'), else the first."""
    return str(b) if a.kind != "f" and b.kind == "f" else str(a)


def matmul(input, other):  # noqa: A002
    """Matrix product with NumPy's rules: 1-D operands are vectors, leading (batch) axes broadcast.

    Shape:
        ``(..., n, k) @ (..., k, m) -> (..., n, m)``; ``(k,) @ (k, m) -> (m,)``;
        ``(n, k) @ (k,) -> (n,)``

    >>> import chainrule as cr
    >>> (cr.tensor([[1.0, 2.0]]) @ cr.tensor([[3.0], [4.0]])).tolist()
    [[11.0]]
    """
    if type(input) is not Tensor and hasattr(input, "_nnz"):  # chainrule.sparse: COO, CSR, CSC
        return input.mm(other)
    if type(other) is not Tensor and hasattr(other, "_nnz"):  # dense @ sparse
        return other.__rmatmul__(input)
    sa, sb = _shape_of("matmul", "a", input), _shape_of("matmul", "b", other)
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
    _check_dtypes("matmul", ("a", input), ("b", other))
    return MatMul.apply(input, other)


class Linear(Function):
    """``y = x @ w.T + b``, a layer of neurons: each output is a weighted sum of the inputs."""

    complex_grad = True  # backward multiplies by the conjugates of x and w (as MatMul)
    reads_output = False

    def forward(self, x, w, b=None):
        return K.affine(x, w, b)

    def backward(self, g):
        """With the batch folded into rows (``g2``, ``x2``): dL/dx = g2 @ w, dL/dw = g2.T @ x2
        and dL/db = the column sums of g2, the lecture's "error times input"."""
        x, w = self.inputs[:2]
        if w._data.dtype.kind == "c":
            x, w = cj(x), cj(w)
        need = self.needs_input_grad
        xd = x._data
        g2 = g if g._data.ndim == 2 else reshape(g, -1, w._data.shape[0])
        x2 = x if xd.ndim == 2 else reshape(x, -1, xd.shape[-1])
        gx = gw = gb = None
        if need[0]:
            gx = (MatMul.apply(g2, w, batch_last=True) if xd.ndim == 2  # laid out like x
                  else reshape(MatMul.apply(g2, w), xd.shape))
        if need[1]:
            gw = MatMul.apply(Permute.apply(g2, axes=(1, 0)), x2)  # g2.T @ x2
        if len(self.inputs) == 2:
            return gx, gw
        if need[2]:
            gb = Sum.apply(g2, axes=(0,), keepdims=False)
        return gx, gw, gb


class LinearReLU(Function):
    """``relu(x @ w.T + b)`` as one node: the ReLU runs in place on the product, saves nothing.

    The same array operations as Linear followed by ReLU, so the results are identical; what it
    saves is a node, a Tensor and an array per layer. As for ReLU, backward builds the mask from
    the output, which is positive exactly where the pre-activation is.
    """

    def forward(self, x, w, b=None):
        return K.affine_relu(x, w, b, compiled=self.recording)

    def backward(self, g):
        return Linear.backward(self, ReLUMask.apply(g, self.output))


def linear(input, weight, bias=None):  # noqa: A002
    """``x @ weight.T + bias`` in one op; ``weight`` is (out_features, in_features) as in PyTorch.

    Args:
        input: input of shape ``(..., in_features)``.
        weight: ``(out_features, in_features)``.
        bias: ``(out_features,)`` or None.

    Shape:
        ``(..., in_features) -> (..., out_features)``
    """
    _check_linear("linear", input, weight, bias)
    return Linear.apply(input, weight) if bias is None else Linear.apply(input, weight, bias)


def _check_linear(op, x, w, b):
    """Raise a clear error unless x (..., in), w (out, in) and b (out,) or None fit and share a
    dtype."""
    if isinstance(x, Tensor) and isinstance(w, Tensor):  # the usual case, quickly
        sx, sw = x._data.shape, w._data.shape
    else:
        sx, sw = _shape_of(op, "input", x), _shape_of(op, "weight", w)
    if len(sw) != 2:
        raise ValueError(f"{op}: weight must be 2-D (out_features, in_features), got shape {sw}")
    if not sx:
        raise ValueError(f"{op}: input must be at least 1-D (..., {sw[1]}), got shape {sx}")
    if sx[-1] != sw[1]:
        raise ValueError(
            f"{op}: input has {sx[-1]} features (shape {sx}) but weight expects {sw[1]} "
            f"(shape {sw})"
        )
    if b is None:
        _check_dtypes(op, ("weight", w), ("input", x))
        return
    sb = b._data.shape if isinstance(b, Tensor) else _shape_of(op, "bias", b)
    if sb != (sw[0],):
        raise ValueError(f"{op}: bias must have shape ({sw[0]},) to match weight {sw}, got {sb}")
    if not (type(x) is Tensor and isinstance(w, Tensor) and isinstance(b, Tensor)
            and x._data.dtype is w._data.dtype is b._data.dtype):
        _check_dtypes(op, ("weight", w), ("input", x), ("bias", b))


def linear_relu(x, weight, bias=None):
    """``relu(linear(x, weight, bias))`` in one op: the same values and gradients, less overhead.

    ``nn.fuse(model)`` makes each ``Linear`` followed by ``ReLU`` in a ``Sequential`` (neither
    with hooks) one layer that runs it; nothing fuses by itself.

    Shape:
        ``(..., in_features) -> (..., out_features)``

    >>> import chainrule as cr
    >>> cr.F.linear_relu(cr.tensor([[1.0, -1.0]]), cr.tensor([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[1.0, 0.0]]
    """
    _check_linear("linear_relu", x, weight, bias)
    return LinearReLU.apply(x, weight) if bias is None else LinearReLU.apply(x, weight, bias)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.matmul = matmul
