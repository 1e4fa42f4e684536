"""Eighth fuzz wave: MultiheadAttention, the Transformer layers and scaled_dot_product_attention
under random hyperparameters and masks, with the weights ported from PyTorch through
``load_state_dict`` (float64)."""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import check, port

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _mask(rng, shape, kinds=("bool", "float", "inf")):
    m = rng.random(shape) < 0.3
    m[..., 0] = False  # every query keeps a key
    kind = str(rng.choice(kinds))
    return m if kind == "bool" else np.where(m, -np.inf, 0.0) if kind == "inf" else \
        rng.standard_normal(shape)


def _draw_mha(rng):
    h = int(rng.integers(1, 4))
    E = h * int(rng.integers(1, 4))
    kdim = int(rng.integers(1, 5)) if rng.random() < 0.3 else None
    vdim = int(rng.integers(1, 5)) if rng.random() < 0.3 else None
    bf = bool(rng.random() < 0.5)
    kw = dict(bias=bool(rng.random() < 0.7), add_bias_kv=bool(rng.random() < 0.3),
              add_zero_attn=bool(rng.random() < 0.3), kdim=kdim, vdim=vdim, batch_first=bf)
    L, S, N = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    unbatched = rng.random() < 0.2

    def shape(T, F):
        return (T, F) if unbatched else (N, T, F) if bf else (T, N, F)

    q = rng.standard_normal(shape(L, E))
    k, v = rng.standard_normal(shape(S, kdim or E)), rng.standard_normal(shape(S, vdim or E))
    masks, call_kw = {}, {}
    r = rng.random()
    if r < 0.3:
        masks["attn_mask"] = _mask(rng, (L, S))
    elif r < 0.45:
        masks["attn_mask"] = _mask(rng, ((1 if unbatched else N) * h, L, S), ("bool", "float"))
    if rng.random() < 0.3:
        masks["key_padding_mask"] = _mask(rng, (S,) if unbatched else (N, S), ("bool", "inf"))
    if rng.random() < 0.15 and masks.get("attn_mask", np.zeros(0)).ndim == 2:
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
        masks["attn_mask"][:, 0] = False
        # PyTorch's is_causal hint drops attn_mask and covers the bias_k/zero-attention keys
        # when it returns no weights and has no key_padding_mask (docs/pytorch.md, tested below)
        if not (kw["add_bias_kv"] or kw["add_zero_attn"]) or "key_padding_mask" in masks:
            call_kw["is_causal"] = True
    call_kw.update(need_weights=bool(rng.random() < 0.6),
                   average_attn_weights=bool(rng.random() < 0.5))
    names = list(masks)

    def make(lib):
        def call(m, q, k, v, *ms):
            return m(q, k, v, **dict(zip(names, ms)), **call_kw)
        return lib.nn.MultiheadAttention(E, h, **kw), call

    desc = f"MHA({E}, {h}, {kw}) q{q.shape} k{k.shape} masks={names} {call_kw}"
    return desc, make, [q, k, v] + [masks[n] for n in names]


@pytest.mark.parametrize("seed", range(3))
def test_multihead_attention_ported_from_pytorch(seed):
    rng = np.random.default_rng(860 + seed)
    for _ in range(40):
        desc, make, arrays = _draw_mha(rng)
        try:
            assert check(make, arrays, rng, train=bool(rng.random() < 0.5),
                         grad=[0, 1, 2]) == "compared"
        except AssertionError as e:
            raise AssertionError(desc) from e


