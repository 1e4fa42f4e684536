"""Seventeenth fuzz wave, explain: ``noise_tunnel``, new in this wave, against Captum 0.9's
``NoiseTunnel`` around other methods (integrated gradients with per-sample baselines, gradient x
input, DeepLIFT, guided backpropagation, saliency) on the same float64 weights. The noise is
random in both: the test draws ours from its seed and hands Captum the same noisy copies."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explain import (
    deeplift,
    gradient_x_input,
    guided_backprop,
    integrated_gradients,
    noise_tunnel,
    saliency,
    smoothgrad,
)

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


def _twins(seed, pool="MaxPool2d"):
    """(DeepLIFT's max-pooling rule next to a ReLU is where Captum's differs from its own rule,
    test_fuzz15_deeplift.py: its case pools by averaging.)"""
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), getattr(nn, pool)(2),
                         nn.Flatten(), nn.Linear(12, 5, rng=rng), nn.ReLU(),
                         nn.Linear(5, 3, rng=rng)).to(dtype="float64")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                                 getattr(torch.nn, pool)(2), torch.nn.Flatten(),
                                 torch.nn.Linear(12, 5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 3)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs.eval(), rng.standard_normal((3, 2, 4, 4)), rng.integers(0, 3, 3), rng


CASES = {
    "ig": (integrated_gradients, captum_attr.IntegratedGradients,
           {"steps": 6, "method": "left"}, {"n_steps": 6, "method": "riemann_left"}),
    "ixg": (gradient_x_input, captum_attr.InputXGradient, {}, {}),
    "deeplift": (deeplift, captum_attr.DeepLift, {}, {}),
    "guided": (guided_backprop, captum_attr.GuidedBackprop, {}, {}),
    "saliency": (saliency, captum_attr.Saliency, {}, {"abs": False}),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_tunnel_matches_captum_given_the_same_noise(case, nt_type):
    ours, theirs, x, target, rng = _twins(3, "AvgPool2d" if case == "deeplift" else "MaxPool2d")
    fn, cls, mine, kw = CASES[case]
    n, stdev = 4, 0.3
    if case in ("ig", "deeplift"):
        base = rng.standard_normal(x.shape)
        mine, kw = {**mine, "baseline": base}, {**kw, "baselines": torch.tensor(base)}
    got = noise_tunnel(fn, ours, x, target, nt_type=nt_type, n_samples=n, stdev=stdev, rng=7,
                       **mine)
    noise = stdev * np.random.default_rng(7).standard_normal((n, *x.shape))
    tunnel = captum_attr.NoiseTunnel(cls(theirs))
    # Captum repeats each input n times in a row (sample-major): the same copies, in its order
    copies = torch.tensor((x[None] + noise).swapaxes(0, 1).reshape(-1, *x.shape[1:]))
    tunnel._add_noise_to_inputs = lambda n_part, inputs, stdevs: (copies,)
    want = tunnel.attribute(torch.tensor(x), nt_type=nt_type, nt_samples=n, stdevs=stdev,
                            target=torch.tensor(target), **kw).detach().numpy()
    tol = 1e-6 if case == "ig" else 1e-10  # Captum's float32 step sizes
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 1e-2)


def test_noise_tunnel_of_saliency_is_smoothgrad_and_its_errors():
    ours, _, x, target, _ = _twins(4)
    np.testing.assert_allclose(
        noise_tunnel(saliency, ours, x, target, nt_type="vargrad", n_samples=3, stdev=0.2,
                     rng=1),
        smoothgrad(ours, x, target, n_samples=3, stdev=0.2, nt_type="vargrad", rng=1,
                   batch_size=9), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="nt_type must be one of .* got 'mean'"):
        noise_tunnel(saliency, ours, x, target, nt_type="mean")
    with pytest.raises(ValueError, match="stdev must be a finite number >= 0, got -0.1"):
        noise_tunnel(saliency, ours, x, target, stdev=-0.1)
    with pytest.raises(TypeError, match="attribution must be an attribution function"):
        noise_tunnel("saliency", ours, x, target)
