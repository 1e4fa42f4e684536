"""OverfittingCheck's state travels with the Trainer's checkpoints: a resumed run is the run."""

import numpy as np
import pytest

from chainrule import nn, optim, robust
from chainrule.train import ModelCheckpoint, Trainer

_DATA = (np.random.default_rng(3).uniform(0, 1, size=(48, 1, 4, 4)),
         np.random.default_rng(4).integers(0, 3, size=48))


class _Scripted(robust.OverfittingCheck):
    """The check with PGD accuracies by epoch given in advance, to drive a collapse."""

    def __init__(self, values, **kwargs):
        super().__init__(np.zeros((1, 1, 4, 4)), np.zeros(1, int), eps=0.3, **kwargs)
        self.values = dict(enumerate(values))
        self.asked = []

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        super().on_epoch_end(epoch, logs)

    def accuracy(self, model):
        self.asked.append(self._epoch)
        return self.values[self._epoch]


def _trainer(check, *callbacks):
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8, rng=np.random.default_rng(0)),
                          nn.ReLU(), nn.Linear(8, 3, rng=np.random.default_rng(1)))
    return Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=1e-2),
                   callbacks=[check, *callbacks])


def _fit(trainer, epochs, **kwargs):
    return trainer.fit(_DATA, epochs=epochs, batch_size=16, rng=0, verbose=0, **kwargs)


def _weights(trainer):
    return {k: np.array(v._data) for k, v in trainer.model.state_dict().items()}


VALUES = [0.5, 0.6, 0.45, 0.3, 0.9]


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_resumed_run_collapses_and_restores_as_the_whole_run_did(tmp_path, cut):
    # Before, the resumed check started from no best: at cut=2 it took 0.45 as its best and
    # saw no collapse at 0.3, so the resumed run trained on and kept other weights.
    full = _trainer(_Scripted(VALUES))
    history = _fit(full, 5)
    assert history.history["pgd_accuracy"] == [0.5, 0.6, 0.45, 0.3]
    _fit(_trainer(_Scripted(VALUES), ModelCheckpoint(tmp_path, save_best_only=False)), cut)
    check = _Scripted(VALUES)
    resumed = _trainer(check)
    history = _fit(resumed, 5, resume_from=tmp_path)
    assert history.history["pgd_accuracy"] == [0.5, 0.6, 0.45, 0.3]
    assert check.asked == list(range(cut, 4))
    assert (check.collapsed_at, check.best_epoch, check.best) == (3, 1, 0.6)
    expected = _weights(full)
    assert all(np.array_equal(v, expected[k]) for k, v in _weights(resumed).items())


def test_a_run_that_collapsed_stays_stopped_when_resumed_for_more_epochs(tmp_path):
    first = _trainer(_Scripted(VALUES), ModelCheckpoint(tmp_path, save_best_only=False))
    _fit(first, 5)
    check = _Scripted(VALUES + [0.9] * 3)
    resumed = _trainer(check)
    history = _fit(resumed, 8, resume_from=tmp_path)
    assert len(history) == 4 and check.asked == [] and check.collapsed_at == 3
    expected = _weights(first)
    assert all(np.array_equal(v, expected[k]) for k, v in _weights(resumed).items())


def test_each_fit_starts_the_watch_afresh():
    check = _Scripted(VALUES)
    _fit(_trainer(check), 5)
    assert check.collapsed_at == 3
    check.values = {0: 0.2, 1: 0.1}
    _fit(_trainer(check), 2)
    assert (check.collapsed_at, check.best_epoch, check.best) == (None, 0, 0.2)


@pytest.mark.parametrize("change, message", [
    (dict(steps=3), "the checkpoint's run checked with"),
    (dict(seed=2), "resume with the run's own settings"),
])
def test_resuming_with_other_check_settings_is_refused(tmp_path, change, message):
    _fit(_trainer(_Scripted(VALUES), ModelCheckpoint(tmp_path, save_best_only=False)), 1)
    with pytest.raises(ValueError, match=message):
        _fit(_trainer(_Scripted(VALUES, **change)), 3, resume_from=tmp_path)


def test_a_damaged_state_is_refused():
    check = _Scripted(VALUES)
    state = check.state_dict()
    with pytest.raises(ValueError, match="OverfittingCheck: the checkpoint's state has entries"):
        check.load_state_dict({**state, "extra": 1})
    with pytest.raises(ValueError, match="best accuracy is 'x', expected a number"):
        check.load_state_dict({**state, "best": "x"})
    with pytest.raises(ValueError, match="collapsed_at is -1, expected None or an int >= 0"):
        check.load_state_dict({**state, "collapsed_at": -1})
