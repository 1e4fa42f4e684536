"""Layer-wise relevance propagation (Bach et al. 2015), the epsilon rule, as Captum's ``LRP``,
and the other rules of the LRP overview per layer (``rules``; ``explain.lrp_rules``).

The target score is the relevance to share out; it flows back layer by layer and is conserved
(up to epsilon). At a linear layer (``Linear``, ``Conv2d``, pooling, ``BatchNorm2d``) with input
``a`` and output ``z``, the relevance ``R`` of the outputs is split in proportion to each input's
contribution: ``R_in = a * (J^T (R / (z + eps * sign(z))))``, ``J`` the layer's Jacobian (``W``
for a linear map; a max pooling sends a window's relevance to its winner), ``sign(0)`` counted as
1. ``ReLU``, ``Tanh`` and ``Dropout`` pass relevance through unchanged, as Captum's rule for
them. The attributions sum to the score less what the biases and epsilon absorb (``delta``).

Every leaf layer must be one of those, or one that only reshapes (``Flatten``, ``Unflatten``,
``Identity``: chainrule lets them through, where Captum asks for a rule); each layer is used once.
A layer with a parametrized weight (``parametrizations.weight_norm``...) is one layer, whose rule
sees the computed weight.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from ..autograd import Tensor, grad
from ..backend import asnumpy, numpy
from ..data.arguments import check_number
from ..nn import fuse, unfuse
from ..nn.fuse import FUSED_LAYERS
from ._common import (
    as_batch,
    batches,
    check_positive_int,
    chosen_scores,
    eval_mode,
    resolve_targets,
    scores_of,
)
from .lrp_assign import assign, by_name, model_layers
from .lrp_rules import PASSED, RESHAPING, RULED, EpsilonRule, _through
from .multi_input import pack

__all__ = ["lrp"]


@contextlib.contextmanager
def _rules(model, eps, rules):
    rules = by_name(model, rules)  # the modules a mapping names, before unfuse replaces them
    fused = any(isinstance(m, FUSED_LAYERS) for m in model.modules())
    if fused:  # a fused Linear + ReLU hides its ReLU layer: unfuse for the block
        unfuse(model)
    handles = []
    try:
        chosen = assign(model, rules, eps)
        default = EpsilonRule(eps)
        for name, m in model_layers(model).items():
            if getattr(m, "inplace", False):
                raise ValueError(
                    f"lrp: layer {name!r} ({type(m).__name__}(inplace=True)) "
                    "overwrites the input the rule needs; use inplace=False"
                )
            if isinstance(m, RULED):
                pre, post = chosen.get(name, default).hooks(m)
                if pre is not None:
                    handles.append(m.register_forward_pre_hook(pre))
                handles.append(m.register_forward_hook(post))
            elif isinstance(m, PASSED):
                handles.append(m.register_forward_hook(_through))
            elif not isinstance(m, RESHAPING):
                raise TypeError(
                    f"lrp: layer {name!r} ({type(m).__name__}) has no relevance "
                    f"rule; supported: {', '.join(c.__name__ for c in RULED)} "
                    f"(the rules), {', '.join(c.__name__ for c in PASSED)} "
                    "(passed through) and reshaping layers"
                )
        yield
    finally:
        for h in handles:
            h.remove()
        if fused:
            fuse(model)


def lrp(
    model,
    x,
    target=None,
    *,
    epsilon: float = 1e-9,
    rules=None,
    batch_size: int = 64,
    return_convergence_delta: bool = False,
    additional_forward_args=None,
):
    """Relevance of every input for the target score by the epsilon rule (Captum's ``LRP``)
    or the rules given per layer.

    Args:
        model: a Module whose leaf layers all have a rule (see the module docstring).
        x: inputs (N, ...); target: an int, one per sample, or None (the predicted class).
        epsilon: the stabilizer added to each layer's outputs (with their sign), > 0;
            larger values absorb the relevance of weak, noisy contributions. The rule of every
            layer ``rules`` does not cover, and of the rule name "epsilon".
        rules: None (epsilon everywhere), one rule (``GammaRule()``, "alpha1beta0"...: every
            layer that takes it), "composite" (``composite_rules(model)``) or a mapping
            ``{layer name, module or class: rule}`` (see ``explain.lrp_assign``).
        batch_size: samples per backward pass.
        return_convergence_delta: also return Captum's ``delta`` (N,): the score minus the
            summed relevances.
        additional_forward_args: as ``saliency``'s; ``x`` may be a tuple of inputs, giving a
            tuple (Captum's; ``rules`` names the layers as in the model itself).

    Returns:
        An array shaped like ``x``, or ``(attributions, delta)``.
    """
    who = "lrp"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:  # the index column's relevance is 0 (multi_input)
        if isinstance(rules, Mapping):  # the wrapper holds the model as its child "model"
            rules = {f"model.{k}" if isinstance(k, str) else k: v for k, v in rules.items()}
        out = lrp(packed.model, packed.x, target, epsilon=epsilon, rules=rules,
                  batch_size=batch_size, return_convergence_delta=return_convergence_delta)
        if return_convergence_delta:
            return packed.unpack(out[0]), out[1]
        return packed.unpack(out)
    x = as_batch(who, model, x)
    if x.dtype == numpy.float16:  # 1e-9 is 0 there: a unit whose output is 0 gives 0/0
        raise ValueError(
            f"{who}: the model computes in float16, where the rules' stabilizer (1e-9) is 0 "
            "and a unit whose output is 0 makes the relevances NaN; convert it with "
            "model.float() (or .double())"
        )
    batch_size = check_positive_int(who, "batch_size", batch_size)
    check_number(who, "epsilon", epsilon, above=0)
    t = resolve_targets(who, model, x, target, batch_size=batch_size)
    scores = chosen_scores(model, x, t, "logit", batch_size)
    out = numpy.empty(x.shape, dtype=numpy.float64)
    with eval_mode(model), _rules(model, float(epsilon), rules):
        for sl in batches(len(x), batch_size):
            xt = Tensor(x[sl], requires_grad=True)
            (g,) = grad(scores_of(who, model, xt, t[sl]).sum(), xt)
            out[sl] = asnumpy(g._data)
    shape = (-1,) + (1,) * (x.ndim - 1)
    relevance = (out * scores.reshape(shape)).astype(x.dtype)
    if not return_convergence_delta:
        return relevance
    return relevance, scores - relevance.reshape(len(x), -1).sum(axis=1, dtype=numpy.float64)
