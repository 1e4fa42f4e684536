"""Seventeenth fuzz wave, robust: APGD-CE and DeepFool against their textbook updates written in
PyTorch on the same float64 weights, step by step (targeted and not, other data ranges, batches
of one, random starts from the same draws and APGD's choice among restarts).

APGD is Croce & Hein's (2020) Algorithm 1: step 2 eps, momentum 0.75, checkpoints
``apgd_checkpoints``, condition 1 counting ``f(x^(i+1)) > f(x^(i))`` for i from ``w_{j-1}`` to
``w_j - 1``, condition 2 on an unchanged step and best loss, and a halving that sets only
``x^(k+1)`` to ``x_max``. Ours counted one step too late in every window (the first one had 23
comparisons for 22 steps) and zeroed the momentum after a restart: 5 of these 24 cases ended
elsewhere.
DeepFool is Moosavi-Dezfooli et al.'s multiclass step to the nearest linearized boundary among the
top ``candidates`` classes of ``x``, ``(|f'| / ||w'|| + 1e-4) w' / ||w'||`` (the authors' code), the
overshoot on the sum.
"""

import math

import numpy as np
import pytest

from chainrule import nn, robust
from chainrule.robust.apgd import apgd_checkpoints

torch = pytest.importorskip("torch")

RANGES = [(0.0, 1.0), (-1.0, 1.0), (-2.5, 3.0)]


def _models(rng, classes):
    ours = nn.Sequential(nn.Flatten(), nn.Linear(12, 8, rng=rng), nn.Tanh(),
                         nn.Linear(8, classes, rng=rng)).to(dtype=np.float64).eval()
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, classes)).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v._data))
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def _torch_dlr(z, y):
    """Croce & Hein's difference of logits ratio, as their reference code writes it."""
    zs, order = z.sort(dim=1)
    top_is_y = (order[:, -1] == y).double()
    rows = torch.arange(len(z))
    return -(z[rows, y] - zs[:, -2] * top_is_y - zs[:, -1] * (1 - top_is_y)) / (
        zs[:, -1] - zs[:, -3] + 1e-12)


def _torch_apgd_run(model, x0, y, start, eps, n_iter, targeted, lo, hi, dlr=False):
    """One run of Algorithm 1: (first fooling points, which examples have one, x_max, f_max)."""
    def project(p):
        return torch.min(torch.max(p, x0 - eps), x0 + eps).clamp(lo, hi)

    def loss_grad(p):
        p = p.clone().requires_grad_(True)
        z = model(p)
        loss = _torch_dlr(z, y) if dlr else torch.nn.functional.cross_entropy(
            z, y, reduction="none")
        loss = -loss if targeted else loss
        pred = z.argmax(1)
        return loss.detach(), torch.autograd.grad(loss.sum(), p)[0], (
            pred == y if targeted else pred != y)

    def e(v):
        return v.view(-1, 1, 1, 1)

    def note(point, fooled):
        new = fooled & ~hit
        found[new] = point[new]
        hit[...] = hit | fooled

    checks = apgd_checkpoints(n_iter)
    eta = torch.full((len(x0),), 2.0 * eps, dtype=torch.float64)
    found, hit = start.clone(), torch.zeros(len(x0), dtype=torch.bool)
    f0, g0, fooled = loss_grad(start)
    note(start, fooled)
    x1 = project(start + e(eta) * g0.sign())
    f1, g, fooled = loss_grad(x1)
    note(x1, fooled)
    xs, fs = [start, x1], [f0, f1]
    up = f1 > f0
    x_max, g_max, f_max = torch.where(e(up), x1, start), torch.where(e(up), g, g0), torch.maximum(
        f0, f1)
    eta_at, f_max_at, last = {0: eta.clone()}, {0: f_max.clone()}, 0
    for k in range(1, n_iter):
        z = project(xs[k] + e(eta) * g.sign())
        xn = project(xs[k] + 0.75 * (z - xs[k]) + 0.25 * (xs[k] - xs[k - 1]))
        fn, g, fooled = loss_grad(xn)
        note(xn, fooled)
        better = fn > f_max
        x_max, g_max = torch.where(e(better), xn, x_max), torch.where(e(better), g, g_max)
        f_max = torch.where(better, fn, f_max)
        xs.append(xn)
        fs.append(fn)
        if k in checks:
            rises = sum((fs[i + 1] > fs[i]).long() for i in range(last, k))
            stalled = (eta_at[last] == eta) & (f_max_at[last] == f_max)
            halve = (rises < 0.75 * (k - last)) | stalled
            eta = torch.where(halve, eta / 2, eta)
            xs[k + 1] = torch.where(e(halve), x_max, xs[k + 1])
            fs[k + 1] = torch.where(halve, f_max, fs[k + 1])
            g = torch.where(e(halve), g_max, g)
            eta_at[k], f_max_at[k], last = eta.clone(), f_max.clone(), k
    return found, hit, x_max, f_max


