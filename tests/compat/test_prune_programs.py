"""prune_programs.py runs unchanged on PyTorch and on chainrule, from the same weights."""

import numpy as np

from . import prune_programs as programs
from .test_programs import _run_both


def test_pruned_cnn_fine_tunes_alike():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 24)
    x = (rng.normal(0, 1, (24, 1, 8, 8)) + y[:, None, None, None] * 0.5).astype(np.float32)
    results = _run_both(programs.small_cnn,
                        lambda lib, m: programs.prune_and_fine_tune(lib, m, x, y))
    losses, zeros, keys, final, pruned = results["chainrule"]
    assert losses[-1] < losses[0] and not pruned
    assert sum(z * n for z, n in zip(zeros, (36, 432, 36))) >= 0.6 * 504 - 1e-9
    assert keys == ["0.bias", "0.weight_orig", "0.weight_mask", "4.bias", "4.weight_orig",
                    "4.weight_mask", "6.bias", "6.weight_orig", "6.weight_mask"]
    assert list(final) == ["0.bias", "0.weight", "4.bias", "4.weight", "6.bias", "6.weight"]
    if "torch" in results:
        theirs = results["torch"]
        np.testing.assert_allclose(losses, theirs[0], rtol=1e-4, atol=1e-6)
        assert zeros == theirs[1] and keys == theirs[2] and not theirs[4]
        for key, value in theirs[3].items():
            np.testing.assert_allclose(final[key], value, rtol=1e-4, atol=1e-5, err_msg=key)
            np.testing.assert_array_equal(final[key] == 0, value == 0, err_msg=key)
