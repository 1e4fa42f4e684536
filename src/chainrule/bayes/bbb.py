"""Bayes by Backprop: train a distribution over the weights by maximizing the ELBO.

The loss per example is ``loss(output, target) + kl_weight * KL(q || prior) / n_train``: the data
term of the ELBO estimated with one weight sample per batch (the layers sample in training mode),
and the KL spread over the ``n_train`` examples, so that one epoch adds up to the negative ELBO
(Blundell et al., 2015, with the KL weighted uniformly across minibatches). ``elbo_loss`` makes
such a loss for ``Trainer``; ``sample_predict`` averages sampled predictions at test time.
"""

from __future__ import annotations

from ..nn import BayesianConv2d, BayesianLinear, Flatten, ReLU, Sequential, Tanh
from ..ops import cross_entropy
from ..train._checks import resolve_loss
from ._checks import (
    check_batch,
    check_int,
    check_positive,
    eval_modes,
    resolve_rng,
    restore_modes,
)
from .calibration import probability_draws

__all__ = ["bayesian_mlp", "kl_divergence", "elbo_loss", "sample_predict"]


def bayesian_mlp(sizes, *, prior_sigma: float = 1.0, prior_mixture=None, init_rho: float = -5.0,
                 local_reparameterization: bool = False, activation: str = "relu",
                 rng=None) -> Sequential:
    """Flatten, then ``BayesianLinear`` layers of widths ``sizes`` with ReLU (or tanh) between."""
    # each an int >= 1: int() made 3.7 a width of 3, True one of 1, '3' one of 3, silently
    sizes = [check_int("bayesian_mlp", f"sizes[{i}]", s) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"bayesian_mlp: sizes must list at least two positive widths, got {sizes}")
    if activation not in ("relu", "tanh"):
        raise ValueError(f"bayesian_mlp: activation must be 'relu' or 'tanh', got {activation!r}")
    if rng is not None:  # an int seed too, as elsewhere in chainrule.bayes
        rng = resolve_rng("bayesian_mlp", rng)
    layers = [Flatten()]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(BayesianLinear(a, b, prior_sigma=prior_sigma, prior_mixture=prior_mixture,
                                     init_rho=init_rho, rng=rng,
                                     local_reparameterization=local_reparameterization))
        if i < len(sizes) - 2:
            layers.append(ReLU() if activation == "relu" else Tanh())
    return Sequential(*layers)


def _bayesian_layers(model):
    return [m for m in model.modules() if isinstance(m, (BayesianLinear, BayesianConv2d))]


def _graph_nodes(output) -> set:
    """The ids of the nodes ``output`` was computed from (empty for a tensor outside a graph)."""
    seen: set = set()
    stack = [output._ctx] if getattr(output, "_ctx", None) is not None else []
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for t in fn.inputs or ():
            if t._ctx is not None:
                stack.append(t._ctx)
    return seen


def kl_divergence(model, output=None):
    """The sum of ``kl()`` over the model's Bayesian layers (a scalar Tensor).

    With ``output`` (a model output Tensor), a layer whose weights were sampled to compute it
    contributes the KL its sampling node computed in that pass, from the same ``softplus(rho)``
    (the same value as ``kl()``, without computing it again); the other layers call ``kl()``.
    """
    layers = _bayesian_layers(model)
    if not layers:
        raise ValueError("kl_divergence: the model has no BayesianLinear or BayesianConv2d layer")
    nodes = _graph_nodes(output) if output is not None else set()
    out = None
    for m in layers:
        term = m.sample_kl(nodes) if nodes else None
        term = m.kl() if term is None else term
        out = term if out is None else out + term
    return out


def elbo_loss(model, n_train: int, *, loss=cross_entropy, kl_weight: float = 1.0):
    """A ``Trainer`` loss: ``loss(output, target) + kl_weight * KL / n_train`` (negative ELBO/N).

    ``loss`` is a callable or the name of a ``chainrule.ops`` loss (``"cross_entropy"``)."""
    check_int("elbo_loss", "n_train", n_train)
    loss = resolve_loss(loss, "elbo_loss", allow_none=False)  # a name too, as Trainer
    kl_weight = check_positive("elbo_loss", "kl_weight", kl_weight, allow_zero=True)
    _ = kl_divergence(model)  # fail here, not in the first step, when there is nothing Bayesian

    def negative_elbo(output, target):
        data = loss(output, target)
        if not model.training:  # evaluation reports the data term of the mean network
            return data
        return data + kl_divergence(model, output) * (kl_weight / n_train)
    return negative_elbo


def sample_predict(model, x, *, samples: int = 10, batch_size: int = 512):
    """Softmax outputs of ``samples`` forward passes with sampled weights: an array (S, N, C)."""
    check_int("sample_predict", "samples", samples)
    x = check_batch("sample_predict", "x", x)
    check_int("sample_predict", "batch_size", batch_size)
    layers = _bayesian_layers(model)
    if not layers:
        raise ValueError("sample_predict: the model has no BayesianLinear or BayesianConv2d layer")
    modes, sampling = eval_modes(model), [m.sampling for m in layers]
    for m in layers:
        m.sampling = True
    try:
        return probability_draws(model, x, samples, batch_size, "sample_predict")
    finally:
        for m, flag in zip(layers, sampling):
            m.sampling = flag
        restore_modes(modes)