def _torch_apgd(model, x, y, eps, n_iter, targeted, lo, hi, restarts, seed, dlr=False):
    x0, y = torch.from_numpy(x), torch.from_numpy(y)
    draws = np.random.default_rng(seed) if seed is not None else None
    best, best_loss = x0.clone(), torch.full((len(x),), -math.inf, dtype=torch.float64)
    done = torch.zeros(len(x), dtype=torch.bool)
    for _ in range(restarts):
        start = x0 if draws is None else torch.min(torch.max(
            x0 + torch.from_numpy(draws.uniform(-eps, eps, size=x.shape)), x0 - eps),
            x0 + eps).clamp(lo, hi)
        found, hit, x_max, f_max = _torch_apgd_run(model, x0, y, start, eps, n_iter, targeted,
                                                   lo, hi, dlr)
        new = hit & ~done
        best[new] = found[new]
        better = ~done & ~hit & (f_max > best_loss)
        best[better], best_loss = x_max[better], torch.where(better, f_max, best_loss)
        done |= hit
    return best.numpy()


def _case(seed):
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 6))
    ours, theirs = _models(rng, classes)
    n = int(rng.integers(1, 5))
    lo, hi = RANGES[seed % 3]
    x = rng.uniform(lo, hi, size=(n, 1, 3, 4))
    x[0, 0, 0, :2] = lo, hi  # on the box's faces
    return rng, ours, theirs, x, classes, (lo, hi), bool(seed % 2)


