"""``x.new(...)``, PyTorch's legacy constructor, in ``x``'s dtype and device (awd-lstm-lm draws
its dropout masks from ``x.data.new(1, n, d).bernoulli_(1 - p)``); chainrule refused every form."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

FORMS = [((2, 3), (2, 3)), ((), (0,)), (([1, 2],), (2,)), (((2, 3),), (2,)), ((0, 4), (0, 4))]


@pytest.mark.parametrize("args, shape", FORMS)
def test_the_forms_give_pytorchs_shapes_in_the_tensors_dtype(args, shape):
    for dtype in (cr.float64, cr.int32):
        out = cr.zeros(2, dtype=dtype).new(*args)
        assert out.shape == shape and out.dtype == np.dtype(dtype) and not out.requires_grad


def test_a_size_gives_a_shape_and_data_is_kept():
    x = cr.ones(2, dtype=cr.float64)
    assert x.new(cr.Size([3, 1])).shape == (3, 1)
    np.testing.assert_array_equal(x.new([[1, 2], [3, 4]]).numpy(), [[1.0, 2.0], [3.0, 4.0]])
    assert not x.new(2, 2).numpy().any()  # zeros where PyTorch's memory is uninitialized


def test_bad_forms_are_refused_by_name():
    x = cr.ones(2)
    with pytest.raises(TypeError, match="Tensor.new: a Tensor argument"):
        x.new(x)
    with pytest.raises(ValueError, match=r"Tensor.new: sizes must be non-negative, got \(2, -1\)"):
        x.new(2, -1)
    with pytest.raises(TypeError, match="Tensor.new: expected sizes"):
        x.new([1], [2])


@pytest.mark.torch
@pytest.mark.parametrize("args, shape", FORMS)
def test_the_forms_match_pytorch(args, shape):
    torch = pytest.importorskip("torch")
    ours = cr.zeros(2, dtype=cr.float64).new(*args)
    theirs = torch.zeros(2, dtype=torch.float64).new(*args)
    assert ours.shape == tuple(theirs.shape) == shape and str(theirs.dtype) == "torch.float64"
    if args and isinstance(args[0], list):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
