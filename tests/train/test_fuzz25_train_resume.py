"""Fuzz wave 25: what a resumed run must restore beyond the training loader: the validation
loader's own Generator, and the epoch of a sampler with ``set_epoch`` (``DistributedSampler``),
which the Trainer sets before each epoch as Lightning's does."""

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    DistributedSampler,
    SequentialSampler,
    TensorDataset,
)
from chainrule.train import ModelCheckpoint, Trainer

from .conftest import make_blobs, make_mlp


class _Jittered(Dataset):
    """Samples with noise drawn from the default generator (a torchvision-style transform)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i] + 0.3 * cr.randn(2).numpy(), self.y[i]


def _val_run(folder, epochs, resume=False):
    cr.manual_seed(0)
    x, y = make_blobs(16, seed=1)
    val = DataLoader(_Jittered(x, y), batch_size=5, shuffle=True,
                     generator=np.random.default_rng(4))
    model = make_mlp(seed=2, hidden=4)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.3),
                      callbacks=[ModelCheckpoint(folder, save_best_only=False)])
    return trainer.fit((x, y), val, epochs=epochs, batch_size=8, rng=1, verbose=0,
                       resume_from=folder if resume else None)


def test_the_validation_loaders_own_generator_is_checkpointed(tmp_path):
    whole = _val_run(tmp_path / "a", 3)
    _val_run(tmp_path / "b", 1)
    resumed = _val_run(tmp_path / "b", 3, resume=True)
    # before: the validation loader restarted from its seed, so epochs 2 and 3 differed
    assert resumed.history == whole.history


def _sampler_run(folder, epochs, seen, resume=False):
    x, y = make_blobs(8, seed=3)
    data = TensorDataset(cr.tensor(x), cr.tensor(y))
    sampler = DistributedSampler(data, num_replicas=1, rank=0, shuffle=True, seed=5)
    model = make_mlp(seed=2, hidden=4)
    forward = model.forward
    model.forward = lambda a: (seen.append(a.numpy()[:, 0].tolist()), forward(a))[1]
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.3),
                      callbacks=[ModelCheckpoint(folder, save_best_only=False, monitor="loss")])
    trainer.fit(DataLoader(data, batch_size=8, sampler=sampler), epochs=epochs, verbose=0,
                resume_from=folder if resume else None)
    return x, sampler, trainer


def test_a_distributed_sampler_is_given_each_epoch(tmp_path):
    seen = []
    x, sampler, whole = _sampler_run(tmp_path / "a", 3, seen)
    expected = [x[np.random.default_rng(5 + e).permutation(8), 0].tolist() for e in range(3)]
    assert seen == expected and sampler.epoch == 2  # before: epoch 0's order every epoch
    _sampler_run(tmp_path / "b", 1, [])
    _, _, resumed = _sampler_run(tmp_path / "b", 3, [], resume=True)
    for k, v in whole.model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), resumed.model.state_dict()[k].numpy())


class _Buckets(BatchSampler):
    """A batch sampler with a ``set_epoch`` of its own (a bucketing one), recording the calls."""

    def __init__(self, data):
        super().__init__(SequentialSampler(data), 4, False)
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def test_a_batch_samplers_own_set_epoch_is_called(tmp_path):
    x, y = make_blobs(8, seed=3)
    data = TensorDataset(cr.tensor(x), cr.tensor(y))
    buckets = _Buckets(data)
    model = make_mlp(seed=2, hidden=4)
    Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.3)).fit(
        DataLoader(data, batch_sampler=buckets), epochs=3, verbose=0)
    assert buckets.epochs == [0, 1, 2]
