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
