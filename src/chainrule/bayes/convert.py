"""Turn a built network into a Bayes-by-Backprop one: every Linear and Conv2d becomes Bayesian.

``to_bayesian`` walks the model's modules and replaces, in place, each ``nn.Linear`` with an
``nn.BayesianLinear`` and each ``nn.Conv2d`` with an ``nn.BayesianConv2d`` of the same shape, the
means starting at the layer's current weights and the standard deviations at ``softplus(init_rho)``.
Everything else (activations, pooling, dropout, normalization) stays, so any registered model
(MLP, LeNet-5, ...) can be trained by ``elbo_loss`` without a second definition of it.
"""

from __future__ import annotations

from ..autograd import no_grad
from ..nn import BayesianConv2d, BayesianLinear, Conv2d, Linear, Module, unfuse
from ._checks import check_positive, resolve_rng

__all__ = ["to_bayesian"]


def _bayesian_twin(layer, opts, rng):
    who = "to_bayesian"
    if layer.bias is None:
        raise ValueError(f"{who}: {type(layer).__name__} layers without a bias are not supported "
                         "(Bayesian layers always have one); got " + repr(layer))
    if isinstance(layer, Linear):
        twin = BayesianLinear(layer.in_features, layer.out_features, rng=rng,
                              dtype=layer.weight.dtype, **opts)
    else:
        if layer.groups != 1 or any(d != 1 for d in layer.dilation) or isinstance(
                layer.padding, str) or getattr(layer, "padding_mode", "zeros") != "zeros":
            raise ValueError(f"{who}: only Conv2d layers without groups, dilation, string "
                             f"padding or padding modes can become Bayesian; got {layer!r}")
        twin = BayesianConv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                              stride=layer.stride, padding=layer.padding, rng=rng,
                              dtype=layer.weight.dtype, **opts)
    with no_grad():
        twin.weight_mu.copy_(layer.weight._data)
        twin.bias_mu.copy_(layer.bias._data)
    return twin.train(layer.training)


def to_bayesian(model: Module, *, prior_sigma: float = 1.0, prior_mixture=None,
                init_rho: float = -5.0, local_reparameterization: bool = False,
                rng=None) -> Module:
    """Replace every ``Linear`` and ``Conv2d`` inside ``model`` by its Bayesian twin, in place.

    A fused model (``nn.fuse``: ``LinearReLU``...) is unfused first, so its fused layers are
    converted too and their ReLUs come back. A frozen layer (``requires_grad=False`` on its weight
    and bias) stays as it is, deterministic and frozen, as the Laplace classes leave frozen layers
    out of the posterior.

    Args:
        model: a Module (``model`` itself may not be a Linear/Conv2d: wrap it in a Sequential).
        prior_sigma, prior_mixture, init_rho, local_reparameterization: as in
            ``nn.BayesianLinear``.
        rng: Generator or seed for the layers' weight samples.

    Returns:
        ``model``, now holding ``weight_mu``/``weight_rho``/``bias_mu``/``bias_rho`` where its
        layers held ``weight``/``bias``.

    Raises:
        ValueError: no trainable Linear or Conv2d found, a layer without bias or with one of its
            weight and bias frozen, or a grouped/dilated Conv2d.
    """
    if not isinstance(model, Module) or isinstance(model, (Linear, Conv2d)):
        raise ValueError("to_bayesian: model must be a Module containing Linear/Conv2d layers "
                         f"(wrap a single layer in a Sequential), got {type(model).__name__}")
    check_positive("to_bayesian", "prior_sigma", prior_sigma)
    rng = resolve_rng("to_bayesian", rng)
    unfuse(model)  # a fused LinearReLU/Conv2dReLU is a Linear/Conv2d to convert, and its ReLU
    opts = {"prior_sigma": prior_sigma, "prior_mixture": prior_mixture, "init_rho": init_rho,
            "local_reparameterization": local_reparameterization}
    swapped = frozen = 0
    for parent in list(model.modules()):
        for name, child in list(parent._modules.items()):
            if type(child) not in (Linear, Conv2d):
                continue
            trainable = [p.requires_grad for p in child.parameters()]
            if not any(trainable):  # frozen (a pretrained feature extractor): kept as it is
                frozen += 1
                continue
            if not all(trainable):
                raise ValueError(f"to_bayesian: {child!r} has frozen and trainable parameters; "
                                 "its Bayesian twin learns weight and bias together (freeze "
                                 "both or neither)")
            parent._modules[name] = _bayesian_twin(child, opts, rng)
            swapped += 1
    if not swapped:
        raise ValueError(f"to_bayesian: {type(model).__name__} has no Linear or Conv2d layer to "
                         "make Bayesian" + (f" ({frozen} frozen ones are kept as they are)"
                                            if frozen else ""))
    return model
