"""Fifteenth fuzz wave, explain: chainrule's attributions against Captum 0.9.0 on the same weights.

Seeded random models (a tanh MLP and a two-channel ReLU CNN, float64) and inputs; every case runs
the chainrule function and the Captum class it corresponds to and compares the attributions (and
integrated gradients' convergence delta). Captum rounds a few things in float32 (integrated
gradients' step sizes, occlusion's division by the window counts), compared at 1e-6; the rest at
1e-12. test_captum_oracle.py holds the first comparisons; these cover the options.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explain import (
    feature_ablation,
    gradient_shap,
    gradient_x_input,
    integrated_gradients,
    occlusion,
    saliency,
    smoothgrad,
)

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = pytest.mark.torch


def _twins(kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        ours = nn.Sequential(nn.Linear(5, 7, rng=rng), nn.Tanh(), nn.Linear(7, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                                     torch.nn.Linear(7, 3))
        shape = (4, 5)
    else:
        ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(48, 4, rng=rng), nn.ReLU(),
                             nn.Linear(4, 3, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                     torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                     torch.nn.Linear(48, 4), torch.nn.ReLU(),
                                     torch.nn.Linear(4, 3))
        shape = (3, 2, 8, 8)
    ours = ours.to(dtype="float64")
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal(shape)
    return ours, theirs.eval(), x, rng.integers(0, 3, shape[0]), rng


def _captum(cls, model, x, **kwargs):
    out = cls(model).attribute(torch.tensor(x, requires_grad=True), **kwargs)
    if isinstance(out, tuple):
        return tuple(o.detach().numpy() for o in out)
    return out.detach().numpy()


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("form", ["int", "list", "tensor"])
def test_saliency_and_input_x_gradient_take_captums_target_forms(kind, form):
    ours, theirs, x, target, _ = _twins(kind, 11)
    ours_t = {"int": 1, "list": target.tolist(), "tensor": torch.tensor(target)}[form]
    theirs_t = {"int": 1, "list": target.tolist(), "tensor": torch.tensor(target)}[form]
    np.testing.assert_allclose(saliency(ours, x, ours_t, absolute=True, batch_size=2),
                               _captum(captum_attr.Saliency, theirs, x, target=theirs_t),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gradient_x_input(ours, x, ours_t),
                               _captum(captum_attr.InputXGradient, theirs, x, target=theirs_t),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method, captum_method", [
    ("gausslegendre", "gausslegendre"), ("midpoint", "riemann_middle"),
    ("left", "riemann_left"), ("right", "riemann_right"),
    ("riemann_left", "riemann_left"), ("riemann_right", "riemann_right")])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_integrated_gradients_methods_and_baselines_match_captum(method, captum_method, kind):
    ours, theirs, x, target, rng = _twins(kind, 23)
    sample = rng.standard_normal(x.shape[1:])
    batch = rng.standard_normal(x.shape)
    for steps, mine, theirs_base, chunk in ((2, 0.0, 0.0, 1), (5, 0.3, 0.3, 3),
                                            (9, sample, torch.tensor(sample[None]), 4),
                                            (16, batch, torch.tensor(batch), 50)):
        res = integrated_gradients(ours, x, target, baseline=mine, steps=steps, method=method,
                                   batch_size=chunk)
        want, delta = _captum(captum_attr.IntegratedGradients, theirs, x,
                              target=torch.tensor(target), baselines=theirs_base, n_steps=steps,
                              method=captum_method, internal_batch_size=max(chunk, len(x)),
                              return_convergence_delta=True)
        # Captum's float32 step sizes: its deltas are themselves off by 1e-8 of the score gaps
        np.testing.assert_allclose(res.attributions, want, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(res.delta, delta, rtol=1e-6, atol=1e-7)


def test_integrated_gradients_refuses_captums_riemann_trapezoid():
    ours, _, x, target, _ = _twins("mlp", 2)
    with pytest.raises(ValueError, match="riemann_trapezoid.*use 'trapezoid'"):
        integrated_gradients(ours, x, target, method="riemann_trapezoid")
    with pytest.raises(ValueError, match="method must be one of .*riemann_left.*got 'simpson'"):
        integrated_gradients(ours, x, target, method="simpson")


@pytest.mark.parametrize("window, stride", [((2,), (2,)), ((3,), (2,)), ((2,), (1,)),
                                            ((5,), (3,)), ((4,), (3,))])
def test_occlusion_of_tabular_inputs_matches_captum_when_the_stride_leaves_a_remainder(window,
                                                                                        stride):
    """Where the stride did not divide the rest, ours added one window flush with the edge
    (windows 0, 2, 3 of two features over five), Captum's last window starts at the next stride
    and sticks out (0, 2, 4): the shared inputs got different means, off by up to 0.2 here."""
    ours, theirs, x, target, _ = _twins("mlp", 5)
    got = occlusion(ours, x, target, window=window, stride=stride, fill=-0.2, batch_size=5)
    want = _captum(captum_attr.Occlusion, theirs, x, target=torch.tensor(target),
                   sliding_window_shapes=window, strides=stride, baselines=-0.2)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("window, stride, captum_window, captum_stride", [
    (3, 2, (2, 3, 3), (1, 2, 2)), (3, 3, (2, 3, 3), (1, 3, 3)), ((2, 3), (1, 2), (2, 2, 3),
                                                                 (1, 1, 2)),
    ((1, 3, 3), (1, 2, 2), (1, 3, 3), (1, 2, 2)), ((2, 4, 4), (1, 3, 3), (2, 4, 4), (1, 3, 3))])
@pytest.mark.parametrize("fill", ["number", "sample", "batch"])
def test_occlusion_of_images_matches_captums_windows_and_baselines(window, stride, captum_window,
                                                                   captum_stride, fill):
    ours, theirs, x, target, rng = _twins("cnn", 7)
    mine = {"number": 0.5, "sample": rng.standard_normal(x.shape[1:]),
            "batch": rng.standard_normal(x.shape)}[fill]
    theirs_base = mine if fill == "number" else torch.tensor(mine if fill == "batch"
                                                             else mine[None])
    got = occlusion(ours, x, target, window=window, stride=stride, fill=mine)
    want = _captum(captum_attr.Occlusion, theirs, x, target=torch.tensor(target),
                   sliding_window_shapes=captum_window, strides=captum_stride,
                   baselines=theirs_base)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert got.dtype == np.float64  # Captum's Occlusion returns float32 for float64 inputs


# Captum ablates the 128 inputs of a CNN sample one forward pass at a time: one such case
@pytest.mark.parametrize("kind, mask, baseline", [
    (kind, mask, baseline) for kind in ("mlp", "cnn")
    for mask in ("none", "shared", "per_sample", "one_group")
    for baseline in ("number", "sample", "batch")
    if not (kind == "cnn" and mask == "none" and baseline != "batch")])
def test_feature_ablation_matches_captum(kind, mask, baseline):
    ours, theirs, x, target, rng = _twins(kind, 31)
    groups = {"none": None, "shared": rng.integers(0, 5, x.shape[1:]),
              "per_sample": rng.integers(0, 4, x.shape),
              "one_group": np.zeros((1, *x.shape[1:]), dtype=np.int64)}[mask]
    mine = {"number": 0.25, "sample": rng.standard_normal(x.shape[1:]),
            "batch": rng.standard_normal(x.shape)}[baseline]
    theirs_base = mine if baseline == "number" else torch.tensor(
        mine if baseline == "batch" else mine[None])
    kwargs = {} if groups is None else {"feature_mask": torch.tensor(
        groups if groups.ndim == x.ndim else groups[None])}
    got = feature_ablation(ours, x, target, feature_mask=groups, baseline=mine, batch_size=7)
    want = _captum(captum_attr.FeatureAblation, theirs, x, target=torch.tensor(target),
                   baselines=theirs_base, perturbations_per_eval=3, **kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_feature_ablation_of_a_linear_model_and_its_errors():
    rng = np.random.default_rng(0)
    model = nn.Linear(6, 3, rng=rng).to(dtype="float64")
    x, base = rng.standard_normal((4, 6)), rng.standard_normal(6)
    w = model.weight.numpy()
    np.testing.assert_allclose(feature_ablation(model, x, 2, baseline=base), (x - base) * w[2],
                               rtol=1e-12, atol=1e-14)
    pairs = np.array([0, 0, 1, 1, 2, 2])
    got = feature_ablation(model, x, 0, feature_mask=pairs)
    per_pair = (x * w[0]).reshape(4, 3, 2).sum(axis=2)
    np.testing.assert_allclose(got, np.repeat(per_pair, 2, axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match=r"feature_mask must hold integers .* got dtype float64"):
        feature_ablation(model, x, 0, feature_mask=np.zeros(6))
    with pytest.raises(ValueError, match=r"feature_mask .* shape \(5,\)"):
        feature_ablation(model, x, 0, feature_mask=np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"baseline must be a number or an array shaped like"):
        feature_ablation(model, x, 0, baseline=np.zeros(5))
    with pytest.raises(ValueError, match=r"fill must be a number, 'mean' or an array"):
        occlusion(model, x, 0, window=1, stride=1, fill="grey")


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize("absolute", [False, True])
def test_smoothgrad_matches_captums_noise_tunnel_where_it_is_deterministic(nt_type, absolute):
    """The noise is random in both, so only what it cannot change is compared: a linear model's
    gradient is the same everywhere (mean W, mean square W**2, variance 0), and with no noise
    (stdevs=0) every copy is x itself."""
    rng = np.random.default_rng(41)
    lin = nn.Linear(6, 3, rng=rng).to(dtype="float64")
    lin_t = torch.nn.Linear(6, 3).double()
    lin_t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in lin.state_dict().items()})
    ours, theirs, x, target, _ = _twins("cnn", 43)
    for mine, torch_model, xs, stdev in ((lin, lin_t, rng.standard_normal((4, 6)), 0.7),
                                         (ours, theirs, x, 0.0)):
        t = rng.integers(0, 3, len(xs))
        tunnel = captum_attr.NoiseTunnel(captum_attr.Saliency(torch_model))
        want = tunnel.attribute(torch.tensor(xs, requires_grad=True), nt_type=nt_type,
                                nt_samples=5, stdevs=stdev, target=torch.tensor(t),
                                abs=absolute).detach().numpy()
        got = smoothgrad(mine, xs, t, n_samples=5, stdev=stdev, nt_type=nt_type,
                         absolute=absolute, rng=0)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_smoothgrad_combines_the_noisy_gradients_as_written_out_in_torch(nt_type):
    """The same noise (drawn here from the same seed) through PyTorch's autograd."""
    ours, theirs, x, target, _ = _twins("cnn", 47)
    n = 6
    for stdev, noise in ((None, 0.2), (0.3, 0.0)):
        got = smoothgrad(ours, x, target, n_samples=n, noise=noise, stdev=stdev,
                         nt_type=nt_type, rng=5, batch_size=n * len(x))
        spread = np.ptp(x.reshape(len(x), -1), axis=1).reshape(-1, 1, 1, 1)
        sigma = noise * spread if stdev is None else stdev
        rows = torch.tensor((x[None] + sigma * np.random.default_rng(5).standard_normal(
            (n, *x.shape))).reshape(-1, *x.shape[1:]), requires_grad=True)
        theirs(rows)[torch.arange(len(rows)), torch.tensor(np.tile(target, n))].sum().backward()
        g = rows.grad.numpy().reshape(n, *x.shape)
        want = {"smoothgrad": g.mean(0), "smoothgrad_sq": (g * g).mean(0),
                "vargrad": (g * g).mean(0) - g.mean(0) ** 2}[nt_type]
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_smoothgrad_refuses_bad_noise_arguments():
    ours, _, x, target, _ = _twins("mlp", 3)
    with pytest.raises(ValueError, match="nt_type must be one of .* got 'var'"):
        smoothgrad(ours, x, target, nt_type="var")
    with pytest.raises(ValueError, match="stdev must be a finite number >= 0, got -1"):
        smoothgrad(ours, x, target, stdev=-1.0)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0, got True"):
        smoothgrad(ours, x, target, noise=True)


