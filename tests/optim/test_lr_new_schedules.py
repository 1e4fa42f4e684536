"""CyclicLR, PolynomialLR, ConstantLR, MultiplicativeLR and ChainedScheduler against PyTorch's:
learning rates (and cycled momentum / beta1) step by step to 1e-12, resuming from state dicts,
positional order, and errors."""

import inspect
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as sched

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

LRS = (0.1, 0.03)


def _opts(kind="SGD"):
    """The same two-group optimizer in chainrule and in PyTorch."""
    extra = {"momentum": 0.9} if kind == "SGD" else {}
    ours = getattr(optim, kind)(
        [{"params": [cr.tensor([0.0], requires_grad=True)], "lr": lr} for lr in LRS], **extra)
    theirs = getattr(torch.optim, kind)(
        [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in LRS], **extra)
    return ours, theirs


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def _record(make, opt, steps):
    """Build the schedule(s) with ``make(module, opt)`` and record (lrs, momenta) per step."""
    mod = sched if isinstance(opt, optim.Optimizer) else torch.optim.lr_scheduler
    s = make(mod, opt)
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in opt.param_groups] + _momenta(opt))
        np.testing.assert_allclose(s.get_last_lr(), out[-1][:len(LRS)], rtol=1e-12, atol=0)
        opt.step()
        s.step()
    return np.array(out)


def _ln(x):
    return 0.95**x


CASES = {
    "cyclic-triangular": lambda m, o: m.CyclicLR(o, 0.01, [0.2, 0.1], 3),
    "cyclic-triangular2": lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1, 2, 5,
                                                  mode="triangular2"),
    "cyclic-exp_range": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 4, mode="exp_range",
                                                gamma=0.97, base_momentum=0.7),
    "cyclic-scale_fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 3, scale_fn=_ln,
                                               scale_mode="iterations"),
    "cyclic-no-momentum": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 2, cycle_momentum=False),
    "polynomial": lambda m, o: m.PolynomialLR(o, 7, 2.0),
    "polynomial-default": lambda m, o: m.PolynomialLR(o),
    "constant": lambda m, o: m.ConstantLR(o, 0.25, 4),
    "constant-default": lambda m, o: m.ConstantLR(o),
    "constant-zero-iters": lambda m, o: m.ConstantLR(o, 0.5, 0),
    "sequential-cosine-constant-zero-iters": lambda m, o: m.SequentialLR(
        o, [m.CosineAnnealingLR(o, 5), m.ConstantLR(o, 0.4, 0)], milestones=[3]),
    "multiplicative": lambda m, o: m.MultiplicativeLR(o, lambda t: 0.9 + 0.01 * (t % 3)),
    "chained-constant-exp": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, 0.1, 3), m.ExponentialLR(o, 0.9)]),
    "chained-step-linear-poly": lambda m, o: m.ChainedScheduler(
        [m.StepLR(o, 3, 0.5), m.LinearLR(o, 0.2, 1.0, 4), m.PolynomialLR(o, 12, 1.5)]),
    "chained-multistep-cosine": lambda m, o: m.ChainedScheduler(
        [m.MultiStepLR(o, [2, 5, 5]), m.CosineAnnealingLR(o, 4, 0.001)], o),
    # Rounding takes LinearLR's last ratio to end_factor=0 below 0 (PyTorch: lr -1e-18), a
    # negative lr that the optimizer's load_state_dict refused (found by the fifth fuzz wave).
    "chained-multistep-linear-to-zero": lambda m, o: m.ChainedScheduler(
        [m.MultiStepLR(o, [2, 10]), m.LinearLR(o, 1 / 3, 0.0, 5)]),
    "chained-multiplicative-lambda": lambda m, o: m.ChainedScheduler(
        [m.MultiplicativeLR(o, lambda t: 0.8), m.LambdaLR(o, lambda t: 1 / (t + 1)),
         m.ConstantLR(o, 0.5, 2)]),
    "sequential-constant-poly": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, 0.3, 10), m.PolynomialLR(o, 6, 2.0)], milestones=[3]),
    "sequential-multiplicative-cyclic": lambda m, o: m.SequentialLR(
        o, [m.MultiplicativeLR(o, lambda t: 0.9),
            m.CyclicLR(o, 0.01, 0.1, 2, cycle_momentum=False)], milestones=[4]),
}


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("case", list(CASES))
def test_rates_match_torch(case, kind):
    if kind == "Adam" and not case.startswith("cyclic"):
        pytest.skip("momentum cycling is what differs between optimizers")
    ours, theirs = _opts(kind)
    a = _record(CASES[case], ours, 25)
    b = _record(CASES[case], theirs, 25)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    if case == "constant-zero-iters":  # PyTorch keeps the factor for good
        np.testing.assert_array_equal(a[:, 0], 0.5 * LRS[0])
    else:
        assert len(np.unique(a[:, 0])) > 1


