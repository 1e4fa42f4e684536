"""Attention where a mask leaves a query no key, and PyTorch's parameter order, vs PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _torch_state(torch, module):
    return {k: torch.tensor(v.numpy()) for k, v in module.state_dict().items()}


@pytest.mark.torch
def test_mha_without_weights_gives_a_masked_out_query_output_zero(rng, kernel_mode):
    # Left-padded causal batch: the first query of sequence 0 may attend only to padding. PyTorch
    # attends with scaled_dot_product_attention when need_weights=False: that query's attention
    # is 0 (the output is out_proj's bias), not nan.
    torch = pytest.importorskip("torch")
    ours = cr.nn.MultiheadAttention(4, 2, batch_first=True, dtype="float64",
                                    rng=np.random.default_rng(1))
    with cr.no_grad():
        ours.out_proj.bias.copy_(cr.tensor(rng.standard_normal(4)))
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True, dtype=torch.float64)
    theirs.load_state_dict(_torch_state(torch, ours), strict=True)
    x = rng.standard_normal((2, 3, 4))
    pad = np.array([[True, False, False], [False, False, False]])
    causal = np.triu(np.ones((3, 3), bool), 1)
    xs, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, w = ours(xs, xs, xs, key_padding_mask=cr.tensor(pad), attn_mask=cr.tensor(causal),
                  need_weights=False)
    tout, _ = theirs(xt, xt, xt, key_padding_mask=torch.tensor(pad),
                     attn_mask=torch.tensor(causal), need_weights=False)
    assert w is None and np.isfinite(out.numpy()).all()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(cr.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    theirs_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_grads[name].grad.numpy(),
                                   rtol=1e-9, atol=1e-11, err_msg=name)
    # With need_weights=True PyTorch takes a plain softmax: that query's weights are nan.
    with np.errstate(invalid="ignore"):
        _, w = ours(xs, xs, xs, key_padding_mask=cr.tensor(pad), attn_mask=cr.tensor(causal))
    _, tw = theirs(xt, xt, xt, key_padding_mask=torch.tensor(pad), attn_mask=torch.tensor(causal))
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_encoder_layer_on_a_left_padded_causal_batch_stays_finite(rng, kernel_mode):
    torch = pytest.importorskip("torch")
    ours = cr.nn.TransformerEncoder(
        cr.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True, dtype="float64",
                                      rng=np.random.default_rng(2)), 2, enable_nested_tensor=False)
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True,
                                         dtype=torch.float64), 2, enable_nested_tensor=False)
    theirs.load_state_dict(_torch_state(torch, ours), strict=True)
    x = rng.standard_normal((2, 3, 4))
    pad = np.array([[True, False, False], [False, False, False]])
    mask = np.triu(np.ones((3, 3), bool), 1)
    out = ours(cr.tensor(x), mask=cr.tensor(mask), src_key_padding_mask=cr.tensor(pad))
    tout = theirs(torch.tensor(x), mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(pad))
    assert np.isfinite(out.numpy()).all()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_decoder_parameters_come_in_pytorchs_order():
    # An optimizer's state dict refers to parameters by their position: the order must agree.
    torch = pytest.importorskip("torch")
    ours, theirs = cr.nn.TransformerDecoderLayer(4, 2, 8), torch.nn.TransformerDecoderLayer(4, 2, 8)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


@pytest.mark.torch
@pytest.mark.parametrize("batched", [True, False])
def test_mha_float_masks_that_require_grad_get_pytorchs_gradient(rng, kernel_mode, batched):
    # A learned position bias given as attn_mask (and a float key_padding_mask) is added to the
    # scores: PyTorch sends it the gradient; it must not be detached.
    torch = pytest.importorskip("torch")
    ours = cr.nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, dtype="float64",
                                    rng=np.random.default_rng(3))
    theirs = torch.nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True,
                                         dtype=torch.float64)
    theirs.load_state_dict(_torch_state(torch, ours), strict=True)
    x = rng.standard_normal((3, 2, 4) if batched else (3, 4))
    bias = rng.standard_normal((4, 3, 3) if batched else (3, 3))
    pad = rng.standard_normal((2, 3) if batched else (3,))
    for need_weights in (True, False):
        ob, op = cr.tensor(bias, requires_grad=True), cr.tensor(pad, requires_grad=True)
        tb, tp = torch.tensor(bias, requires_grad=True), torch.tensor(pad, requires_grad=True)
        out, _ = ours(cr.tensor(x), cr.tensor(x), cr.tensor(x), attn_mask=ob,
                      key_padding_mask=op, need_weights=need_weights)
        tout, _ = theirs(torch.tensor(x), torch.tensor(x), torch.tensor(x), attn_mask=tb,
                         key_padding_mask=tp, need_weights=need_weights)
        g = rng.standard_normal(out.shape)
        out.backward(cr.tensor(g))
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ob.grad.numpy(), tb.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(op.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.torch
@pytest.mark.parametrize("heads", [(4, 2), (4, 1), (6, 3)])
def test_sdpa_grouped_query_attention_matches_torch(rng, kernel_mode, heads):
    torch = pytest.importorskip("torch")
    hq, hk = heads
    arrays = (rng.standard_normal((2, hq, 3, 4)), rng.standard_normal((2, hk, 5, 4)),
              rng.standard_normal((2, hk, 5, 2)))
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = cr.F.scaled_dot_product_attention(*ours, is_causal=True, enable_gqa=True)
    tout = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=True,
                                                            enable_gqa=True)
    g = rng.standard_normal(out.shape)
    out.backward(cr.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)
    with pytest.raises(ValueError, match="enable_gqa needs heads on axis -3"):
        cr.F.scaled_dot_product_attention(cr.ones(2, 3, 3, 4), cr.ones(2, 2, 5, 4),
                                          cr.ones(2, 2, 5, 4), enable_gqa=True)
