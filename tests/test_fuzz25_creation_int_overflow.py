"""Fuzz wave 25: ``tensor()`` of a Python int that int64 cannot hold.

Before this wave NumPy's inference decided silently: ``tensor([2**63])`` and ``tensor(2**63)``
were uint64 tensors and ``tensor([1, 2**63])`` a float32 one; PyTorch refuses them all
("Overflow when unpacking long long"). They are now a ValueError naming the int and the way
out (``dtype=``); NumPy scalars of uint64 and in-range ints are unchanged.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("data", [[2**63], 2**63, [1, 2**63], [[0], [2**63]], [True, 2**63]])
def test_python_int_beyond_int64_is_refused(data):
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        torch.tensor(data)
    with pytest.raises(ValueError, match=r"Python int 9223372036854775808 does not fit int64"):
        cr.tensor(data)
    with pytest.raises(ValueError, match="does not fit int64"):
        cr.as_tensor(data)


def test_in_range_and_typed_data_unchanged():
    assert cr.tensor([2**63 - 1, -2**63]).tolist() == [2**63 - 1, -2**63]
    assert cr.tensor([2**63 - 1]).dtype == cr.int64
    assert cr.tensor([np.uint64(2**63)]).dtype == "uint64"
    assert cr.tensor([2**63], dtype=cr.float64).tolist() == [2.0**63]
    assert cr.tensor([1.5, 2]).dtype == cr.float32
    assert cr.tensor(2.5).dtype == cr.float32 and cr.tensor(1j).dtype == cr.complex64


def test_a_float_beside_it_makes_a_float_tensor():
    ours, theirs = cr.tensor([2.5, 2**63]), torch.tensor([2.5, 2**63])
    assert ours.dtype == cr.float32 and ours.tolist() == theirs.tolist()
