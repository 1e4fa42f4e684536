"""Wave 23: ``SubsetRandomSampler`` over the keys of a dict-like dataset, as PyTorch's (2.13).

``SubsetRandomSampler(["a", "c"])`` was a TypeError ("indices must be integers") although the
DataLoader and ``Subset`` take such keys and PyTorch's sampler yields them; only numbers that
are not integers (``1.5``, which ``int()`` would truncate to another sample) are refused.
"""

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


@pytest.mark.parametrize("keys", [["a", "c"], [("x", 0), ("y", 1), ("x", 1)]], ids=repr)
def test_subset_random_sampler_yields_the_keys_of_a_dict_dataset(keys):
    dataset = {k: float(i) for i, k in enumerate([*keys, "unused"])}
    theirs = torch.utils.data.SubsetRandomSampler(keys)
    ours = cr.data.SubsetRandomSampler(keys, generator=cr.Generator().manual_seed(0))
    assert sorted(ours) == sorted(theirs) == sorted(keys) and len(ours) == len(theirs)
    batches = [b.tolist() for b in cr.data.DataLoader(dataset, sampler=ours, batch_size=len(keys))]
    assert len(batches) == 1 and sorted(batches[0]) == [dataset[k] for k in keys]


@pytest.mark.parametrize("indices", [[1, 2.5], [cr.tensor(1.5)]], ids=repr)
def test_a_number_that_is_not_an_integer_is_still_refused(indices):
    with pytest.raises(TypeError, match="SubsetRandomSampler: indices must be integers"):
        cr.data.SubsetRandomSampler(indices)
