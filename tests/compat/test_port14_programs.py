"""port14_programs.py (and port14b_...) run unchanged on PyTorch and on chainrule from the same
weights and draws: losses, accuracies, outputs and final parameters agree to float64 rounding
(float32 runs to float32 rounding); each program also learns from chainrule's own draws."""

from __future__ import annotations

import argparse
import pickle
import random
import socket
import sys

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port14_programs as programs  # noqa: E402
from . import port14b_programs as programs_b  # noqa: E402
from . import port14c_programs as programs_c  # noqa: E402
from . import port14d_programs as programs_d  # noqa: E402
from . import port14e_programs as programs_e  # noqa: E402
from . import port14f_programs as programs_f  # noqa: E402
from . import port14g_programs as programs_g  # noqa: E402
from . import port14h_programs as programs_h  # noqa: E402
from . import port14i_programs as programs_i  # noqa: E402
from . import port14j_programs as programs_j  # noqa: E402
from . import real_programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port9_programs import _shared_rand, _shared_randn  # noqa: E402
from .test_port12_programs import _shared_normal_draws  # noqa: E402
from .test_real_programs import _both, _close  # noqa: E402


def _classes(seed, n=24, features=(6,), classes=3, scale=1.5):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.standard_normal((n, *features))
    flat = x.reshape(n, -1)
    flat[np.arange(n), y] += scale * 2
    return x, y


def _losses(board, key='loss', train=True):
    return [v for k, t, v in board if k == key and t == train]


@pytest.mark.parametrize("concise", [False, True])
def test_d2l_dropout_mlp_with_book_trainer_and_masks_from_torch_rand_matches_pytorch(
        monkeypatch, concise):
    x, y = _classes(1400)

    def build(lib):
        model = programs.dropout_mlp(lib, concise=concise,
                                     dropout_1=0.0 if concise else 0.5,
                                     dropout_2=0.0 if concise else 0.2)
        with lib.no_grad():
            model(lib.zeros(1, 6))  # materialise the lazy layers
        return model

    def run(lib, model):
        data = programs.tensor_data(lib, lib.tensor(x), lib.tensor(y), 18, 6)
        with monkeypatch.context() as m:
            _shared_rand(m, lib, 1401)  # the scratch masks: (torch.rand(X.shape) > p).float()
            return programs.fit(lib, model, data)

    ours, theirs = _both(build, run)
    assert [b[:2] for b in ours[0]] == [b[:2] for b in theirs[0]]
    _close([[b[2] for b in ours[0]], ours[1]], [[b[2] for b in theirs[0]], theirs[1]],
           rtol=1e-9, atol=1e-11)
    assert _losses(ours[0])[-1] < _losses(ours[0])[0]


def _regression(lib, seed=1402, n=30, num_inputs=20, num_train=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, num_inputs))
    y = X @ np.full((num_inputs, 1), 0.01) + 0.05 + 0.01 * rng.standard_normal((n, 1))
    return programs.tensor_data(lib, lib.tensor(X), lib.tensor(y), num_train, 5)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")
@pytest.mark.parametrize("lambd", [0, 3])
def test_d2l_weight_decay_from_scratch_with_the_books_sgd_class_matches_pytorch(
        monkeypatch, lambd):
    out = {}
    for lib in (chainrule, torch):
        with monkeypatch.context() as m:
            _shared_normal_draws(m, lib, 1403)
            lib.set_default_dtype(lib.float64)
            try:
                out[lib] = programs.weight_decay_scratch(lib, _regression(lib), lambd)
            finally:
                lib.set_default_dtype(lib.float32)
    ours, theirs = out[chainrule], out[torch]
    assert [b[:2] for b in ours[0]] == [b[:2] for b in theirs[0]]
    _close([[b[2] for b in ours[0]], [ours[1]], ours[2]],
           [[b[2] for b in theirs[0]], [theirs[1]], theirs[2]], rtol=1e-9, atol=1e-11)


