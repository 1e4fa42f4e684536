"""Fuzz wave 17: EarlyStopping and ModelCheckpoint as a Keras user expects them (baseline,
start_from_epoch, filename templates, save_weights_only, initial_value_threshold), and the
ReduceLROnPlateau callback stepped as PyTorch's scheduler."""

import io
import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.io import load_weights
from chainrule.train import (
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    Trainer,
)
from chainrule.train import callbacks as callbacks_module

from .._case_loop import each_case, grid
from .conftest import make_blobs, make_mlp


class _Stub:
    """What EarlyStopping needs of a trainer, to drive it with scripted values."""

    def __init__(self):
        self.model, self.stop_training, self.history = make_mlp(), False, History()


def _drive(stopper, values, name="val_loss"):
    """Feed ``values`` epoch by epoch until the callback stops; the epochs it ran."""
    trainer = _Stub()
    stopper.set_trainer(trainer)
    stopper.on_train_begin()
    ran = []
    for epoch, v in enumerate(values):
        ran.append(epoch)
        stopper.on_epoch_end(epoch, {name: v})
        if trainer.stop_training:
            break
    return ran


def _keras3(values, patience, min_delta, mode):
    """Keras 3's EarlyStopping without baseline or warm-up, as its documentation and code say:
    (the epoch it stops at or None, the best epoch)."""
    sign = -1.0 if mode == "min" else 1.0
    best, best_epoch, wait = sign * -math.inf, 0, 0
    for epoch, v in enumerate(values):
        wait += 1
        improved = (v + min_delta < best) if mode == "min" else (v - min_delta > best)
        if improved:
            best, best_epoch, wait = v, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch


def _early_stopping_stops_where_keras_does_case(seed):
    rng = np.random.default_rng(seed)
    mode = ["min", "max"][seed % 2]
    patience, min_delta = int(rng.integers(1, 4)), float(rng.choice([0.0, 0.01, 0.1]))
    values = [float(v) for v in np.round(rng.normal(size=15).cumsum() * 0.1, 3)]
    stopper = EarlyStopping("score", patience=patience, min_delta=min_delta, mode=mode,
                            verbose=0)
    ran = _drive(stopper, values, "score")
    stop, best = _keras3(values, patience, min_delta, mode)
    assert stopper.stopped_epoch == stop
    assert ran[-1] == (len(values) - 1 if stop is None else stop)
    assert stopper.best_epoch == best


def test_early_stopping_stops_where_keras_does():
    each_case(_early_stopping_stops_where_keras_does_case, grid(("seed", range(40))))


def test_auto_mode_follows_the_name():
    assert EarlyStopping("val_accuracy")._monitor.mode == "max"
    assert EarlyStopping("top_k_accuracy")._monitor.mode == "max"
    assert EarlyStopping("val_mae")._monitor.mode == "min"
    assert EarlyStopping("loss")._monitor.mode == "min"


def test_a_baseline_never_beaten_stops_after_patience_epochs_and_keeps_the_best_of_them():
    stopper = EarlyStopping(patience=3, baseline=0.5, verbose=0)
    ran = _drive(stopper, [0.9, 0.8, 0.7, 0.6, 0.55, 0.52])  # each better, none beats 0.5
    assert ran == [0, 1, 2] and stopper.stopped_epoch == 2
    assert stopper.best_epoch == 2 and stopper.best == 0.7 and stopper.best_weights is not None


def test_beating_the_baseline_restarts_the_count():
    stopper = EarlyStopping(patience=2, baseline=0.5, verbose=0)
    assert _drive(stopper, [0.9, 0.4, 0.45, 0.46, 0.3]) == [0, 1, 2, 3]
    assert stopper.best_epoch == 1
    stopper = EarlyStopping("val_accuracy", patience=1, baseline=0.8, min_delta=0.05, verbose=0)
    # 0.84 misses by min_delta; never at epoch 0, as Keras (wave 22)
    assert _drive(stopper, [0.7, 0.84, 0.9], "val_accuracy") == [0, 1]
    stopper = EarlyStopping("val_accuracy", patience=1, baseline=0.8, verbose=0)
    assert _drive(stopper, [0.81, 0.7, 0.9], "val_accuracy") == [0, 1]