@pytest.mark.parametrize("case", list(CASES))
def test_resume_from_state_dicts_equals_uninterrupted_run(case):
    straight = _record(CASES[case], _opts()[0], 21)
    opt = _opts()[0]
    s = CASES[case](sched, opt)
    for _ in range(9):
        opt.step()
        s.step()
    saved_opt, saved_sched = opt.state_dict(), s.state_dict()
    opt2 = _opts()[0]
    s2 = CASES[case](sched, opt2)
    opt2.load_state_dict(saved_opt)
    s2.load_state_dict(saved_sched)
    rest = []
    for _ in range(11):
        opt2.step()
        s2.step()
        rest.append([g["lr"] for g in opt2.param_groups] + _momenta(opt2))
    np.testing.assert_allclose(np.array(rest), straight[9 + 1:], rtol=1e-13, atol=0)


@pytest.mark.parametrize("resume_at", [1, 4, 7])
def test_multiplicative_resumed_by_last_epoch_keeps_the_loaded_lr(resume_at):
    # Constructing MultiplicativeLR(..., last_epoch=t) multiplied the loaded lr by lr_lambda(t + 1)
    # a second time; PyTorch's construction keeps it (found by the fifth fuzz wave).
    def lam(t):
        return 0.9 if t % 2 else 1.05

    straight = _record(lambda m, o: m.MultiplicativeLR(o, lam), _opts()[0], resume_at + 6)
    for mod, (opt, opt2) in ((sched, (_opts()[0], _opts()[0])),
                             (torch.optim.lr_scheduler, (_opts()[1], _opts()[1]))):
        s = mod.MultiplicativeLR(opt, lam)
        for _ in range(resume_at):
            opt.step()
            s.step()
        opt2.load_state_dict(opt.state_dict())
        s2 = mod.MultiplicativeLR(opt2, lam, last_epoch=resume_at - 1)
        rest = []
        for _ in range(6):
            rest.append([g["lr"] for g in opt2.param_groups])
            opt2.step()
            s2.step()
        np.testing.assert_allclose(rest, straight[resume_at:, :len(LRS)], rtol=1e-13, atol=0)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["CyclicLR", "PolynomialLR", "ConstantLR", "MultiplicativeLR",
                                  "ChainedScheduler"])
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(sched, name)).parameters
    theirs = inspect.signature(getattr(torch.optim.lr_scheduler, name)).parameters
    assert list(ours) == list(theirs)
    for key, p in theirs.items():
        assert ours[key].default == p.default, key
        assert ours[key].kind == p.kind, key


def test_cyclic_closed_form_triangular2():
    opt = _opts()[0]
    got = _record(lambda m, o: m.CyclicLR(o, 0.0, 1.0, 2, cycle_momentum=False), opt, 9)[:, 0]
    np.testing.assert_allclose(got, [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5, 0], atol=1e-15)
    got = _record(lambda m, o: m.CyclicLR(o, 0.0, 1.0, 1, mode="triangular2",
                                          cycle_momentum=False), _opts()[0], 7)[:, 0]
    np.testing.assert_allclose(got, [0, 1, 0, 0.5, 0, 0.25, 0], atol=1e-15)


@pytest.mark.kernel_free
def test_scale_fn_is_not_saved_and_chained_members_are():
    opt = _opts()[0]
    s = sched.CyclicLR(opt, 0.01, 0.1, scale_fn=_ln)
    assert s.state_dict()["_scale_fn_custom"] is None  # PyTorch's form: the function unsaved
    chain = sched.ChainedScheduler([sched.ConstantLR(opt), sched.ExponentialLR(opt, 0.5)])
    assert [d["last_epoch"] for d in chain.state_dict()["_schedulers"]] == [0, 0]


