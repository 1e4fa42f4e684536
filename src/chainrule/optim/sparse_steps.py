"""Steps with a sparse gradient (``Embedding(sparse=True)``'s, a chainrule.sparse tensor).

PyTorch's ``SGD`` (momentum too, without weight decay) and ``Adagrad`` (without weight decay)
take one and change only the rows it names; its other optimizers refuse one, and so do these
(``SparseAdam`` is in sparse_adam.py). The updates coalesce the gradient first (rows sorted,
repeats summed).
"""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import get_array_module
from ._state import advance, scalar

__all__ = ["adagrad_sparse", "coalesced_rows", "refuse_sparse", "refuse_sparse_adam",
           "restore_sparse", "sgd_sparse"]

# PyTorch's message where a sparse tensor would take a dense one's values in place
SPARSE_DENSE = "add(sparse, dense) is not supported. Use add(dense, sparse) instead."


def refuse_sparse(self, group, p, state):
    """PyTorch's refusal (``RMSprop does not support sparse gradients``)."""
    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")


def refuse_sparse_adam(self, group, p, state):
    """PyTorch's refusal in Adam and AdamW, which points at SparseAdam."""
    raise RuntimeError("Adam does not support sparse gradients, please consider SparseAdam "
                       "instead")


def coalesced_rows(grad):
    """The gradient's entries, coalesced: a tuple of index arrays (one per sparse axis) and the
    summed values array, for ``param[index] += ...``."""
    g = grad.coalesce()
    return tuple(g._indices()._data), g._values()._data


def sgd_sparse(self, group, p, state):
    """SGD's rule with the sparse tensor's own arithmetic, as PyTorch's: the momentum buffer is a
    sparse tensor too (``b = momentum * b + (1 - dampening) * g``, a sparse sum), and only the
    rows it names move (``p[rows] -= lr * d``)."""
    if group.get("fused"):
        raise RuntimeError("`_fused_sgd` does not support sparse gradients")
    if float(group["weight_decay"]) != 0:  # PyTorch's grad.add(p, alpha=weight_decay) refuses
        raise RuntimeError(SPARSE_DENSE)
    lr, momentum = float(group["lr"]), float(group["momentum"])
    g = -p.grad if group["maximize"] else p.grad
    d = g
    if momentum != 0:
        b = state.get("momentum_buffer")
        if isinstance(b, Tensor):  # a dense buffer (of dense steps, or loaded) stays dense
            return _sgd_dense_buffer(group, p, g, b, lr, momentum)
        b = g.detach().clone() if b is None else b * momentum + g * (1 - float(group["dampening"]))
        state["momentum_buffer"] = b
        d = g + b * momentum if group["nesterov"] else b
    rows, values = coalesced_rows(d)
    p._writable()[rows] += -lr * values


def _sgd_dense_buffer(group, p, g, b, lr, momentum):
    """PyTorch's ``b.mul_(momentum).add_(g, alpha=1 - dampening)`` with a dense ``b``: the buffer
    stays dense and every row of the parameter moves by it; Nesterov's ``g.add(b)`` refuses."""
    if group["nesterov"]:
        raise RuntimeError(SPARSE_DENSE)
    rows, values = coalesced_rows(g)
    buf = b._data
    buf *= momentum
    buf[rows] += (1 - float(group["dampening"])) * values
    p._writable()[...] -= lr * buf


def restore_sparse(name: str, key: str, value, p):
    """A saved sparse state entry (SGD's momentum buffer) made ready for ``p``: a copy, in its
    dtype; PyTorch's sparse tensors are refused by name (chainrule's are needed here)."""
    if not type(value).__module__.startswith("chainrule."):
        raise TypeError(f"{name}: state '{key}' is a sparse {type(value).__name__} of another "
                        "library; load a chainrule state dict, or convert it to a chainrule "
                        "sparse_coo_tensor")
    if tuple(value.shape) != tuple(p.shape):
        raise ValueError(f"{name}: state '{key}' has shape {tuple(value.shape)} but its parameter "
                         f"has shape {tuple(p.shape)}")
    return value.detach().to(p.dtype).clone()  # entries as saved (PyTorch does not coalesce)


def adagrad_sparse(self, group, p, state):
    """Adagrad on the rows present: their squared-gradient sums grow, the others stay."""
    if group.get("fused"):
        raise RuntimeError("`fused` does not support sparse grad or complex param")
    if float(group["weight_decay"]) != 0:
        raise RuntimeError("weight_decay option is not compatible with sparse gradients")
    param = p._writable()
    xp = get_array_module(param)
    if not state:
        state["step"] = scalar(0.0)
        state["sum"] = Tensor(xp.full_like(param, float(group["initial_accumulator_value"])))
    t, s = advance(state), state["sum"]._data
    lr_t = float(group["lr"]) / (1 + (t - 1) * float(group["lr_decay"]))
    rows, g = coalesced_rows(p.grad)
    if group["maximize"]:
        g = -g
    s[rows] += g * g
    param[rows] -= lr_t * (g / (xp.sqrt(s[rows]) + float(group["eps"])))
