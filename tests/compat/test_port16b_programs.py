"""port16b_programs.py and port16c_programs.py (d2l's chapter-13 trainer with TextCNN,
decomposable attention and an FCN head; the learning-rate-scheduling chapter and Yogi from
scratch) run unchanged on PyTorch and on chainrule from the same weights and draws: histories,
learning rates, predictions and final parameters agree to float64 rounding; each also learns from
chainrule's own draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port16b_programs as programs  # noqa: E402
from . import port16c_programs as programs_c  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port12_programs import _shared_normal_draws  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:Converting a tensor with requires_grad=True to a scalar")


def _shared_xavier(monkeypatch, lib, seed):
    """``nn.init.xavier_uniform_`` from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def xavier_uniform_(tensor, gain=1.0, generator=None):
        shape = tuple(tensor.shape)
        receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        bound = gain * math.sqrt(6.0 / (shape[0] * receptive + shape[1] * receptive))
        with lib.no_grad():
            return tensor.copy_(lib.tensor(rng.uniform(-bound, bound, shape)))

    monkeypatch.setattr(lib.nn.init, "xavier_uniform_", xavier_uniform_)


def _no_dropout(model):
    for m in model.modules():
        if type(m).__name__ == "Dropout":
            m.p = 0.0
    return model


def _loaders(lib, *arrays, batch_size=4):
    ds = lib.utils.data.TensorDataset(*(lib.tensor(a) for a in arrays))
    return (lib.utils.data.DataLoader(ds, batch_size, shuffle=False),
            lib.utils.data.DataLoader(ds, 2 * batch_size, shuffle=False))


def _reviews(seed=1620, n=16, vocab=12, steps=7):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, vocab, (n, steps))
    labels = (tokens == 3).any(1).astype(np.int64)
    return tokens, labels, rng.standard_normal((vocab, 6))


def test_d2l_textcnn_sentiment_with_a_frozen_embedding_on_train_ch13_matches_pytorch(
        monkeypatch):
    tokens, labels, embeds = _reviews()

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_xavier(m, lib, 1621)
            return programs.train_textcnn(lib, _no_dropout(model), lib.tensor(embeds),
                                          *_loaders(lib, tokens, labels))

    ours, theirs = _both(lambda lib: programs.textcnn(lib, 12), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours[0][-1][0] < ours[0][0][0]


def _snli(seed=1622, n=12, vocab=10):
    rng = np.random.default_rng(seed)
    premises = rng.integers(1, vocab, (n, 5))
    hypotheses = rng.integers(1, vocab, (n, 4))
    labels = rng.integers(0, 3, n)
    return premises.tolist(), hypotheses.tolist(), labels.tolist()


def test_d2l_decomposable_attention_nli_with_list_inputs_on_train_ch13_matches_pytorch():
    def run(lib, model):
        return programs.train_nli(lib, _no_dropout(model), *programs.snli_iters(lib, *_snli()))

    ours, theirs = _both(lambda lib: programs.decomposable_attention(lib, 10), run)
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_d2l_bilinear_kernel_and_its_transposed_convolution_match_pytorch():
    img = np.random.default_rng(1623).uniform(size=(5, 6, 3))
    for c, k in ((2, 3), (3, 4), (3, 8)):
        _close(programs.bilinear_kernel(chainrule, c, c, k).numpy(),
               programs.bilinear_kernel(torch, c, c, k).numpy(), rtol=0, atol=0)
    ours = programs.upsample_bilinear(chainrule, chainrule.tensor(img, dtype=chainrule.float32))
    theirs = programs.upsample_bilinear(torch, torch.tensor(img, dtype=torch.float32))
    assert tuple(ours.shape) == (10, 12, 3)
    _close(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


def _segments(seed=1624, n=8, side=16):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3, side, side))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)
    return x, y


