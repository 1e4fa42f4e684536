"""Fuzz wave 16: optimizers, schedulers and weight averaging against PyTorch 2.13 (CPU) over long
runs: schedules that share an optimizer's lr with something else (two schedules stepped on the
same steps, as PyTorch's docs chain them; a hand-set lr; a resume by ``last_epoch``), float64
trajectories of every optimizer with unusual flags, complex parameters and sparse gradients.

Bugs this wave found are pinned by the regression tests at the top.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _lrs(lib, make, steps=40, hand=None):
    """Every step's lr of each of two groups, the schedules ``make(sched, opt)`` returns stepped
    in order; ``hand(t, groups)`` may set an lr by hand before step t's schedules."""
    opt = lib.optim.SGD([{"params": [lib.zeros(1, requires_grad=True)], "lr": 0.1 * (i + 1),
                          "momentum": 0.9} for i in range(2)])
    schedules = make(lib.optim.lr_scheduler, opt)
    rows = [[g["lr"] for g in opt.param_groups] + schedules[-1].get_last_lr()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's order warnings
        for t in range(steps):
            opt.step()
            if hand is not None:
                hand(t, opt.param_groups)
            for s in schedules:
                s.step()
            rows.append([g["lr"] for g in opt.param_groups] + schedules[-1].get_last_lr())
    return np.array(rows)


TOGETHER = {
    "docs: exponential and multistep": lambda S, o: [S.ExponentialLR(o, 0.9),
                                                     S.MultiStepLR(o, [5, 12, 12], 0.1)],
    "step and exponential": lambda S, o: [S.StepLR(o, 3, 0.5), S.ExponentialLR(o, 0.95)],
    "linear warm-up and cosine": lambda S, o: [S.LinearLR(o, 0.2, total_iters=5),
                                               S.CosineAnnealingLR(o, 30, eta_min=0.001)],
    "constant and polynomial": lambda S, o: [S.ConstantLR(o, 0.5, total_iters=4),
                                             S.PolynomialLR(o, 25, 2.0)],
    "lambda warm-up and step": lambda S, o: [S.LambdaLR(o, lambda e: min(1.0, (e + 1) / 5)),
                                             S.StepLR(o, 7, 0.5)],
    "cosine and multiplicative": lambda S, o: [S.CosineAnnealingLR(o, 10),
                                               S.MultiplicativeLR(o, lambda e: 0.97)],
    "cyclic and exponential": lambda S, o: [S.CyclicLR(o, 0.01, 0.1, step_size_up=3),
                                            S.ExponentialLR(o, 0.9)],
    "cosine past T_max and step": lambda S, o: [S.CosineAnnealingLR(o, 4, 0.01),
                                                S.StepLR(o, 5, 0.5)],
}


@pytest.mark.parametrize("name", list(TOGETHER))
def test_two_schedules_stepped_together_compose_as_pytorchs(name):
    """Two schedules stepped on the same steps (PyTorch's docs chain ExponentialLR and
    MultiStepLR so): each of chainrule's set its closed form from the initial lr, so the last
    one stepped overwrote the other's decay without a word (the docs' example ran at 10x
    PyTorch's lr from epoch 5 on). A schedule whose lr something else changed now goes on from
    the current lr, as PyTorch's recursive step does."""
    ours, theirs = _lrs(cr, TOGETHER[name]), _lrs(torch, TOGETHER[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-16)


def _triple_at(t, groups, when=6):
    if t == when:
        for g in groups:
            g["lr"] *= 3


@pytest.mark.parametrize("make", [lambda S, o: [S.StepLR(o, 4, 0.5)],
                                  lambda S, o: [S.MultiStepLR(o, [3, 9], 0.5)],
                                  lambda S, o: [S.ExponentialLR(o, 0.9)],
                                  lambda S, o: [S.CosineAnnealingLR(o, 9, 0.001)],
                                  lambda S, o: [S.LinearLR(o, 0.3, 0.9, total_iters=10)],
                                  lambda S, o: [S.PolynomialLR(o, 12, 0.5)],
                                  lambda S, o: [S.ConstantLR(o, 0.25, total_iters=8)]],
                         ids=["step", "multistep", "exponential", "cosine", "linear",
                              "polynomial", "constant"])
def test_hand_set_lr_is_kept_by_the_schedule_as_pytorchs(make):
    """An lr set by hand mid-run (tripled at step 6) was thrown away at the next step (the
    closed form from the initial lr); PyTorch's schedules go on from it."""
    ours, theirs = _lrs(cr, make, 20, _triple_at), _lrs(torch, make, 20, _triple_at)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-16)
    assert not np.allclose(ours, _lrs(cr, make, 20))


RESUMED = {"step": lambda S, o, e: S.StepLR(o, 3, 0.5, last_epoch=e),
           "multistep": lambda S, o, e: S.MultiStepLR(o, [2, 5, 9], 0.5, last_epoch=e),
           "exponential": lambda S, o, e: S.ExponentialLR(o, 0.9, last_epoch=e),
           "cosine": lambda S, o, e: S.CosineAnnealingLR(o, 8, 0.01, last_epoch=e),
           "polynomial": lambda S, o, e: S.PolynomialLR(o, 10, 2.0, last_epoch=e),
           "linear": lambda S, o, e: S.LinearLR(o, 0.2, total_iters=6, last_epoch=e),
           "constant": lambda S, o, e: S.ConstantLR(o, 0.5, total_iters=6, last_epoch=e)}


@pytest.mark.parametrize("name", list(RESUMED))
@pytest.mark.parametrize("steps", [1, 2, 3, 5, 6])
@pytest.mark.parametrize("offset", [-1, 0])
def test_resume_by_last_epoch_as_pytorchs(name, steps, offset):
    """A schedule made with ``last_epoch=e`` over a loaded optimizer: PyTorch's constructor
    keeps the loaded lr (ExponentialLR, CosineAnnealingLR, LinearLR, PolynomialLR) or takes its
    recursive step from it (StepLR, MultiStepLR, ConstantLR: at a decay step it decays the loaded
    lr again); chainrule's set the closed form from the initial lr, a step apart from PyTorch's
    when e was the epoch just done (offset 0) and for StepLR at a decay step."""
    out = []
    for lib in (cr, torch):
        S = lib.optim.lr_scheduler
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        s = RESUMED[name](S, opt, -1)
        for _ in range(steps):
            opt.step()
            s.step()
        opt2 = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        opt2.load_state_dict(opt.state_dict())
        s2 = RESUMED[name](S, opt2, steps + offset)
        row = [opt2.param_groups[0]["lr"]]
        for _ in range(8):
            opt2.step()
            s2.step()
            row.append(opt2.param_groups[0]["lr"])
        out.append(row + s2.get_last_lr())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-16)


