"""port17c_programs.py (ConvMixer's CIFAR trainer, FNet, and pytorch-cifar's MobileNetV2 and
SENet with its main.py) runs unchanged on PyTorch and on chainrule from the same weights: the
losses, accuracies, learning rates, checkpoints and final state dicts agree to float64
rounding; each also learns from chainrule's own draws."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17c_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:nn.functional.sigmoid is deprecated")


def _images(seed, n=16, size=8, classes=4):
    """Each class a coloured blob in its own quadrant, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = 0.3 * rng.standard_normal((n, 3, size, size))
    h = size // 2
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, c % 3, r * h:(r + 1) * h, q * h:(q + 1) * h] += 1.0
    return x, y


def _lib_data(lib, *arrays):
    return [lib.tensor(a) for a in arrays]


def test_convmixer_train_py_with_interp_schedule_and_unscaled_clipping_matches_pytorch():
    x, y = _images(1720)
    xt, yt = _images(1721, n=8)

    def run(lib, model):
        return programs.train_convmixer(lib, model, *_lib_data(lib, x, y, xt, yt))

    ours, theirs = _both(programs.convmixer, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def _tokens(seed, n=24, length=7, vocab=12):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    tokens = rng.integers(3, vocab, (n, length))
    tokens[:, 0] = labels  # the class is the first token
    return tokens, labels


def test_fnet_with_fourier_mixing_in_prenorm_blocks_matches_pytorch():
    tokens, labels = _tokens(1722)

    def run(lib, model):
        return programs.train_fnet(lib, model, *_lib_data(lib, tokens, labels))

    ours, theirs = _both(programs.fnet, run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind", ["mobilenetv2", "senet"])
def test_pytorch_cifar_main_py_with_cosine_schedule_and_best_checkpoint_matches_pytorch(kind):
    x, y = _images(1723)
    xt, yt = _images(1724, n=8)

    def run(lib, model):
        return programs.train_pytorch_cifar(lib, model, *_lib_data(lib, x, y, xt, yt))

    ours, theirs = _both(lambda lib: programs.pytorch_cifar_nets(lib, kind), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_wave17_part_three_learns_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    f32 = chainrule.float32
    x, y = _images(1725, n=32)
    history, _ = programs.train_convmixer(
        chainrule, programs.convmixer(chainrule), chainrule.tensor(x, dtype=f32),
        chainrule.tensor(y), chainrule.tensor(x, dtype=f32), chainrule.tensor(y), epochs=6,
        lr_max=0.05)
    assert history[-1][0] < 0.7 * history[0][0]
    tokens, labels = _tokens(1726, n=48)
    losses, _ = programs.train_fnet(chainrule, programs.fnet(chainrule),
                                    chainrule.tensor(tokens), chainrule.tensor(labels), epochs=8)
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8])
    history, acc, _, _ = programs.train_pytorch_cifar(
        chainrule, programs.pytorch_cifar_nets(chainrule, "senet"),
        chainrule.tensor(x, dtype=f32), chainrule.tensor(y), chainrule.tensor(x, dtype=f32),
        chainrule.tensor(y), epochs=5)
    assert history[-1][0] < 0.7 * history[0][0] and acc >= 50
