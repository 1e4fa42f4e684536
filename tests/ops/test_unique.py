"""unique(dim=...) and unique_consecutive (ops/unique.py): values, inverse indices and counts
against PyTorch (integers, floats with NaN and -0.0, bool, 3-D along each dim), and the errors."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

ROWS = np.array([[1, 2, 1], [0, 5, 0], [1, 2, 1], [0, 1, 9], [0, 1, 9], [-3, 7, 7]])
CASES = {
    "int_rows": ROWS,
    "float_nan": np.array([[1.0, np.nan], [1.0, np.nan], [-0.0, 2.0], [0.0, 2.0], [0.5, -1.0]]),
    "bool": np.array([[True, False], [False, True], [True, False], [True, True]]),
    "3d": np.random.default_rng(0).integers(0, 2, (4, 3, 2)),
    "flat_runs": np.array([1, 1, 2, 2, 3, 1, 1, 2, np.nan, np.nan]),
    "empty_rows": np.zeros((0, 3)),
    "scalar": np.array(5),
}


def _same(ours, theirs):
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        if b.dtype.is_floating_point:  # -0.0 versus 0.0: the kept slice is PyTorch's
            np.testing.assert_array_equal(np.signbit(a.numpy()), np.signbit(b.numpy()))


def _both(ours, theirs):
    """The same results, or PyTorch refuses and so do we (a clear ValueError)."""
    try:
        expected = theirs()
    except RuntimeError as err:
        assert "0 sized dimensions" in str(err)
        with pytest.raises(ValueError, match="zero-size dimension"):
            ours()
        return
    _same(ours(), expected)


def _dims(a):
    return [None] + list(range(a.ndim)) + ([-1] if a.ndim else [])


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    a = CASES[name]
    for dim in _dims(a):
        for inv in (False, True):
            for cnt in (False, True):
                kw = dict(return_inverse=inv, return_counts=cnt, dim=dim)
                _both(lambda: cr.unique_consecutive(cr.tensor(a), **kw),
                      lambda: torch.unique_consecutive(torch.tensor(a), **kw))
                _both(lambda: cr.tensor(a).unique_consecutive(**kw),
                      lambda: torch.tensor(a).unique_consecutive(**kw))
                if dim is not None:  # unique without dim: tests/ops/test_torch_math.py
                    _both(lambda: cr.unique(cr.tensor(a), True, inv, cnt, dim),
                          lambda: torch.unique(torch.tensor(a), True, inv, cnt, dim))
                    _both(lambda: cr.tensor(a).unique(dim=dim, return_inverse=inv,
                                                      return_counts=cnt),
                          lambda: torch.tensor(a).unique(dim=dim, return_inverse=inv,
                                                         return_counts=cnt))


def test_inverse_rebuilds_the_input_and_counts_add_up():
    values, inverse, counts = cr.unique(cr.tensor(ROWS), return_inverse=True,
                                        return_counts=True, dim=0)
    np.testing.assert_array_equal(values.numpy()[inverse.numpy()], ROWS)
    assert int(counts.numpy().sum()) == ROWS.shape[0]
    rows = [tuple(r) for r in values.numpy()]
    assert rows == sorted(set(rows))  # sorted lexicographically, no repeats


def test_errors():
    with pytest.raises(IndexError, match="no dimensions"):
        cr.unique(cr.tensor(5), dim=0)
    with pytest.raises(ValueError, match=r"zero-size dimension other than dim=0"):
        cr.unique(cr.zeros(3, 0), dim=0)
    with pytest.raises(ValueError, match="unique_consecutive"):
        cr.unique_consecutive(cr.tensor(ROWS), dim=3)
    with pytest.raises(TypeError, match="input must be a Tensor, got list"):
        cr.unique_consecutive([1, 1, 2])
