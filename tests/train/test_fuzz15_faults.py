"""Fault injection against the training stack: interrupted and resumed runs, non-finite values,
damaged files and bad command lines, each checked against an invariant (seeded scenarios)."""

import re
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.data import ArrayDataset, DataLoader, Dataset
from chainrule.optim.lr_scheduler import LinearLR
from chainrule.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    Trainer,
)

from .conftest import make_blobs, make_mlp

TRAIN, VAL = make_blobs(60, seed=5), make_blobs(20, seed=6)


def _quiet_fit(trainer, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = trainer.fit(*args, verbose=0, **kwargs)
    return history, [str(w.message) for w in caught]


def test_an_infinite_validation_loss_diverges_and_is_never_the_best(tmp_path):
    model = make_mlp(0)

    def loss(output, target):  # finite in training, infinite in evaluation
        value = cr.ops.cross_entropy(output, target)
        return value if model.training else value * float("inf")

    trainer = Trainer(model, loss, optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[ModelCheckpoint(tmp_path)])
    history, said = _quiet_fit(trainer, TRAIN, VAL, epochs=2, batch_size=20)
    assert trainer.diverged and len(history) == 0
    assert "val_loss is inf at epoch 1" in trainer.stop_reason
    assert any("val_loss is inf" in s for s in said)
    assert not (tmp_path / "best.safetensors").exists()


class _PoisonAndStop(Callback):
    """Makes the weights NaN after a step whose loss was finite, and stops the epoch there."""

    def on_batch_end(self, batch, logs=None):
        if batch == 1:
            with cr.no_grad():
                next(self.trainer.model.parameters()).fill_(float("nan"))
            self.trainer.stop_training = True


def test_weights_poisoned_in_an_epoch_another_callback_stops_are_not_saved(tmp_path):
    model = make_mlp(0)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[_PoisonAndStop(), ModelCheckpoint(tmp_path, save_best_only=False)])
    history, _ = _quiet_fit(trainer, TRAIN, epochs=3, batch_size=10)
    assert trainer.diverged and len(history) == 0
    assert "weight 0.weight are not finite" in trainer.stop_reason
    assert not (tmp_path / "last.state.safetensors").exists()


class _KilledError(Exception):
    pass


class _Kill(Callback):
    """Raises (a killed process) at ``(epoch, batch)``: a training batch, "val" (inside the
    validation, through the ``kill_metric`` a scenario logs) or "end" (after the checkpoint)."""

    order = 20

    def __init__(self, epoch, batch):
        self.at, self.epoch, self.armed = (epoch, batch), None, True
        if batch == "log":  # between the CSV row (order 0) and the checkpoint (order 10)
            self.order, self.at = 5, (epoch, "end")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.armed and (self.epoch, batch) == self.at:
            raise _KilledError

    def on_epoch_end(self, epoch, logs=None):
        self.on_batch_end("end")

    def in_validation(self):
        self.on_batch_end("val")


def _kill_metric(trainer_box):
    """A metric (the mean predicted label) that gives a _Kill its chance inside validation."""

    def predicted(y_true, y_pred):
        trainer = trainer_box[0]
        if not trainer.model.training:
            for c in trainer.callbacks:
                if isinstance(c, _Kill):
                    c.in_validation()
        return float(np.asarray(y_pred).argmax(-1).mean())

    return predicted


def _same_run(a, b):
    """Weights, optimizer and scheduler states, random states and the History, bit for bit."""
    wa, wb = a.model.state_dict(), b.model.state_dict()
    assert list(wa) == list(wb)
    for k in wa:
        np.testing.assert_array_equal(wa[k].numpy(), wb[k].numpy(), err_msg=k)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sa["state"].keys() == sb["state"].keys()
    for i, entry in sa["state"].items():
        for key, value in entry.items():
            np.testing.assert_array_equal(np.asarray(value), np.asarray(sb["state"][i][key]))
    schedulers = [c.scheduler for c in b.callbacks if isinstance(c, LearningRateScheduler)]
    for i, c in enumerate(c for c in a.callbacks if isinstance(c, LearningRateScheduler)):
        assert c.scheduler.state_dict() == schedulers[i].state_dict()
    ga, gb = a._generators(), b._generators()
    assert {k: g.bit_generator.state for k, g in ga.items()} == {
        k: g.bit_generator.state for k, g in gb.items()}
    assert (a.history.epoch, a.history.history) == (b.history.epoch, b.history.history)


