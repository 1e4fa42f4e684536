"""F.multi_head_attention_forward (PyTorch's long positional signature) against PyTorch's, from
the same weights (float64): outputs, weights and gradients, with separate projections, bias_k/v,
zero attention, masks, static keys/values and unbatched input; and equal to nn.MultiheadAttention
from that module's parameters."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

E, H, L, S, N = 8, 2, 3, 4, 2


def _weights(rng, separate, bias_kv):
    w = dict(in_proj_weight=rng.standard_normal((3 * E, E)) * 0.4,
             in_proj_bias=rng.standard_normal(3 * E) * 0.1,
             out_proj_weight=rng.standard_normal((E, E)) * 0.4,
             out_proj_bias=rng.standard_normal(E) * 0.1)
    if separate:
        w.update(q_proj_weight=rng.standard_normal((E, E)) * 0.4,
                 k_proj_weight=rng.standard_normal((E, 5)) * 0.4,
                 v_proj_weight=rng.standard_normal((E, 6)) * 0.4)
    if bias_kv:
        w.update(bias_k=rng.standard_normal((1, 1, E)), bias_v=rng.standard_normal((1, 1, E)))
    return w


def _call(lib, fn, q, k, v, w, kw):
    t = {name: lib.tensor(a, requires_grad=True) for name, a in w.items()}
    args = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
    out, weights = fn(*args, E, H, t["in_proj_weight"], t["in_proj_bias"], t.get("bias_k"),
                      t.get("bias_v"), kw.pop("add_zero_attn", False), 0.0,
                      t["out_proj_weight"], t["out_proj_bias"],
                      q_proj_weight=t.get("q_proj_weight"), k_proj_weight=t.get("k_proj_weight"),
                      v_proj_weight=t.get("v_proj_weight"), **kw)
    return out, weights, args, t


@pytest.mark.torch
@pytest.mark.parametrize("case", ["plain", "separate", "bias_kv_zero_attn", "masks", "no_weights",
                                  "per_head", "unbatched", "static"])
def test_matches_torch(rng, case):
    torch = pytest.importorskip("torch")
    separate, bias_kv = case == "separate", case == "bias_kv_zero_attn"
    w = _weights(rng, separate, bias_kv)
    kdim, vdim = (5, 6) if separate else (E, E)
    shape = (lambda n, d: (n, d)) if case == "unbatched" else (lambda n, d: (n, N, d))
    q, k, v = (rng.standard_normal(shape(n, d)) for n, d in ((L, E), (S, kdim), (S, vdim)))
    kw = dict(use_separate_proj_weight=separate)
    if bias_kv:
        kw["add_zero_attn"] = True
    if case == "masks" or bias_kv:
        kw["attn_mask"] = rng.standard_normal((L, S))
        kw["key_padding_mask"] = np.array([[0.0, 0.0, -1e9, 0.0], [0.0, -2.0, 0.0, 0.0]])
    if case == "no_weights":
        kw["need_weights"] = False
    if case == "per_head":
        kw["average_attn_weights"] = False
        kw["attn_mask"] = rng.random((N * H, L, S)) < 0.3
    if case == "static":
        kw["static_k"] = rng.standard_normal((N * H, 5, E // H))
        kw["static_v"] = rng.standard_normal((N * H, 5, E // H))
    results = []
    for lib, fn in ((cr, F.multi_head_attention_forward),
                    (torch, torch.nn.functional.multi_head_attention_forward)):
        kw_lib = {k: (lib.tensor(a) if isinstance(a, np.ndarray) else a) for k, a in kw.items()}
        out, weights, args, t = _call(lib, fn, q, k, v, w, kw_lib)
        g = np.random.default_rng(1).standard_normal(tuple(out.shape))
        (out * lib.tensor(g)).sum().backward()
        grads = [a.grad for a in args] + [t[n].grad for n in sorted(t)]
        results.append((out, weights, [None if x is None else x.numpy() for x in grads]))
    (o1, w1, g1), (o2, w2, g2) = results
    np.testing.assert_allclose(o1.numpy(), o2.detach().numpy(), rtol=1e-10, atol=1e-12)
    if case == "no_weights":
        assert w1 is None and w2 is None
    else:
        np.testing.assert_allclose(w1.numpy(), w2.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(g1, g2, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_equals_the_module_from_its_parameters(rng):
    m = nn.MultiheadAttention(E, H, add_bias_kv=True, rng=rng, dtype="float64")
    q, k, v = (cr.tensor(rng.standard_normal((n, N, E))) for n in (L, S, S))
    mask = cr.tensor(rng.random((L, S)) < 0.3)
    out, weights = m(q, k, v, attn_mask=mask)
    f_out, f_weights = F.multi_head_attention_forward(
        q, k, v, E, H, m.in_proj_weight, m.in_proj_bias, m.bias_k, m.bias_v, False, 0.0,
        m.out_proj.weight, m.out_proj.bias, attn_mask=mask)
    np.testing.assert_array_equal(out.numpy(), f_out.numpy())
    np.testing.assert_array_equal(weights.numpy(), f_weights.numpy())


def test_dropout_draws_from_rng(rng):
    w = {k: cr.tensor(a) for k, a in _weights(rng, False, False).items()}
    q = cr.tensor(rng.standard_normal((L, N, E)))
    args = (q, q, q, E, H, w["in_proj_weight"], w["in_proj_bias"], None, None, False, 0.5,
            w["out_proj_weight"], w["out_proj_bias"])
    a = F.multi_head_attention_forward(*args, rng=np.random.default_rng(4))[1]
    b = F.multi_head_attention_forward(*args, rng=np.random.default_rng(4))[1]
    c = F.multi_head_attention_forward(*args, training=False)[1]
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert (a.numpy() == 0).any() and not (c.numpy() == 0).any()


@pytest.mark.kernel_free
@pytest.mark.parametrize("change, match", [
    (dict(embed_dim_to_check=6), "embed_dim_to_check = 6 features"),
    (dict(num_heads=3), "num_heads must be a positive int dividing embed_dim 8, got 3"),
    (dict(in_proj_weight=None), "in_proj_weight must have shape"),
    (dict(bias_k="k"), "bias_k and bias_v must be given together"),
    (dict(use_separate_proj_weight=True), "needs q_proj_weight"),
    (dict(static_k=np.zeros((3, 5, 4))), "static_k must have shape \\(N\\*num_heads, S, "
                                         "head_dim\\) = \\(4, S, 4\\), got \\(3, 5, 4\\)"),
    (dict(attn_mask=np.zeros((L, S + 1), bool)), "attn_mask must have shape"),
])
def test_errors(rng, change, match):
    w = {k: cr.tensor(a) for k, a in _weights(rng, False, False).items()}
    q = cr.tensor(rng.standard_normal((L, N, E)))
    kw = dict(query=q, key=q, value=q, embed_dim_to_check=E, num_heads=H,
              in_proj_weight=w["in_proj_weight"], in_proj_bias=w["in_proj_bias"], bias_k=None,
              bias_v=None, add_zero_attn=False, dropout_p=0.0,
              out_proj_weight=w["out_proj_weight"], out_proj_bias=w["out_proj_bias"])
    if change.get("bias_k") == "k":
        change = dict(bias_k=cr.tensor(np.zeros((1, 1, E))))
    kw.update({k: (cr.tensor(a) if isinstance(a, np.ndarray) else a) for k, a in change.items()})
    with pytest.raises((ValueError, TypeError), match=match):
        F.multi_head_attention_forward(**kw)
