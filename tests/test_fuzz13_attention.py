"""Thirteenth fuzz wave: attention and transformers against PyTorch where the eighth wave did not
look: float32 layers (dtypes and values), F.multi_head_attention_forward under random arguments,
scaled_dot_product_attention with masks of every rank and dtype, the is_causal hint without a
mask, mask dtypes and causal-mask detection in the encoder and decoder stacks."""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import port
from ._fuzz12_check import check, same_outcome

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _bool_mask(rng, shape, p=0.3):
    m = rng.random(shape) < p
    m[..., 0] = False  # every query keeps a key
    return m


def _draw_mha32(rng):
    h = int(rng.integers(1, 4))
    E = h * int(rng.integers(1, 4))
    kdim = int(rng.integers(1, 5)) if rng.random() < 0.3 else None
    vdim = int(rng.integers(1, 5)) if rng.random() < 0.3 else None
    bf, unbatched = bool(rng.random() < 0.5), bool(rng.random() < 0.2)
    kw = dict(bias=bool(rng.random() < 0.7), add_bias_kv=bool(rng.random() < 0.3),
              add_zero_attn=bool(rng.random() < 0.3), kdim=kdim, vdim=vdim, batch_first=bf)
    L, S, N = (int(v) for v in rng.integers(1, 4, 3))

    def shape(T, F):
        return (T, F) if unbatched else (N, T, F) if bf else (T, N, F)

    arrays = [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kdim or E)),
              rng.standard_normal(shape(S, vdim or E))]
    names = []
    if rng.random() < 0.5:
        names.append("attn_mask")
        m = _bool_mask(rng, (L, S) if rng.random() < 0.6 else ((1 if unbatched else N) * h, L, S))
        arrays.append(m if rng.random() < 0.5 else np.where(m, -np.inf, rng.standard_normal(
            m.shape)))
    if rng.random() < 0.4:
        names.append("key_padding_mask")
        m = _bool_mask(rng, (S,) if unbatched else (N, S))
        arrays.append(m if rng.random() < 0.5 else np.where(m, -np.inf, 0.0))
    call_kw = dict(need_weights=bool(rng.random() < 0.6),
                   average_attn_weights=bool(rng.random() < 0.5))
    return kw, E, h, arrays, names, call_kw


@pytest.mark.parametrize("seed", range(2))
def test_float32_multihead_attention_matches_pytorch(seed):
    # float32 layers and inputs (float masks float32 too): the output and weights keep float32
    # and agree with PyTorch's to float32 rounding
    rng = np.random.default_rng(1300 + seed)
    for _ in range(30):
        kw, E, h, arrays, names, call_kw = _draw_mha32(rng)
        arrays = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
        tm = torch.nn.MultiheadAttention(E, h, **kw)
        cm = cr.nn.MultiheadAttention(E, h, **kw)
        port(tm, cm)

        def call(lib, m, *ts, names=names, call_kw=call_kw):
            return m(*ts[:3], **dict(zip(names, ts[3:])), **call_kw)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's mismatched-mask-types warning
            t_out = call(torch, tm, *[torch.tensor(a) for a in arrays])
        c_out = call(cr, cm, *[cr.tensor(a) for a in arrays])
        desc = f"{kw} {[a.shape for a in arrays]} {names} {call_kw}"
        for t, c in zip(t_out, c_out, strict=True):
            assert (t is None) == (c is None), desc
            if t is None:
                continue
            assert str(c.dtype) == "float32" and tuple(c.shape) == tuple(t.shape), desc
            np.testing.assert_allclose(c.numpy(), t.detach().numpy(), rtol=2e-5, atol=2e-5,
                                       err_msg=desc)


