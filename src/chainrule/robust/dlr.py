"""The difference of logits ratio (DLR) loss of Croce & Hein (2020), the loss of APGD-DLR.

``DLR(z, y) = -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12)`` for logits ``z`` sorted
``z_pi1 >= z_pi2 >= ...``: the margin of the true class divided by the spread of the top logits.
It is invariant to shifting and to scaling the logits, so a model whose logits are rescaled (or
whose cross-entropy saturates) cannot blunt the attack's gradient, as it can blunt cross-entropy's.
It needs at least 3 classes.

APGD-T's targeted form (``dlr_targeted_gradient``) puts a target class t in place of the best
other class and averages the third and fourth logits in the denominator,
``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)``: it needs at least 4 classes.
"""

from __future__ import annotations

from ..autograd import Tensor, grad
from ..backend import get_array_module
from ._core import check_classes, check_logits

__all__ = ["dlr_gradient", "dlr_targeted_gradient"]


def _pick(logits: Tensor, index, xp) -> Tensor:
    """``logits[i, index[i]]`` (N,), differentiable."""
    onehot = xp.zeros(logits.shape, dtype=logits.dtype)
    onehot[xp.arange(logits.shape[0]), index] = 1
    return (logits * Tensor(onehot)).sum(axis=1)


def _ranked_logits(model, x, least: int, who: str, loss: str):
    """The logits ``z`` of ``x`` (as ``xt``, requiring grad) and each row's classes in ascending
    order of logit; a ValueError naming ``who`` and ``loss`` with fewer than ``least`` classes."""
    xt = Tensor(x, requires_grad=True)
    z = model(xt)
    classes = check_logits(who, z, x.shape[0])
    if classes < least:
        raise ValueError(f"{who}: {loss} needs at least {least} classes, the model has {classes}")
    order = get_array_module(x).argsort(z._data, axis=1)
    return xt, z, order


def _with_gradient(losses: Tensor, xt: Tensor, z: Tensor):
    """``(loss (N,), gradient like x, logits (N, C))`` as arrays."""
    (g,) = grad(losses.sum(), xt)
    return losses._data, g._data, z._data


def dlr_gradient(model, x, labels, *, targeted: bool = False):
    """Per-example DLR loss and its gradient with respect to ``x`` (arrays), as
    ``input_gradient``: ``(loss (N,), gradient like x, logits (N, C))``."""
    if targeted:
        raise ValueError("apgd: loss='dlr' is untargeted here (its targeted form needs the true "
                         "and the target class)")
    xp = get_array_module(x)
    xt, z, order = _ranked_logits(model, x, 3, "apgd", "loss='dlr'")
    check_classes("apgd", labels, order.shape[1], False)  # not an IndexError of _pick
    top_is_y = order[:, -1] == labels
    other = _pick(z, xp.where(top_is_y, order[:, -2], order[:, -1]), xp)
    spread = _pick(z, order[:, -1], xp) - _pick(z, order[:, -3], xp) + 1e-12
    return _with_gradient(-(_pick(z, labels, xp) - other) / spread, xt, z)


def dlr_targeted_gradient(model, x, labels, targets):
    """Per-example targeted DLR loss of APGD-T and its gradient with respect to ``x``, as
    ``dlr_gradient``: ``(loss (N,), gradient like x, logits (N, C))``; ``targets`` (N,)."""
    xp = get_array_module(x)
    xt, z, order = _ranked_logits(model, x, 4, "apgd_targeted", "the targeted DLR loss")
    spread = _pick(z, order[:, -1], xp) - 0.5 * (_pick(z, order[:, -3], xp)
                                                 + _pick(z, order[:, -4], xp)) + 1e-12
    return _with_gradient(-(_pick(z, labels, xp) - _pick(z, targets, xp)) / spread, xt, z)
