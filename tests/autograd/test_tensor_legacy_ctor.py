"""``cr.Tensor(data)`` with data other than an array: PyTorch's legacy ``torch.Tensor([1, 2])``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_a_list_becomes_a_float_tensor_of_the_default_dtype():
    """It held the list itself (shape, dtype and every op then failed or misbehaved)."""
    t = cr.Tensor([[1, 2], [3, 4]])
    assert t.dtype == np.float32 and t.shape == (2, 2)
    np.testing.assert_array_equal((t * 2).numpy(), [[2, 4], [6, 8]])
    with _DefaultFloat64():
        assert cr.Tensor((1.5, 2.5)).dtype == np.float64
    assert cr.Tensor([]).shape == (0,)


class _DefaultFloat64:
    def __enter__(self):
        self.old = cr.get_default_dtype()
        cr.set_default_dtype(cr.float64)

    def __exit__(self, *exc):
        cr.set_default_dtype(self.old)


def test_a_numpy_scalar_becomes_a_0d_array_and_a_tensor_its_values():
    t = cr.Tensor(np.float64(2.5))
    assert t.shape == () and t.dtype == np.float64 and isinstance(t._data, np.ndarray)
    x = cr.tensor([1.0, 2.0])
    assert cr.Tensor(x)._data is x._data


@pytest.mark.parametrize("value", [2.5, True])
def test_a_bare_float_or_bool_is_refused_with_the_way_out(value):
    with pytest.raises(TypeError, match=r"Tensor: data must be an array.*cr\.tensor"):
        cr.Tensor(value)


def test_ints_or_a_size_are_a_size_as_in_custom_layers():
    """``nn.Parameter(torch.Tensor(out, in))`` then ``reset_parameters`` (Set Transformer,
    pygcn, many custom layers) was a TypeError: the ints were data and requires_grad."""
    w = cr.nn.Parameter(cr.Tensor(3, 2))
    assert w.shape == (3, 2) and w.dtype == np.float32 and not w.numpy().any()
    assert cr.Tensor(4).shape == (4,) and cr.Tensor(cr.Size([2, 0])).shape == (2, 0)
    assert cr.Tensor(np.int64(2), 3).shape == (2, 3)
    with _DefaultFloat64():
        assert cr.Tensor(1, 2).dtype == np.float64
    for bad in [(2, 2.5), (-1,), (2, True), ([1, 2], 3), (np.ones(2), 3)]:
        with pytest.raises(TypeError, match="sizes must be non-negative ints"):
            cr.Tensor(*bad)


@pytest.mark.torch
def test_matches_pytorchs_legacy_constructor():
    torch = pytest.importorskip("torch")
    data = [[0.5, -1], [2, 3.25]]
    ours, theirs = cr.Tensor(data), torch.Tensor(data)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(TypeError):
        torch.Tensor(2.5)
    for sizes in [(2, 3), (4,), (cr.Size([1, 2]),)]:
        theirs = torch.Tensor(*[torch.Size(a) if isinstance(a, cr.Size) else a for a in sizes])
        ours = cr.Tensor(*sizes)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
