"""Fuzz wave 17: a run killed in the middle of an epoch and resumed ends bit for bit as the run
never killed, with every callback active (EarlyStopping with a baseline and a warm-up, two
ModelCheckpoints with filename templates, CSVLogger, ReduceLROnPlateau), their files included."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    Trainer,
)

from .conftest import make_blobs, make_mlp


class _Kill(Callback):
    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def _run(folder, extra=(), resume=False, patience=4, baseline=0.45):
    model = make_mlp(seed=4, noise=0.2)
    opt = optim.Adam(model.parameters(), lr=0.03)
    stopper = EarlyStopping(patience=patience, baseline=baseline, start_from_epoch=2, verbose=0)
    callbacks = [
        stopper,
        ModelCheckpoint(folder / "last", save_best_only=False,
                        filename="w{epoch:02d}-{val_loss:.3f}.safetensors"),
        ModelCheckpoint(folder / "best", monitor="val_accuracy", filename="b{epoch}.safetensors"),
        CSVLogger(folder / "log.csv", append=True),
        LearningRateScheduler(optim.ReduceLROnPlateau(opt, patience=0, factor=0.5, cooldown=1)),
        *extra,
    ]
    trainer = Trainer(model, cr.ops.cross_entropy, opt, metrics=["accuracy"], callbacks=callbacks)
    history = trainer.fit(make_blobs(80, seed=7, spread=1.2), make_blobs(40, seed=8, spread=1.2),
                          epochs=14, batch_size=16, rng=3, verbose=0,
                          resume_from=folder / "last" if resume else None)
    return trainer, history, stopper


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize(("epoch", "batch"), [(1, 2), (2, 4), (4, 0), (6, 3)])
def test_a_run_killed_mid_epoch_resumes_bit_for_bit_with_every_callback(tmp_path, epoch, batch):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    a, history_a, stop_a = _run(whole)
    assert len(history_a) == 7 and stop_a.best_epoch == 2  # not the warm-up's best, epoch 1
    with pytest.raises(KeyboardInterrupt):
        _run(killed, [_Kill(epoch, batch)])
    b, history_b, stop_b = _run(killed, resume=True)
    assert history_a.epoch == history_b.epoch and history_a.history == history_b.history
    for k, v in a.model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), b.model.state_dict()[k].numpy(), err_msg=k)
    assert a.optimizer.param_groups[0]["lr"] == b.optimizer.param_groups[0]["lr"]
    assert a.scheduler.state_dict() == b.scheduler.state_dict()
    assert (stop_a.best, stop_a.best_epoch, stop_a.stopped_epoch, stop_a.wait) == (
        stop_b.best, stop_b.best_epoch, stop_b.stopped_epoch, stop_b.wait)
    assert _files(whole) == _files(killed)
