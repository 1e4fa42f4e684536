"""Sixteenth fuzz wave: sequence models against PyTorch 2.13, where the eighth and thirteenth
waves did not look.

Transformers: every layer and stack and ``nn.Transformer`` with a custom encoder or decoder,
activations as a string, a function or a module, key padding masks that hide whole rows (bool and
float, finite floats too), 3-D attention masks, ``memory_mask``, generated causal masks with the
``is_causal`` hints (given or detected), unbatched inputs, ``enable_nested_tensor`` and
``mask_check`` either way, final norms, train and eval mode: PyTorch's state dict loaded into
chainrule, outputs and float64 gradients of the inputs and every weight compared.

Packed sequences through pipelines: a packed batch through two recurrent layers in a row (the
first's packed output fed to the second), a ``Linear`` applied to ``packed.data`` through
``_replace`` or a PackedSequence rebuilt from all four fields, states given, unpacked by
``pad_packed_sequence`` or ``unpack_sequence``; float64 gradients of the input, the states and
every weight.

Where PyTorch is undefined or wrong it is left out: a wrong ``is_causal`` hint (PyTorch may then
drop the mask), its inference fast path (docs/pytorch.md) and a decoder stack built with an
activation module (PyTorch's copies of the layer apply ReLU instead, tested below).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import check as port_check
from ._fuzz8_port import port

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _pad_mask(rng, shape, hide_rows):
    """A key padding mask: bool, -inf/0 or finite floats; with ``hide_rows`` a batch row (or the
    unbatched one) may be hidden whole."""
    m = rng.random(shape) < 0.3
    m[..., 0] = False
    if hide_rows and rng.random() < 0.4:
        m[int(rng.integers(0, shape[0])) if len(shape) == 2 else slice(None)] = True
    kind = rng.random()
    return m if kind < 0.5 else np.where(m, -np.inf, 0.0) if kind < 0.8 else \
        rng.standard_normal(shape)


def _attn_mask(rng, T, S, lead):
    """A random (T, S) or (lead, T, S) mask, bool or float, every query keeping a key."""
    shape = (T, S) if rng.random() < 0.6 else (lead, T, S)
    m = rng.random(shape) < 0.3
    m[..., 0] = False
    kind = rng.random()
    return m if kind < 0.4 else np.where(m, -np.inf, 0.0) if kind < 0.7 else \
        rng.standard_normal(shape)


def _activation(lib, act):
    return {"relu": "relu", "gelu": "gelu", "F.gelu": lib.nn.functional.gelu,
            "silu": lib.nn.functional.silu, "GELU()": lib.nn.GELU(),
            "GELU(tanh)": lib.nn.GELU(approximate="tanh"), "Tanh()": lib.nn.Tanh()}[act]


def _draw_transformer(rng):
    kind = str(rng.choice(["enc", "encstack", "dec", "decstack", "full", "custom"]))
    h = int(rng.integers(1, 3))
    E = h * int(rng.integers(1, 4))
    acts = ["relu", "gelu", "F.gelu", "silu"]
    if kind in ("enc", "encstack", "dec"):  # PyTorch's decoder copies lose a module (see below)
        acts += ["GELU()", "GELU(tanh)", "Tanh()"]
    act = str(rng.choice(acts))
    bf = bool(rng.random() < 0.5)
    kw = dict(dim_feedforward=int(rng.integers(1, 6)), dropout=0.0, batch_first=bf,
              layer_norm_eps=float(rng.choice([1e-5, 1e-3])),
              norm_first=bool(rng.random() < 0.5), bias=bool(rng.random() < 0.8))
    L, S, N = (int(v) for v in rng.integers(1, 4, 3))
    unbatched = rng.random() < 0.2
    lead = h if unbatched else N * h
    decoder = kind in ("dec", "decstack", "full", "custom")
    encoder = kind in ("enc", "encstack", "full", "custom")
    masks, hints = {}, {}
    # self-attention masks of the encoder (S) and the decoder (L): causal ones generated
    for name, T, on in (("src_mask", S, encoder), ("tgt_mask", L, decoder)):
        r = rng.random()
        if not on or r < 0.35:
            continue
        if r < 0.65:
            masks[name] = _attn_mask(rng, T, T, lead)
        else:
            masks[name] = ("causal", str(rng.choice(["bool", "float64"])), T)
            hint = rng.choice([None, True, False])
            if hint is not None or kind not in ("enc", "dec"):
                hints[name] = hint
    if decoder and rng.random() < 0.3:
        masks["memory_mask"] = _attn_mask(rng, L, S, lead)
    for name, T, on in (("src_key_padding_mask", S, encoder), ("tgt_key_padding_mask", L, decoder),
                        ("memory_key_padding_mask", S, decoder)):
        if on and rng.random() < 0.35:
            masks[name] = _pad_mask(rng, (T,) if unbatched else (N, T), True)
    stack = dict(layers=int(rng.integers(1, 3)), norm=bool(rng.random() < 0.5),
                 nested=bool(rng.random() < 0.5), mask_check=bool(rng.random() < 0.5))
    names = list(masks)

    def build(lib):
        nn = lib.nn
        options = dict(kw, activation=_activation(lib, act))
        norm = nn.LayerNorm(E) if stack["norm"] else None
        n = stack["layers"]
        if kind == "enc":
            return nn.TransformerEncoderLayer(E, h, **options)
        if kind == "dec":
            return nn.TransformerDecoderLayer(E, h, **options)
        if kind == "encstack":
            return nn.TransformerEncoder(nn.TransformerEncoderLayer(E, h, **options), n, norm,
                                         enable_nested_tensor=stack["nested"],
                                         mask_check=stack["mask_check"])
        if kind == "decstack":
            return nn.TransformerDecoder(nn.TransformerDecoderLayer(E, h, **options), n, norm)
        custom = {}
        if kind == "custom":  # other widths and options than the Transformer's own
            other = dict(options, dim_feedforward=kw["dim_feedforward"] + 2,
                         norm_first=not kw["norm_first"])
            if rng_choice[0]:
                custom["custom_encoder"] = nn.TransformerEncoder(
                    nn.TransformerEncoderLayer(E, h, **other), n, norm,
                    enable_nested_tensor=stack["nested"])
            else:
                custom["custom_decoder"] = nn.TransformerDecoder(
                    nn.TransformerDecoderLayer(E, h, **other), n, norm)
        return nn.Transformer(E, h, n, 3 - n, **options, **custom)

    rng_choice = [bool(rng.random() < 0.5)]

    def mask_of(lib, value, dtype):
        if isinstance(value, tuple):  # PyTorch's generated causal mask
            _, mdt, T = value
            return lib.nn.Transformer.generate_square_subsequent_mask(T, dtype=getattr(lib, mdt))
        return value

    def make(lib):
        def call(m, src, tgt, *ms):
            d = {n: mask_of(lib, v, src.dtype) for n, v in zip(names, ms)}
            if kind in ("enc", "encstack"):
                if kind == "encstack":
                    d["mask"] = d.pop("src_mask", None)
                    flag = {"is_causal": hints["src_mask"]} if "src_mask" in hints else {}
                else:
                    flag = {"is_causal": bool(hints["src_mask"])} if "src_mask" in hints else {}
                return m(src, **d, **flag)
            if kind in ("dec", "decstack"):
                flag = {"tgt_is_causal": (hints["tgt_mask"] if kind == "decstack"
                                          else bool(hints["tgt_mask"]))} \
                    if "tgt_mask" in hints else {}
                return m(tgt, src, **d, **flag)
            flags = {f"{n[:3]}_is_causal": v for n, v in hints.items()}
            return m(src, tgt, **d, **flags)
        return build(lib), call

    def shape(T):
        return (T, E) if unbatched else (N, T, E) if bf else (T, N, E)

    # masks travel as arrays (the generated ones as a marker the call turns into the library's)
    arrays = [rng.standard_normal(shape(S)), rng.standard_normal(shape(L))]
    arrays += [masks[n] for n in names]
    desc = f"{kind} E={E} h={h} {act} {kw} {stack} L={L} S={S} N={N} unbatched={unbatched} " \
           f"masks={[(n, getattr(masks[n], 'shape', masks[n])) for n in names]} hints={hints}"
    return desc, make, arrays


@pytest.mark.parametrize("seed", range(2))
def test_transformers_ported_from_pytorch(seed):
    rng = np.random.default_rng(1600 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(20):
        desc, make, arrays = _draw_transformer(rng)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyTorch's nested-tensor and mask notices
                counts[port_check(make, arrays, rng, train=bool(rng.random() < 0.5),
                                  grad=[0, 1] + [i for i, a in enumerate(arrays)
                                                 if i > 1 and isinstance(a, np.ndarray)
                                                 and a.dtype.kind == "f"
                                                 and np.isfinite(a).all()])] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 16, counts


def _draw_recurrent(rng, I):
    kind = str(rng.choice(["RNN", "LSTM", "GRU"]))
    H = int(rng.integers(1, 5))
    kw = dict(num_layers=int(rng.integers(1, 4)), bias=bool(rng.random() < 0.8),
              bidirectional=bool(rng.random() < 0.5), dropout=0.0)
    if kind == "RNN":
        kw["nonlinearity"] = str(rng.choice(["tanh", "relu"]))
    if kind == "LSTM" and H > 1 and rng.random() < 0.5:
        kw["proj_size"] = int(rng.integers(1, H))
    out = (kw.get("proj_size") or H) * (1 + kw["bidirectional"])
    return kind, I, H, kw, out


def _draw_pipeline(rng):
    """pack -> [Linear on data] -> layer -> [layer] -> unpack, with random options."""
    B, T, I = (int(v) for v in rng.integers(1, 5, 3))
    lengths = rng.integers(1, T + 1, B)
    lengths[int(rng.integers(0, B))] = T
    sort = bool(rng.random() < 0.4)
    if sort:
        lengths = np.sort(lengths)[::-1].copy()
    bf = bool(rng.random() < 0.5)
    how = str(rng.choice(["list", "tensor", "sequences"]))
    linear = str(rng.choice(["none", "replace", "rebuilt"]))
    first = _draw_recurrent(rng, I)
    second = _draw_recurrent(rng, first[4]) if rng.random() < 0.6 else None
    out = str(rng.choice(["padded", "unpack_sequence", "data"]))
    total = T + int(rng.integers(0, 2)) if rng.random() < 0.5 else None
    pad = float(rng.choice([0.0, -2.0]))
    x = rng.standard_normal((B, T, I) if bf else (T, B, I))
    arrays = [x]
    kind, _, H, kw, _ = first
    if rng.random() < 0.5:  # the first layer's states given
        lead = kw["num_layers"] * (1 + kw["bidirectional"])
        arrays.append(rng.standard_normal((lead, B, kw.get("proj_size") or H)))
        if kind == "LSTM":
            arrays.append(rng.standard_normal((lead, B, H)))

    def make(lib):
        nn, U = lib.nn, lib.nn.utils.rnn
        layers = [getattr(nn, k)(i, h, **o) for k, i, h, o, _ in filter(None, (first, second))]
        model = nn.ModuleList([nn.Linear(I, I)] + layers)

        def call(m, x, *h):
            if how == "sequences":
                p = U.pack_sequence([x[b, :n] if bf else x[:n, b] for b, n in enumerate(lengths)],
                                    enforce_sorted=sort)
            else:
                n = lib.tensor(lengths.tolist()) if how == "tensor" else lengths.tolist()
                p = U.pack_padded_sequence(x, n, batch_first=bf, enforce_sorted=sort)
            if linear == "replace":
                p = p._replace(data=m[0](p.data))
            elif linear == "rebuilt":
                p = U.PackedSequence(m[0](p.data), p.batch_sizes, p.sorted_indices,
                                     p.unsorted_indices)
            state = () if not h else (h[0],) if kind != "LSTM" else ((h[0], h[1]),)
            p, first_state = m[1](p, *state)
            states = [first_state]
            if second:
                p, second_state = m[2](p)
                states.append(second_state)
            if out == "data":
                y = [p.data, p.batch_sizes]
            elif out == "padded":
                y = list(U.pad_packed_sequence(p, batch_first=bf, total_length=total,
                                               padding_value=pad))
            else:
                y = U.unpack_sequence(p)
            return y, states
        return model, call

    desc = f"lengths={lengths.tolist()} sorted={sort} bf={bf} {how} linear={linear} " \
           f"first={first} second={second} out={out} total={total} states={len(arrays) - 1}"
    return desc, make, arrays


@pytest.mark.parametrize("seed", range(2))
def test_packed_pipelines_ported_from_pytorch(seed):
    rng = np.random.default_rng(1610 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(15):
        desc, make, arrays = _draw_pipeline(rng)
        try:
            counts[port_check(make, arrays, rng, train=bool(rng.random() < 0.5))] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 14, counts


def _stack(lib, kind, dtype, bf):
    nn, kw = lib.nn, dict(dropout=0.0, batch_first=bf)
    if kind == "encoder":
        m = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 6, **kw), 2,
                                  enable_nested_tensor=False)
    elif kind == "decoder":
        m = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 6, **kw), 2)
    else:
        m = nn.Transformer(4, 2, 1, 1, 6, **kw)
    return m.to(getattr(lib, dtype))


@pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")
@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")
@pytest.mark.parametrize("kind", ["encoder", "decoder", "transformer"])
@pytest.mark.parametrize(("dtype", "mask_dtype"), [("float64", "float16"), ("float32", "float64")])
def test_stacks_detect_a_causal_mask_of_another_dtype(kind, dtype, mask_dtype):
    # chainrule's stacks read is_causal=None as False and refused a causal mask of another float
    # dtype than the input's (float masks must have the query's dtype); PyTorch's detect the
    # causal mask, and attention then drops it for its causal form: the call computes. A mask
    # that is not causal (or one beside a key padding mask of another dtype) is still refused.
    rng = np.random.default_rng(1620)
    for bf, unbatched in ((False, False), (True, False), (False, True)):
        x = rng.standard_normal((3, 4) if unbatched else (2, 3, 4) if bf else (3, 2, 4))
        x = x.astype(dtype)
        tm = _stack(torch, kind, dtype, bf)
        cm = _stack(cr, kind, dtype, bf)
        port(tm, cm)
        causal = np.where(np.triu(np.ones((3, 3), bool), 1), -np.inf, 0.0)
        other = causal.T.copy()
        pad = np.zeros((3,) if unbatched else (2, 3), bool)
        for mask, padding in ((causal, None), (other, None), (causal, pad)):
            typed = mask.astype(mask_dtype)

            def run(lib, m, x=x, mask=typed, padding=padding):
                x, mask = lib.tensor(x), lib.tensor(mask)
                kp = None if padding is None else lib.tensor(padding)
                if kind == "encoder":
                    return m(x, mask=mask, src_key_padding_mask=kp)
                if kind == "decoder":
                    return m(x, x, tgt_mask=mask, tgt_key_padding_mask=kp)
                return m(x, x, src_mask=mask, tgt_mask=mask, src_key_padding_mask=kp)

            label = f"{kind} {dtype} mask {mask_dtype} bf={bf} unbatched={unbatched} " \
                    f"causal={mask is causal} padding={padding is not None}"
            try:
                want = run(torch, tm).detach().numpy()
            except (RuntimeError, TypeError):
                with pytest.raises(TypeError, match="float masks must have the query's dtype"):
                    run(cr, cm)
                assert mask is other or padding is not None, label
                continue
            got = run(cr, cm)
            assert str(got.dtype) == dtype, label
            tol = 1e-12 if dtype == "float64" else 2e-5
            np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol, err_msg=label)


@pytest.mark.parametrize("module", ["GELU", "Tanh"])
def test_a_decoder_stack_applies_an_activation_module(module):
    # docs/pytorch.md: PyTorch's TransformerDecoder copies of a layer built with an activation
    # module apply F.relu instead (its __setstate__ misses the module); chainrule's apply it,
    # as a function or PyTorch's encoder copies do
    rng = np.random.default_rng(1630)
    x, memory = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 3, 4))

    def decoder(lib, activation):
        layer = lib.nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, activation=activation)
        return lib.nn.TransformerDecoder(layer, 2).double()

    fn = {"GELU": "gelu", "Tanh": None}[module]
    t_module = decoder(torch, getattr(torch.nn, module)())
    t_relu = decoder(torch, "relu")
    t_fn = decoder(torch, fn or torch.tanh)
    for other in (t_relu, t_fn):
        other.load_state_dict(t_module.state_dict())
    c_module = decoder(cr, getattr(cr.nn, module)())
    port(t_module, c_module)

    def out(m, lib):
        return np.asarray(m(lib.tensor(x), lib.tensor(memory)).detach().numpy())

    np.testing.assert_allclose(out(t_module, torch), out(t_relu, torch), rtol=1e-12, atol=1e-12)
    assert not np.allclose(out(t_fn, torch), out(t_relu, torch))
    np.testing.assert_allclose(out(c_module, cr), out(t_fn, torch), rtol=1e-12, atol=1e-12)


def test_second_order_through_transformers():
    """A gradient penalty through the drawn transformers (create_graph=True): the gradients of a
    weighting of the first gradients of the inputs and every weight equal PyTorch's."""
    rng = np.random.default_rng(1605)
    counts = {"compared": 0, "raised": 0}
    for _ in range(6):
        desc, make, arrays = _draw_transformer(rng)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                counts[port_check(make, arrays, rng, train=False, order=2, grad=[0, 1])] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 5, counts
