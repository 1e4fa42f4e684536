"""Fuzz wave 12: chainrule.optim.lr_scheduler against torch.optim.lr_scheduler 2.13: random
schedulers and arguments (alone, in SequentialLR, in ChainedScheduler), SGD or Adam with up to
three param groups, get_last_lr(), each group's lr and momentum (CyclicLR's and OneCycleLR's
momentum cycling, Adam's beta1) after every step, the errors past OneCycleLR's total_steps,
ReduceLROnPlateau on random metrics, a state_dict()/load_state_dict() into fresh objects mid-run;
CosineAnnealingWarmRestarts stepped to fractional epochs in any order.

Chainrule refuses some arguments PyTorch takes and misbehaves on (step_size=0, T_max=0,
gamma < 0...): only valid arguments are drawn here.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

LAMBDAS = [lambda e: 0.95 ** e, lambda e: 1.0 / (1 + e), lambda e: 0.5 if e % 3 else 1.0]
MULTIPLIERS = [lambda e: 0.9, lambda e: 0.95 if e < 4 else 1.0]
SIMPLE = ["StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR", "MultiplicativeLR",
          "PolynomialLR"]
SEQUENTIAL = SIMPLE + ["CosineAnnealingLR", "LambdaLR", "CosineWR"]
ALL = SEQUENTIAL + ["CyclicLR", "OneCycleLR", "Plateau"]


def _pick(r, *values):
    return values[int(r.integers(len(values)))]


def _per_group(r, value, ng):
    return _pick(r, value, [value * (i + 1) for i in range(ng)])


def _spec(r, ng, kinds):  # noqa: C901 - one branch per scheduler
    k = _pick(r, *kinds)
    if k == "StepLR":
        return k, dict(step_size=int(r.integers(1, 5)), gamma=_pick(r, 0.5, 0.1, 0.9))
    if k == "MultiStepLR":  # repeated milestones multiply gamma in
        ms = sorted(int(x) for x in r.integers(1, 12, 3))
        return k, dict(milestones=ms, gamma=_pick(r, 0.5, 0.1))
    if k == "ExponentialLR":
        return k, dict(gamma=_pick(r, 0.9, 0.5, 1.1))
    if k == "CosineAnnealingLR":
        return k, dict(T_max=int(r.integers(1, 8)), eta_min=_pick(r, 0.0, 1e-3))
    if k == "CosineWR":
        return "CosineAnnealingWarmRestarts", dict(T_0=int(r.integers(1, 5)),
                                                   T_mult=_pick(r, 1, 2, 3),
                                                   eta_min=_pick(r, 0.0, 1e-3))
    if k == "CyclicLR":
        kw = dict(base_lr=_per_group(r, 0.01, ng), max_lr=_per_group(r, 0.1, ng),
                  step_size_up=int(r.integers(1, 5)),
                  mode=_pick(r, "triangular", "triangular2", "exp_range"),
                  gamma=_pick(r, 0.9, 0.99), cycle_momentum=bool(_pick(r, 0, 1)),
                  base_momentum=_pick(r, 0.8, 0.7), max_momentum=_pick(r, 0.9, 0.95))
        if _pick(r, 0, 1):
            kw["step_size_down"] = int(r.integers(1, 5))
        if _pick(r, 0, 1):
            kw["scale_mode"] = _pick(r, "cycle", "iterations")
        return k, kw
    if k == "OneCycleLR":
        return k, dict(max_lr=_per_group(r, 0.1, ng), total_steps=int(r.integers(5, 20)),
                       pct_start=_pick(r, 0.3, 0.5, 0.25),
                       anneal_strategy=_pick(r, "cos", "linear"),
                       three_phase=bool(_pick(r, 0, 1)), cycle_momentum=bool(_pick(r, 0, 1)),
                       div_factor=_pick(r, 25.0, 10.0), final_div_factor=_pick(r, 1e4, 100.0),
                       base_momentum=_pick(r, 0.85, 0.8), max_momentum=_pick(r, 0.95, 0.9))
    if k == "Plateau":
        return "ReduceLROnPlateau", dict(
            mode=_pick(r, "min", "max"), factor=_pick(r, 0.1, 0.5),
            patience=int(r.integers(0, 3)), threshold=_pick(r, 1e-4, 0.1),
            threshold_mode=_pick(r, "rel", "abs"), cooldown=int(r.integers(0, 3)),
            min_lr=_pick(r, 0.0, 1e-3, [1e-3 * (i + 1) for i in range(ng)]),
            eps=_pick(r, 1e-8, 1e-2))
    if k == "PolynomialLR":
        return k, dict(total_iters=int(r.integers(1, 8)), power=_pick(r, 1.0, 2.0, 0.5))
    if k == "LinearLR":
        return k, dict(start_factor=_pick(r, 0.25, 1 / 3), end_factor=_pick(r, 1.0, 0.5),
                       total_iters=int(r.integers(1, 6)))
    if k == "ConstantLR":
        return k, dict(factor=_pick(r, 0.5, 1 / 3), total_iters=int(r.integers(1, 6)))
    if k == "LambdaLR":
        return k, dict(lr_lambda=_pick(r, _pick(r, *LAMBDAS), [LAMBDAS[i % 3] for i in range(ng)]))
    return "MultiplicativeLR", dict(lr_lambda=_pick(r, *MULTIPLIERS))


def _plan(seed):
    r = np.random.default_rng(seed)
    ng = int(r.integers(1, 4))
    mode = _pick(r, "single", "single", "sequential", "chained")
    if mode == "single":
        specs, milestones = [_spec(r, ng, ALL)], None
    elif mode == "sequential":
        milestones = sorted(set(int(x) for x in r.integers(1, 10, int(r.integers(1, 3)))))
        specs = [_spec(r, ng, SEQUENTIAL) for _ in range(len(milestones) + 1)]
    else:
        specs, milestones = [_spec(r, ng, SIMPLE) for _ in range(int(r.integers(2, 4)))], None
    steps = int(r.integers(5, 25))
    return dict(ng=ng, lrs=[_pick(r, 0.1, 0.05, 1.0) for _ in range(ng)],
                momenta=[_pick(r, 0.9, 0.5) for _ in range(ng)], adam=bool(_pick(r, 0, 1)),
                mode=mode, specs=specs, milestones=milestones, steps=steps,
                reload=int(r.integers(1, steps)) if _pick(r, 0, 1) else -1,
                metrics=[float(x) for x in np.round(r.standard_normal(steps), 1)])


def _create(lib, plan):
    ps = [lib.zeros(2, requires_grad=True) for _ in range(plan["ng"])]
    if plan["adam"]:
        opt = lib.optim.Adam([{"params": [p], "lr": lr, "betas": (m, 0.999)}
                              for p, lr, m in zip(ps, plan["lrs"], plan["momenta"])])
    else:
        opt = lib.optim.SGD([{"params": [p], "lr": lr, "momentum": m}
                             for p, lr, m in zip(ps, plan["lrs"], plan["momenta"])])
    sch = lib.optim.lr_scheduler
    made = [getattr(sch, name)(opt, **kw) for name, kw in plan["specs"]]
    if plan["mode"] == "sequential":
        return opt, sch.SequentialLR(opt, made, milestones=plan["milestones"])
    return opt, (sch.ChainedScheduler(made) if plan["mode"] == "chained" else made[0])


def _history(lib, plan):
    opt, s = _create(lib, plan)
    plateau = isinstance(s, lib.optim.lr_scheduler.ReduceLROnPlateau)

    def record(error=None):
        groups = opt.param_groups
        return ([g["lr"] for g in groups], [g["betas"][0] if plan["adam"] else g["momentum"]
                                            for g in groups],
                s.get_last_lr(), error)

    out = [record()]
    for t in range(plan["steps"]):
        if t == plan["reload"]:
            saved, opt_saved = s.state_dict(), opt.state_dict()
            opt, s = _create(lib, plan)
            opt.load_state_dict(opt_saved)
            s.load_state_dict(saved)
        try:
            s.step(plan["metrics"][t]) if plateau else s.step()
        except ValueError as e:  # OneCycleLR past total_steps
            out.append(record(f"ValueError: {'total' in str(e)}"))
            break
        out.append(record())
    return out


@pytest.mark.parametrize("seed", range(160))
def test_schedulers_fuzz_against_pytorch(seed):
    plan = _plan(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation and order warnings
        ours, theirs = _history(cr, plan), _history(torch, plan)
    assert len(ours) == len(theirs), (ours[-1], theirs[-1])
    for t, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for x, y in zip(a[:3], b[:3], strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-15, err_msg=f"step {t}")
        assert a[3] == b[3], t


def _warm_restarts_fractional_epochs_against_pytorch_case(seed):
    """step(epoch) with fractional epochs, forwards, backwards and mixed with plain step()."""
    r = np.random.default_rng(seed)
    kw = dict(T_0=int(r.integers(1, 5)), T_mult=int(r.integers(1, 4)),
              eta_min=_pick(r, 0.0, 1e-3))
    epochs = np.round(np.cumsum(r.random(12) * _pick(r, 0.3, 1.0, 2.5)), 3)
    if r.integers(2):
        epochs = r.permutation(epochs)
    out = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([{"params": [lib.zeros(1, requires_grad=True)], "lr": 0.1 * (i + 1)}
                             for i in range(2)])
        s = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, **kw)
        rows = []
        for i, e in enumerate(epochs):
            s.step() if i % 4 == 3 else s.step(float(e))
            rows.append(s.get_last_lr() + [g["lr"] for g in opt.param_groups] + [s.last_epoch])
        out.append(rows)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-9, atol=1e-15)


def test_warm_restarts_fractional_epochs_against_pytorch():
    each_case(_warm_restarts_fractional_epochs_against_pytorch_case, grid(("seed", range(40))))


class _Decay:
    """A callable-object lr function: PyTorch's state dicts carry its attributes."""

    def __init__(self):
        self.k = 0.9

    def __call__(self, epoch):
        return self.k ** epoch


