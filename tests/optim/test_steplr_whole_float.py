"""StepLR with a whole float step_size, as PyTorch's text-classification tutorial writes it
(``StepLR(optimizer, 1.0, gamma=0.1)``): PyTorch's learning rates; a fractional one refused."""

import pytest

import chainrule as cr


def _rates(L, step_size):
    opt = L.optim.SGD(L.nn.Linear(2, 1).parameters(), lr=1.0)
    sched = L.optim.lr_scheduler.StepLR(opt, step_size, gamma=0.5)
    rates = []
    for _ in range(7):
        opt.step()
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
    return rates, sched.get_last_lr()


@pytest.mark.torch
@pytest.mark.parametrize("step_size", [1.0, 2.0, 3])
def test_whole_float_step_size_matches_pytorch(step_size):
    torch = pytest.importorskip("torch")
    assert _rates(cr, step_size) == _rates(torch, step_size)


@pytest.mark.kernel_free
def test_fractional_step_size_is_refused():
    opt = cr.optim.SGD(cr.nn.Linear(2, 1).parameters(), lr=1.0)
    with pytest.raises(ValueError, match="step_size must be an int >= 1, got 1.5"):
        cr.optim.lr_scheduler.StepLR(opt, 1.5)
    with pytest.raises(ValueError, match="step_size must be an int >= 1, got 0"):
        cr.optim.lr_scheduler.StepLR(opt, 0.0)
