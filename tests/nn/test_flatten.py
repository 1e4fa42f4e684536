"""Flatten and Unflatten: shapes, round trip, gradients, validation, PyTorch parity."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

pytestmark = pytest.mark.kernel_free


def _x(rng, *shape, dtype="float32", requires_grad=False):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


@pytest.mark.parametrize("start, end, expected", [
    (1, -1, (2, 60)), (0, -1, (120,)), (1, 2, (2, 12, 5)), (-2, -1, (2, 3, 20)),
    (2, 2, (2, 3, 4, 5)),
])
def test_flatten_shapes(rng, start, end, expected):
    x = _x(rng, 2, 3, 4, 5)
    y = nn.Flatten(start, end)(x)
    assert y.shape == expected
    np.testing.assert_array_equal(y._data, x._data.reshape(expected))


def test_unflatten_inverts_flatten(rng):
    x = _x(rng, 2, 1, 28, 28)
    flat = nn.Flatten()(x)
    assert flat.shape == (2, 784)
    back = nn.Unflatten(1, (1, 28, 28))(flat)
    np.testing.assert_array_equal(back._data, x._data)
    assert nn.Unflatten(-1, (-1, 28))(flat).shape == (2, 28, 28)


def test_gradients(rng):
    x = _x(rng, 2, 3, 4, dtype="float64", requires_grad=True)
    assert cr.gradcheck(nn.Flatten(), x)
    assert cr.gradcheck(nn.Unflatten(2, (2, 2)), x)


def test_reprs():
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"  # PyTorch's names
    assert repr(nn.Unflatten(1, (1, 28, 28))) == "Unflatten(dim=1, unflattened_size=(1, 28, 28))"


def test_validation(rng):
    x = _x(rng, 2, 3, 4)
    with pytest.raises(ValueError, match=r"Flatten: axis 3 is out of range for input of shape"):
        nn.Flatten(3)(x)
    with pytest.raises(ValueError, match="Flatten: start_axis 2 comes after end_axis 1"):
        nn.Flatten(2, 1)(x)
    with pytest.raises(TypeError, match="Flatten: start_axis must be an int, got 1.0"):
        nn.Flatten(1.0)
    with pytest.raises(ValueError, match=r"Unflatten: axis 1 of size 3 \(input shape \(2, 3, 4\)\) "
                                         r"cannot be split into \(2, 2\)"):
        nn.Unflatten(1, (2, 2))(x)
    with pytest.raises(ValueError, match="sizes must be positive with at most one -1"):
        nn.Unflatten(1, (-1, -1))
    with pytest.raises(TypeError, match="sizes must be a non-empty tuple of ints"):
        nn.Unflatten(1, 4)


@pytest.mark.torch
def test_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x = _x(rng, 2, 3, 4, 5)
    tx = torch.from_numpy(x.numpy().copy())
    pairs = [(nn.Flatten(), torch.nn.Flatten()), (nn.Flatten(0, 2), torch.nn.Flatten(0, 2))]
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours(x)._data, theirs(tx).numpy())
    np.testing.assert_array_equal(nn.Unflatten(2, (2, 2))(x)._data,
                                  torch.nn.Unflatten(2, (2, 2))(tx).numpy())


def test_torch_keywords_zero_d_and_empty_splits(rng):
    torch = pytest.importorskip("torch")
    x = _x(rng, 2, 3, 4)
    assert nn.Flatten(start_dim=0, end_dim=1)(x).shape == (6, 4)
    assert nn.Unflatten(dim=2, unflattened_size=(2, 2))(x).shape == (2, 3, 2, 2)
    with pytest.raises(TypeError, match="give the axis once"):
        nn.Flatten(2, start_dim=0)
    assert nn.Flatten(0)(cr.tensor(3.0)).shape == (1,) == tuple(torch.nn.Flatten(0)(
        torch.tensor(3.0)).shape)
    empty = cr.zeros((2, 0))
    assert nn.Unflatten(1, (0, 5))(empty).shape == (2, 0, 5)
    with pytest.raises(ValueError, match="0 only without a -1"):
        nn.Unflatten(1, (0, -1))


def test_pytorchs_attribute_names():
    # PyTorch code reads m.start_dim / m.dim / m.unflattened_size: they were AttributeErrors;
    # found by the fifth fuzz wave
    torch = pytest.importorskip("torch")
    for ours, theirs in [(nn.Flatten(0, 2), torch.nn.Flatten(0, 2)),
                         (nn.Flatten(start_dim=2), torch.nn.Flatten(start_dim=2))]:
        assert (ours.start_dim, ours.end_dim) == (theirs.start_dim, theirs.end_dim)
    ours, theirs = nn.Unflatten(1, (2, 2)), torch.nn.Unflatten(1, (2, 2))
    assert (ours.dim, ours.unflattened_size) == (theirs.dim, theirs.unflattened_size)
