"""port12_programs.py (and port12b_...) run unchanged on PyTorch and on chainrule from the same
weights: losses, perplexities, decodings and final parameters agree to float64 rounding
(float32 runs to float32 rounding)."""

from __future__ import annotations

import random

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port12_programs as programs  # noqa: E402
from . import port12b_programs as programs_b  # noqa: E402
from . import port12c_programs as programs_c  # noqa: E402
from . import port12d_programs as programs_d  # noqa: E402
from . import port12e_programs as programs_e  # noqa: E402
from . import port12f_programs as programs_f  # noqa: E402
from . import port12g_programs as programs_g  # noqa: E402
from . import port12h_programs as programs_h  # noqa: E402
from . import port12i_programs as programs_i  # noqa: E402
from . import port12j_programs as programs_j  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_real_programs import _both, _close  # noqa: E402

SRC = ["go .", "i lost .", "he is calm .", "i am home .", "we won .", "be nice ."]
TGT = ["va !", "j'ai perdu .", "il est calme .", "je suis chez moi .", "nous avons gagne .",
       "sois gentil !"]


def _shared_xavier(monkeypatch, lib, seed, shapes):
    """``nn.init.xavier_uniform_`` draws from a stream seeded by the call's place and shape."""

    def xavier_uniform_(tensor, gain=1.0, generator=None):
        fan_out, fan_in = tensor.shape[0], tensor.shape[1]
        a = gain * np.sqrt(6.0 / (fan_in + fan_out))
        rng = np.random.default_rng([seed, len(shapes), *tensor.shape])
        shapes.append(tuple(tensor.shape))
        with lib.no_grad():
            return tensor.copy_(lib.tensor(rng.uniform(-a, a, tuple(tensor.shape)),
                                           dtype=tensor.dtype))

    monkeypatch.setattr(lib.nn.init, "xavier_uniform_", xavier_uniform_)


