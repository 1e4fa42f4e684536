"""nnextra_programs.py runs unchanged on PyTorch and on chainrule, from the same weights."""

import numpy as np

from . import nnextra_programs as programs
from .test_programs import _run_both


def test_speech_ctc_model_trains_alike():
    rng = np.random.default_rng(5)
    n, t, s = 6, 20, 4
    targets = rng.integers(1, 5, (n, s)).astype(np.int64)
    target_lengths = np.array([4, 3, 2, 4, 1, 3], dtype=np.int64)
    input_lengths = np.array([20, 18, 12, 20, 9, 15], dtype=np.int64)
    feats = rng.normal(0, 1, (n, 8, t)).astype(np.float32)
    for i in range(n):  # each label leaves a trace in the features of a stretch of frames
        for k in range(target_lengths[i]):
            feats[i, targets[i, k], 4 * k + 1:4 * k + 4] += 2.0
    results = _run_both(programs.speech_ctc, lambda lib, m: programs.train_speech_ctc(
        lib, m, feats, targets, input_lengths, target_lengths))
    losses = results["chainrule"]
    assert len(losses) == 5 and all(np.isfinite(losses)) and losses[-1] < losses[0]
    if "torch" in results:
        np.testing.assert_allclose(losses, results["torch"], rtol=1e-4, atol=1e-6)
