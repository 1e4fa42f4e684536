"""Seventeenth fuzz wave, robust: the sticker patch (Brown et al. 2017) against PyTorch.

The pasting is checked against ``torch.nn.functional.grid_sample`` (bilinear, zero padding,
``align_corners=True``) on a grid built from the placement (rotation, scale, centre): the patched
image is ``x * (1 - cover) + pasted`` where ``cover`` samples a patch of ones. Training is the same
placements (drawn here from the same seeded generator in the documented order: the images'
order, then per batch each placement's angle, scale, centre row and column) through PyTorch's
autograd and ``torch.optim.Adam`` with the patch clamped to [0, 1] after each step; the patch,
its losses and ``patch_success``'s counts must agree in float64.
"""

import math

import numpy as np
import pytest

from chainrule import nn, robust
from chainrule.robust.patch import apply_patch, paste_matrices

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _placements(rng, n, side, h, w, max_rotation, scale):
    out = []
    for _ in range(n):
        angle = rng.uniform(-max_rotation, max_rotation)
        s = rng.uniform(*scale)
        half = min(side * s * math.sqrt(0.5), (min(h, w) - 1) / 2)
        out.append((angle, s, rng.uniform(half, h - 1 - half), rng.uniform(half, w - 1 - half)))
    return out


def _torch_paste(x, patch, placements):
    """``x * (1 - cover) + pasted``, each sampled by grid_sample from the patch's own pixels."""
    n, c, h, w = x.shape
    side = patch.shape[-1]
    ii, jj = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                            torch.arange(w, dtype=torch.float64), indexing="ij")
    grids = []
    for angle, s, cy, cx in placements:
        a = math.radians(angle)
        u = (math.cos(a) * (ii - cy) + math.sin(a) * (jj - cx)) / s + (side - 1) / 2
        v = (-math.sin(a) * (ii - cy) + math.cos(a) * (jj - cx)) / s + (side - 1) / 2
        scale = 2 / (side - 1)
        grids.append(torch.stack([v * scale - 1, u * scale - 1], dim=-1))  # (x, y) = (col, row)
    grid = torch.stack(grids)
    kw = dict(mode="bilinear", padding_mode="zeros", align_corners=True)
    pasted = F.grid_sample(patch.expand(n, -1, -1, -1), grid, **kw)
    cover = F.grid_sample(torch.ones(n, 1, side, side, dtype=torch.float64), grid, **kw)
    return x * (1 - cover) + pasted


def _models(seed, channels=1, size=12):
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Conv2d(channels, 3, 3, rng=rng), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * (size - 2) ** 2, 4, rng=rng)).to(dtype=np.float64).eval()
    theirs = torch.nn.Sequential(torch.nn.Conv2d(channels, 3, 3), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(3 * (size - 2) ** 2, 4))
    theirs = theirs.double().eval()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v._data))
                            for k, v in ours.state_dict().items()})
    return rng, ours, theirs


@pytest.mark.parametrize("seed", range(12))
def test_pasting_is_grid_sample_of_the_placement(seed):
    rng = np.random.default_rng(seed)
    c, h, w = int(rng.integers(1, 4)), int(rng.integers(8, 16)), int(rng.integers(8, 16))
    side = int(rng.integers(2, 6))
    x = rng.uniform(0, 1, size=(3, c, h, w))
    patch = rng.uniform(0, 1, size=(c, side, side))
    places = _placements(rng, 3, side, h, w, float(rng.choice([0.0, 30.0, 180.0])),
                         (0.7, 1.4))
    places[0] = (90.0, 1.0, (h - 1) / 2, (w - 1) / 2)  # a quarter turn onto whole pixels
    got = apply_patch(x, patch, paste_matrices(side, (h, w), places, xp=np, dtype="float64"))
    want = _torch_paste(torch.from_numpy(x), torch.from_numpy(patch)[None], places)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_train_patch_is_adam_on_the_expected_loss_in_torch(seed):
    _, ours, theirs = _models(seed, channels=1 + seed % 2)
    draws = np.random.default_rng(100 + seed)
    x = draws.uniform(0, 1, size=(7, 1 + seed % 2, 12, 12))
    target, epochs, batch, lr = seed % 4, 2, int(draws.integers(2, 5)), 0.05
    area, rot, scale = 0.12, 45.0, (0.9, 1.1)
    losses = []
    got = robust.train_patch(ours, x, target, area=area, epochs=epochs, batch_size=batch, lr=lr,
                             max_rotation=rot, scale=scale, rng=seed,
                             callback=lambda step, loss: losses.append(loss))
    side = robust.patch_side(area, 12)
    rng = np.random.default_rng(seed)
    p = torch.full((x.shape[1], side, side), 0.5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr)
    want_losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            b = torch.from_numpy(x[order[start:start + batch]])
            places = _placements(rng, len(b), side, 12, 12, rot, scale)
            loss = F.cross_entropy(theirs(_torch_paste(b, p[None], places)),
                                   torch.full((len(b),), target))
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                p.clamp_(0, 1)
            want_losses.append(loss.item())
    np.testing.assert_allclose(losses, want_losses, rtol=1e-10)
    np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-9, atol=1e-11)
    again = robust.train_patch(ours, x, target, area=area, epochs=epochs, batch_size=batch,
                               lr=lr, max_rotation=rot, scale=scale, rng=seed)
    np.testing.assert_array_equal(again, got)  # seeded: bit for bit


@pytest.mark.parametrize("seed", range(4))
def test_patch_success_counts_as_torch(seed):
    _, ours, theirs = _models(seed)
    draws = np.random.default_rng(seed)
    x = draws.uniform(0, 1, size=(9, 1, 12, 12))
    y, target = draws.integers(0, 4, 9), int(draws.integers(0, 4))
    patch = draws.uniform(0, 1, size=(1, 4, 4))
    got = robust.patch_success(ours, x, y, patch, target, rng=seed, batch_size=4)
    rng = np.random.default_rng(seed)
    keep = x[y != target]
    hits = clean = 0
    with torch.no_grad():
        for start in range(0, len(keep), 4):
            b = torch.from_numpy(keep[start:start + 4])
            places = _placements(rng, len(b), 4, 12, 12, 45.0, (0.9, 1.1))
            hits += int((theirs(_torch_paste(b, torch.from_numpy(patch)[None], places))
                         .argmax(1) == target).sum())
            clean += int((theirs(b).argmax(1) == target).sum())
    assert got == {"success_rate": hits / len(keep), "n": len(keep),
                   "clean_target_rate": clean / len(keep)}
