"""PGD without a random start against a plain PyTorch loop on the same weights (the oracle)."""

import numpy as np
import pytest

from chainrule import nn, robust


def _models(torch, rng):
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 8 * 8, 16, rng=rng), nn.Tanh(), nn.Linear(16, 10, rng=rng))
    ours = ours.to(dtype=np.float64).eval()
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(256, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, 10)).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v._data))
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def _torch_pgd(torch, model, x, y, eps, alpha, steps, norm):
    x0, y = torch.from_numpy(x), torch.from_numpy(y)
    adv = x0.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(adv), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            if norm == "linf":
                adv = adv + alpha * g.sign()
                adv = torch.min(torch.max(adv, x0 - eps), x0 + eps).clamp(0, 1)
            else:
                g = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                delta = adv + alpha * g - x0
                n = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                delta = delta * torch.where(n > eps, eps / n, torch.ones_like(n))
                adv = (x0 + delta).clamp(0, 1)
    return adv.detach().numpy()


@pytest.mark.torch
@pytest.mark.parametrize("norm, eps, alpha", [("linf", 0.1, 0.02), ("l2", 1.0, 0.3)])
def test_pgd_without_random_start_matches_a_pytorch_loop(norm, eps, alpha):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = _models(torch, rng)
    x = rng.uniform(0, 1, size=(6, 1, 8, 8))
    y = rng.integers(0, 10, size=6)
    res = robust.pgd(ours, x, y, eps=eps, norm=norm, steps=10, alpha=alpha, random_start=False)
    expected = _torch_pgd(torch, theirs, x, y, eps, alpha, 10, norm)
    np.testing.assert_allclose(res.adversarial, expected, rtol=0, atol=1e-12)
    assert res.success.any()  # the attack did something the two must agree on
