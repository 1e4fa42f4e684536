"""Wave 19, the training loop's callbacks: settings that silently did something else."""

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.train import Callback, EarlyStopping, LearningRateScheduler, Trainer, accuracy


def _setup():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, rng=rng))
    return model, optim.SGD(model.parameters(), lr=0.1)


def test_a_plateau_scheduler_against_its_logs_direction_is_refused():
    # ReduceLROnPlateau(mode="max") given through Trainer(scheduler=...) watched val_loss as if
    # higher were better: the lr was cut while the loss fell, with no word said.
    model, opt = _setup()
    plateau = optim.ReduceLROnPlateau(opt, mode="max", patience=0)
    with pytest.raises(
        ValueError,
        match=r"mode='max'\) would watch monitor='val_loss', which is "
        r"minimized.*monitor=\.\.\.",
    ):
        Trainer(model, "cross_entropy", opt, scheduler=plateau)
    with pytest.raises(
        ValueError,
        match=r"mode='min'\) would watch monitor='val_acc', which is "
        r"maximized.*mode='max'",
    ):
        LearningRateScheduler(optim.ReduceLROnPlateau(opt), monitor="val_acc")
    # The log's own direction, or a name whose direction is unknown, is the user's choice.
    LearningRateScheduler(plateau, monitor="val_accuracy")
    LearningRateScheduler(plateau, monitor="val_dice")
    x = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    trainer = Trainer(model, "cross_entropy", opt, scheduler=optim.ReduceLROnPlateau(opt))
    trainer.fit(x, y, validation_data=(x, y), epochs=1, verbose=0)


def test_early_stopping_settings_of_the_wrong_kind_are_named():
    # restore_best_weights="no" was truthy, so the weights were restored; a NumPy float min_delta
    # was refused and an infinite one (no epoch ever improves) accepted.
    with pytest.raises(TypeError, match="restore_best_weights must be True or False, got 'no'"):
        EarlyStopping(restore_best_weights="no")
    assert EarlyStopping(min_delta=np.float64(0.25)).min_delta == 0.25
    for bad in (float("inf"), float("nan"), -0.1, True):
        with pytest.raises(ValueError, match="min_delta must be a finite number >= 0"):
            EarlyStopping(min_delta=bad)


def test_keras_style_trainer_arguments_are_taken_or_named():
    # metrics=None (Keras' default) was "'NoneType' object is not iterable"; optimizer="adam"
    # was accepted and failed at the first step with "'str' object has no attribute".
    model, opt = _setup()
    assert Trainer(model, "cross_entropy", opt, metrics=None).metrics == []
    assert [n for n, _ in Trainer(model, "cross_entropy", opt, metrics=accuracy).metrics] == [
        "accuracy"
    ]
    with pytest.raises(TypeError, match=r"metrics must be None, a metric .* got dict"):
        Trainer(model, "cross_entropy", opt, metrics={"out": "accuracy"})
    with pytest.raises(
        TypeError, match=r"optimizer must be a chainrule optimizer .* got str 'adam'"
    ):
        Trainer(model, "cross_entropy", "adam")


def test_early_stopping_brings_back_finite_weights_after_a_divergence():
    # As documented: the diverged epoch is not recorded, and EarlyStopping restores its best
    # epoch's weights at the end of training, a diverged one included (Keras 3's on_train_end).
    class Blow(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.trainer.optimizer.param_groups[0]["lr"] = 1e200

    model, opt = _setup()
    x = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    early = EarlyStopping(monitor="loss", patience=5)
    trainer = Trainer(model, "cross_entropy", opt, callbacks=[early, Blow()])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="training diverged"):
        trainer.fit(x, y, epochs=5, batch_size=4, verbose=0)
    assert trainer.diverged and len(trainer.history) == 2 and early.best_epoch == 1
    assert trainer.non_finite_weights() == {}
