import csv

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.io import load_weights, read_config
from chainrule.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
    Trainer,
)

from .conftest import make_blobs, make_mlp


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _trainer(model, lr=0.05, **kwargs):
    return Trainer(model, cr.ops.cross_entropy, optim.Adam(model.parameters(), lr=lr),
                   metrics=["accuracy"], **kwargs)


class Recorder(Callback):
    def __init__(self, events, name="rec", order=0):
        self.events, self.name, self.order = events, name, order

    def on_train_begin(self, logs=None):
        self.events.append((self.name, "train_begin"))

    def on_train_end(self, logs=None):
        self.events.append((self.name, "train_end"))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append((self.name, "epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append((self.name, "epoch_end", epoch, sorted(logs)))

    def on_batch_begin(self, batch, logs=None):
        self.events.append((self.name, "batch_begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.events.append((self.name, "batch_end", batch, sorted(logs)))


def test_hooks_are_called_in_order(blobs):
    x, y = blobs
    events = []
    _trainer(make_mlp(), callbacks=[Recorder(events)]).fit(
        (x[:10], y[:10]), (x[:4], y[:4]), epochs=2, batch_size=6, rng=0, verbose=0)
    batch_keys = ["accuracy", "loss"]
    epoch_keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    expected = [("rec", "train_begin")]
    for epoch in range(2):
        expected.append(("rec", "epoch_begin", epoch))
        for b in range(2):
            expected += [("rec", "batch_begin", b), ("rec", "batch_end", b, batch_keys)]
        expected.append(("rec", "epoch_end", epoch, epoch_keys))
    expected.append(("rec", "train_end"))
    assert events == expected


def test_callbacks_run_by_order_then_as_given(blobs):
    x, y = blobs
    events = []
    callbacks = [Recorder(events, "late", 10), Recorder(events, "a"), Recorder(events, "b"),
                 Recorder(events, "early", -10)]
    _trainer(make_mlp(), callbacks=callbacks).fit((x, y), epochs=1, batch_size=None, verbose=0)
    assert [e[0] for e in events if e[1] == "train_begin"] == ["early", "a", "b", "late"]


def test_stop_training_from_a_callback_ends_after_the_batch(blobs):
    class StopAtBatch(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2:
                self.trainer.stop_training = True

    x, y = blobs
    events = []
    history = _trainer(make_mlp(), callbacks=[StopAtBatch(), Recorder(events)]).fit(
        (x, y), epochs=5, batch_size=10, rng=0, verbose=0)
    assert history.epoch == [0]
    assert [e[2] for e in events if e[1] == "batch_end"] == [0, 1, 2]
    assert events[-1] == ("rec", "train_end")


def _overfitting_problem():
    """Few noisy training points and a big network: validation loss falls, then rises."""
    x, y = make_blobs(12, seed=3, spread=1.2)
    return (x, y), make_blobs(200, seed=4, spread=1.2)  # with lr=0.005: best val_loss at epoch 19


def test_early_stopping_stops_and_restores_the_best_weights():
    train, val = _overfitting_problem()
    model = make_mlp(hidden=64)
    stopper = EarlyStopping(monitor="val_loss", patience=3)
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(_weights(self.trainer.model))

    history = _trainer(model, lr=0.005, callbacks=[stopper, Snapshot()]).fit(
        train, val, epochs=200, batch_size=None, verbose=0)
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    assert len(val_loss) < 200, "validation loss never rose: the test problem does not overfit"
    assert best > 5
    assert stopper.stopped_epoch == len(val_loss) - 1 == best + 3
    assert stopper.best_epoch == best and stopper.best == val_loss[best]
    final = _weights(model)
    for k in final:
        np.testing.assert_array_equal(final[k], snapshots[best][k])
    assert not all(np.array_equal(final[k], snapshots[-1][k]) for k in final)


def test_early_stopping_restores_best_weights_when_epochs_run_out():
    train, val = _overfitting_problem()
    model = make_mlp(hidden=64)
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(_weights(self.trainer.model))

    history = _trainer(model, lr=0.005, callbacks=[EarlyStopping(patience=1000), Snapshot()]).fit(
        train, val, epochs=40, batch_size=None, verbose=0)
    best = int(np.argmin(history.history["val_loss"]))
    assert 0 < best < 35
    final = _weights(model)
    for k in final:
        np.testing.assert_array_equal(final[k], snapshots[best][k])


def test_early_stopping_modes_and_min_delta(blobs):
    x, y = blobs
    stopper = EarlyStopping(monitor="accuracy", patience=2, min_delta=1.0)  # nothing improves by 1
    history = _trainer(make_mlp(), callbacks=[stopper]).fit((x, y), epochs=20, rng=0, verbose=0)
    assert stopper.mode == "auto" and stopper._monitor.mode == "max"
    assert history.epoch == [0, 1, 2] and stopper.best_epoch == 0
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="patience must be an int >= 0"):
        EarlyStopping(patience=-1)


def test_monitoring_a_missing_log_is_a_clear_error(blobs):
    x, y = blobs
    with pytest.raises(ValueError, match="'val_loss' is not in the epoch logs.*validation_data"):
        _trainer(make_mlp(), callbacks=[EarlyStopping()]).fit((x, y), verbose=0)


def test_csv_logger_writes_header_once_and_a_row_per_epoch(blobs, tmp_path):
    x, y = blobs
    path = tmp_path / "log" / "train.csv"
    trainer = _trainer(make_mlp(), callbacks=[CSVLogger(path)])
    history = trainer.fit((x, y), (x[:40], y[:40]), epochs=3, rng=0, verbose=0)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for i, row in enumerate(rows[1:]):
        for name, cell in zip(rows[0][1:], row[1:]):
            assert float(cell) == history.history[name][i]  # written at full precision
    # a second run appends below the same header
    trainer.callbacks = [CSVLogger(path, append=True)]
    trainer.fit((x, y), (x[:40], y[:40]), epochs=2, rng=0, verbose=0)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert [r[0] for r in rows] == ["epoch", "0", "1", "2", "0", "1"]
    # without append the file starts afresh
    trainer.callbacks = [CSVLogger(path)]
    trainer.fit((x, y), epochs=1, rng=0, verbose=0)
    with open(path, newline="") as f:
        assert list(csv.reader(f))[0] == ["epoch", "loss", "accuracy"]


def test_progress_bar_plain_lines_when_not_a_terminal(blobs, capsys):
    x, y = blobs
    _trainer(make_mlp()).fit((x, y), (x[:20], y[:20]), epochs=2, rng=0, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - ") and lines[1].startswith("Epoch 2/2 - ")
    assert "loss: " in lines[0] and "val_accuracy: " in lines[0]
    _trainer(make_mlp()).fit((x, y), epochs=2, rng=0, verbose=0)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        ProgressBar(3)


def test_progress_bar_draws_a_bar_on_a_terminal(blobs):
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    x, y = blobs
    out = Terminal()
    _trainer(make_mlp(), callbacks=[ProgressBar(1, file=out)]).fit(
        (x, y), epochs=2, batch_size=50, rng=0)
    text = out.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "4/4" in text and "loss" in text


def test_learning_rate_scheduler_steps_per_epoch(blobs):
    x, y = blobs
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, cr.ops.cross_entropy, opt, scheduler=optim.StepLR(opt, 2, 0.5))
    lrs = []

    class LogLr(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            lrs.append(opt.param_groups[0]["lr"])

    trainer.callbacks.append(LogLr())
    trainer.fit((x, y), epochs=5, rng=0, verbose=0)
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert isinstance(trainer.scheduler, optim.StepLR)


def test_reduce_lr_on_plateau_gets_the_monitored_value(blobs):
    x, y = blobs
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    plateau = optim.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0, threshold=1.0)
    trainer = Trainer(model, cr.ops.cross_entropy, opt, metrics=["accuracy"],
                      callbacks=[LearningRateScheduler(plateau, monitor="accuracy")])
    trainer.fit((x, y), epochs=3, rng=0, verbose=0)
    # the first value sets the best; no later accuracy beats it by 100%, so two halvings
    assert plateau.best == trainer.history.history["accuracy"][0]
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)


def test_terminate_on_nan_stops_at_the_first_bad_batch(blobs):
    x, y = blobs
    x = x.copy()
    x[45] = np.nan  # in the third batch of 20
    events = []
    trainer = _trainer(make_mlp(), callbacks=[TerminateOnNaN(), Recorder(events)])
    with pytest.warns(RuntimeWarning, match="loss is nan at epoch 1, batch 3"):
        history = trainer.fit((x, y), epochs=50, batch_size=20, shuffle=False, verbose=0)
    assert [e[2] for e in events if e[1] == "batch_end"] == [0, 1, 2]
    # the diverged epoch is not a completed one: no epoch_end hooks, nothing recorded
    assert not [e for e in events if e[1] == "epoch_end"]
    assert ("rec", "train_end") in events
    assert history.epoch == [] and trainer.epoch == -1
    assert trainer.diverged is True
    assert trainer.stop_reason == "training diverged: loss is nan at epoch 1, batch 3"


def test_model_checkpoint_saves_the_best_weights(blobs, tmp_path):
    train, val = _overfitting_problem()
    model = make_mlp(hidden=64)
    best = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] == min(self.trainer.history.history["val_loss"]):
                best[:] = [_weights(self.trainer.model)]

    config = {"name": "mlp", "kwargs": {"hidden": 64}}
    checkpoint = ModelCheckpoint(tmp_path / "ckpt", config=config)
    history = _trainer(model, lr=0.005, callbacks=[checkpoint, Snapshot()]).fit(
        train, val, epochs=40, batch_size=None, verbose=0)
    assert 0 < int(np.argmin(history.history["val_loss"])) < 35
    fresh = make_mlp(seed=99, hidden=64)
    load_weights(fresh, tmp_path / "ckpt" / "best.safetensors")
    for k, v in _weights(fresh).items():
        np.testing.assert_array_equal(v, best[0][k])
    assert read_config(tmp_path / "ckpt" / "best.safetensors") == config
    assert not (tmp_path / "ckpt" / "last.safetensors").exists()