def _interrupted(build, fit, tmp_path, epochs, kill):
    """An uninterrupted run, and one killed at ``kill`` and resumed from its last checkpoint in
    a rebuilt trainer (a new process); both log to a CSV file, which must come out the same."""
    full = build([CSVLogger(tmp_path / "full.csv")])
    fit(full, epochs)
    log = CSVLogger(tmp_path / "log.csv", append=True)
    first = build([ModelCheckpoint(tmp_path, save_best_only=False), log, _Kill(*kill)])
    try:
        fit(first, epochs)
    except _KilledError:
        pass
    else:  # EarlyStopping ended the run before the kill: resuming it must change nothing
        assert any(isinstance(c, EarlyStopping) for c in first.callbacks)
    resumed = build([ModelCheckpoint(tmp_path, save_best_only=False), log])
    saved = (tmp_path / "last.state.safetensors").exists()  # not when killed in epoch 0
    if not saved:
        (tmp_path / "log.csv").unlink(missing_ok=True)  # a fresh start starts a fresh log
    fit(resumed, epochs, resume_from=tmp_path if saved else None)
    assert (tmp_path / "log.csv").read_text() == (tmp_path / "full.csv").read_text()
    return full, resumed


def _warm_and_decay(callbacks, seed=0):
    model = make_mlp(seed, noise=0.3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    warm_up = LinearLR(opt, start_factor=0.1, total_iters=7)
    return Trainer(model, "cross_entropy", opt, metrics=["accuracy"],
                   callbacks=[LearningRateScheduler(warm_up, interval="batch"), *callbacks],
                   scheduler=optim.StepLR(opt, 1, 0.8))


@pytest.mark.parametrize("seed", range(3))
def test_a_run_with_two_schedulers_resumes_both(tmp_path, seed):
    rng = np.random.default_rng(seed)
    kill = (int(rng.integers(1, 4)), int(rng.integers(0, 4)))

    def fit(trainer, epochs, **kwargs):
        trainer.fit(TRAIN, VAL, epochs=epochs, batch_size=16, rng=seed, verbose=0, **kwargs)

    _same_run(*_interrupted(_warm_and_decay, fit, tmp_path, 5, kill))


def test_resuming_two_schedulers_with_one_is_refused(tmp_path):
    _warm_and_decay([ModelCheckpoint(tmp_path, save_best_only=False)]).fit(
        TRAIN, epochs=1, batch_size=16, rng=0, verbose=0)
    model = make_mlp(0, noise=0.3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    one = Trainer(model, "cross_entropy", opt, scheduler=optim.StepLR(opt, 1, 0.8))
    with pytest.raises(ValueError, match="saved by a run whose scheduler is"):
        one.fit(TRAIN, epochs=2, batch_size=16, rng=0, verbose=0, resume_from=tmp_path)


def _plain(callbacks=(), seed=0):
    model = make_mlp(seed, noise=0.2)
    return Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=0.02),
                   callbacks=list(callbacks))


_SAVED = {"batch_size": 16, "rng": 1}


