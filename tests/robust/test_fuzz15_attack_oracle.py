"""FGSM and PGD against reference loops written in PyTorch on the same float64 weights: random
starts from the same draws, L-inf and L2 balls, targeted and not, other data ranges, eps = 0,
batches of one, labels as lists, and the choice among restarts."""

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


def _losses(model, adv, y, targeted):
    losses = torch.nn.functional.cross_entropy(model(adv), y, reduction="none")
    return -losses if targeted else losses


def _grad(model, adv, y, targeted):
    adv = adv.clone().requires_grad_(True)
    return torch.autograd.grad(_losses(model, adv, y, targeted).sum(), adv)[0]


def _project(adv, x0, eps, norm, lo, hi):
    if norm == "linf":
        return torch.min(torch.max(adv, x0 - eps), x0 + eps).clamp(lo, hi)
    d = adv - x0
    n = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return (x0 + d * torch.where(n > eps, eps / n.clamp_min(1e-12), torch.ones_like(n))).clamp(
        lo, hi)


def _start(g, x, eps, norm):
    """The documented draw: uniform in the L-inf box; for L2 a normal direction and a radius
    eps * u ** (1 / d), drawn in this order from the attack's generator."""
    if norm == "linf":
        return g.uniform(-eps, eps, size=x.shape)
    direction = g.standard_normal(size=x.shape)
    flat = direction.reshape(len(x), -1)
    radius = eps * g.uniform(0, 1, size=len(x)) ** (1 / flat.shape[1])
    return direction * (radius / np.sqrt((flat ** 2).sum(1))).reshape(-1, 1, 1, 1)


def _torch_pgd(model, x, y, eps, alpha, steps, norm, targeted, lo, hi, restarts, seed):
    x0, y = torch.from_numpy(x), torch.from_numpy(y)
    g = np.random.default_rng(seed) if seed is not None else None
    best = best_loss = best_hit = None
    for _ in range(restarts):
        adv = x0 if g is None else _project(x0 + torch.from_numpy(_start(g, x, eps, norm)), x0,
                                            eps, norm, lo, hi)
        for _ in range(steps):
            d = _grad(model, adv, y, targeted)
            if norm == "linf":
                d = d.sign()
            else:
                d = d / (d.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-12)
            adv = _project(adv + alpha * d, x0, eps, norm, lo, hi)
        with torch.no_grad():
            loss, pred = _losses(model, adv, y, targeted), model(adv).argmax(1)
        hit = pred == y if targeted else pred != y
        if best is None:
            best, best_loss, best_hit = adv.clone(), loss, hit
            continue
        take = (hit & ~best_hit) | ((hit == best_hit) & (loss > best_loss))
        best[take], best_loss = adv[take], torch.where(take, loss, best_loss)
        best_hit = best_hit | hit
    return best.numpy()


RANGES = [(0.0, 1.0), (-1.0, 1.0), (-2.5, 3.0)]


def _case(seed):
    rng = np.random.default_rng(seed)
    ours, theirs = _models(rng)
    n = int(rng.integers(1, 5))
    lo, hi = RANGES[seed % 3]
    x = rng.uniform(lo, hi, size=(n, 1, 3, 4))
    x[0, 0, 0, :2] = lo, hi  # on the box's faces
    y = rng.integers(0, 4, size=n)
    eps = float(rng.choice([0.0, 0.05, 0.3, 1.0]))
    return rng, ours, theirs, x, y, eps, (lo, hi), bool(seed % 2)


def _labels(y, targeted, seed):
    labels = [int(v) for v in y] if seed % 4 == 0 else y  # lists as well as arrays
    return dict(target=labels) if targeted else dict(y=labels)


@pytest.mark.parametrize("seed", range(24))
def test_fgsm_matches_the_pytorch_step(seed):
    _, ours, theirs, x, y, eps, (lo, hi), targeted = _case(seed)
    res = robust.fgsm(ours, x, eps=eps, bounds=(lo, hi), **_labels(y, targeted, seed))
    x0 = torch.from_numpy(x)
    expected = (x0 + eps * _grad(theirs, x0, torch.from_numpy(y), targeted).sign()).clamp(lo, hi)
    np.testing.assert_allclose(res.adversarial, expected.numpy(), rtol=0, atol=1e-12)
    with torch.no_grad():
        pred = theirs(expected).argmax(1).numpy()
    np.testing.assert_array_equal(res.predictions, pred)
    np.testing.assert_array_equal(res.success, pred == y if targeted else pred != y)
    np.testing.assert_allclose(res.norms, np.abs(expected.numpy() - x).reshape(len(x), -1).max(1),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_matches_a_pytorch_loop_with_the_same_draws(seed, norm):
    rng, ours, theirs, x, y, eps, (lo, hi), targeted = _case(seed)
    steps, alpha = int(rng.integers(1, 5)), float(rng.choice([0.01, 0.1, 0.5]))
    restarts = int(rng.choice([1, 1, 3]))
    random_start = restarts > 1 or bool(rng.integers(0, 2))
    res = robust.pgd(ours, x, eps=eps, norm=norm, steps=steps, alpha=alpha, restarts=restarts,
                     random_start=random_start, rng=seed + 100, bounds=(lo, hi),
                     **_labels(y, targeted, seed))
    expected = _torch_pgd(theirs, x, y, eps, alpha, steps, norm, targeted, lo, hi, restarts,
                          seed + 100 if random_start else None)
    np.testing.assert_allclose(res.adversarial, expected, rtol=0, atol=1e-10)
    delta = (expected - x).reshape(len(x), -1)
    norms = np.abs(delta).max(1) if norm == "linf" else np.sqrt((delta ** 2).sum(1))
    np.testing.assert_allclose(res.norms, norms, rtol=0, atol=1e-10)
    assert (res.norms <= eps + 1e-12).all()


def test_fgsm_refuses_an_alpha_it_would_ignore():
    # Before, fgsm(..., alpha=0.05) without random_start stepped eps and dropped alpha silently.
    ours, _ = _models(np.random.default_rng(0))
    x, y = np.full((2, 1, 3, 4), 0.5), np.array([0, 1])
    with pytest.raises(ValueError, match="fgsm: alpha=0.05 is the step from a random start; "
                                         "pass random_start=True"):
        robust.fgsm(ours, x, y, eps=0.1, alpha=0.05)
    res = robust.fgsm(ours, x, y, eps=0.1, alpha=0.05, random_start=True, rng=0)
    assert (res.norms <= 0.1 + 1e-12).all()


@pytest.mark.parametrize("norm", ["l1", "Linf", "inf"])
def test_project_refuses_a_norm_it_does_not_know(norm):
    # Before, any name but "linf" was projected as L2: project(..., "l1") gave an L2 ball.
    x = np.zeros((1, 4))
    with pytest.raises(ValueError, match=f"project: norm must be one of \\('linf', 'l2'\\), got "
                                         f"'{norm}'"):
        robust.project(x + 1, x, 0.5, norm, (-2.0, 2.0))
    np.testing.assert_allclose(robust.project(x + 1, x, 0.5, "l2", (-2.0, 2.0)),
                               np.full((1, 4), 0.25))
