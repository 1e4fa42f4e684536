"""Cross entropy over class labels in its usual case: logits z (N, C), one integer label a row.

    loss[i] = log(sum_j exp(z[i, j])) - z[i, labels[i]]     (each row shifted by its maximum)
    grad[i] = softmax(z[i]) - one_hot(labels[i])             the lecture's dC/dz = y - t

``softmax_cross_entropy_reference`` computes both in NumPy over the whole batch. The fast
``softmax_cross_entropy`` is one compiled sweep (numba, ``backend.jit.cross_entropy``) that reads
each row once and, when a backward will follow, writes the gradient beside the loss; it sums the
exponentials in float64, so float32 results agree with the reference to rounding. Both return None
when a label equals ``ignore_index``: the op's general path handles ignored labels.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend import jit as _jit

__all__ = ["softmax_cross_entropy", "softmax_cross_entropy_reference"]

_HOST = get_array_module()


def softmax_cross_entropy_reference(z, labels, ignore_index, with_grad):
    """``(loss (N,), grad (N, C) or None)``, or None when some label is ``ignore_index``."""
    xp = get_array_module(z)
    if (labels == ignore_index).any():
        return None
    rows = xp.arange(len(labels))
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    loss = -logp[rows, labels]
    if not with_grad:
        return loss, None
    grad = xp.exp(logp)  # the softmax
    grad[rows, labels] -= 1
    return loss, grad


def softmax_cross_entropy(z, labels, ignore_index, with_grad):
    """``softmax_cross_entropy_reference``'s results from one compiled sweep; the gradient in the
    logits' memory order (a Linear's logits are batch-last)."""
    if (_jit.cross_entropy is None or type(z) is not _HOST.ndarray
            or not _jit.handles(z.dtype)):
        return softmax_cross_entropy_reference(z, labels, ignore_index, with_grad)
    loss = _HOST.empty(len(labels), z.dtype)
    grad = _HOST.empty_like(z) if with_grad else _HOST.empty((0, 0), z.dtype)
    if _jit.cross_entropy(z, labels, ignore_index, loss, grad) >= 0:
        return None
    return loss, (grad if with_grad else None)
