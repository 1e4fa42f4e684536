"""``tensor``, ``as_tensor`` and ``from_numpy`` of arrays PyTorch refuses or reads as plain ones
(found by the wave-23 data helper): a record (structured-dtype) array became a Tensor of a void
dtype that no op accepts (``t + 1`` failed deep inside NumPy), and an ``np.matrix`` stayed a
matrix inside the Tensor (``as_tensor``, ``from_numpy``), which keeps two axes under indexing
and reduction. PyTorch refuses the first ("can't convert np.ndarray of type numpy.void") and
reads the second as a plain array; so does chainrule, ``from_numpy`` still sharing memory."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

RECORDS = np.zeros(3, dtype=[("x", "f4"), ("y", "i4")])


@pytest.mark.parametrize("make", [cr.tensor, cr.as_tensor, cr.from_numpy],
                         ids=["tensor", "as_tensor", "from_numpy"])
def test_record_and_object_arrays_are_refused(make):
    for bad, shown in ((RECORDS, r"dtype \[\('x', '<f4'\), \('y', '<i4'\)\]"),
                       (np.array([1, "a"], dtype=object), "dtype object")):
        with pytest.raises(TypeError, match=f"cannot make a numeric tensor from .*{shown}"):
            make(bad)


@pytest.mark.parametrize("make", [cr.tensor, cr.as_tensor, cr.from_numpy],
                         ids=["tensor", "as_tensor", "from_numpy"])
@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_a_matrix_becomes_a_plain_array(make):
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    t = make(m)
    assert type(t._data) is np.ndarray and t.shape == (2, 2)
    assert t[0].shape == (2,) and t.sum(dim=0).shape == (2,)  # a matrix would keep (1, 2)
    if make is cr.from_numpy:
        m[0, 0] = 9.0
        assert t[0, 0].item() == 9.0  # still the same memory
