"""Fuzz wave 18: optimizers, schedules and swa_utils against torch.optim 2.13 (CPU), where the
earlier waves did not look. Each test pins a discrepancy this wave found and fixed."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.optim.swa_utils as TS  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.optim import swa_utils as S  # noqa: E402


def _sgd(lib, lrs=(0.1, 0.2)):
    return lib.optim.SGD(
        [{"params": [lib.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs],
        lr=0.1,
        momentum=0.9,
    )


def _swalr_lrs(lib, mod, kwargs, steps=10, reload_at=None, into=None):
    """Each step's lrs of an SWALR; at step ``reload_at`` its state dict is loaded into a new
    SWALR made by ``into`` (another library's, other annealing; the swa_lr lives in the param
    groups, which the optimizer's state dict carries) on an optimizer of its kind."""
    opt = _sgd(lib)
    if kwargs.get("last_epoch", -1) >= 0:
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
    sched = mod.SWALR(opt, **kwargs)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(steps):
            if t == reload_at:
                lib, mod = into
                state = sched.state_dict()
                lrs = [g["lr"] for g in opt.param_groups]
                opt = _sgd(lib, lrs)
                sched = mod.SWALR(opt, kwargs["swa_lr"], anneal_epochs=7, anneal_strategy="cos")
                sched.load_state_dict(state)
            opt.step()
            sched.step()
            rows.append([float(g["lr"]) for g in opt.param_groups] + sched.get_last_lr())
    return np.array(rows)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(swa_lr=0.05, anneal_epochs=4, last_epoch=3),
        dict(swa_lr=[0.05, 0.3], anneal_epochs=3, anneal_strategy="linear", last_epoch=0),
    ],
)
def test_swalr_made_with_last_epoch_anneals_as_pytorchs(kwargs):
    """PyTorch's SWALR counts its annealing steps from construction (``_step_count``);
    chainrule's counted from ``last_epoch``, so a schedule made with last_epoch=3 started
    3 steps into its annealing."""
    np.testing.assert_allclose(_swalr_lrs(cr, S, kwargs), _swalr_lrs(torch, TS, kwargs), rtol=1e-12)


@pytest.mark.parametrize("direction", ["torch->cr", "cr->torch"])
def test_swalr_state_dict_loads_across_libraries(direction):
    """PyTorch's SWALR state dict keeps ``_anneal_strategy``: chainrule's refused it ("unexpected
    keys"), and chainrule's (``anneal_strategy``) loaded into PyTorch's kept the loading
    schedule's own strategy. Both now continue the saved schedule exactly."""
    kwargs = dict(swa_lr=[0.05, 0.01], anneal_epochs=5, anneal_strategy="linear")
    src, dst = ((torch, TS), (cr, S)) if direction == "torch->cr" else ((cr, S), (torch, TS))
    got = _swalr_lrs(*src, kwargs, reload_at=3, into=dst)
    want = _swalr_lrs(torch, TS, kwargs)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_swalr_reads_its_older_state_dicts():
    opt = _sgd(cr)
    sched = S.SWALR(opt, 0.05, anneal_epochs=5, anneal_strategy="linear")
    state = sched.state_dict()
    state["anneal_strategy"] = state.pop("_anneal_strategy")  # as saved before this wave
    again = S.SWALR(_sgd(cr), 0.05, anneal_epochs=5)
    again.load_state_dict(state)
    assert again.anneal_strategy == "linear"


def test_averaged_model_refuses_both_averaging_functions():
    """Given avg_fn and multi_avg_fn, chainrule's AveragedModel used multi_avg_fn and dropped
    avg_fn without a word; PyTorch's refuses the pair."""
    model = cr.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="only one of avg_fn and multi_avg_fn"):
        S.AveragedModel(model, avg_fn=S.get_ema_avg_fn(0.5), multi_avg_fn=S.get_swa_multi_avg_fn())
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        TS.AveragedModel(
            torch.nn.Linear(2, 2),
            avg_fn=TS.get_ema_avg_fn(0.5),
            multi_avg_fn=TS.get_swa_multi_avg_fn(),
        )


# --- sparse gradients ---------------------------------------------------------------------------

ROWS = [([0, 2, 2, 5], 0), ([1, 1], 1), ([5, 0, 3], 2)]


