"""port11_programs.py run unchanged on PyTorch and on chainrule from the same weights: losses,
metrics, learning rates and final parameters agree to float64 rounding."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port11_programs as programs  # noqa: E402
from . import port11b_programs as programs_b  # noqa: E402
from . import port11c_programs as programs_c  # noqa: E402
from . import port11d_programs as programs_d  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402


def _shared_dropout2d(monkeypatch, lib, seed):
    """``nn.Dropout2d`` on the (N, F) input mnist_rnn gives it drops single elements (PyTorch's
    deprecated 2-D form); both libraries draw the mask from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def forward(self, x):
        if not self.training:
            return x
        assert x.ndim == 2
        keep = (rng.uniform(size=tuple(x.shape)) >= self.p).astype(np.float64)
        return x * lib.tensor(keep, dtype=x.dtype) / (1 - self.p)

    monkeypatch.setattr(lib.nn.Dropout2d, "forward", forward)


def _shared_normal(monkeypatch, lib, seed):
    """``t.normal_`` draws from a stream seeded by the shape, whoever else calls it (the init
    functions of one library may call it and the other's not)."""

    def normal_(self, mean=0.0, std=1.0, generator=None):
        rng = np.random.default_rng([seed, *self.shape])
        with lib.no_grad():
            return self.copy_(lib.tensor(rng.normal(mean, std, tuple(self.shape)),
                                         dtype=self.dtype))

    monkeypatch.setattr(lib.Tensor, "normal_", normal_)


def test_mnist_rnn_with_lstm_rows_dropout2d_on_2d_input_and_adadelta_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(1100)
    images = rng.standard_normal((10, 1, 6, 6))
    labels = rng.integers(0, 4, 10)

    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_dropout2d(m, lib, 1101)
            return programs.train_mnist_rnn(lib, model, lib.tensor(images), lib.tensor(labels))

    ours, theirs = _both(programs.mnist_rnn, run)
    assert [t[1] for t in ours[1]] == [t[1] for t in theirs[1]]
    _close([ours[0], [t[0] for t in ours[1]], [t[2] for t in ours[1]], ours[2]],
           [theirs[0], [t[0] for t in theirs[1]], [t[2] for t in theirs[1]], theirs[2]],
           rtol=1e-9, atol=1e-11)


def test_mnist_rnn_unpatched_dropout2d_warns_as_pytorch_and_trains():
    rng = np.random.default_rng(1102)
    model = programs.mnist_rnn(chainrule).double()
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        losses, tests, _ = programs.train_mnist_rnn(
            chainrule, model, chainrule.tensor(rng.standard_normal((8, 1, 6, 6))),
            chainrule.tensor(rng.integers(0, 4, 8)), epochs=1)
    assert np.isfinite(losses).all() and 0 <= tests[0][1] <= 8


