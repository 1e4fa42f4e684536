"""optim.swa_utils against torch.optim.swa_utils: averaged weights and buffers over several epochs
(SWA, EMA, per-tensor and list functions, use_buffers), SWALR's rates, update_bn's statistics."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import swa_utils as S

RNG = np.random.default_rng(2)
X, Y = RNG.standard_normal((40, 3)), RNG.standard_normal((40, 2))


def _models(torch):
    m = cr.nn.Sequential(cr.nn.Linear(3, 4, dtype=cr.float64, rng=np.random.default_rng(0)),
                         cr.nn.BatchNorm1d(4, dtype=cr.float64), cr.nn.ReLU(),
                         cr.nn.Linear(4, 2, dtype=cr.float64, rng=np.random.default_rng(1)))
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                            torch.nn.Linear(4, 2)).double()
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    return m, t


AVERAGING = {  # (our keyword arguments, PyTorch's) from each module
    "swa": (lambda lib: {},) * 2,
    "ema": (lambda lib: {"avg_fn": lib.get_ema_avg_fn(0.9)},) * 2,
    "ema-multi": (lambda lib: {"multi_avg_fn": lib.get_ema_multi_avg_fn(0.8)},) * 2,
    # PyTorch's list version divides by n + 1 through float32 on the CPU (1e-8 apart in
    # float64); ours computes in the parameters' dtype, so it is held to the per-tensor rule.
    "swa-multi": (lambda lib: {"multi_avg_fn": lib.get_swa_multi_avg_fn()},
                  lambda lib: {"avg_fn": lib.get_swa_avg_fn()}),
    "use_buffers": (lambda lib: {"use_buffers": True},) * 2,
    # the list EMA over the buffers too: num_batches_tracked (int64) truncated, as PyTorch's
    # (ours raised a TypeError casting float64 into it)
    "ema-multi-buffers": (lambda lib: {"multi_avg_fn": lib.get_ema_multi_avg_fn(0.8),
                                       "use_buffers": True},) * 2,
}


@pytest.mark.torch
@pytest.mark.parametrize("kind", list(AVERAGING))
def test_swa_training_follows_torch(kind):
    torch = pytest.importorskip("torch")
    import torch.optim.swa_utils as TS

    m, t = _models(torch)
    ours, theirs = AVERAGING[kind]
    avg, tavg = S.AveragedModel(m, **ours(S)), TS.AveragedModel(t, **theirs(TS))
    opt, topt = cr.optim.SGD(m.parameters(), lr=0.5), torch.optim.SGD(t.parameters(), lr=0.5)
    sched = S.SWALR(opt, swa_lr=0.05, anneal_epochs=3)
    tsched = TS.SWALR(topt, swa_lr=0.05, anneal_epochs=3)
    for _ in range(4):
        for i in range(0, 40, 10):
            opt.zero_grad()
            ((m(cr.tensor(X[i:i + 10])) - cr.tensor(Y[i:i + 10])) ** 2).mean().backward()
            opt.step()
            topt.zero_grad()
            ((t(torch.tensor(X[i:i + 10])) - torch.tensor(Y[i:i + 10])) ** 2).mean().backward()
            topt.step()
        avg.update_parameters(m)
        tavg.update_parameters(t)
        sched.step()
        tsched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-14)
        _same_state(avg.state_dict(), tavg.state_dict())
    S.update_bn([(cr.tensor(X[i:i + 10]), 0) for i in range(0, 40, 10)], avg)
    TS.update_bn([(torch.tensor(X[i:i + 10]), 0) for i in range(0, 40, 10)], tavg)
    _same_state(avg.state_dict(), tavg.state_dict())
    assert int(avg.n_averaged.item()) == 4 and avg.training
    np.testing.assert_allclose(avg(cr.tensor(X)).numpy(),
                               tavg(torch.tensor(X)).detach().numpy(), rtol=1e-11, atol=1e-13)


def _same_state(ours, theirs):
    assert list(ours) == list(theirs)
    for k in ours:
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=1e-11, atol=1e-13,
                                   err_msg=k)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"swa_lr": 0.05}, {"swa_lr": 0.5, "anneal_epochs": 4, "anneal_strategy": "linear"},
    {"swa_lr": [0.01, 0.2], "anneal_epochs": 0}, {"swa_lr": 0.3, "anneal_epochs": 1},
])
def test_swalr_rates_follow_torch(kwargs):
    torch = pytest.importorskip("torch")
    import torch.optim.swa_utils as TS

    p, tp = cr.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    q, tq = cr.tensor([2.0], requires_grad=True), torch.tensor([2.0], requires_grad=True)
    opt = cr.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.1}], lr=1.0)
    topt = torch.optim.SGD([{"params": [tp]}, {"params": [tq], "lr": 0.1}], lr=1.0)
    sched, tsched = S.SWALR(opt, **kwargs), TS.SWALR(topt, **kwargs)
    for _ in range(14):
        ours = [g["lr"] for g in opt.param_groups]
        theirs = [g["lr"] for g in topt.param_groups]
        np.testing.assert_allclose(ours, theirs, rtol=1e-13)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-13)
        opt.step()  # no gradients: nothing moves, but PyTorch wants a step before the schedule's
        topt.step()
        sched.step()
        tsched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx(
        kwargs["swa_lr"] if isinstance(kwargs["swa_lr"], list) else [kwargs["swa_lr"]] * 2)


@pytest.mark.kernel_free
def test_update_bn_resets_averages_and_restores_the_model():
    bn = cr.nn.BatchNorm1d(2, momentum=0.3, dtype=cr.float64)
    model = cr.nn.Sequential(bn).eval()
    batches = [cr.tensor(RNG.standard_normal((8, 2)) + k) for k in range(3)]
    S.update_bn(iter(batches), model)
    stacked = np.stack([b.numpy() for b in batches])
    np.testing.assert_allclose(bn.running_mean.numpy(), stacked.mean(1).mean(0), rtol=1e-13)
    np.testing.assert_allclose(bn.running_var.numpy(), stacked.var(1, ddof=1).mean(0),
                               rtol=1e-13)
    assert bn.momentum == 0.3 and not model.training
    plain = cr.nn.Linear(2, 2)
    S.update_bn(batches, plain)  # no BatchNorm: nothing to do (and no pass over the data)


@pytest.mark.kernel_free
def test_averaged_model_errors_and_module_api():
    m = cr.nn.Linear(2, 3)
    avg = S.AveragedModel(m)
    assert isinstance(avg, cr.nn.Module) and "n_averaged" in avg.state_dict()
    assert avg.module is not m and avg.module.weight is not m.weight
    with pytest.raises(ValueError, match="the model has 2 tensors to average, the average 2"
                       "|tensor 0 has shape"):
        avg.update_parameters(cr.nn.Linear(3, 3))
    with pytest.raises(TypeError, match="model must be a chainrule Module, got list"):
        S.AveragedModel([m.weight])
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        S.SWALR(opt, 0.1, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0, got -1"):
        S.SWALR(opt, 0.1, anneal_epochs=-1)
    with pytest.raises(ValueError, match="expected 1 values for swa_lr, got 2"):
        S.SWALR(opt, [0.1, 0.2])


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", ["AveragedModel", "SWALR", "update_bn", "get_ema_avg_fn",
                                  "get_ema_multi_avg_fn", "get_swa_avg_fn",
                                  "get_swa_multi_avg_fn"])
def test_signatures_match_torch(name):
    pytest.importorskip("torch")
    import torch.optim.swa_utils as TS

    ours = inspect.signature(getattr(S, name)).parameters
    theirs = inspect.signature(getattr(TS, name)).parameters
    assert [(k, p.default) for k, p in ours.items()] == [(k, p.default)
                                                         for k, p in theirs.items()]