@pytest.mark.parametrize("attention", [False, True])
def test_d2l_seq2seq_with_masked_softmax_ce_subclass_flat_weight_init_and_bleu_matches_pytorch(
        monkeypatch, attention):
    src = programs.Vocab([s.split(" ") for s in SRC], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt = programs.Vocab([t.split(" ") for t in TGT], reserved_tokens=["<pad>", "<bos>", "<eos>"])

    def run(lib, net):
        shapes = []
        with monkeypatch.context() as m:
            _shared_xavier(m, lib, 1200, shapes)
            src_array, src_len = programs.build_array_nmt(lib, [s.split(" ") for s in SRC],
                                                          src, 6)
            tgt_array, tgt_len = programs.build_array_nmt(lib, [t.split(" ") for t in TGT],
                                                          tgt, 6)
            data = lib.utils.data
            loader = data.DataLoader(data.TensorDataset(src_array, src_len, tgt_array, tgt_len),
                                     batch_size=4)
            out = programs.train_seq2seq(lib, net, loader, 0.05, 10, tgt)
        preds = [programs.predict_seq2seq(lib, net, s, src, tgt, 6,
                                          save_attention_weights=attention) for s in SRC]
        weights = [[w.detach().numpy().copy() for step in p[1] for w in step] for p in preds]
        return out, [p[0] for p in preds], shapes, str(src_len.dtype), weights

    ours, theirs = _both(lambda lib: programs.seq2seq(lib, len(src), len(tgt),
                                                      attention=attention), run)
    assert ours[1] == theirs[1]
    # the GRUs' weights were reached through _flat_weights_names and _parameters
    assert ours[2] == theirs[2] and len(ours[2]) == (12 if attention else 9)
    assert ours[3] == theirs[3].replace("torch.", "") == "int64"  # int32 sums to int64
    assert ours[0][1][-1] < ours[0][1][0] * 0.6
    _close([ours[0], ours[4]], [theirs[0], theirs[4]], rtol=1e-9, atol=1e-11)
    bleus = [programs.bleu(p, t, k=2) for p, t in zip(ours[1], TGT)]
    assert bleus == [programs.bleu(p, t, k=2) for p, t in zip(theirs[1], TGT)]


TEXT = ("the time machine by h g wells the time traveller for so it will be convenient to speak "
        "of him was expounding a recondite matter to us ")


def _corpus():
    tokens = list(TEXT)
    vocab = programs.Vocab([tokens])
    return vocab, [vocab[t] for t in tokens]


class _Sequential:
    """d2l's SeqDataLoader with sequential partitioning (offset 0, as its random draw may not)."""

    def __init__(self, lib, corpus):
        self.lib, self.corpus = lib, corpus

    def __iter__(self):
        return programs.seq_data_iter_sequential(self.lib, self.corpus, 4, 5, 0)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")
def test_d2l_rnn_from_scratch_with_one_hot_detach_in_place_and_hand_written_sgd_matches_pytorch(
        monkeypatch):
    # float32 throughout (the one-hot inputs are .type(torch.float32)), to float32 rounding
    vocab, corpus = _corpus()
    out = {}
    for lib in (chainrule, torch):
        rng = np.random.default_rng(1201)

        def randn(*size, rng=rng, lib=lib, **kwargs):
            shape = kwargs.pop("size", None) or size
            return lib.tensor(rng.standard_normal(tuple(shape)), dtype=lib.float32)

        with monkeypatch.context() as m:
            m.setattr(lib, "randn", randn)
            net = programs.RNNModelScratch(lib, len(vocab), 16, "cpu", programs.get_params,
                                           programs.init_rnn_state, programs.rnn)
        out[lib] = (programs.train_ch8(lib, net, _Sequential(lib, corpus), vocab, 1.0, 6, "cpu"),
                    [p.detach().numpy().copy() for p in net.params])
    ours, theirs = out[chainrule], out[torch]
    assert ours[0][1:] == theirs[0][1:]
    assert ours[0][0][-1] < ours[0][0][0] * 0.8
    _close(ours[0][0], theirs[0][0], rtol=1e-5, atol=0)
    _close(ours[1], theirs[1], rtol=0, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")
def test_d2l_concise_rnn_with_state_detach_in_place_before_backward_matches_pytorch():
    # state.detach_() on nn.RNN's h_n, which no loss read: chainrule refused it before
    vocab, corpus = _corpus()
    ours, theirs = _both(lambda lib: programs.rnn_model(lib, len(vocab), 16), lambda lib, net: (
        programs.train_ch8(lib, net, _Sequential(lib, corpus), vocab, 1.0, 6, "cpu"),
        {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}), double=False)
    assert ours[0][1:] == theirs[0][1:]
    _close(ours[0][0], theirs[0][0], rtol=1e-5, atol=0)
    _close(ours[1], theirs[1], rtol=0, atol=1e-6)


def test_fastai_backprop_from_scratch_with_g_attributes_and_layer_classes_matches_pytorch():
    # x.g = ... on tensors (chainrule's had no __dict__) and the lesson's checks against autograd
    rng = np.random.default_rng(1202)
    x, y = rng.standard_normal((20, 6)), rng.standard_normal(20)
    w1, w2 = rng.standard_normal((6, 5)) / np.sqrt(6), rng.standard_normal((5, 1)) / np.sqrt(5)
    out = {}
    for lib in (chainrule, torch):
        previous = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)  # the nn.Module version makes its weights by randn
        try:
            out[lib] = programs_b.fastai_backprop(lib, *(lib.tensor(a) for a in (
                x, y, w1, np.zeros(5), w2, np.zeros(1))))
        finally:
            lib.set_default_dtype(previous)
    assert out[chainrule]["nn_module"][-1] == out[torch]["nn_module"][-1] == 0  # plain tensors
    for version in ("functions", "classes", "modules", "nn_module"):
        _close(out[chainrule][version][:5], out[torch][version][:5], rtol=1e-12, atol=1e-14)
        _close(out[chainrule][version][:4], out[chainrule]["autograd"][:4], rtol=1e-12,
               atol=1e-14)


def _shared_draws(monkeypatch, lib, seed):
    """``randn``/``randint``/``multinomial`` with a ``generator=`` draw from one NumPy stream."""
    rng = np.random.default_rng(seed)

    def randn(*size, generator=None, dtype=None, requires_grad=False, **kwargs):
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return lib.tensor(rng.standard_normal(tuple(shape)),
                          dtype=dtype or lib.get_default_dtype(), requires_grad=requires_grad)

    def randint(low, high, size, generator=None, **kwargs):
        return lib.tensor(rng.integers(low, high, tuple(size)))

    def multinomial(probs, num_samples, generator=None, **kwargs):
        p = probs.detach().numpy()
        u = rng.uniform(size=p.shape[0])
        return lib.tensor((p.cumsum(-1) < u[:, None]).sum(-1)[:, None])

    for name, fn in (("randn", randn), ("randint", randint), ("multinomial", multinomial)):
        monkeypatch.setattr(lib, name, fn)


WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn",
         "abigail", "emily", "ella"]