def test_start_from_epoch_ignores_the_warm_up():
    stopper = EarlyStopping(patience=0, start_from_epoch=2, verbose=0)
    assert _drive(stopper, [0.1, 0.2, 0.3, 0.35, 0.2]) == [0, 1, 2, 3]
    assert stopper.best_epoch == 2 and stopper.best == 0.3  # the warm-up's 0.1 is no candidate
    stopper = EarlyStopping(patience=0, start_from_epoch=5, verbose=0)
    assert _drive(stopper, [0.1, 0.2, 0.3]) == [0, 1, 2] and stopper.best_weights is None
    with pytest.raises(ValueError, match="'val_loss' is not in the epoch logs"):
        _drive(EarlyStopping(start_from_epoch=3), [0.1], name="loss")  # a typo shows at once


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"baseline": math.nan}, "baseline must be None or a finite number, got nan"),
    ({"baseline": "0.5"}, "baseline must be None or a finite number, got '0.5'"),
    ({"baseline": True}, "baseline must be None or a finite number, got True"),
    ({"start_from_epoch": -1}, "start_from_epoch must be an int >= 0, got -1"),
    ({"start_from_epoch": 1.5}, "start_from_epoch must be an int >= 0, got 1.5"),
    ({"monitor": ""}, "monitor must be the name of a log"),
])
def test_bad_early_stopping_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)


def test_early_stopping_says_it_stopped_on_the_baseline():
    stopper = EarlyStopping(patience=1, baseline=0.5)
    said = []
    stopper._say = said.append
    _drive(stopper, [0.9, 0.95])
    stopper.on_train_end()
    assert said[0].startswith("EarlyStopping: val_loss did not improve on the baseline 0.5 for 2")


def _fit(tmp_path, callbacks, epochs=6, lr=0.05, **trainer_kwargs):
    model = make_mlp(seed=1)
    trainer = Trainer(model, cr.ops.cross_entropy, optim.Adam(model.parameters(), lr=lr),
                      metrics=["accuracy"], callbacks=callbacks, **trainer_kwargs)
    history = trainer.fit(make_blobs(60, seed=2), make_blobs(30, seed=3), epochs=epochs,
                          batch_size=16, rng=0, verbose=0)
    return trainer, history


def test_filename_templates_name_the_files_as_keras_does(tmp_path):
    every = ModelCheckpoint(tmp_path / "all", save_best_only=False,
                            filename="w.{epoch:02d}-{val_loss:.2f}.safetensors")
    best = ModelCheckpoint(tmp_path / "best", monitor="val_accuracy",
                           filename="acc-{val_accuracy:.3f}-e{epoch}.safetensors")
    trainer, history = _fit(tmp_path, [every, best])
    loss = history["val_loss"]
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(
        [f"w.{e + 1:02d}-{loss[e]:.2f}.safetensors" for e in range(6)]
        + ["last.state.safetensors"])
    acc, expected, top = history["val_accuracy"], [], -1.0
    for e, a in enumerate(acc):
        if a > top:
            top = a
            expected.append(f"acc-{a:.3f}-e{e + 1}.safetensors")
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == sorted(expected)
    last = make_mlp(seed=9)
    load_weights(last, tmp_path / "all" / f"w.06-{loss[5]:.2f}.safetensors")
    for k, v in trainer.model.state_dict().items():
        np.testing.assert_array_equal(last.state_dict()[k].numpy(), v.numpy())


