"""A run killed after epoch k and resumed ends with exactly the weights of an uninterrupted run."""

import csv

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import CSVLogger, ModelCheckpoint, Trainer

from .conftest import make_blobs, make_mlp


def _setup(seed=0, callbacks=(), **options):
    """Everything a script builds before fit: model (with a noise layer), Adam, a step schedule."""
    model = make_mlp(seed=seed, noise=0.3)
    opt = optim.Adam(model.parameters(), lr=0.02)
    return Trainer(model, cr.ops.cross_entropy, opt, metrics=["accuracy"], callbacks=callbacks,
                   scheduler=optim.StepLR(opt, step_size=1, gamma=0.7), **options)


def _assert_same_run(a, b):
    wa, wb = a.model.state_dict(), b.model.state_dict()
    assert list(wa) == list(wb)
    for k in wa:
        np.testing.assert_array_equal(wa[k].numpy(), wb[k].numpy(), err_msg=k)
    assert a.history.epoch == b.history.epoch
    assert a.history.history == b.history.history
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for i in sa["state"]:
        assert sa["state"][i]["step"] == sb["state"][i]["step"]
        np.testing.assert_array_equal(sa["state"][i]["exp_avg_sq"], sb["state"][i]["exp_avg_sq"])
    assert a.scheduler.state_dict() == b.scheduler.state_dict()


@pytest.fixture
def data():
    return make_blobs(120, seed=5), make_blobs(40, seed=6)


def test_resume_from_a_checkpoint_folder_is_bit_for_bit(tmp_path, data):
    train, val = data
    full = _setup()
    full.fit(train, val, epochs=4, batch_size=16, rng=123, verbose=0)

    first = _setup(callbacks=[ModelCheckpoint(tmp_path / "run", save_best_only=False)])
    first.fit(train, val, epochs=2, batch_size=16, rng=123, verbose=0)
    assert (tmp_path / "run" / "last.safetensors").is_file()
    assert (tmp_path / "run" / "last.state.safetensors").is_file()

    # a new process: everything rebuilt, even from other seeds; the checkpoint must restore it all
    resumed = _setup(seed=42, callbacks=[ModelCheckpoint(tmp_path / "run", save_best_only=False)])
    history = resumed.fit(train, val, epochs=4, batch_size=16, rng=999, verbose=0,
                          resume_from=tmp_path / "run")
    assert history.epoch == [0, 1, 2, 3]
    _assert_same_run(full, resumed)


# 12 batches an epoch: accumulating 5 ends each epoch with a group of 2 (stepped, not carried over)
@pytest.mark.parametrize("options", [{}, {"accumulate_grad_batches": 5, "clip_grad_norm": 0.5}])
def test_resume_from_a_file_with_a_dataloader(tmp_path, data, options):
    (x, y), _ = data

    def loader():
        return DataLoader(ArrayDataset(x, y), 10, shuffle=True, rng=7)

    full = _setup(**options)
    full.fit(loader(), epochs=3, verbose=0)

    first = _setup(**options)
    first.fit(loader(), epochs=1, verbose=0)
    path = first.save_checkpoint(tmp_path / "state.safetensors", config={"name": "mlp"})
    first.fit(loader(), epochs=2, verbose=0)  # the file is a snapshot: later training leaves it

    resumed = _setup(seed=3, **options)
    resumed.fit(loader(), epochs=3, verbose=0, resume_from=path)
    _assert_same_run(full, resumed)
    if options:  # another accumulation or clipping is another run: refused, nothing restored
        other = _setup(seed=3, accumulate_grad_batches=4, clip_grad_value=0.5)
        with pytest.raises(ValueError, match="accumulate_grad_batches: the checkpoint's run had "
                           "5, this one has 4\n  gradient clipping: .*'norm 0.5'.*'value 0.5'"):
            other.fit(loader(), epochs=3, verbose=0, resume_from=path)


def test_resume_past_the_last_epoch_trains_nothing(tmp_path, data):
    train, _ = data
    first = _setup(callbacks=[ModelCheckpoint(tmp_path, save_best_only=False)])
    first.fit(train, epochs=2, rng=0, verbose=0)
    again = _setup(seed=1)
    history = again.fit(train, epochs=2, rng=0, verbose=0, resume_from=tmp_path)
    assert history.epoch == [0, 1]
    _assert_same_run(first, again)


def test_csv_log_continues_on_resume(tmp_path, data):
    train, _ = data
    log = tmp_path / "log.csv"
    _setup(callbacks=[CSVLogger(log), ModelCheckpoint(tmp_path, save_best_only=False)]).fit(
        train, epochs=2, rng=0, verbose=0)
    _setup(callbacks=[CSVLogger(log, append=True)]).fit(
        train, epochs=4, rng=0, verbose=0, resume_from=tmp_path)
    with open(log, newline="") as f:
        assert [row[0] for row in csv.reader(f)] == ["epoch", "0", "1", "2", "3"]


