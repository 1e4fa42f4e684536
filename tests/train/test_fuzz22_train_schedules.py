"""Fuzz wave 22: a OneCycleLR laid out over the run's optimizer steps but stepped once per epoch
(``Trainer(scheduler=...)``, interval "epoch") ended the run still in its warm-up, silently; it is
refused, naming ``interval="batch"``. Stepped per batch, the Trainer matches PyTorch's loop."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402
from chainrule.train import LearningRateScheduler, Trainer  # noqa: E402

RNG = np.random.default_rng(3)
X, Y = RNG.normal(size=(18, 3)), RNG.integers(0, 2, 18)


def _model():
    return nn.Linear(3, 2, rng=np.random.default_rng(0)).to(cr.float64)


@pytest.mark.parametrize("k", [1, 2])
def test_a_cycle_over_the_runs_steps_stepped_per_epoch_is_refused(k):
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    steps = 3 * -(-5 // k)  # 3 epochs of 5 batches of 4, one optimizer step per k batches
    cycle = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=steps)
    trainer = Trainer(model, "cross_entropy", opt, scheduler=cycle, accumulate_grad_batches=k)
    before = model.weight.numpy().copy()
    with pytest.raises(ValueError, match=rf"total_steps={steps}\) spans this run's 3 epochs"):
        trainer.fit((X, Y), epochs=3, batch_size=4, verbose=0, rng=0)
    np.testing.assert_array_equal(model.weight.numpy(), before)  # refused before any step


def test_a_cycle_stepped_per_batch_follows_pytorchs_loop():
    model = _model()
    theirs = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(model.weight.numpy()))
        theirs.bias.copy_(torch.tensor(model.bias.numpy()))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    cycle = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=15)
    trainer = Trainer(
        model, "cross_entropy", opt, callbacks=[LearningRateScheduler(cycle, interval="batch")]
    )
    trainer.fit((X, Y), epochs=3, batch_size=4, shuffle=False, verbose=0)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    tcycle = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.5, total_steps=15)
    for _ in range(3):
        for i in range(0, 18, 4):
            topt.zero_grad()
            torch.nn.functional.cross_entropy(
                theirs(torch.tensor(X[i : i + 4])), torch.tensor(Y[i : i + 4])
            ).backward()
            topt.step()
            tcycle.step()
    np.testing.assert_allclose(model.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
