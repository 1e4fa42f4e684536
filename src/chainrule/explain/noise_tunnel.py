"""NoiseTunnel (Captum's): any attribution method averaged over noisy copies of the input.

SmoothGrad (Smilkov et al. 2017) smooths the gradient by averaging it over copies of ``x`` with
Gaussian noise; the same smoothing applies to any attribution: integrated gradients, gradient x
input, DeepLIFT, guided backpropagation... ``noise_tunnel`` runs ``attribution`` on
``n_samples`` noisy copies of every input and combines the attributions ``a``: their mean
("smoothgrad"), the mean of ``a**2`` ("smoothgrad_sq") or their variance
``mean(a**2) - mean(a)**2`` ("vargrad").
``explain.smoothgrad`` is this for the gradient, with the noise scaled to each input's range.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import asnumpy, numpy
from ..data.arguments import check_number
from ._common import as_batch, check_positive_int, generator, resolve_targets
from .attribution import NT_TYPES
from .multi_input import _rows

__all__ = ["noise_tunnel"]

_LIKE_X = ("baseline", "baselines", "fill", "feature_mask")  # per-sample: follow their sample


def noise_tunnel(attribution, model, x, /, target=None, *, nt_type: str = "smoothgrad",
                 n_samples: int = 5, stdev: float = 1.0, rng=None, **kwargs):
    """``attribution``'s results combined over ``n_samples`` noisy copies of each input.

    Args:
        attribution: an attribution function of this package called as
            ``attribution(model, x, target, **kwargs)`` (``integrated_gradients``'s result gives its
            ``attributions``).
        model, x, target: as ``saliency``; None targets the class predicted for ``x`` itself
            (not for each noisy copy), as Captum's given target.
        nt_type: "smoothgrad", "smoothgrad_sq" or "vargrad" (Captum's names).
        n_samples: noisy copies per input (Captum's ``nt_samples``).
        stdev: the noise's standard deviation in the input's units (Captum's ``stdevs``), >= 0.
        rng: numpy Generator or seed; the noise is ``stdev * rng.standard_normal((n_samples,
            *x.shape))``, copy ``k`` of input ``i`` getting row ``[k, i]``.
        **kwargs: passed to ``attribution`` (``method=`` too: integrated gradients' own); a
            ``baseline``/``baselines``/``fill``/``feature_mask`` shaped like ``x`` (an array,
            Tensor or list) goes with its input to each of its copies. With
            ``return_convergence_delta=True`` (a method that has it) the deltas of every copy
            come back too. An ``additional_forward_args`` Tensor or array with one row per
            input goes with it to each of its copies.

    Returns:
        An array shaped like ``x`` (or like the method's output for each input), or, with
        ``return_convergence_delta``, ``(that, delta)``: delta (N * n_samples,) ordered as
        Captum's, the copies of input 0 first.
    """
    who = "noise_tunnel"
    if not callable(attribution):
        raise TypeError(f"{who}: attribution must be an attribution function, got "
                        f"{attribution!r:.60}")
    x = as_batch(who, model, x)
    n_samples = check_positive_int(who, "n_samples", n_samples)
    if nt_type not in NT_TYPES:
        raise ValueError(f"{who}: nt_type must be one of {NT_TYPES}, got {nt_type!r}")
    check_number(who, "stdev", stdev, low=0)
    t = resolve_targets(who, model, x, target)
    noise = float(stdev) * generator(rng).standard_normal((n_samples, *x.shape))
    rows = (x[None] + noise).astype(x.dtype).reshape(-1, *x.shape[1:])
    for name in _LIKE_X:
        value = kwargs.get(name)
        if value is None or isinstance(value, (str, int, float)):
            continue
        value = numpy.asarray(asnumpy(value._data) if isinstance(value, Tensor) else value)
        if value.shape == x.shape:  # a Tensor or list too: Captum's per-sample baselines
            kwargs[name] = numpy.tile(value, (n_samples,) + (1,) * (x.ndim - 1))
    extra = kwargs.get("additional_forward_args")
    if extra is not None:  # a per-sample extra argument goes with each copy, as Captum's
        copies = numpy.tile(numpy.arange(len(x)), n_samples)  # copy major, as the noisy rows
        each = tuple(_rows(a, copies, len(x)) for a in
                     (extra if isinstance(extra, tuple) else (extra,)))
        kwargs["additional_forward_args"] = each if isinstance(extra, tuple) else each[0]
    out = attribution(model, rows, numpy.tile(t, n_samples), **kwargs)
    delta = None
    if kwargs.get("return_convergence_delta") and isinstance(out, tuple) and len(out) == 2:
        out, delta = out
        # rows are copy-major (k, i); Captum's deltas are sample-major (i, k), as its copies
        delta = numpy.asarray(delta).reshape(n_samples, len(x), -1).swapaxes(0, 1).reshape(-1)
    out = numpy.asarray(getattr(out, "attributions", out), dtype=numpy.float64)
    out = out.reshape(n_samples, len(x), *out.shape[1:])
    mean = out.mean(axis=0)
    if nt_type == "smoothgrad":
        result = mean
    else:
        square = (out * out).mean(axis=0)
        result = square if nt_type == "smoothgrad_sq" else square - mean * mean
    result = result.astype(x.dtype)
    return result if delta is None else (result, delta)
