"""The recurrent text models (lstm_text, char_lm) and the char-CNN's layer table."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data.sequences import CharVocabulary, bptt_chunks, encode_characters, pad_batch
from chainrule.data.text import quantize


def test_char_cnn_small_layer_by_layer_as_the_papers_tables():
    # Zhang et al. 2015, tables 1 and 2: frames 1014 -> 1008 -> 336 -> 330 -> 110 -> 108 -> 106
    # -> 104 -> 102 -> 34 (l6 = (l0 - 96) / 27), then 8704 -> 1024 -> 1024 -> classes.
    model = cr.models.CharCNN("small", rng=np.random.default_rng(0)).eval()
    x = cr.tensor(quantize(["A headline to read."], length=1014))
    frames, kernels = [], []
    with cr.no_grad():
        for layer in model.features:
            x = layer(x)
            if isinstance(layer, (nn.Conv1d, nn.MaxPool1d, nn.MaxPool1dReLU, nn.Conv1dReLU)):
                frames.append(x.shape[2])
            if isinstance(layer, (nn.Conv1d, nn.Conv1dReLU)):
                kernels.append(layer.weight.shape[2] if hasattr(layer, "weight") else None)
        assert x.shape == (1, 256, 34)
        dense = [m.weight.shape for m in model.classifier if isinstance(m, nn.Linear)]
        assert model(cr.tensor(quantize(["x"], length=1014))).shape == (1, 4)
    assert frames == [1008, 336, 330, 110, 108, 106, 104, 102, 34]
    assert kernels == [7, 7, 3, 3, 3, 3]
    assert dense == [(1024, 8704), (1024, 1024), (4, 1024)]


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", True)])
def test_text_rnn_reads_each_text_as_if_alone(cell, bidirectional):
    net = cr.models.build("lstm_text", num_classes=3, hidden_size=8, embedding_dim=5, cell=cell,
                          bidirectional=bidirectional, rng=np.random.default_rng(0)).eval()
    texts = ["A longer text, with commas.", "tiny", "mid-length one"]
    batch, _, _ = pad_batch(encode_characters(texts))
    with cr.no_grad():
        together = net(cr.tensor(batch)).numpy()
        wider = net(cr.tensor(np.pad(batch, ((0, 0), (0, 7))))).numpy()
        for i, text in enumerate(texts):
            alone, _, _ = pad_batch(encode_characters([text]))
            np.testing.assert_allclose(together[i], net(cr.tensor(alone)).numpy()[0],
                                       rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(together, wider)
    with cr.no_grad():
        given = net(cr.tensor(batch), lengths=[len(t) for t in texts]).numpy()
    np.testing.assert_array_equal(given, together)
    assert together.shape == (3, 3)


@pytest.mark.kernel_free
def test_text_rnn_refuses_bad_input_and_cells():
    with pytest.raises(ValueError, match="cell must be 'lstm' or 'gru', got 'rnn'"):
        cr.models.TextRNN(cell="rnn")
    net = cr.models.TextRNN(rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"int Tensor of ids, shape \(N, T\)"):
        net(cr.tensor(np.zeros((2, 3), dtype=np.float32)))


def _lm(vocabulary, **kw):
    return cr.models.build("char_lm", vocabulary=vocabulary, embedding_dim=8, hidden_size=16,
                           num_layers=1, rng=np.random.default_rng(0), **kw)


def test_sampling_is_seeded_and_sharpens_as_the_temperature_falls():
    lm = _lm("abcdefgh")
    one = lm.sample(60, prime="abc", temperature=0.8, rng=np.random.default_rng(3))
    assert one == lm.sample(60, prime="abc", temperature=0.8, rng=np.random.default_rng(3))
    assert len(one) == 60 and set(one) <= set("abcdefgh")
    # At a very low temperature each draw is the most likely character: greedy decoding.
    cold = lm.sample(20, prime="abc", temperature=1e-4, rng=np.random.default_rng(1))
    ids = [lm.vocabulary.index(c) for c in "abc"]
    greedy, state = [], None
    with cr.no_grad():
        for _ in range(20):
            logits, state = lm(cr.tensor(np.array([ids])), state)
            ids = [int(logits.numpy()[0, -1].argmax())]
            greedy.append(lm.vocabulary[ids[0]])
    assert cold == "".join(greedy)
    # Found by the CLI fuzz (--temperature 1e-320): logits / temperature overflowed to inf, the
    # probabilities were nan and every draw was id 0 ("a"), not the most likely character.
    for tiny in (1e-40, 1e-320):
        assert lm.sample(20, prime="abc", temperature=tiny, rng=np.random.default_rng(1)) == cold
    with pytest.raises(ValueError, match="temperature must be a number > 0, got 0"):
        lm.sample(5, temperature=0)
    with pytest.raises(ValueError, match="prime character 'z' is not in the model's vocabulary"):
        lm.sample(5, prime="z")


def test_truncated_bptt_with_clipping_learns_a_periodic_text():
    text = "abcdefg " * 60
    vocab = CharVocabulary.of(text)
    lm = _lm(vocab.characters)
    opt = optim.Adam(lm.parameters(), lr=0.02)
    chunks = bptt_chunks(vocab.encode(text), batch_size=4, bptt=10)
    first = last = None
    for _ in range(4):
        state = None
        for x, y in chunks:
            logits, state = lm(cr.tensor(x), state)
            state = tuple(s.detach() for s in state)  # carried across chunks, not through them
            loss = cr.ops.cross_entropy(logits.reshape(-1, len(vocab)), cr.tensor(y.reshape(-1)))
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
            assert math.isfinite(float(norm.item()))
            opt.step()
            first = loss.item() if first is None else first
            last = loss.item()
    assert first > math.log(len(vocab)) * 0.8 and last < 0.1
    assert lm.sample(16, prime="abc", temperature=0.5, rng=np.random.default_rng(0)) == \
        "defg abcdefg abc"
