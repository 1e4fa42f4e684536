"""Carlini & Wagner L2 against a PyTorch loop with torch.optim.Adam on the same float64 weights:
the change of variables, the margin with kappa, the best successful point and the binary search on
c, targeted and not, in [0, 1] and another box (they agree; no defect found)."""

import numpy as np
import pytest

from chainrule import nn, robust

torch = pytest.importorskip("torch")


def _models(rng):
    ours = nn.Sequential(nn.Flatten(), nn.Linear(12, 8, rng=rng), nn.Tanh(),
                         nn.Linear(8, 4, rng=rng)).to(dtype=np.float64).eval()
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 4)).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v._data))
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def _torch_cw(model, x, y, c, kappa, steps, lr, rounds, targeted, lo, hi):
    """Carlini & Wagner's loop: Adam on w (adv = box(tanh w)), the best successful point, and
    the binary search on each example's c (tenfold until a success, then halving)."""
    x0, n, y = torch.from_numpy(x), len(x), torch.from_numpy(y)
    f64 = dict(dtype=torch.float64)
    w0 = torch.atanh(((x0 - lo) / (hi - lo) * 2 - 1).clamp(-1 + 1e-6, 1 - 1e-6))
    c_now, c_lo = torch.full((n,), c, **f64), torch.zeros(n, **f64)
    c_hi, best_norm = torch.full((n,), float("inf"), **f64), torch.full((n,), float("inf"), **f64)
    best, onehot = x0.clone(), torch.nn.functional.one_hot(y, 4).double()
    for _ in range(rounds):
        w = w0.clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=lr)
        succeeded = torch.zeros(n, dtype=torch.bool)
        for _ in range(steps):
            adv = (torch.tanh(w) + 1) * ((hi - lo) / 2) + lo
            z = model(adv)
            real, other = (z * onehot).sum(1), (z - onehot * 1e9).max(1).values
            margin = other - real if targeted else real - other
            d2 = ((adv - x0) ** 2).flatten(1).sum(1)
            opt.zero_grad()
            (d2 + c_now * torch.clamp(margin, min=-kappa)).sum().backward()
            with torch.no_grad():
                fooled = margin <= -kappa if kappa > 0 else margin < 0
                better = fooled & (d2 < best_norm ** 2)
                best[better] = adv[better]
                best_norm = torch.where(better, d2.sqrt(), best_norm)
                succeeded |= fooled
            opt.step()
        c_hi = torch.where(succeeded, torch.minimum(c_hi, c_now), c_hi)
        c_lo = torch.where(succeeded, c_lo, torch.maximum(c_lo, c_now))
        c_now = torch.where(torch.isinf(c_hi), c_now * 10, (c_lo + c_hi) / 2)
    return best.numpy()


@pytest.mark.parametrize("seed", range(12))
def test_cw_l2_matches_a_pytorch_adam_loop(seed):
    rng = np.random.default_rng(seed)
    ours, theirs = _models(rng)
    n = int(rng.integers(1, 5))
    lo, hi = [(0.0, 1.0), (-1.0, 2.0)][seed % 2]
    x, y = rng.uniform(lo, hi, size=(n, 1, 3, 4)), rng.integers(0, 4, size=n)
    c, kappa = float(rng.choice([0.1, 1.0, 10.0])), float(rng.choice([0.0, 0.5]))
    steps, lr, rounds = int(rng.integers(1, 15)), float(rng.choice([0.01, 0.1])), int(
        rng.integers(1, 4))
    targeted = seed % 3 == 0
    labels = dict(target=y) if targeted else dict(y=y)
    res = robust.cw_l2(ours, x, c=c, kappa=kappa, steps=steps, lr=lr, binary_steps=rounds,
                       bounds=(lo, hi), **labels)
    expected = _torch_cw(theirs, x, y, c, kappa, steps, lr, rounds, targeted, lo, hi)
    np.testing.assert_allclose(res.adversarial, expected, rtol=0, atol=1e-9)