CROSS = [("StepLR", dict(step_size=2)), ("MultiStepLR", dict(milestones=[2, 5, 5, 6])),
         ("ExponentialLR", dict(gamma=0.5)), ("CosineAnnealingLR", dict(T_max=5)),
         ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=2)), ("LinearLR", {}),
         ("ConstantLR", {}), ("PolynomialLR", dict(total_iters=6)),
         ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, mode="triangular2")),
         ("OneCycleLR", dict(max_lr=0.1, total_steps=12, three_phase=True)),
         ("ReduceLROnPlateau", dict(patience=0)), ("LambdaLR", dict(lr_lambda=_Decay)),
         ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9))]


def _scheduler_state_dicts_load_across_libraries_case(name, kwargs, direction, fractional):
    """A PyTorch scheduler's state_dict() was refused by every chainrule scheduler ('unexpected
    keys _step_count, _is_initial...'); chainrule's CyclicLR and LambdaLR ones made PyTorch's
    raise KeyError, its MultiStepLR one made PyTorch's raise IndexError (milestones a list, not
    PyTorch's Counter) and its CosineAnnealingWarmRestarts one loaded without T_cur and T_i
    (which it lacked as attributes too), so PyTorch went on from the wrong point."""
    if fractional and name != "CosineAnnealingWarmRestarts":
        pytest.skip("fractional epochs: CosineAnnealingWarmRestarts only")
    src, dst = (torch, cr) if direction == "torch->chainrule" else (cr, torch)

    def make(lib):
        opt = lib.optim.SGD([{"params": [lib.zeros(1, requires_grad=True)], "lr": 0.1 * (i + 1),
                              "momentum": 0.9} for i in range(2)])
        kw = {k: (v() if v is _Decay else v) for k, v in kwargs.items()}
        return opt, getattr(lib.optim.lr_scheduler, name)(opt, **kw)

    def step(s, i):
        if name == "ReduceLROnPlateau":
            s.step(1.0)
        else:
            s.step(i * 0.7) if fractional else s.step()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt, s = make(src)
        if name == "LambdaLR":
            s.lr_lambdas[0].k = 0.5  # restored from the state dict, as PyTorch does
        for i in range(4):
            step(s, i)
        opt2, s2 = make(dst)
        for g, h in zip(opt2.param_groups, opt.param_groups, strict=True):
            g.update({k: v for k, v in h.items() if k != "params"})  # the optimizer's state
        s2.load_state_dict(s.state_dict())
        if name == "CosineAnnealingWarmRestarts":
            assert (s2.T_cur, s2.T_i) == pytest.approx((s.T_cur, s.T_i), rel=1e-12)
        for i in range(4, 10):
            step(s, i)
            step(s2, i)
            want = s.get_last_lr() + [g["lr"] for g in opt.param_groups]
            got = s2.get_last_lr() + [g["lr"] for g in opt2.param_groups]
            np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"step {i}")


