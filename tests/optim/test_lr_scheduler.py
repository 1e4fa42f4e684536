"""Learning-rate schedules: closed forms, state dicts, and parity with torch.optim.lr_scheduler."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as sched

from .._case_loop import each_case, grid


def _opt(lrs=(0.1,)):
    groups = [{"params": [cr.tensor([0.0], requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0])


def _lrs(scheduler, steps):
    """The lr of every group for steps 0 .. steps-1 (the lr in force during each step)."""
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in scheduler.optimizer.param_groups])
        assert out[-1] == scheduler.get_last_lr()
        scheduler.optimizer.step()
        scheduler.step()
    return np.array(out)


def test_step_lr_halves_every_three_epochs():
    got = _lrs(sched.StepLR(_opt(), 3, 0.5), 8)[:, 0]
    np.testing.assert_allclose(got, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rtol=1e-15)


def test_multistep_and_exponential():
    got = _lrs(sched.MultiStepLR(_opt(), [4, 2, 4], gamma=0.5), 6)[:, 0]
    np.testing.assert_allclose(got, [0.1, 0.1, 0.05, 0.05, 0.0125, 0.0125], rtol=1e-15)
    got = _lrs(sched.MultiStepLR(_opt(), [0, 2], gamma=0.5), 3)[:, 0]  # step 0 decays too
    np.testing.assert_allclose(got, [0.05, 0.05, 0.025], rtol=1e-15)
    got = _lrs(sched.ExponentialLR(_opt(), 0.9), 4)[:, 0]
    np.testing.assert_allclose(got, 0.1 * 0.9 ** np.arange(4), rtol=1e-15)


def test_cosine_annealing_closed_form():
    got = _lrs(sched.CosineAnnealingLR(_opt(), T_max=10, eta_min=0.01), 11)[:, 0]
    t = np.arange(11)
    np.testing.assert_allclose(got, 0.01 + 0.09 * (1 + np.cos(np.pi * t / 10)) / 2, rtol=1e-14)
    assert got[0] == 0.1 and got[-1] == pytest.approx(0.01)


def test_warmup_cosine_shape():
    got = _lrs(sched.WarmupCosine(_opt(), warmup_steps=4, total_steps=12, min_lr=0.01), 15)[:, 0]
    np.testing.assert_allclose(got[:4], [0.025, 0.05, 0.075, 0.1], rtol=1e-15)
    assert got[4] == 0.1
    assert np.all(np.diff(got[4:13]) < 0)
    np.testing.assert_allclose(got[8], 0.01 + 0.09 / 2, rtol=1e-14)
    np.testing.assert_allclose(got[12:], 0.01, rtol=1e-14)


def test_warmup_cosine_without_warmup_is_cosine_annealing():
    a = _lrs(sched.WarmupCosine(_opt(), 0, 10), 11)
    b = _lrs(sched.CosineAnnealingLR(_opt(), 10), 11)
    np.testing.assert_allclose(a, b, rtol=1e-15, atol=1e-18)


def test_lambda_lr_per_group():
    opt = _opt((0.1, 1.0))
    got = _lrs(sched.LambdaLR(opt, [lambda t: 1 / (t + 1), lambda t: 0.5**t]), 3)
    np.testing.assert_allclose(got, [[0.1, 1.0], [0.05, 0.5], [0.1 / 3, 0.25]], rtol=1e-15)


def test_groups_keep_their_ratio_and_initial_lr():
    opt = _opt((0.1, 0.02))
    s = sched.StepLR(opt, 1, 0.5)
    _lrs(s, 3)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert s.get_last_lr() == pytest.approx([0.0125, 0.0025])


@pytest.mark.kernel_free
def test_reduce_on_plateau_patience_cooldown_and_min_lr():
    opt = _opt()
    s = sched.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.03)
    seen = []
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        s.step(cr.tensor(metric))
        seen.append(opt.param_groups[0]["lr"])
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03])
    assert s.get_last_lr() == [0.03]


@pytest.mark.kernel_free
@pytest.mark.parametrize(("mode", "threshold_mode", "metrics", "expected_bad"), [
    ("min", "rel", [1.0, 0.99995], 1),   # within the relative threshold: not an improvement
    ("min", "abs", [1.0, 0.5], 0),
    ("max", "rel", [1.0, 1.00005], 1),
    ("max", "abs", [1.0, 0.9], 1),
])
def test_reduce_on_plateau_improvement_rule(mode, threshold_mode, metrics, expected_bad):
    s = sched.ReduceLROnPlateau(_opt(), mode=mode, threshold_mode=threshold_mode, threshold=1e-4)
    for m in metrics:
        s.step(m)
    assert s.num_bad_epochs == expected_bad


def test_resume_from_state_dict():
    opt = _opt((0.1, 0.3))
    s = sched.CosineAnnealingLR(opt, T_max=20, eta_min=0.001)
    _lrs(s, 5)
    saved_opt, saved = opt.state_dict(), s.state_dict()
    rest = _lrs(s, 6)

    opt2 = _opt((0.5, 0.5))
    opt2.load_state_dict(saved_opt)
    s2 = sched.CosineAnnealingLR(opt2, T_max=20, eta_min=0.001, last_epoch=4)
    s2.load_state_dict(saved)
    np.testing.assert_array_equal(_lrs(s2, 6), rest)


@pytest.mark.kernel_free
def test_scheduler_state_dict_roundtrip_for_plateau():
    s = sched.ReduceLROnPlateau(_opt(), patience=0)
    for m in [1.0, 2.0, 3.0]:
        s.step(m)
    saved = s.state_dict()
    assert "optimizer" not in saved
    s2 = sched.ReduceLROnPlateau(_opt(), patience=0)
    s2.load_state_dict(saved)
    assert (s2.best, s2.num_bad_epochs, s2.last_epoch) == (1.0, 0, 3)
    with pytest.raises(ValueError, match="unexpected keys"):
        sched.StepLR(_opt(), 2).load_state_dict(saved)


_INVALID_ARGUMENTS = [
    (lambda o: sched.StepLR(o, 0), ValueError, "StepLR: step_size must be an int >= 1, got 0"),
    (lambda o: sched.StepLR(o, 2, gamma=-0.5), ValueError, "StepLR: gamma must be a number >= 0"),
    (lambda o: sched.StepLR("opt", 2), TypeError, "optimizer must be a chainrule Optimizer"),
    (lambda o: sched.MultiStepLR(o, [2, -1]), ValueError, r"milestones\[1\] must be an int >= 0"),
    (lambda o: sched.CosineAnnealingLR(o, 0), ValueError, "T_max must be a number >= 1"),
    (lambda o: sched.WarmupCosine(o, 5, 5), ValueError,
     r"total_steps must be an int >= 6 \(more than warmup_steps=5\), got 5"),
    (lambda o: sched.LambdaLR(o, [abs, abs]), ValueError, "expected 1 lr_lambdas"),
    (lambda o: sched.LambdaLR(o, 0.5), TypeError, r"lr_lambda\[0\] must be callable"),
    (lambda o: sched.ExponentialLR(o, 0.9, last_epoch=3), ValueError, "has no 'initial_lr'"),
    (lambda o: sched.ReduceLROnPlateau(o, mode="best"), ValueError, "mode must be 'min' or 'max'"),
    (lambda o: sched.ReduceLROnPlateau(o, factor=1.0), ValueError,
     r"factor must be a number in \[0, 1\), got 1.0"),
    (lambda o: sched.ReduceLROnPlateau(o, min_lr=[0.0, 0.1]), ValueError, "expected 1 min_lr"),
    (lambda o: sched.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold_mode"),
]


def _invalid_arguments_case(make, error, match):
    with pytest.raises(error, match=match):
        make(_opt())


@pytest.mark.kernel_free
def test_invalid_arguments():
    each_case(_invalid_arguments_case, grid((("make", "error", "match"), _INVALID_ARGUMENTS)))


def test_adding_a_group_after_the_scheduler_is_reported():
    opt = _opt()
    s = sched.StepLR(opt, 2)
    opt.add_param_group({"params": [cr.tensor([1.0], requires_grad=True)]})
    opt.step()  # (a scheduler step before the optimizer's would warn first, as PyTorch's)
    with pytest.raises(RuntimeError, match="has 2 parameter groups but had 1"):
        s.step()


def _torch_lrs(torch, make, lrs, steps, metrics=None):
    params = [torch.zeros(1, requires_grad=True) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs, strict=True)])
    s = make(torch.optim.lr_scheduler, opt)
    out = []
    for t in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        s.step() if metrics is None else s.step(metrics[t])
    return np.array(out)


def _our_lrs(make, lrs, steps, metrics=None):
    opt = _opt(lrs)
    s = make(sched, opt)
    out = []
    for t in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        s.step() if metrics is None else s.step(metrics[t])
    return np.array(out)


PARITY = {
    "StepLR": lambda m, o: m.StepLR(o, 3, 0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, [2, 5, 5, 9], 0.3),
    # a milestone at 0 (twice) decays at construction already, as in PyTorch
    "MultiStepLR-0": lambda m, o: m.MultiStepLR(o, [0, 3, 0], 0.5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.87),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, 7, 0.001),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda t: 1.0 / math.sqrt(t + 1)),
}


def _schedules_match_torch_case(name):
    torch = pytest.importorskip("torch")
    steps = 25  # past T_max for the cosine, which then rises again in both
    ours = _our_lrs(PARITY[name], (0.1, 0.02), steps)
    theirs = _torch_lrs(torch, PARITY[name], (0.1, 0.02), steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-17)


@pytest.mark.torch
def test_schedules_match_torch():
    each_case(_schedules_match_torch_case, grid(("name", list(PARITY))))


@pytest.mark.torch
def test_warmup_cosine_matches_torch_linear_then_cosine():
    torch = pytest.importorskip("torch")
    w, total = 4, 15

    def torch_make(m, o):
        return m.SequentialLR(o, [m.LinearLR(o, 1 / w, 1.0, w - 1),
                                  m.CosineAnnealingLR(o, total - w, 0.005)], [w])

    ours = _our_lrs(lambda m, o: m.WarmupCosine(o, w, total, 0.005), (0.1, 0.02), total + 1)
    theirs = _torch_lrs(torch, torch_make, (0.1, 0.02), total + 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"factor": 0.5, "patience": 2},
    {"mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.05, "threshold_mode": "abs",
     "cooldown": 2, "min_lr": [0.005, 0.004]},
])
def test_reduce_on_plateau_matches_torch(rng, kwargs):
    torch = pytest.importorskip("torch")
    metrics = list(np.round(rng.uniform(0.0, 1.0, 40), 2))

    def make(m, o):
        return m.ReduceLROnPlateau(o, **kwargs)

    ours = _our_lrs(make, (0.1, 0.02), 40, metrics)
    theirs = _torch_lrs(torch, make, (0.1, 0.02), 40, metrics)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)
    assert len(np.unique(ours[:, 0])) > 2  # the test did see several reductions


CHAINS = {
    "LinearLR": lambda m, o: m.LinearLR(o, 0.25, 0.9, 6),
    "linear then cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, total_iters=4), m.CosineAnnealingLR(o, 12, 0.001)], [4]),
    "lambda, step, exponential": lambda m, o: m.SequentialLR(
        o, [m.LambdaLR(o, lambda t: (t + 1) / 3), m.StepLR(o, 2, 0.5), m.ExponentialLR(o, 0.9)],
        [3, 9]),
    "warm-up then cosine, both made on the optimizer": lambda m, o: _warmup_then_cosine(m, o),
}


def _warmup_then_cosine(m, o):
    """A LambdaLR warm-up stepped for 3 steps, then a CosineAnnealingLR made before it ran."""
    warmup = m.LambdaLR(o, lambda t: min(1.0, (t + 1) / 3))
    cosine = m.CosineAnnealingLR(o, 10, 0.002)

    class Switch:
        t = 0

        def step(self):
            (warmup if self.t < 3 else cosine).step()
            self.t += 1

    return Switch()


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CHAINS))
def test_linear_and_sequential_schedules_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = _our_lrs(CHAINS[name], (0.1, 0.02), 20)
    theirs = _torch_lrs(torch, CHAINS[name], (0.1, 0.02), 20)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-17)


def test_sequential_state_dict_resumes_and_bad_arguments():
    opt = _opt()
    make = CHAINS["linear then cosine"]
    first = make(sched, opt)
    for _ in range(6):
        opt.step()
        first.step()
    state, opt_state = first.state_dict(), opt.state_dict()
    expected = [first.get_last_lr()]
    for _ in range(3):
        first.step()
        expected.append(first.get_last_lr())
    opt2 = _opt()
    second = make(sched, opt2)
    opt2.load_state_dict(opt_state)  # the optimizer's lr too: PyTorch's steps go on from it
    second.load_state_dict(state)
    got = [second.get_last_lr()]
    for _ in range(3):
        second.step()
        got.append(second.get_last_lr())
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="expected 1 increasing milestones"):
        sched.SequentialLR(opt, [sched.LinearLR(opt), sched.StepLR(opt, 2)], [3, 4])
    with pytest.raises(ValueError, match=r"start_factor must be in \(0, 1\], got 0"):
        sched.LinearLR(opt, start_factor=0)


RESTARTS_AND_CYCLES = {
    "warm restarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, 1, 0.001),
    "warm restarts, T_mult 2": lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, 2),
    "one cycle": lambda m, o: m.OneCycleLR(o, [0.5, 0.1], total_steps=19),
    "one cycle, linear, three phases": lambda m, o: m.OneCycleLR(
        o, 0.3, epochs=4, steps_per_epoch=5, anneal_strategy="linear", three_phase=True,
        pct_start=0.25),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(RESTARTS_AND_CYCLES))
def test_restarts_and_one_cycle_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = _our_lrs(RESTARTS_AND_CYCLES[name], (0.1, 0.02), 19)
    theirs = _torch_lrs(torch, RESTARTS_AND_CYCLES[name], (0.1, 0.02), 19)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-17)


@pytest.mark.torch
@pytest.mark.parametrize("t_mult", [1, 2, 3])
def test_warm_restarts_step_to_a_fractional_epoch_as_torch(t_mult):
    # step(epoch), PyTorch's per-batch form, was a TypeError (found by the fifth fuzz wave);
    # plain steps after it go on from the epoch, fraction kept.
    torch = pytest.importorskip("torch")
    calls = [None, 0.25, 0.5, 1.75, None, 3, None, 7.5, None, None, 2.0, 12.125, 30.5, None, 4]
    seen = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        s = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 2, t_mult, 0.001)
        lrs = []
        for epoch in calls:
            opt.step()
            s.step() if epoch is None else s.step(epoch)
            lrs.append((opt.param_groups[0]["lr"], s.get_last_lr()[0], s.last_epoch))
        seen.append(lrs)
    np.testing.assert_allclose(seen[0], seen[1], rtol=1e-12, atol=1e-17)
    with pytest.raises(ValueError, match="epoch must be a number >= 0, got -1"):
        s_ours = sched.CosineAnnealingWarmRestarts(
            optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1), 2)
        s_ours.step(-1)
    # closed-form schedules take step(epoch) too (tests/optim/test_lr_step_epoch.py); one
    # without a closed form still refuses it
    opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1)
    s_ours = sched.MultiplicativeLR(opt, lambda e: 0.5)
    opt.step()  # else the step before the optimizer's warns first, as PyTorch's
    with pytest.raises(TypeError, match=r"MultiplicativeLR.step: epoch=3 is not taken"):
        s_ours.step(3)


@pytest.mark.torch
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_one_cycle_moves_the_momentum_as_torch_does(optimizer):
    torch = pytest.importorskip("torch")
    seen = {}
    for lib in (cr, torch):
        p = lib.zeros(1, requires_grad=True)
        opt = (lib.optim.SGD([p], lr=0.1, momentum=0.9) if optimizer == "SGD"
               else lib.optim.Adam([p], lr=0.1))
        s = lib.optim.lr_scheduler.OneCycleLR(opt, 0.4, total_steps=10)
        key = "momentum" if optimizer == "SGD" else "betas"
        values = []
        for _ in range(10):
            g = opt.param_groups[0]
            values.append((g["lr"], g[key] if key == "momentum" else g[key][0]))
            opt.step()
            s.step()
        seen[lib.__name__] = values
    np.testing.assert_allclose(seen["chainrule"], seen["torch"], rtol=1e-12)
    with pytest.raises(ValueError, match="tried to step 11 times"):
        s2 = sched.OneCycleLR(_opt(), 0.1, total_steps=10, cycle_momentum=False)
        for _ in range(11):
            s2.optimizer.step()
            s2.step()
