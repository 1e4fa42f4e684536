"""A row of only -inf (a fully masked attention query) gives NaN from softmax and log_softmax
without a NumPy RuntimeWarning, as PyTorch's does silently; other rows are unaffected."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

ROWS = [[-math.inf, -math.inf, -math.inf], [0.0, 1.0, -math.inf], [2.0, -1.0, 0.5]]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_fully_masked_row_is_nan_without_a_warning(name):
    x = cr.tensor(ROWS, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = getattr(cr, name)(x, 1).numpy()
    assert np.isnan(out[0]).all()
    assert np.isfinite(out[2]).all()
    torch = pytest.importorskip("torch")
    theirs = getattr(torch, name)(torch.tensor(ROWS, dtype=torch.float64), 1).numpy()
    np.testing.assert_allclose(out, theirs, rtol=1e-12, atol=0, equal_nan=True)


def test_numpy_warns_again_outside():
    with pytest.warns(RuntimeWarning):
        np.array([-np.inf]) - np.array([-np.inf])