def _draw_functional(rng):
    """Random arguments of F.multi_head_attention_forward: (arrays, kw, argument names)."""
    h = int(rng.integers(1, 3))
    E = h * int(rng.integers(1, 3))
    D = E // h
    L, S, N = (int(v) for v in rng.integers(1, 4, 3))
    unbatched = bool(rng.random() < 0.2)
    separate = bool(rng.random() < 0.4)
    kdim, vdim = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if separate else (E, E)

    def shape(T, F):
        return (T, F) if unbatched else (T, N, F)

    named = {"query": rng.standard_normal(shape(L, E)), "key": rng.standard_normal(shape(S, kdim)),
             "value": rng.standard_normal(shape(S, vdim))}
    if separate:
        named.update(q_proj_weight=rng.standard_normal((E, E)),
                     k_proj_weight=rng.standard_normal((E, kdim)),
                     v_proj_weight=rng.standard_normal((E, vdim)))
    else:
        named["in_proj_weight"] = rng.standard_normal((3 * E, E))
    if rng.random() < 0.7:
        named["in_proj_bias"] = rng.standard_normal(3 * E)
    static = not unbatched and rng.random() < 0.25
    if not static and rng.random() < 0.3:
        named["bias_k"], named["bias_v"] = rng.standard_normal((2, 1, 1, E))
    S2 = S
    if static:
        # PyTorch checks attn_mask against the key's length, not static_k's: a static length of
        # its own only without attn_mask
        S2 = int(rng.integers(1, 4)) if rng.random() < 0.3 else S
        for name in ("static_k", "static_v"):
            if rng.random() < 0.7:
                named[name] = rng.standard_normal((N * h, S2, D))
        if "static_k" not in named:
            S2 = S
    named["out_proj_weight"] = rng.standard_normal((E, E))
    if rng.random() < 0.7:
        named["out_proj_bias"] = rng.standard_normal(E)
    zero_attn = bool(rng.random() < 0.3)
    if S2 == S and rng.random() < 0.4:
        m = _bool_mask(rng, (L, S2) if rng.random() < 0.6 else ((1 if unbatched else N) * h, L,
                                                                 S2))
        named["attn_mask"] = m if rng.random() < 0.5 else rng.standard_normal(m.shape)
    if rng.random() < 0.3:
        m = _bool_mask(rng, (S2,) if unbatched else (N, S2))
        named["key_padding_mask"] = m if rng.random() < 0.5 else np.where(m, -np.inf, 0.0)
    kw = dict(embed_dim_to_check=E, num_heads=h, add_zero_attn=zero_attn, dropout_p=0.0,
              training=bool(rng.random() < 0.5), need_weights=bool(rng.random() < 0.6),
              use_separate_proj_weight=separate,
              average_attn_weights=bool(rng.random() < 0.5))
    return named, kw


_POSITIONAL = ("query", "key", "value")
_SLOTS = ("in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj_weight",
          "out_proj_bias")


def test_functional_multi_head_attention_forward_matches_pytorch():
    rng = np.random.default_rng(1310)
    for _ in range(60):
        named, kw = _draw_functional(rng)
        names = list(named)

        def fn(lib, *ts, names=names, kw=kw):
            a = dict(zip(names, ts))
            slots = {s: a.pop(s, None) for s in _SLOTS}
            out = lib.nn.functional.multi_head_attention_forward(
                a.pop("query"), a.pop("key"), a.pop("value"), kw["embed_dim_to_check"],
                kw["num_heads"], slots["in_proj_weight"], slots["in_proj_bias"], slots["bias_k"],
                slots["bias_v"], kw["add_zero_attn"], kw["dropout_p"], slots["out_proj_weight"],
                slots["out_proj_bias"], **{k: v for k, v in kw.items()
                                           if k not in ("embed_dim_to_check", "num_heads",
                                                        "add_zero_attn", "dropout_p")}, **a)
            return tuple(o for o in out if o is not None)  # the weights are None without need

        grad = [i for i, n in enumerate(names) if named[n].dtype.kind == "f"
                and n not in ("attn_mask", "key_padding_mask")]
        desc = f"{ {n: named[n].shape for n in names} } {kw}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(torch, fn, *[named[n] for n in names], grad=grad, rtol=1e-10, label=desc)


