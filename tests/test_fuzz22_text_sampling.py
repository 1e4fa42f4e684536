"""Fuzz wave 22, text: top-k sampling of the character language models (char_lm,
char_transformer, `chainrule sample --top-k`), against nanoGPT's rule computed with PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.cli import main  # noqa: E402
from chainrule.io import save_weights  # noqa: E402
from chainrule.models.textrnn import sample_characters  # noqa: E402


class _Fixed:
    """A stand-in model whose next-character logits are always ``logits``."""

    training = False

    def __init__(self, vocabulary, logits):
        self.vocabulary, self.logits = vocabulary, np.asarray(logits, dtype=np.float32)

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def step(self, ids, new, state):
        return cr.tensor(self.logits), None


class _Draws(np.random.Generator):
    """A generator whose ``random()`` returns the given numbers in turn."""

    def __init__(self, draws):
        super().__init__(np.random.PCG64(0))
        self.draws = list(draws)

    def random(self):
        return self.draws.pop(0)


def _nanogpt_cdf(logits, temperature, top_k):
    """nanoGPT's ``generate``: logits / T, those below the k-th largest set to -inf, softmax."""
    z = torch.tensor(logits, dtype=torch.float32) / temperature
    if top_k is not None:
        v, _ = torch.topk(z, min(top_k, z.numel()))
        z[z < v[-1]] = -float("inf")
    return torch.softmax(z, dim=-1).double().cumsum(0).numpy()


@pytest.mark.parametrize(
    "logits, temperature, top_k",
    [
        ([0.3, 2.0, -1.0, 1.5, 0.9, 2.0], 1.0, 2),  # a tie at the top: both kept, k = 2
        ([0.3, 2.0, -1.0, 1.5, 0.9, 1.5], 0.7, 2),  # a tie at the k-th: both kept (3 in all)
        ([4.0, -2.0, 1.0, 0.5], 2.5, 3),
        ([4.0, -2.0, 1.0, 0.5], 0.5, None),
        ([4.0, -2.0, 1.0, 0.5], 1.0, 9),  # more than the vocabulary: all of it
    ],
)
def test_top_k_draws_by_nanogpts_distribution(logits, temperature, top_k):
    vocab = "abcdef"[: len(logits)]
    cdf = _nanogpt_cdf(logits, temperature, top_k)
    lows = np.concatenate([[0.0], cdf[:-1]])
    kept = np.flatnonzero(cdf - lows > 0)
    # one draw inside each kept character's interval of the cumulative distribution: it must
    # come out as that character, and a character outside the top k never
    draws = [(lows[i] + cdf[i]) / 2 for i in kept] + [0.0, 1.0 - 1e-16]
    model = _Fixed(vocab, logits)
    got = sample_characters(
        model, "t", model.step, len(draws), "a", temperature, _Draws(draws), top_k
    )
    want = [vocab[i] for i in kept] + [vocab[kept[0]], vocab[kept[-1]]]
    assert list(got) == want


def test_a_draw_of_zero_never_picks_a_character_of_probability_zero():
    # Before: the id drawn was the count of cumulative sums below u * total, which is 0 for
    # u = 0.0 (numpy's random() returns it with probability 2**-53): the first character, even
    # at a temperature that leaves all the probability on another one.
    model = _Fixed("abc", [-1.0, 0.0, 5.0])
    for temperature in (1e-40, 1e-3):  # the argmax limit and a softmax that underflows
        assert (
            sample_characters(model, "t", model.step, 2, "a", temperature, _Draws([0.0, 0.0]), None)
            == "cc"
        )


def test_a_huge_temperature_draws_uniformly_without_a_warning():
    # Before: logits / 1e308 cast 1e308 to float32 (inf) with an overflow RuntimeWarning, which
    # `chainrule sample --temperature 1e308` under -W error reported as an internal error.
    model = _Fixed("abc", [-1.0, 0.0, 5.0])
    draws = [0.1, 0.5, 0.9]  # thirds of a uniform distribution
    got = sample_characters(model, "t", model.step, 3, "a", 1e308, _Draws(draws), None)
    assert got == "abc"


def test_top_k_with_the_language_models():
    rng = np.random.default_rng(0)
    lm = cr.models.CharLM("abcdefgh", 4, 8, 1, rng=rng)
    tf = cr.models.CharTransformer("abcdefgh", block=8, d_model=8, num_layers=1, nhead=2, rng=rng)
    for net in (lm, tf):
        greedy = net.sample(12, prime="abc", temperature=1e-30, rng=np.random.default_rng(1))
        assert net.sample(12, prime="abc", top_k=1, rng=np.random.default_rng(2)) == greedy
        full = net.sample(12, prime="ab", rng=np.random.default_rng(3))
        assert net.sample(12, prime="ab", top_k=8, rng=np.random.default_rng(3)) == full
        assert net.sample(12, prime="ab", top_k=50, rng=np.random.default_rng(3)) == full
        for bad in (0, -1, True, 1.5, "2"):
            with pytest.raises(
                ValueError, match=f"top_k must be a positive int or None, got {bad!r}"
            ):
                net.sample(3, top_k=bad)
    with pytest.raises(ValueError, match="temperature must be a number > 0, got 0 .*top_k=1"):
        lm.sample(3, temperature=0)


def test_command_line_samples_with_top_k(tmp_path, capsys):
    lm = cr.models.build(
        "char_lm",
        vocabulary="abcdefgh",
        embedding_dim=4,
        hidden_size=8,
        num_layers=1,
        rng=np.random.default_rng(0),
    )
    save_weights(lm, tmp_path / "model.safetensors", config={"model": lm.config, "kind": "char_lm"})
    greedy = lm.sample(20, prime="ab", top_k=1, rng=np.random.default_rng(5))
    assert (
        main(
            [
                "sample",
                str(tmp_path),
                "--length",
                "20",
                "--prime",
                "ab",
                "--top-k",
                "1",
                "--seed",
                "7",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "ab" + greedy + "\n"
    with pytest.raises(SystemExit):
        main(["sample", str(tmp_path), "--top-k", "0"])
    assert "argument --top-k: expected an integer >= 1, got '0'" in capsys.readouterr().err
    # Before: both reported the image classifiers' missing 'input_shape' entry.
    for command in (["predict", str(tmp_path), "some text"], ["evaluate", str(tmp_path)]):
        assert main(command) == 2
        assert (
            f"is a character language model's run, which has no classes to {command[0]}; "
            f"generate text with `chainrule sample {tmp_path}`" in capsys.readouterr().err
        )


def test_char_transformer_training_refuses_the_lstms_sizes(tmp_path):
    # Before: hidden_size, num_layers, embedding_dim and dropout were ignored for
    # char_transformer (its 4 default layers trained where num_layers=1 was asked for).
    from chainrule.experiments.char_lm import train_char_lm

    text = tmp_path / "t.txt"
    text.write_text("a text to learn from, " * 10)
    with pytest.raises(
        ValueError,
        match=r"num_layers=1, dropout=0.2 set the char_lm's LSTM; "
        r"char_transformer takes its sizes in model_kwargs",
    ):
        train_char_lm(
            text, model="char_transformer", num_layers=1, dropout=0.2, out=tmp_path / "run"
        )
    assert not (tmp_path / "run").exists()


def test_read_text_skips_a_byte_order_mark(tmp_path):
    # Before: the BOM of a file saved by Notepad became a character of the vocabulary, which
    # sampling from an empty prime could draw.
    from chainrule.experiments.char_lm import read_text

    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + b"line one\r\nline two\r" * 10)
    assert read_text(path) == "line one\nline two\n" * 10
