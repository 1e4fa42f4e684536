"""Attributions checked against answers known in closed form or by brute force."""

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import (
    gradient_x_input,
    integrated_gradients,
    occlusion,
    saliency,
    smoothgrad,
)
from chainrule.explain._common import Progress


def _linear(rng, n_in=6, n_out=3):
    model = nn.Linear(n_in, n_out, rng=rng).to(dtype="float64")
    return model, model.weight.numpy(), model.bias.numpy()


def _mlp(rng, n_in=5, hidden=8, n_out=3):
    return nn.Sequential(nn.Linear(n_in, hidden, rng=rng), nn.Tanh(),
                         nn.Linear(hidden, n_out, rng=rng)).to(dtype="float64")


class OnePixel(nn.Module):
    """Scores (N, 2): (0, 3 * x[r, c]) for images (N, 1, H, W): it reads one pixel only."""

    def __init__(self, r, c):
        super().__init__()
        self.r, self.c = r, c

    def forward(self, x):
        pixel = x[:, 0, self.r, self.c].reshape(x.shape[0], 1)
        return cr.ops.concat([pixel * 0.0, pixel * 3.0], axis=1)


def test_saliency_of_a_linear_model_is_its_weights(rng):
    model, w, _ = _linear(rng)
    x = rng.normal(size=(4, 6))
    np.testing.assert_array_equal(saliency(model, x, target=2), np.tile(w[2], (4, 1)))
    np.testing.assert_array_equal(saliency(model, x, target=[0, 1, 2, 0]), w[[0, 1, 2, 0]])
    np.testing.assert_array_equal(saliency(model, x, target=1, absolute=True),
                                  np.tile(np.abs(w[1]), (4, 1)))


def test_default_target_is_the_predicted_class(rng):
    model, w, b = _linear(rng)
    x = rng.normal(size=(5, 6))
    pred = (x @ w.T + b).argmax(axis=1)
    np.testing.assert_array_equal(saliency(model, x), w[pred])


def test_gradient_x_input_sums_to_the_score_without_bias(rng):
    model, w, b = _linear(rng)
    x = rng.normal(size=(3, 6))
    a = gradient_x_input(model, x, target=1)
    np.testing.assert_allclose(a.sum(axis=1), x @ w[1], rtol=1e-12)


def test_saliency_matches_finite_differences_of_a_nonlinear_model(rng):
    model = _mlp(rng)
    x = rng.normal(size=(2, 5))
    g = saliency(model, x, target=1, output="probability")
    eps = 1e-6
    for j in range(5):
        d = np.zeros_like(x)
        d[:, j] = eps
        up = cr.F.softmax(model(cr.tensor(x + d)), axis=1).numpy()[:, 1]
        down = cr.F.softmax(model(cr.tensor(x - d)), axis=1).numpy()[:, 1]
        np.testing.assert_allclose(g[:, j], (up - down) / (2 * eps), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method,steps,tol", [("gausslegendre", 20, 1e-10),
                                              ("trapezoid", 50, 1e-3),
                                              ("midpoint", 50, 1e-3)])
def test_integrated_gradients_completeness(rng, method, steps, tol):
    model = _mlp(rng)
    x = rng.normal(size=(6, 5))
    baseline = rng.normal(size=(5,)) * 0.1
    res = integrated_gradients(model, x, target=[0, 1, 2, 0, 1, 2], baseline=baseline,
                               steps=steps, method=method, batch_size=7)
    f = model(cr.tensor(x)).numpy()[np.arange(6), [0, 1, 2, 0, 1, 2]]
    f0 = model(cr.tensor(np.tile(baseline, (6, 1)))).numpy()[np.arange(6), [0, 1, 2, 0, 1, 2]]
    np.testing.assert_allclose(res.scores, f, rtol=1e-12)
    np.testing.assert_allclose(res.baseline_scores, f0, rtol=1e-12)
    np.testing.assert_allclose(res.delta, res.attributions.sum(axis=1) - (f - f0), atol=1e-12)
    assert res.max_relative_error < tol
    assert np.abs(res.delta).max() > 0 or method == "gausslegendre"