def test_simsiam_with_stop_gradient_fix_lr_groups_and_linear_eval_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(1103)
    pairs = [rng.standard_normal((2, 4, 3, 5, 5)) for _ in range(3)]
    images = rng.standard_normal((6, 3, 5, 5))
    labels = rng.integers(0, 3, 6)

    def run(lib, model):
        out = programs.train_simsiam(lib, model, [lib.tensor(p) for p in pairs])
        pretrained = {k: lib.tensor(v) for k, v in out[1].items()}
        with monkeypatch.context() as m:
            _shared_normal(m, lib, 1104)
            return out + (programs.linear_eval(lib, pretrained, lib.tensor(images),
                                               lib.tensor(labels)),)

    ours, theirs = _both(programs.simsiam, run)
    assert ours[2] is theirs[2] is True  # the frozen bias never got a gradient
    assert ours[3][2] == theirs[3][2] == ["fc.bias", "fc.weight"]
    assert ours[3][3] == theirs[3][3] == []
    assert ours[3][1] == theirs[3][1]
    _close([[h[0] for h in ours[0]], [h[1] for h in ours[0]], ours[1], ours[3][0], ours[3][4]],
           [[h[0] for h in theirs[0]], [h[1] for h in theirs[0]], theirs[1], theirs[3][0],
            theirs[3][4]], rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
def test_dec_with_state_dict_copy_of_kmeans_centres_and_kl_to_target_distribution_matches_pytorch():
    rng = np.random.default_rng(1105)
    x = np.concatenate([rng.normal(c, 0.3, (4, 6)) for c in (-1.0, 0.0, 1.5)])[rng.permutation(12)]

    ours, theirs = _both(programs_b.dec, lambda lib, m: programs_b.train_dec(
        lib, m, lib.tensor(x), lib.tensor([0, 5, 10])))
    assert ours[3] == theirs[3] and ours[4] == theirs[4]
    assert ours[1][-1] < ours[1][0]
    _close([ours[0], ours[1], ours[2], ours[5]], [theirs[0], theirs[1], theirs[2], theirs[5]],
           rtol=1e-9, atol=1e-11)


def test_keras_style_loop_with_buffer_metrics_plateau_lr_and_early_stopping_matches_pytorch():
    rng = np.random.default_rng(1106)
    x = rng.standard_normal((20, 5))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)

    def run(lib, model):
        data = lib.utils.data
        ds = data.TensorDataset(lib.tensor(x), lib.tensor(y))
        train = data.DataLoader(data.Subset(ds, range(14)), batch_size=5)
        val = data.DataLoader(data.Subset(ds, range(14, 20)), batch_size=4)
        # a class with no predictions makes 0 / 0 in the F1, silent in PyTorch; chainrule's hot
        # division keeps NumPy's RuntimeWarning (docs/pytorch.md), so the line runs as it says
        with np.errstate(divide="ignore", invalid="ignore"):
            return programs_b.fit_keras_style(lib, model, train, val)

    ours, theirs = _both(programs_b.keras_net, run)
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2], ours[3]], [theirs[0], theirs[2], theirs[3]], rtol=1e-9, atol=1e-11)


def _shared_module_dropout(monkeypatch, lib, seed):
    rng = np.random.default_rng(seed)

    def forward(self, x):
        if not self.training:
            return x
        keep = (rng.uniform(size=tuple(x.shape)) >= self.p).astype(np.float64)
        return x * lib.tensor(keep, dtype=x.dtype) / (1 - self.p)

    monkeypatch.setattr(lib.nn.Dropout, "forward", forward)


@pytest.mark.parametrize("legacy_float", ["FloatTensor", "DoubleTensor"])
def test_conditional_gan_with_legacy_float_tensor_variables_and_label_embeddings_matches_pytorch(
        monkeypatch, legacy_float):
    # As written the script runs in float32 (torch.FloatTensor), where six Adam steps drift the
    # weights by magnified float32 rounding (the losses still agree); with FloatTensor bound to
    # DoubleTensor the same program must agree to float64 rounding everywhere.
    rng = np.random.default_rng(1107)
    imgs = rng.uniform(-1, 1, (10, 1, 4, 4))  # float64, as a dataset may give; .type() casts
    labels = rng.integers(0, 3, 10).astype(np.int32)

    def run(lib, pair):
        data = lib.utils.data
        loader = data.DataLoader(data.TensorDataset(lib.tensor(imgs), lib.tensor(labels)),
                                 batch_size=4)
        with monkeypatch.context() as m:
            _shared_module_dropout(m, lib, 1108)
            m.setattr(lib, "FloatTensor", getattr(lib, legacy_float))
            return programs_b.train_cgan(lib, pair.to(lib.FloatTensor(1).dtype), loader)

    ours, theirs = _both(programs_b.cgan, run, double=False)
    # chainrule's dtypes are NumPy's: str() gives 'float32' where PyTorch's says 'torch.float32'
    assert [[d.replace("torch.", "") for d in e[2:]] for e in theirs[0]] == \
        [list(e[2:]) for e in ours[0]]
    wide = legacy_float == "DoubleTensor"
    assert theirs[0][0][2] == ("torch.float64" if wide else "torch.float32")
    if wide:
        _close([[e[:2] for e in ours[0]], ours[1], ours[2]],
               [[e[:2] for e in theirs[0]], theirs[1], theirs[2]], rtol=1e-9, atol=1e-11)
    else:  # Adam's m / sqrt(v) of near-zero gradients magnifies float32 rounding in the weights
        _close([e[:2] for e in ours[0]], [e[:2] for e in theirs[0]], rtol=1e-4, atol=1e-6)


