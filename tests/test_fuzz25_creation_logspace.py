"""Fuzz wave 25: ``logspace`` against PyTorch.

Before this wave ``logspace`` raised ``base`` to NumPy's ``linspace`` in float64 for every
dtype. For an integer dtype PyTorch first truncates ``start`` and ``end`` to it, so
``logspace(0.5, 2.5, 3, dtype=int64)`` was [3, 31, 316] where PyTorch's is [1, 10, 100]; in
float64 about one value in six was an ulp off (``logspace(0, 1, 5)[3]``), from NumPy's
linspace and its array ``power``. The exponents are now PyTorch's (multiply and add rounded
apart) and each power the C library's ``pow``.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8"])
@pytest.mark.parametrize("args", [(0.5, 2.5, 3, 10), (1.7, 3.2, 4, 3), (0, 3, 4, 2.5),
                                  (-1, 1, 3, 10), (0, 10, 7, 10)])
def test_integer_logspace_truncates_the_ends(args, dtype):
    *ends, base = args
    ours = cr.logspace(*ends, base=base, dtype=getattr(cr, dtype))
    theirs = torch.logspace(*ends, base=base, dtype=getattr(torch, dtype))
    assert str(ours.dtype) == dtype and ours.tolist() == theirs.tolist()


def test_float64_logspace_to_the_last_bit():
    for start, end in [(0, 1), (0, 7), (-2.3, 4.7), (0, 100), (3, -3)]:
        for steps in (4, 5, 11, 50):
            for base in (10, 2, 0.3, np.e):
                ours = cr.logspace(start, end, steps, base=base, dtype=cr.float64).numpy()
                theirs = torch.logspace(start, end, steps, base=base, dtype=torch.float64)
                np.testing.assert_array_equal(ours, theirs.numpy())


def test_logspace_edges():
    assert cr.logspace(-1, 1, 3, base=0, dtype=cr.float64).tolist() == [float("inf"), 1.0, 0.0]
    assert np.isnan(cr.logspace(0, 1, 3, base=-2, dtype=cr.float64).numpy()[1])
    ends = cr.tensor(0.5), cr.tensor(2.5)
    assert cr.logspace(*ends, 3, dtype=cr.int64).tolist() == [1, 10, 100]
    assert cr.logspace(0, 2, 3).dtype == cr.float32
    assert cr.logspace(0, 2, 3).tolist() == [1.0, 10.0, 100.0]


def test_steps_as_a_0d_tensor():
    # was: ValueError "steps must be a non-negative int, got tensor(3)"; PyTorch takes it
    np.testing.assert_array_equal(cr.linspace(0, 1, cr.tensor(3)).numpy(),
                                  torch.linspace(0, 1, torch.tensor(3)).numpy())
    np.testing.assert_array_equal(cr.logspace(0, 2, cr.tensor(3)).numpy(),
                                  torch.logspace(0, 2, torch.tensor(3)).numpy())
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        cr.linspace(0, 1, cr.tensor(3.0))
