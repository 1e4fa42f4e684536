"""nnadd_programs.py runs unchanged on PyTorch and on chainrule, from the same weights."""

import numpy as np

from . import nnadd_programs as programs
from .test_programs import _run_both


def test_upscaler_with_resampling_padding_and_new_losses_trains_alike():
    rng = np.random.default_rng(3)
    low = rng.normal(0, 1, (4, 1, 6, 6)).astype(np.float32)
    high = np.repeat(np.repeat(low, 2, axis=2), 2, axis=3) + 0.1
    results = _run_both(programs.upscaler,
                        lambda lib, m: programs.train_upscaler(lib, m, low, high))
    losses = results["chainrule"]
    assert len(losses) == 5 and all(np.isfinite(losses)) and losses[-1] < losses[0]
    if "torch" in results:
        np.testing.assert_allclose(losses, results["torch"], rtol=1e-4, atol=1e-6)