def test_gradient_shap_matches_captum_where_it_is_deterministic():
    """A linear model's gradient is the same everywhere, so with one baseline and no noise the
    random points and baseline draws change nothing: ``W[target] * (x - b)`` in both."""
    rng = np.random.default_rng(53)
    lin = nn.Linear(6, 3, rng=rng).to(dtype="float64")
    lin_t = torch.nn.Linear(6, 3).double()
    lin_t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in lin.state_dict().items()})
    x, base, target = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.integers(0, 3, 4)
    for mine, theirs_base in ((base, torch.tensor(base[None])), (0.0, torch.zeros(1, 6))):
        want = captum_attr.GradientShap(lin_t).attribute(
            torch.tensor(x, requires_grad=True), baselines=theirs_base,
            target=torch.tensor(target), n_samples=7).detach().numpy()
        got = gradient_shap(lin, x, target, baselines=mine, n_samples=7, rng=0)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("stdev", [0.0, 0.2])
def test_gradient_shap_is_the_mean_of_the_draws_written_out_in_torch(stdev):
    ours, theirs, x, target, rng = _twins("cnn", 59)
    pool = rng.standard_normal((5, *x.shape[1:]))
    n = 4
    got = gradient_shap(ours, x, target, baselines=pool, n_samples=n, stdev=stdev, rng=9,
                        batch_size=5)
    draw = np.random.default_rng(9)
    picks = draw.integers(0, len(pool), size=(n, len(x)))
    alphas = draw.uniform(0.0, 1.0, size=(n, len(x)))
    noisy = x[None] + stdev * draw.standard_normal((n, *x.shape))
    diff = noisy - pool[picks]
    rows = torch.tensor((pool[picks] + alphas[..., None, None, None] * diff).reshape(
        -1, *x.shape[1:]), requires_grad=True)
    theirs(rows)[torch.arange(len(rows)), torch.tensor(np.tile(target, n))].sum().backward()
    want = (rows.grad.numpy().reshape(n, *x.shape) * diff).mean(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match=r"baselines must be a number, one sample"):
        gradient_shap(ours, x, target, baselines=np.zeros((5, 2, 8)))


