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


def test_transformer_file_helpers_as_pytorch():
    # programs import PyTorch's helpers from its file (from torch.nn.modules.transformer import
    # _get_clones, _get_activation_fn, LayerNorm, ...); chainrule's held only the five classes
    import chainrule.nn.modules.transformer as ours
    import torch.nn.modules.transformer as theirs

    names = [n for n in dir(theirs) if not n.startswith("__")
             and n not in ("copy", "torch", "warnings")]
    assert [n for n in names if not hasattr(ours, n)] == []
    x = np.linspace(-3, 3, 13)
    for name in ("relu", "gelu"):
        np.testing.assert_allclose(ours._get_activation_fn(name)(cr.tensor(x)).numpy(),
                                   theirs._get_activation_fn(name)(torch.tensor(x)).numpy(),
                                   rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError):
        theirs._get_activation_fn("tanh")
    with pytest.raises(ValueError, match="activation must be 'relu' or 'gelu', got 'tanh'"):
        ours._get_activation_fn("tanh")
    t_clones = theirs._get_clones(torch.nn.Linear(2, 3), 2)
    c_clones = ours._get_clones(cr.nn.Linear(2, 3), 2)
    assert list(c_clones.state_dict()) == list(t_clones.state_dict())
    assert c_clones[0].weight is not c_clones[1].weight
    for sz in (0, 1, 3):
        for dt in ("float32", "float64", "bool"):
            np.testing.assert_array_equal(
                ours._generate_square_subsequent_mask(sz, dtype=getattr(cr, dt)).numpy(),
                theirs._generate_square_subsequent_mask(sz, dtype=getattr(torch, dt)).numpy())
    for shape, bf in (((3, 4), False), ((3, 2, 4), False), ((2, 3, 4), True), ((3, 2, 4), True)):
        assert ours._get_seq_len(cr.zeros(*shape), bf) == theirs._get_seq_len(
            torch.zeros(*shape), bf)


def test_detect_is_causal_mask_as_pytorch():
    rng = np.random.default_rng(1650)
    for _ in range(200):
        n = int(rng.integers(1, 5))
        shape = (n, n) if rng.random() < 0.8 else (2, n, n) if rng.random() < 0.5 else (n, n + 1)
        upper = np.triu(np.ones(shape, bool), 1)
        dt = str(rng.choice(["bool", "float16", "float32", "float64"]))
        m = upper.copy() if dt == "bool" else np.where(upper, -np.inf, 0.0).astype(dt)
        r = rng.random()
        if r < 0.3:  # one entry changed
            i = tuple(int(rng.integers(0, s)) for s in shape)
            m[i] = (not m[i]) if dt == "bool" else rng.choice([0.0, -np.inf, 1.0, -1e4])
        elif r < 0.4 and dt != "bool":
            m = m.T.copy() if m.ndim == 2 else m
        is_causal = rng.choice([None, None, True, False])
        size = None if rng.random() < 0.5 else int(rng.integers(1, 5))
        want = torch.nn.modules.transformer._detect_is_causal_mask(
            torch.tensor(m), is_causal, size)
        got = cr.nn.modules.transformer._detect_is_causal_mask(cr.tensor(m), is_causal, size)
        assert got is want, (m, is_causal, size)


