"""PyTorch's warning of a ``scheduler.step()`` taken before ``optimizer.step()``
(optim/_step_order): the same warnings, in the same cases, as torch 2.13's schedules."""

import copy
import warnings

import pytest

import chainrule as cr
from chainrule.optim import lr_scheduler as crs

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

MAKERS = {
    "StepLR": lambda m, o: m.StepLR(o, 2),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda t: 0.5 ** t),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, 1.0, total_steps=10),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 3),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.5, total_iters=2), m.ExponentialLR(o, 0.9)], milestones=[2]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.StepLR(o, 2), m.ExponentialLR(o, 0.9)]),
    "ReduceLROnPlateau": lambda m, o: m.ReduceLROnPlateau(o),
}


def _run(lib, make, order):
    """The warnings (messages) and lrs of the steps in ``order``: o the optimizer's, s the
    scheduler's."""
    t = torch if lib is torch else cr
    p = t.nn.Parameter(t.ones(2))
    opt = (torch.optim if lib is torch else cr.optim).SGD([p], lr=0.1)
    sched = make(lib.optim.lr_scheduler if lib is torch else crs, opt)
    plateau = "Plateau" in type(sched).__name__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for c in order:
            if c == "o":
                p.grad = t.ones(2)
                opt.step()
            else:
                sched.step(1.0) if plateau else sched.step()
    lrs = [float(g["lr"]) for g in opt.param_groups]
    return [(w.category, str(w.message)) for w in caught], lrs


def _the_warnings_are_pytorchs_case(name, order):
    want = _run(torch, MAKERS[name], order)
    got = _run(cr, MAKERS[name], order)
    assert got[0] == want[0]
    assert got[1] == pytest.approx(want[1], rel=1e-12)


def test_the_warnings_are_pytorchs():
    each_case(_the_warnings_are_pytorchs_case, grid(
        ("order", ["s", "os", "so", "sss", "ssos", "osss", "oso"]),
        ("name", sorted(MAKERS)),
    ))


@pytest.mark.kernel_free
def test_the_warning_text_and_that_it_comes_once():
    p = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([p], lr=0.1)
    sched = crs.StepLR(opt, 1)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before "
                      r"`optimizer.step\(\)`"):
        sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # once per scheduler, as PyTorch's


def test_no_warning_once_the_optimizer_stepped_and_hooks_still_run():
    p = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([p], lr=0.1)
    sched = crs.ExponentialLR(opt, 0.5)
    seen = []
    opt.register_step_pre_hook(lambda *a: seen.append("pre"))  # registered after the scheduler
    p.grad = cr.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    assert seen == ["pre"] and opt._opt_called
    assert copy.deepcopy(opt).step.__self__ is not opt  # a copy's step is its own


@pytest.mark.kernel_free
def test_a_step_replaced_after_the_scheduler_warns_as_pytorch():
    messages = []
    for lib, t in ((torch, torch), (cr, cr)):
        p = t.nn.Parameter(t.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        sched = (torch.optim.lr_scheduler if lib is torch else crs).StepLR(opt, 1)
        opt.step = lambda *a, **k: None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sched.step()
        messages.append([str(w.message) for w in caught])
    assert messages[0] == messages[1] and "overridden" in messages[1][0]
