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

from ._case_loop import each_case, grid

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


def _resume_by_last_epoch_as_pytorchs_case(name, steps, offset):
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


def test_resume_by_last_epoch_as_pytorchs():
    each_case(_resume_by_last_epoch_as_pytorchs_case, grid(
        ("offset", [-1, 0]),
        ("steps", [1, 2, 3, 5, 6]),
        ("name", list(RESUMED)),
    ))


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


# --- lr given as a Tensor ---------------------------------------------------------------------

RULES = {"SGD": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True),
         "Adam": dict(lr=0.1, amsgrad=True, maximize=True, weight_decay=0.1),
         "AdamW": dict(lr=0.1, amsgrad=True, weight_decay=0.1),
         "Adadelta": dict(lr=1.0, weight_decay=0.1, maximize=True),
         "Adagrad": dict(lr=0.1, lr_decay=0.01, weight_decay=0.1),
         "Adamax": dict(lr=0.1, weight_decay=0.1, maximize=True),
         "ASGD": dict(lr=0.1, t0=3, weight_decay=0.1),
         "NAdam": dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True),
         "RAdam": dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True),
         "RMSprop": dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1),
         "Rprop": dict(lr=0.1, maximize=True)}


def _trajectory(lib, name, kwargs, dtype, steps=30):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    if dtype == "complex128":
        a = a + 1j * rng.standard_normal((3, 4))
    p = lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True)
    q = lib.tensor(rng.standard_normal(5), dtype=lib.float64, requires_grad=True)
    w, b = lib.tensor(np.linspace(0.5, 2, 12).reshape(3, 4)), lib.tensor(np.linspace(-1, 1, 5))
    opt = getattr(lib.optim, name)([p, q], **kwargs)
    out = []
    for t in range(steps):
        opt.zero_grad()
        ((p.abs() ** 2 * w).sum() + (q * b).sum() + 0.1 * (q ** 2).sum()).backward()
        if t % 7 == 3:
            q.grad = None  # skipped this step
        opt.step()
        out.append(np.concatenate([p.detach().numpy().ravel(), q.detach().numpy()]))
    return np.array(out), opt


@pytest.mark.parametrize("name", list(RULES))
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_lr_as_a_tensor_as_pytorchs(name, dtype):
    """PyTorch's optimizers take the lr as a one-element float Tensor (torch.compile recipes
    pass one, for schedules to change without recompiling); chainrule's refused it ('lr must be
    a number >= 0, got tensor(0.1000)'). The trajectory equals the float lr's and PyTorch's."""
    kwargs = dict(RULES[name])
    got = {}
    for lib in (cr, torch):
        tensor_lr = {**kwargs, "lr": lib.tensor(kwargs["lr"], dtype=lib.float64)}
        got[lib], opt = _trajectory(lib, name, tensor_lr, dtype)
        assert isinstance(opt.param_groups[0]["lr"], lib.Tensor)
    plain, _ = _trajectory(cr, name, kwargs, dtype)
    np.testing.assert_allclose(got[cr], plain, rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[cr], got[torch], rtol=1e-9, atol=1e-12)  # NAdam's float32 mu


def test_lr_tensor_of_more_than_one_element_refused():
    for lib, error in ((torch, ValueError), (cr, ValueError)):
        with pytest.raises(error, match="lr"):
            lib.optim.Adam([lib.zeros(2, requires_grad=True)], lr=lib.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"SGD: lr as a Tensor must have one float element, got "
                                         r"shape \(2,\)"):
        cr.optim.SGD([cr.zeros(2, requires_grad=True)], lr=cr.tensor([0.1, 0.2]))


