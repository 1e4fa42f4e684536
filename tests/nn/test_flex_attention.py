"""``nn.attention.flex_attention`` against PyTorch's eager flex_attention: score_mods (ALiBi,
soft-capping, a learned per-head bias), mask_mods through create_block_mask (causal, document
masks, and_masks/or_masks, queries that see no key), grouped-query heads, the log-sum-exp, the
block-level view of a BlockMask; float64 gradients by finite differences."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

cfa = cr.nn.attention.flex_attention


@pytest.fixture
def tfa(monkeypatch):
    from torch.nn.attention import flex_attention as tfa

    # PyTorch's documented switch to run the eager math without tracing it (much faster here);
    # the computation is the same
    monkeypatch.setattr(tfa, "_FLEX_ATTENTION_DISABLE_COMPILE_DEBUG", True)
    return tfa


def _causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def _mods(lib, fa, rng, B, H, L, S):
    """(score_mod, mask_mod) pairs of the kinds real programs write."""
    bias, doc = lib.tensor(rng.standard_normal(H)), lib.tensor(rng.integers(0, 2, (B, max(L, S))))
    return {
        "plain": (None, None),
        "alibi causal": (lambda s, b, h, q, k: s + bias[h] * (k - q), _causal),
        "soft cap": (lambda s, b, h, q, k: 2.0 * (s / 2.0).tanh(), None),
        "documents": (None, lambda b, h, q, k: doc[b, q] == doc[b, k]),
        "and/or": (None, fa.or_masks(fa.and_masks(_causal, lambda b, h, q, k: k > 0),
                                     lambda b, h, q, k: q == 0)),
        "no key for late queries": (None, lambda b, h, q, k: (q < 2) & (k < 3)),
    }


@pytest.mark.kernel_free
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_flex_attention_matches_pytorch(tfa, dtype):
    rng = np.random.default_rng(1380)
    B, H, L, S, E = 2, 4, 5, 6, 3
    names = list(_mods(torch, tfa, rng, B, H, L, S))
    for gqa in (False, True):
        q = rng.standard_normal((B, H, L, E)).astype(dtype)
        k, v = (rng.standard_normal((B, 2 if gqa else H, S, E)).astype(dtype) for _ in range(2))
        # PyTorch's eager flex_attention takes a while per call: every mod once in float64
        for name in names[gqa::2] if dtype == "float32" else names[:3] if gqa else names:
            outs = []
            for lib, fa in ((torch, tfa), (cr, cfa)):
                score_mod, mask_mod = _mods(lib, fa, np.random.default_rng(7), B, H, L, S)[name]
                bm = None if mask_mod is None else fa.create_block_mask(mask_mod, None, None, L,
                                                                        S, device="cpu")
                out, aux = fa.flex_attention(
                    lib.tensor(q), lib.tensor(k), lib.tensor(v), score_mod=score_mod,
                    block_mask=bm, enable_gqa=gqa, return_aux=fa.AuxRequest(lse=True))
                outs.append((out, aux.lse))
            (t, t_lse), (c, c_lse) = outs
            tol = 1e-12 if dtype == "float64" else 1e-5
            assert str(c.dtype) == dtype and str(c_lse.dtype) == str(t_lse.dtype)[6:], name
            np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=tol, atol=tol, err_msg=name)
            np.testing.assert_allclose(c_lse.numpy(), t_lse.numpy(), rtol=tol, atol=tol,
                                       err_msg=name)


@pytest.mark.kernel_free
def test_block_mask_block_view_and_dense_mask_match_pytorch(tfa):
    B, H, L, S = 2, 3, 7, 5
    for name in ("alibi causal", "documents", "and/or", "no key for late queries"):
        dense, blocks = [], []
        for lib, fa in ((torch, tfa), (cr, cfa)):
            score_mod, mask_mod = _mods(lib, fa, np.random.default_rng(7), B, H, L, S)[name]
            bm = fa.create_block_mask(mask_mod, B, None, L, S, device="cpu", BLOCK_SIZE=2)
            blocks.append(bm.to_dense().numpy())
            dense.append(fa.create_mask(score_mod or mask_mod, B, H, L, S, device="cpu").numpy())
            assert tuple(bm.shape) == (B, 1, L, S) and bm.BLOCK_SIZE == (2, 2)
        np.testing.assert_array_equal(blocks[1], blocks[0], err_msg=name)
        np.testing.assert_array_equal(dense[1], dense[0], err_msg=name)


def test_flex_attention_gradcheck_with_a_learned_bias():
    rng = np.random.default_rng(1382)
    q = cr.tensor(rng.standard_normal((1, 2, 4, 3)), requires_grad=True)
    k, v = (cr.tensor(rng.standard_normal((1, 2, 5, 3)), requires_grad=True) for _ in range(2))
    rel = cr.tensor(rng.standard_normal(9), requires_grad=True)  # a bias per offset k - q
    bm = cfa.create_block_mask(lambda b, h, qi, ki: (ki <= qi + 1) & (qi < 3), None, None, 4, 5)

    def f(q, k, v, rel):
        return cfa.flex_attention(q, k, v, score_mod=lambda s, b, h, qi, ki: s + rel[ki - qi + 4],
                                  block_mask=bm)

    assert cr.gradcheck(f, (q, k, v, rel))
    assert cr.gradgradcheck(f, (q, k, v, rel))
    assert not f(q, k, v, rel)[:, :, 3].numpy().any()  # a query that sees no key gives 0


@pytest.mark.kernel_free
def test_flex_attention_refuses_bad_input_by_name():
    q = cr.ones(1, 2, 3, 4)
    with pytest.raises(ValueError, match="query must be a 4-D Tensor"):
        cfa.flex_attention(cr.ones(2, 3, 4), q, q)
    with pytest.raises(ValueError, match="enable_gqa=True"):
        cfa.flex_attention(cr.ones(1, 4, 3, 4), q, q)
    with pytest.raises(ValueError, match="block_mask was created for"):
        cfa.flex_attention(q, q, q, block_mask=cfa.create_block_mask(_causal, 1, 1, 4, 4))
    with pytest.raises(ValueError, match="not a score_mod"):
        cfa.create_block_mask(lambda s, b, h, qi, ki: s, 1, 1, 3, 3)
    with pytest.warns(FutureWarning, match="return_lse is deprecated"):
        out, lse = cfa.flex_attention(q, q, q, return_lse=True)
    assert tuple(lse.shape) == (1, 2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cfa.flex_attention(q, q, q, kernel_options={"BLOCK_M": 16}).shape == q.shape


@pytest.mark.kernel_free
def test_pytorchs_import_paths():
    import chainrule.nn.attention.flex_attention as fa
    from chainrule.nn.attention.bias import causal_lower_right
    from chainrule.nn.attention.flex_attention import create_block_mask, flex_attention

    assert fa is cfa and flex_attention is cfa.flex_attention
    assert create_block_mask is cfa.create_block_mask
    assert causal_lower_right is cr.nn.attention.bias.causal_lower_right
