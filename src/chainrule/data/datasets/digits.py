"""scikit-learn's bundled 8x8 handwritten digits: the offline default (1,797 real images)."""

from __future__ import annotations

import numpy as np

__all__ = ["digits"]


def digits(*, test_fraction: float = 0.2, seed: int = 0):
    """The UCI/scikit-learn 8x8 digits as ``(x_train, y_train), (x_test, y_test)``, offline.

    Images are float32 (N, 8, 8) already scaled to [0, 1] (the raw grey levels are 0..16); labels
    int64. The split is stratified (the same fraction of every class goes to the test set) and fixed
    by ``seed``. Needs scikit-learn (``pip install chainrule[data]``), which ships the data inside
    its package.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"digits: test_fraction must be in (0, 1), got {test_fraction}")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            "digits: scikit-learn is needed for the bundled digits; pip install 'chainrule[data]'"
        ) from None
    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: int(round(test_fraction * len(idx)))]] = True
    return (x[~test], y[~test]), (x[test], y[test])