@pytest.mark.parametrize("change, message", [
    ({"batch_size": 32}, "batch size: the checkpoint's run had 16, this one has 32"),
    ({"shuffle": False}, "shuffle: the checkpoint's run had True"),
    ({"rng": None}, "drew from ['data', 'default', 'model.2.rng'], this one draws from ['data', "),
    ({"data": (TRAIN[0][:40], TRAIN[1][:40])}, "training samples: the checkpoint's run had 60"),
    ({"data": (TRAIN[0][::-1].copy(), TRAIN[1][::-1].copy())}, "training data (digest)"),
])
def test_resuming_with_other_data_batching_or_seed_is_refused(tmp_path, change, message):
    _plain([ModelCheckpoint(tmp_path, save_best_only=False)]).fit(
        TRAIN, epochs=1, verbose=0, **_SAVED)
    other = _plain(seed=3)
    before = {k: v.numpy().copy() for k, v in other.model.state_dict().items()}
    kwargs = {**_SAVED, **change}
    data = kwargs.pop("data", TRAIN)
    with pytest.raises(ValueError, match="saved by a different run") as caught:
        other.fit(data, epochs=2, verbose=0, resume_from=tmp_path, **kwargs)
    assert message in str(caught.value)
    for k, v in other.model.state_dict().items():  # nothing was restored
        np.testing.assert_array_equal(v.numpy(), before[k])