def test_makemore_backprop_ninja_with_retain_grad_manual_backward_and_training_matches_pytorch(
        monkeypatch):
    # dC[ix] += demb[k, j] under recorded gradients and dlogits[range(n), Yb] -= 1: both refused
    # by chainrule before
    chars = sorted(set("".join(WORDS)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    out = {}
    for lib in (chainrule, torch):
        previous = lib.get_default_dtype()
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1203)
            lib.set_default_dtype(lib.float64)
            try:
                X, Y = programs_b.build_dataset(lib, WORDS, stoi, 3)  # noqa: N806
                run = programs_b.backprop_ninja(lib, X, Y, len(itos), 3)
                names = programs_b.sample_names(lib, run[-1], 3, itos)
            finally:
                lib.set_default_dtype(previous)
        out[lib] = run[:-1] + (names,)
    ours, theirs = out[chainrule], out[torch]
    assert [r[0] for r in ours[0]] == [r[0] for r in theirs[0]] and len(ours[0]) == 28
    assert all(r[2] for r in ours[0]) and all(r[2] for r in theirs[0])  # allclose everywhere
    assert max(r[3] for r in ours[0]) < 1e-15 and max(r[3] for r in theirs[0]) < 1e-15
    assert abs(ours[1]) < 1e-15 and ours[2] < 1e-15  # the fused loss and BatchNorm agree
    assert ours[6] == theirs[6]
    _close([ours[3], ours[4], ours[5]], [theirs[3], theirs[4], theirs[5]], rtol=1e-12,
           atol=1e-14)


def test_what_is_torch_nn_really_from_scratch_to_nn_module_matches_pytorch(monkeypatch):
    rng = np.random.default_rng(1204)
    x = rng.uniform(0, 1, (24, 784))
    y = (x @ rng.standard_normal((784, 10))).argmax(1)  # labels a linear model can learn
    out = {}
    for lib in (chainrule, torch):
        draws = np.random.default_rng(1205)

        def randn(*size, draws=draws, lib=lib, **kwargs):
            return lib.tensor(draws.standard_normal(size), dtype=lib.get_default_dtype())

        previous = lib.get_default_dtype()
        with monkeypatch.context() as m:
            m.setattr(lib, "randn", randn)
            lib.set_default_dtype(lib.float64)
            try:
                scratch = programs_c.from_scratch(lib, lib.tensor(x), lib.tensor(y), 784, 10,
                                                  lr=0.05)
                model = programs_c.logistic_module(lib, 784, 10)
                by_hand = programs_c.fit_by_hand(lib, model, lib.tensor(x), lib.tensor(y),
                                                 lr=0.05)
            finally:
                lib.set_default_dtype(previous)
        out[lib] = scratch, by_hand
    ours, theirs = out[chainrule], out[torch]
    assert ours[0][1] < ours[0][0][0] and np.mean(ours[1][3:]) < np.mean(ours[1][:3])
    _close(list(ours), list(theirs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("model", ["linear", "cnn", "sequential_lambda_wrapped"])
def test_what_is_torch_nn_really_fit_with_loss_batch_and_validation_matches_pytorch(model):
    rng = np.random.default_rng(1206)
    arrays = (rng.uniform(0, 1, (24, 784)), rng.integers(0, 10, 24),
              rng.uniform(0, 1, (10, 784)), rng.integers(0, 10, 10))
    build = {"linear": lambda lib: lib.nn.Linear(784, 10), "cnn": programs_c.mnist_cnn,
             "sequential_lambda_wrapped": programs_c.lambda_cnn}[model]
    ours, theirs = _both(build, lambda lib, m: programs_c.train_refactored(
        lib, m, *(lib.tensor(a) for a in arrays), wrapped=model.endswith("wrapped")))
    assert isinstance(ours[0][0], np.float64) and isinstance(theirs[0][0], np.float64)
    _close(ours, theirs, rtol=1e-10, atol=1e-12)


def test_makemore_wavenet_with_hand_written_layers_retain_grad_and_update_ratios_matches_pytorch(
        monkeypatch):
    chars = sorted(set("".join(WORDS)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    out = {}
    for lib in (chainrule, torch):
        previous = lib.get_default_dtype()
        with monkeypatch.context() as m:
            _shared_draws(m, lib, 1207)
            lib.set_default_dtype(lib.float64)
            try:
                X, Y = programs_b.build_dataset(lib, WORDS[:9], stoi, 8)  # noqa: N806
                Xd, Yd = programs_b.build_dataset(lib, WORDS[9:], stoi, 8)  # noqa: N806
                model, batchnorm = programs_d.wavenet_mlp(lib, len(stoi))
                out[lib] = programs_d.train_wavenet(lib, model, X, Y, Xd, Yd)
                norms = [layer for layer in model.layers if isinstance(layer, batchnorm)]
                out[lib] += ([b.running_var.numpy().copy() for b in norms],)
            finally:
                lib.set_default_dtype(previous)
    ours, theirs = out[chainrule], out[torch]
    assert ours[0] == theirs[0] == 1096
    _close(list(ours[1:]), list(theirs[1:]), rtol=1e-10, atol=1e-12)


PAIRS = [("hi there .", "hello ."), ("how are you ?", "i am fine ."),
         ("what is your name ?", "bob ."), ("bye .", "see you later ."),
         ("are you a bot ?", "maybe .")]


@pytest.mark.parametrize("attn_model", ["dot", "general", "concat"])
def test_chatbot_tutorial_with_luong_attention_mask_nll_and_greedy_search_matches_pytorch(
        attn_model):
    voc = programs_e.Voc("pairs")
    for question, answer in PAIRS:
        voc.addSentence(question)
        voc.addSentence(answer)

    def run(lib, model):
        random.seed(1)  # the teacher-forcing draws: True, False, False, True, ...
        losses = programs_e.trainIters(lib, voc, [list(p) for p in PAIRS], model)
        words, scores, dtype = programs_e.greedy_search(lib, model.encoder, model.decoder, voc,
                                                        "how are you ?")
        return losses, words, scores, dtype, {
            k: v.detach().numpy().copy() for k, v in model.state_dict().items()}

    ours, theirs = _both(lambda lib: programs_e.chatbot(lib, voc.num_words, attn_model), run)
    forced = [f for _, f in ours[0]]
    assert forced == [f for _, f in theirs[0]] and True in forced and False in forced
    assert ours[1] == theirs[1]
    assert ours[3] == theirs[3].replace("torch.", "") == "float64"  # cat onto zeros([0]) promotes
    assert ours[0][-1][0] < ours[0][0][0]
    _close([[loss for loss, _ in ours[0]], ours[2], ours[4]],
           [[loss for loss, _ in theirs[0]], theirs[2], theirs[4]], rtol=1e-9, atol=1e-11)


def test_d2l_transformer_with_lazy_linears_cached_decoder_keys_and_float32_pe_matches_pytorch(
        monkeypatch):
    src = programs.Vocab([s.split(" ") for s in SRC], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt = programs.Vocab([t.split(" ") for t in TGT], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    state, out = None, {}
    for lib in (chainrule, torch):
        net = programs_f.transformer(lib, len(src), len(tgt))
        src_array, src_len = programs.build_array_nmt(lib, [s.split(" ") for s in SRC], src, 6)
        tgt_array, tgt_len = programs.build_array_nmt(lib, [t.split(" ") for t in TGT], tgt, 6)
        net(src_array, tgt_array, src_len)  # materializes the LazyLinears
        if state is None:
            state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        net.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        net = net.double()
        pe = net.encoder.pos_encoding.P.numpy().copy()
        if lib is torch:  # PyTorch's float32 sin/cos differ from NumPy's in the last place
            np.testing.assert_allclose(pe, out[chainrule][4], rtol=0, atol=6e-8)
            for coder in (net.encoder, net.decoder):  # so both run on chainrule's values
                coder.pos_encoding.P = torch.tensor(out[chainrule][4])
        shapes = []
        with monkeypatch.context() as m:
            _shared_xavier(m, lib, 1208, shapes)
            data = lib.utils.data
            loader = data.DataLoader(data.TensorDataset(src_array, src_len, tgt_array, tgt_len),
                                     batch_size=4)
            run = programs.train_seq2seq(lib, net, loader, 0.01, 8, tgt)
        preds = [programs.predict_seq2seq(lib, net, s, src, tgt, 6, save_attention_weights=True)
                 for s in SRC]
        weights = [[w.detach().numpy().copy() for step in p[1] for blk in step for w in blk]
                   for p in preds]
        out[lib] = run, [p[0] for p in preds], shapes, weights, pe
    ours, theirs = out[chainrule], out[torch]
    # the Linears the lazy ones became: 2 blocks x (4 + 2) + 2 x (8 + 2) + the output layer
    assert ours[2] == theirs[2] and len(ours[2]) == 33
    assert ours[1] == theirs[1]
    assert ours[0][1][-1] < ours[0][1][0] * 0.7
    _close([ours[0], ours[3]], [theirs[0], theirs[3]], rtol=1e-9, atol=1e-11)


def test_micrograd_readme_check_matches_pytorch():
    ours, theirs = programs_g.micrograd_check(chainrule), programs_g.micrograd_check(torch)
    assert ours[:2] == theirs[:2] == (-20.0, 46.0)
    _close(ours, theirs, rtol=1e-14, atol=0)  # micrograd's README asks for 1e-6


def _in_float64(monkeypatch, lib, seed, run, dtype="float64"):
    """``run()`` with ``randn`` drawing from one NumPy stream in the default dtype, float64."""
    previous = lib.get_default_dtype()
    with monkeypatch.context() as m:
        _shared_draws(m, lib, seed)
        lib.set_default_dtype(getattr(lib, dtype))
        try:
            return run()
        finally:
            lib.set_default_dtype(previous)


def test_makemore_bigram_counts_and_one_layer_network_matches_pytorch(monkeypatch):
    # float32 as written (one_hot(...).float() @ W): to float32 rounding
    ours, theirs = (_in_float64(monkeypatch, lib, 1209, lambda lib=lib: programs_g.bigram(
        lib, WORDS), dtype="float32") for lib in (chainrule, torch))
    assert ours[:2] == (sum(len(w) + 1 for w in WORDS), "int32") == (theirs[0],
                                                                    theirs[1][6:])
    assert ours[4][-1] < ours[4][0]
    _close(list(ours[2:]), list(theirs[2:]), rtol=1e-5, atol=1e-6)


def test_learning_pytorch_with_examples_from_scalars_to_dynamic_net_matches_pytorch(monkeypatch):
    def run(lib):
        random.seed(3)  # DynamicNet's extra terms: 4 or 5 of them
        return programs_g.learning_with_examples(lib)

    # torch.float as the tutorial's dtype: float32 throughout, to its rounding
    ours, theirs = (_in_float64(monkeypatch, lib, 1210, lambda lib=lib: run(lib),
                                dtype="float32") for lib in (chainrule, torch))
    for i in (0, 2, 3, 5):
        assert ours[i][-1] < ours[i][0] and theirs[i][-1] < theirs[i][0]
    for i in (0, 2, 5):  # (nn.Linear(3, 1) starts from each library's own random init)
        _close(ours[i], theirs[i], rtol=2e-5, atol=0)
    for i in (1, 6):
        assert ours[i].split(" ")[:3] == theirs[i].split(" ")[:3]
        _close([float(w) for w in ours[i].replace("?", "").split() if w[-1].isdigit()
                and w[0] in "-0123456789"],
               [float(w) for w in theirs[i].replace("?", "").split() if w[-1].isdigit()
                and w[0] in "-0123456789"], rtol=1e-4, atol=1e-6)


def test_pytorch_examples_regression_with_formatted_tensors_and_data_add_matches_pytorch(
        monkeypatch):
    def run(lib, fc):
        return _in_float64(monkeypatch, lib, 1211, lambda: programs_g.regression(lib, fc))

    ours, theirs = _both(lambda lib: lib.nn.Linear(4, 1), run)
    assert ours[1:] == theirs[1:]
    assert ours[0][-1] < ours[0][0] / 2
    _close(ours[0], theirs[0], rtol=1e-10, atol=1e-12)


def test_learn_the_basics_dataset_transforms_one_hot_scatter_train_and_test_loops_match_pytorch():
    # float32 as written (ToTensor's images): the log's printed losses agree to its rounding
    rng = np.random.default_rng(1212)
    labels = rng.integers(0, 10, 12)
    images = (rng.uniform(0, 60, (12, 8, 8)) + 15 * labels[:, None, None]).astype(np.uint8)
    ours, theirs = _both(programs_h.neural_network, lambda lib, m: programs_h.learn_the_basics(
        lib, m, images, labels), double=False)
    assert ours[2:] == theirs[2:]
    assert [line.split(":")[0] for line in ours[0]] == [line.split(":")[0] for line in theirs[0]]
    assert ours[1][-1][0] < ours[1][0][0]
    _close(ours[1], theirs[1], rtol=1e-5, atol=1e-6)


def test_llm_c_train_gpt2_with_flag_attributes_tied_weights_and_grad_accumulation_matches_pytorch():
    data = np.random.default_rng(1213).integers(0, 11, 200)
    ours, theirs = _both(programs_i.llmc_gpt, lambda lib, m: programs_i.train_llmc(
        lib, m, lib.tensor(data)))
    assert ours[1] == theirs[1] and ours[2] == theirs[2] == 1688
    assert ours[4] is theirs[4] is True  # wte and lm_head stay one Parameter
    assert ours[3] == theirs[3]  # both AdamW signatures name fused=
    _close([ours[0], ours[5]], [theirs[0], theirs[5]], rtol=1e-9, atol=1e-11)


def _shared_normal_draws(monkeypatch, lib, seed):
    """``torch.normal(mean, std, size)`` and ``init.normal_`` from one NumPy stream."""
    rng = np.random.default_rng(seed)

    def normal(mean, std, size=None, *, requires_grad=False, dtype=None, **kwargs):
        return lib.tensor(rng.normal(mean, std, tuple(size)), requires_grad=requires_grad,
                          dtype=dtype or lib.get_default_dtype())

    def normal_(tensor, mean=0.0, std=1.0, generator=None):
        with lib.no_grad():
            return tensor.copy_(lib.tensor(rng.normal(mean, std, tuple(tensor.shape))))

    monkeypatch.setattr(lib, "normal", normal)
    monkeypatch.setattr(lib.nn.init, "normal_", normal_)


def _blobs(lib, seed=1214, n=24):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 1, (n, 1, 4, 4)) + y[:, None, None, None] * 0.8
    data = lib.utils.data
    ds = data.TensorDataset(lib.tensor(x, dtype=lib.float32), lib.tensor(y))
    return data.DataLoader(ds, batch_size=8), data.DataLoader(ds, batch_size=12)


def test_d2l_regressions_from_scratch_learn_with_chainrules_own_normal_draws():
    random.seed(0)
    history, w_error, b_error = programs_j.linear_regression(chainrule, num_examples=600)
    assert history[-1] < 0.01 and max(map(abs, w_error)) < 0.1 and abs(b_error) < 0.1
    train_iter, test_iter = _blobs(chainrule)
    history = programs_j.softmax_regression(chainrule, train_iter, test_iter, num_epochs=4)
    assert history[-1][0] < history[0][0] and history[-1][2] > 0.5


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True to a scalar")
def test_d2l_regressions_from_scratch_and_concise_match_pytorch(monkeypatch):
    # float32 as the book's: to its rounding
    out = {}
    for lib in (chainrule, torch):
        with monkeypatch.context() as m:
            _shared_normal_draws(m, lib, 1215)
            random.seed(1)
            linear = programs_j.linear_regression(lib)
            train_iter, test_iter = _blobs(lib)
            scratch = programs_j.softmax_regression(lib, train_iter, test_iter)
            concise, net = programs_j.softmax_concise(lib, train_iter, test_iter)
        out[lib] = linear, scratch, concise
    ours, theirs = out[chainrule], out[torch]
    _close(list(ours[:2]), list(theirs[:2]), rtol=2e-5, atol=1e-6)
    # the concise net's bias keeps each library's own random init (the book sets the weight)
    assert ours[2][-1][0] < ours[2][0][0] and theirs[2][-1][0] < theirs[2][0][0]
