"""Attributions of one sample's score to its inputs: gradients, integrated gradients, occlusion.

Each function takes a model, a batch ``x`` (N, ...) and the class to explain (``target``: one
index, one per sample, or None for the predicted class) and returns an array shaped like ``x``.
The methods, with the papers they come from:

* ``saliency``: the gradient of the score, ``df/dx`` (Simonyan, Vedaldi & Zisserman 2014).
* ``gradient_x_input``: ``x * df/dx``, the first-order Taylor contribution of each input.
* ``smoothgrad``: the gradient averaged over noisy copies of ``x`` (Smilkov et al. 2017).
* ``integrated_gradients``: ``(x - x') * integral_0^1 df/dx(x' + a (x - x')) da`` from a
  baseline ``x'`` (Sundararajan, Taly & Yan 2017); its attributions sum to ``f(x) - f(x')``, and
  the result reports how far the quadrature misses that sum.
* ``occlusion`` (in ``ablation``): how much the score falls when a window of the input is
  replaced by a fill value (Zeiler & Fergus 2014's grey square).

Everything runs on the host in eval mode, in batches of ``batch_size`` forward rows, with a
progress bar on stderr when ``progress=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..autograd import Tensor
from ..backend import asnumpy, numpy
from ..data.arguments import check_number
from ._common import (
    Progress,
    as_batch,
    baseline_shapes,
    batches,
    check_output,
    check_positive_int,
    chosen_scores,
    eval_mode,
    generator,
    resolve_targets,
    score_gradients,
)
from .ablation import occlusion
from .multi_input import pack

__all__ = ["IntegratedGradients", "gradient_shap", "gradient_x_input", "integrated_gradients",
           "occlusion", "saliency", "smoothgrad"]

IG_METHODS = ("gausslegendre", "trapezoid", "midpoint", "left", "right")
# Captum's names for the same rules; its "riemann_trapezoid" is not our trapezoid (below)
CAPTUM_METHODS = {"riemann_middle": "midpoint", "riemann_left": "left", "riemann_right": "right"}


def _gradients(who, model, x, target, output, batch_size, progress):
    x = as_batch(who, model, x)
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    grads = numpy.empty_like(x)
    bar = Progress(who, len(x), enabled=progress)
    with eval_mode(model):
        for sl in batches(len(x), batch_size):
            grads[sl] = score_gradients(model, x[sl], t[sl], output=output)[1]
            bar.update(sl.stop - sl.start)
    bar.close()
    return x, grads


def saliency(model, x, target=None, *, output: str = "logit", absolute: bool = False,
             batch_size: int = 64, progress: bool = False, additional_forward_args=None):
    """The gradient of the target score with respect to the input.

    Args:
        model: a Module returning (N, classes) scores.
        x: the inputs (N, ...), an array or Tensor.
        target: the class to explain: an int, one int per sample, or None (the predicted class).
        output: "logit" (the model's output) or "probability" (its softmax).
        absolute: return ``|df/dx|``, the usual saliency map.
        batch_size: samples per backward pass.
        progress: draw a progress bar on stderr.
        additional_forward_args: more arguments of the model, after the inputs, not attributed;
            ``x`` may be a tuple of inputs, giving a tuple of attributions (Captum's; see
            ``multi_input``).

    Returns:
        An array shaped like ``x``. For a linear model ``W x + b`` it is the row ``W[target]``.
    """
    packed = pack("saliency", model, x, additional_forward_args)
    if packed is not None:
        return packed.unpack(saliency(packed.model, packed.x, target, output=output,
                                      absolute=absolute, batch_size=batch_size,
                                      progress=progress))
    _, g = _gradients("saliency", model, x, target, output, batch_size, progress)
    return numpy.abs(g) if absolute else g


def gradient_x_input(model, x, target=None, *, output: str = "logit", batch_size: int = 64,
                     progress: bool = False, additional_forward_args=None):
    """``x * df/dx``: each input's first-order contribution to the score (same Args as saliency,
    a tuple of inputs and ``additional_forward_args`` included).

    Returns:
        An array shaped like ``x``; for a linear model it sums to ``f(x) - b[target]``.
    """
    packed = pack("gradient_x_input", model, x, additional_forward_args)
    if packed is not None:  # the index column's gradient is 0 (multi_input)
        return packed.unpack(gradient_x_input(packed.model, packed.x, target, output=output,
                                              batch_size=batch_size, progress=progress))
    x, g = _gradients("gradient_x_input", model, x, target, output, batch_size, progress)
    return x * g


NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


def smoothgrad(model, x, target=None, *, n_samples: int = 25, noise: float = 0.15,
               stdev: float | None = None, nt_type: str = "smoothgrad", output: str = "logit",
               absolute: bool = False, batch_size: int = 64, progress: bool = False, rng=None):
    """SmoothGrad: the gradient averaged over ``n_samples`` copies of ``x`` with Gaussian noise.

    Args:
        n_samples: noisy copies per input.
        noise: the noise's standard deviation as a share of each input's value range
            (``max - min`` over the sample), as in Smilkov et al. (they found 0.1-0.2 best).
        stdev: the noise's standard deviation in the input's units instead (Captum's
            ``NoiseTunnel`` ``stdevs``); when given, ``noise`` is not used.
        nt_type: how the noisy gradients ``g`` are combined, with Captum's names:
            "smoothgrad" (their mean), "smoothgrad_sq" (the mean of ``g**2``) or "vargrad"
            (their variance, ``mean(g**2) - mean(g)**2``; Adebayo et al. 2018).
        absolute: use ``|gradient|`` (their "SmoothGrad-abs"; Captum's ``Saliency(abs=True)``).
        rng: numpy Generator or seed for the noise, ``rng.standard_normal((n_samples,
            *x.shape))`` (copy ``k`` of input ``i`` gets row ``[k, i]``, as ``noise_tunnel``);
            the same seed gives the same map, whatever ``batch_size``.
        (the other Args as ``saliency``)

    Returns:
        An array shaped like ``x``.
    """
    who = "smoothgrad"
    x = as_batch(who, model, x)
    check_output(who, output)
    n_samples = check_positive_int(who, "n_samples", n_samples)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    for name, v in (("noise", noise), ("stdev", 0.0 if stdev is None else stdev)):
        check_number(who, name, v, low=0)
    if nt_type not in NT_TYPES:
        raise ValueError(f"{who}: nt_type must be one of {NT_TYPES}, got {nt_type!r}")
    rng = generator(rng)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    flat = x.reshape(len(x), -1)
    spread = flat.max(axis=1) - flat.min(axis=1)
    sigma = (noise * spread if stdev is None else numpy.full(len(x), float(stdev)))
    sigma = sigma.reshape((-1,) + (1,) * (x.ndim - 1))
    total = numpy.zeros_like(x, dtype=numpy.float64)
    bar = Progress(who, len(x) * n_samples, enabled=progress)
    per = max(batch_size // n_samples, 1)
    # one draw for the whole batch, copy k of input i getting row [k, i] (as noise_tunnel): drawn
    # per forward pass, the noise of an input depended on batch_size
    noise = rng.standard_normal((n_samples, *x.shape))
    with eval_mode(model):
        for sl in batches(len(x), per):
            xs = x[sl]
            noisy = xs[None] + sigma[sl][None] * noise[:, sl]
            rows = noisy.reshape(-1, *x.shape[1:]).astype(x.dtype)
            tt = numpy.tile(t[sl], n_samples)
            g = score_gradients(model, rows, tt, output=output)[1]
            g = g.reshape(n_samples, *xs.shape).astype(numpy.float64)
            g = numpy.abs(g) if absolute else g
            if nt_type == "smoothgrad":
                total[sl] = g.mean(axis=0)
            else:
                total[sl] = (g * g).mean(axis=0)
                if nt_type == "vargrad":
                    total[sl] -= g.mean(axis=0) ** 2
            bar.update(len(rows))
    bar.close()
    return total.astype(x.dtype)


@dataclass
class IntegratedGradients:
    """The result of ``integrated_gradients``.

    Attributes:
        attributions: shaped like ``x``.
        delta: (N,) the completeness error, ``sum(attributions) - (f(x) - f(baseline))``.
        scores: (N,) ``f(x)``; baseline_scores: (N,) ``f(baseline)``; targets: (N,) the classes.
    """

    attributions: object
    delta: object
    scores: object
    baseline_scores: object
    targets: object

    @property
    def max_relative_error(self) -> float:
        """``max |delta| / max(|f(x) - f(baseline)|, 1e-12)`` over the batch."""
        gap = numpy.abs(self.scores - self.baseline_scores)
        return float((numpy.abs(self.delta) / numpy.maximum(gap, 1e-12)).max())


def _quadrature(method: str, steps: int):
    """Points in [0, 1] and weights summing to 1 for the path integral."""
    if method == "gausslegendre":
        nodes, weights = numpy.polynomial.legendre.leggauss(steps)
        return (nodes + 1) / 2, weights / 2
    if method == "trapezoid":
        if steps < 2:
            raise ValueError(f"integrated_gradients: the trapezoid rule needs steps >= 2, "
                             f"got {steps}")
        alphas = numpy.linspace(0.0, 1.0, steps)
        weights = numpy.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return alphas, weights
    offset = {"midpoint": 0.5, "left": 0.0, "right": 1.0}[method]
    return (numpy.arange(steps) + offset) / steps, numpy.full(steps, 1.0 / steps)


def integrated_gradients(model, x, target=None, *, baseline=0.0, steps: int = 50,
                         method: str = "gausslegendre", output: str = "logit",
                         batch_size: int = 256, progress: bool = False,
                         additional_forward_args=None, return_convergence_delta: bool = False,
                         multiply_by_inputs: bool = True):
    """Integrated gradients along the straight path from ``baseline`` to ``x``.

    Args:
        baseline: a number (the same for every input, e.g. 0: a black image) or an array shaped
            like one sample (or (1, ...), Captum's form) or like ``x``.
        steps: points on the path (gradient evaluations per input).
        method: the quadrature: "gausslegendre" (exact for polynomials of degree < 2 steps),
            "trapezoid", "midpoint", "left" or "right" (the Riemann sums of the paper; Captum's
            "riemann_middle", "riemann_left" and "riemann_right" are accepted for the last
            three). Captum's "riemann_trapezoid" weighs every point 1/steps, which sums to
            (steps - 1)/steps; it is refused, as ``trapezoid`` differs from it.
        batch_size: forward rows per pass (interpolated points of several inputs together).
        additional_forward_args: as ``saliency``'s; with a tuple of inputs ``baseline`` may be
            a tuple, one per input, and ``attributions`` is a tuple.
        return_convergence_delta: return Captum's ``(attributions, delta)`` instead.
        multiply_by_inputs: ``(x - x') * integral``; False: the integral of the gradients
            alone (Captum's ``IntegratedGradients(model, multiply_by_inputs=False)``; ``delta``
            is then computed from it all the same, as Captum's).
        (the other Args as ``saliency``)

    Returns:
        IntegratedGradients: attributions, and ``delta``, the completeness error per sample
        (its attributions summed over every input, minus ``f(x) - f(baseline)``).
    """
    who = "integrated_gradients"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:
        r = integrated_gradients(packed.model, packed.x, target,
                                 baseline=packed.like_x("baseline", baseline), steps=steps,
                                 method=method, output=output, batch_size=batch_size,
                                 progress=progress, multiply_by_inputs=multiply_by_inputs)
        r.attributions = packed.unpack(r.attributions)
        return (r.attributions, r.delta) if return_convergence_delta else r
    x = as_batch(who, model, x)
    check_output(who, output)
    steps = check_positive_int(who, "steps", steps)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    if method == "riemann_trapezoid":
        raise ValueError(f"{who}: Captum's method 'riemann_trapezoid' gives its points weights "
                         "summing to (steps - 1)/steps, so its attributions miss completeness by "
                         "that share; use 'trapezoid' (the same points, weights summing to 1)")
    method = CAPTUM_METHODS.get(method, method)
    if method not in IG_METHODS:
        raise ValueError(f"{who}: method must be one of {IG_METHODS + tuple(CAPTUM_METHODS)}, "
                         f"got {method!r}")
    base = numpy.asarray(baseline, dtype=x.dtype)
    if base.shape not in baseline_shapes(x):
        raise ValueError(f"{who}: baseline must be a number or shaped like one sample "
                         f"{x.shape[1:]} (or (1, ...)) or like x {x.shape}, got shape "
                         f"{base.shape}")
    base = numpy.broadcast_to(base, x.shape)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    alphas, weights = _quadrature(method, steps)
    shape = (-1,) + (1,) * (x.ndim - 1)
    total = numpy.zeros(x.shape, dtype=numpy.float64)
    bar = Progress(who, len(x) * steps, enabled=progress)
    # Rows are (sample, alpha) pairs in sample-major order, cut into forward passes.
    pairs = [(i, k) for i in range(len(x)) for k in range(steps)]
    with eval_mode(model):
        for sl in batches(len(pairs), batch_size):
            idx = numpy.array([p[0] for p in pairs[sl]])
            ks = numpy.array([p[1] for p in pairs[sl]])
            a = alphas[ks].astype(x.dtype).reshape(shape)
            rows = base[idx] + a * (x[idx] - base[idx])
            g = score_gradients(model, rows, t[idx], output=output)[1]
            weighted = weights[ks].reshape(shape) * g
            # idx is sorted (sample-major rows): sum each sample's run of rows at once, which
            # numpy.add.at does one row at a time and several times slower.
            starts = numpy.flatnonzero(numpy.r_[True, idx[1:] != idx[:-1]])
            total[idx[starts]] += numpy.add.reduceat(weighted, starts, axis=0)
            bar.update(len(idx))
    bar.close()
    attributions = ((x - base) * total if multiply_by_inputs else total).astype(x.dtype)
    scores = chosen_scores(model, x, t, output, batch_size)
    base_scores = chosen_scores(model, numpy.ascontiguousarray(base), t, output, batch_size)
    delta = attributions.reshape(len(x), -1).sum(axis=1, dtype=numpy.float64) - (
        scores - base_scores)
    if return_convergence_delta:
        return attributions, delta
    return IntegratedGradients(attributions, delta, scores, base_scores, t)


def gradient_shap(model, x, target=None, *, baselines=0.0, n_samples: int = 5,
                  stdev: float = 0.0, output: str = "logit", batch_size: int = 256, rng=None,
                  additional_forward_args=None):
    """GradientSHAP (Lundberg & Lee 2017; Captum's ``GradientShap``): expected gradients.

    For each input, ``n_samples`` times: a baseline ``b`` drawn from ``baselines``, a point
    ``a`` drawn uniformly from [0, 1], Gaussian noise of standard deviation ``stdev`` added to
    ``x`` (giving ``x~``); the attribution is the mean of ``(x~ - b) * df/dx(b + a (x~ - b))``,
    an estimate of integrated gradients averaged over the baselines.

    Args:
        baselines: a number, one baseline shaped like a sample, or (B, ...) baselines to draw
            from (the "background" distribution).
        n_samples: draws per input; stdev: the noise on ``x`` (in the input's units).
        rng: numpy Generator or seed. Draws, in this order: the baseline indices
            (n_samples, N), the points (n_samples, N), then the noise (n_samples, N, ...).
        additional_forward_args: as ``saliency``'s; with a tuple of inputs ``baselines`` is a
            tuple (one entry per input, the same B for each), and a tuple comes back (Captum's;
            the noise is then drawn for the packed batch of ``multi_input``).
        (the other Args as ``saliency``)

    Returns:
        An array shaped like ``x``.
    """
    who = "gradient_shap"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:  # Captum's tuple of inputs: one packed batch (multi_input)
        pools = [_background(who, xi, b) for xi, b in zip(packed.xs,
                                                          packed.each("baselines", baselines))]
        size = max(len(p) for p in pools)
        if any(len(p) not in (1, size) for p in pools):
            raise ValueError(f"{who}: the inputs' baselines must have the same number of "
                             f"samples, got {[len(p) for p in pools]}")
        pool = numpy.concatenate([numpy.broadcast_to(p, (size, *p.shape[1:])).reshape(size, -1)
                                  for p in pools] + [numpy.zeros((size, 1))], axis=1)
        return packed.unpack(_gradient_shap(who, packed.model, packed.x, target,
                                            pool.astype(packed.x.dtype), n_samples, stdev,
                                            output, batch_size, rng, indexed=True))
    x = as_batch(who, model, x)
    return _gradient_shap(who, model, x, target, _background(who, x, baselines), n_samples,
                          stdev, output, batch_size, rng, indexed=False)


def _background(who, x, baselines):
    """``baselines`` (a number, one sample or (B, ...) samples) as (B, ...) in x's dtype."""
    pool = numpy.asarray(asnumpy(baselines._data) if isinstance(baselines, Tensor)
                         else baselines)
    if pool.dtype.kind not in "fiub" or (pool.shape != () and pool.shape[-(x.ndim - 1):] !=
                                         x.shape[1:]) or pool.ndim not in (0, x.ndim - 1, x.ndim):
        raise ValueError(f"{who}: baselines must be a number, one sample {x.shape[1:]} or "
                         f"(B, ...) samples, got shape {pool.shape}")
    pool = numpy.broadcast_to(pool, x.shape[1:])[None] if pool.ndim < x.ndim else pool
    return pool.astype(x.dtype)


def _gradient_shap(who, model, x, target, pool, n_samples, stdev, output, batch_size, rng, *,
                   indexed):
    check_output(who, output)
    n_samples = check_positive_int(who, "n_samples", n_samples)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    check_number(who, "stdev", stdev, low=0)
    rng = generator(rng)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    picks = rng.integers(0, len(pool), size=(n_samples, len(x)))
    alphas = rng.uniform(0.0, 1.0, size=(n_samples, len(x)))
    noisy = x[None] + stdev * rng.standard_normal((n_samples, *x.shape))
    b = pool[picks]
    if indexed:  # a packed batch: every row keeps its input's index column, noise-free
        noisy[..., -1] = x[:, -1]
        b[..., -1] = x[:, -1]
    diff = (noisy - b).astype(x.dtype)
    shape = (-1,) + (1,) * (x.ndim - 1)
    rows = (b + alphas.reshape(n_samples, *shape) * diff).astype(x.dtype).reshape(-1,
                                                                                  *x.shape[1:])
    tt = numpy.tile(t, n_samples)
    total = numpy.zeros(x.shape, dtype=numpy.float64)
    flat = diff.reshape(-1, *x.shape[1:])
    with eval_mode(model):
        for sl in batches(len(rows), batch_size):
            g = score_gradients(model, rows[sl], tt[sl], output=output)[1]
            idx = numpy.arange(sl.start, sl.stop) % len(x)
            numpy.add.at(total, idx, g * flat[sl])
    return (total / n_samples).astype(x.dtype)
