"""Fuzz wave 25: a TensorDataset reads its Tensors as they are when a pass runs, as PyTorch's: a
Tensor whose ``.data`` was replaced after the dataset was made (data normalized by
``x.data = (x.data - mean) / std``) gave the loader's batches the old values, while ``ds[i]``
gave the new ones."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset


@pytest.mark.parametrize("options", [{}, {"shuffle": True, "rng": 0}, {"num_workers": 2}])
def test_batches_follow_a_replaced_data(options):
    x, y = cr.arange(8.0).reshape(4, 2), cr.tensor([0, 1, 2, 3])
    data = TensorDataset(x, y)
    x.data = (x.data - 3.0) / 2.0
    rows = np.concatenate([xb.numpy() for xb, _ in DataLoader(data, batch_size=3, **options)])
    order = np.concatenate([yb.numpy() for _, yb in DataLoader(data, batch_size=3, **options)])
    expected = (np.arange(8.0).reshape(4, 2) - 3.0) / 2.0
    if not options.get("shuffle"):
        np.testing.assert_array_equal(order, [0, 1, 2, 3])
    np.testing.assert_array_equal(np.sort(rows, axis=0), expected)
    np.testing.assert_array_equal(data[1][0].numpy(), expected[1])


def test_the_pytorch_loader_agrees():
    torch = pytest.importorskip("torch")
    batches = []
    for lib in (torch, cr):
        x = lib.arange(6.0).reshape(3, 2)
        data = (torch.utils.data if lib is torch else cr.data).TensorDataset(x)
        x.data = x.data * 10
        loader = (torch.utils.data if lib is torch else cr.data).DataLoader(data, batch_size=3)
        batches.append(next(iter(loader))[0].numpy())
    np.testing.assert_array_equal(batches[0], batches[1])
