"""optadd_programs.py runs unchanged on PyTorch and on chainrule, from the same weights (the
spectral norms' u and v included)."""

import numpy as np

from . import optadd_programs as programs
from .test_programs import _run_both


def test_spectral_norm_discriminator_with_radam_and_chained_schedule_trains_alike():
    rng = np.random.default_rng(5)
    real = rng.normal(0.5, 1, (6, 1, 8, 8)).astype(np.float32)
    fake = rng.normal(-0.5, 1, (6, 1, 8, 8)).astype(np.float32)
    results = _run_both(programs.discriminator,
                        lambda lib, m: programs.train_discriminator(lib, m, real, fake))
    losses, rates, norms, scores, vector = results["chainrule"]
    assert losses[-1] < losses[0] and len(vector) == 4 * 9 + 4 + 4 * 4 * 9 + 4 + 16 + 1
    np.testing.assert_allclose(rates, [2e-3 * 0.5 * 0.9 ** (t + 1) if t + 1 < 3
                                       else 2e-3 * 0.9 ** (t + 1) for t in range(8)], rtol=1e-12)
    if "torch" in results:
        theirs = results["torch"]
        np.testing.assert_allclose(losses, theirs[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(rates, theirs[1], rtol=1e-12)
        np.testing.assert_allclose(norms, theirs[2], rtol=1e-4)
        np.testing.assert_allclose(scores, theirs[3], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(vector, theirs[4], rtol=1e-4, atol=1e-6)


def test_nadam_with_cyclic_lr_and_beta1_trains_alike():
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, (16, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    results = _run_both(programs.regressor, lambda lib, m: programs.train_cyclic(lib, m, x, y))
    losses, rates, betas = results["chainrule"]
    assert losses[-1] < losses[0] and max(rates) > 0.04 and min(betas) < 0.81
    if "torch" in results:
        theirs = results["torch"]
        np.testing.assert_allclose(losses, theirs[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(rates, theirs[1], rtol=1e-12)
        np.testing.assert_allclose(betas, theirs[2], rtol=1e-12)
