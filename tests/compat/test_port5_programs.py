"""port5_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
samples, gradients and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from . import port5_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port3_programs import _in_float64  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402


def test_nerf_hierarchical_sampling_with_searchsorted_and_cumprod_matches_pytorch():
    """Under set_default_dtype(float64), as nerf-pytorch sets its default tensor type: its
    torch.linspace and torch.Tensor([1e10]) then have the model's dtype (searchsorted wants
    one dtype)."""
    rng = np.random.default_rng(80)
    rays_o = rng.standard_normal((5, 3)) * 0.2
    rays_d = rng.standard_normal((5, 3))
    target = rng.uniform(0, 1, (5, 3))
    ours, theirs = _both(programs.nerf, _in_float64(lambda lib, m: programs.train_nerf(
        lib, m, lib.tensor(rays_o), lib.tensor(rays_d), lib.tensor(target))))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_gin_with_index_add_messages_and_scatter_reduce_readouts_matches_pytorch():
    rng = np.random.default_rng(81)
    edges = [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 6), (6, 3), (7, 8)]
    edge_index = np.array(edges + [(b, a) for a, b in edges]).T
    batch = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    x = rng.standard_normal((9, 3))
    labels = np.array([0, 1, 0])
    ours, theirs = _both(programs.gin, lambda lib, m: programs.train_gin(
        lib, m, lib.tensor(x), lib.tensor(edge_index), lib.tensor(batch), lib.tensor(labels)))
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2], ours[3]], [theirs[0], theirs[2], theirs[3]], rtol=1e-9,
           atol=1e-11)


def test_spectrogram_classifier_on_stft_with_a_waveform_gradient_matches_pytorch():
    rng = np.random.default_rng(82)
    t = np.arange(64) / 64
    freqs = np.array([3.0, 9.0, 17.0, 5.0])
    waves = np.sin(2 * np.pi * freqs[:, None] * t) + 0.1 * rng.standard_normal((4, 64))
    labels = np.array([0, 1, 2, 0])
    ours, theirs = _both(programs.spectrogram_cnn, lambda lib, m: programs.train_spectrogram(
        lib, m, lib.tensor(waves), lib.tensor(labels)))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_ulmfit_gradual_unfreezing_with_add_param_group_matches_pytorch():
    rng = np.random.default_rng(83)
    tokens = rng.integers(0, 12, (6, 5))
    labels = rng.integers(0, 2, 6)
    ours, theirs = _both(programs.ulmfit_classifier, lambda lib, m:
                         programs.train_gradual_unfreezing(lib, m, lib.tensor(tokens),
                                                           lib.tensor(labels)))
    assert [len(lr) for lr in ours[1]] == [1, 1, 2, 2, 3, 3] and ours[2] == theirs[2]
    _close([ours[0], ours[1], ours[3]], [theirs[0], theirs[1], theirs[3]], rtol=1e-9,
           atol=1e-11)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_newton_by_func_hessian_and_hessian_free_cg_by_hvp_match_pytorch():
    rng = np.random.default_rng(84)
    X = rng.standard_normal((20, 4))  # noqa: N806
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * rng.standard_normal(20) > 0) * 1.0
    ours, theirs = _both(programs.logistic, lambda lib, m: programs.newton_logistic(
        lib, m, lib.tensor(X), lib.tensor(y)))
    np.testing.assert_allclose(ours[2], ours[3], rtol=1e-6)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
