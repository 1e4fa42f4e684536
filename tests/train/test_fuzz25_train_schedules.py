"""Fuzz wave 25: a learning-rate scheduler built on another optimizer than the Trainer's (the
optimizer made again after the scheduler) is a ValueError when fit starts; it changed the lr of
groups no step read, so the run trained at its first lr throughout, with only PyTorch's
misleading "lr_scheduler.step() before optimizer.step()" warning."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import LearningRateScheduler, Trainer

_DATA = (np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1]))


def _model():
    return nn.Linear(2, 2, rng=np.random.default_rng(0))


@pytest.mark.parametrize("through", ["scheduler", "callback"])
def test_a_scheduler_of_another_optimizer_is_refused(through):
    model = _model()
    stale = optim.SGD(model.parameters(), lr=1.0)
    schedule = optim.lr_scheduler.StepLR(stale, 1, 0.1)
    used = optim.SGD(model.parameters(), lr=1.0)  # made again after the scheduler
    kwargs = {"scheduler": schedule} if through == "scheduler" else {
        "callbacks": [LearningRateScheduler(schedule)]}
    trainer = Trainer(model, "cross_entropy", used, **kwargs)
    with pytest.raises(ValueError, match="StepLR was built on another optimizer"):
        trainer.fit(_DATA, epochs=2, verbose=0)
    assert used.param_groups[0]["lr"] == 1.0 and stale.param_groups[0]["lr"] == 1.0


def test_the_trainers_own_optimizer_is_scheduled():
    model = _model()
    used = optim.SGD(model.parameters(), lr=1.0)
    trainer = Trainer(model, "cross_entropy", used,
                      scheduler=optim.lr_scheduler.StepLR(used, 1, 0.5))
    with cr.reference_mode():  # the plain kernels: no compiled one to load for 3 tiny epochs
        trainer.fit(_DATA, epochs=3, verbose=0)
    assert used.param_groups[0]["lr"] == pytest.approx(0.125)
