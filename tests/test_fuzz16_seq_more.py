"""Sixteenth fuzz wave, sequence models (continued): PyTorch's attributes of the Transformer
stacks and layers, and PyTorch's inference fast path beside chainrule's one path."""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import port

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _activations(lib):
    F = lib.nn.functional
    return ["relu", "gelu", F.relu, F.gelu, lib.nn.ReLU(), lib.nn.GELU(), lib.tanh,
            lib.nn.GELU(approximate="tanh"), lib.nn.SiLU()]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")
def test_transformer_attributes_as_pytorch():
    # chainrule's TransformerEncoder had no enable_nested_tensor, use_nested_tensor or
    # mask_check, nor its encoder layer activation_relu_or_gelu (1 ReLU, 2 GELU, else 0)
    for ta, ca in zip(_activations(torch), _activations(cr), strict=True):
        t = torch.nn.TransformerEncoderLayer(4, 2, activation=ta)
        c = cr.nn.TransformerEncoderLayer(4, 2, activation=ca)
        assert c.activation_relu_or_gelu == t.activation_relu_or_gelu, ta
    for nested, check in itertools.product((True, False), repeat=2):
        stacks = [lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(4, 2), 2,
                                            enable_nested_tensor=nested, mask_check=check)
                  for lib in (torch, cr)]
        for name in ("enable_nested_tensor", "mask_check", "num_layers"):
            assert getattr(stacks[1], name) == getattr(stacks[0], name), name
        # PyTorch's is False here too (batch_first=False): chainrule has no nested-tensor path
        assert stacks[0].use_nested_tensor is False and stacks[1].use_nested_tensor is False


_PADS = {"none": None, "some": [[False, False, True], [False, True, True]],
         "a hidden row": [[True, True, True], [False, True, False]]}
_MASKS = {"none": None, "causal": np.triu(np.ones((3, 3), bool), 1).tolist(),
          "a hidden query": [[True, True, True], [False, False, True], [False, False, False]]}


@pytest.mark.parametrize("kind", ["attention", "layer", "stack"])
def test_inference_equals_pytorch_with_grad(kind):
    # docs/pytorch.md: PyTorch's fast path (eval mode, no grad, batch_first) gives NaN for a
    # query the masks leave no key (and 0 at padded positions of the stack); its path with grad
    # gives the attention 0 there. chainrule has one path: under no_grad it gives what PyTorch
    # gives with grad, with a bool or a float padding mask
    rng = np.random.default_rng(1640)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)

    def build(lib):
        nn = lib.nn
        if kind == "attention":
            return nn.MultiheadAttention(4, 2, batch_first=True)
        layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True)
        return layer if kind == "layer" else nn.TransformerEncoder(layer, 2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = build(torch).eval()
    cm = build(cr).eval()
    port(tm, cm)
    fast_differs = 0
    for (pad_name, pad), (mask_name, mask), floats in itertools.product(
            _PADS.items(), _MASKS.items(), (False, True)):

        def call(lib, m, pad=pad, mask=mask, floats=floats):
            X = lib.tensor(x)
            P = None if pad is None else lib.tensor(np.where(pad, -np.inf, 0).astype(np.float32)
                                                     if floats else np.array(pad))
            M = None if mask is None else lib.tensor(np.array(mask))
            if kind == "attention":
                return m(X, X, X, key_padding_mask=P, attn_mask=M, need_weights=False)[0]
            if kind == "layer":
                return m(X, src_mask=M, src_key_padding_mask=P)
            return m(X, mask=M, src_key_padding_mask=P)

        label = f"{kind} padding {pad_name} mask {mask_name} float padding {floats}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.no_grad():
                fast = call(torch, tm).numpy()
            want = call(torch, tm).detach().numpy()
        with cr.no_grad():
            got = call(cr, cm).numpy()
        assert not np.isnan(want).any(), label
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5, err_msg=label)
        fast_differs += not np.allclose(fast, want, atol=1e-5, equal_nan=True)
    assert fast_differs > 0