@pytest.mark.parametrize("window, stride", [((1, 4), (1, 1)), ((2, 4), (1, 4)), ((2, 3), (2, 1)),
                                            (2, 1)])
def test_occlusion_of_sequences_matches_captum(window, stride):
    """Samples (L, D), e.g. embedded tokens: an int window slides over D and covers every token
    (Captum's window (L, w)); one size per axis, (1, D), occludes one token at a time, which was
    refused before this wave."""
    rng = np.random.default_rng(61)
    ours = nn.Sequential(nn.Flatten(), nn.Linear(24, 5, rng=rng), nn.Tanh(),
                         nn.Linear(5, 3, rng=rng)).to(dtype="float64")
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(24, 5), torch.nn.Tanh(),
                                 torch.nn.Linear(5, 3)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x, target = rng.standard_normal((3, 6, 4)), rng.integers(0, 3, 3)
    captum_window = window if isinstance(window, tuple) else (6, window)
    captum_stride = stride if isinstance(stride, tuple) else (1, stride)
    got = occlusion(ours, x, target, window=window, stride=stride, fill=0.1)
    want = _captum(captum_attr.Occlusion, theirs.eval(), x, target=torch.tensor(target),
                   sliding_window_shapes=captum_window, strides=captum_stride, baselines=0.1)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