def _draw_sdpa(rng):
    """Random arguments of scaled_dot_product_attention: (arrays, kw)."""
    batch = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 3))))
    L, S, E, Ev = (int(v) for v in rng.integers(1, 4, 4))
    gqa = len(batch) >= 1 and rng.random() < 0.25
    qb = batch[:-1] + (int(rng.integers(1, 3)) * batch[-1],) if gqa else batch
    if not gqa and batch and rng.random() < 0.3:  # batch axes of 1 broadcast against the query's
        batch = tuple(1 if rng.random() < 0.5 else b for b in batch)
    arrays = [rng.standard_normal(qb + (L, E)), rng.standard_normal(batch + (S, E)),
              rng.standard_normal(batch + (S, Ev))]
    kw = {"dropout_p": 0.0}
    r = rng.random()
    if r < 0.5:  # a mask of any rank that broadcasts to (..., L, S), its axes 1 or full
        full = qb + (L, S)
        # PyTorch's kernels for 4-D inputs refuse a 1-D mask (docs/pytorch.md)
        rank = int(rng.integers(1 + (len(full) >= 4), len(full) + 1))
        shape = tuple(1 if rng.random() < 0.4 else d for d in full[-rank:])
        m = rng.random(shape) < 0.3
        kind = rng.random()
        arrays.append(m if kind < 0.5 else np.where(m, -np.inf, 0.0) if kind < 0.7
                      else rng.standard_normal(shape))
    elif r < 0.65:
        kw["is_causal"] = True
    if rng.random() < 0.3:
        kw["scale"] = float(rng.choice([0.1, 1.0, 2.5, -0.5]))
    if gqa:
        kw["enable_gqa"] = True
    return arrays, kw


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scaled_dot_product_attention_masks_of_every_rank(dtype):
    # rows the mask hides completely give 0 (PyTorch's math kernel), float masks get their
    # gradient; float32 keeps float32
    rng = np.random.default_rng(1320 + (dtype == "float32"))
    for _ in range(80):
        arrays, kw = _draw_sdpa(rng)
        arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
        grad = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if dtype == "float64" \
            else ()
        check(torch, lambda lib, *ts, kw=kw: lib.nn.functional.scaled_dot_product_attention(
            *ts, **kw), *arrays, grad=grad, rtol=1e-10 if dtype == "float64" else 1e-5,
            label=f"{[a.shape for a in arrays]} {[str(a.dtype) for a in arrays]} {kw}")


def _causal_hint_calls(lib):
    """Calls that give the is_causal hint without the mask it describes."""
    E, h = 4, 2
    mha = lib.nn.MultiheadAttention(E, h)
    enc = lib.nn.TransformerEncoderLayer(E, h, 6, dropout=0.0)
    dec = lib.nn.TransformerDecoderLayer(E, h, 6, dropout=0.0)
    stack = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(E, h, 6, dropout=0.0), 2,
                                      enable_nested_tensor=False)
    full = lib.nn.Transformer(E, h, 1, 1, 6, dropout=0.0)
    x, y = lib.ones(3, 2, E), lib.ones(2, 2, E)
    F = lib.nn.functional
    w, b = lib.ones(3 * E, E), lib.zeros(3 * E)
    return {
        "MultiheadAttention": lambda: mha(x, x, x, is_causal=True),
        "MultiheadAttention without weights": lambda: mha(x, x, x, is_causal=True,
                                                          need_weights=False),
        "multi_head_attention_forward": lambda: F.multi_head_attention_forward(
            x, x, x, E, h, w, b, None, None, False, 0.0, lib.ones(E, E), None, is_causal=True),
        "TransformerEncoderLayer": lambda: enc(x, is_causal=True),
        "TransformerEncoder": lambda: stack(x, is_causal=True),
        "TransformerDecoderLayer tgt": lambda: dec(y, x, tgt_is_causal=True),
        "TransformerDecoderLayer memory": lambda: dec(y, x, memory_is_causal=True),
        "Transformer src": lambda: full(x, y, src_is_causal=True),
        "Transformer tgt": lambda: full(x, y, tgt_is_causal=True),
    }


def test_is_causal_hint_without_a_mask_is_refused():
    # chainrule applied its own causal mask here where PyTorch refuses the call: is_causal only
    # describes attn_mask (PyTorch may drop the mask for it, never invents one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nn.Transformer's nested-tensor notice
        theirs, ours = _causal_hint_calls(torch), _causal_hint_calls(cr)
    for name, call in theirs.items():
        with pytest.raises(RuntimeError, match="Need attn_mask"):
            call()
        with pytest.raises(ValueError, match="is_causal=True needs attn_mask"):
            ours[name]()


_MASK_DTYPES = [None, "bool", "float16", "float32", "float64"]


