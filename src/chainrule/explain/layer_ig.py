"""Layer integrated gradients (Captum's ``LayerIntegratedGradients``): integrated gradients of
the target score with respect to a layer's output (or input) instead of the model's input.

The layer's value at ``x`` (``y``) and at the baseline (``y'``) are recorded; then the model runs
on ``x`` with the layer's value replaced by the points ``y' + a (y - y')`` of the straight path,
and the gradients there are summed with the quadrature's weights: the attributions
``(y - y') * sum_k w_k df/dy(p_k)`` are shaped like the layer's value and sum to
``f(x) - f(x')`` up to the quadrature when everything from ``x`` to the score goes through the
layer. It is how an embedding layer's output (token vectors) is attributed, where the model's
input (token indices) cannot be interpolated.
"""

from __future__ import annotations

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, numpy
from ._common import (
    as_batch,
    baseline_shapes,
    batches,
    check_output,
    check_positive_int,
    chosen_scores,
    copied,
    eval_mode,
    one_batch,
    resolve_targets,
    scores_of,
)
from .attribution import CAPTUM_METHODS, IG_METHODS, _quadrature
from .features import _layer
from .multi_input import Extra, with_extra

__all__ = ["layer_integrated_gradients"]


class _Swap:
    """A hook on the layer that records its value (output, or first input) or replaces it."""

    def __init__(self, module, to_input: bool, value=None):
        self.value, self.seen = value, None
        self.handle = (module.register_forward_pre_hook(self._pre) if to_input
                       else module.register_forward_hook(self._post))

    # The model goes on with a clone of the recorded or injected value, which an in-place
    # layer (ReLU(inplace=True)) may then change (``copied``).
    def _pre(self, module, args):
        self.seen = args[0]
        kept = copied(args[0] if self.value is None else self.value)
        return None if kept is None else (kept, *args[1:])

    def _post(self, module, args, output):
        self.seen = output
        return copied(output if self.value is None else self.value)


def _layer_values(who, model, module, to_input, x, batch_size):
    parts = []
    with no_grad():
        for sl in batches(len(x), batch_size):
            if isinstance(model, Extra):
                model.rows = numpy.arange(sl.start, sl.stop)
            swap = _Swap(module, to_input)
            try:
                model(Tensor(x[sl]))
            finally:
                swap.handle.remove()
            if not isinstance(swap.seen, Tensor):
                raise ValueError(f"{who}: the layer's {'input' if to_input else 'output'} must "
                                 f"be one tensor, got {type(swap.seen).__name__}")
            parts.append(asnumpy(swap.seen._data))
    if isinstance(model, Extra):
        model.rows = None
    return numpy.concatenate(parts)


