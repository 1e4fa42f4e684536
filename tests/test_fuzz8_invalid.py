"""Eighth fuzz wave, invalid hyperparameters: each layer built with one bad value (0, negative,
fractional, None, bool, a tuple holding 0 or a negative, a string) in one argument and called
once; wherever PyTorch refuses (at construction or at the call), chainrule must refuse too
rather than return a number."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

_BAD = [0, -1, 1.5, None, True, (1, 0), (2, -1), "2", 2.0]

# name, (args, kwargs) with a "?" where the bad value goes, input shape (None: see _inputs)
_LAYERS = [
    ("Conv2d", [((2, 2, "?"), {}), ((2, 2, 3), {"stride": "?"}), ((2, 2, 3), {"padding": "?"}),
                ((2, 2, 3), {"dilation": "?"}), ((2, 2, 3), {"groups": "?"}), (("?", 2, 3), {}),
                ((2, "?", 3), {})], (1, 2, 6, 6)),
    ("ConvTranspose1d", [((2, 2, 3), {"output_padding": "?"}), ((2, 2, 3), {"stride": "?"}),
                         ((2, 2, 3), {"padding": "?"}), ((2, 2, "?"), {})], (1, 2, 6)),
    ("MaxPool2d", [(("?",), {}), ((2,), {"stride": "?"}), ((2,), {"padding": "?"}),
                   ((2,), {"dilation": "?"})], (1, 1, 6, 6)),
    ("AvgPool1d", [(("?",), {}), ((2,), {"stride": "?"}), ((2,), {"padding": "?"})], (1, 1, 6)),
    ("AvgPool2d", [((2,), {"divisor_override": "?"})], (1, 1, 6, 6)),
    ("LPPool2d", [(("?", 2), {}), ((2, "?"), {})], (1, 1, 6, 6)),
    ("AdaptiveAvgPool2d", [(("?",), {})], (1, 1, 6, 6)),
    ("AdaptiveMaxPool1d", [(("?",), {})], (1, 1, 6)),
    ("BatchNorm1d", [(("?",), {}), ((2,), {"momentum": "?"})], (3, 2)),
    ("LayerNorm", [(("?",), {}), ((3,), {"eps": "?"})], (2, 3)),
    ("GroupNorm", [(("?", 2), {}), ((2, "?"), {})], (2, 2, 3)),
    ("RMSNorm", [(("?",), {}), ((3,), {"eps": "?"})], (2, 3)),
    ("LocalResponseNorm", [(("?",), {}), ((2,), {"alpha": "?"}), ((2,), {"k": "?"})], (1, 3, 4)),
    ("Dropout", [(("?",), {})], (2, 3)),
    ("Embedding", [(("?", 2), {}), ((3, "?"), {}), ((3, 2), {"padding_idx": "?"})], None),
    ("RNN", [((2, "?"), {}), (("?", 3), {}), ((2, 3), {"num_layers": "?"}),
             ((2, 3), {"dropout": "?"})], (4, 1, 2)),
    ("GRU", [((2, 3), {"num_layers": "?"}), ((2, 3), {"dropout": "?"})], (4, 1, 2)),
    ("MultiheadAttention", [(("?", 1), {}), ((4, "?"), {}), ((4, 2), {"dropout": "?"}),
                            ((4, 2), {"kdim": "?"})], None),
    ("TransformerEncoderLayer", [((4, "?"), {}), ((4, 2), {"dim_feedforward": "?"}),
                                 ((4, 2), {"dropout": "?"})], (3, 1, 4)),
    ("Upsample", [((), {"scale_factor": "?"}), ((), {"size": "?"})], (1, 1, 4)),
    ("PixelShuffle", [(("?",), {})], (1, 4, 2, 2)),
    ("PixelUnshuffle", [(("?",), {})], (1, 1, 4, 4)),
    ("ChannelShuffle", [(("?",), {})], (1, 4, 2, 2)),
    ("Unfold", [(("?",), {}), ((2,), {"stride": "?"}), ((2,), {"padding": "?"}),
                ((2,), {"dilation": "?"})], (1, 1, 5, 5)),
    ("Fold", [(((4, 4), "?"), {}), (((4, 4), 2), {"stride": "?"})], (1, 4, 9)),
    ("MaxUnpool1d", [(("?",), {}), ((2,), {"stride": "?"})], None),
    ("Linear", [(("?", 2), {}), ((3, "?"), {})], (2, 3)),
    ("Bilinear", [(("?", 2, 2), {})], None),
    ("CrossEntropyLoss", [((), {"label_smoothing": "?"}), ((), {"ignore_index": "?"}),
                          ((), {"reduction": "?"})], None),
    ("HuberLoss", [((), {"delta": "?"})], None),
    ("SmoothL1Loss", [((), {"beta": "?"})], None),
    ("TripletMarginLoss", [((), {"margin": "?"}), ((), {"p": "?"})], None),
    ("MultiMarginLoss", [((), {"p": "?"}), ((), {"margin": "?"})], None),
    ("PoissonNLLLoss", [((), {"eps": "?"})], None),
    ("GaussianNLLLoss", [((), {"eps": "?"})], None),
    ("KLDivLoss", [((), {"reduction": "?"})], None),
    ("CTCLoss", [((), {"blank": "?"})], None),
]


def _inputs(name, L, shape):
    rng = np.random.default_rng(0)
    F = L.nn.functional

    def t(*s):
        return L.tensor(rng.standard_normal(s))
    if name == "Embedding":
        return (L.tensor([0, 1]),)
    if name == "MultiheadAttention":
        x = t(3, 1, 4)
        return x, x, x
    if name == "MaxUnpool1d":
        return F.max_pool1d(t(1, 1, 6), 2, return_indices=True)
    if name in ("CrossEntropyLoss", "MultiMarginLoss"):
        return t(2, 3), L.tensor([0, 2])
    if name in ("HuberLoss", "SmoothL1Loss", "PoissonNLLLoss", "KLDivLoss"):
        return L.tensor(rng.random(3)), L.tensor(rng.random(3))
    if name == "GaussianNLLLoss":
        return tuple(L.tensor(rng.random(3)) for _ in range(3))
    if name in ("TripletMarginLoss", "Bilinear"):
        return tuple(t(2, 3 if name == "TripletMarginLoss" else 2) for _ in range(
            3 if name == "TripletMarginLoss" else 2))
    if name == "CTCLoss":
        return (F.log_softmax(t(4, 1, 3), -1), L.tensor([[1, 2]]), L.tensor([4]),
                L.tensor([2]))
    return (t(*shape),)


def _run(L, name, args, kw, shape):
    m = getattr(L.nn, name)(*args, **kw)
    return m.double()(*_inputs(name, L, shape))


@pytest.mark.parametrize("name, argsets, shape", _LAYERS, ids=[n for n, _, _ in _LAYERS])
def test_bad_hyperparameters_are_refused_where_pytorch_refuses_them(name, argsets, shape):
    refused = 0
    for bad in _BAD:
        for args, kw in argsets:
            args = tuple(bad if a == "?" else a for a in args)
            kw = {k: bad if v == "?" else v for k, v in kw.items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    _run(torch, name, args, kw, shape)
                    continue
                except Exception:  # noqa: BLE001 - any error of PyTorch's is a refusal
                    refused += 1
                try:
                    out = _run(cr, name, args, kw, shape)
                except Exception:  # noqa: BLE001
                    continue
            raise AssertionError(f"{name}{args} {kw}: PyTorch refuses, chainrule returned {out}")
    assert refused > 0


def test_batch_norm_takes_eps_0_in_training():
    # docs/pytorch.md: the exact standardization (chainrule's batch_norm doctest); PyTorch
    # requires eps > 0 in training and refuses it
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    with pytest.raises(ValueError, match="eps must be positive during training"):
        torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True, eps=0.0)
    y = cr.nn.functional.batch_norm(cr.tensor(x), None, None, training=True, eps=0.0)
    np.testing.assert_array_equal(y.numpy(), [[-1.0, -1.0], [1.0, 1.0]])
