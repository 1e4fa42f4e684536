"""Fuzz wave 25: ``SubsetRandomSampler`` and ``Subset`` keep their ``indices`` as given, as
PyTorch's, so indices appended later (active learning's growing labelled pool) are read: both
copied the list when made and silently went on with the first indices."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Subset, SubsetRandomSampler, TensorDataset


def test_a_grown_labelled_pool_is_sampled():
    labelled = [0, 1]
    data = TensorDataset(cr.arange(10.0) * 10)
    loader = DataLoader(data, batch_size=4, sampler=SubsetRandomSampler(
        labelled, generator=np.random.default_rng(0)))
    assert len(loader) == 1
    labelled.extend([5, 6, 7])  # a round of active learning adds to the pool
    seen = sorted(v for (xb,) in loader for v in xb.tolist())
    assert seen == [0.0, 10.0, 50.0, 60.0, 70.0] and len(loader) == 2


def test_a_subset_reads_its_indices_when_a_sample_is_read():
    chosen = [3, 1]
    part = Subset(list(range(100, 110)), chosen)
    chosen.append(-1)
    assert part.indices is chosen
    assert [part[i] for i in range(len(part))] == [103, 101, 109]
    batches = [b.tolist() for b in DataLoader(part, batch_size=2)]
    assert batches == [[103, 101], [109]]


@pytest.mark.parametrize("indices", [np.array([2, 0]), cr.tensor([2, 0]), range(2, -1, -2),
                                     (i for i in (2, 0))])
def test_other_index_sequences_still_give_int_keys(indices):
    part = Subset({0: "a", 2: "c"}, indices)
    assert [part[0], part[1]] == ["c", "a"]
    assert sorted(SubsetRandomSampler([2, 0])) == [0, 2]


def test_the_pytorch_sampler_agrees():
    torch = pytest.importorskip("torch")
    for lib in (torch.utils.data, cr.data):
        pool = [4]
        sampler = lib.SubsetRandomSampler(pool)
        pool += [8, 9]
        assert (len(sampler), sorted(int(i) for i in sampler)) == (3, [4, 8, 9])