@pytest.mark.parametrize("query_dtype", ["float32", "float64"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_mask_dtypes_as_pytorch(query_dtype, need_weights):
    # PyTorch adds a float mask to the scores of its need_weights path with baddbmm (the mask
    # must have the query's dtype) and passes it to scaled_dot_product_attention otherwise
    # (float32 or the query's dtype); boolean masks become the query's dtype first. A causal
    # hint without a key_padding_mask and weights drops attn_mask, whatever its dtype.
    rng = np.random.default_rng(1330)
    E, h, L, S, N = 4, 2, 3, 3, 2
    tm = torch.nn.MultiheadAttention(E, h).to(getattr(torch, query_dtype))
    cm = cr.nn.MultiheadAttention(E, h, dtype=query_dtype)
    port(tm, cm)
    q, k = (rng.standard_normal((T, N, E)).astype(query_dtype) for T in (L, S))
    causal = np.triu(np.ones((L, S), bool), 1)
    pad = _bool_mask(rng, (N, S))
    for attn in _MASK_DTYPES:
        for kpm in _MASK_DTYPES:
            for is_causal in (False, True) if attn else (False,):
                kw = dict(need_weights=need_weights, is_causal=is_causal)
                if attn:
                    kw["attn_mask"] = causal if attn == "bool" else np.where(
                        causal, -np.inf, 0.0).astype(attn)
                if kpm:
                    kw["key_padding_mask"] = pad if kpm == "bool" else np.where(
                        pad, -np.inf, 0.0).astype(kpm)

                def fn(lib, q, k, kw=kw):
                    m = tm if lib is torch else cm
                    masks = {n: lib.tensor(a) for n, a in kw.items() if "mask" in n}
                    return m(q, k, k, need_weights=need_weights, is_causal=is_causal,
                             **masks)[0].detach()

                same_outcome(torch, fn, [q, k], rtol=1e-5 if query_dtype == "float32" else 1e-12,
                             label=f"attn_mask {attn} key_padding_mask {kpm} {kw}")


def test_scaled_dot_product_attention_mask_dtypes_as_pytorch():
    # a float mask must be float32 or the query's dtype (chainrule added a float16 one and
    # failed inside matmul on a float64 one with a float32 query)
    rng = np.random.default_rng(1331)
    for q_dtype in ("float16", "float32", "float64"):
        q = rng.standard_normal((2, 3, 4)).astype(q_dtype)
        for m_dtype in _MASK_DTYPES[1:] + ["int64"]:
            m = rng.random((3, 3)) < 0.3 if m_dtype == "bool" else \
                rng.standard_normal((3, 3)).astype(m_dtype)
            same_outcome(torch, lambda lib, q, m: lib.nn.functional.scaled_dot_product_attention(
                q, q, q, attn_mask=m), [q, m], rtol=1e-3 if q_dtype == "float16" else 1e-6,
                label=f"query {q_dtype} attn_mask {m_dtype}")
    with pytest.raises(TypeError, match="attn_mask must be float32 or have the query's dtype"):
        cr.nn.functional.scaled_dot_product_attention(
            *[cr.ones(1, 2, 2)] * 3, attn_mask=cr.zeros(2, 2, dtype="float64"))


@pytest.mark.parametrize(("q_shape", "mask_shape"), [
    ((2, 3, 4), (2, 1, 1, 3)),  # a 4-D padding mask of 3-D inputs
    ((3, 4), (1, 3, 3)), ((1, 3, 4), (2, 3, 3)), ((1, 1, 3, 4), (1, 2, 3, 3)),
    ((2, 1, 3, 4), (1, 2, 1, 3)), ((1, 1, 3, 4), (2, 1, 1, 3, 3))])
def test_scaled_dot_product_attention_refuses_a_mask_that_widens_the_output(q_shape, mask_shape):
    # chainrule broadcast the output to such a mask's batch shape ((2, 2, 3, 4) from the 3-D
    # inputs of the first case); PyTorch refuses a mask that does not broadcast to the scores
    rng = np.random.default_rng(1332)
    q = rng.standard_normal(q_shape)
    m = rng.random(mask_shape) < 0.3
    for mask in (m, np.where(m, -np.inf, 0.0)):
        same_outcome(torch, lambda lib, q, m: lib.nn.functional.scaled_dot_product_attention(
            q, q, q, attn_mask=m), [q, mask], label=f"{q_shape} {mask_shape}")
    with pytest.raises(ValueError, match="does not broadcast to the attention scores' shape"):
        cr.nn.functional.scaled_dot_product_attention(*[cr.tensor(q)] * 3, attn_mask=cr.tensor(m))


def _draw_stack(rng):
    """A random Transformer layer or stack with PyTorch's generated causal masks (float32,
    float64 or boolean) given with the is_causal hint left to the stack to detect, or set."""
    kind = str(rng.choice(["enc", "encstack", "dec", "decstack", "full"]))
    h = int(rng.integers(1, 3))
    E = h * int(rng.integers(1, 3))
    bf = bool(rng.random() < 0.5)
    kw = dict(dim_feedforward=int(rng.integers(1, 6)), dropout=0.0, batch_first=bf,
              norm_first=bool(rng.random() < 0.5), bias=bool(rng.random() < 0.8),
              activation=str(rng.choice(["relu", "gelu"])),
              layer_norm_eps=float(rng.choice([1e-5, 1e-2])))
    L, S, N = (int(v) for v in rng.integers(1, 4, 3))
    hint = rng.choice([None, True, False])
    return kind, E, h, kw, (L, S, N), hint


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_transformer_stacks_with_generated_causal_masks(dtype):
    rng = np.random.default_rng(1340 + (dtype == "float64"))
    for _ in range(12):
        kind, E, h, kw, (L, S, N), hint = _draw_stack(rng)
        mask_kind = str(rng.choice(["float", "bool"]))
        pad = rng.random() < 0.4

        def make(lib, kind=kind, E=E, h=h, kw=kw):
            nn = lib.nn
            if kind == "full":
                return nn.Transformer(E, h, 1, 2, **kw)
            if kind.startswith("enc"):
                layer = nn.TransformerEncoderLayer(E, h, **kw)
                return layer if kind == "enc" else nn.TransformerEncoder(
                    layer, 2, norm=nn.LayerNorm(E), enable_nested_tensor=False)
            layer = nn.TransformerDecoderLayer(E, h, **kw)
            return layer if kind == "dec" else nn.TransformerDecoder(layer, 2)

        def call(lib, m, src, tgt, kind=kind, mask_kind=mask_kind, pad=pad, hint=hint,
                 L=L, S=S, N=N):
            gen = lib.nn.Transformer.generate_square_subsequent_mask
            smask = gen(S, dtype=getattr(lib, "bool" if mask_kind == "bool" else dtype))
            tmask = gen(L, dtype=getattr(lib, "bool" if mask_kind == "bool" else dtype))
            spad = lib.tensor(np.arange(S)[None].repeat(N, 0) >= S - 1 if pad and S > 1 else
                              np.zeros((N, S), bool))
            if kind == "enc":
                return m(src, src_mask=smask, src_key_padding_mask=spad, is_causal=bool(hint))
            if kind == "encstack":
                return m(src, mask=smask, src_key_padding_mask=spad, is_causal=hint)
            if kind == "dec":
                return m(tgt, src, tgt_mask=tmask, memory_key_padding_mask=spad,
                         tgt_is_causal=bool(hint))
            if kind == "decstack":
                return m(tgt, src, tgt_mask=tmask, memory_key_padding_mask=spad,
                         tgt_is_causal=hint)
            return m(src, tgt, src_mask=smask, tgt_mask=tmask, src_key_padding_mask=spad,
                     memory_key_padding_mask=spad, src_is_causal=hint, tgt_is_causal=hint)

        shape = (lambda T: (N, T, E)) if kw["batch_first"] else (lambda T: (T, N, E))
        src, tgt = (rng.standard_normal(shape(T)).astype(dtype) for T in (S, L))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nn.Transformer's nested-tensor notice
            tm = make(torch).to(getattr(torch, dtype))
        cm = make(cr).to(getattr(cr, dtype))
        port(tm, cm)
        desc = f"{kind} {kw} L={L} S={S} N={N} {mask_kind} pad={pad} hint={hint}"
        ts = [torch.tensor(a, requires_grad=dtype == "float64") for a in (src, tgt)]
        cs = [cr.tensor(a, requires_grad=dtype == "float64") for a in (src, tgt)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_out = call(torch, tm, *ts)
        c_out = call(cr, cm, *cs)
        tol = 1e-10 if dtype == "float64" else 2e-5
        assert str(c_out.dtype) == dtype, desc
        np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), rtol=tol,
                                   atol=tol, err_msg=desc)
        if dtype == "float64":
            w = rng.standard_normal(tuple(t_out.shape))
            (t_out * torch.tensor(w)).sum().backward()
            (c_out * cr.tensor(w)).sum().backward()
            for i, (t, c) in enumerate(zip(ts, cs)):
                tg = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
                cg = np.zeros(c.shape) if c.grad is None else c.grad.numpy()
                np.testing.assert_allclose(cg, tg, rtol=tol, atol=tol,
                                           err_msg=f"{desc} grad {i}")


def test_causal_bias_of_nn_attention_bias_matches_pytorch():
    # torch.nn.attention.bias: causal_upper_left/causal_lower_right given as attn_mask (the
    # lower-right one masks for decoding L new tokens after S - L cached ones)
    import torch.nn.attention.bias  # noqa: F401 - a submodule PyTorch does not import itself

    rng = np.random.default_rng(1350)
    for _ in range(30):
        L, S = (int(v) for v in rng.integers(1, 5, 2))
        variant = str(rng.choice(["causal_upper_left", "causal_lower_right"]))
        batch = (int(rng.integers(1, 3)), 2)
        kw = {"scale": 0.7} if rng.random() < 0.3 else {}
        q = rng.standard_normal(batch + (L, 3))
        k, v = (rng.standard_normal((batch[0], 1 if rng.random() < 0.3 else 2, S, 3))
                for _ in range(2))
        if k.shape[1] != 2:
            kw["enable_gqa"] = True
            v = v[:, :1]

        def fn(lib, q, k, v, variant=variant, L=L, S=S, kw=kw):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the lower-right one's warning when L > S
                b = getattr(lib.nn.attention.bias, variant)(L, S)
            return lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=b, **kw)

        check(torch, fn, q, k, v, grad=[0, 1, 2], rtol=1e-12,
              label=f"{variant}({L}, {S}) {q.shape} {k.shape} {kw}")
    for lib in (torch, cr):
        mb = lib.nn.attention.bias
        assert np.array_equal(np.asarray(mb.causal_lower_right(2, 4)._materialize().numpy()),
                              np.tril(np.ones((2, 4), bool), 2))
        assert np.array_equal(np.asarray(mb.causal_upper_left(3, 2)._materialize().numpy()),
                              np.tril(np.ones((3, 2), bool)))
        assert int(mb.CausalVariant.UPPER_LEFT) == 1 and int(mb.CausalVariant.LOWER_RIGHT) == 2
        with pytest.warns(UserWarning, match="Lower right causal bias will produce NaNs"):
            mb.causal_lower_right(3, 2)
        with pytest.raises(Exception):  # noqa: B017 - PyTorch's AssertionError, chainrule's ValueError
            mb.causal_upper_left(3)
        q = lib.ones(1, 2, 3)
        with pytest.raises(ValueError):
            lib.nn.functional.scaled_dot_product_attention(
                q, q, q, attn_mask=mb.causal_upper_left(2, 2), is_causal=True)


