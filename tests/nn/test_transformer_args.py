"""Transformer and MultiheadAttention arguments: PyTorch's construction, calls and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.kernel_free
def test_transformer_draws_every_matrix_from_xavier_uniform():
    # PyTorch's Transformer re-initializes each parameter of more than one axis with
    # xavier_uniform_; the layers' own (Kaiming) bounds would be narrower.
    model = cr.nn.Transformer(16, 2, 1, 1, 32, rng=np.random.default_rng(0))
    for name, p in model.named_parameters():
        if p.ndim > 1:
            fan_out, fan_in = p.shape
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            top = float(np.abs(p.numpy()).max())
            assert 0.9 * bound < top <= bound, name


class _Encoder(cr.nn.Module):
    """A custom encoder whose keywords come in another order than PyTorch's, and that is falsy."""

    def __init__(self):
        super().__init__()
        self.seen = None

    def __len__(self):
        return 0

    def forward(self, src, src_key_padding_mask=None, is_causal=None, mask=None):
        self.seen = (mask, src_key_padding_mask, is_causal)
        return src


def test_transformer_keeps_a_custom_encoder_and_calls_it_by_keyword():
    encoder = _Encoder()
    model = cr.nn.Transformer(4, 2, 1, 1, 8, dropout=0.0, custom_encoder=encoder,
                              rng=np.random.default_rng(0))
    assert model.encoder is encoder
    src, tgt = cr.ones(3, 2, 4), cr.ones(5, 2, 4)
    mask = cr.zeros(3, 3)
    padding = cr.tensor(np.zeros((2, 3), bool))
    model(src, tgt, src_mask=mask, src_key_padding_mask=padding)
    assert encoder.seen[0] is mask and encoder.seen[1] is padding


@pytest.mark.kernel_free
def test_transformer_refuses_src_and_tgt_of_different_batches():
    model = cr.nn.Transformer(4, 2, 1, 1, 8, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"src and tgt must have one batch size \(axis 1\), got "
                                         r"shapes \(3, 2, 4\) and \(5, 3, 4\)"):
        model(cr.ones(3, 2, 4), cr.ones(5, 3, 4))


@pytest.mark.kernel_free
def test_multihead_attention_names_the_argument_of_a_wrong_shape():
    m = cr.nn.MultiheadAttention(4, 2, rng=np.random.default_rng(0))
    q, kv = cr.zeros(3, 2, 4), cr.zeros(5, 2, 4)
    with pytest.raises(ValueError, match=r"key and value must have the query's batch size 2 and "
                                         r"one length S, got key of 5 steps x 1"):
        m(q, cr.zeros(5, 1, 4), cr.zeros(5, 1, 4))
    with pytest.raises(ValueError, match="got key of 5 steps x 2 and value of 4 steps x 2"):
        m(q, kv, cr.zeros(4, 2, 4))
    for bad in ((3, 4), (2, 3, 5), (2, 2, 3, 5)):
        with pytest.raises(ValueError, match=r"attn_mask must have shape \(L, S\) = \(3, 5\) or "
                                             r"\(N\*num_heads, L, S\) = \(4, 3, 5\), got "
                                             + re_shape(bad)):
            m(q, kv, kv, attn_mask=cr.tensor(np.zeros(bad, bool)))
    with pytest.raises(TypeError, match="key_padding_mask must be boolean or floating-point, "
                                        "got int64"):
        m(q, kv, kv, key_padding_mask=cr.tensor(np.zeros((2, 5), np.int64)))
    with pytest.raises(ValueError, match=r"key_padding_mask of unbatched inputs must have shape "
                                         r"\(S,\) = \(5,\), got \(1, 5\)"):
        m(cr.zeros(3, 4), cr.zeros(5, 4), cr.zeros(5, 4),
          key_padding_mask=cr.tensor(np.zeros((1, 5), bool)))


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.kernel_free
def test_stacked_layers_draw_their_own_dropout_masks_from_one_generator():
    # Each copy of the layer had a frozen copy of its generator, so with an explicit rng every
    # layer of the stack drew the same dropout masks.
    rng = np.random.default_rng(0)
    layer = cr.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.5, rng=rng)
    stack = cr.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    first, second = stack.layers[0], stack.layers[1]
    assert first.dropout.rng is rng and second.dropout.rng is rng
    assert first.self_attn._rng is rng and second.self_attn._rng is rng
    x = cr.ones(5, 8)
    assert not np.array_equal(first.dropout(x).numpy(), second.dropout(x).numpy())
    assert first.linear1.weight is not second.linear1.weight
    decoder = cr.nn.TransformerDecoder(cr.nn.TransformerDecoderLayer(4, 2, 8, rng=rng), 2)
    assert decoder.layers[0].multihead_attn._rng is decoder.layers[1].dropout3.rng is rng