def test_a_template_naming_a_missing_log_is_a_clear_error(tmp_path):
    check = ModelCheckpoint(tmp_path, save_best_only=False, filename="w-{val_los:.2f}.safetensors")
    with pytest.raises(ValueError, match="names 'val_los', which is not in the epoch logs"):
        _fit(tmp_path, [check], epochs=1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filename": "w.{}.safetensors"}, "has the field {}"),
    ({"filename": "w.{0}.safetensors"}, "has the field {0}"),
    ({"filename": "w.{epoch.safetensors"}, "is not a valid template"),
    ({"filename": "/tmp/w.safetensors"}, "must name a file inside the directory"),
    ({"filename": "../w.safetensors"}, "must name a file inside the directory"),
    ({"filename": ""}, "filename must be None or a file name template"),
    ({"initial_value_threshold": math.inf}, "initial_value_threshold must be None or a finite"),
    ({"save_weights_only": "yes"}, "save_weights_only must be True or False, got 'yes'"),
    ({"verbose": 2}, "verbose must be 0 or 1, got 2"),
])
def test_bad_checkpoint_settings_are_named(tmp_path, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ModelCheckpoint(tmp_path, **kwargs)


@pytest.mark.parametrize("path", ["model.{epoch:02d}.safetensors", "best.safetensors"])
def test_a_keras_filepath_given_as_the_directory_is_refused(tmp_path, path):
    with pytest.raises(ValueError, match="looks like a file name.*filename="):
        ModelCheckpoint(tmp_path / path)
    assert list(tmp_path.iterdir()) == []


def test_save_weights_only_writes_no_training_state(tmp_path):
    _fit(tmp_path, [ModelCheckpoint(tmp_path, save_best_only=False, save_weights_only=True)],
         epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors"]


def test_initial_value_threshold_holds_back_the_first_best(tmp_path):
    first, history = [], None
    trainer, history = _fit(tmp_path, [ModelCheckpoint(
        tmp_path / "a", filename="e{epoch}.safetensors", initial_value_threshold=-1.0)])
    assert list((tmp_path / "a").iterdir()) == []  # no loss is below -1
    loss = history["val_loss"]
    threshold = float(np.sort(loss)[2])  # the third best: only values below it count
    _fit(tmp_path, [ModelCheckpoint(tmp_path / "b", filename="e{epoch}.safetensors",
                                    initial_value_threshold=threshold)])
    best = threshold
    for e, v in enumerate(loss):
        if v < best:
            best = v
            first.append(f"e{e + 1}.safetensors")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(first) and first


def test_checkpoint_reports_what_it_saves(tmp_path):
    out = io.StringIO()
    _fit(tmp_path, [ModelCheckpoint(tmp_path, verbose=1), ProgressBar(2, file=out)], epochs=3,
         lr=0.0)
    said = [line for line in out.getvalue().splitlines() if line.startswith("ModelCheckpoint")]
    assert re.fullmatch(r"ModelCheckpoint: val_loss improved to [0-9.]+; saved epoch 1 to "
                        + re.escape(str(tmp_path / "best.safetensors")), said[0])
    assert "did not improve on" in said[1] and len(said) == 3  # lr 0: the loss stays


def test_callbacks_module_still_offers_both_classes():
    assert callbacks_module.EarlyStopping is EarlyStopping
    assert callbacks_module.ModelCheckpoint is ModelCheckpoint
    with pytest.raises(AttributeError):
        callbacks_module.NoSuchCallback  # noqa: B018


@pytest.mark.parametrize("kw", [
    {"mode": "min", "threshold_mode": "rel", "patience": 0, "factor": 0.5, "cooldown": 1},
    {"mode": "min", "threshold_mode": "abs", "threshold": 0.01, "patience": 1, "min_lr": 0.02},
    {"mode": "max", "threshold_mode": "rel", "threshold": 0.05, "patience": 0, "eps": 0.01},
])
def test_reduce_lr_on_plateau_in_fit_steps_as_pytorchs(tmp_path, kw):
    torch = pytest.importorskip("torch")
    monitor = "val_accuracy" if kw["mode"] == "max" else "val_loss"
    lrs = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            lrs.append(self.trainer.optimizer.param_groups[0]["lr"])

    model = make_mlp(seed=1)
    opt = optim.Adam(model.parameters(), lr=0.1)
    trainer = Trainer(model, cr.ops.cross_entropy, opt, metrics=["accuracy"], callbacks=[
        Record(), LearningRateScheduler(optim.ReduceLROnPlateau(opt, **kw), monitor=monitor)])
    history = trainer.fit(make_blobs(60, seed=2, spread=1.5), make_blobs(30, seed=3, spread=1.5),
                          epochs=12, batch_size=16, rng=0, verbose=0)
    p = torch.nn.Parameter(torch.zeros(1))
    topt = torch.optim.Adam([p], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    expected = []
    for v in history[monitor]:
        sched.step(v)
        expected.append(topt.param_groups[0]["lr"])
    assert lrs == expected and len(set(lrs)) > 1


def _split_fit(**kwargs):
    model = make_mlp(seed=1)
    trainer = Trainer(model, cr.ops.cross_entropy, optim.Adam(model.parameters(), lr=0.05),
                      metrics=["accuracy"])
    history = trainer.fit(epochs=3, batch_size=8, rng=0, verbose=0, **kwargs)
    return trainer, history


@pytest.mark.parametrize(("n", "split", "held"), [(50, 0.2, 10), (10, 0.25, 3), (100, 0.3, 30),
                                                  (7, 0.5, 4), (3, 0.01, 1)])
def test_validation_split_holds_out_the_last_samples_as_keras(n, split, held):
    x, y = make_blobs(n, seed=11)
    a, ha = _split_fit(train_data=x, y=y, validation_split=split)
    b, hb = _split_fit(train_data=(x[:n - held], y[:n - held]),
                       validation_data=(x[n - held:], y[n - held:]))
    assert ha.history == hb.history and "val_loss" in ha.history
    for k, v in a.model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), b.model.state_dict()[k].numpy())


def test_validation_split_takes_tensors_and_lists():
    x, y = make_blobs(20, seed=12)
    _, ha = _split_fit(train_data=(cr.tensor(x), cr.tensor(y)), validation_split=0.25)
    _, hb = _split_fit(train_data=x, y=list(y), validation_split=0.25)
    _, hc = _split_fit(train_data=(x[:15], y[:15]), validation_data=(x[15:], y[15:]))
    assert ha.history == hb.history == hc.history


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"validation_split": 1.0}, r"validation_split must be a number in \[0, 1\), got 1.0"),
    ({"validation_split": -0.1}, "validation_split must be a number .* got -0.1"),
    ({"validation_split": math.nan}, "validation_split must be a number .* got nan"),
    ({"validation_split": "0.2"}, "validation_split must be a number .* got '0.2'"),
    ({"validation_split": 0.2, "validation_data": make_blobs(5)}, "both given; pass one"),
    ({"validation_split": 1e-17}, "of 20 samples leaves 20 for training and 0 for validation"),
    ({"validation_split": 0.99}, "of 20 samples leaves 0 for training and 20 for validation"),
])
def test_bad_validation_splits_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _split_fit(train_data=make_blobs(20, seed=13), **kwargs)