def test_resume_from_a_missing_checkpoint_is_a_clear_error(tmp_path, data):
    train, _ = data
    with pytest.raises(FileNotFoundError, match="last.state.safetensors"):
        _setup().fit(train, epochs=2, verbose=0, resume_from=tmp_path)


def test_resume_from_a_checkpoint_with_a_damaged_history_is_a_clear_error(tmp_path):
    from chainrule import nn
    from chainrule.io import save_training_state

    net = nn.Linear(3, 2, rng=np.random.default_rng(0))
    opt = optim.SGD(net.parameters(), lr=0.1)
    path = save_training_state(tmp_path / "state.safetensors", model=net, optimizer=opt, epoch=0,
                               rng={"data": np.random.default_rng(1)},
                               extra={"history": {"epoch": [0], "history": {"loss": ["a"]}}})
    trainer = Trainer(net, "mse_loss", opt)
    before = net.weight.numpy().copy()
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"history.*'loss'.*\['a'\]"):
        trainer.fit((x, np.zeros((4, 2), np.float32)), epochs=2, verbose=0, resume_from=path)
    assert trainer.epoch == -1 and len(trainer.history) == 0
    np.testing.assert_array_equal(net.weight.numpy(), before)


class _FunctionalDropout(cr.nn.Module):
    """Dropout written the PyTorch way, ``F.dropout(x, p, self.training)``: no Generator of its
    own, so its masks come from the default generator that ``cr.manual_seed`` seeds."""

    def forward(self, x):
        return cr.F.dropout(x, 0.3, self.training)


class _NoisySamples(cr.data.Dataset):
    """Read one sample at a time with noise from the default stream (the loader seeds it per
    pass from the default generator when it does not shuffle)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i] + 0.1 * cr.randn(2).numpy(), self.y[i]


@pytest.mark.parametrize("kind", ["functional_dropout", "noisy_samples"])
def test_resume_restores_the_default_generator(tmp_path, data, kind):
    # Found by the resume fuzz: the default generator was not in the checkpoint, so a run that
    # drew from it (F.dropout without rng, or a loader's per-pass seeds) resumed differently.
    (x, y), _ = data

    def run(epochs, resume=False):
        cr.manual_seed(4)  # what a fresh process does
        model = make_mlp()
        if kind == "functional_dropout":
            model.insert(2, _FunctionalDropout())
        opt = optim.Adam(model.parameters(), lr=0.02)
        trainer = Trainer(model, cr.ops.cross_entropy, opt,
                          scheduler=optim.StepLR(opt, step_size=1, gamma=0.7),
                          callbacks=[ModelCheckpoint(tmp_path / kind, save_best_only=False)])
        train = (x, y) if kind == "functional_dropout" else _NoisySamples(x, y)
        trainer.fit(train, epochs=epochs, batch_size=16, shuffle=kind != "noisy_samples",
                    rng=3 if kind != "noisy_samples" else None, verbose=0,
                    resume_from=tmp_path / kind if resume else None)
        return trainer, cr.default_generator().bit_generator.state

    full, full_state = run(3)
    run(1)
    resumed, resumed_state = run(3, resume=True)
    _assert_same_run(full, resumed)
    assert resumed_state == full_state


@pytest.mark.parametrize("schedule", ["step", "plateau"])
def test_resuming_a_scheduled_run_without_its_scheduler_is_refused(tmp_path, data, schedule):
    # ReduceLROnPlateau's state was accepted and the run went on at a constant learning rate.
    train, val = data
    model = make_mlp(seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    scheduler = (optim.StepLR(opt, step_size=1, gamma=0.5) if schedule == "step"
                 else optim.ReduceLROnPlateau(opt, patience=0))
    first = Trainer(model, cr.ops.cross_entropy, opt, scheduler=scheduler,
                    callbacks=[ModelCheckpoint(tmp_path / "run", save_best_only=False)])
    first.fit(train, val, epochs=1, batch_size=16, rng=1, verbose=0)
    model = make_mlp(seed=0)
    again = Trainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=0.1))
    kind = "StepLR" if schedule == "step" else "ReduceLROnPlateau"
    with pytest.raises(ValueError, match=f"learning-rate scheduler \\({kind}\\); resume it with"):
        again.fit(train, val, epochs=2, batch_size=16, rng=1, verbose=0,
                  resume_from=tmp_path / "run")
    assert again.history.epoch == []  # refused before anything was restored or trained