class _Samples(Dataset):
    """A map-style data set read one sample at a time (the loader's worker-thread path)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def _jitter(batch, rng):
    x, y = batch
    return x + rng.normal(0, 0.1, x.shape).astype(x.dtype), y


def _scenario(seed):
    """A random run: optimizer, param groups and a frozen layer, schedules, early stopping,
    noise layers, data as arrays or a loader (workers, augmentation), batch size, and where the
    process is killed."""
    r = np.random.default_rng(seed)
    s = {"opt": r.choice(["sgd", "adam", "adamw", "rmsprop"]), "groups": r.random() < 0.4,
         "sched": r.choice(["none", "step", "two", "plateau"]), "early": r.random() < 0.4,
         "noise": float(r.choice([0.0, 0.3])), "data": r.choice(["arrays", "loader", "workers"]),
         "batch": int(r.choice([7, 16, 60])), "epochs": int(r.integers(3, 7))}
    steps = -(-60 // s["batch"])
    epoch = int(r.integers(0, s["epochs"]))
    batch = int(r.integers(0, steps))
    s["kill"] = (epoch, [batch, batch, "val", "end", "log"][int(r.integers(0, 5))])
    return s


def _build(s, callbacks):
    model = make_mlp(1, noise=s["noise"])
    if s["groups"]:
        model[0].weight.requires_grad_(False)
        params = [{"params": [model[0].bias], "lr": 0.03},
                  {"params": list(model[-1].parameters())}]
    else:
        params = model.parameters()
    opt = {"sgd": lambda: optim.SGD(params, lr=0.1, momentum=0.9),
           "adam": lambda: optim.Adam(params, lr=0.02),
           "adamw": lambda: optim.AdamW(params, lr=0.02),
           "rmsprop": lambda: optim.RMSprop(params, lr=0.01)}[s["opt"]]()
    extra = []
    if s["sched"] == "two":
        extra.append(LearningRateScheduler(LinearLR(opt, start_factor=0.2, total_iters=5),
                                           interval="batch"))
    if s["early"]:
        extra.append(EarlyStopping("val_loss", patience=1, min_delta=0.01, verbose=0))
    schedule = {"none": None, "two": optim.StepLR(opt, 1, 0.8), "step": optim.StepLR(opt, 2, 0.5),
                "plateau": optim.ReduceLROnPlateau(opt, patience=0, factor=0.5)}[s["sched"]]
    box = []
    trainer = Trainer(model, "cross_entropy", opt, metrics=["accuracy", _kill_metric(box)],
                      callbacks=[*extra, *callbacks], scheduler=schedule)
    box.append(trainer)
    return trainer


def _fit(s):
    def fit(trainer, epochs, **kwargs):
        if s["data"] == "arrays":
            data, more = TRAIN, {"batch_size": s["batch"], "rng": 7}
        else:
            workers = 2 if s["data"] == "workers" else 0
            dataset = _Samples(*TRAIN) if workers else ArrayDataset(*TRAIN)
            data, more = DataLoader(dataset, s["batch"], shuffle=True, rng=7, transform=_jitter,
                                    num_workers=workers), {}
        trainer.fit(data, VAL, epochs=epochs, verbose=0, **more, **kwargs)
    return fit


@pytest.mark.parametrize("seed", range(12))
def test_a_random_run_killed_anywhere_resumes_bit_for_bit(tmp_path, seed):
    s = _scenario(seed)
    _same_run(*_interrupted(lambda cbs: _build(s, cbs), _fit(s), tmp_path, s["epochs"],
                            s["kill"]))


def _early(callbacks=(), monitor="val_loss"):
    model = make_mlp(0, noise=0.3)
    return Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=0.05),
                   callbacks=[EarlyStopping(monitor, patience=1, min_delta=0.05, verbose=0),
                              *callbacks])


def test_a_run_early_stopping_ended_stays_ended_when_resumed_for_more_epochs(tmp_path):
    full = _early([ModelCheckpoint(tmp_path, save_best_only=False)])
    full.fit(TRAIN, VAL, epochs=30, batch_size=16, rng=0, verbose=0)
    assert len(full.history) < 30
    resumed = _early()
    resumed.fit(TRAIN, VAL, epochs=40, batch_size=16, rng=0, verbose=0, resume_from=tmp_path)
    _same_run(full, resumed)  # no epoch more, and the best weights restored as before


def test_resuming_without_the_runs_early_stopping_trains_on(tmp_path):
    # Leaving the callback out is the user's choice (as Lightning skips a saved callback state
    # with no callback): an early-stopped run goes on for the epochs asked for.
    full = _early([ModelCheckpoint(tmp_path, save_best_only=False)])
    full.fit(TRAIN, VAL, epochs=30, batch_size=16, rng=0, verbose=0)
    done = len(full.history)
    resumed = _plain(seed=0)
    resumed.fit(TRAIN, VAL, epochs=done + 2, batch_size=16, rng=0, verbose=0,
                resume_from=tmp_path)
    assert len(resumed.history) == done + 2


def test_resuming_with_an_early_stopping_the_run_had_not_is_refused(tmp_path):
    _plain([ModelCheckpoint(tmp_path, save_best_only=False)]).fit(
        TRAIN, VAL, epochs=1, batch_size=16, rng=1, verbose=0)
    with pytest.raises(ValueError, match=re.escape(
            "callbacks that keep a state: the checkpoint's run had [], this one has "
            "['EarlyStopping']")):
        _early().fit(TRAIN, VAL, epochs=3, batch_size=16, rng=1, verbose=0,
                     resume_from=tmp_path)


@pytest.mark.parametrize("other, message", [
    (lambda: _early(monitor="val_accuracy"), "monitored 'val_loss', this one monitors"),
])
def test_resuming_with_another_early_stopping_is_refused(tmp_path, other, message):
    _early([ModelCheckpoint(tmp_path, save_best_only=False)]).fit(
        TRAIN, VAL, epochs=1, batch_size=16, rng=1, verbose=0)
    trainer = other()
    before = _weights(trainer)
    with pytest.raises(ValueError) as caught:
        trainer.fit(TRAIN, VAL, epochs=3, batch_size=16, rng=1, verbose=0, resume_from=tmp_path)
    assert message in str(caught.value)
    assert all(np.array_equal(v, before[k]) for k, v in _weights(trainer).items())


def test_resuming_with_epochs_behind_the_checkpoint_is_refused(tmp_path):
    _checkpointed(tmp_path, epochs=3)
    trainer = _plain(seed=2)
    before = _weights(trainer)
    with pytest.raises(ValueError, match="has trained epochs 0 to 2 already, but epochs=2"):
        trainer.fit(TRAIN, epochs=2, batch_size=16, rng=1, verbose=0, resume_from=tmp_path)
    assert all(np.array_equal(v, before[k]) for k, v in _weights(trainer).items())


def _checkpointed(tmp_path, epochs=2):
    trainer = _plain([ModelCheckpoint(tmp_path, save_best_only=False)])
    trainer.fit(TRAIN, epochs=epochs, batch_size=16, rng=1, verbose=0)
    return tmp_path / "last.state.safetensors"


def _weights(trainer):
    return {k: v.numpy().copy() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("seed", range(10))
def test_a_damaged_checkpoint_is_refused_or_reads_the_same(tmp_path, seed):
    """Truncated, cut to nothing, a flipped byte, garbage appended: a clear error and nothing
    restored, or (a byte flipped into equivalent JSON) exactly the saved state."""
    path = _checkpointed(tmp_path)
    data = bytearray(path.read_bytes())
    r = np.random.default_rng(seed)
    kind = ["truncate", "empty", "flip", "append"][seed % 4]
    if kind == "truncate":
        data = data[:int(r.integers(1, len(data)))]
    elif kind == "empty":
        data = bytearray()
    elif kind == "flip":
        data[int(r.integers(0, len(data)))] ^= 1 << int(r.integers(0, 8))
    else:
        data += r.bytes(int(r.integers(1, 64)))
    path.write_bytes(bytes(data))
    other = _plain(seed=4)
    before = _weights(other)
    try:
        other.fit(TRAIN, epochs=3, batch_size=16, rng=1, verbose=0, resume_from=tmp_path)
    except ValueError as err:
        assert str(path) in str(err)
        assert all(np.array_equal(v, before[k]) for k, v in _weights(other).items())
    else:
        full = _plain()
        full.fit(TRAIN, epochs=3, batch_size=16, rng=1, verbose=0)
        _same_run(full, other)


@pytest.mark.parametrize("legacy", [False, True])
def test_a_torch_file_given_as_checkpoint_is_named_and_never_unpickled(tmp_path, monkeypatch,
                                                                        legacy):
    torch = pytest.importorskip("torch")
    path = tmp_path / "last.state.safetensors"
    torch.save({"epoch": 3}, path, _use_new_zipfile_serialization=not legacy)
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    with pytest.raises(ValueError, match="torch.save") as caught:
        _plain().fit(TRAIN, epochs=3, batch_size=16, rng=1, verbose=0, resume_from=tmp_path)
    assert "chainrule.load(path)" in str(caught.value)


def test_a_training_state_of_a_newer_format_is_refused(tmp_path, monkeypatch):
    from chainrule.io import checkpoint

    monkeypatch.setattr(checkpoint, "_FORMAT", 2)
    _checkpointed(tmp_path, epochs=1)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="format 2, written by another chainrule version"):
        _plain().fit(TRAIN, epochs=3, batch_size=16, rng=1, verbose=0, resume_from=tmp_path)


@pytest.mark.parametrize("seed", range(3))
def test_a_full_disk_during_a_save_keeps_the_last_checkpoint_to_resume_from(
        tmp_path, monkeypatch, seed):
    import errno

    from chainrule.io import checkpoint

    fail_at = int(np.random.default_rng(seed).integers(2, 7))  # the n-th file written
    real, count = checkpoint.write_file, [0]

    def write_file(f, arrays, metadata):
        count[0] += 1
        if count[0] == fail_at:
            f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(f, arrays, metadata)

    monkeypatch.setattr(checkpoint, "write_file", write_file)
    with pytest.raises(OSError, match="No space left") as caught:
        _plain([ModelCheckpoint(tmp_path, save_best_only=False)]).fit(
            TRAIN, epochs=5, batch_size=16, rng=1, verbose=0)
    assert str(tmp_path) in caught.value.filename
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["last.safetensors", "last.state.safetensors"] if fail_at > 2 else ["last.safetensors"])
    full = _plain()
    full.fit(TRAIN, epochs=5, batch_size=16, rng=1, verbose=0)
    resumed = _plain([ModelCheckpoint(tmp_path, save_best_only=False)])
    saved = (tmp_path / "last.state.safetensors").exists()
    resumed.fit(TRAIN, epochs=5, batch_size=16, rng=1, verbose=0,
                resume_from=tmp_path if saved else None)
    _same_run(full, resumed)


@pytest.mark.parametrize("option", ["shuffle", "terminate_on_nan"])
def test_a_string_for_a_true_false_option_is_refused(option):
    with pytest.raises(TypeError, match=f"fit: {option} must be True or False, got 'False'"):
        _plain().fit(TRAIN, epochs=1, verbose=0, **{option: "False"})


@pytest.mark.parametrize("kind", ["random", "weighted", "batch"])
def test_a_samplers_own_generator_is_checkpointed(tmp_path, kind):
    from chainrule.data.samplers import BatchSampler, RandomSampler, WeightedRandomSampler

    data = ArrayDataset(*TRAIN)

    def loader():
        g = np.random.default_rng(3)
        if kind == "random":
            return DataLoader(data, 8, sampler=RandomSampler(data, generator=g))
        if kind == "weighted":
            return DataLoader(data, 8, sampler=WeightedRandomSampler(np.ones(60), 60, generator=g))
        return DataLoader(data, batch_sampler=BatchSampler(RandomSampler(data, generator=g), 8,
                                                           False))

    def fit(trainer, epochs, **kwargs):
        trainer.fit(loader(), epochs=epochs, verbose=0, **kwargs)

    _same_run(*_interrupted(lambda cbs: _plain(cbs), fit, tmp_path, 4, (2, 3)))


_BAD_OPTIONS = {
    "--epochs": ["0", "-3", "1.5", "abc", "", "nan"],
    "--batch-size": ["0", "-1", "2.0", "1e3"],
    "--lr": ["0", "-1e-3", "nan", "inf", "1e400", "x", ""],
    "--weight-decay": ["-1", "nan", "-inf", "x"],
    "--seed": ["-1", "2.5", "x"],
    "--val-split": ["1", "-0.1", "nan", "2"],
    "--threads": ["0", "-2", "x"],
}


@pytest.mark.parametrize("option, value", [(o, v) for o, vs in _BAD_OPTIONS.items() for v in vs])
def test_a_bad_training_option_is_one_line_naming_it(option, value, tmp_path, monkeypatch,
                                                      capsys):
    from chainrule.cli.main import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["train", "mlp", "--out", str(tmp_path / "run"), f"{option}={value}"])
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert err.startswith(f"chainrule: error: argument {option}: ")
    assert f"got {value!r}" in err or f"got {value} " in err  # the value, and what was expected
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make", ["missing", "empty", "weights only", "trainer checkpoint"])
def test_cli_resume_of_a_missing_or_foreign_run_is_one_line(make, tmp_path, monkeypatch, capsys):
    from chainrule.cli.main import main

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    if make != "missing":
        run.mkdir()
    if make == "weights only":
        from chainrule.io import save_weights

        save_weights(make_mlp(0), run / "model.safetensors")
    elif make == "trainer checkpoint":  # a library run's folder, not a command line run's
        _checkpointed(run / "checkpoint")
    listed = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    status = main(["train", "mlp", "--epochs", "2", "--out", str(run), "--resume", "--quiet"])
    err = capsys.readouterr().err
    # Not an error: the advice to set --threads that a busy machine gets before training.
    err = "".join(line for line in err.splitlines(keepends=True) if " BLAS threads on " not in line)
    assert status == 2 and err.startswith("chainrule: error: --resume") and str(run) in err
    assert err.count("\n") == 1
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == listed


def test_a_folder_that_refuses_the_checkpoint_names_the_checkpoint_not_a_temporary(
        tmp_path, monkeypatch):
    import builtins
    import errno

    real_open = builtins.open

    def guarded(file, mode="r", *args, **kwargs):
        if "x" in mode:  # the temporary file beside the checkpoint
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    with pytest.raises(PermissionError) as caught:
        _checkpointed(tmp_path / "ro ü", epochs=1)
    assert caught.value.filename == str(tmp_path / "ro ü" / "last.safetensors")
    assert list((tmp_path / "ro ü").iterdir()) == []


class _SaveEvery(Callback):
    """A user's callback that checkpoints every few batches (a long epoch's habit)."""

    def __init__(self, path):
        self.path = path

    def on_batch_end(self, batch, logs=None):
        if batch == 2:
            self.trainer.save_checkpoint(self.path)


def test_a_checkpoint_in_the_middle_of_an_epoch_is_refused(tmp_path):
    """Its weights would have seen part of the epoch, which a resume trains again in full."""
    trainer = _plain([_SaveEvery(tmp_path / "mid.safetensors")])
    with pytest.raises(ValueError, match="epoch 1 is in progress"):
        trainer.fit(TRAIN, epochs=2, batch_size=16, rng=1, verbose=0)
    assert not (tmp_path / "mid.safetensors").exists()
    with pytest.raises(ValueError, match="cut short by an error"):  # a crash handler's save
        trainer.save_checkpoint(tmp_path / "mid.safetensors")
    trainer.callbacks = []
    trainer.fit(TRAIN, epochs=1, batch_size=16, rng=1, verbose=0)
    assert trainer.save_checkpoint(tmp_path / "end.safetensors").is_file()  # after fit: fine


class _Averaging(Callback):
    """A user's SWA (or EMA) callback: averages the weights after every epoch, and keeps the
    average in the Trainer's checkpoints through state_dict/load_state_dict."""

    def __init__(self, ema):
        self.ema = ema

    def on_train_begin(self, logs=None):
        from chainrule.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        fn = get_ema_multi_avg_fn(0.7) if self.ema else None
        self.average = AveragedModel(self.trainer.model, multi_avg_fn=fn)

    def on_epoch_end(self, epoch, logs=None):
        self.average.update_parameters(self.trainer.model)

    def state_dict(self):
        return self.average.state_dict()

    def load_state_dict(self, state):
        self.average.load_state_dict(state)


