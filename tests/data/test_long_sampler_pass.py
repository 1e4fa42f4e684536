"""A sampler with a huge pass (minGPT's trainer: ``RandomSampler(ds, replacement=True,
num_samples=int(1e10))`` read by ``next(iter(loader))``): the indices are drawn as the batches
take them, as PyTorch's are. Before, the sampler drew all 1e10 at once (a MemoryError) and the
loader listed the whole pass before the first batch."""

import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _min_gpt_batches(lib, workers):
    data = lib.utils.data
    ds = data.TensorDataset(lib.arange(10), lib.arange(10) * 2)
    loader = data.DataLoader(ds, sampler=data.RandomSampler(ds, replacement=True,
                                                            num_samples=int(1e10)),
                             shuffle=False, pin_memory=False, batch_size=4, num_workers=workers)
    data_iter = iter(loader)
    batches = [next(data_iter) for _ in range(3)]
    return len(loader), [[tuple(t.shape) for t in b] for b in batches], batches


@pytest.mark.parametrize("workers", [0, 2])
def test_a_pass_of_1e10_random_samples_starts_at_once_as_pytorchs(workers):
    ours, theirs = _min_gpt_batches(cr, workers), _min_gpt_batches(torch, 0)
    assert ours[:2] == theirs[:2] == (2500000000, [[(4,), (4,)]] * 3)
    for x, y in ours[2]:
        assert ((0 <= x.numpy()) & (x.numpy() < 10)).all()
        np.testing.assert_array_equal(y.numpy(), 2 * x.numpy())


def test_long_samplers_without_replacement_give_whole_permutations_in_turn():
    ds = cr.utils.data.TensorDataset(cr.arange(7))
    sampler = cr.utils.data.RandomSampler(ds, num_samples=int(1e12), generator=cr.Generator()
                                          .manual_seed(3))
    first = list(itertools.islice(iter(sampler), 21))
    assert all(sorted(first[k:k + 7]) == list(range(7)) for k in (0, 7, 14))
    loader = cr.utils.data.DataLoader(ds, sampler=sampler, batch_size=7)
    (batch,) = next(iter(loader))
    assert sorted(batch.tolist()) == list(range(7))


def test_short_samplers_draw_as_before():
    sampler = cr.utils.data.RandomSampler(range(5), num_samples=12,
                                          generator=cr.Generator().manual_seed(0))
    draws = list(sampler)
    assert len(draws) == 12 and sorted(draws[:5]) == sorted(draws[5:10]) == list(range(5))
    with_replacement = cr.utils.data.RandomSampler(range(5), replacement=True, num_samples=70,
                                                   generator=cr.Generator().manual_seed(0))
    assert len(list(with_replacement)) == 70
