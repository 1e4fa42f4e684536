"""Three slips of this session's own changes, found by reading its diff."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_a_tensor_compared_with_another_chainrule_object_is_pythons_answer():
    # the sparse-comparison fix asked every chainrule object for its array: a Module or a
    # device raised AttributeError ('no attribute __array__'); PyTorch gives False / True
    t = cr.zeros(2)
    assert (t == nn.Linear(2, 2)) is False and (t != nn.Linear(2, 2)) is True
    assert (t == cr.device("cpu")) is False
    with pytest.raises(TypeError, match="to_dense"):
        t == cr.tensor(np.eye(2)[0]).to_sparse()  # noqa: B015 - the comparison raises


def test_a_transposed_convolution_subclassing_convnd_checks_its_input_channels():
    class Custom(nn.modules.conv._ConvNd):  # PyTorch's constructor order, transposed=True
        def forward(self, x):
            self._check(x)
            return x

    layer = Custom(2, 4, (3, 3), (1, 1), (0, 0), (1, 1), True, (0, 0), 1, True, "zeros")
    assert tuple(layer.weight.shape) == (2, 4, 3, 3)  # (in, out / groups, k, k), as PyTorch's
    layer(cr.zeros(1, 2, 5, 5))
    with pytest.raises(ValueError, match="expected input with 2 channels"):
        layer(cr.zeros(1, 6, 5, 5))  # was taken: the check read out_channels as the input's


def test_a_tensor_dataset_does_not_keep_the_arrays_it_was_given():
    x = cr.zeros(4, 2)
    ds = cr.utils.data.TensorDataset(x, cr.ones(4))
    assert not hasattr(ds, "_given")  # held the original arrays alive after x.data = ...
    x.data = cr.ones(4, 2)
    np.testing.assert_array_equal(ds[0][0].numpy(), [1.0, 1.0])
