"""Soft weight sharing (Nowlan & Hinton, 1992): a learned mixture-of-Gaussians prior on the weights.

Hard sharing ties weights to be equal; soft sharing only asks them to cluster. The penalty is the
negative log density of the weights under ``sum_k pi_k N(mu_k, sigma_k^2)``, whose means,
variances and mixing proportions are Parameters trained with the net. Weights are pulled towards
the nearest centre; after training, ``quantize`` replaces each by the mean of its most
responsible component, which compresses the net to ``K`` distinct values (Ullrich et al., 2017).
The penalty is composed of chainrule ops (``logsumexp`` over components), so its gradient, and the
gradient of that gradient, come from the ops' own backward rules.

What is shared: Nowlan & Hinton's prior is over the connection weights, so by default
``sharing_loss`` covers the ``weight`` of every linear and convolution layer (``SHARED_LAYERS``),
as weight decay conventionally covers them: not biases, not the scales and shifts of
normalization layers (a BatchNorm scale pulled to a centre near zero would switch its channel
off, and a scale is no connection), not embeddings. ``layers=`` widens or narrows that;
``params=`` names the tensors outright.
"""

from __future__ import annotations

import math

from ..autograd import no_grad
from ..backend import asnumpy, get_array_module
from ..nn import (
    Bilinear,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    Linear,
    Module,
    Parameter,
)
from ..ops import exp, log_softmax, logsumexp, reshape
from ..ops import sum as total
from ..train._checks import resolve_loss
from ._checks import check_int, check_positive

__all__ = ["SHARED_LAYERS", "MixturePrior", "shared_weights", "sharing_loss"]

SHARED_LAYERS = (Linear, Bilinear, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                 ConvTranspose3d)  # their subclasses too: lazy and fused layers


class MixturePrior(Module):
    """A mixture of ``K`` Gaussians over scalar weights; ``penalty(weights)`` is ``-log p(w)``.

    Args:
        means: initial centres, a sequence of K floats (e.g. evenly spread over the weights'
            range, one of them 0 for pruning).
        sigma: the initial standard deviation of every component.
        fixed_zero: keep component 0's mean at zero (it still learns its width and weight),
            as Ullrich et al. do for pruning.
        dtype: float dtype of the mixture's parameters.

    Parameters: ``means`` (K,), ``log_sigmas`` (K,), ``logits`` (K,; ``pi = softmax(logits)``).
    """

    def __init__(self, means, *, sigma: float = 0.1, fixed_zero: bool = False,
                 dtype="float32"):
        super().__init__()
        try:
            if isinstance(means, (str, bytes)):
                raise TypeError
            means = [float(m) for m in means]
        except (TypeError, ValueError) as err:
            raise ValueError(f"MixturePrior: means must be a sequence of real numbers, got "
                             f"{means!r}") from err
        if not means or not all(math.isfinite(m) for m in means):
            raise ValueError(f"MixturePrior: means must list at least one centre, all finite, "
                             f"got {means}")
        check_positive("MixturePrior", "sigma", sigma)
        xp = get_array_module()
        self.fixed_zero = bool(fixed_zero)
        self.means = Parameter(xp.asarray(means, dtype=dtype))
        self.log_sigmas = Parameter(xp.full(len(means), math.log(sigma), dtype=dtype))
        self.logits = Parameter(xp.zeros(len(means), dtype=dtype))

    def _means(self):
        if not self.fixed_zero:
            return self.means
        mask = self.means._data * 0 + 1
        mask[0] = 0
        return self.means * mask

    def log_components(self, weights):
        """``log pi_k + log N(w_i | mu_k, sigma_k^2)`` for every weight and component: (P, K)."""
        w = reshape(weights, (-1, 1))
        var = exp(2.0 * self.log_sigmas)
        return (log_softmax(self.logits, axis=0) - self.log_sigmas - 0.5 * math.log(2 * math.pi)
                - (w - self._means()) ** 2 / (2.0 * var))

    def penalty(self, *weights):
        """``-sum_i log sum_k pi_k N(w_i | mu_k, sigma_k^2)`` over every element of ``weights``."""
        if not weights:
            raise ValueError("MixturePrior.penalty: pass at least one weight Tensor")
        out = -total(logsumexp(self.log_components(weights[0]), axis=1))
        for w in weights[1:]:
            out = out - total(logsumexp(self.log_components(w), axis=1))
        return out

    def responsibilities(self, weights):
        """Posterior probability of each component for each weight, an array (P, K)."""
        with no_grad():
            logc = asnumpy(self.log_components(weights)._data)
        xp = get_array_module(logc)
        r = xp.exp(logc - logc.max(axis=1, keepdims=True))
        return r / r.sum(axis=1, keepdims=True)

    def quantize(self, *weights) -> list:
        """Set each weight (in place) to the mean of its most responsible component.

        Returns:
            The component index of every weight, one int array per Tensor.
        """
        centres = asnumpy(self._means()._data)
        out = []
        for w in weights:
            k = self.responsibilities(w).argmax(axis=1)
            with no_grad():
                w.copy_(centres[k].reshape(w.shape).astype(w._data.dtype))
            out.append(k.reshape(w.shape))
        return out

    def extra_repr(self) -> str:
        return f"components={self.means.shape[0]}, fixed_zero={self.fixed_zero}"


def shared_weights(model, layers=SHARED_LAYERS) -> list:
    """The ``weight`` Parameter of every module of ``model`` that is one of ``layers`` (a class
    or tuple of classes), each once (a tied weight is one tensor), in ``named_modules`` order."""
    if not (isinstance(layers, type) or isinstance(layers, tuple) and layers
            and all(isinstance(c, type) for c in layers)):
        raise TypeError(f"shared_weights: layers must be a Module class or a non-empty tuple of "
                        f"them, got {layers!r}")
    out, seen = [], set()
    for _, module in model.named_modules():
        w = getattr(module, "weight", None) if isinstance(module, layers) else None
        if isinstance(w, Parameter) and id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def sharing_loss(model, prior: MixturePrior, n_train: int, *, loss, strength: float = 1.0,
                 params=None, layers=SHARED_LAYERS):
    """A ``Trainer`` loss: ``loss(output, target) + strength * prior.penalty(weights) / n_train``.

    Args:
        loss: a callable or the name of a ``chainrule.ops`` loss (``"cross_entropy"``).
        params: the weights to share; by default ``shared_weights(model, layers)``.
        layers: the layer classes whose ``weight`` is shared when ``params`` is not given
            (default ``SHARED_LAYERS``: linear and convolution layers; not normalization
            scales, biases or embeddings; see the module docstring).

    The prior's own Parameters must be given to the optimizer too.
    """
    check_int("sharing_loss", "n_train", n_train)
    strength = check_positive("sharing_loss", "strength", strength, allow_zero=True)
    loss = resolve_loss(loss, "sharing_loss", allow_none=False)  # a name too, as Trainer
    given = params is not None
    params = list(params) if given else shared_weights(model, layers)
    if not params:
        kinds = ", ".join(c.__name__ for c in (layers if isinstance(layers, tuple) else (layers,)))
        raise ValueError("sharing_loss: params must list at least one weight to share, got "
                         + ("none" if given else f"none: {type(model).__name__} has no layer "
                            f"of the kinds in layers ({kinds}) with a weight"))

    def penalized(output, target):
        data = loss(output, target)
        if not model.training:
            return data
        return data + prior.penalty(*params) * (strength / n_train)
    return penalized