def _draw_transformer(rng):
    kind = str(rng.choice(["enc", "dec", "encstack", "decstack", "full"]))
    h = int(rng.integers(1, 3))
    E, FF = h * int(rng.integers(1, 4)), int(rng.integers(1, 6))
    act = str(rng.choice(["relu", "gelu", "F.gelu", "tanh"]))
    bf = bool(rng.random() < 0.5)
    kw = dict(dim_feedforward=FF, dropout=0.0, layer_norm_eps=float(rng.choice([1e-5, 1e-3])),
              batch_first=bf, norm_first=bool(rng.random() < 0.5), bias=bool(rng.random() < .8))
    L, S, N = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    unbatched = rng.random() < 0.15 and kind in ("enc", "dec")

    def shape(T):
        return (T, E) if unbatched else (N, T, E) if bf else (T, N, E)

    def pad(T):
        m = rng.random((T,) if unbatched else (N, T)) < 0.3
        m[..., 0] = False
        return m

    causal = rng.random() < 0.4
    masks = {}
    if rng.random() < 0.4:
        masks["src_mask"] = np.triu(np.ones((S, S), bool), 1) if causal else _mask(rng, (S, S))
    if rng.random() < 0.3:
        masks["src_key_padding_mask"] = pad(S)
    if kind in ("dec", "decstack", "full"):
        if rng.random() < 0.4:
            masks["tgt_mask"] = (np.triu(np.ones((L, L), bool), 1) if causal
                                 else rng.standard_normal((L, L)))
        for name, T in (("tgt_key_padding_mask", L), ("memory_key_padding_mask", S)):
            if rng.random() < 0.3:
                masks[name] = pad(T)
    flags = {}
    if causal and kind in ("enc", "encstack") and "src_mask" in masks and rng.random() < 0.5:
        flags["is_causal"] = True
    if causal and kind in ("dec", "decstack") and "tgt_mask" in masks and rng.random() < 0.5:
        flags["tgt_is_causal"] = True
    n_layers, with_norm = int(rng.integers(1, 3)), bool(rng.random() < 0.5)
    names = list(masks)

    def make(lib):
        a = {"relu": "relu", "gelu": "gelu", "F.gelu": lib.nn.functional.gelu,
             "tanh": lib.tanh}[act]
        norm = lib.nn.LayerNorm(E) if with_norm else None
        if kind == "full":
            m = lib.nn.Transformer(E, h, n_layers, n_layers, activation=a, **kw)
            return m, lambda m, src, tgt, *ms: m(src, tgt, **dict(zip(names, ms)))
        if kind in ("enc", "encstack"):
            layer = lib.nn.TransformerEncoderLayer(E, h, activation=a, **kw)
            m = layer if kind == "enc" else lib.nn.TransformerEncoder(
                layer, n_layers, norm=norm, enable_nested_tensor=False)

            def call(m, src, tgt, *ms):
                d = dict(zip(names, ms))
                if kind == "encstack" and "src_mask" in d:
                    d["mask"] = d.pop("src_mask")
                return m(src, **d, **flags)
            return m, call
        layer = lib.nn.TransformerDecoderLayer(E, h, activation=a, **kw)
        m = layer if kind == "dec" else lib.nn.TransformerDecoder(layer, n_layers, norm=norm)

        def call(m, src, tgt, *ms):
            d = {k: v for k, v in zip(names, ms) if not k.startswith("src")}
            return m(tgt, src, **d, **flags)
        return m, call

    desc = f"{kind} E={E} h={h} {act} {kw} L={L} S={S} masks={names} {flags}"
    arrays = [rng.standard_normal(shape(S)), rng.standard_normal(shape(L))]
    return desc, make, arrays + [masks[n] for n in names]


@pytest.mark.parametrize("seed", range(2))
def test_transformer_layers_ported_from_pytorch(seed):
    rng = np.random.default_rng(870 + seed)
    for _ in range(20):
        desc, make, arrays = _draw_transformer(rng)
        try:
            assert check(make, arrays, rng, train=bool(rng.random() < 0.5),
                         grad=[0, 1]) == "compared"
        except AssertionError as e:
            raise AssertionError(desc) from e


def _draw_sdpa(rng):
    batch = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 3))))
    L, S, E, Ev = (int(v) for v in rng.integers(1, 4, 4))
    gqa = len(batch) >= 1 and rng.random() < 0.2
    qb = batch[:-1] + (2 * batch[-1],) if gqa else batch
    arrays = [rng.standard_normal(qb + (L, E)), rng.standard_normal(batch + (S, E)),
              rng.standard_normal(batch + (S, Ev))]
    kw = {"dropout_p": 0.0}
    r = rng.random()
    if r < 0.25:
        arrays.append(_mask(rng, (L, S), ("bool",)))
    elif r < 0.45:  # a float mask, broadcast or full, that gets its own gradient
        arrays.append(rng.standard_normal((1,) * len(qb) + (L, S) if rng.random() < 0.5
                                          else qb + (L, S)))
    elif r < 0.6:
        kw["is_causal"] = True
    if rng.random() < 0.3:
        kw["scale"] = float(rng.choice([0.1, 1.0, 2.5]))
    if gqa:
        kw["enable_gqa"] = True

    def make(lib):
        F = lib.nn.functional
        return lib.nn.Identity(), lambda m, *a: F.scaled_dot_product_attention(*a, **kw)

    return f"sdpa {[a.shape for a in arrays]} {kw}", make, arrays


