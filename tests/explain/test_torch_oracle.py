"""Attributions against PyTorch on the same weights (plain torch.autograd as the oracle).

The oracle is PyTorch's autograd with the methods written out in a few lines, in float64: the
gradient, integrated gradients on the same quadrature nodes, and guided backpropagation / the
deconvnet as a torch.autograd.Function. test_captum_oracle.py compares with Captum itself.
"""

import numpy as np
import pytest

from chainrule.explain import deconvnet, guided_backprop, integrated_gradients, saliency
from chainrule.explain.attribution import _quadrature

torch = pytest.importorskip("torch")


def _torch_grad(model, x, target):
    xt = torch.tensor(x, requires_grad=True)
    out = model(xt)
    out[torch.arange(len(x)), torch.tensor(target)].sum().backward()
    return xt.grad.numpy()


def test_saliency_and_integrated_gradients_match_torch(twin_models, rng):
    ours, theirs = twin_models
    x = rng.uniform(size=(3, 1, 8, 8))
    target = np.array([0, 2, 1])
    np.testing.assert_allclose(saliency(ours, x, target), _torch_grad(theirs, x, target),
                               rtol=1e-10, atol=1e-12)
    alphas, weights = _quadrature("gausslegendre", 16)
    expected = sum(w * _torch_grad(theirs, a * x, target) for a, w in zip(alphas, weights)) * x
    res = integrated_gradients(ours, x, target, steps=16)
    np.testing.assert_allclose(res.attributions, expected, rtol=1e-9, atol=1e-12)


class _RuleReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, guided):
        ctx.save_for_backward(z)
        ctx.guided = guided
        return z.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        out = g.clamp(min=0)
        return (out * (z > 0) if ctx.guided else out), None


class _Rule(torch.nn.Module):
    def __init__(self, guided):
        super().__init__()
        self.guided = guided

    def forward(self, z):
        return _RuleReLU.apply(z, self.guided)


@pytest.mark.parametrize("guided", [True, False])
def test_guided_backprop_and_deconvnet_match_torch(twin_models, rng, guided):
    ours, theirs = twin_models
    for i in (1, 5):
        theirs[i] = _Rule(guided)
    x = rng.uniform(size=(2, 1, 8, 8))
    target = np.array([1, 0])
    fn = guided_backprop if guided else deconvnet
    np.testing.assert_allclose(fn(ours, x, target), _torch_grad(theirs, x, target),
                               rtol=1e-10, atol=1e-12)