def test_validation_split_of_a_dataset_is_refused_with_the_way_out():
    from chainrule.data import ArrayDataset

    with pytest.raises(ValueError, match="not of a ArrayDataset.*pass validation_data"):
        _split_fit(train_data=ArrayDataset(*make_blobs(20)), validation_split=0.2)
    with pytest.raises(ValueError, match=r"same number of samples, got \[\(20, 2\), \(19,\)\]"):
        x, y = make_blobs(20)
        _split_fit(train_data=x, y=y[:19], validation_split=0.2)


def _schedule_fit(schedule, epochs=15, lr=0.01, callbacks=(), resume_from=None, **fit_kwargs):
    model = make_mlp(seed=1)
    opt = optim.SGD(model.parameters(), lr=lr)
    trainer = Trainer(model, "cross_entropy", opt,
                      callbacks=[LearningRateScheduler(schedule), *callbacks])
    history = trainer.fit(make_blobs(40, seed=2), epochs=epochs, batch_size=16, rng=0, verbose=0,
                          resume_from=resume_from, **fit_kwargs)
    return trainer, history


def test_a_keras_schedule_function_sets_each_epochs_lr():
    def scheduler(epoch, lr):  # Keras' documented example: 0.01 -> 0.00607 after 15 epochs
        return lr if epoch < 10 else lr * math.exp(-0.1)

    trainer, history = _schedule_fit(scheduler)
    assert round(trainer.optimizer.param_groups[0]["lr"], 5) == 0.00607
    expected = [0.01 * math.exp(-0.1) ** max(0, e - 9) for e in range(15)]
    np.testing.assert_allclose(history["learning_rate"], expected, rtol=1e-12)
    _, history = _schedule_fit(lambda epoch: 0.1 / (epoch + 1), epochs=3)
    assert history["learning_rate"] == [0.1, 0.05, 0.1 / 3]


