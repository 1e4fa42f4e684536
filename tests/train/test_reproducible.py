"""Seeded runs repeat bit for bit with dropout, augmentation and prefetch, resumed or not.

The loader and the model's dropout draw random numbers in different threads when the loader
prefetches; each must have a stream of its own (or draw in a fixed order), or runs differ.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import ModelCheckpoint, Trainer

from .conftest import make_blobs


def _jitter(batch, rng):
    x, y = batch
    return x + rng.normal(0.0, 0.3, x.shape).astype(x.dtype), y


def _run(seed=0, prefetch=2, shared=False, callbacks=()):
    """A script's setup: an MLP with dropout, Adam, an augmenting loader, all from one seed."""
    if shared:  # the habit that used to race: one Generator for the model and the loader
        model_rng = data_rng = np.random.default_rng(seed)
    else:
        model_rng, data_rng = np.random.default_rng(seed).spawn(2)
    model = nn.Sequential(nn.Linear(2, 32, rng=model_rng), nn.ReLU(),
                          nn.Dropout(0.3, rng=model_rng), nn.Linear(32, 32, rng=model_rng),
                          nn.ReLU(), nn.Dropout(0.3, rng=model_rng),
                          nn.Linear(32, 2, rng=model_rng))
    trainer = Trainer(model, cr.ops.cross_entropy, optim.Adam(model.parameters(), lr=0.01),
                      callbacks=callbacks)
    x, y = make_blobs(400, seed=3)
    loader = DataLoader(ArrayDataset(x, y), 8, shuffle=True, rng=data_rng, transform=_jitter,
                        prefetch=prefetch)
    return trainer, loader


def _weights(trainer):
    return [p.numpy().copy() for p in trainer.model.parameters()]


def _assert_same(a, b):
    for p, q in zip(_weights(a), _weights(b), strict=True):
        np.testing.assert_array_equal(p, q)
    assert a.history.history == b.history.history


@pytest.mark.parametrize("shared", [False, True])
def test_seeded_fit_repeats_bit_for_bit_with_and_without_prefetch(shared):
    runs = []
    for prefetch in (2, 2, 0):
        trainer, loader = _run(prefetch=prefetch, shared=shared)
        trainer.fit(loader, epochs=3, verbose=0)
        runs.append(trainer)
    _assert_same(runs[0], runs[1])
    _assert_same(runs[0], runs[2])


def test_a_shared_generator_gets_split_between_the_loader_and_the_model():
    trainer, loader = _run(shared=True)
    dropout_rng = trainer.model[2].rng
    assert loader.rng is dropout_rng
    trainer.fit(loader, epochs=1, verbose=0)
    assert loader.rng is not dropout_rng and trainer.model[2].rng is dropout_rng
    assert set(trainer._generators()) == {"data", "model.2.rng", "default"}


@pytest.mark.parametrize("shared", [False, True])
def test_kill_and_resume_is_bit_for_bit_with_dropout_augmentation_and_prefetch(tmp_path, shared):
    full, loader = _run(shared=shared)
    full.fit(loader, epochs=3, verbose=0)

    first, loader = _run(shared=shared,
                         callbacks=[ModelCheckpoint(tmp_path, save_best_only=False)])
    first.fit(loader, epochs=1, verbose=0)
    # a new process: everything rebuilt from another seed; the checkpoint restores it all
    resumed, loader = _run(seed=7, shared=shared)
    resumed.fit(loader, epochs=3, verbose=0, resume_from=tmp_path)
    _assert_same(full, resumed)


def test_the_cli_trains_identical_weights_from_one_seed(tmp_path):
    from chainrule.cli import main

    def train(out):
        main(["train", "mlp", "--model-arg", "sizes=[64,64,10]", "--model-arg", "dropout=0.2",
              "--augment", "shift", "--epochs", "3", "--seed", "0", "--threads", "1",
              "--out", str(out), "--quiet"])
        return out

    a, b = train(tmp_path / "a"), train(tmp_path / "b")
    # the files, byte for byte: weights, config and checkpoints (names and keys written sorted)
    for name in ("model.safetensors", "checkpoint/last.state.safetensors", "metrics.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
