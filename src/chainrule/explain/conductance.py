"""Layer conductance (Dhamdhere, Sundararajan & Yan 2018): integrated gradients through a layer.

The conductance of a hidden unit ``y_j`` is the share of ``f(x) - f(x')`` that flows through it
along the straight path from the baseline ``x'`` to ``x``:
``sum_k df/dy_j(p_k) * (y_j(p_{k+1}) - y_j(p_k))`` over the points ``p_0 .. p_steps`` of the path.
Over all units of a layer the conductances sum to ``f(x) - f(x')`` (up to the quadrature) when the
path runs from 0 to 1, as with the trapezoid rule's points. Captum's ``LayerConductance`` does the
same, with the same points for each ``method`` (``steps + 1`` of them).
"""

from __future__ import annotations

from ..autograd import Tensor, grad
from ..backend import asnumpy, numpy
from ._common import (
    as_batch,
    baseline_shapes,
    batches,
    check_output,
    check_positive_int,
    eval_mode,
    resolve_targets,
    scores_of,
)
from .attribution import CAPTUM_METHODS, IG_METHODS, _quadrature
from .features import _Capture, _layer
from .multi_input import Extra, with_extra

__all__ = ["layer_conductance"]


def layer_conductance(model, layer, x, target=None, *, baseline=0.0, steps: int = 50,
                      method: str = "gausslegendre", output: str = "logit",
                      batch_size: int = 256, additional_forward_args=None):
    """The conductance of every unit of ``layer`` for the target score.

    Args:
        layer: the layer, by its dotted name or as the module; its output's units are explained.
        baseline: a number or an array shaped like one sample (or (1, ...)) or like ``x``.
        steps: path segments (the gradient is taken at ``steps + 1`` points).
        method: where the points lie: "gausslegendre", "trapezoid" (0 to 1 evenly, so the
            conductances are complete), "left", "right", "midpoint" (or Captum's "riemann_*"
            names, "riemann_trapezoid" included: only the points matter here).
        additional_forward_args: as ``grad_cam``'s.
        (the other Args as ``saliency``)

    Returns:
        An array shaped like the layer's output (N, ...).
    """
    who = "layer_conductance"
    module = _layer(who, model, layer)
    x = as_batch(who, model, x)
    check_output(who, output)
    steps = check_positive_int(who, "steps", steps)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    method = {"riemann_trapezoid": "trapezoid", **CAPTUM_METHODS}.get(method, method)
    if method not in IG_METHODS:
        raise ValueError(f"{who}: method must be one of {IG_METHODS}, got {method!r}")
    base = numpy.asarray(asnumpy(baseline._data) if isinstance(baseline, Tensor) else baseline)
    if base.dtype.kind not in "fiub" or base.shape not in baseline_shapes(x):
        raise ValueError(f"{who}: baseline must be a number or an array shaped like one sample "
                         f"{x.shape[1:]} (or (1, ...)) or like x {x.shape},"
                         f" got shape {base.shape}")
    base = numpy.broadcast_to(base.astype(x.dtype), x.shape)
    whole = batch_size
    if additional_forward_args is not None:
        model, whole = with_extra(model, additional_forward_args, len(x)), len(x)
    t = resolve_targets(who, model, x, target, output=output, batch_size=whole)
    alphas = _quadrature(method, steps + 1)[0].astype(x.dtype)
    per = max(batch_size // (steps + 1), 1)
    parts = []
    with eval_mode(model):
        for sl in batches(len(x), per):
            xs, bs = x[sl], base[sl]
            rows = bs[None] + alphas.reshape((-1, 1) + (1,) * (x.ndim - 1)) * (xs - bs)[None]
            xt = Tensor(rows.reshape(-1, *x.shape[1:]), requires_grad=True)
            if isinstance(model, Extra):  # row (point k, sample i) is sample sl.start + i
                model.rows = numpy.tile(numpy.arange(sl.start, sl.stop), steps + 1)
            cap = _Capture(module)
            try:
                chosen = scores_of(who, model, xt, numpy.tile(t[sl], steps + 1), output=output)
            finally:
                cap.handle.remove()
            act = cap.output
            if not isinstance(act, Tensor):
                raise ValueError(f"{who}: layer {layer!r} must output one tensor, got "
                                 f"{type(act).__name__}")
            (g,) = grad(chosen.sum(), act, allow_unused=True)
            a = asnumpy(act._data).reshape(steps + 1, len(xs), *act.shape[1:])
            g = (numpy.zeros_like(a) if g is None else asnumpy(g._data).reshape(a.shape))
            parts.append(((a[1:] - a[:-1]) * g[:-1]).sum(axis=0, dtype=numpy.float64))
    return numpy.concatenate(parts).astype(x.dtype)