def test_the_lr_a_schedule_function_sets_is_the_one_the_epoch_trains_with():
    seen = []

    class Watch(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(self.trainer.optimizer.param_groups[0]["lr"])

    _, history = _schedule_fit(lambda epoch, lr: 0.5 ** epoch, epochs=3, callbacks=[Watch()])
    assert seen == [1.0] * 3 + [0.5] * 3 + [0.25] * 3 and history["learning_rate"] == [1, .5, .25]


@pytest.mark.parametrize(("schedule", "message"), [
    (lambda epoch, lr: math.nan, "returned nan for epoch 0 .*expected a finite number >= 0"),
    (lambda epoch, lr: -1.0, "returned -1.0 for epoch 0"),
    (lambda epoch, lr: "0.1", "returned '0.1' for epoch 0"),
])
def test_a_schedule_function_returning_no_lr_is_named(schedule, message):
    with pytest.raises(ValueError, match=message):
        _schedule_fit(schedule, epochs=1)


def test_schedule_function_arguments_are_checked():
    with pytest.raises(ValueError, match="a schedule function sets the lr of each epoch"):
        LearningRateScheduler(lambda epoch, lr: lr, interval="batch")
    with pytest.raises(TypeError, match="must take \\(epoch, lr\\) or \\(epoch\\)"):
        LearningRateScheduler(lambda: 0.1)
    with pytest.raises(TypeError, match="a function schedule\\(epoch, lr\\) -> lr, got int"):
        LearningRateScheduler(3)


def test_a_schedule_function_run_resumes_bit_for_bit(tmp_path):
    class Kill(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (2, 1):
                raise KeyboardInterrupt

    def schedule(epoch, lr):
        return lr * 0.7 if epoch % 2 else lr

    a, ha = _schedule_fit(schedule, epochs=5, lr=0.3)
    ckpt = ModelCheckpoint(tmp_path, save_best_only=False)
    with pytest.raises(KeyboardInterrupt):
        _schedule_fit(schedule, epochs=5, lr=0.3, callbacks=[ckpt, Kill()])
    b, hb = _schedule_fit(schedule, epochs=5, lr=0.3, callbacks=[ckpt], resume_from=tmp_path)
    assert ha.history == hb.history and ha.epoch == hb.epoch == [0, 1, 2, 3, 4]
    for k, v in a.model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), b.model.state_dict()[k].numpy())