def test_d2l_fcn_head_from_a_bilinear_kernel_with_per_pixel_loss_matches_pytorch():
    x, y = _segments()

    def run(lib, model):
        return programs.train_fcn(lib, model, *_loaders(lib, x, y))

    ours, theirs = _both(lambda lib: programs.fcn(lib), run)
    _close(ours, theirs, rtol=1e-9, atol=1e-11)
    assert ours[1].shape == (16, 16)


def _digits(seed=1625, n=12):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    x = rng.standard_normal((n, 1, 28, 28)) * 0.5
    x[np.arange(n), 0, 2 * y + 4, 4:24] += 2.0
    return x, y


@pytest.mark.parametrize("kind", ["none", "sqrt", "factor", "multistep", "cosine"])
def test_d2l_lr_scheduling_chapter_lenet_with_its_schedulers_matches_pytorch(kind):
    x, y = _digits()

    def run(lib, model):
        return programs_c.train_scheduled(lib, model, *_loaders(lib, x, y, batch_size=6), 3,
                                          kind)

    ours, theirs = _both(lambda lib: programs_c.lenet(lib), run)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-12)
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)
    expected = {"none": [0.3] * 3, "sqrt": [0.1, 0.1 / 2 ** 0.5, 0.1 / 3 ** 0.5],
                "factor": [1.8, 1.62, 1.458], "multistep": [0.15, 0.075, 0.075],
                "cosine": [0.0, 0.3, 0.155]}[kind]  # set after each epoch: warm-up first
    assert ours[1] == pytest.approx(expected)


def _linear_data(lib, seed=1626, n=40, d=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ np.arange(1.0, d + 1) * 0.3 + 0.5 + 0.01 * rng.standard_normal(n)
    return _loaders(lib, X, y, batch_size=10)[0]


def test_d2l_yogi_from_scratch_on_train_ch11_matches_pytorch(monkeypatch):
    out = {}
    for lib in (chainrule, torch):
        with monkeypatch.context() as m:
            _shared_normal_draws(m, lib, 1627)
            lib.set_default_dtype(lib.float64)
            try:
                out[lib] = programs_c.train_ch11(
                    lib, lambda p, s, h, lib=lib: programs_c.yogi(lib, p, s, h),
                    programs_c.init_adam_states(lib, 5), {'lr': 0.1, 't': 1},
                    _linear_data(lib), 5)
            finally:
                lib.set_default_dtype(lib.float32)
    _close(out[chainrule], out[torch], rtol=1e-9, atol=1e-11)
    assert out[chainrule][0][-1] < out[chainrule][0][0]


def test_wave16_d2l_programs_learn_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    tokens, labels, embeds = _reviews(1628, n=32)
    history, _ = programs.train_textcnn(
        chainrule, programs.textcnn(chainrule, 12), chainrule.tensor(embeds,
                                                                     dtype=chainrule.float32),
        *_loaders(chainrule, tokens, labels, batch_size=8), num_epochs=8)
    assert history[-1][0] < history[0][0] and history[-1][2] >= 0.75
    history, _, _ = programs.train_nli(chainrule, programs.decomposable_attention(chainrule, 10),
                                       *programs.snli_iters(chainrule, *_snli(1629)),
                                       num_epochs=15)
    assert history[-1][0] < history[0][0]
    x, y = _segments(1630)
    history, pred, _ = programs.train_fcn(
        chainrule, programs.fcn(chainrule),
        *_loaders(chainrule, x.astype(np.float32), y), num_epochs=6)
    assert history[-1][0] < history[0][0] and history[-1][1] > history[0][1]
    chainrule.set_default_dtype(chainrule.float64)
    try:
        curve, w, b = programs_c.train_ch11(
            chainrule, lambda p, s, h: programs_c.yogi(chainrule, p, s, h),
            programs_c.init_adam_states(chainrule, 5), {'lr': 0.1, 't': 1},
            _linear_data(chainrule), 5, num_epochs=30)
    finally:
        chainrule.set_default_dtype(chainrule.float32)
    assert curve[-1] < 0.01 and np.abs(w.ravel() - np.arange(1, 6) * 0.3).max() < 0.05
