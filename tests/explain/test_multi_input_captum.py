"""Multi-input models and ``additional_forward_args`` for saliency, integrated gradients, DeepLift
and occlusion, and the convergence deltas of integrated gradients and DeepLift
(``return_convergence_delta=True``), against Captum 0.9 on the same float64 weights. Before, each
took one input batch and called ``model(x)`` only, and DeepLift gave no delta."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import deeplift, integrated_gradients, occlusion, saliency

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = pytest.mark.torch


class Ours(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.a, self.b = nn.Linear(3, 4, rng=rng), nn.Linear(4, 4, rng=rng)
        self.act, self.out = nn.Tanh(), nn.Linear(4, 3, rng=rng)

    def forward(self, x1, x2, scale, shift=0.0):
        h = self.a(x1) + self.b(x2.reshape(x2.shape[0], -1)) * scale.reshape(-1, 1) + shift
        return self.out(self.act(h))


def _theirs(ours):
    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(4, 4)
            self.act, self.out = torch.nn.Tanh(), torch.nn.Linear(4, 3)

        def forward(self, x1, x2, scale, shift=0.0):
            h = self.a(x1) + self.b(x2.reshape(x2.shape[0], -1)) * scale.reshape(-1, 1) + shift
            return self.out(self.act(h))

    theirs = Theirs().double()
    with torch.no_grad():
        for name, t in theirs.state_dict().items():
            t.copy_(torch.tensor(ours.state_dict()[name].numpy()))
    return theirs


@pytest.fixture
def case():
    rng = np.random.default_rng(0)
    ours = Ours(rng).to(dtype=cr.float64)
    x1, x2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 2, 2))
    scale, target = rng.uniform(0.5, 2.0, size=5), rng.integers(0, 3, 5)
    xt = (torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True))
    return (ours, _theirs(ours), (x1, x2), xt, target, torch.tensor(target),
            (cr.tensor(scale), 0.3), (torch.tensor(scale), 0.3))


def _close(ours, theirs, tol):
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=tol, atol=tol)


def test_saliency_of_two_inputs_with_extra_arguments(case):
    ours, theirs, x, xt, t, tt, extra, extra_t = case
    _close(saliency(ours, x, t, additional_forward_args=extra),
           captum_attr.Saliency(theirs).attribute(xt, target=tt, abs=False,
                                                  additional_forward_args=extra_t), 1e-12)


def test_integrated_gradients_and_its_delta(case):
    ours, theirs, x, xt, t, tt, extra, extra_t = case
    base = (0.1, np.full((2, 2), 0.2))
    base_t = (0.1, torch.full((1, 2, 2), 0.2, dtype=torch.float64))
    got, delta = integrated_gradients(ours, x, t, baseline=base, additional_forward_args=extra,
                                      return_convergence_delta=True)
    want, want_delta = captum_attr.IntegratedGradients(theirs).attribute(
        xt, baselines=base_t, target=tt, additional_forward_args=extra_t,
        return_convergence_delta=True)
    _close(got, want, 1e-8)  # Captum's quadrature weights are float32 (test_captum_oracle.py)
    np.testing.assert_allclose(delta, want_delta.numpy(), atol=1e-9)
    r = integrated_gradients(ours, x, t, baseline=base, additional_forward_args=extra)
    assert isinstance(r.attributions, tuple) and np.array_equal(r.delta, delta)
    gap = r.scores - r.baseline_scores
    total = sum(a.reshape(5, -1).sum(axis=1) for a in r.attributions)
    np.testing.assert_allclose(total - gap, delta, atol=1e-15)


def test_deeplift_and_its_delta(case):
    ours, theirs, x, xt, t, tt, extra, extra_t = case
    got, delta = deeplift(ours, x, t, baseline=(0.1, 0.2), additional_forward_args=extra,
                          return_convergence_delta=True)
    with pytest.warns(UserWarning):  # Captum's note that it hooks the activations
        want, want_delta = captum_attr.DeepLift(theirs).attribute(
            xt, baselines=(0.1, 0.2), target=tt, additional_forward_args=extra_t,
            return_convergence_delta=True)
    _close(got, want, 1e-12)
    np.testing.assert_allclose(delta, want_delta.numpy(), atol=1e-12)
    assert np.abs(delta).max() < 1e-12  # tanh and linear layers: complete
    multipliers, d2 = deeplift(ours, x, t, baseline=(0.1, 0.2), multiply_by_inputs=False,
                               additional_forward_args=extra, return_convergence_delta=True)
    with pytest.warns(UserWarning):
        want_m, want_d2 = captum_attr.DeepLift(theirs, multiply_by_inputs=False).attribute(
            xt, baselines=(0.1, 0.2), target=tt, additional_forward_args=extra_t,
            return_convergence_delta=True)
    _close(multipliers, want_m, 1e-12)
    np.testing.assert_allclose(d2, want_d2.numpy(), atol=1e-12)


def test_occlusion_of_each_input_on_its_own(case):
    ours, theirs, x, xt, t, tt, extra, extra_t = case
    got = occlusion(ours, x, t, window=((2,), (1, 2)), stride=(1, (1, 1)), fill=(0.0, 0.5),
                    additional_forward_args=extra)
    want = captum_attr.Occlusion(theirs).attribute(
        xt, sliding_window_shapes=((2,), (1, 2)), strides=(1, (1, 1)), baselines=(0.0, 0.5),
        target=tt, additional_forward_args=extra_t)
    _close(got, want, 1e-7)  # Captum divides by its window counts in float32


def test_a_single_input_with_extra_arguments_and_tensors_as_inputs(case):
    ours, theirs, x, xt, t, tt, extra, extra_t = case
    x2 = cr.tensor(x[1])

    class One(nn.Module):  # attributes to the first input only
        def __init__(self):
            super().__init__()
            self.inner = ours

        def forward(self, a, b, scale):
            return self.inner(a, b, scale)

    got = saliency(One(), cr.tensor(x[0]), t, additional_forward_args=(x2, extra[0]))
    want = captum_attr.Saliency(theirs).attribute(
        xt[0], target=tt, abs=False, additional_forward_args=(xt[1].detach(), extra_t[0]))
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-12)
    ig = integrated_gradients(One(), x[0], t, additional_forward_args=(x[1], extra[0]))
    want = captum_attr.IntegratedGradients(theirs).attribute(
        xt[0], target=tt, additional_forward_args=(xt[1].detach(), extra_t[0]))
    np.testing.assert_allclose(ig.attributions, want.detach().numpy(), rtol=1e-8, atol=1e-8)


def test_the_model_mode_is_kept_and_bad_inputs_are_named(case):
    ours, _, x, _, t, _, extra, _ = case
    ours.eval()
    saliency(ours, x, t, additional_forward_args=extra)
    assert not ours.training
    ours.train()
    saliency(ours, x, t, additional_forward_args=extra)
    assert ours.training
    with pytest.raises(ValueError, match=r"saliency: the inputs must have the same number of "
                                         r"samples, got \[5, 4\]"):
        saliency(ours, (x[0], x[1][:4]), t, additional_forward_args=extra)
    with pytest.raises(ValueError, match=r"integrated_gradients: baseline must be a number or "
                                         r"an array shaped like one sample \(2, 2\)"):
        integrated_gradients(ours, x, t, baseline=(0.0, np.zeros(3)),
                             additional_forward_args=extra)
    with pytest.raises(ValueError, match="occlusion: fill must be a number, 'mean' or an array, "
                                         "got 'grey'"):
        occlusion(ours, x, t, fill=(0.0, "grey"), additional_forward_args=extra)


def test_single_input_results_are_unchanged(case):
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Tanh(), nn.Linear(4, 2, rng=rng))
    x = rng.normal(size=(4, 3)).astype(np.float32)
    attr, delta = integrated_gradients(model, x, 1, return_convergence_delta=True)
    r = integrated_gradients(model, x, 1)
    np.testing.assert_array_equal(attr, r.attributions)
    np.testing.assert_array_equal(delta, r.delta)
    a, d = deeplift(model, x, 1, return_convergence_delta=True)
    np.testing.assert_array_equal(a, deeplift(model, x, 1))
    assert np.abs(d).max() < 1e-5
