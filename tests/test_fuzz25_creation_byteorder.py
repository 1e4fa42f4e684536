"""Fuzz wave 25: NumPy arrays in big-endian byte order (``np.frombuffer(raw, dtype=">i4")``).

Before this wave ``tensor``, ``from_numpy``, ``as_tensor`` and ``asarray`` kept the ``>i4``
dtype, so ``x.dtype == chainrule.int32`` was False and the repr showed ``dtype=>i4``: a check
on the dtype silently took the wrong branch. ``tensor()`` (a copy) now converts to the
machine's order; ``from_numpy``/``as_tensor``/``asarray``, which share memory, refuse it with
PyTorch's error.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype, ours", [(">i4", "int32"), (">f4", "float32"), (">f8", "float64"),
                                         (">u2", "uint16")])
def test_tensor_copies_into_the_machine_order(dtype, ours):
    data = np.array([1, 256], dtype=dtype)
    x = cr.tensor(data)
    assert x.dtype == np.dtype(ours) and str(x.dtype) == ours and x.tolist() == [1, 256]


@pytest.mark.parametrize("make", ["from_numpy", "as_tensor", "asarray"])
def test_sharing_constructors_refuse_as_torch(make):
    data = np.array([1, 256], dtype=">i4")
    with pytest.raises(ValueError, match="byte order different from the native byte order"):
        getattr(torch, make)(data)
    with pytest.raises(ValueError, match="byte order different from the native byte order"):
        getattr(cr, make)(data)
    assert getattr(cr, make)(data.astype("=i4")).tolist() == [1, 256]
