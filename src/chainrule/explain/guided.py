"""Guided backpropagation and the deconvnet: the gradient with a different rule at each ReLU.

Zeiler & Fergus (2014) project an activation back to pixel space through a "deconvnet": the
transposed filters (the gradient of a convolution), the max-pooling switches (the gradient of max
pooling) and a ReLU applied to the signal coming back. Springenberg et al. (2015) showed this is
backpropagation with one change at each ReLU, and proposed guided backpropagation, which also
keeps the forward pass's mask. At a ReLU with input ``z`` and incoming gradient ``g``:

    backpropagation      g * (z > 0)
    deconvnet            relu(g)
    guided backprop      relu(g) * (z > 0)

``GuidedReLU`` is that rule as a Function of its own; ``relu_rule`` makes every ``nn.ReLU`` of a
model use it for as long as a ``with`` block lasts (through a forward hook, so the model's own
code and the engine's ReLU are untouched).
"""

from __future__ import annotations

import contextlib

from ..autograd import Function, Tensor
from ..backend import get_array_module, numpy
from ..nn import ReLU, fuse, unfuse
from ..nn.fuse import FUSED_LAYERS
from ._common import (
    as_batch,
    batches,
    check_output,
    check_positive_int,
    eval_mode,
    resolve_targets,
    score_gradients,
)
from .multi_input import pack

__all__ = ["RULES", "GuidedReLU", "deconvnet", "guided_backprop", "relu_rule"]

RULES = ("deconvnet", "guided")


class GuidedReLU(Function):
    """``relu(z)`` forward; backward by the deconvnet's or guided backpropagation's rule."""

    def forward(self, z):
        xp = get_array_module(z)
        self.mask = (z > 0).astype(z.dtype)
        return xp.maximum(z, 0)

    def backward(self, g):
        passed = g * Tensor((g._data > 0).astype(g.dtype))  # relu(g), as a product: one node
        if self.rule == "deconvnet":
            return passed
        return passed * Tensor(self.mask)


def guided_relu(z, rule: str = "guided"):
    """ReLU whose backward pass follows ``rule`` ("guided" or "deconvnet")."""
    if rule not in RULES:
        raise ValueError(f"guided_relu: rule must be one of {RULES}, got {rule!r}")
    return GuidedReLU.apply(z, rule=rule)


@contextlib.contextmanager
def relu_rule(model, rule: str):
    """Within the block, every ``nn.ReLU`` in ``model`` backpropagates by ``rule``.

    A model fused by ``nn.fuse`` (``Trainer`` fuses the models it trains) is unfused for the
    block, so that its ReLU layers are there, and fused again after it.

    Raises:
        ValueError: an unknown rule, or a model without ``nn.ReLU`` modules (a ReLU called as a
            function inside ``forward`` cannot be reached; use the layer).
    """
    if rule not in RULES:
        raise ValueError(f"relu_rule: rule must be one of {RULES}, got {rule!r}")
    fused = any(isinstance(m, FUSED_LAYERS) for m in model.modules())
    if fused:
        unfuse(model)
    relus = [m for m in model.modules() if isinstance(m, ReLU)]
    if not relus:
        raise ValueError(f"{rule}: {type(model).__name__} has no nn.ReLU layers; the deconvnet "
                         "and guided backpropagation change the gradient rule of ReLU layers")
    # The rule's ReLU is applied before the layer runs: a ReLU(inplace=True) has overwritten
    # its input (and its graph) by the time a forward hook sees it, which left the deconvnet
    # with the forward pass's mask; the layer's own output is then replaced by the rule's.
    made = {}

    def before(mod, inputs):
        made[id(mod)] = guided_relu(inputs[0], rule)

    def after(mod, inputs, out):
        return made.pop(id(mod))

    handles = [h for m in relus for h in (m.register_forward_pre_hook(before),
                                          m.register_forward_hook(after))]
    try:
        yield model
    finally:
        for h in handles:
            h.remove()
        if fused:
            fuse(model)


def _projection(rule, model, x, target, output, batch_size, additional_forward_args=None):
    who = "guided_backprop" if rule == "guided" else "deconvnet"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:  # the index column's gradient is 0 (multi_input)
        return packed.unpack(_projection(rule, packed.model, packed.x, target, output,
                                         batch_size))
    x = as_batch(who, model, x)
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    grads = numpy.empty_like(x)
    with eval_mode(model), relu_rule(model, rule):
        for sl in batches(len(x), batch_size):
            grads[sl] = score_gradients(model, x[sl], t[sl], output=output)[1]
    return grads


def guided_backprop(model, x, target=None, *, output: str = "logit", batch_size: int = 64,
                    additional_forward_args=None):
    """Guided backpropagation of the target score to the input (Springenberg et al. 2015).

    Args:
        model: a Module whose nonlinearities are ``nn.ReLU`` layers (LeNet-5 "modern", SmallCNN).
        x: inputs (N, ...); target: an int, one per sample, or None (the predicted class).
        output: "logit" or "probability"; batch_size: samples per backward pass.
        additional_forward_args: as ``saliency``'s (``x`` may be a tuple of inputs, giving a
            tuple; Captum's).

    Returns:
        An array shaped like ``x``.
    """
    return _projection("guided", model, x, target, output, batch_size, additional_forward_args)


def deconvnet(model, x, target=None, *, output: str = "logit", batch_size: int = 64,
              additional_forward_args=None):
    """Zeiler & Fergus's deconvnet projection of the target score to the input (as above)."""
    return _projection("deconvnet", model, x, target, output, batch_size,
                       additional_forward_args)
