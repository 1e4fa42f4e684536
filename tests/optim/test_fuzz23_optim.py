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


def _tensor_betas_run(lib, name, betas, steps=12):
    rng = np.random.default_rng(5)
    p = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    q = lib.tensor(rng.standard_normal(4) + 1j * rng.standard_normal(4), requires_grad=True)
    opt = getattr(lib.optim, name)([p, q], lr=0.05, betas=betas, weight_decay=0.1)
    out = []
    for _ in range(steps):
        p.grad = lib.tensor(rng.standard_normal((3, 2)))
        q.grad = lib.tensor(rng.standard_normal(4) + 1j * rng.standard_normal(4))
        opt.step()
        out.append(np.concatenate([np.ravel(p.detach().tolist()), np.array(q.detach().tolist())]))
    return np.array(out), opt


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam"])
@pytest.mark.parametrize("mixed", [False, True])
def test_tensor_betas_in_adamax_nadam_radam_as_pytorchs(name, mixed):
    """PyTorch's Adamax, NAdam and RAdam take one-element Tensor betas (both, or one beside a
    number); chainrule's refused them ("betas[0] must be a number in [0, 1), got tensor(0.9)").
    The group keeps the Tensors; the steps equal the number betas' steps and PyTorch's (NAdam's:
    to its float32 mu_product's rounding, which PyTorch's Tensor mu changes)."""
    got = {}
    for lib in (cr, torch):
        b1 = lib.tensor(0.8, dtype=lib.float64)
        b2 = 0.99 if mixed else lib.tensor(0.99, dtype=lib.float64)
        got[lib], opt = _tensor_betas_run(lib, name, (b1, b2))
        assert isinstance(opt.param_groups[0]["betas"][0], lib.Tensor)
    plain, _ = _tensor_betas_run(cr, name, (0.8, 0.99))
    np.testing.assert_array_equal(got[cr], plain)
    tol = 1e-8 if name == "NAdam" else 1e-12
    np.testing.assert_allclose(got[cr], got[torch], rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam"])
def test_tensor_betas_refusals_name_the_problem(name):
    """Tensor betas with foreach=True fail inside PyTorch's foreach kernels: refused when made;
    a Tensor of more than one element or complex is refused as PyTorch refuses it, clearly."""
    opt = getattr(cr.optim, name)
    p = cr.zeros(2, requires_grad=True)
    with pytest.raises(
        ValueError, match=f"{name}: betas as Tensors are not supported with foreach=True"
    ):
        opt([p], betas=(cr.tensor(0.9), cr.tensor(0.99)), foreach=True)
    with pytest.raises(
        ValueError,
        match=r"betas\[0\] as a Tensor must have one real element, "
        r"got shape \(2,\)",
    ):
        opt([p], betas=(cr.tensor([0.9, 0.8]), 0.99))
    with pytest.raises(ValueError, match=r"betas\[1\] must be a number in \[0, 1\), got 1.5"):
        opt([p], betas=(0.9, cr.tensor(1.5, dtype=cr.float64)))
    with pytest.raises(ValueError):  # PyTorch's: Invalid beta parameter at index 1
        getattr(torch.optim, name)(
            [torch.zeros(2, requires_grad=True)], betas=(0.9, torch.tensor(1.5))
        )


@pytest.mark.parametrize("norm_type", [2.0, "inf", 1.0])
def test_clip_grad_norm_of_an_infinite_gradient_is_silent_as_pytorchs(norm_type):
    """An inf gradient entry makes the total norm inf and the scale 0: the entry becomes nan
    (inf * 0), as in PyTorch, which says nothing; chainrule's multiply warned "invalid value
    encountered in multiply" (an error under -W error, where PyTorch's loop runs on)."""
    out = []
    for lib in (cr, torch):
        p = lib.zeros(3, dtype=lib.float64, requires_grad=True)
        q = lib.zeros(2, dtype=lib.float32, requires_grad=True)
        p.grad = lib.tensor([float("inf"), 1.0, -2.0], dtype=lib.float64)
        q.grad = lib.tensor([3.0, 4.0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            total = lib.nn.utils.clip_grad_norm_([p, q], 1.0, norm_type=norm_type)
        out.append([float(total), p.grad.tolist(), q.grad.tolist()])
    assert out[0][0] == out[1][0] == float("inf")
    np.testing.assert_array_equal(np.array(out[0][1]), np.array(out[1][1]))
    np.testing.assert_array_equal(np.array(out[0][2]), np.array(out[1][2]))


def _plateau_run(lib, min_lr, loaded=None):
    opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
    sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, cooldown=1, min_lr=min_lr)
    if loaded is not None:
        sched.load_state_dict(loaded)
    opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5})
    out = []
    for metric in [1.0, 2.0, 3.0, 4.0, 5.0]:
        opt.step()
        sched.step(metric)
        out.append([g["lr"] for g in opt.param_groups] + [sched.in_cooldown])
    return np.array(out, dtype=np.float64), sched


