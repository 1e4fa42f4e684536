"""Fuzz wave 16: random schedules against torch.optim.lr_scheduler 2.13 sharing one optimizer
with each other and with hand-set lrs: one to three schedules (any kind, ReduceLROnPlateau on
random metrics included) made at random steps and all stepped every step, the lr of every group
scaled by hand at random steps; every group's lr after every step over 40 steps. Before this
wave chainrule's closed-form schedules overwrote each other's and the hand's lr."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

KINDS = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ConstantLR",
         "PolynomialLR", "LambdaLR", "MultiplicativeLR", "CyclicLR", "OneCycleLR",
         "CosineAnnealingWarmRestarts", "ReduceLROnPlateau"]
LAMBDAS = [lambda e: 0.95 ** e, lambda e: min(1.0, (e + 1) / 4)]
FACTORS = [lambda e: 0.95, lambda e: 1.02 if e % 3 else 0.8]


def _pick(r, *values):
    return values[int(r.integers(len(values)))]


def _spec(r):  # noqa: C901 - one branch per schedule
    k = KINDS[int(r.integers(len(KINDS)))]
    if k == "StepLR":
        return k, dict(step_size=int(r.integers(1, 6)), gamma=_pick(r, 0.5, 0.9))
    if k == "MultiStepLR":
        return k, dict(milestones=sorted(int(x) for x in r.integers(0, 20, 3)),
                       gamma=_pick(r, 0.5, 0.3))
    if k == "ExponentialLR":
        return k, dict(gamma=_pick(r, 0.9, 0.97, 1.05))
    if k == "CosineAnnealingLR":
        return k, dict(T_max=int(r.integers(1, 12)), eta_min=_pick(r, 0.0, 1e-3))
    if k == "LinearLR":
        return k, dict(start_factor=_pick(r, 0.25, 0.5, 1.0), end_factor=_pick(r, 1.0, 0.5, 0.1),
                       total_iters=int(r.integers(1, 10)))
    if k == "ConstantLR":
        return k, dict(factor=_pick(r, 0.5, 0.25), total_iters=int(r.integers(0, 8)))
    if k == "PolynomialLR":
        return k, dict(total_iters=int(r.integers(1, 15)), power=_pick(r, 1.0, 2.0, 0.5))
    if k == "LambdaLR":
        return k, dict(lr_lambda=_pick(r, *LAMBDAS))
    if k == "MultiplicativeLR":
        return k, dict(lr_lambda=_pick(r, *FACTORS))
    if k == "CyclicLR":
        return k, dict(base_lr=0.01, max_lr=0.1, step_size_up=int(r.integers(1, 5)),
                       mode=_pick(r, "triangular", "triangular2", "exp_range"), gamma=0.95)
    if k == "OneCycleLR":
        return k, dict(max_lr=0.2, total_steps=50, pct_start=_pick(r, 0.3, 0.1))
    if k == "CosineAnnealingWarmRestarts":
        return k, dict(T_0=int(r.integers(1, 5)), T_mult=_pick(r, 1, 2))
    return k, dict(patience=int(r.integers(0, 3)), factor=_pick(r, 0.5, 0.1),
                   cooldown=int(r.integers(0, 3)))


def _run(lib, seed):
    r = np.random.default_rng(seed)
    ng = int(r.integers(1, 3))
    opt = lib.optim.SGD([{"params": [lib.zeros(1, requires_grad=True)], "lr": 0.1 * (i + 1)}
                         for i in range(ng)], momentum=0.9)
    specs = [_spec(r) for _ in range(int(r.integers(1, 4)))]
    starts = [int(r.integers(0, 10)) if r.integers(2) else 0 for _ in specs]
    hand = {int(r.integers(1, 40)): _pick(r, 0.5, 2.0) for _ in range(int(r.integers(0, 3)))}
    metrics = np.round(r.standard_normal(40), 1)
    made, rows = [], []
    for t in range(40):
        made += [(k, getattr(lib.optim.lr_scheduler, k)(opt, **kw))
                 for (k, kw), start in zip(specs, starts, strict=True) if start == t]
        opt.step()
        for g in opt.param_groups:
            g["lr"] *= hand.get(t, 1.0)
        for k, s in made:
            try:
                s.step(float(metrics[t])) if k == "ReduceLROnPlateau" else s.step()
            except ValueError:  # OneCycleLR made late runs past its total_steps
                return np.array(rows + [[-1.0] * ng])
        rows.append([g["lr"] for g in opt.param_groups])
    return np.array(rows)


@pytest.mark.parametrize("seed", range(80))
def test_schedules_sharing_an_optimizer_against_pytorch(seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's order and deprecation warnings
        ours, theirs = _run(cr, seed), _run(torch, seed)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)