def test_out_proj_class_imports_from_pytorch_files():
    # copies of PyTorch's attention import the out_proj class from its files; chainrule's
    # nn.modules.linear/activation lacked it (ImportError)
    from chainrule.nn.modules.activation import NonDynamicallyQuantizableLinear as Act
    from chainrule.nn.modules.linear import NonDynamicallyQuantizableLinear as Ours
    from torch.nn.modules.linear import NonDynamicallyQuantizableLinear as Theirs

    assert Ours is Act and issubclass(Ours, cr.nn.Linear)
    assert type(cr.nn.MultiheadAttention(4, 2).out_proj) is Ours
    assert type(torch.nn.MultiheadAttention(4, 2).out_proj) is Theirs
    t, c = Theirs(3, 2).double(), Ours(3, 2).double()
    port(t, c)
    x = np.random.default_rng(1660).standard_normal((4, 3))
    np.testing.assert_allclose(c(cr.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("wide", ["src", "tgt"])
def test_transformer_refuses_inputs_of_another_width_than_d_model(wide):
    # chainrule passed src of 6 features to a custom encoder that projects them to d_model=4
    # (and computed); PyTorch's Transformer refuses src or tgt whose last axis is not d_model
    rng = np.random.default_rng(1670)
    x = rng.standard_normal((3, 2, 6 if wide == "src" else 4))
    y = rng.standard_normal((2, 2, 6 if wide == "tgt" else 4))

    def build(lib):
        class Projecting(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = lib.nn.Linear(6, 4)

            def forward(self, x, *args, **kwargs):
                return self.proj(x)

        custom = {f"custom_{'encoder' if wide == 'src' else 'decoder'}": Projecting()}
        return lib.nn.Transformer(4, 2, 1, 1, 8, dropout=0.0, **custom).double()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = build(torch)
        with pytest.raises(RuntimeError, match="must be equal to d_model"):
            t(torch.tensor(x), torch.tensor(y))
    with pytest.raises(ValueError, match=r"src and tgt must have d_model=4 features \(the last "
                                         r"axis\), got shapes"):
        build(cr)(cr.tensor(x), cr.tensor(y))


def test_tied_lengths_of_a_large_batch_unpack_as_pytorch():
    # docs/pytorch.md: enforce_sorted=False sorts the lengths; chainrule keeps tied lengths in
    # batch order (a stable sort), PyTorch's unstable sort orders ties of batches above 16
    # otherwise. sorted_indices and the rows of packed.data within a tie then differ; the
    # lengths, the batch sizes, everything unpacked and a recurrent layer's results agree
    rng = np.random.default_rng(1680)
    B, T = 40, 4
    lengths = rng.integers(1, T + 1, B)
    x = rng.standard_normal((T, B, 3))
    tm, cm = torch.nn.GRU(3, 2, 2, bidirectional=True).double(), cr.nn.GRU(3, 2, 2,
                                                                          bidirectional=True)
    port(tm, cm.double())
    results = {}
    for lib, m in ((torch, tm), (cr, cm)):
        U = lib.nn.utils.rnn
        p = U.pack_padded_sequence(lib.tensor(x), lib.tensor(lengths), enforce_sorted=False)
        out, h = m(p)
        results[lib] = p, U.pad_packed_sequence(out, total_length=T + 1)[0], h
    (tp, t_out, th), (cp, c_out, ch) = results[torch], results[cr]
    order_t, order_c = tp.sorted_indices.numpy(), cp.sorted_indices.numpy()
    assert not np.array_equal(order_t, order_c)
    np.testing.assert_array_equal(cp.batch_sizes.numpy(), tp.batch_sizes.numpy())
    np.testing.assert_array_equal(lengths[order_c], lengths[order_t])
    for n in np.unique(lengths):  # chainrule's ties in batch order
        assert (np.diff(order_c[lengths[order_c] == n]) > 0).all()
    np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(ch.detach().numpy(), th.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(2))
def test_packed_sequence_built_with_unsorted_indices_alone(seed):
    # chainrule placed the packed sequences of PackedSequence(data, batch_sizes, None,
    # unsorted_indices) in packed order while taking their lengths in unsorted_indices' order:
    # pad_packed_sequence gave rows of the wrong lengths and a recurrent layer ran each sequence
    # over another's length (silently wrong). PyTorch puts column j = packed sequence
    # unsorted_indices[j] and takes hx in the packed order; so does chainrule now
    from ._fuzz8_port import check as port_check

    rng = np.random.default_rng(1690 + seed)
    for _ in range(12):
        B, T, I, H = (int(v) for v in rng.integers(1, 5, 4))
        lengths = np.sort(rng.integers(1, T + 1, B))[::-1].copy()
        lengths[0] = T
        perm = rng.permutation(B)
        kind = str(rng.choice(["RNN", "LSTM", "GRU"]))
        kw = dict(num_layers=int(rng.integers(1, 3)), bidirectional=bool(rng.random() < 0.5))
        x = rng.standard_normal((T, B, I))
        arrays = [x]
        if rng.random() < 0.6:
            lead = (kw["num_layers"] * (1 + kw["bidirectional"]), B, H)
            arrays += [rng.standard_normal(lead) for _ in range(1 + (kind == "LSTM"))]
        bf, pad, total = bool(rng.random() < 0.5), float(rng.choice([0.0, -1.0])), T + 1

        def make(lib, kind=kind, kw=kw, lengths=lengths, perm=perm, bf=bf, pad=pad, total=total):
            U = lib.nn.utils.rnn

            def call(m, x, *h):
                p = U.pack_padded_sequence(x, lengths.tolist())
                p = U.PackedSequence(p.data, p.batch_sizes, None, lib.tensor(perm.tolist()))
                state = () if not h else ((h[0], h[1]),) if kind == "LSTM" else (h[0],)
                out, hn = m(p, *state)
                padded, n = U.pad_packed_sequence(p, batch_first=bf, padding_value=pad,
                                                  total_length=total)
                return padded, n, U.unpack_sequence(out), U.pad_packed_sequence(out)[0], hn
            return getattr(lib.nn, kind)(I, H, **kw), call

        desc = f"{kind} {kw} lengths={lengths.tolist()} unsorted={perm.tolist()} {len(arrays)}"
        try:
            assert port_check(make, arrays, rng, train=False) == "compared"
        except AssertionError as e:
            raise AssertionError(desc) from e