def test_plateau_with_a_group_added_later_as_pytorchs():
    """Fine-tuning adds a group (add_param_group) after ReduceLROnPlateau was made: PyTorch's,
    given one min_lr, uses it for the new group too (its default_min_lr); chainrule's raised
    'the optimizer has 2 parameter groups but had 1'. Its state dict now has PyTorch's keys
    (default_min_lr, mode_worse), so PyTorch's loads with them, and in_cooldown is there."""
    ours, sched = _plateau_run(cr, 0.02)
    theirs, tsched = _plateau_run(torch, 0.02)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)
    assert sorted(sched.state_dict()) == sorted(tsched.state_dict())
    loaded, _ = _plateau_run(cr, 0.3, loaded=tsched.state_dict())  # its min_lr 0.02 comes along
    again, _ = _plateau_run(torch, 0.3, loaded=tsched.state_dict())
    np.testing.assert_allclose(loaded, again, rtol=1e-14)
    with pytest.raises(RuntimeError, match="parameter groups but had 1"):  # one min_lr per group
        _plateau_run(cr, [0.02])


def test_get_lr_called_by_a_program_is_the_current_lr_documented_difference():
    """docs/pytorch.md ("Schedulers compute their closed form"): chainrule's get_lr() outside
    step() is get_last_lr(), silently; PyTorch's warns and, at a StepLR decay step, gives the lr
    decayed once more."""
    got = {}
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
        sched = lib.optim.lr_scheduler.StepLR(opt, 2, 0.5)
        rows = []
        for _ in range(4):
            opt.step()
            sched.step()
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                rows.append((sched.get_lr()[0], sched.get_last_lr()[0], len(seen)))
        got[lib] = rows
    assert [(a, b) for a, b, _ in got[cr]] == [
        (0.1, 0.1),
        (0.05, 0.05),
        (0.05, 0.05),
        (0.025, 0.025),
    ]
    assert all(n == 0 for *_, n in got[cr]) and all(n == 1 for *_, n in got[torch])
    assert [b for _, b, _ in got[torch]] == [b for _, b, _ in got[cr]]
    assert got[torch][1][0] == 0.025  # PyTorch's get_lr() at the decay step: decayed again


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SGD"])
def test_pytorch_state_dict_with_tensor_lr_and_betas_loads(name):
    """A PyTorch optimizer made with a Tensor lr (torch.compile recipes) or Tensor betas saves
    them as Tensors in its param groups; chainrule's load_state_dict refused them ("lr must be a
    number >= 0, got tensor(0.1000, dtype=torch.float64)"). They load as chainrule Tensors and the
    run goes on as PyTorch's."""
    betas = name not in ("SGD",)
    p = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    kwargs = {"lr": torch.tensor(0.1, dtype=torch.float64)}
    if betas:
        kwargs["betas"] = (
            torch.tensor(0.8, dtype=torch.float64),
            torch.tensor(0.9, dtype=torch.float64),
        )
    opt = getattr(torch.optim, name)([p], **kwargs)
    p.grad = torch.tensor([1.0, 0.5, -2.0], dtype=torch.float64)
    opt.step()
    q = cr.tensor(p.tolist(), dtype=cr.float64, requires_grad=True)
    ours = getattr(cr.optim, name)([q], lr=0.5)
    ours.load_state_dict(opt.state_dict())
    group = ours.param_groups[0]
    assert isinstance(group["lr"], cr.Tensor) and float(group["lr"]) == 0.1
    if betas:
        assert [type(b) for b in group["betas"]] == [cr.Tensor, cr.Tensor]
    for t in range(3):
        g = [0.3 * t, -1.0, 2.0]
        p.grad, q.grad = torch.tensor(g, dtype=torch.float64), cr.tensor(g, dtype=cr.float64)
        opt.step()
        ours.step()
    np.testing.assert_allclose(q.tolist(), p.tolist(), rtol=1e-13, atol=1e-15)


