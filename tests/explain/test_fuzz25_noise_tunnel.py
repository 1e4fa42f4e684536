"""noise_tunnel with Captum's per-sample baselines given as a Tensor or list (only an array was
taken: the others were refused with a message about a batch n_samples times larger), and with
return_convergence_delta=True (an error from inside NumPy before): the deltas of every noisy
copy, ordered as Captum's NoiseTunnel orders them (the copies of input 0 first)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import explain, nn

X = np.random.default_rng(0).standard_normal((3, 4))
B = X * 0.5


def _model():
    return nn.Sequential(nn.Linear(4, 5, rng=np.random.default_rng(1)), nn.Tanh(),
                         nn.Linear(5, 3, rng=np.random.default_rng(2))).double()


def test_baselines_as_a_tensor_or_a_list_follow_their_inputs():
    m = _model()
    want = explain.noise_tunnel(explain.integrated_gradients, m, X, [0, 1, 2], n_samples=2,
                                stdev=0.1, rng=0, baseline=B, steps=3)
    for b in (cr.tensor(B), B.tolist()):
        got = explain.noise_tunnel(explain.integrated_gradients, m, X, [0, 1, 2], n_samples=2,
                                   stdev=0.1, rng=0, baseline=b, steps=3)
        np.testing.assert_array_equal(got, want)


def test_convergence_deltas_of_every_copy_in_captums_order():
    m = _model()
    attr, delta = explain.noise_tunnel(explain.integrated_gradients, m, X, 1, n_samples=2,
                                       stdev=0.1, rng=3, baseline=B, steps=3,
                                       return_convergence_delta=True)
    noisy = X[None] + 0.1 * np.random.default_rng(3).standard_normal((2, *X.shape))
    each = [explain.integrated_gradients(m, noisy[k], 1, baseline=B, steps=3) for k in range(2)]
    np.testing.assert_allclose(attr, (each[0].attributions + each[1].attributions) / 2)
    np.testing.assert_allclose(delta, np.stack([e.delta for e in each], axis=1).ravel())


def test_convergence_delta_against_captum_without_noise():
    torch = pytest.importorskip("torch")
    ca = pytest.importorskip("captum.attr")
    m = _model()
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    tm = tm.double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    attr, delta = explain.noise_tunnel(explain.integrated_gradients, m, X, 2, n_samples=2,
                                       stdev=0.0, baseline=B, steps=4, method="riemann_right",
                                       return_convergence_delta=True)
    ta, td = ca.NoiseTunnel(ca.IntegratedGradients(tm)).attribute(
        torch.tensor(X), nt_samples=2, stdevs=0.0, target=2, baselines=torch.tensor(B),
        n_steps=4, method="riemann_right", return_convergence_delta=True)
    np.testing.assert_allclose(attr, ta.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta, td.detach().numpy(), rtol=1e-8, atol=1e-12)


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3, rng=np.random.default_rng(1))

    def forward(self, x, scale):
        return self.lin(x * scale).tanh()


def test_additional_forward_args_go_with_each_copy():
    """They were passed as given, so the model got N rows of them for N * n_samples inputs
    ('mul: shapes (6, 4) and (3, 1) cannot be broadcast together')."""
    torch = pytest.importorskip("torch")
    ca = pytest.importorskip("captum.attr")
    m = _Scaled().double()
    scale = np.array([[1.0], [2.0], [-1.0]])

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 3).double()

        def forward(self, x, s):
            return torch.tanh(self.lin(x * s))

    tm = T()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    for s in (scale, cr.tensor(scale)):  # 4 steps: Captum's float32 step sizes are exact
        got = explain.noise_tunnel(explain.integrated_gradients, m, X, [0, 2, 1], n_samples=2,
                                   stdev=0.0, steps=4, method="riemann_left",
                                   additional_forward_args=(s,))
        want = ca.NoiseTunnel(ca.IntegratedGradients(tm)).attribute(
            torch.tensor(X), nt_samples=2, stdevs=0.0, target=[0, 2, 1], n_steps=4,
            method="riemann_left", additional_forward_args=(torch.tensor(scale),))
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)
    # with noise: each copy with its own sample's scale
    got = explain.noise_tunnel(explain.saliency, m, X, 1, n_samples=2, stdev=0.3, rng=4,
                               additional_forward_args=scale)
    noisy = X[None] + 0.3 * np.random.default_rng(4).standard_normal((2, *X.shape))
    each = [explain.saliency(m, noisy[k], 1, additional_forward_args=scale) for k in range(2)]
    np.testing.assert_allclose(got, (each[0] + each[1]) / 2, rtol=1e-12)


def test_float16_extra_arguments_past_2048_samples_are_refused():
    """multi_input numbers the samples in the batch's dtype to pick their extra arguments; past
    2048 float16 rounds those numbers, so sample 2049 got sample 2048's arguments without a word
    (or an IndexError came from inside)."""

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2, rng=np.random.default_rng(0))

        def forward(self, x, scale):
            return self.lin(x) * scale

    m = M().half()
    x = np.ones((2051, 2), dtype="float16")
    scale = (np.arange(2051) % 7).astype("float16")[:, None]
    with pytest.raises(ValueError, match=r"2051 samples with additional_forward_args.*at most "
                                         r"2049"):
        explain.saliency(m, x, 0, additional_forward_args=(scale,))
    got = explain.saliency(m, x[:2049], 0, additional_forward_args=(scale[:2049],))
    np.testing.assert_array_equal(got, m.lin.weight.numpy()[0] * scale[:2049])


def test_a_per_sample_feature_mask_goes_with_each_copy():
    """A feature_mask shaped like x (one grouping per sample) was passed as given, so
    feature_ablation saw a mask for N samples in a batch of N * n_samples and refused it."""
    m = _model()
    mask = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [0, 1, 2, 3]])
    got = explain.noise_tunnel(explain.feature_ablation, m, X, 1, n_samples=2, stdev=0.2, rng=5,
                               feature_mask=mask)
    noisy = X[None] + 0.2 * np.random.default_rng(5).standard_normal((2, *X.shape))
    each = [explain.feature_ablation(m, noisy[k], 1, feature_mask=mask) for k in range(2)]
    np.testing.assert_allclose(got, (each[0] + each[1]) / 2, rtol=1e-12)