def _sparse(lib, rows, seed):
    values = np.random.default_rng(seed).standard_normal((len(rows), 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's note on its invariant checks
        return lib.sparse_coo_tensor(lib.tensor([rows]), lib.tensor(values), (6, 3))


def _sparse_run(lib, kwargs, dense_first=False, reload_at=None):
    p = lib.tensor(np.linspace(-1.0, 1.0, 18).reshape(6, 3), requires_grad=True)
    opt = lib.optim.SGD([p], **kwargs)
    if dense_first:
        p.grad = lib.ones(6, 3, dtype=lib.float64)
        opt.step()
    for t, (rows, seed) in enumerate(ROWS):
        if t == reload_at:
            state = opt.state_dict()
            opt = lib.optim.SGD([p], **kwargs)
            opt.load_state_dict(state)
        p.grad = _sparse(lib, rows, seed)
        opt.step()
    buf = opt.state[p]["momentum_buffer"]
    buf = buf.to_dense() if buf.is_sparse else buf
    return p.detach().numpy(), np.asarray(buf.numpy())


@pytest.mark.parametrize(
    "kwargs", [dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True)]
)
def test_sgd_sparse_gradient_on_a_dense_momentum_buffer_as_pytorchs(kwargs):
    """A dense momentum buffer (a dense step before, or a loaded state) and then a sparse
    gradient: PyTorch's buffer takes it (b.mul_(momentum).add_(g)) and stays dense; chainrule's
    step raised AttributeError ('Tensor' object has no attribute 'coalesce')."""
    for got, want in zip(
        _sparse_run(cr, kwargs, dense_first=True),
        _sparse_run(torch, kwargs, dense_first=True),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_sgd_sparse_mixed_refusals_as_pytorchs():
    """Nesterov's g + momentum b with a sparse g and a dense b, and a dense gradient into a
    sparse buffer: PyTorch refuses both; chainrule refused the second with an AttributeError
    ('SparseTensor' object has no attribute '_data')."""
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
            _sparse_run(lib, dict(lr=0.1, momentum=0.9, nesterov=True), dense_first=True)
        p = lib.zeros(6, 3, dtype=lib.float64, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        p.grad = _sparse(lib, [1, 4], 0)
        opt.step()
        p.grad = lib.ones(6, 3, dtype=lib.float64)
        with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
            opt.step()


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_sparse_momentum_buffer_state_dict_round_trip(nesterov):
    """SGD's sparse momentum buffer through state_dict() and load_state_dict() into a new
    optimizer: chainrule's load refused it ("state 'momentum_buffer' has shape ()"); it now
    loads, stays sparse and the run continues as PyTorch's."""
    kwargs = dict(lr=0.1, momentum=0.9, nesterov=nesterov)
    for got, want in zip(
        _sparse_run(cr, kwargs, reload_at=2), _sparse_run(torch, kwargs), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["SGD", "Adagrad"])
def test_fused_with_a_sparse_gradient_refused_as_pytorchs(name):
    """PyTorch's fused SGD and Adagrad refuse a sparse gradient; chainrule's took it."""
    for lib in (cr, torch):
        p = lib.zeros(6, 3, dtype=lib.float64, requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, fused=True)
        p.grad = _sparse(lib, [1, 4], 0)
        with pytest.raises(RuntimeError, match="does not support sparse grad"):
            opt.step()


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_with_a_complex_parameter_refused_as_pytorchs(name):
    """PyTorch's fused kernels take floating-point parameters only and refuse a complex one at
    the step; chainrule's stepped it (fused=False's update)."""
    for lib in (cr, torch):
        p = lib.zeros(2, dtype=lib.complex128, requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, fused=True)
        opt.step()  # no gradient: nothing to refuse
        p.grad = lib.ones(2, dtype=lib.complex128)
        with pytest.raises(
            RuntimeError, match="`fused=True` requires all the params to be floating point Tensors"
        ):
            opt.step()


def test_lbfgs_step_refuses_a_group_added_later_as_pytorchs():
    """LBFGS optimizes its one group's parameters; a group added by add_param_group was left
    out of chainrule's steps without a word (PyTorch's step refuses it)."""
    for lib in (cr, torch):
        x = lib.ones(2, dtype=lib.float64, requires_grad=True)
        y = lib.ones(1, dtype=lib.float64, requires_grad=True)
        opt = lib.optim.LBFGS([x], max_iter=2)
        opt.add_param_group({"params": [y]})

        def closure(opt=opt, x=x, y=y):
            opt.zero_grad()
            loss = (x * x).sum() + (y * y).sum()
            loss.backward()
            return loss

        with pytest.raises((ValueError, AssertionError), match="xpected exactly one param_group"):
            opt.step(closure)


def test_warm_restarts_step_takes_a_tensor_epoch_as_pytorchs():
    """CosineAnnealingWarmRestarts.step(epoch) with a 0-d Tensor epoch (a fractional epoch
    computed from tensors): PyTorch's takes it, chainrule's refused it ("must be a number")."""
    epochs = [0.5, 3.25, 7.0, 2.75, 11.5]
    rows = []
    for lib in (cr, torch):
        opt = _sgd(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 3, 2, eta_min=0.001)
        got = []
        for e in epochs:
            opt.step()
            sched.step(lib.tensor(e, dtype=lib.float64))
            got.append([float(g["lr"]) for g in opt.param_groups] + [float(sched.T_cur)])
        rows.append(got)
    np.testing.assert_allclose(rows[0], rows[1], rtol=1e-12)


@pytest.mark.parametrize("per_group", [False, True])
def test_swalr_takes_a_tensor_swa_lr_as_pytorchs(per_group):
    """SWALR(optimizer, swa_lr=torch.tensor(0.05)): PyTorch's takes a Tensor swa_lr (one, or
    one per group); chainrule's refused it ("swa_lr must be a number")."""

    def swa_lr(lib):
        one = [lib.tensor(0.05, dtype=lib.float64), lib.tensor(0.02, dtype=lib.float64)]
        return one if per_group else one[0]

    rows = []
    for lib, mod in ((cr, S), (torch, TS)):
        opt = _sgd(lib)
        sched = mod.SWALR(opt, swa_lr(lib), anneal_epochs=3)
        got = []
        for _ in range(5):
            opt.step()
            sched.step()
            got.append([float(g["lr"]) for g in opt.param_groups])
        rows.append(got)
    np.testing.assert_allclose(rows[0], rows[1], rtol=1e-12)


def test_plateau_step_takes_pytorchs_deprecated_epoch():
    """ReduceLROnPlateau.step(val_loss, epoch), older scripts' call: PyTorch's takes the epoch
    (with its deprecation warning) as last_epoch; chainrule's step raised TypeError."""
    losses = [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85, 0.9]
    rows = []
    for lib in (cr, torch):
        opt = _sgd(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
        got = []
        for epoch, loss in enumerate(losses, start=3):
            opt.step()
            with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
                sched.step(loss, epoch)
            got.append([float(g["lr"]) for g in opt.param_groups] + [sched.last_epoch])
        rows.append(got)
    np.testing.assert_allclose(rows[0], rows[1], rtol=1e-12)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_takes_tensor_betas_as_pytorchs(name):
    """Adam(betas=(torch.tensor(0.9), torch.tensor(0.99))): PyTorch's takes one-element Tensor
    betas (kept 0-d in the group); chainrule's refused them ("betas[0] must be a number")."""
    out = []
    for lib in (cr, torch):
        rng = np.random.default_rng(1)
        p = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
        betas = (lib.tensor([0.9], dtype=lib.float64), lib.tensor(0.99, dtype=lib.float64))
        opt = getattr(lib.optim, name)([p], lr=0.1, betas=betas, weight_decay=0.1)
        for _ in range(4):
            p.grad = lib.tensor(rng.standard_normal((3, 2)))
            opt.step()
        assert [tuple(b.shape) for b in opt.param_groups[0]["betas"]] == [(), ()]
        out.append(p.detach().numpy())
        with pytest.raises(ValueError, match="as a Tensor is not supported for capturable=False"):
            getattr(lib.optim, name)([p], betas=betas, foreach=True)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)
    q = [cr.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="must be 1-element"):
        cr.optim.Adam(q, betas=(cr.tensor([0.9, 0.8]), cr.tensor(0.99)))
    with pytest.raises(ValueError, match="betas must be either both floats or both Tensors"):
        cr.optim.Adam(q, betas=(cr.tensor(0.9), 0.99))


def test_documented_flag_differences_give_pytorchs_numbers():
    """docs/pytorch.md: capturable=True (refused by PyTorch's step on the CPU) and a Tensor lr
    with foreach=True (refused by PyTorch's constructor) step here as PyTorch's unrefused
    flags do."""

    def run(lib, **kwargs):
        p = lib.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True)
        opt = lib.optim.Adam([p], **kwargs)
        for _ in range(3):
            p.grad = lib.tensor(np.cos(np.arange(4.0)))
            opt.step()
        return p.detach().numpy()

    want = run(torch, lr=0.1)
    np.testing.assert_allclose(run(cr, lr=0.1, capturable=True), want, rtol=1e-12)
    lr = cr.tensor(0.1, dtype=cr.float64)
    np.testing.assert_allclose(run(cr, lr=lr, foreach=True), want, rtol=1e-12)