SCHEDULES_OVER_A_TENSOR_LR = {
    "step": lambda S, o: S.StepLR(o, 2, 0.5),
    "cosine": lambda S, o: S.CosineAnnealingLR(o, 5, 0.01),
    "lambda": lambda S, o: S.LambdaLR(o, lambda e: 0.9**e),
    "sequential": lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, 0.5, total_iters=2), S.ExponentialLR(o, 0.9)], [3]
    ),
    "chained": lambda S, o: S.ChainedScheduler(
        [S.LinearLR(o, 0.5, total_iters=3), S.ExponentialLR(o, 0.9)]
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES_OVER_A_TENSOR_LR))
def test_pytorch_schedule_state_over_a_tensor_lr_loads(name):
    """PyTorch's schedules over a Tensor lr save base_lrs and _last_lr as 0-d Tensors; loaded
    into chainrule's, StepLR's next step failed ("'NotImplementedType' object has no attribute
    'size'", comparing a chainrule lr with a torch Tensor) and LambdaLR's kept torch Tensors in
    base_lrs. They load as numbers; the schedule goes on as PyTorch's."""
    make = SCHEDULES_OVER_A_TENSOR_LR[name]
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=torch.tensor(0.1, dtype=torch.float64), momentum=0.9)
    sched = make(torch.optim.lr_scheduler, opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            opt.step()
            sched.step()
        ours_opt = cr.optim.SGD(
            [cr.zeros(1, requires_grad=True)], lr=cr.tensor(0.1, dtype=cr.float64), momentum=0.9
        )
        ours = make(cr.optim.lr_scheduler, ours_opt)
        ours_opt.load_state_dict(opt.state_dict())
        ours.load_state_dict(sched.state_dict())
        assert all(type(v) is float for v in ours.get_last_lr())
        got, want = [], []
        for _ in range(4):
            opt.step()
            sched.step()
            ours_opt.step()
            ours.step()
            want.append(float(opt.param_groups[0]["lr"]))
            got.append(float(ours_opt.param_groups[0]["lr"]))
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_sequential_lr_refuses_a_fractional_milestone():
    """SequentialLR(milestones=[2.5]): no step is ever the milestone, so PyTorch's goes on with
    the next schedule's plain step(), which from its undone construction step decays at once;
    chainrule's first step of it kept the lr (0.01 where PyTorch's is 0.009). A fractional
    milestone is a slip (steps are counted in ints): refused, naming it."""
    opt = cr.optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1)
    S = cr.optim.lr_scheduler
    with pytest.raises(
        ValueError,
        match=r"increasing milestones \(ints, one per switch\), got "
        r"\[2.5\]",
    ):
        S.SequentialLR(opt, [S.StepLR(opt, 2), S.ExponentialLR(opt, 0.9)], [2.5])


@pytest.mark.parametrize("t_max", [10.0, 7.5, 3.3])
def test_cosine_annealing_takes_a_float_t_max_as_pytorchs(t_max):
    """CosineAnnealingLR(opt, T_max=steps / accumulation) with a float T_max: PyTorch's anneals
    over it (whole or fractional); chainrule's refused it ("T_max must be an int >= 1"). Alone
    and chained after an ExponentialLR (PyTorch's recursive form), equal over 25 steps."""

    def make(S, opt):
        return S.ChainedScheduler(
            [S.CosineAnnealingLR(opt, t_max, 0.01), S.ExponentialLR(opt, 0.9)]
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for build in (lambda S, o: S.CosineAnnealingLR(o, t_max, 0.01), make):
            np.testing.assert_allclose(_lrs(cr, build, 25), _lrs(torch, build, 25), rtol=1e-12)
