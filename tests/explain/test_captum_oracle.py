"""Attributions against Captum's on the same weights (the issue's oracle, where Captum installs).

Captum runs on the PyTorch copy of the same small CNN, in float64; ``.ci/run`` installs it next to
the PyTorch oracle (``pip install captum``), and these tests skip without it.
"""

import numpy as np
import pytest

from chainrule.explain import (
    deconvnet,
    gradient_x_input,
    guided_backprop,
    integrated_gradients,
    occlusion,
    saliency,
)

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = pytest.mark.torch


def _captum(cls, model, x, target, **kwargs):
    xt = torch.tensor(x, requires_grad=True)
    out = cls(model).attribute(xt, target=torch.tensor(target), **kwargs)
    return out.detach().numpy()


def _data(rng, n=3):
    return rng.uniform(size=(n, 1, 8, 8)), rng.integers(0, 3, n)


def test_saliency_and_gradient_x_input_agree_with_captum(twin_models, rng):
    ours, theirs = twin_models
    x, target = _data(rng)
    np.testing.assert_allclose(saliency(ours, x, target),
                               _captum(captum_attr.Saliency, theirs, x, target, abs=False),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gradient_x_input(ours, x, target),
                               _captum(captum_attr.InputXGradient, theirs, x, target),
                               rtol=1e-10, atol=1e-12)


def test_integrated_gradients_agree_with_captum(twin_models, rng):
    """Captum multiplies the gradients by its quadrature weights in float32
    (``torch.tensor(step_sizes).float()``), so it agrees to float32 rounding; the same quadrature
    written out in float64 PyTorch agrees to 1e-9 (test_torch_oracle.py)."""
    ours, theirs = twin_models
    x, target = _data(rng)
    want = _captum(captum_attr.IntegratedGradients, theirs, x, target, baselines=0.0, n_steps=50,
                   method="gausslegendre")
    got = integrated_gradients(ours, x, target, steps=50, method="gausslegendre")
    np.testing.assert_allclose(got.attributions, want, rtol=1e-6, atol=1e-9)


@pytest.mark.filterwarnings("ignore:Setting backward hooks on ReLU activations:UserWarning")
@pytest.mark.parametrize("ours_fn, theirs_cls", [(guided_backprop, "GuidedBackprop"),
                                                 (deconvnet, "Deconvolution")])
def test_guided_backprop_and_deconvnet_agree_with_captum(twin_models, rng, ours_fn, theirs_cls):
    ours, theirs = twin_models
    x, target = _data(rng)
    np.testing.assert_allclose(ours_fn(ours, x, target),
                               _captum(getattr(captum_attr, theirs_cls), theirs, x, target),
                               rtol=1e-10, atol=1e-12)


def test_occlusion_agrees_with_captum(twin_models, rng):
    """Ours equals the float64 sweep written out here to 1e-15; Captum's Occlusion is off that
    same sweep by about 1e-9 (float32 somewhere inside it), so it is compared to that rounding."""
    ours, theirs = twin_models
    x, target = _data(rng)
    got = occlusion(ours, x, target, window=4, stride=2, fill=0.0)
    with torch.no_grad():
        def score(z):
            return theirs(torch.tensor(z)).numpy()[np.arange(len(z)), target]

        total, count = np.zeros_like(x), np.zeros(x.shape[1:])
        for a in (0, 2, 4):
            for b in (0, 2, 4):
                covered = x.copy()
                covered[:, :, a:a + 4, b:b + 4] = 0.0
                total[:, :, a:a + 4, b:b + 4] += (score(x) - score(covered))[:, None, None, None]
                count[:, a:a + 4, b:b + 4] += 1
    np.testing.assert_allclose(got, total / count, rtol=1e-12, atol=1e-15)
    want = _captum(captum_attr.Occlusion, theirs, x, target, sliding_window_shapes=(1, 4, 4),
                   strides=(1, 2, 2), baselines=0.0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