def test_d2l_weight_decay_concise_with_per_group_decay_on_a_lazy_linear_matches_pytorch():
    def build(lib):
        model = programs.weight_decay_concise(lib, _regression(lib), wd=3)
        assert isinstance(model.net.weight, lib.nn.parameter.UninitializedParameter)
        with lib.no_grad():
            model(lib.zeros(1, 20))
        return model

    def run(lib, model):
        return programs.fit(lib, model, _regression(lib), max_epochs=4)

    ours, theirs = _both(build, run)
    _close([[b[2] for b in ours[0]], ours[1]], [[b[2] for b in theirs[0]], theirs[1]],
           rtol=1e-9, atol=1e-11)
    # the decayed weight shrinks towards zero
    assert np.abs(ours[1]["net.weight"]).sum() < 0.5 * 20 * 0.5


@pytest.mark.parametrize("concise", [False, True])
def test_d2l_batch_norm_from_scratch_in_a_lazy_lenet_matches_pytorch(concise):
    x, y = _classes(1404, n=12, features=(1, 28, 28), scale=1.0)

    def run(lib, model):
        data = programs.tensor_data(lib, lib.tensor(x), lib.tensor(y), 8, 4)
        board, state = programs.fit(lib, model, data, max_epochs=2)
        return board, state, programs.bn_moving_stats(model)

    ours, theirs = _both(lambda lib: programs.bn_lenet(lib, concise=concise), run)
    assert [b[:2] for b in ours[0]] == [b[:2] for b in theirs[0]]
    _close([[b[2] for b in ours[0]], ours[1], ours[2]],
           [[b[2] for b in theirs[0]], theirs[1], theirs[2]], rtol=1e-9, atol=1e-11)
    assert len(ours[2]) == (0 if concise else 4)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")
def test_d2l_chapters_learn_with_chainrules_own_draws():
    chainrule.manual_seed(0)
    x, y = _classes(1405)
    model = programs.dropout_mlp(chainrule)
    board, _ = programs.fit(chainrule, model,
                            programs.tensor_data(chainrule, chainrule.tensor(x, dtype=chainrule
                                                                             .float32),
                                                 chainrule.tensor(y), 18, 6), max_epochs=8)
    assert np.mean(_losses(board)[-3:]) < np.mean(_losses(board)[:3])
    chainrule.set_default_dtype(chainrule.float64)
    try:
        board, penalty, _ = programs.weight_decay_scratch(chainrule, _regression(chainrule), 3,
                                                          max_epochs=10)
    finally:
        chainrule.set_default_dtype(chainrule.float32)
    assert penalty < 0.01 and _losses(board)[-1] < _losses(board)[0]


_CNNS = {"nin": programs_b.nin, "googlenet": programs_b.googlenet, "resnet": programs_b.resnet,
         "resnext": lambda lib: programs_b.resnet(lib, resnext=True),
         "densenet": programs_b.densenet}


@pytest.mark.parametrize("name", sorted(_CNNS))
def test_d2l_modern_cnns_of_lazy_layers_with_the_books_init_and_trainer_match_pytorch(name):
    side = 8 if name == "densenet" else 16  # PyTorch's float64 7x7 convolution is slow
    x, y = _classes(1406, n=12, features=(1, side, side), scale=1.0)

    def build(lib):
        model = programs_b.materialize(lib, _CNNS[name](lib), (2, 1, side, side))
        kinds = {type(m).__name__ for m in model.modules()}
        assert not any(k.startswith("Lazy") for k in kinds), kinds
        return model

    def run(lib, model):
        data = programs.tensor_data(lib, lib.tensor(x), lib.tensor(y), 8, 4)
        return programs.fit(lib, model, data, max_epochs=2)

    ours, theirs = _both(build, run)
    assert [b[:2] for b in ours[0]] == [b[:2] for b in theirs[0]]
    _close([[b[2] for b in ours[0]], ours[1]], [[b[2] for b in theirs[0]], theirs[1]],
           rtol=1e-9, atol=1e-11)