def test_causal_lower_right_gradcheck():
    rng = np.random.default_rng(1351)
    q = cr.tensor(rng.standard_normal((2, 2, 4)), requires_grad=True)
    k, v = (cr.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True) for _ in range(2))
    bias = cr.nn.attention.bias.causal_lower_right(2, 5)
    assert "True" in repr(bias)

    def f(a, b, c):
        return cr.F.scaled_dot_product_attention(a, b, c, attn_mask=bias)

    assert cr.gradcheck(f, (q, k, v))
    assert cr.gradgradcheck(f, (q, k, v))


@pytest.mark.parametrize("kw", [{}, {"kdim": 3, "vdim": 5}, {"add_bias_kv": True},
                                {"bias": False}])
def test_reset_parameters_as_pytorch(kw):
    # MultiheadAttention._reset_parameters and Transformer._reset_parameters (PyTorch's names,
    # which subclasses and scripts call to re-initialize) were missing
    for lib in (torch, cr):
        m = lib.nn.MultiheadAttention(6, 2, **kw)
        with lib.no_grad():
            for p in m.parameters():
                p.fill_(7.0)
        m._reset_parameters()
        sd = {k: np.asarray(v.detach().numpy()) for k, v in m.state_dict().items()}
        bound = np.sqrt(6 / (6 + 18))  # in_proj_weight (18, 6)
        for name, v in sd.items():
            if name in ("in_proj_bias", "out_proj.bias"):
                assert not v.any(), (lib.__name__, name)
            elif name == "out_proj.weight":
                assert (v == 7).all(), (lib.__name__, name)  # Linear's init is kept
            else:
                assert (v != 7).all(), (lib.__name__, name)
            if name == "in_proj_weight":
                assert np.abs(v).max() <= bound, lib.__name__
    for lib in (torch, cr):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = lib.nn.Transformer(4, 2, 1, 1, 6)
        with lib.no_grad():
            for p in t.parameters():
                p.fill_(7.0)
        t._reset_parameters()
        for name, p in t.named_parameters():
            assert ((p.detach().numpy() == 7).all()) == (p.ndim == 1), (lib.__name__, name)


