"""Small PyTorch names: ``Generator``, ``inference_mode``, ``F.one_hot``, ``ConcatDataset``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_one_hot_matches_torch():
    idx = np.array([[0, 3], [2, 1]])
    ours = cr.nn.functional.one_hot(cr.tensor(idx), 5)
    assert ours.dtype == cr.int64 and ours.shape == (2, 2, 5)
    assert cr.one_hot(cr.tensor([1, 0])).tolist() == [[0, 1], [1, 0]]
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(ours.numpy(), torch.nn.functional.one_hot(
        torch.tensor(idx), 5).numpy())
    np.testing.assert_array_equal(cr.one_hot(cr.tensor(idx)).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(idx)).numpy())
    with pytest.raises(ValueError, match="num_classes must be -1 or an int above every index"):
        cr.one_hot(cr.tensor([4]), 3)
    with pytest.raises(TypeError, match="integer class indices, got dtype float32"):
        cr.one_hot(cr.tensor([1.0]))


def test_one_hot_of_an_empty_tensor_needs_num_classes():
    # the class count of no indices was taken as 0 (a (2, 0, 0) result) where PyTorch raises;
    # found by the fifth fuzz wave
    empty = np.zeros((2, 0), dtype=np.int64)
    with pytest.raises(ValueError, match=r"one_hot: num_classes=-1 cannot be inferred from an "
                                         r"empty tensor \(shape \(2, 0\)\); pass num_classes"):
        cr.nn.functional.one_hot(cr.tensor(empty))
    assert cr.one_hot(cr.tensor(empty), 3).shape == (2, 0, 3)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="empty tensor"):
        torch.nn.functional.one_hot(torch.tensor(empty))


def test_generator_serves_generator_and_rng_arguments():
    g = cr.Generator().manual_seed(42)
    assert isinstance(g, np.random.Generator) and g.initial_seed() == 42
    assert g.permutation(6).tolist() == np.random.default_rng(42).permutation(6).tolist()
    data = cr.utils.data.TensorDataset(cr.arange(10))
    a = cr.utils.data.random_split(data, [0.7, 0.3], generator=cr.Generator().manual_seed(1))
    b = cr.utils.data.random_split(data, [0.7, 0.3], rng=np.random.default_rng(1))
    assert a[0].indices == b[0].indices
    loader = cr.utils.data.DataLoader(data, batch_size=10, shuffle=True,
                                      generator=cr.Generator().manual_seed(5))
    first = next(iter(loader))[0].tolist()
    again = cr.utils.data.DataLoader(data, batch_size=10, shuffle=True, rng=5)
    assert first == next(iter(again))[0].tolist()
    with pytest.raises(TypeError, match="generator= takes a chainrule.Generator"):
        cr.utils.data.DataLoader(data, generator=object())
    with pytest.raises(ValueError, match=r"seed must be an int in \[-2\*\*63, 2\*\*64\), got 2\.5"):
        cr.Generator().manual_seed(2.5)
    assert cr.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # as PyTorch


def test_inference_mode_is_no_grad():
    w = cr.ones(2, requires_grad=True)
    with cr.inference_mode():
        assert not (w * 2).requires_grad
    with cr.inference_mode(False):
        assert (w * 2).requires_grad

    @cr.inference_mode()
    def predict(x):
        return x * w

    assert not predict(cr.ones(2)).requires_grad


def test_concat_dataset():
    a = cr.utils.data.TensorDataset(cr.arange(3))
    b = [(cr.tensor(10),), (cr.tensor(11),)]
    both = cr.utils.data.ConcatDataset([a, b])
    assert len(both) == 5 and both.cumulative_sizes == [3, 5]
    assert [int(both[i][0]) for i in range(5)] == [0, 1, 2, 10, 11] and int(both[-1][0]) == 11
    with pytest.raises(IndexError, match="index 5 is out of range for 5 samples"):
        both[5]
    assert [x.tolist() for (x,) in cr.utils.data.DataLoader(both, batch_size=4)] == \
        [[0, 1, 2, 10], [11]]
