"""port6_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
rates, decodings, attributions and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port6_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def test_annotated_transformer_copy_task_with_label_smoothing_and_noam_matches_pytorch():
    rng = np.random.default_rng(90)
    batches = []
    for _ in range(4):
        data = rng.integers(1, 8, (3, 6))
        data[:, 0] = 1
        data[1, 4:] = 0
        batches.append(data)
    ours, theirs = _both(programs.annotated_transformer, lambda lib, m:
                         programs.train_copy_task(lib, m, [lib.tensor(b) for b in batches]))
    assert ours[2] == theirs[2] and len(ours[2][0]) == 6
    _close([ours[0], ours[1], ours[3], ours[4]], [theirs[0], theirs[1], theirs[3], theirs[4]],
           rtol=1e-9, atol=1e-11)


def test_hand_written_layer_norm_gru_over_a_packed_sequence_matches_pytorch():
    rng = np.random.default_rng(91)
    padded = rng.standard_normal((4, 5, 3))
    lengths = [3, 5, 1, 4]
    labels = rng.integers(0, 2, 4)
    ours, theirs = _both(programs.packed_layernorm_gru, lambda lib, m: programs.train_packed_gru(
        lib, m, lib.tensor(padded), lib.tensor(lengths), lib.tensor(labels)))
    assert ours[1] == theirs[1] == lengths
    _close([ours[0], ours[2], ours[3]], [theirs[0], theirs[2], theirs[3]], rtol=1e-9,
           atol=1e-11)