def layer_integrated_gradients(model, layer, x, target=None, *, baseline=0.0, steps: int = 50,
                               method: str = "gausslegendre", output: str = "logit",
                               batch_size: int = 256, multiply_by_inputs: bool = True,
                               attribute_to_layer_input: bool = False,
                               return_convergence_delta: bool = False,
                               additional_forward_args=None):
    """Integrated gradients at ``layer``, shaped like its output (or its input).

    Args:
        layer: the layer, by its dotted name or as the module; it must be called once per
            forward and give (or take, with ``attribute_to_layer_input``) one tensor.
        baseline: the model's input at the path's start: a number or an array shaped like one
            sample (or (1, ...)) or like ``x`` (the layer's value there is ``y'``).
        steps, method: the quadrature, as ``integrated_gradients`` (Captum's ``n_steps`` and
            ``method``; "riemann_trapezoid" is refused there and here).
        batch_size: forward rows per pass (path points of several inputs together).
        multiply_by_inputs: ``(y - y') * integral``; False: the integral of the gradients alone.
        attribute_to_layer_input: attribute the layer's (first) input instead of its output.
        return_convergence_delta: also return ``delta`` (N,): the attributions summed minus
            ``f(x) - f(baseline)``.
        additional_forward_args: more arguments of the model after ``x``, not attributed (an
            attention mask, lengths): a Tensor or array whose first axis has the N samples goes
            with its sample through the path's points, anything else is passed unchanged
            (Captum's).
        (target, output: as ``saliency``)

    Returns:
        An array shaped like the layer's value (N, ...), or ``(attributions, delta)``.
    """
    who = "layer_integrated_gradients"
    module = _layer(who, model, layer)
    one_batch(who, x)
    raw = asnumpy(x._data) if isinstance(x, Tensor) else numpy.asarray(x)
    # token indices (an embedding's input) stay integers; anything else as the other methods
    x = raw if raw.dtype.kind in "iu" and raw.ndim >= 1 and len(raw) else as_batch(who, model, x)
    check_output(who, output)
    steps = check_positive_int(who, "steps", steps)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    if method == "riemann_trapezoid" or CAPTUM_METHODS.get(method, method) not in IG_METHODS:
        raise ValueError(f"{who}: method must be one of {IG_METHODS + tuple(CAPTUM_METHODS)}, "
                         f"got {method!r}")
    method = CAPTUM_METHODS.get(method, method)
    base = numpy.asarray(asnumpy(baseline._data) if isinstance(baseline, Tensor) else baseline)
    if base.dtype.kind not in "fiub" or base.shape not in baseline_shapes(x):
        raise ValueError(f"{who}: baseline must be a number or an array shaped like one sample "
                         f"{x.shape[1:]} (or (1, ...)) or like x {x.shape},"
                         f" got shape {base.shape}")
    if x.dtype.kind in "iu" and (base.dtype.kind not in "iu" and not (base == base.round()).all()):
        raise ValueError(f"{who}: x holds integers (indices), so baseline must too, got "
                         f"{baseline!r:.80}")
    base = numpy.ascontiguousarray(numpy.broadcast_to(base.astype(x.dtype), x.shape))
    whole = batch_size  # the passes over the N samples (targets, the delta's scores)
    if additional_forward_args is not None:
        model = with_extra(model, additional_forward_args, len(x))
        whole = len(x)  # in one pass, so that row i is sample i
    t = resolve_targets(who, model, x, target, output=output, batch_size=whole)
    alphas, weights = _quadrature(method, steps)
    with eval_mode(model):
        y = _layer_values(who, model, module, attribute_to_layer_input, x, batch_size)
        y0 = _layer_values(who, model, module, attribute_to_layer_input, base, batch_size)
        shape = (-1,) + (1,) * (y.ndim - 1)
        total = numpy.zeros(y.shape, dtype=numpy.float64)
        pairs = numpy.arange(len(x) * steps)  # (sample, point) in sample-major order
        for sl in batches(len(pairs), batch_size):
            idx, ks = pairs[sl] // steps, pairs[sl] % steps
            point = y0[idx] + alphas[ks].astype(y.dtype).reshape(shape) * (y[idx] - y0[idx])
            value = Tensor(point, requires_grad=True)
            swap = _Swap(module, attribute_to_layer_input, value)
            if isinstance(model, Extra):
                model.rows = idx
            try:
                chosen = scores_of(who, model, Tensor(x[idx]), t[idx], output=output)
            finally:
                swap.handle.remove()
                if isinstance(model, Extra):
                    model.rows = None
            (g,) = grad(chosen.sum(), value, allow_unused=True)
            g = numpy.zeros_like(point) if g is None else asnumpy(g._data)
            numpy.add.at(total, idx, weights[ks].reshape(shape) * g)
    attributions = ((y - y0) * total if multiply_by_inputs else total).astype(y.dtype)
    if not return_convergence_delta:
        return attributions
    gap = chosen_scores(model, x, t, output, whole) - chosen_scores(model, base, t, output,
                                                                    whole)
    return attributions, attributions.reshape(len(x), -1).sum(axis=1, dtype=numpy.float64) - gap
