"""Seventeenth fuzz wave, robust: ``robust_accuracy``'s figures against a PyTorch loop over the
same data in batches (float64, same weights): clean accuracy, robust accuracy, success rate and
the mean and median norms of the successful perturbations, for FGSM and PGD (L-inf and L2, with
the documented per-example random starts: example i draws from ``SeedSequence(seed)``'s entropy
with spawn key ``(i,)``), targeted labels left out (the true labels are attacked), ``limit`` and
batch sizes that do not divide the data."""

import statistics

import numpy as np
import pytest

from chainrule import nn, robust

torch = pytest.importorskip("torch")


def _models(rng):
    ours = nn.Sequential(nn.Flatten(), nn.Linear(12, 8, rng=rng), nn.Tanh(),
                         nn.Linear(8, 3, rng=rng)).to(dtype=np.float64)
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 3)).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v._data))
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def _project(adv, x0, eps, norm):
    if norm == "linf":
        return torch.min(torch.max(adv, x0 - eps), x0 + eps).clamp(0, 1)
    d = adv - x0
    n = d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return (x0 + d * torch.where(n > eps, eps / n.clamp_min(1e-12), torch.ones_like(n))).clamp(
        0, 1)


def _start(seed, index, eps, norm, shape):
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        np.random.SeedSequence(seed).entropy, spawn_key=(index,))))
    if norm == "linf":
        return g.uniform(-eps, eps, size=shape)
    direction = g.standard_normal(size=shape)
    radius = eps * g.uniform(0, 1, size=()) ** (1 / direction.size)
    return direction * radius / np.sqrt((direction ** 2).sum())


def _torch_attack(model, x, y, method, eps, norm, steps, alpha, seed, first):
    x0, yt = torch.from_numpy(x), torch.from_numpy(y)
    adv = x0
    if seed is not None:
        starts = np.stack([_start(seed, first + i, eps, norm, x.shape[1:])
                           for i in range(len(x))])
        adv = _project(x0 + torch.from_numpy(starts), x0, eps, norm)
    for _ in range(1 if method == "fgsm" else steps):
        a = adv.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(a), yt, reduction="sum")
        g = torch.autograd.grad(loss, a)[0]
        if norm == "linf":
            g = g.sign()
        else:
            g = g / (g.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-12)
        adv = _project(adv + (eps if method == "fgsm" else alpha) * g, x0, eps, norm)
    return adv.detach().numpy()


@pytest.mark.parametrize("seed", range(8))
def test_robust_accuracy_figures_match_a_pytorch_loop(seed):
    rng = np.random.default_rng(seed)
    ours, theirs = _models(rng)
    n = int(rng.integers(10, 30))
    x, y = rng.uniform(0, 1, size=(n, 1, 3, 4)), rng.integers(0, 3, n)
    method = ("fgsm", "pgd")[seed % 2]
    norm = "l2" if seed % 4 == 3 else "linf"
    eps, steps, alpha = float(rng.choice([0.05, 0.2, 0.5])), int(rng.integers(1, 5)), 0.1
    random_start = bool(seed % 3) and method == "pgd"
    batch, limit = int(rng.integers(3, 11)), [None, n - 3][seed % 2]
    kwargs = dict(eps=eps) if method == "fgsm" else dict(
        eps=eps, norm=norm, steps=steps, alpha=alpha, random_start=random_start)
    got = robust.robust_accuracy(ours, (x, y), method, batch_size=batch, verbose=0, limit=limit,
                                 rng=seed, **kwargs)
    m = n if limit is None else limit
    clean = robust_ = 0
    norms = []
    for start in range(0, m, batch):
        xb, yb = x[start:min(start + batch, m)], y[start:min(start + batch, m)]
        adv = _torch_attack(theirs, xb, yb, method, eps, norm, steps, alpha,
                            seed if random_start else None, start)
        with torch.no_grad():
            right = theirs(torch.from_numpy(xb)).argmax(1).numpy() == yb
            holds = right & (theirs(torch.from_numpy(adv)).argmax(1).numpy() == yb)
        delta = (adv - xb).reshape(len(xb), -1)
        size = np.abs(delta).max(1) if norm == "linf" and method == "pgd" or method == "fgsm" \
            else np.sqrt((delta ** 2).sum(1))
        clean, robust_ = clean + int(right.sum()), robust_ + int(holds.sum())
        norms += [float(v) for v in size[right & ~holds]]
    assert got["n"] == m
    assert (got["clean_accuracy"], got["robust_accuracy"]) == (clean / m, robust_ / m)
    assert got["success_rate"] == ((clean - robust_) / clean if clean else got["success_rate"])
    if norms:
        np.testing.assert_allclose([got["mean_norm"], got["median_norm"]],
                                   [statistics.fmean(norms), statistics.median(norms)],
                                   rtol=1e-10)
    else:
        assert np.isnan(got["mean_norm"]) and np.isnan(got["median_norm"])