SCHEDULES = {
    "exponential": lambda S, o: S.ExponentialLR(o, 0.9),
    "step and exponential": lambda S, o: (S.ExponentialLR(o, 0.9), S.StepLR(o, 3, 0.5)),
    "cosine": lambda S, o: S.CosineAnnealingLR(o, 8, 0.01),
    "lambda": lambda S, o: S.LambdaLR(o, lambda e: 0.9 ** e),
    "warm restarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, 3, 2),
    "one cycle": lambda S, o: S.OneCycleLR(o, 0.5, total_steps=30),
    "cyclic": lambda S, o: S.CyclicLR(o, 0.01, 0.1, 3),
    "plateau": lambda S, o: S.ReduceLROnPlateau(o, patience=0),
    "sequential": lambda S, o: S.SequentialLR(o, [S.LinearLR(o, 0.2, total_iters=3),
                                                  S.ExponentialLR(o, 0.9)], [3]),
    "chained": lambda S, o: S.ChainedScheduler([S.LinearLR(o, 0.2, total_iters=3),
                                               S.ExponentialLR(o, 0.9)]),
    "multiplicative": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.9),
    "polynomial": lambda S, o: S.PolynomialLR(o, 10, 2.0),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_fill_a_tensor_lr_in_place_as_pytorchs(name):
    """A schedule over a Tensor lr fills that Tensor with each step's lr, as PyTorch's do (a
    program holding it, or a compiled step reading it, sees the schedule); the group keeps it."""
    out = []
    for lib in (cr, torch):
        lr = lib.tensor(0.1, dtype=lib.float64)
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=lr, momentum=0.9)
        made = SCHEDULES[name](lib.optim.lr_scheduler, opt)
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(25):
                opt.step()
                for s in made if isinstance(made, tuple) else (made,):
                    s.step(1.0) if name == "plateau" else s.step()
                assert opt.param_groups[0]["lr"] is lr
                rows.append([float(lr), float(s.get_last_lr()[0])])
        out.append(rows)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


# --- implementation flags kept in the groups -----------------------------------------------------

FLAG_CASES = [("SGD", dict(foreach=True)), ("Adam", dict(fused=True)), ("AdamW", {}),
              ("Adadelta", dict(capturable=False)), ("Adagrad", dict(fused=False)),
              ("Adamax", dict(foreach=False)), ("ASGD", {}), ("NAdam", dict(foreach=True)),
              ("RAdam", {}), ("RMSprop", dict(foreach=True)), ("Rprop", {}),
              ("Adafactor", dict(foreach=False)), ("SparseAdam", {}), ("LBFGS", {})]


def _implementation_flags_kept_in_param_groups_as_pytorchs_case(name, flags):
    """PyTorch keeps foreach, fused, capturable and differentiable (those each optimizer takes)
    in every param group, its repr and its state dicts; chainrule's took them and dropped
    them, so its groups' keys and repr differed (foreach=True read back as missing)."""
    groups = []
    for lib in (cr, torch):
        a, b = (lib.zeros(2, requires_grad=True) for _ in range(2))
        opt = getattr(lib.optim, name)([a], lr=0.1, **flags)
        opt.add_param_group({"params": [b], "lr": 0.01})
        groups.append([{k: v for k, v in g.items() if k != "params"}
                       for g in opt.state_dict()["param_groups"]])
    for ours, theirs in zip(*groups, strict=True):
        assert sorted(ours) == sorted(theirs)
        for k in ("foreach", "fused", "capturable", "differentiable"):
            assert ours.get(k, "absent") == theirs.get(k, "absent"), k


def test_implementation_flags_kept_in_param_groups_as_pytorchs():
    each_case(_implementation_flags_kept_in_param_groups_as_pytorchs_case, grid(
        (("name", "flags"), FLAG_CASES, [c[0] for c in FLAG_CASES]),
    ))


def test_checkpoint_checks_take_a_flag_saved_otherwise():
    """A checkpoint whose optimizer was made with foreach=None resumes into one made with
    foreach=True (the flags are the implementation's, not the run's); a flag that is neither
    None nor a bool is refused, naming the field."""
    from chainrule.io.state_checks import check_training_state

    def opt(**kw):
        return cr.optim.Adam([cr.zeros(2, requires_grad=True)], lr=0.1, **kw)

    saved = {"epoch": 3, "optimizer": opt().state_dict()}
    check_training_state("load", "run.ckpt", saved, optimizer=opt(foreach=True, fused=False))
    saved["optimizer"]["param_groups"][0]["foreach"] = "yes"
    with pytest.raises(ValueError, match=r"param_groups\[0\]\.foreach"):
        check_training_state("load", "run.ckpt", saved, optimizer=opt())


@pytest.mark.parametrize("kwargs", [dict(lr=0), dict(lr=0.0), dict(eps=0.0)])
def test_sparse_adam_refuses_zero_lr_and_eps_as_pytorchs(kwargs):
    """PyTorch's SparseAdam refuses lr=0 and eps=0 (its check is 0 < value); chainrule's took
    them (an lr of 0 never moves the weights, silently)."""
    with pytest.raises(ValueError):
        torch.optim.SparseAdam([torch.zeros(2, requires_grad=True)], **kwargs)
    key = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"SparseAdam: {key} must be a number > 0, got 0"):
        cr.optim.SparseAdam([cr.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=r"\(param group 1\)"):
        opt = cr.optim.SparseAdam([cr.zeros(2, requires_grad=True)])
        opt.add_param_group({"params": [cr.zeros(2, requires_grad=True)], **kwargs})