def test_scheduler_state_dicts_load_across_libraries():
    each_case(_scheduler_state_dicts_load_across_libraries_case, grid(
        ("fractional", [False, True]),
        ("direction", ["torch->chainrule", "chainrule->torch"]),
        (("name", "kwargs"), CROSS, [c[0] for c in CROSS]),
    ))


def _composite_state_dicts_load_across_libraries_case(members, steps, direction, outer):
    """SequentialLR's and ChainedScheduler's state dicts (their members' inside) across the
    libraries, before and after the milestone; a CosineAnnealingWarmRestarts member not started
    yet has PyTorch's T_cur of 0."""
    if outer == "ChainedScheduler" and "cos" in members:
        pytest.skip("CosineAnnealingWarmRestarts is not chainable in PyTorch")
    src, dst = (torch, cr) if direction == "torch->chainrule" else (cr, torch)

    def make(lib):
        opt = lib.optim.SGD([{"params": [lib.zeros(1, requires_grad=True)], "lr": 0.1 * (i + 1)}
                             for i in range(2)])
        s = lib.optim.lr_scheduler
        kinds = {"lin": lambda: s.LinearLR(opt, 0.25, total_iters=3),
                 "ms": lambda: s.MultiStepLR(opt, [2, 4, 4]),
                 "cos": lambda: s.CosineAnnealingWarmRestarts(opt, 2, 2),
                 "exp": lambda: s.ExponentialLR(opt, 0.9)}
        made = [kinds[m]() for m in members]
        if outer == "SequentialLR":
            return opt, s.SequentialLR(opt, made, milestones=[3])
        return opt, s.ChainedScheduler(made)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt, s = make(src)
        for _ in range(steps):
            s.step()
        opt2, s2 = make(dst)
        for g, h in zip(opt2.param_groups, opt.param_groups, strict=True):
            g.update({k: v for k, v in h.items() if k != "params"})
        s2.load_state_dict(s.state_dict())
        for i in range(6):
            s.step()
            s2.step()
            np.testing.assert_allclose(s2.get_last_lr(), s.get_last_lr(), rtol=1e-9,
                                       err_msg=f"step {i}")


def test_composite_state_dicts_load_across_libraries():
    each_case(_composite_state_dicts_load_across_libraries_case, grid(
        ("outer", ["SequentialLR", "ChainedScheduler"]),
        ("direction", ["torch->chainrule", "chainrule->torch"]),
        ("steps", [2, 4]),
        ("members", [("lin", "ms"), ("lin", "cos"), ("lin", "exp"), ("exp", "cos")]),
    ))