def test_scaled_dot_product_attention_against_pytorch():
    rng = np.random.default_rng(880)
    for _ in range(80):
        desc, make, arrays = _draw_sdpa(rng)
        try:
            assert check(make, arrays, rng) == "compared"
        except AssertionError as e:
            raise AssertionError(desc) from e


@pytest.mark.parametrize("extra", ["add_bias_kv", "add_zero_attn"])
def test_is_causal_hint_with_extra_keys_follows_the_mask_given(extra):
    # docs/pytorch.md: with need_weights=False and no key_padding_mask PyTorch replaces attn_mask
    # by its own causal mask over the keys bias_k/add_zero_attn appended, so the extra key is
    # hidden from early queries; with need_weights=True it pads the mask given (the key open).
    # chainrule always pads the mask given, so its output does not depend on need_weights.
    rng = np.random.default_rng(0)
    tm = torch.nn.MultiheadAttention(4, 2, **{extra: True}).double()
    cm = cr.nn.MultiheadAttention(4, 2, **{extra: True}).double()
    port(tm, cm)
    q, k = rng.standard_normal((3, 1, 4)), rng.standard_normal((3, 1, 4))
    causal = np.triu(np.ones((3, 3), bool), 1)
    tq, tk, tmask = torch.tensor(q), torch.tensor(k), torch.tensor(causal)
    t_open = tm(tq, tk, tk, attn_mask=tmask, is_causal=True, need_weights=True)[0]
    t_hint = tm(tq, tk, tk, attn_mask=tmask, is_causal=True, need_weights=False)[0]
    assert not np.allclose(t_open.detach().numpy(), t_hint.detach().numpy())
    for need_weights in (True, False):
        c = cm(cr.tensor(q), cr.tensor(k), cr.tensor(k), attn_mask=cr.tensor(causal),
               is_causal=True, need_weights=need_weights)[0]
        np.testing.assert_allclose(c.numpy(), t_open.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
def test_encoder_in_inference_computes_the_padded_positions():
    # docs/pytorch.md: PyTorch's TransformerEncoder(enable_nested_tensor=True) in eval mode and
    # without grad takes its nested-tensor fast path, which returns 0 at key-padded positions;
    # chainrule computes them, as PyTorch does with grad or in training mode
    rng = np.random.default_rng(1)
    tl = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    te = torch.nn.TransformerEncoder(tl, 2).double().eval()
    ce = cr.nn.TransformerEncoder(cr.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0,
                                                                batch_first=True), 2)
    port(te, ce.double())
    ce.eval()
    x = rng.standard_normal((2, 3, 4))
    pad = np.array([[False, False, True], [False, True, True]])
    with torch.no_grad():
        fast = te(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).numpy()
    full = te(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).detach().numpy()
    with cr.no_grad():
        ours = ce(cr.tensor(x), src_key_padding_mask=cr.tensor(pad)).numpy()
    assert (fast[pad] == 0).all() and np.abs(full[pad]).min() > 0
    np.testing.assert_allclose(ours, full, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours[~pad], fast[~pad], rtol=1e-12, atol=1e-12)


def test_encoder_layer_in_inference_adds_a_float_mask():
    # docs/pytorch.md: PyTorch's encoder-layer fast path (eval, no grad) turns a float src_mask
    # into NaN rows (pytorch/pytorch#118628); its path with grad adds the mask, as chainrule does
    rng = np.random.default_rng(2)
    tl = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True).double().eval()
    cl = cr.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True).double()
    port(tl, cl)
    cl.eval()
    x, mask = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 3))
    with torch.no_grad():
        fast = tl(torch.tensor(x), src_mask=torch.tensor(mask)).numpy()
    full = tl(torch.tensor(x), src_mask=torch.tensor(mask)).detach().numpy()
    with cr.no_grad():
        ours = cl(cr.tensor(x), src_mask=cr.tensor(mask)).numpy()
    assert np.isnan(fast).any() and not np.isnan(full).any()
    np.testing.assert_allclose(ours, full, rtol=1e-12, atol=1e-12)
