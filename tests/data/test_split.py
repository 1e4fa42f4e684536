"""holdout_split and take_split: the training set's two parts, the second without a copy of it."""

import numpy as np
import pytest

from chainrule.data.split import _SPLIT_BLOCK, holdout_split, take_split


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 3, 2), dtype=np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("n", [20, _SPLIT_BLOCK, 2 * _SPLIT_BLOCK + 3])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_parts_equal_indexing_and_share_the_sets_memory(n, fraction):
    x, y = _images(n)
    fit_idx, val_idx = holdout_split(y, fraction, rng=1)
    want_fit, want_val = (x[fit_idx], y[fit_idx]), (x[val_idx], y[val_idx])
    (x_fit, y_fit), (x_val, y_val) = take_split(x, y, fit_idx, val_idx)
    np.testing.assert_array_equal(x_fit, want_fit[0])
    np.testing.assert_array_equal(y_fit, want_fit[1])
    np.testing.assert_array_equal(x_val, want_val[0])
    np.testing.assert_array_equal(y_val, want_val[1])
    assert x_fit.base is x or x_fit.base is x.base  # a view of the set: no second copy
    assert x_fit.flags.c_contiguous and x_fit.dtype == np.float32


def test_no_validation_part_is_the_set_itself():
    x, y = _images(50)
    fit_idx, val_idx = holdout_split(y, 0, rng=0)
    before = x.copy()
    (x_fit, y_fit), validation = take_split(x, y, fit_idx, val_idx)
    assert x_fit is x and y_fit is y and validation is None
    np.testing.assert_array_equal(x, before)


def test_a_read_only_set_is_copied_not_changed():
    x, y = _images(40)
    x.flags.writeable = False
    before = x.copy()
    fit_idx, val_idx = holdout_split(y, 0.25, rng=0)
    (x_fit, _), (x_val, _) = take_split(x, y, fit_idx, val_idx)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(x_fit, before[fit_idx])
    np.testing.assert_array_equal(x_val, before[val_idx])


@pytest.mark.parametrize("fit_idx", [[0, 2, 1], [0, 0, 3], [-1, 2], [1, 5]])
def test_indices_that_could_overwrite_rows_before_reading_them_are_refused(fit_idx):
    x, y = _images(5)
    before = x.copy()
    with pytest.raises(ValueError, match=r"fit_idx must ascend strictly within \[0, 5\)"):
        take_split(x, y, np.array(fit_idx), np.array([4]))
    np.testing.assert_array_equal(x, before)  # refused before anything moved


def test_a_mask_is_refused_not_read_as_indices():
    x, y = _images(4)
    with pytest.raises(TypeError, match="fit_idx must be a 1-D array of integer indices, got "
                                        "dtype bool"):
        take_split(x, y, np.array([True, False, True, True]), np.array([1]))
