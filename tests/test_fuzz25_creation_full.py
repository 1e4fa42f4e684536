"""Fuzz wave 25: ``full``'s fill value as PyTorch reads it.

Before this wave ``full``/``full_like``/``new_full`` kept a NumPy scalar's own dtype:
``full((2,), np.int32(3))`` was int32 and ``full((2,), np.float16(2))`` float16, where PyTorch
reads a NumPy scalar as a Python number of its kind (int64; the default float dtype, also for
``np.bool_``). A 0-d Tensor fill value (``full(shape, t.max())``) was refused; PyTorch takes
its value when it needs no gradient.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _values(t):
    return [np.int32(3), np.int8(-2), np.uint8(7), np.float16(2.5), np.float64(1.25),
            np.bool_(True), t.tensor(3), t.tensor(3, dtype=t.int32), t.tensor(True),
            t.tensor(2.5, dtype=t.float64), t.tensor(1 + 2j)]


@pytest.mark.parametrize("k", range(11))
def test_full_fill_dtype_as_torch(k):
    ours, theirs = cr.full((2,), _values(cr)[k]), torch.full((2,), _values(torch)[k])
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    assert ours.tolist() == theirs.tolist()


def test_full_like_and_explicit_dtype():
    assert cr.full((2,), np.float64(3.5), dtype=cr.int64).tolist() == [3, 3]
    assert cr.ones(2).new_full((2,), np.int32(3)).dtype == cr.float32
    with _Default64():
        assert cr.full((1,), np.float32(1.5)).dtype == cr.float64


def test_full_refuses_a_tensor_that_needs_grad_or_has_dims():
    with pytest.raises(TypeError, match="fill_value must be a number"):
        cr.full((2,), cr.tensor(2.0, requires_grad=True))
    with pytest.raises(TypeError, match="fill_value must be a number"):
        cr.full((2,), cr.tensor([2.0]))


class _Default64:
    def __enter__(self):
        self.old = cr.get_default_dtype()
        cr.set_default_dtype(cr.float64)

    def __exit__(self, *exc):
        cr.set_default_dtype(self.old)
