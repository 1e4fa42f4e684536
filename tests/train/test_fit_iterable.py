"""Trainer.fit / evaluate / predict over an IterableDataset: epochs end with the stream, the
progress output and TerminateOnNaN need no len(), and a stream with a length keeps its count."""

import io
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.data import DataLoader, IterableDataset, get_worker_info
from chainrule.train import Callback, ProgressBar, TerminateOnNaN, Trainer

from .conftest import make_blobs, make_mlp


class Blobs(IterableDataset):
    """The blobs as a stream, sharded over the loader's workers."""

    def __init__(self, n=120, sized=False):
        self.x, self.y = make_blobs(n)
        self.sized = sized

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        for i in range(start, len(self.y), step):
            yield self.x[i], self.y[i]


class SizedBlobs(Blobs):
    def __len__(self):
        return len(self.y)


class Steps(Callback):
    def on_train_begin(self, logs=None):
        self.steps, self.batches = self.trainer.params["steps"], []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_batch_end(self, batch, logs=None):
        self.batches[-1] += 1


def _trainer(**kwargs):
    model = make_mlp()
    return Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=0.05),
                   metrics=["accuracy"], **kwargs)


@pytest.mark.parametrize("workers", [0, 2])
def test_fit_on_a_stream_without_a_length_ends_each_epoch_with_it(workers):
    steps = Steps()
    trainer = _trainer(callbacks=[steps])
    loader = DataLoader(Blobs(), batch_size=16, num_workers=workers)
    history = trainer.fit(loader, epochs=3, verbose=0)
    assert steps.steps is None
    # 120 samples: 8 batches in one reader, 4 + 4 in two sharding workers (60 = 3*16 + 12)
    assert steps.batches == [8] * 3
    assert len(history) == 3 and history.history["loss"][-1] < history.history["loss"][0]
    x, y = make_blobs(120)
    assert trainer.evaluate(Blobs(), batch_size=16)["accuracy"] > 0.9
    np.testing.assert_allclose(trainer.predict(Blobs(), batch_size=50),
                               trainer.predict(x, batch_size=50), rtol=1e-6)
    assert trainer.evaluate((x, y))["accuracy"] == pytest.approx(
        trainer.evaluate(loader)["accuracy"])


def test_a_stream_given_to_fit_is_batched_in_its_own_order():
    steps = Steps()
    _trainer(callbacks=[steps]).fit(Blobs(), epochs=1, batch_size=50, verbose=0)  # shuffle=True
    assert steps.batches == [3]
    with pytest.raises(ValueError, match="batch_size=None .* IterableDataset"):
        _trainer().fit(Blobs(), batch_size=None, verbose=0)


def test_a_stream_with_a_length_reports_its_batch_count():
    steps = Steps()
    _trainer(callbacks=[steps]).fit(DataLoader(SizedBlobs(), batch_size=16), epochs=1,
                                    verbose=0)
    assert steps.steps == 8 and steps.batches == [8]


def test_an_empty_stream_is_an_error():
    class Empty(IterableDataset):
        def __iter__(self):
            return iter(())

    with pytest.raises(ValueError, match="yields no batches"):
        _trainer().fit(DataLoader(Empty(), batch_size=4), verbose=0)


def test_progress_without_a_length_counts_batches():
    out = io.StringIO()
    _trainer(callbacks=[ProgressBar(1, file=out, interval=0)]).fit(
        DataLoader(Blobs(), batch_size=16), epochs=1)
    text = out.getvalue()
    assert re.search(r"Epoch 1/1 - batch 3 - ", text) and "ETA" not in text
    assert "batch 3/" not in text


def test_terminate_on_nan_checks_the_weights_of_a_stream_every_batch():
    class Overflow(Trainer):  # the loss it logs is finite; the step leaves a NaN weight
        steps = 0

        def train_step(self, batch):
            logs = super().train_step(batch)
            self.steps += 1
            if self.steps == 3:  # not an epoch's last batch, which a stream cannot tell
                with cr.no_grad():
                    self.model[0].bias[1] = np.nan
            return logs

    model = make_mlp()
    trainer = Overflow(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                       callbacks=[TerminateOnNaN()])
    with pytest.warns(RuntimeWarning, match="weight 0.bias are not finite after the step at "
                                            "epoch 1, batch 3"):
        trainer.fit(DataLoader(Blobs(), batch_size=16), epochs=2, verbose=0)
    assert trainer.diverged and trainer.steps == 3 and len(trainer.history) == 0


def test_a_stream_in_validation_data():
    history = _trainer().fit(DataLoader(Blobs(), batch_size=32), Blobs(n=40), epochs=1,
                             batch_size=16, verbose=0)
    assert "val_accuracy" in history.history
    assert cr.data.IterableDataset is IterableDataset