_RNNS = ["gru", "lstm", "rnn", "stacked", "birnn", "concise_gru", "deep_gru", "concise_lstm",
         "concise_rnn"]


@pytest.mark.parametrize("kind", _RNNS)
def test_d2l_recurrent_language_models_from_scratch_and_concise_match_pytorch(kind):
    def build(lib):
        return programs_c.rnn_lm(lib, len(programs_c.time_machine(lib).vocab), kind)

    def run(lib, model):
        data = programs_c.time_machine(lib)
        board, state = programs.fit(lib, model, data, max_epochs=2, gradient_clip_val=1)
        return board, state, model.predict("the t", 8, data.vocab)

    # float32 as the book's one-hot inputs: to its rounding
    ours, theirs = _both(build, run, double=False)
    assert [b[:2] for b in ours[0]] == [b[:2] for b in theirs[0]]
    assert ours[2] == theirs[2] and ours[2].startswith("the t") and len(ours[2]) == 13
    _close([[b[2] for b in ours[0]], ours[1]], [[b[2] for b in theirs[0]], theirs[1]],
           rtol=2e-5, atol=1e-6)


def _in_float64(run):
    """``run(lib, model)`` under set_default_dtype(float64): the tutorials' tensors made by
    ``torch.zeros``/``torch.Tensor`` then meet the float64 model."""
    def wrapped(lib, model):
        lib.set_default_dtype(lib.float64)
        try:
            return run(lib, model)
        finally:
            lib.set_default_dtype(lib.float32)
    return wrapped


def test_pytorch_nlp_tutorial_bag_of_words_classifier_matches_pytorch():
    ours, theirs = _both(programs_d.bow_classifier,
                         _in_float64(lambda lib, m: programs_d.train_bow(lib, m)))
    _close(list(ours), list(theirs), rtol=1e-9, atol=1e-11)
    assert np.mean(ours[0][-4:]) < np.mean(ours[0][:4])


@pytest.mark.parametrize("cbow", [False, True])
def test_pytorch_word_embeddings_tutorial_ngram_and_cbow_match_pytorch(cbow):
    vocab = set(programs_d.SONNET)
    word_to_ix = {word: i for i, word in enumerate(vocab)}

    def build(lib):
        return programs_d.ngram_lm(lib, len(vocab), cbow=cbow)

    def run(lib, model):
        return programs_d.train_ngram(lib, model, word_to_ix, cbow=cbow)

    ours, theirs = _both(build, run)
    _close(list(ours), list(theirs), rtol=1e-9, atol=1e-11)
    assert ours[0][-1] < ours[0][0]


def test_pytorch_sequence_models_tutorial_lstm_steps_and_tagger_match_pytorch(monkeypatch):
    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_randn(m, lib, 1407)
            return programs_d.train_lstm_tagger(lib, model)

    ours, theirs = _both(programs_d.lstm_tagger, _in_float64(run))
    assert ours[4] == theirs[4]
    _close(list(ours[:4]), list(theirs[:4]), rtol=1e-9, atol=1e-11)
    assert ours[2][-1] < ours[2][0]


def test_pytorch_char_rnn_name_generation_tutorial_matches_pytorch():
    def run(lib, model):
        random.seed(1408)
        return programs_d.train_name_rnn(lib, model)

    ours, theirs = _both(lambda lib: programs_d.name_rnn(lib, dropout=0.0), _in_float64(run))
    assert ours[2] == theirs[2] and all(n[0] in "ABC" for n in ours[2])
    _close(list(ours[:2]), list(theirs[:2]), rtol=1e-9, atol=1e-11)