def test_integrated_gradients_error_falls_with_more_steps(rng):
    model = _mlp(rng)
    x = rng.normal(size=(4, 5)) * 2
    errors = [np.abs(integrated_gradients(model, x, target=0, steps=s,
                                          method="trapezoid").delta).max() for s in (5, 20, 80)]
    assert errors[0] > errors[1] > errors[2]


def test_integrated_gradients_of_a_linear_model_is_gradient_times_input(rng):
    model, w, _ = _linear(rng)
    x = rng.normal(size=(3, 6))
    res = integrated_gradients(model, x, target=2, steps=3)
    np.testing.assert_allclose(res.attributions, x * w[2], rtol=1e-12)


def test_occlusion_of_a_one_pixel_model_highlights_that_pixel(rng):
    model = OnePixel(3, 5).to(dtype="float64")
    x = rng.uniform(0.5, 1.0, size=(2, 1, 8, 8))
    a = occlusion(model, x, target=1, window=1, stride=1)
    expected = np.zeros_like(x)
    expected[:, 0, 3, 5] = 3 * x[:, 0, 3, 5]
    np.testing.assert_allclose(a, expected, rtol=1e-12)
    wide = occlusion(model, x, target=1, window=3, stride=1)
    # every window over (3, 5) loses the whole score; pixels no such window covers lose nothing
    np.testing.assert_allclose(wide[:, 0, 3, 5], 3 * x[:, 0, 3, 5], rtol=1e-12)
    assert wide.max() <= wide[:, 0, 3, 5].max() + 1e-12
    assert wide[:, :, :1].max() == 0 and wide[:, :, :, :3].max() == 0


def test_occlusion_of_tabular_inputs_is_the_drop_of_the_score(rng):
    model, w, _ = _linear(rng)
    x = rng.normal(size=(3, 6))
    np.testing.assert_allclose(occlusion(model, x, target=0, window=1, stride=1, fill=0.0),
                               x * w[0], rtol=1e-12)


def test_smoothgrad_is_seeded_and_of_a_linear_model_is_its_weights(rng):
    model, w, _ = _linear(rng)
    x = rng.normal(size=(3, 6))
    np.testing.assert_allclose(smoothgrad(model, x, target=1, rng=0), np.tile(w[1], (3, 1)),
                               rtol=1e-12)
    net = _mlp(rng, n_in=6)
    a, b = (smoothgrad(net, x, target=0, n_samples=8, rng=3, batch_size=5) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, saliency(net, x, target=0))


def test_bad_arguments_are_named():
    model = nn.Linear(3, 2)
    x = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="x must be a batch"):
        saliency(model, np.ones(3))
    with pytest.raises(ValueError, match="target must be None"):
        saliency(model, x, target=[0, 1, 1])
    with pytest.raises(ValueError, match="target 5 is out of range"):
        saliency(model, x, target=5)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        integrated_gradients(model, x, steps=0)
    with pytest.raises(ValueError, match="baseline must be"):
        integrated_gradients(model, x, baseline=np.zeros(4))
    with pytest.raises(ValueError, match="window"):
        occlusion(model, x, window=5)
    with pytest.raises(ValueError, match="target 5 is out of range"):
        occlusion(model, x, target=5, window=1, stride=1)
    with pytest.raises(ValueError, match="NaN"):
        saliency(model, np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="output must be one of"):
        saliency(model, x, output="softmax")


def test_occlusion_refuses_a_stride_that_leaves_inputs_uncovered():
    # stride 3 > window 2 over 5 features left feature 2 in no window: 0 / 0, a silent NaN
    model = nn.Sequential(nn.Linear(5, 2, rng=np.random.default_rng(0)))
    x = np.ones((1, 5))
    with pytest.raises(ValueError, match="stride .* is larger than the window"):
        occlusion(model, x, target=0, window=2, stride=3)
    image = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="stride .* is larger than the window"):
        occlusion(image, np.ones((1, 1, 4, 4)), target=0, window=1, stride=2)
    # a window spanning the whole axis covers it whatever the stride
    assert np.isfinite(occlusion(model, x, target=0, window=5, stride=7)).all()


def test_progress_bar_reports_the_work_done():
    out = io.StringIO()
    bar = Progress("ig", 4, out=out)
    for _ in range(4):
        bar.update()
    bar.close()
    assert "ig 4/4" in out.getvalue() and out.getvalue().endswith("\n")
