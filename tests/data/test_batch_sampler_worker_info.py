"""BatchSampler, DataLoader(batch_sampler=...), get_worker_info and the samplers' argument checks,
against torch.utils.data where the index sequences are deterministic."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
    get_worker_info,
)


@pytest.mark.torch
@pytest.mark.parametrize("n, size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True),
                                                 (2, 5, False), (2, 5, True), (0, 2, False)])
def test_batch_sampler_batches_and_length_match_pytorch(n, size, drop_last):
    tud = pytest.importorskip("torch.utils.data")
    for make in (range, lambda k: SequentialSampler(range(k))):
        ours = BatchSampler(make(n), size, drop_last)
        theirs = tud.BatchSampler(range(n), size, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_batch_sampler_over_a_random_sampler_keeps_every_index_once():
    batches = list(BatchSampler(RandomSampler(range(7), generator=np.random.default_rng(0)), 3,
                                drop_last=False))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert sorted(i for b in batches for i in b) == list(range(7))


def test_batch_sampler_refuses_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got True"):
        BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got "
                                         "drop_last=1"):
        BatchSampler(range(3), 2, 1)
    with pytest.raises(TypeError, match="iterable of indices, got int"):
        BatchSampler(3, 2, False)


@pytest.mark.torch
def test_dataloader_with_a_batch_sampler_as_pytorch():
    torch = pytest.importorskip("torch")
    chosen = [[3, 1], [0], [9, 8, 7]]
    data = np.arange(10.0)
    theirs = [b[0].tolist() for b in torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(data)), batch_sampler=chosen)]
    samples = [(np.float64(x),) for x in data]  # a dataset that is collated sample by sample
    for dataset in (TensorDataset(cr.tensor(data)), samples):
        for options in ({}, {"num_workers": 2}, {"num_workers": 2,
                                                 "multiprocessing_context": "fork"}):
            loader = DataLoader(dataset, batch_sampler=chosen, **options)
            assert [b[0].tolist() for b in loader] == theirs
            assert len(loader) == 3 and loader.batch_size is None and loader.drop_last is False
    loader = DataLoader(TensorDataset(cr.tensor(data)),
                        batch_sampler=BatchSampler(range(10), 4, drop_last=True))
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(loader) == 2


@pytest.mark.parametrize("options", [{"batch_size": 2}, {"shuffle": True}, {"drop_last": True},
                                     {"sampler": range(3)}])
def test_batch_sampler_excludes_the_other_batching_options(options):
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with "
                                         "batch_size, shuffle, sampler, and drop_last"):
        DataLoader(TensorDataset(cr.zeros(3)), batch_sampler=[[0, 1]], **options)
    with pytest.raises(TypeError, match="batch_sampler must be an iterable .*got int"):
        DataLoader(TensorDataset(cr.zeros(3)), batch_sampler=4)


def test_random_sampler_checks_its_arguments_as_pytorch():
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got "
                                        "replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples must be an int >= 1, got 0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples=0 \\(an empty data source\\)"):
        RandomSampler([])
    assert isinstance(Sampler(range(3)), Sampler) and isinstance(Sampler(), Sampler)


def test_random_sampler_lengths_with_and_without_replacement():
    g = np.random.default_rng(1)
    more = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert len(more) == 10
    # without replacement: two whole permutations, then 2 distinct indices (PyTorch's rule)
    assert sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3]
    assert len(set(more[8:])) == 2
    drawn = RandomSampler(range(3), replacement=True, num_samples=50, generator=g)
    values = list(drawn)
    assert len(drawn) == 50 and len(values) == 50 and set(values) <= {0, 1, 2}


class _WhoReads:
    """Each sample records the worker that read it."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        if info is None:
            return np.int64(i), -1, 0, 0
        return np.int64(i), info.id, info.num_workers, int(info.dataset is self)


def test_get_worker_info_is_none_outside_workers_and_describes_them_inside():
    assert get_worker_info() is None
    dataset = _WhoReads()
    batches = list(DataLoader(dataset, batch_size=2))
    assert all(b[1].tolist() == [-1, -1] for b in batches)
    for options, workers in (({"num_workers": 2}, 2),
                             ({"num_workers": 3, "multiprocessing_context": "fork"}, 3)):
        batches = list(DataLoader(dataset, batch_size=2, **options))
        assert [b[0].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7]]
        ids = collections.Counter(i for b in batches for i in b[1].tolist())
        assert set(ids) <= set(range(workers))
        assert all(b[2].tolist() == [workers] * 2 and b[3].tolist() == [1, 1] for b in batches)
    assert get_worker_info() is None