def test_pytorch_nlp_tutorials_learn_with_chainrules_own_draws():
    chainrule.manual_seed(1)
    random.seed(1409)
    rnn = programs_d.name_rnn(chainrule)  # with its Dropout(0.1), in float32
    losses, _, names = programs_d.train_name_rnn(chainrule, rnn, n_iters=40)
    assert np.mean(losses[-8:]) < np.mean(losses[:8]) and len(names) == 9
    tagger = programs_d.lstm_tagger(chainrule)
    _, _, losses, _, tags = programs_d.train_lstm_tagger(chainrule, tagger, epochs=200)
    assert losses[-1] < 0.5 * losses[0] and tags == [0, 1, 2, 0, 1]


def _no_prefix(value):
    """``str(dtype)`` is ``torch.float32`` in PyTorch and ``float32`` here."""
    if isinstance(value, str):
        return value.removeprefix("torch.")
    if isinstance(value, dict):
        return {k: _no_prefix(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_no_prefix(v) for v in value)
    return value


def test_pytorch_blitz_tensors_and_autograd_pages_match_pytorch():
    for page in (programs_e.tensors_page, programs_e.autograd_pages):
        ours, theirs = _no_prefix(page(chainrule)), _no_prefix(page(torch))
        assert ours.keys() == theirs.keys()
        for key in ours:
            if key == "wb":
                for a, b in zip(ours[key], theirs[key]):
                    _close(a, b, rtol=1e-6, atol=1e-7)
            else:
                assert ours[key] == theirs[key], key
    ours = programs_e.tensors_page(chainrule)
    assert ours["t_to_n"] == ([2.0] * 5, [2.0] * 5) and ours["n_to_t"][0] == [2.0] * 5


def test_pytorch_blitz_frozen_features_with_new_fc_and_momentum_sgd_match_pytorch():
    rng = np.random.default_rng(1410)
    x, y = rng.standard_normal((6, 6)), np.arange(6) % 3

    def run(lib, model):
        return programs_e.finetune_frozen(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(programs_e.frozen_net, run)
    assert ours[1] == theirs[1] == [True, True]
    _close([ours[0], ours[2]], [theirs[0], theirs[2]], rtol=1e-9, atol=1e-11)


def test_pytorch_blitz_cifar_classifier_with_saved_state_and_per_class_accuracy_matches_pytorch(
        tmp_path):
    x, y = _classes(1411, n=16, features=(3, 32, 32), classes=4, scale=3.0)

    def run(lib, model):
        data = lib.utils.data
        train = data.DataLoader(data.TensorDataset(lib.tensor(x[:8]), lib.tensor(y[:8])),
                                batch_size=2)
        test = data.DataLoader(data.TensorDataset(lib.tensor(x[8:]), lib.tensor(y[8:])),
                               batch_size=4)
        return programs_e.train_cifar(lib, model, train, test, tmp_path / lib.__name__)

    ours, theirs = _both(programs_e.cifar_net, run)
    assert ours[:3] == theirs[:3]
    _close(ours[3], theirs[3], rtol=1e-9, atol=1e-11)


def _loaders(lib, x, y, split, batch_size):
    data = lib.utils.data
    return (data.DataLoader(data.TensorDataset(lib.tensor(x[:split]), lib.tensor(y[:split])),
                            batch_size=batch_size),
            data.DataLoader(data.TensorDataset(lib.tensor(x[split:]), lib.tensor(y[split:])),
                            batch_size=batch_size))


def test_yunjey_bidirectional_lstm_classifier_matches_pytorch():
    x, y = _classes(1412, n=16, features=(1, 6, 6), scale=2.0)

    def run(lib, model):
        return programs_f.train_birnn(lib, model, *_loaders(lib, x, y, 12, 4))

    ours, theirs = _both(programs_f.birnn, _in_float64(run))
    assert ours[:2] == theirs[:2]
    _close(ours[2], theirs[2], rtol=1e-9, atol=1e-11)


def test_yunjey_deep_residual_network_with_update_lr_matches_pytorch():
    x, y = _classes(1413, n=8, features=(3, 32, 32), scale=2.0)

    def run(lib, model):
        return programs_f.train_resnet(lib, model, _loaders(lib, x, y, 8, 4)[0])

    ours, theirs = _both(programs_f.resnet, run)
    assert ours[1] == theirs[1] == pytest.approx([0.01, 0.01 / 3, 0.01 / 3, 0.01 / 9])
    _close([ours[0], ours[2], ours[3]], [theirs[0], theirs[2], theirs[3]], rtol=1e-9,
           atol=1e-11)


def _shared_multinomial(monkeypatch, lib, seed):
    """``torch.multinomial(prob, num_samples=1)`` from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def multinomial(prob, num_samples, replacement=False, **kwargs):
        assert num_samples == 1
        p = np.atleast_2d(prob.detach().numpy().astype(np.float64))
        ids = [[rng.choice(p.shape[1], p=row / row.sum())] for row in p]
        return lib.tensor(ids if prob.dim() == 2 else ids[0])

    monkeypatch.setattr(lib, "multinomial", multinomial)


TEXT = """the cat sat on the mat
the dog sat on the log
a cat and a dog met on the mat"""


def test_yunjey_lstm_language_model_with_detached_list_states_and_sampling_matches_pytorch(
        monkeypatch, tmp_path):
    (tmp_path / "train.txt").write_text(TEXT)
    vocab = len({w for line in TEXT.split("\n") for w in line.split()}) + 1

    def run(lib, model):
        corpus = programs_f.corpus(lib)
        ids = corpus.get_data(tmp_path / "train.txt", batch_size=2)
        out = tmp_path / lib.__name__
        out.mkdir()
        with monkeypatch.context() as m:
            _shared_multinomial(m, lib, 1414)
            return ids.tolist(), programs_f.train_rnnlm(lib, model, ids, corpus, out)

    ours, theirs = _both(lambda lib: programs_f.rnnlm(lib, vocab), _in_float64(run))
    assert ours[0] == theirs[0] and len(ours[0]) == 2
    assert ours[1][:2] == theirs[1][:2]
    _close(ours[1][2], theirs[1][2], rtol=1e-9, atol=1e-11)


def test_conv_bn_fusion_tutorials_custom_functions_pass_gradcheck_in_both_libraries():
    rng = np.random.default_rng(1416)
    X, weight, a = rng.uniform(size=(2, 2, 4, 4)), rng.uniform(size=(2, 2, 3, 3)), \
        rng.uniform(size=(1, 2, 3, 4))
    for lib in (chainrule, torch):
        args = [lib.tensor(v, requires_grad=True) for v in (X, weight, a)]
        assert programs_g.gradchecks(lib, *args) == (True, True, True)


@pytest.mark.parametrize("fused", [True, False])
def test_conv_bn_fusion_tutorials_mnist_net_with_adadelta_matches_pytorch(fused):
    x, y = _classes(1417, n=8, features=(1, 12, 12), classes=10, scale=2.0)

    def build(lib):
        model = programs_g.mnist_net(lib, fused, side=12)
        model.dropout.p = 0.0  # the two libraries' dropout draws differ
        return model

    def run(lib, model):
        return programs_g.train_mnist(lib, model, _loaders(lib, x, y, 8, 4)[0])

    ours, theirs = _both(build, run)
    _close(list(ours), list(theirs), rtol=1e-9, atol=1e-11)
    assert ours[0][-1] < ours[0][0]


def test_binarized_convolution_with_nn_grad_backward_matches_pytorch():
    x, y = _classes(1418, n=6, features=(2, 6, 6), scale=2.0)

    def run(lib, model):
        return programs_g.train_binary(lib, model, lib.tensor(x), lib.tensor(y))

    ours, theirs = _both(programs_g.binary_conv, run)
    _close(list(ours), list(theirs), rtol=1e-9, atol=1e-11)
    assert ours[0][-1] < ours[0][0]


def _shared_dropout(monkeypatch, lib, seed):
    """``F.dropout`` and ``nn.Dropout2d`` draw their masks from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def masked(x, p, shape):
        keep = lib.tensor(rng.uniform(size=shape) >= p, dtype=x.dtype)
        return x * keep / (1 - p)

    def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
        return masked(input, p, tuple(input.shape)) if training else input

    def dropout2d_forward(self, input):  # noqa: A002
        return masked(input, self.p, tuple(input.shape[:2]) + (1, 1)) if self.training \
            else input

    monkeypatch.setattr(lib.nn.functional, "dropout", dropout)
    monkeypatch.setattr(lib.nn.Dropout2d, "forward", dropout2d_forward)


def _hogwild_args(**kw):
    args = dict(cuda=False, mps=False, seed=1, batch_size=4, shuffle=False, lr=0.05,
                momentum=0.5, epochs=2, log_interval=1, dry_run=False, num_processes=2)
    args.update(kw)
    return argparse.Namespace(**args)


def _digits(lib, seed, n, dtype=None):
    x, y = _classes(seed, n=n, features=(1, 28, 28), classes=4, scale=3.0)
    return lib.utils.data.TensorDataset(lib.tensor(x, dtype=dtype), lib.tensor(y))


def test_mnist_hogwild_workers_in_one_process_match_pytorch(monkeypatch):
    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_dropout(m, lib, 1419)
            return programs_h.hogwild_main(lib, model, _hogwild_args(), _digits(lib, 1420, 8),
                                           _digits(lib, 1421, 8))

    ours, theirs = _both(programs_h.hogwild_net, run)
    assert ours[0] == theirs[0] and len(ours[0]) == 8
    assert ours[1][0] == theirs[1][0] and ours[2][0] == theirs[2][0]
    _close([[ours[1][1], ours[2][1]], ours[3]], [[theirs[1][1], theirs[2][1]], theirs[3]],
           rtol=1e-9, atol=1e-11)
    assert ours[2][1] < ours[1][1]


@pytest.mark.skipif(sys.platform != "linux", reason="forked workers (Linux)")
def test_mnist_hogwild_forked_workers_train_the_shared_model_with_chainrules_own_draws():
    chainrule.manual_seed(2)
    model = programs_h.hogwild_net(chainrule)
    train, test = _digits(chainrule, 1422, 16, chainrule.float32), \
        _digits(chainrule, 1423, 8, chainrule.float32)
    # one epoch in this process first, so that the workers find the kernels loaded
    first = programs_h.hogwild_main(chainrule, model, _hogwild_args(num_processes=1, epochs=1),
                                    train, test)
    out = programs_h.hogwild_main(chainrule, model, _hogwild_args(shuffle=True, epochs=3),
                                  train, test, in_process=False)
    assert out[4] == [0, 0] and out[0] == []  # the workers logged in their own processes
    # the parent's model took the workers' steps
    assert not np.allclose(out[3]["fc2.weight"], first[3]["fc2.weight"])
    assert out[2][1] < first[1][1]


def test_d2l_nadaraya_watson_kernels_and_parametric_attention_pooling_match_pytorch():
    rng = np.random.default_rng(1424)
    x_train = np.sort(rng.uniform(size=20) * 5)
    x_test = np.arange(0, 5, 0.25)
    noise = rng.normal(0, 0.5, 20)
    out = {}
    for lib in (chainrule, torch):
        xt = lib.tensor(x_train, dtype=lib.float32)
        y_train = programs_h.f(lib, xt) + lib.tensor(noise, dtype=lib.float32)
        out[lib] = programs_h.nadaraya_watson_kernels(lib, xt, y_train,
                                                      lib.tensor(x_test, dtype=lib.float32))
    _close(out[chainrule], out[torch], rtol=2e-6, atol=1e-6)
    y_train = 2 * np.sin(x_train) + x_train ** 0.8 + noise

    def run(lib, net):
        return programs_h.train_nw(lib, net, lib.tensor(x_train), lib.tensor(y_train),
                                   lib.tensor(x_test))

    ours, theirs = _both(programs_h.nw_regression, run)
    _close(list(ours), list(theirs), rtol=1e-9, atol=1e-11)
    assert ours[0][-1] < ours[0][0]


def _shared_randint(monkeypatch, lib, seed):
    """``torch.randint(high, size)`` from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    def randint(high, size, **kwargs):
        return lib.tensor(rng.integers(0, high, tuple(size)))

    monkeypatch.setattr(lib, "randint", randint)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.filterwarnings("ignore:`torch.cuda.amp.GradScaler:FutureWarning")  # PyTorch's
@pytest.mark.filterwarnings("ignore:.*CUDA is not available")  # both scalers disable themselves
@pytest.mark.parametrize("ddp", [False, True])
def test_nanogpt_train_py_with_memmap_batches_checkpoint_resume_and_ddp_matches_pytorch(
        monkeypatch, tmp_path, ddp):
    rng = np.random.default_rng(1425)
    data = tmp_path / "data"
    data.mkdir()
    for split, n in (("train", 60), ("val", 30)):
        ((np.arange(n) * 3 + rng.integers(0, 2, n)) % 10).astype(np.uint16).tofile(
            data / f"{split}.bin")
    with open(data / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": 10}, f)
    if ddp:
        for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"),
                           ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(_free_port()))):
            monkeypatch.setenv(key, value)

    def run(lib, model):
        out = tmp_path / lib.__name__
        with monkeypatch.context() as m:
            _shared_randint(m, lib, 1426)
            first = programs_i.train(lib, model, data, out, crop_to=4)
            resumed_model = real_programs.gpt(lib, block_size=4).double()
            resumed = programs_i.train(lib, resumed_model, data, out, init_from="resume",
                                       max_iters=8, block_size=4)
        return first, resumed

    ours, theirs = _both(real_programs.gpt, run)
    for a, b in zip(ours, theirs):
        assert a[2:5] == b[2:5] and a[4] is False  # the CUDA scaler is off on a CPU
        assert [e[0] for e in a[1]] == [e[0] for e in b[1]]
        _close([a[0], a[1], a[5]], [b[0], b[1], b[5]], rtol=1e-9, atol=1e-11)
    assert ours[0][5]["transformer.wpe.weight"].shape == (4, 8)  # cropped
    assert ours[1][0][0][0] == 6  # resumed at the checkpoint's iteration


def _shared_random_sampler(monkeypatch, lib, seed):
    """``RandomSampler(ds, replacement=True, num_samples=...)`` from one shared NumPy stream."""
    rng = np.random.default_rng(seed)

    class Sampler:
        def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
            self.n, self.num_samples = len(data_source), num_samples

        def __iter__(self):
            while True:
                yield int(rng.integers(0, self.n))

        def __len__(self):
            return self.num_samples

    monkeypatch.setattr(lib.utils.data, "RandomSampler", Sampler)


@pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true:UserWarning")  # torch
def test_mingpt_sort_demo_with_its_trainer_and_configure_optimizers_matches_pytorch(monkeypatch):
    def run(lib, model):
        with monkeypatch.context() as m:
            _shared_random_sampler(m, lib, 1427)
            _shared_randint(m, lib, 1428)
            _shared_rand(m, lib, 1429)
            return programs_j.train(lib, model, programs_j.sort_dataset(lib, "train"))

    ours, theirs = _both(programs_j.gpt, _in_float64(run))
    assert ours[1:4] == theirs[1:4] and ours[1] == [9, 20]
    _close([ours[0], ours[4]], [theirs[0], theirs[4]], rtol=1e-9, atol=1e-11)


def test_mingpt_sort_demo_learns_with_chainrules_own_sampler_and_draws():
    chainrule.manual_seed(3)
    model = programs_j.gpt(chainrule, pdrop=0.1)
    losses, _, _, cat, _ = programs_j.train(chainrule, model,
                                            programs_j.sort_dataset(chainrule, "train"),
                                            max_iters=30, batch_size=8)
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5]) and len(cat[0]) == 8
