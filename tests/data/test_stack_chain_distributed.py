"""ChainDataset, StackDataset and DistributedSampler against torch.utils.data, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.utils.data import (
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    StackDataset,
    TensorDataset,
)

from .._case_loop import each_case, grid


class Upto(IterableDataset):
    def __init__(self, n, sized=True):
        self.n, self.sized = n, sized

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.sized:
            raise TypeError("Upto: no len()")
        return self.n


class Plain(IterableDataset):
    def __iter__(self):
        return iter("ab")


class Squares(Dataset):
    def __len__(self):
        return 3

    def __getitem__(self, i):
        return i * i


def test_chain_and_plus_read_the_streams_one_after_another():
    chained = Upto(2) + Upto(3)
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5
    assert list(ChainDataset([Upto(1), Plain()])) == [0, "a", "b"]
    with pytest.raises(TypeError, match="has no len"):
        len(Upto(1) + Plain())
    assert bool(Plain())  # no length, still a dataset


@pytest.mark.torch
def test_chain_matches_pytorch():
    tud = pytest.importorskip("torch.utils.data")

    class TheirUpto(tud.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    theirs = TheirUpto(3) + TheirUpto(2)
    ours = Upto(3) + Upto(2)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    batches = [b.tolist() for b in tud.DataLoader(theirs, batch_size=2)]
    assert [b.tolist() for b in DataLoader(ours, batch_size=2)] == batches


def test_a_map_dataset_and_a_stream_do_not_mix():
    with pytest.raises(TypeError, match="ConcatDataset: datasets\\[1\\] is an IterableDataset"):
        Squares() + Upto(2)
    with pytest.raises(TypeError, match="ChainDataset: datasets\\[1\\] must be an "
                                        "IterableDataset, got Squares"):
        Upto(2) + Squares()
    assert isinstance(Squares() + Squares(), ConcatDataset)
    assert list(Squares() + Squares()) == [0, 1, 4, 0, 1, 4]
    with pytest.raises(TypeError, match="read it with iter"):
        Upto(2)[0]


@pytest.mark.torch
def test_map_plus_stream_is_refused_by_pytorch_too():
    tud = pytest.importorskip("torch.utils.data")

    class TheirStream(tud.IterableDataset):
        def __iter__(self):
            return iter(())

    class TheirMap(tud.Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            return i

    with pytest.raises(AssertionError):
        TheirMap() + TheirStream()


@pytest.mark.torch
def test_stack_dataset_matches_pytorch():
    torch = pytest.importorskip("torch")
    tud = torch.utils.data
    a, b = np.arange(6.0).reshape(3, 2), np.array([5, 6, 7])
    ours, theirs = StackDataset(TensorDataset(a), b), tud.StackDataset(
        tud.TensorDataset(torch.tensor(a)), b)
    assert len(ours) == len(theirs) == 3
    for i in range(3):
        (x,), y = ours[i]
        (tx,), ty = theirs[i]
        assert x.tolist() == tx.tolist() and y == ty
    ours, theirs = StackDataset(x=a, y=b), tud.StackDataset(x=a, y=b)
    assert ours[1].keys() == theirs[1].keys() and ours[1]["y"] == theirs[1]["y"]
    batch = next(iter(DataLoader(ours, batch_size=2)))
    their_batch = next(iter(tud.DataLoader(theirs, batch_size=2)))
    assert sorted(batch) == ["x", "y"]
    assert batch["x"].tolist() == their_batch["x"].tolist()
    assert batch["y"].tolist() == their_batch["y"].tolist()


def test_stack_dataset_errors_name_the_lengths():
    with pytest.raises(ValueError, match=r"size mismatch between datasets, the lengths are "
                                         r"datasets\[0\]: 3, datasets\[1\]: 2"):
        StackDataset([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="x: 3, y: 1"):
        StackDataset(x=[1, 2, 3], y=[1])
    with pytest.raises(ValueError, match="not both"):
        StackDataset([1], y=[2])
    with pytest.raises(ValueError, match="at least one dataset"):
        StackDataset()
    with pytest.raises(TypeError, match="map-style dataset"):
        StackDataset(Upto(2))


def _distributed_sampler_without_shuffle_is_pytorchs_case(n, replicas, drop_last):
    tud = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = tud.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                        drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == ours.num_samples == theirs.num_samples
        assert ours.total_size == theirs.total_size


@pytest.mark.torch
def test_distributed_sampler_without_shuffle_is_pytorchs():
    each_case(_distributed_sampler_without_shuffle_is_pytorchs_case, grid(
        ("drop_last", [False, True]),
        ("replicas", [1, 2, 3, 4]),
        ("n", [0, 1, 5, 10, 11]),
    ))


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (12, 4, False),
                                                    (5, 7, False)])
def test_distributed_sampler_shuffles_the_same_way_on_every_rank(n, replicas, drop_last):
    def shares(epoch, seed=0):
        out = []
        for rank in range(replicas):
            s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, seed=seed,
                                   drop_last=drop_last)
            s.set_epoch(epoch)
            out.append(list(s))
        return out

    first = shares(0)
    assert first == shares(0)  # the same seed and epoch: the same permutation on every rank
    assert first != shares(1) and first != shares(0, seed=1)
    size = len(first[0])
    assert all(len(part) == size for part in first)
    everything = [i for part in first for i in part]
    if drop_last:  # disjoint: whole rounds of distinct indices
        assert len(set(everything)) == len(everything) == size * replicas
    else:  # covering: every index, the padding repeats the first ones of the permutation
        assert set(everything) == set(range(n))
    interleaved = [first[r][k] for k in range(size) for r in range(replicas)]
    order = list(np.random.default_rng(0).permutation(n))
    assert interleaved == (order * replicas)[:size * replicas]


def test_distributed_sampler_defaults_and_errors():
    s = DistributedSampler(range(4))
    assert (s.num_replicas, s.rank, s.shuffle, s.seed, s.drop_last, s.epoch) == (1, 0, True, 0,
                                                                                 False, 0)
    assert sorted(s) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"invalid rank 2, rank should be in the interval "
                                         r"\[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(ValueError, match="invalid rank 1, .*num_replicas=1, the default"):
        DistributedSampler(range(4), rank=1)
    with pytest.raises(ValueError, match="num_replicas must be an int >= 1, got 0"):
        DistributedSampler(range(4), num_replicas=0)
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        s.set_epoch(-1)
    with pytest.raises(TypeError, match="dataset must define __len__"):
        DistributedSampler(Plain())


def test_distributed_sampler_feeds_a_loader():
    ds = TensorDataset(np.arange(10.0))
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False)
    batches = [b[0].tolist() for b in DataLoader(ds, batch_size=2, sampler=sampler)]
    assert batches == [[1.0, 3.0], [5.0, 7.0], [9.0]]