@pytest.mark.parametrize("seed", range(24))
def test_apgd_matches_the_papers_algorithm_in_pytorch(seed):
    rng, ours, theirs, x, classes, (lo, hi), targeted = _case(seed)
    y = rng.integers(0, classes, len(x))
    eps = float(rng.choice([0.02, 0.1, 0.3]))
    steps = int(rng.choice([5, 12, 30, 45]))
    random_start = seed % 3 != 0
    restarts = int(rng.integers(1, 3)) if random_start else 1
    labels = dict(target=y) if targeted else dict(y=y)
    got = robust.apgd(ours, x, eps=eps, steps=steps, restarts=restarts,
                      random_start=random_start, bounds=(lo, hi), rng=seed, **labels)
    want = _torch_apgd(theirs, x, y, eps, steps, targeted, lo, hi, restarts,
                       seed if random_start else None)
    np.testing.assert_allclose(got.adversarial, want, rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        pred = theirs(torch.from_numpy(want)).argmax(1).numpy()
    np.testing.assert_array_equal(got.success, pred == y if targeted else pred != y)
    again = robust.apgd(ours, x, eps=eps, steps=steps, restarts=restarts,
                        random_start=random_start, bounds=(lo, hi), rng=seed, **labels)
    np.testing.assert_array_equal(again.adversarial, got.adversarial)  # seeded: bit for bit


@pytest.mark.parametrize("seed", range(12))
def test_apgd_dlr_matches_the_papers_algorithm_with_their_loss(seed):
    rng, ours, theirs, x, classes, (lo, hi), _ = _case(seed)
    if classes < 3:
        with pytest.raises(ValueError, match="'dlr' needs at least 3 classes, the model has 2"):
            robust.apgd(ours, x, y=np.zeros(len(x), dtype=int), eps=0.1, loss="dlr",
                        bounds=(lo, hi))
        return
    y = rng.integers(0, classes, len(x))
    eps, steps = float(rng.choice([0.02, 0.1, 0.3])), int(rng.choice([5, 12, 30]))
    random_start = seed % 3 != 0
    got = robust.apgd(ours, x, y, eps=eps, steps=steps, random_start=random_start,
                      bounds=(lo, hi), rng=seed, loss="dlr")
    want = _torch_apgd(theirs, x, y, eps, steps, False, lo, hi, 1,
                       seed if random_start else None, dlr=True)
    np.testing.assert_allclose(got.adversarial, want, rtol=1e-10, atol=1e-12)


def test_apgd_dlr_refuses_targets_and_unknown_losses():
    _, ours, _, x, _, _, _ = _case(3)
    with pytest.raises(ValueError, match="loss='dlr' is untargeted here; pass y, not target"):
        robust.apgd(ours, x, target=0, eps=0.1, loss="dlr")
    with pytest.raises(ValueError, match="loss must be 'ce' or 'dlr', got 'cw'"):
        robust.apgd(ours, x, y=0, eps=0.1, loss="cw")


def _torch_deepfool(model, x, y, steps, overshoot, candidates, targeted, lo, hi):
    rows = []
    for xi, label in zip(torch.from_numpy(x).split(1), y):
        z0 = model(xi)[0].detach()
        k0 = int(z0.argmax())
        active = k0 != label if targeted else k0 == label
        classes = [int(label)] if targeted else torch.argsort(-z0)[:candidates].tolist()
        r, adv = torch.zeros_like(xi), xi.clone()
        for _ in range(steps):
            if not active:
                break
            a = adv.clone().requires_grad_(True)
            z = model(a)[0]
            g0 = torch.autograd.grad(z[k0], a, retain_graph=True)[0]
            nearest, step = math.inf, torch.zeros_like(xi)
            for k in classes:
                if k == k0:
                    continue
                w = torch.autograd.grad(z[k], a, retain_graph=True)[0] - g0
                f = float((z[k] - z[k0]).detach())
                length = float(w.norm()) + 1e-12
                if abs(f) / length < nearest:
                    nearest, step = abs(f) / length, (abs(f) / length + 1e-4) / length * w
            r = r + step
            adv = (xi + (1 + overshoot) * r).clamp(lo, hi)
            pred = int(model(adv).argmax())
            active = pred != label if targeted else pred == label
        rows.append(adv.detach())
    return torch.cat(rows).numpy()


@pytest.mark.parametrize("seed", range(24))
def test_deepfool_matches_the_textbook_steps_in_pytorch(seed):
    rng, ours, theirs, x, classes, (lo, hi), targeted = _case(seed)
    with torch.no_grad():
        pred = theirs(torch.from_numpy(x)).argmax(1).numpy()
    y = rng.integers(0, classes, len(x))
    if not targeted:  # mostly examples it gets right, some it does not
        y = np.where(rng.random(len(x)) < 0.8, pred, y)
    steps, overshoot = int(rng.integers(1, 8)), float(rng.choice([0.0, 0.02, 0.5]))
    candidates = int(rng.integers(2, 6))
    got = robust.deepfool(ours, x, steps=steps, overshoot=overshoot, candidates=candidates,
                          bounds=(lo, hi), **(dict(target=y) if targeted else dict(y=y)))
    want = _torch_deepfool(theirs, x, y, steps, overshoot, candidates, targeted, lo, hi)
    np.testing.assert_allclose(got.adversarial, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.norms, np.sqrt(((want - x) ** 2).reshape(len(x), -1).sum(1)),
                               rtol=1e-10, atol=1e-12)
