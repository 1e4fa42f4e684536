"""Fuzz wave 25: NumPy integer arguments that PyTorch takes as ints.

Before this wave a NumPy integer (a count from ``np.argmax``, ``len`` of an array's shape
arithmetic, a config loaded with NumPy) was refused where PyTorch takes it:
``x.std(correction=np.int64(1))`` and ``var`` ("ddof must be a non-negative number"),
``topk(x, np.int64(2))``, ``kthvalue(x, np.int64(2))``, ``one_hot(t, np.int64(4))`` and
``polygamma(np.int64(1), x)``.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

I = np.int64


@pytest.mark.parametrize("make", [
    lambda t, f: t.arange(12.0).reshape(3, 4).std(correction=I(1)),
    lambda t, f: t.var(t.arange(12.0).reshape(3, 4), dim=I(1), correction=I(0)),
    lambda t, f: t.arange(12.0).reshape(3, 4).half().std(correction=I(1)),
    lambda t, f: t.arange(12.0).reshape(3, 4).topk(I(2))[0],
    lambda t, f: t.arange(12.0).reshape(3, 4).kthvalue(I(2))[0],
    lambda t, f: f.one_hot(t.tensor([0, 2]), I(4)),
    lambda t, f: t.polygamma(I(1), t.arange(1.0, 5.0)),
    lambda t, f: t.arange(1.0, 5.0).polygamma(np.int32(2)),
])
def test_numpy_int_arguments_as_torch(make):
    ours, theirs = make(cr, F), make(torch, TF)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float),
                               rtol=1e-6)


def test_still_refused_where_torch_refuses():
    with pytest.raises(ValueError, match="topk: k must be an int"):
        cr.arange(4.0).topk(np.float64(2.0))
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative int"):
        cr.polygamma(I(-1), cr.arange(1.0, 3.0))
