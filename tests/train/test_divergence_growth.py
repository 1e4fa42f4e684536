"""A loss that stays finite but grows by more than ``growth`` (1e10) times its first value (a far
too large learning rate) counts as divergence, as NaN does; bounded logs never trip it."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import Callback, TerminateOnNaN, Trainer

from .conftest import make_blobs, make_mlp


def _linear_trainer(lr, **kwargs):
    model = nn.Linear(4, 3, rng=np.random.default_rng(0))
    return Trainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=lr),
                   metrics=["accuracy"], **kwargs)


def _data():
    rng = np.random.default_rng(1)
    x = (100 * rng.standard_normal((60, 4))).astype(np.float32)
    return x, rng.integers(0, 3, 60)


def test_huge_lr_finite_blowup_stops_as_divergence():
    trainer = _linear_trainer(1e12)
    with pytest.warns(RuntimeWarning, match=r"TerminateOnNaN: training diverged: loss grew from "
                                            r"\S+ to \S+ \(over 1e\+10 times\) at epoch 1"):
        history = trainer.fit(_data(), epochs=3, batch_size=10, shuffle=False, verbose=0)
    assert trainer.diverged and "loss grew from" in trainer.stop_reason
    assert len(history) == 0
    assert all(np.isfinite(p.numpy()).all() for p in trainer.model.parameters())


def test_growth_none_keeps_nan_only():
    trainer = _linear_trainer(1e12, callbacks=[TerminateOnNaN(growth=None)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = trainer.fit(_data(), epochs=2, batch_size=10, shuffle=False, verbose=0)
    assert not trainer.diverged and len(history) == 2
    assert max(history.history["loss"]) > 1e12


def test_ordinary_training_and_small_first_loss_do_not_trip():
    model = make_mlp()
    trainer = Trainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=0.05),
                      metrics=["accuracy"])
    trainer.fit(make_blobs(100), epochs=2, batch_size=20, verbose=0)
    assert not trainer.diverged

    class Scripted(Callback):  # a loss that starts at 1e-12 and grows to 1e9: below 1e10 * 1
        order = -200

        def on_batch_end(self, batch, logs=None):
            logs["loss"] = 1e-12 if batch == 0 else 1e9

    trainer = _linear_trainer(0.01, callbacks=[Scripted()])
    trainer.fit(_data(), epochs=1, batch_size=10, verbose=0)
    assert not trainer.diverged


@pytest.mark.parametrize("bad", [0, 1, -5, float("inf"), True, "1e10"])
def test_bad_growth(bad):
    with pytest.raises(ValueError, match=r"TerminateOnNaN: growth must be None or a finite number "
                                         r"> 1, got"):
        TerminateOnNaN(growth=bad)
