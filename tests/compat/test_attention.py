"""Attention and the Transformer layers against the PyTorch oracle, and gradient checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _torch_state(torch, module):
    return {k: torch.tensor(v.numpy()) for k, v in module.state_dict().items()}


def test_sdpa_gradients_with_masks(rng):
    q, k, v = (cr.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    keep = cr.tensor(rng.random((3, 5)) < 0.7)
    keep.data[:, 0] = True  # every query keeps a key
    bias = cr.tensor(rng.standard_normal((3, 5)))
    for kwargs in ({}, {"attn_mask": keep}, {"attn_mask": bias}, {"scale": 0.3}):
        def f(a, b, c, kwargs=kwargs):
            return cr.F.scaled_dot_product_attention(a, b, c, **kwargs)

        assert cr.gradcheck(f, (q, k, v))
        assert cr.gradgradcheck(f, (q, k, v))
    q5 = cr.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    assert cr.gradcheck(lambda a, b, c: cr.F.scaled_dot_product_attention(a, b, c, is_causal=True),
                        (q5, k, v))
    with pytest.raises(ValueError, match="give attn_mask or is_causal, not both"):
        cr.F.scaled_dot_product_attention(q, k, v, attn_mask=keep, is_causal=True)


def test_mha_dropout_draws_from_its_generator():
    m = cr.nn.MultiheadAttention(4, 2, dropout=0.5, rng=np.random.default_rng(0))
    x = cr.ones(3, 2, 4)
    assert not np.allclose(m(x, x, x)[1].numpy(), m.eval()(x, x, x)[1].numpy())
    with pytest.raises(ValueError, match="embed_dim 6 is not divisible by num_heads 4"):
        cr.nn.MultiheadAttention(6, 4)


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(rng, batch_first):
    torch = pytest.importorskip("torch")
    ours = cr.nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype="float64")
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=torch.float64)
    theirs.load_state_dict(_torch_state(torch, ours), strict=True)
    back = cr.nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype="float64")
    back.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()},
                         strict=True)
    n, L, S = 4, 3, 5
    q = rng.standard_normal((n, L, 8) if batch_first else (L, n, 8))
    kv = rng.standard_normal((n, S, 8) if batch_first else (S, n, 8))
    mask = rng.random((L, S)) < 0.3
    mask[:, 0] = False
    pad = np.zeros((n, S), bool)
    pad[:, -1] = True
    for kwargs in ({}, {"attn_mask": mask, "key_padding_mask": pad},
                   {"attn_mask": rng.standard_normal((L, S))},
                   {"average_attn_weights": False}):
        qc, kc = cr.tensor(q, requires_grad=True), cr.tensor(kv, requires_grad=True)
        qt, kt = torch.tensor(q, requires_grad=True), torch.tensor(kv, requires_grad=True)
        out, w = back(qc, kc, kc, **{k: cr.tensor(v) if isinstance(v, np.ndarray) else v
                                     for k, v in kwargs.items()})
        tout, tw = theirs(qt, kt, kt, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                         for k, v in kwargs.items()})
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-13)
        (out.sum() + (w * w).sum()).backward()
        (tout.sum() + (tw * tw).sum()).backward()
        np.testing.assert_allclose(qc.grad.numpy(), qt.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(kc.grad.numpy(), kt.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(back.in_proj_weight.grad.numpy(),
                                   theirs.in_proj_weight.grad.numpy(), rtol=1e-9, atol=1e-12)
        back.zero_grad()
        theirs.zero_grad()


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's note on nested tensors
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_matches_torch(rng, norm_first, activation):
    torch = pytest.importorskip("torch")
    opts = {"dim_feedforward": 16, "activation": activation, "norm_first": norm_first}
    ours = cr.nn.Transformer(8, 2, 2, 2, dropout=0.1, dtype="float64", **opts)
    theirs = torch.nn.Transformer(8, 2, 2, 2, dropout=0.1, dtype=torch.float64, **opts)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    theirs.load_state_dict(_torch_state(torch, ours), strict=True)
    src, tgt = rng.standard_normal((5, 3, 8)), rng.standard_normal((4, 3, 8))
    mask = cr.nn.Transformer.generate_square_subsequent_mask(4, dtype="float64")
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(mask.numpy(), tmask.numpy())
    ours.eval()
    theirs.eval()  # dropout off: the two compute the same function
    s, t = cr.tensor(src, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = ours(s, cr.tensor(tgt), tgt_mask=mask)
    tout = theirs(t, torch.tensor(tgt), tgt_mask=tmask)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-9, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-11)
    name = "encoder.layers.1.linear1.weight"
    np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.numpy(),
                               dict(theirs.named_parameters())[name].grad.numpy(),
                               rtol=1e-8, atol=1e-11)
    ours.train()
    cr.manual_seed(0)
    first = ours(cr.tensor(src), cr.tensor(tgt)).numpy()
    cr.manual_seed(0)
    np.testing.assert_array_equal(ours(cr.tensor(src), cr.tensor(tgt)).numpy(), first)
    assert not np.allclose(first, out.numpy())  # dropout is on in training mode


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_encoder_stack_loads_torch_weights(rng):
    torch = pytest.importorskip("torch")
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                             dtype=torch.float64)
    theirs = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    ours = cr.nn.TransformerEncoder(
        cr.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype="float64"), 2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()},
                         strict=True)
    x = rng.standard_normal((3, 5, 8))
    pad = np.zeros((3, 5), bool)
    pad[0, -2:] = True
    out = ours(cr.tensor(x), src_key_padding_mask=cr.tensor(pad), is_causal=False)
    tout = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-9, atol=1e-12)
