"""The causal-attention character language model (char_transformer): shapes, causality, learning,
sampling, checkpoints and the command line."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.cli import main

VOCAB = "abcdefgh \n"


def _model(**kw):
    args = {"block": 16, "d_model": 16, "num_layers": 2, "nhead": 2}
    args.update(kw)
    return cr.models.build("char_transformer", vocabulary=VOCAB, rng=np.random.default_rng(0),
                           **args)


def test_shapes_and_registry():
    net = _model()
    ids = cr.tensor(np.random.default_rng(1).integers(0, len(VOCAB), (3, 11)))
    logits, state = net(ids)
    assert logits.shape == (3, 11, len(VOCAB)) and state is None
    assert "char_transformer" in [info.name for info in cr.models.available()]
    # token + position embeddings, 2 pre-LN layers of 16 features (feed-forward 64), the head
    layer = 4 * 16 * 16 + 4 * 16 + 2 * 16 * 64 + 64 + 16 + 4 * 16
    expected = len(VOCAB) * 16 + 16 * 16 + 2 * layer + 2 * 16 + 16 * len(VOCAB) + len(VOCAB)
    assert sum(p.numel() for p in net.parameters()) == expected


def test_causal_a_later_character_changes_no_earlier_logit():
    net = _model()
    net.eval()
    rng = np.random.default_rng(2)
    a = rng.integers(0, len(VOCAB), (2, 12))
    b = a.copy()
    b[:, 7:] = (b[:, 7:] + 3) % len(VOCAB)  # change positions 7..11 only
    with cr.no_grad():
        la, _ = net(cr.tensor(a))
        lb, _ = net(cr.tensor(b))
    np.testing.assert_array_equal(la.numpy()[:, :7], lb.numpy()[:, :7])
    assert np.abs(la.numpy()[:, 7:] - lb.numpy()[:, 7:]).max() > 1e-4


def test_gradients_of_a_small_model_match_finite_differences():
    net = _model(block=4, d_model=4, num_layers=1, nhead=2).to(dtype="float64")
    ids = cr.tensor(np.array([[1, 2, 3, 0], [4, 5, 6, 7]]))
    target = cr.tensor(np.array([2, 3, 0, 1, 5, 6, 7, 8]))

    def loss():
        logits, _ = net(ids)
        return cr.F.cross_entropy(logits.reshape(-1, len(VOCAB)), target)

    params = [net.token.weight, net.position.weight, net.head.weight,
              net.layers[0].self_attn.in_proj_weight]
    value = loss()
    grads = cr.grad(value, params)
    eps = 1e-6
    for p, g in zip(params, grads):
        flat = p.data.numpy().reshape(-1)
        for i in (0, flat.size // 2, flat.size - 1):
            old = flat[i]
            with cr.no_grad():
                p.data.reshape(-1)[i] = old + eps
                up = loss().item()
                p.data.reshape(-1)[i] = old - eps
                down = loss().item()
                p.data.reshape(-1)[i] = old
            assert abs((up - down) / (2 * eps) - g.numpy().reshape(-1)[i]) < 1e-6


def test_learns_a_repeating_text_and_samples_it_back():
    text = "abcdefgh\n" * 40
    index = {c: i for i, c in enumerate(VOCAB)}
    ids = np.array([index[c] for c in text])
    net = _model()
    opt = optim.Adam(net.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    first = None
    for _ in range(60):
        starts = rng.integers(0, len(ids) - 17, 8)
        x = np.stack([ids[s:s + 16] for s in starts])
        y = np.stack([ids[s + 1:s + 17] for s in starts])
        logits, _ = net(cr.tensor(x))
        loss = cr.F.cross_entropy(logits.reshape(-1, len(VOCAB)), cr.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.1 * first  # the next character of a cycle is certain
    sample = net.sample(30, prime="abc", temperature=0.5, rng=np.random.default_rng(0))
    assert sample.startswith("defgh\nabcdefgh")
    again = net.sample(30, prime="abc", temperature=0.5, rng=np.random.default_rng(0))
    assert again == sample  # seeded: repeats
    assert net.training  # sampling puts the mode back


@pytest.mark.kernel_free
def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="d_model \\(10\\) must be divisible by nhead \\(4\\)"):
        _model(d_model=10, nhead=4)
    with pytest.raises(ValueError, match="vocabulary must be a non-empty str"):
        cr.models.build("char_transformer", vocabulary="aa")
    with pytest.raises(ValueError, match="dropout must be a number in \\[0, 1\\)"):
        _model(dropout=1.0)
    net = _model(block=8)
    with pytest.raises(ValueError, match="9 characters in a row, more than its block of 8"):
        net(cr.tensor(np.zeros((1, 9), dtype=np.int64)))
    with pytest.raises(ValueError, match="prime character 'z' is not in the model's vocabulary"):
        net.sample(5, prime="z")
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        net.sample(5, temperature=0)


def test_command_line_trains_saves_and_samples(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("In the beginning was the word, and the word was with the text. " * 30)
    out = tmp_path / "attn"
    assert main(["train", "char_transformer", "--text", str(text), "--epochs", "1",
                 "--batch-size", "4", "--bptt", "16", "--max-steps", "6", "--model-arg",
                 "d_model=16", "--model-arg", "num_layers=1", "--model-arg", "nhead=2",
                 "--quiet", "--out", str(out)]) == 0
    assert "bits per character" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert results["steps"] == 6 and results["val_bits_per_character"] > 0
    assert config["model"] == "char_transformer" and config["block"] == 16
    assert main(["sample", str(out), "--length", "20", "--prime", "In the", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("In the") and len(first.rstrip("\n")) == 26
    assert main(["sample", str(out), "--length", "20", "--prime", "In the", "--seed", "3"]) == 0
    assert capsys.readouterr().out == first
    assert main(["train", "char_transformer", "--text", str(text), "--model-arg",
                 "hidden_size=8"]) == 2
    assert "char_transformer has no argument hidden_size" in capsys.readouterr().err
