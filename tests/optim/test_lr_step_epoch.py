"""``scheduler.step(epoch)``, PyTorch's deprecated form (``for epoch in range(n):
scheduler.step(epoch)`` in older training scripts), was a TypeError for every schedule but
CosineAnnealingWarmRestarts. The schedules PyTorch gives a closed form to (and LambdaLR, closed
already) now jump to the step as PyTorch's do, with its deprecation warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

SCHEDULES = {
    "StepLR": lambda S, o: S.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, [2, 4], 0.1),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, 5, eta_min=0.01),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 0.9 ** e),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.25, total_iters=4),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=3),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=6, power=2.0),
}


def _step_with_an_epoch_jumps_to_it_as_pytorch_case(name):
    epochs = [1, 2, 3, 5, 5, 8, 0, 4]
    out = []
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=1.0)
        sched = SCHEDULES[name](lib.optim.lr_scheduler, opt)
        lrs = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch in epochs:
                opt.step()
                sched.step(epoch)
                lrs.append(opt.param_groups[0]["lr"])
            sched.step()  # then one step on from there
            lrs.append(opt.param_groups[0]["lr"])
        assert any("epoch parameter" in str(w.message) for w in caught)
        out.append((lrs, sched.last_epoch, sched.get_last_lr()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12, atol=1e-15)
    assert out[0][1] == out[1][1]
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-12)


def test_step_with_an_epoch_jumps_to_it_as_pytorch():
    each_case(_step_with_an_epoch_jumps_to_it_as_pytorch_case, grid(("name", sorted(SCHEDULES))))


def test_schedules_without_a_closed_form_still_refuse_an_epoch():
    p = cr.nn.Parameter(cr.ones(1))
    opt = cr.optim.SGD([p], lr=1.0)
    sched = cr.optim.lr_scheduler.MultiplicativeLR(opt, lambda e: 0.9)
    opt.step()  # (a scheduler step before the optimizer's would warn first, as PyTorch's)
    with pytest.raises(TypeError, match="no closed form"):
        sched.step(3)
    with pytest.raises(ValueError):
        cr.optim.lr_scheduler.StepLR(opt, 2).step(-1)
