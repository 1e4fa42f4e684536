"""DeepLIFT SHAP (Lundberg & Lee 2017; Captum's ``DeepLiftShap``): DeepLIFT averaged over a
background distribution of baselines.

DeepLIFT explains ``f(x) - f(b)`` against one baseline ``b``; SHAP values explain ``f(x)`` against
the expected output over a background set. DeepLIFT SHAP runs DeepLIFT (``deeplift``, the rescale
rule) once for every pair of an input and a background sample and averages each input's
attributions over the background: they sum to ``f(x) - mean_b f(b)`` for networks of linear layers
and elementwise nonlinearities.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..backend import asnumpy, numpy
from ._common import as_batch, check_output, check_positive_int, resolve_targets
from .deeplift import deeplift
from .multi_input import pack

__all__ = ["deeplift_shap"]


def deeplift_shap(model, x, target=None, *, baselines, multiply_by_inputs: bool = True,
                  eps: float = 1e-10, output: str = "logit", batch_size: int = 64,
                  additional_forward_args=None, return_convergence_delta: bool = False):
    """DeepLIFT attributions averaged over the baselines ``baselines`` (B, ...).

    Args:
        model: a Module whose nonlinearities are layers (as ``deeplift``).
        x: inputs (N, ...); target: an int, one per sample, or None (the predicted class).
        baselines: the background samples (B, ...) (B >= 1; Captum asks for B > 1 and points
            one baseline to ``DeepLift``, which this equals then).
        multiply_by_inputs: the mean of ``(x - b) * multipliers``; False: the mean multipliers.
        return_convergence_delta: also return ``delta`` (N * B,), Captum's: for each input and
            each baseline in turn, the attributions against that baseline summed minus
            ``f(x) - f(b)``.
        additional_forward_args: as ``deeplift``'s; with a tuple of inputs ``baselines`` is a
            tuple of background batches, one per input, all with B samples, and a tuple comes
            back (Captum's).
        (eps, output, batch_size: as ``deeplift``; batch_size counts (input, baseline) pairs)

    Returns:
        An array shaped like ``x``, or ``(attributions, delta)``.
    """
    who = "deeplift_shap"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:  # Captum's tuple of inputs: one packed batch (multi_input)
        pools = [_pool(who, xi, b) for xi, b in zip(packed.xs, packed.each("baselines",
                                                                          baselines))]
        if len({len(p) for p in pools}) > 1:
            raise ValueError(f"{who}: the inputs' baselines must have the same number of "
                             f"samples, got {[len(p) for p in pools]}")
        # the index column is each pair's input's own (set in _pairs): its extra arguments
        pool = numpy.concatenate([p.reshape(len(p), -1) for p in pools]
                                 + [numpy.zeros((len(pools[0]), 1))], axis=1)
        out = _deeplift_shap(who, packed.model, packed.x, target, pool.astype(packed.x.dtype),
                             multiply_by_inputs, eps, output, batch_size,
                             return_convergence_delta, indexed=True)
        return ((packed.unpack(out[0]), out[1]) if return_convergence_delta
                else packed.unpack(out))
    x = as_batch(who, model, x)
    return _deeplift_shap(who, model, x, target, _pool(who, x, baselines), multiply_by_inputs,
                          eps, output, batch_size, return_convergence_delta, indexed=False)


def _pool(who, x, baselines):
    pool = numpy.asarray(asnumpy(baselines._data) if isinstance(baselines, Tensor)
                         else baselines)
    if pool.dtype.kind not in "fiub" or pool.shape[1:] != x.shape[1:] or len(pool) == 0:
        raise ValueError(f"{who}: baselines must be background samples (B, ...) shaped "
                         f"(B, {', '.join(map(str, x.shape[1:]))}) with B >= 1, got shape "
                         f"{pool.shape}")
    return pool.astype(x.dtype)


def _deeplift_shap(who, model, x, target, pool, multiply_by_inputs, eps, output, batch_size,
                   return_convergence_delta, *, indexed):
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    n, b = len(x), len(pool)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    pairs_x = numpy.repeat(x, b, axis=0)            # input i, baseline j at row i * B + j
    pairs_b = numpy.tile(pool, (n,) + (1,) * (x.ndim - 1))
    if indexed:  # a packed batch: the baseline rows carry their input's index column
        pairs_b[:, -1] = pairs_x[:, -1]
    out = deeplift(model, pairs_x, numpy.repeat(t, b), baseline=pairs_b,
                   multiply_by_inputs=multiply_by_inputs, eps=eps, output=output,
                   batch_size=batch_size, return_convergence_delta=return_convergence_delta)
    attributions, delta = out if return_convergence_delta else (out, None)
    mean = attributions.reshape(n, b, *x.shape[1:]).mean(axis=1, dtype=numpy.float64)
    mean = mean.astype(x.dtype)
    return (mean, delta) if return_convergence_delta else mean