_SIZE_CALLS = {
    "zeros": lambda lib, t: lib.zeros(t), "ones tuple": lambda lib, t: lib.ones((t, 2)),
    "full": lambda lib, t: lib.full((t,), 1.5), "empty": lambda lib, t: lib.empty(t, 2).shape,
    "randn": lambda lib, t: lib.randn(t).shape, "arange": lambda lib, t: lib.arange(t),
    "arange bounds": lambda lib, t: lib.arange(t - 2, t + 3, t - 1),
}


@pytest.mark.parametrize("value", [3, 3.5, -1, [2], [2, 3], True])
def test_factories_take_a_zero_d_tensor_as_a_size(value):
    # a padding mask is built from arange(lengths.max()) (a 0-d tensor); chainrule's factories
    # refused tensors as sizes and bounds where PyTorch takes integer (and, for arange, float)
    # ones needing no gradient
    for name, call in _SIZE_CALLS.items():
        if isinstance(value, float) and name == "arange bounds" or value is True and \
                name.startswith("arange"):
            continue  # float bounds round differently in the last place; PyTorch counts True as 1
        same_outcome(torch, lambda lib, call=call: call(lib, lib.tensor(value)),
                     label=f"{name}({value!r})")


def test_key_padding_mask_from_lengths_matches_pytorch():
    rng = np.random.default_rng(1360)
    lengths = np.array([3, 1, 4])
    x = rng.standard_normal((3, 4, 4))
    tm = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    cm = cr.nn.MultiheadAttention(4, 2, batch_first=True).double()
    port(tm, cm)
    outs = []
    for lib, m in ((torch, tm), (cr, cm)):
        n = lib.tensor(lengths)
        pad = lib.arange(n.max())[None, :] >= n[:, None]
        xs = lib.tensor(x)
        outs.append(m(xs, xs, xs, key_padding_mask=pad)[0].detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12, atol=1e-12)


