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


_MHA_OPTIONS = [
    {"kdim": 5, "vdim": 3},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"kdim": 5, "vdim": 3, "add_bias_kv": True, "add_zero_attn": True, "batch_first": True},
    {"add_bias_kv": True, "add_zero_attn": True, "bias": False},
]


def _mha_calls(rng, n, L, S, heads):
    """Mask combinations: (kwargs for both libraries); masks leave every query a key."""
    bool_mask = rng.random((L, S)) < 0.3
    bool_mask[:, 0] = False
    pad = np.zeros((n, S), bool)
    pad[:, -1] = True
    per_head = rng.random((n * heads, L, S)) < 0.3
    per_head[:, :, 0] = False
    return [{}, {"attn_mask": bool_mask, "key_padding_mask": pad},
            {"attn_mask": rng.standard_normal((L, S)),
             "key_padding_mask": np.where(pad, -1e9, 0.0)},
            {"attn_mask": per_head, "average_attn_weights": False},
            {"key_padding_mask": pad, "need_weights": False}]


@pytest.mark.torch
@pytest.mark.parametrize("options", _MHA_OPTIONS)
def test_multihead_attention_options_match_torch(rng, options):
    torch = pytest.importorskip("torch")
    E, H, n, L, S = 8, 2, 3, 4, 5
    ours = cr.nn.MultiheadAttention(E, H, dtype="float64", **options)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **options)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} \
        == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict(_torch_state(torch, ours), strict=True)
    back = cr.nn.MultiheadAttention(E, H, dtype="float64", **options)
    back.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()},
                         strict=True)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k].numpy(), v.numpy())
    kdim, vdim = options.get("kdim", E), options.get("vdim", E)
    first = options.get("batch_first", False)

    def shape(t, d):
        return (n, t, d) if first else (t, n, d)

    arrays = [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kdim)),
              rng.standard_normal(shape(S, vdim))]
    for kwargs in _mha_calls(rng, n, L, S, H):
        mine = [cr.tensor(a, requires_grad=True) for a in arrays]
        yours = [torch.tensor(a, requires_grad=True) for a in arrays]
        out, w = back(*mine, **{k: cr.tensor(v) if isinstance(v, np.ndarray) else v
                                for k, v in kwargs.items()})
        tout, tw = theirs(*yours, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                     for k, v in kwargs.items()})
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        loss, tloss = out.sum(), tout.sum()
        if kwargs.get("need_weights", True):
            np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
            loss, tloss = loss + (w * w).sum(), tloss + (tw * tw).sum()
        else:
            assert w is None and tw is None
        loss.backward()
        tloss.backward()
        for a, b in zip(mine, yours, strict=True):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)
        theirs_grads = dict(theirs.named_parameters())
        for name, p in back.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), theirs_grads[name].grad.numpy(),
                                       rtol=1e-9, atol=1e-11, err_msg=name)
        back.zero_grad()
        theirs.zero_grad()


@pytest.mark.torch
def test_multihead_attention_unbatched_matches_torch(rng):
    torch = pytest.importorskip("torch")
    ours = cr.nn.MultiheadAttention(6, 3, kdim=4, vdim=2, add_zero_attn=True, dtype="float64")
    theirs = torch.nn.MultiheadAttention(6, 3, kdim=4, vdim=2, add_zero_attn=True,
                                         dtype=torch.float64)
    theirs.load_state_dict(_torch_state(torch, ours), strict=True)
    q, k, v = rng.standard_normal((3, 6)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    pad = np.array([False, False, True, False, True])
    out, w = ours(cr.tensor(q), cr.tensor(k), cr.tensor(v), key_padding_mask=cr.tensor(pad),
                  average_attn_weights=False)
    tout, tw = theirs(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                      key_padding_mask=torch.tensor(pad), average_attn_weights=False)
    assert out.shape == (3, 6) and w.shape == (3, 3, 6)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_multihead_attention_options_gradcheck(rng):
    m = cr.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True,
                                 dtype="float64", rng=np.random.default_rng(0))
    q = cr.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = cr.tensor(rng.standard_normal((4, 3, 3)), requires_grad=True)
    v = cr.tensor(rng.standard_normal((4, 3, 5)), requires_grad=True)
    pad = cr.tensor(np.array([[False] * 3 + [True]] * 3))

    def f(a, b, c):
        out, w = m(a, b, c, key_padding_mask=pad)
        return out.sum() + (w * w).sum()

    assert cr.gradcheck(f, (q, k, v))


def test_multihead_attention_bad_inputs_name_the_argument():
    m = cr.nn.MultiheadAttention(4, 2, kdim=3)
    x = cr.zeros(2, 1, 4)
    with pytest.raises(ValueError, match=r"key must have 3 features \(the last axis\), got "
                                         r"shape \(2, 1, 4\)"):
        m(x, x, x)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, S\) = \(1, 2\), "
                                         r"got \(2, 1\)"):
        m(x, cr.zeros(2, 1, 3), x, key_padding_mask=cr.zeros(2, 1, dtype=cr.bool))
    with pytest.raises(TypeError, match="kdim must be an int, got 2.5"):
        cr.nn.MultiheadAttention(4, 2, kdim=2.5)
