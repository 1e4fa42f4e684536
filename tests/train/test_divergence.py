"""Non-finite training stops and says so; evaluate and predict refuse non-finite weights, inputs."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.io import load_weights
from chainrule.train import Callback, CSVLogger, ModelCheckpoint, TerminateOnNaN, Trainer

from .conftest import make_blobs, make_mlp


def _trainer(model=None, lr=0.05, **kwargs):
    model = model or make_mlp()
    return Trainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=lr),
                   metrics=["accuracy"], **kwargs)


def _finite(model):
    return all(np.isfinite(p.numpy()).all() for p in model.parameters())


def test_one_nan_pixel_stops_fit_by_default_with_a_warning():
    x, y = make_blobs(100)
    x[57] = np.nan  # batch 3 of 20 (shuffle=False), epoch 1
    trainer = _trainer()
    with pytest.warns(RuntimeWarning, match=r"loss is nan at epoch 1, batch 3"):
        history = trainer.fit((x, y), epochs=5, batch_size=20, shuffle=False, verbose=0)
    assert trainer.diverged and "loss is nan" in trainer.stop_reason
    assert len(history) == 0


def test_divergence_in_a_later_epoch_keeps_the_last_finite_checkpoint(tmp_path):
    x, y = make_blobs(100)

    class Poison(Callback):  # a data problem that appears in the third epoch
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                x[:] = np.nan

    trainer = _trainer(callbacks=[Poison(), CSVLogger(tmp_path / "log.csv"),
                                  ModelCheckpoint(tmp_path / "ckpt", save_best_only=False)])
    with pytest.warns(RuntimeWarning, match="at epoch 3, batch 1"):
        history = trainer.fit((x, y), epochs=5, batch_size=20, shuffle=False, verbose=0)
    assert history.epoch == [0, 1] and trainer.epoch == 1 and trainer.diverged
    saved = make_mlp(seed=9)
    load_weights(saved, tmp_path / "ckpt" / "last.safetensors")
    assert _finite(saved)
    assert (tmp_path / "log.csv").read_text().count("\n") == 3  # header and two finite epochs
    resumed = _trainer(make_mlp(seed=9))
    resumed.load_checkpoint(tmp_path / "ckpt")
    assert resumed.epoch == 1


def test_weights_that_turn_nan_are_caught_before_the_epoch_is_saved(tmp_path):
    x, y = make_blobs(40)

    class Overflow(Trainer):  # the loss it logs is finite; the step leaves a NaN weight
        steps = 0

        def train_step(self, batch):
            logs = super().train_step(batch)
            self.steps += 1
            if self.steps == 4:  # the last of epoch 2's two batches
                with cr.no_grad():
                    self.model[0].bias[1] = np.nan
            return logs

    model = make_mlp()
    trainer = Overflow(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                       callbacks=[ModelCheckpoint(tmp_path, save_best_only=False)])
    with pytest.warns(RuntimeWarning, match="1 value.* of weight 0.bias are not finite after the "
                                            "step at epoch 2, batch 2"):
        trainer.fit((x, y), (x, y), epochs=3, batch_size=20, verbose=0, rng=0)
    assert trainer.diverged and trainer.history.epoch == [0]
    saved = make_mlp(seed=9)
    load_weights(saved, tmp_path / "last.safetensors")
    assert _finite(saved)


def test_terminate_on_nan_can_be_turned_off():
    x, y = make_blobs(60)
    x[5] = np.nan
    trainer = _trainer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = trainer.fit((x, y), epochs=2, batch_size=20, shuffle=False, verbose=0,
                              terminate_on_nan=False)
    assert history.epoch == [0, 1] and not trainer.diverged and not _finite(trainer.model)


def test_terminate_on_nan_watches_every_logged_value_or_the_chosen_ones():
    x, y = make_blobs(60)

    class Logs(Trainer):  # a GAN-like step that logs no "loss"
        def train_step(self, batch):
            return {"g_loss": float("inf") if self.epoch == 0 else 1.0, "d_loss": 1.0}

    trainer = Logs(make_mlp(), None, None)
    with pytest.warns(RuntimeWarning, match="g_loss is inf at epoch 2, batch 1"):
        trainer.fit((x, y), epochs=4, verbose=0, rng=0)
    assert trainer.history.epoch == [0]
    watched = Logs(make_mlp(), None, None, callbacks=[TerminateOnNaN("d_loss")])
    watched.fit((x, y), epochs=3, verbose=0, rng=0)
    assert len(watched.history) == 3 and not watched.diverged


def test_a_new_fit_clears_the_divergence():
    x, y = make_blobs(60)
    bad = x.copy()
    bad[0] = np.nan
    trainer = _trainer()
    with pytest.warns(RuntimeWarning):
        trainer.fit((bad, y), epochs=1, verbose=0, shuffle=False)
    fresh = _trainer()
    fresh.fit((x, y), epochs=1, verbose=0, rng=0)
    assert not fresh.diverged and fresh.stop_reason is None


def test_evaluate_and_predict_refuse_non_finite_weights():
    x, y = make_blobs(30)
    trainer = _trainer()
    weight = trainer.model[2].weight
    with cr.no_grad():
        weight[0, :3] = np.nan
    for call in (lambda: trainer.evaluate((x, y)), lambda: trainer.predict(x)):
        with pytest.raises(ValueError, match=r"non-finite weights .* 2\.weight \(3 of 32\)"):
            call()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_evaluate_and_predict_refuse_non_finite_inputs(bad):
    x, y = make_blobs(70)
    x[40, 1] = bad
    x[41, 0] = bad
    trainer = Trainer(make_mlp(), "cross_entropy", None)
    with pytest.raises(ValueError, match=r"predict: input 0 of batch 2 holds 2 non-finite"):
        trainer.predict(x)
    with pytest.raises(ValueError, match=r"evaluate: input 0 of batch 2 holds 2 non-finite"):
        trainer.evaluate((x, y))
    target = np.zeros((70, 2), "float32")
    target[3] = bad
    with pytest.raises(ValueError, match=r"evaluate: target of batch 1 holds 2 non-finite"):
        Trainer(make_mlp(), "mse_loss", None).evaluate((x[:20], target[:20]))