def test_polynomial_reaches_zero_and_stays():
    got = _record(lambda m, o: m.PolynomialLR(o, 4, 1.0), _opts()[0], 7)[:, 0]
    np.testing.assert_allclose(got, [0.1, 0.075, 0.05, 0.025, 0, 0, 0], atol=1e-17)


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda o: sched.CyclicLR(o, 0.01, 0.1, mode="triangle"), "mode must be"),
    (lambda o: sched.CyclicLR(o, 0.01, 0.1, scale_mode="epoch", scale_fn=_ln), "scale_mode"),
    (lambda o: sched.CyclicLR(o, [0.01], 0.1), "expected 2 values for base_lr"),
    (lambda o: sched.CyclicLR(o, 0.01, -0.1), "max_lr must be a number >= 0, got -0.1"),
    (lambda o: sched.CyclicLR(o, 0.01, 0.1, base_momentum="0.8"), "base_momentum must be a"),
    (lambda o: sched.CyclicLR(o, 0.01, 0.1, 0), "step_size_up must be > 0"),
    (lambda o: sched.CyclicLR(o, 0.01, 0.1, scale_fn=3), "scale_fn must be callable"),
    (lambda o: sched.PolynomialLR(o, 0), "total_iters must be an int >= 1"),
    (lambda o: sched.ConstantLR(o, 1.5), r"factor must be a number in \[0, 1\], got 1.5"),
    (lambda o: sched.ConstantLR(o, 0.5, -1), "total_iters must be an int >= 0"),
    (lambda o: sched.MultiplicativeLR(o, 0.9), "lr_lambda.0. must be callable"),
    (lambda o: sched.MultiplicativeLR(o, [_ln]), "expected 2 lr_lambdas"),
    (lambda o: sched.ChainedScheduler([]), "at least one scheduler"),
    (lambda o: sched.ChainedScheduler([sched.ReduceLROnPlateau(o)]), "ReduceLROnPlateau"),
    (lambda o: sched.ChainedScheduler([sched.StepLR(o, 2), "x"]), r"schedulers\[1\]"),
    (lambda o: sched.ChainedScheduler([sched.StepLR(o, 2), sched.StepLR(_opts()[0], 2)]),
     "same optimizer"),
    (lambda o: sched.SequentialLR(o, [sched.ChainedScheduler([sched.StepLR(o, 2)]),
                                      sched.StepLR(o, 2)], [3]), "ChainedScheduler cannot be"),
]


def _bad_arguments_are_named_case(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make(_opts()[0])


@pytest.mark.kernel_free
def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid((("make", "match"), _BAD_ARGUMENTS_ARE_NAMED)))


@pytest.mark.kernel_free
def test_cycle_momentum_needs_momentum():
    opt = optim.Adagrad([cr.tensor([0.0], requires_grad=True)])
    with pytest.raises(ValueError, match="Adagrad has no momentum or betas"):
        sched.CyclicLR(opt, 0.01, 0.1)
    assert math.isclose(sched.CyclicLR(opt, 0.01, 0.1, cycle_momentum=False).get_last_lr()[0],
                        0.01)


@pytest.mark.parametrize("base", ["LRScheduler", "_LRScheduler"])
def test_a_custom_pytorch_style_schedule_runs_alike(base):
    def make(m, o):
        class Warmup(getattr(m, base)):
            def __init__(self, optimizer, warmup, last_epoch=-1):
                self.warmup = warmup
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                if self.last_epoch == 0:
                    return [group["lr"] * 0.1 for group in self.optimizer.param_groups]
                scale = min(1.0, (self.last_epoch + 1) / self.warmup)
                return [base * scale for base in self.base_lrs]

        return Warmup(o, 4)

    ours, theirs = _opts()
    np.testing.assert_allclose(_record(make, ours, 8), _record(make, theirs, 8), rtol=1e-15)



def test_multiplicative_lr_started_by_a_sequential_milestone_multiplies_at_once():
    """At a SequentialLR milestone PyTorch starts the next schedule at its step 0 and a
    MultiplicativeLR multiplies there by lr_lambda(0) (only its own first step keeps the lr);
    chainrule kept the lr: [0.1, 0.05, ...] where PyTorch gives [0.05, 0.025, ...]."""
    rates = []
    for lib, opt in zip((sched, torch.optim.lr_scheduler), _opts()):
        steps = [lib.MultiplicativeLR(opt, lambda e: 0.9), lib.MultiplicativeLR(opt, lambda e: 0.5),
                 lib.ConstantLR(opt, factor=0.5, total_iters=2),
                 lib.MultiplicativeLR(opt, lambda e: 0.8)]
        s = lib.SequentialLR(opt, steps, milestones=[1, 3, 4])
        run = []
        for _ in range(7):
            opt.step()
            s.step()
            run.append([g["lr"] for g in opt.param_groups])
        rates.append(run)
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-12)
