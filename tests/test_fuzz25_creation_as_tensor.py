"""Fuzz wave 25: ``as_tensor``/``asarray`` of a NumPy scalar.

Before this wave ``cr.as_tensor(np.int64(5))`` and ``cr.asarray(np.int64(5))`` gave
``zeros(5)`` in float32: the NumPy integer scalar reached the Tensor constructor, which read it
as a size (a dataset's label ``as_tensor(targets[i])`` became a vector of zeros). PyTorch's is
the 0-d tensor ``tensor(5)`` of the scalar's dtype.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SCALARS = [np.int64(5), np.int32(3), np.uint8(4), np.int8(-2), np.float32(2.5),
           np.float16(1.5), np.bool_(True), np.float64(0.25)]


@pytest.mark.parametrize("k", range(len(SCALARS)))
@pytest.mark.parametrize("make", [
    lambda t, v: t.as_tensor(v), lambda t, v: t.asarray(v),
    lambda t, v: t.as_tensor(v, dtype=t.float64), lambda t, v: t.asarray(v, copy=True),
])
def test_numpy_scalar_gives_a_0d_tensor(make, k):
    ours, theirs = make(cr, SCALARS[k]), make(torch, SCALARS[k])
    assert ours.shape == () == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    assert ours.item() == theirs.item()
