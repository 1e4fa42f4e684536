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
