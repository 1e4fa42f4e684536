"""Fuzz wave 23: optimizers, schedules and gradient clipping against PyTorch 2.13 (CPU) where the
earlier waves did not look. Each test pins a discrepancy this wave found and fixed."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _lrs(lib, make, steps):
    """The lrs of two groups after construction and after each of ``steps`` steps."""
    ps = [lib.zeros(1, requires_grad=True) for _ in range(2)]
    opt = lib.optim.SGD([{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(ps)], lr=0.1)
    sched = make(lib.optim.lr_scheduler, opt)
    out = [list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups])
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("milestones", [[0], [0, 3], [0, 0]])
def test_sequential_lr_with_a_milestone_at_zero_as_pytorchs(milestones):
    """SequentialLR made its first schedule's initial step whatever the milestones; PyTorch's
    makes the step of the schedule meant to run at step 0 (bisect_right(milestones, 0)): with
    milestones=[0] the ConstantLR's factor stayed in every later lr (half of PyTorch's)."""

    def make(S, opt):
        members = [
            S.ConstantLR(opt, 0.5, total_iters=3),
            S.ExponentialLR(opt, 0.9),
            S.StepLR(opt, 2, 0.5),
        ][: len(milestones) + 1]
        return S.SequentialLR(opt, members, milestones=milestones)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _lrs(cr, make, 7), _lrs(torch, make, 7)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