@pytest.mark.parametrize("ema", [False, True])
def test_weight_averaging_in_a_callback_resumes_bit_for_bit(tmp_path, ema):
    averaging = {}

    def build(callbacks):
        trainer = _plain([_Averaging(ema), *callbacks])
        averaging[len(averaging)] = trainer.callbacks[0]
        return trainer

    def fit(trainer, epochs, **kwargs):
        trainer.fit(TRAIN, VAL, epochs=epochs, batch_size=16, rng=2, verbose=0, **kwargs)

    _same_run(*_interrupted(build, fit, tmp_path, 4, (2, 1)))
    full, resumed = averaging[0].average.state_dict(), averaging[2].average.state_dict()
    for k in full:
        np.testing.assert_array_equal(full[k].numpy(), resumed[k].numpy(), err_msg=k)


def test_resuming_into_a_model_with_other_layers_of_the_same_shapes_is_refused(tmp_path):
    # A Tanh net loads a ReLU net's weights (the same shapes): without the layers' digest it
    # went on as a different run without a word.
    def trainer(activation):
        model = cr.nn.Sequential(cr.nn.Linear(2, 16, rng=np.random.default_rng(0)),
                                 activation(), cr.nn.Linear(16, 2, rng=np.random.default_rng(1)))
        return Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))

    saved = trainer(cr.nn.ReLU)
    saved.callbacks.append(ModelCheckpoint(tmp_path, save_best_only=False))
    saved.fit(TRAIN, epochs=1, batch_size=16, rng=1, verbose=0)
    other = trainer(cr.nn.Tanh)
    before = _weights(other)
    with pytest.raises(ValueError, match=re.escape("the model's layers (a digest of their names")):
        other.fit(TRAIN, epochs=2, batch_size=16, rng=1, verbose=0, resume_from=tmp_path)
    assert all(np.array_equal(v, before[k]) for k, v in _weights(other).items())
    same = trainer(cr.nn.ReLU)
    same.fit(TRAIN, epochs=2, batch_size=16, rng=1, verbose=0, resume_from=tmp_path)
    assert len(same.history) == 2
