"""Fuzz wave 25: ``arange`` of float bounds into an integer dtype, against PyTorch.

Before this wave the values were NumPy's float ``arange`` truncated one by one, and its length
came from the float bounds. PyTorch truncates ``start`` and ``step`` to ints first (and, for
int64, ``end`` too, before taking the length): ``arange(0.5, 3.7, dtype=int64)`` was
[0, 1, 2, 3] where PyTorch's is [0, 1, 2]; ``arange(1, 2.5, dtype=int64)`` [1, 2] where it is
[1]; ``arange(0, 1, 0.1, dtype=int64)`` ten zeros where PyTorch raises (a step of 0).
"""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("bounds", [(0.5, 3.7), (1, 2.5), (-1.5, 2.5, 0.5), (2.7, -3.2, -1),
                                    (-2.5, 3), (0, 10, 2.5), (3.5, 1, -0.7), (0.9, 0.95)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_arange_of_float_bounds(bounds, dtype):
    if dtype == "uint8" and min(bounds[:2]) < 0:
        pytest.skip("negative values wrap in uint8 (PyTorch's cast, not checked here)")
    try:
        theirs = torch.arange(*bounds, dtype=getattr(torch, dtype))
    except (RuntimeError, ValueError):  # an int64 step truncated to 0
        with pytest.raises(ValueError, match="step must be nonzero"):
            cr.arange(*bounds, dtype=getattr(cr, dtype))
        return
    ours = cr.arange(*bounds, dtype=getattr(cr, dtype))
    assert str(ours.dtype) == dtype and ours.tolist() == theirs.tolist()


def test_int64_step_truncated_to_zero_is_refused():
    with pytest.raises(ValueError, match="step 0.1 truncated to int64 is 0"):
        cr.arange(0, 1, 0.1, dtype=cr.int64)
    assert cr.arange(0, 1, 0.1, dtype=cr.int32).tolist() == [0] * 10  # PyTorch's too
    out = cr.zeros(3, dtype=cr.int64)
    assert cr.arange(0.5, 3.7, out=out) is out and out.tolist() == [0, 1, 2]
    assert cr.arange(0.5, 3.7).tolist() == pytest.approx([0.5, 1.5, 2.5, 3.5])