def test_schedule_made_after_a_warm_up_that_ended_elsewhere_as_pytorchs():
    """A CosineAnnealingLR made (last_epoch=-1) after a warm-up that left the lr at half the
    initial lr went back to the initial lr at its first step; PyTorch's goes on from the half."""
    out = []
    for lib in (cr, torch):
        S = lib.optim.lr_scheduler
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.2)
        warm = S.LinearLR(opt, 0.1, 0.5, total_iters=4)
        for _ in range(4):
            opt.step()
            warm.step()
        cos = S.CosineAnnealingLR(opt, 10, 0.001)
        rows = []
        for _ in range(12):
            opt.step()
            cos.step()
            rows.append(opt.param_groups[0]["lr"])
        out.append(rows)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)
    assert out[0][0] < 0.1


@pytest.mark.parametrize("adam", [False, True])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_momenta_per_group_as_pytorchs(adam, three_phase):
    """OneCycleLR's base_momentum and max_momentum one per group (PyTorch takes lists, as for
    max_lr): chainrule's raised a TypeError ('list' - 'list') at construction."""
    out = []
    for lib in (torch, cr):
        ps = [lib.zeros(1, requires_grad=True) for _ in range(2)]
        opt = (lib.optim.Adam(ps[:1], lr=0.1) if adam
               else lib.optim.SGD(ps[:1], lr=0.1, momentum=0.9))
        opt.add_param_group({"params": ps[1:]})
        s = lib.optim.lr_scheduler.OneCycleLR(
            opt, [0.5, 1.0], total_steps=30, three_phase=three_phase, anneal_strategy="linear",
            base_momentum=[0.8, 0.7], max_momentum=(0.9, 0.95), div_factor=5.0)
        rows = []
        for _ in range(30):
            opt.step()
            s.step()
            rows.append([(g["betas"][0] if adam else g["momentum"]) for g in opt.param_groups]
                        + s.get_last_lr())
        out.append(rows)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)
    opt = cr.optim.SGD([{"params": [p]} for p in ps], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="expected 2 values for max_momentum"):
        cr.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=3, max_momentum=[0.9])
