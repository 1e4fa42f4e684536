"""Fuzz wave 18: sampler indices that are not integers.

``SubsetRandomSampler([1.5, 2.0])`` gave 1 and 2 (``int()`` truncated each index, so a float
index read another sample in silence); PyTorch yields the floats, and the dataset's indexing
refuses them. chainrule now refuses them when the sampler is made, naming the index.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.utils.data as cdata


@pytest.mark.parametrize(
    "indices", [[1.5, 2.0], [2.0], np.array([0.5, 3.0]), cr.tensor([1.0, 2.0])], ids=repr
)
def test_subset_random_sampler_refuses_float_indices(indices):
    with pytest.raises(TypeError, match="SubsetRandomSampler: indices must be integers"):
        cdata.SubsetRandomSampler(indices)


def test_subset_random_sampler_takes_integer_indices_of_any_kind():
    for indices in ([5, 2, 7], np.array([5, 2, 7], np.int32), cr.tensor([5, 2, 7]), range(5, 8)):
        got = list(cdata.SubsetRandomSampler(indices, generator=cr.Generator().manual_seed(0)))
        assert sorted(got) == sorted(int(i) for i in indices)
        assert all(type(i) is int for i in got)


def test_pytorch_also_never_reads_sample_one_for_index_one_and_a_half():
    torch = pytest.importorskip("torch")
    data = list(range(10))
    with pytest.raises(TypeError):
        list(torch.utils.data.DataLoader(data, sampler=torch.utils.data.SubsetRandomSampler([1.5])))
    with pytest.raises(TypeError):
        list(cdata.DataLoader(data, sampler=cdata.SubsetRandomSampler([1.5])))