def _plain_trainer(**kwargs):
    model = make_mlp(seed=1)
    return Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_empty_validation_data_is_refused_before_training():
    from chainrule.data import ArrayDataset, DataLoader

    x, y = make_blobs(20)
    trainer = _plain_trainer()
    before = {k: v.numpy().copy() for k, v in trainer.model.state_dict().items()}
    for val in [(x[:0], y[:0]), DataLoader(ArrayDataset(x[:3], y[:3]), 4, drop_last=True)]:
        with pytest.raises(ValueError, match="fit: validation_data yields no batches"):
            trainer.fit((x, y), validation_data=val, verbose=0)
    for k, v in trainer.model.state_dict().items():  # refused before any step
        np.testing.assert_array_equal(v.numpy(), before[k])
    with pytest.raises(ValueError, match="evaluate: data yields no batches"):
        trainer.evaluate((x[:0], y[:0]))


def test_an_empty_validation_stream_is_refused_after_its_epoch():
    from chainrule.data import DataLoader, IterableDataset

    class Nothing(IterableDataset):
        def __iter__(self):
            return iter(())

    x, y = make_blobs(20)
    with pytest.raises(ValueError, match="fit: validation_data yields no batches"):
        _plain_trainer().fit((x, y), validation_data=DataLoader(Nothing(), 4), verbose=0)


def test_validation_data_without_targets_is_refused_before_training():
    x, y = make_blobs(20)
    with pytest.raises(ValueError, match=r"validation_data must hold the inputs and the targets, "
                                         r"\(x, y\) or \(\*inputs, y\), got 1 field"):
        _plain_trainer().fit((x, y), validation_data=(x,), verbose=0)


def test_a_single_callback_or_a_bad_resume_path_is_named():
    with pytest.raises(TypeError, match=r"got one EarlyStopping; pass callbacks=\[...\]"):
        _plain_trainer(callbacks=EarlyStopping())
    with pytest.raises(TypeError, match="callbacks must be a list of Callback objects, got int"):
        _plain_trainer(callbacks=3)
    with pytest.raises(TypeError, match="resume_from must be a checkpoint folder or file"):
        _plain_trainer().fit(make_blobs(20), resume_from=123, verbose=0)
    assert len(_plain_trainer(callbacks=(c for c in [EarlyStopping()])).callbacks) == 1


def _reduce_lr_on_plateau_steps_as_pytorchs_on_random_curves_case(seed):
    """lr, best, bad epochs and cooldown after every step, NaN and inf values included."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    kw = {"mode": ["min", "max"][seed % 2], "threshold_mode": ["rel", "abs"][seed // 2 % 2],
          "factor": float(rng.choice([0.1, 0.5, 0.9])), "patience": int(rng.integers(0, 4)),
          "threshold": float(rng.choice([0.0, 1e-4, 0.1])), "cooldown": int(rng.integers(0, 3)),
          "min_lr": float(rng.choice([0.0, 1e-3, 0.05])),
          "eps": float(rng.choice([1e-8, 1e-3, 0.05]))}
    ours = optim.ReduceLROnPlateau(optim.SGD(make_mlp().parameters(), lr=0.1), **kw)
    p = torch.nn.Parameter(torch.zeros(1))
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD([p], lr=0.1), **kw)
    values = rng.choice([1.0, 0.95, 0.9, 0.5, -0.5, 2.0, math.nan, math.inf, -math.inf], size=25)
    for v in values:
        ours.step(float(v))
        theirs.step(float(v))
        assert ours.optimizer.param_groups[0]["lr"] == theirs.optimizer.param_groups[0]["lr"]
        assert (ours.num_bad_epochs, ours.cooldown_counter) == (theirs.num_bad_epochs,
                                                                theirs.cooldown_counter)
        assert ours.best == theirs.best or (math.isnan(ours.best) and math.isnan(theirs.best))


def test_reduce_lr_on_plateau_steps_as_pytorchs_on_random_curves():
    each_case(_reduce_lr_on_plateau_steps_as_pytorchs_on_random_curves_case, grid(
        ("seed", range(30)),
    ))