def _attention_pool(lib, spacial=2, embed_dim=8, num_heads=2, output_dim=6):
    """OpenAI CLIP's AttentionPool2d: the mean token attends to the grid through
    F.multi_head_attention_forward with separate projections, all arguments by keyword."""
    nn, F = lib.nn, lib.nn.functional

    class AttentionPool2d(nn.Module):
        def __init__(self):
            super().__init__()
            self.positional_embedding = nn.Parameter(
                lib.randn(spacial ** 2 + 1, embed_dim) / embed_dim ** 0.5)
            self.k_proj = nn.Linear(embed_dim, embed_dim)
            self.q_proj = nn.Linear(embed_dim, embed_dim)
            self.v_proj = nn.Linear(embed_dim, embed_dim)
            self.c_proj = nn.Linear(embed_dim, output_dim)
            self.num_heads = num_heads

        def forward(self, x):
            x = x.flatten(start_dim=2).permute(2, 0, 1)  # NCHW -> (HW)NC
            x = lib.cat([x.mean(dim=0, keepdim=True), x], dim=0)
            x = x + self.positional_embedding[:, None, :].to(x.dtype)
            x, _ = F.multi_head_attention_forward(
                query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1],
                num_heads=self.num_heads, q_proj_weight=self.q_proj.weight,
                k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
                in_proj_weight=None,
                in_proj_bias=lib.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
                bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0,
                out_proj_weight=self.c_proj.weight, out_proj_bias=self.c_proj.bias,
                use_separate_proj_weight=True, training=self.training, need_weights=False)
            return x.squeeze(0)

    return AttentionPool2d()


def test_clip_attention_pool_matches_pytorch():
    rng = np.random.default_rng(1370)
    tm, cm = _attention_pool(torch).double(), _attention_pool(cr).double()
    port(tm, cm)
    x = rng.standard_normal((3, 8, 2, 2))
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    t, c = tm(tx), cm(cx)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(tuple(t.shape))
    (t * torch.tensor(w)).sum().backward()
    (c * cr.tensor(w)).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), q in zip(tm.named_parameters(), cm.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
