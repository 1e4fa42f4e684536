"""``Tensor.shape`` is a ``Size``, as PyTorch's ``x.shape`` is a ``torch.Size``: programs call
``x.shape.numel()`` and compare it with a ``torch.Size`` or a tuple. It prints as a plain tuple,
as chainrule's messages and doctests show a shape."""

import pickle

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
def test_shape_is_a_size_as_pytorchs(shape):
    x, tx = cr.zeros(shape), torch.zeros(shape)
    assert isinstance(x.shape, cr.Size) and isinstance(x.shape, tuple)
    assert x.shape.numel() == tx.shape.numel() == x.numel()
    assert x.shape == tx.shape == torch.Size(shape) == shape == x.size()
    assert hash(x.shape) == hash(tx.shape) and {x.shape: 1}[shape] == 1
    assert str(x.shape) == repr(x.shape) == f"{x.shape}" == str(shape)
    assert pickle.loads(pickle.dumps(x.shape)) == shape
    assert cr.zeros(x.shape).shape == shape and np.zeros(x.shape).shape == shape


def test_shape_of_a_result_and_of_a_parameter():
    w = cr.nn.Linear(3, 2).weight
    y = w @ cr.ones(3)
    assert w.shape.numel() == 6 and y.shape.numel() == 2
    assert w.shape == torch.nn.Linear(3, 2).weight.shape
