"""``DataLoader(num_workers=k)``: threads build the batches, and the batches equal k=0's."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset
from chainrule.vision import transforms


class Noisy(Dataset):
    """Samples with a random transform drawing from the default generator (torchvision style)."""

    def __init__(self, n=23, *, sleep=False):
        self.images = np.random.default_rng(0).integers(0, 256, (n, 6, 6), dtype=np.uint8)
        self.transform = transforms.Compose([
            transforms.ToTensor(), transforms.RandomAffine(30, translate=(0.2, 0.2)),
            transforms.Lambda(lambda t: t + cr.randn(*t.shape) * 0.1)])
        self.sleep = sleep
        self.threads = set()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        self.threads.add(threading.current_thread().name)
        if self.sleep:  # later samples finish first: the order must not follow timing
            time.sleep(0.002 * (len(self) - i) / len(self))
        return self.transform(self.images[i]).numpy(), i


def _passes(loader, passes=2):
    return [[tuple(t.numpy() for t in batch) for batch in loader] for _ in range(passes)]


@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_give_the_batches_of_the_caller_thread(shuffle):
    results = {}
    for workers in (0, 1, 3):
        cr.manual_seed(7)
        dataset = Noisy(sleep=True)
        results[workers] = _passes(DataLoader(dataset, batch_size=4, shuffle=shuffle,
                                              num_workers=workers))
        if workers:
            assert any(name.startswith("chainrule-loader") for name in dataset.threads)
            assert threading.current_thread().name not in dataset.threads
    for workers in (1, 3):
        for a, b in zip(results[0], results[workers], strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x[0], y[0])
                np.testing.assert_array_equal(x[1], y[1])
    first, second = results[0]
    assert not np.array_equal(first[0][0], second[0][0])  # each pass draws new numbers
    if not shuffle:
        assert [b[1].tolist() for b in first] == [list(range(s, min(s + 4, 23)))
                                                   for s in range(0, 23, 4)]


def test_an_explicit_rng_seeds_the_samples_and_leaves_the_default_generator_alone():
    cr.manual_seed(1)
    untouched = cr.default_generator().bit_generator.state
    a = _passes(DataLoader(Noisy(), batch_size=5, rng=3, num_workers=2), 1)
    assert cr.default_generator().bit_generator.state == untouched
    b = _passes(DataLoader(Noisy(), batch_size=5, rng=3), 1)
    for x, y in zip(a[0], b[0], strict=True):
        np.testing.assert_array_equal(x[0], y[0])


def test_a_failing_sample_raises_in_the_caller_and_stops_the_threads():
    class Broken(Dataset):
        def __len__(self):
            return 40

        def __getitem__(self, i):
            if i == 13:
                raise KeyError(f"sample {i} is missing")
            return np.zeros(2)

    before = threading.active_count()
    with pytest.raises(KeyError, match="sample 13 is missing"):
        list(DataLoader(Broken(), batch_size=4, num_workers=2))
    assert threading.active_count() == before


def test_stopping_early_shuts_the_pool():
    before = threading.active_count()
    loader = DataLoader(Noisy(n=64), batch_size=2, num_workers=3)
    it = iter(loader)
    next(it)
    it.close()
    assert threading.active_count() == before
    assert len(list(loader)) == 32


def test_num_workers_is_checked():
    with pytest.raises(ValueError, match="num_workers must be an int >= 0, got -1"):
        DataLoader(Noisy(), num_workers=-1)


@pytest.mark.parametrize("workers", [0, 2])
def test_collate_fn_makes_the_batches_as_in_pytorch(workers):
    dataset = [([1, 2, 3], 0), ([4], 1), ([5, 6], 1)]

    def collate(batch):
        longest = max(len(ids) for ids, _ in batch)
        ids = cr.tensor([ids + [0] * (longest - len(ids)) for ids, _ in batch])
        return {"ids": ids, "labels": cr.tensor([y for _, y in batch])}

    batches = list(DataLoader(dataset, batch_size=2, collate_fn=collate, num_workers=workers))
    assert [b["ids"].tolist() for b in batches] == [[[1, 2, 3], [4, 0, 0]], [[5, 6]]]
    assert [b["labels"].tolist() for b in batches] == [[0, 1], [1]]
    arrays = cr.data.TensorDataset(cr.arange(5), cr.arange(5) * 2)
    sums = [b for b in DataLoader(arrays, batch_size=2, collate_fn=lambda s: sum(a for a, _ in s))]
    assert [int(s) for s in sums] == [1, 5, 4]
    with pytest.raises(TypeError, match="collate_fn must be callable, got int"):
        DataLoader(dataset, collate_fn=3)


@pytest.mark.parametrize("shuffle", [False, True])
def test_worker_processes_give_the_batches_of_the_caller(shuffle):
    cr.manual_seed(11)
    alone = _passes(DataLoader(Noisy(), batch_size=4, shuffle=shuffle), 2)
    cr.manual_seed(11)
    forked = _passes(DataLoader(Noisy(), batch_size=4, shuffle=shuffle, num_workers=3,
                                multiprocessing_context="fork"), 2)
    for a, b in zip(alone, forked, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x[0], y[0])
            np.testing.assert_array_equal(x[1], y[1])
            assert x[0].dtype == y[0].dtype and x[1].dtype == y[1].dtype


def test_worker_processes_report_a_failure_and_stop():
    import multiprocessing

    class Broken(Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            if i == 7:
                raise KeyError(f"sample {i} is missing")
            return np.full(2, i), i

    loader = DataLoader(Broken(), batch_size=2, num_workers=2, multiprocessing_context="fork")
    with pytest.raises(KeyError, match="worker process 1 failed on a batch: KeyError: "
                                           "'sample 7 is missing'"):
        list(loader)
    it = iter(DataLoader(Noisy(n=40), batch_size=2, num_workers=2,
                         multiprocessing_context="fork"))
    next(it)
    it.close()
    assert not multiprocessing.active_children()
    with pytest.raises(ValueError, match="multiprocessing_context must be 'fork'"):
        DataLoader(Broken(), num_workers=2, multiprocessing_context="spawn")
    with pytest.raises(TypeError, match="with a collate_fn, leave multiprocessing_context unset"):
        DataLoader(Broken(), num_workers=2, multiprocessing_context="fork", collate_fn=list)
    # A dict sample collates to a dict: refused by name (its keys were sent as string arrays).
    records = [{"x": np.full(2, i)} for i in range(4)]
    with pytest.raises(TypeError, match="dicts, strings or nested fields need worker threads"):
        list(DataLoader(records, batch_size=2, num_workers=2, multiprocessing_context="fork"))


def test_subset_and_random_split_as_in_pytorch():
    data = cr.utils.data.TensorDataset(cr.arange(10), cr.arange(10) * 10)
    part = cr.utils.data.Subset(data, [4, 1, 7])
    assert len(part) == 3 and int(part[0][1]) == 40 and part.indices == [4, 1, 7]
    cr.manual_seed(2)
    a, b, c = cr.utils.data.random_split(data, [0.5, 0.3, 0.2])
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    assert sorted(a.indices + b.indices + c.indices) == list(range(10))
    again = cr.utils.data.random_split(data, [5, 3, 2], rng=np.random.default_rng(0))
    assert again[0].indices == cr.utils.data.random_split(
        data, [5, 3, 2], rng=np.random.default_rng(0))[0].indices
    assert [len(p) for p in cr.utils.data.random_split(range(7), [0.5, 0.5])] == [4, 3]
    x, y = next(iter(DataLoader(part, batch_size=3)))
    assert x.tolist() == [4, 1, 7] and y.tolist() == [40, 10, 70]
    torch = pytest.importorskip("torch")
    assert [len(p) for p in torch.utils.data.random_split(range(7), [0.5, 0.5])] == [4, 3]
    with pytest.raises(ValueError, match="lengths must be non-negative ints summing to the "
                                         "dataset's 10 samples"):
        cr.utils.data.random_split(data, [3, 3])
    with pytest.raises(TypeError, match="generator= takes a chainrule.Generator"):
        cr.utils.data.random_split(data, [5, 5], generator=object())


def test_samplers_choose_the_indices_of_a_pass():
    data = cr.utils.data.TensorDataset(cr.arange(10))
    D = cr.utils.data  # noqa: N806 - PyTorch's module, as programs alias it
    loader = DataLoader(data, batch_size=3,
                        sampler=D.SubsetRandomSampler([1, 3, 5, 7], generator=cr.Generator()
                                                      .manual_seed(0)))
    first = [x.tolist() for (x,) in loader]
    assert len(loader) == 2 and sorted(sum(first, [])) == [1, 3, 5, 7]
    assert [len(b) for b in first] == [3, 1]
    second = sum([x.tolist() for (x,) in loader], [])
    assert sorted(second) == [1, 3, 5, 7]  # a new order each pass, from the same generator
    assert [x.tolist() for (x,) in DataLoader(data, batch_size=4,
                                              sampler=D.SequentialSampler(range(6)))] \
        == [[0, 1, 2, 3], [4, 5]]
    heavy = D.WeightedRandomSampler([0.0] * 9 + [1.0], num_samples=5)
    assert [x.tolist() for (x,) in DataLoader(data, batch_size=5, sampler=heavy)] == [[9] * 5]
    cr.manual_seed(3)
    drawn = list(D.RandomSampler(range(4), num_samples=6))
    assert len(drawn) == 6 and sorted(drawn[:4]) == [0, 1, 2, 3]
    assert all(0 <= i < 4 for i in D.RandomSampler(range(4), replacement=True, num_samples=9))
    with pytest.raises(ValueError, match="sampler and shuffle=True are mutually exclusive"):
        DataLoader(data, shuffle=True, sampler=heavy)
    with pytest.raises(ValueError, match="cannot draw 3 samples without replacement from 1"):
        D.WeightedRandomSampler([0, 0, 1], 3, replacement=False)