def test_snli_with_bottle_linear_bidirectional_lstm_states_and_frozen_embeddings_matches_pytorch(
        monkeypatch):
    rng = np.random.default_rng(1109)
    raw = [(rng.integers(0, 12, (5, 3)), rng.integers(0, 12, (4, 3)), rng.integers(0, 3, 3))
           for _ in range(3)]
    pretrained = rng.standard_normal((12, 5))

    def run(lib, model):
        batches = [programs_c.Batch(*(lib.tensor(a) for a in b)) for b in raw]
        with monkeypatch.context() as m:
            _shared_module_dropout(m, lib, 1110)
            return programs_c.train_snli(lib, model, batches, lib.tensor(pretrained))

    ours, theirs = _both(programs_c.snli, run)
    assert ours[2] is theirs[2] is True
    assert [e[0] for e in ours[0]] == [e[0] for e in theirs[0]]
    _close([[e[1:] for e in ours[0]], ours[1]], [[e[1:] for e in theirs[0]], theirs[1]],
           rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmax")
def test_infogan_with_classname_init_implicit_softmax_dim_and_chained_info_optim_matches_pytorch():
    rng = np.random.default_rng(1111)
    imgs = [rng.uniform(-1, 1, (4, 1, 8, 8)) for _ in range(3)]

    ours, theirs = _both(programs_c.infogan, lambda lib, pair: programs_c.train_infogan(
        lib, pair, [lib.tensor(a) for a in imgs]))
    _close(ours, theirs, rtol=1e-9, atol=1e-11)


def test_transe_with_data_view_renormalisation_broadcast_margin_target_and_ranking_matches_pytorch(
        monkeypatch):
    rng = np.random.default_rng(1112)
    triples = np.stack([rng.integers(0, 7, 10), rng.integers(0, 3, 10), rng.integers(0, 7, 10)], 1)

    def run(lib, model):
        draws = np.random.default_rng(1113)

        def randint(*args, size, high=None, **kwargs):
            high = args[-1] if args else high
            return lib.tensor(draws.integers(0, high, tuple(size)))

        with monkeypatch.context() as m:
            m.setattr(lib, "randint", randint)
            return programs_c.train_transe(lib, model, lib.tensor(triples))

    ours, theirs = _both(programs_c.transe, run)
    assert ours[1] == theirs[1]
    _close([ours[0], ours[2], ours[3]], [theirs[0], theirs[2], theirs[3]], rtol=1e-9, atol=1e-11)


def test_film_with_gathered_question_encodings_coord_maps_and_film_layers_matches_pytorch():
    rng = np.random.default_rng(1114)
    lengths = [5, 3, 4, 2]
    questions = np.zeros((4, 6), dtype=np.int64)
    for i, n in enumerate(lengths):
        questions[i, :n] = rng.integers(1, 7, n)
    feats = rng.standard_normal((4, 3, 4, 4))
    answers = rng.integers(0, 3, 4)

    ours, theirs = _both(programs_d.film_net, lambda lib, m: programs_d.train_film(
        lib, m, lib.tensor(questions), lib.tensor(feats), lib.tensor(answers)))
    assert [e[1] for e in ours[0]] == [e[1] for e in theirs[0]]
    assert [e[2] for e in ours[0]] == [e[2].replace("torch.", "") for e in theirs[0]]
    assert ours[0][0][2] == "float64"  # the float32 coordinate maps are promoted by cat
    _close([[e[0] for e in ours[0]], ours[1], ours[2]],
           [[e[0] for e in theirs[0]], theirs[1], theirs[2]], rtol=1e-9, atol=1e-11)
