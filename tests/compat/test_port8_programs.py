"""port8_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
penalties and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port8_programs as programs  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402


def test_stylegan2_step_with_modulated_convs_r1_and_path_length_matches_pytorch():
    rng = np.random.default_rng(110)
    n = 3
    reals = [rng.uniform(-1, 1, (2, 3, 4, 4)) for _ in range(n)]
    latents = [rng.standard_normal((2, 4)) for _ in range(n)]
    noises = [[rng.standard_normal((2, 1, 4, 4)) for _ in range(2)] for _ in range(n)]
    path_noises = [rng.standard_normal((2, 3, 4, 4)) for _ in range(n)]

    def run(lib, pair):
        t = lib.tensor
        return programs.train_stylegan2(lib, pair, [t(r) for r in reals],
                                        [t(z) for z in latents],
                                        [[t(a) for a in ns] for ns in noises],
                                        [t(p) for p in path_noises])

    ours, theirs = _both(programs.stylegan2, run)
    assert all(row[1] > 0 and row[3] > 0 for row in ours[0])
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_yolo_v1_loss_with_responsible_boxes_and_masked_mse_matches_pytorch():
    rng = np.random.default_rng(111)
    images = rng.standard_normal((3, 3, 8, 8))
    targets = np.zeros((3, 2, 2, 13))
    cells = rng.uniform(size=(3, 2, 2)) < 0.5
    targets[..., 3] = cells
    targets[..., 4:6] = rng.uniform(0.1, 0.9, (3, 2, 2, 2))
    targets[..., 6:8] = rng.uniform(0.2, 1.0, (3, 2, 2, 2))
    targets[np.arange(3)[:, None, None], np.arange(2)[None, :, None], np.arange(2)[None, None, :],
            rng.integers(0, 3, (3, 2, 2))] = 1.0
    targets *= cells[..., None] | (np.arange(13) == 3)
    ours, theirs = _both(programs.yolo_v1, lambda lib, m: programs.train_yolo_v1(
        lib, m, lib.tensor(images), lib.tensor(targets)))
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_batched_beam_search_with_floor_division_and_index_select_matches_pytorch():
    ours, theirs = _both(programs.gru_decoder, lambda lib, m: programs.beam_search(lib, m))
    assert ours[0] == theirs[0] and len(ours[0]) >= 3
    _close(ours[1:], theirs[1:], rtol=1e-9, atol=1e-11)
