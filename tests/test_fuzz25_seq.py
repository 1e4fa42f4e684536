"""Twenty-fifth fuzz wave: recurrent layers and attention against PyTorch 2.13.

Writes into a recurrent layer's output: the one-node LSTM and GRU sequence kernels returned
their output as a view of the state they keep for backward, so ``out.mul_(2)`` or ``out[0] = 0``
before ``backward()`` changed what backward read and gave wrong gradients, silently.
"""

import contextlib

import numpy as np
import pytest

import chainrule as cr


def _write(o, how):
    if how == "mul_":
        o.mul_(2.0)
    else:
        o[0] = 0.0
    return o


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("how", ["mul_", "setitem"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_write_into_recurrent_output_keeps_gradients(kind, how, batch_first):
    """The gradients after a write into the output equal those of the same values computed
    out of place (and the reference kernels')."""
    rng = np.random.default_rng(0)
    layer = getattr(cr.nn, kind)(3, 4, batch_first=batch_first, rng=rng, dtype="float64")
    x = cr.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    inputs = [x] + list(layer.parameters())

    def grads(write, reference=False):
        with cr.reference_mode() if reference else contextlib.nullcontext():
            out, _ = layer(x)
            out = _write(out, how) if write else (out * 2.0 if how == "mul_" else
                                                  cr.cat([out[:1] * 0.0, out[1:]]))
            return cr.grad((out * out).sum(), inputs)

    expected = grads(False)
    for got in (grads(True), grads(True, reference=True)):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_write_into_lstm_output_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.nn.LSTM(3, 4, dtype=torch.float64)
    c = cr.nn.LSTM(3, 4, dtype="float64")
    c.load_state_dict({k: cr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    xt = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    xc = cr.tensor(xt.detach().numpy(), requires_grad=True)
    ot = t(xt)[0].mul_(3.0)
    oc = c(xc)[0].mul_(3.0)
    gt = torch.autograd.grad((ot * ot).sum(), [xt, t.weight_hh_l0])
    gc = cr.grad((oc * oc).sum(), [xc, c.weight_hh_l0])
    for a, b in zip(gt, gc, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-9, atol=1e-12)


def _port(lib, cls_name):
    """A subclass of ``lib.nn.<cls_name>`` as programs write them: the feed-forward block
    overridden with PyTorch's one-argument signature, and a forward that calls the attention
    blocks by PyTorch's keyword names."""
    base = getattr(lib.nn, cls_name)

    class Custom(base):
        def _ff_block(self, x):
            return super()._ff_block(x) * 0.5

        def forward(self, x, *rest):
            *memory, mask = rest
            y = x + self._sa_block(x, attn_mask=mask, key_padding_mask=None)
            if memory:
                y = y + self._mha_block(y, memory[0], attn_mask=None, key_padding_mask=None)
            return y + self._ff_block(y) + super().forward(x, *rest)

    return Custom


@pytest.mark.parametrize("cls_name", ["TransformerEncoderLayer", "TransformerDecoderLayer"])
def test_transformer_layer_blocks_have_torchs_signatures(cls_name):
    torch = pytest.importorskip("torch")
    t = _port(torch, cls_name)(4, 2, 6, dropout=0.0, dtype=torch.float64).eval()
    c = _port(cr, cls_name)(4, 2, 6, dropout=0.0, dtype="float64").eval()
    c.load_state_dict({k: cr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    rng = np.random.default_rng(1)
    x, mem = rng.standard_normal((3, 2, 4)), rng.standard_normal((5, 2, 4))
    mask = np.triu(np.full((3, 3), -np.inf), 1)
    args = (x, mem, mask) if cls_name == "TransformerDecoderLayer" else (x, mask)
    expected = t(*map(torch.tensor, args)).detach().numpy()
    got = c(*map(cr.tensor, args)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_sdpa_scale_as_zero_d_tensor():
    """PyTorch reads a 0-d tensor ``scale`` (a buffer ``d ** -0.5``) as its number; chainrule
    refused it. One that requires grad, or of more dimensions, is refused as PyTorch refuses it."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(
        *map(torch.tensor, (q, k, v)), scale=torch.tensor(0.7, dtype=torch.float64)).numpy()
    got = cr.nn.functional.scaled_dot_product_attention(
        *map(cr.tensor, (q, k, v)), scale=cr.tensor(0.7, dtype="float64"))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    for bad in (cr.tensor([0.7]), cr.tensor(0.7, requires_grad=True)):
        with pytest.raises(TypeError, match="scale must be a number or a 0-d Tensor"):
            cr.nn.functional.scaled_dot_product_attention(*map(cr.tensor, (q, k, v)), scale=bad)


def test_rnn_init_flat_weights_after_replacing_a_weight():
    """Pruning and weight-drop code replaces a weight and calls PyTorch's
    ``_init_flat_weights()`` (or ``_update_flat_weights()``); chainrule had neither."""
    torch = pytest.importorskip("torch")
    t = torch.nn.GRU(3, 4, dtype=torch.float64)
    c = cr.nn.GRU(3, 4, dtype="float64")
    c.load_state_dict({k: cr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    keep = np.arange(48).reshape(12, 4) % 3 != 0
    for lib, m in ((torch, t), (cr, c)):
        pruned = m.weight_hh_l0.detach().numpy() * keep
        m.weight_hh_l0 = lib.nn.Parameter(lib.tensor(pruned))
        m._init_flat_weights()
        m._update_flat_weights()
        assert m._weights_have_changed() is False
    x = np.random.default_rng(3).standard_normal((5, 2, 3))
    expected = t(torch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(c(cr.tensor(x))[0].numpy(), expected, rtol=1e-10, atol=1e-12)


def test_deepcopied_layers_share_the_default_generator():
    """Copies made by ``copy.deepcopy`` (the Annotated Transformer's ``clones``) drew the same
    dropout masks from frozen copies of the default generator, which ``manual_seed`` no longer
    reached; as in PyTorch they draw from the one global generator."""
    import copy

    cr.manual_seed(0)
    layer = cr.nn.MultiheadAttention(4, 1, dropout=0.5)
    lstm = cr.nn.LSTM(4, 4, num_layers=2, dropout=0.5)
    x = cr.tensor(np.random.default_rng(4).standard_normal((3, 2, 4)).astype("float32"))
    for module, run in ((layer, lambda m: m(x, x, x)[1]), (lstm, lambda m: m(x)[0])):
        a, b = copy.deepcopy(module), copy.deepcopy(module)
        assert not np.array_equal(run(a).numpy(), run(b).numpy())
        cr.manual_seed(1)
        first = run(a).numpy()
        cr.manual_seed(1)
        np.testing.assert_array_equal(run(a).numpy(), first)


def _recurrent_dropout(lib, base, keep):
    """A program's recurrent dropout: for one call, ``_flat_weights`` holds masked copies of the
    hidden-to-hidden weights (a fixed mask here, for a comparison), then the saved list."""

    class Dropped(base):
        def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
            saved = self._flat_weights
            self._flat_weights = [w * lib.tensor(keep[: w.shape[0], : w.shape[1]])
                                  if name.startswith("weight_hh_") else w
                                  for w, name in zip(saved, self._flat_weights_names)]
            out = super().forward(input, hx)
            self._flat_weights = saved
            return out

    return Dropped


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_assigned_flat_weights_are_what_forward_runs(kind):
    """PyTorch's forward runs ``_flat_weights``; chainrule's read the attributes and refused an
    assignment (``property '_flat_weights' ... has no setter``)."""
    torch = pytest.importorskip("torch")
    keep = (np.arange(64).reshape(16, 4) % 3 != 0).astype("float64")
    t = _recurrent_dropout(torch, getattr(torch.nn, kind), keep)(3, 4, 2, dtype=torch.float64)
    c = _recurrent_dropout(cr, getattr(cr.nn, kind), keep)(3, 4, 2, dtype="float64")
    c.load_state_dict({k: cr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((5, 2, 3))
    ot, oc = t(torch.tensor(x))[0], c(cr.tensor(x))[0]
    np.testing.assert_allclose(oc.numpy(), ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    gt = torch.autograd.grad(ot.square().sum(), t.weight_hh_l1)[0]
    gc = cr.grad((oc * oc).sum(), c.weight_hh_l1)[0]
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), rtol=1e-9, atol=1e-12)
    # an edit in place of the list counts too, until a weight is replaced
    c._flat_weights[1] = c.weight_hh_l0 * 0.0
    edited = cr.nn.RNNBase.forward(c, cr.tensor(x))[0].numpy()
    with cr.no_grad():
        c.weight_hh_l0.zero_()
    c._init_flat_weights()
    assert c._flat_weights[1] is c.weight_hh_l0
    np.testing.assert_allclose(edited, cr.nn.RNNBase.forward(c, cr.tensor(x))[0].numpy())
    c.weight_hh_l0 = cr.nn.Parameter(c.weight_hh_l0.detach() + 1.0)
    assert c._flat_weights[1] is c.weight_hh_l0


def _checkpoint_names(lib):
    """A program's LSTM whose parameters take an LSTMCell checkpoint's names: registered anew
    under them, then ``_flat_weights_names`` set and ``_init_flat_weights()`` called."""

    class CheckpointCompatibleLSTM(lib.nn.LSTM):
        def __init__(self, input_size, hidden_size):
            super().__init__(input_size, hidden_size, dtype=lib.float64)
            names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            for current, checkpoint in zip(tuple(self._flat_weights_names), names):
                self.register_parameter(checkpoint, self._parameters.pop(current))
            self._flat_weights_names = list(names)
            self._init_flat_weights()

    return CheckpointCompatibleLSTM(3, 4)


def test_renamed_flat_weights_names():
    """Setting ``_flat_weights_names`` (refused before: a property without a setter) renames
    the weights forward runs, by position, as PyTorch's."""
    torch = pytest.importorskip("torch")
    t, c = _checkpoint_names(torch), _checkpoint_names(cr)
    assert list(c.state_dict()) == list(t.state_dict()) == ["weight_ih", "weight_hh", "bias_ih",
                                                            "bias_hh"]
    c.load_state_dict({k: cr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(6).standard_normal((5, 2, 3))
    ot, oc = t(torch.tensor(x))[0], c(cr.tensor(x))[0]
    np.testing.assert_allclose(oc.numpy(), ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    gt = torch.autograd.grad(ot.square().sum(), t.weight_hh)[0]
    np.testing.assert_allclose(cr.grad((oc * oc).sum(), c.weight_hh)[0].numpy(), gt.numpy(),
                               rtol=1e-9, atol=1e-12)


def test_parametrized_recurrent_weight_computed_once_per_forward():
    calls = []

    class Double(cr.nn.Module):
        def forward(self, w):
            calls.append(1)
            return w * 2.0

    m = cr.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    cr.nn.utils.parametrize.register_parametrization(m, "weight_hh_l1_reverse", Double())
    calls.clear()
    m(cr.zeros(2, 1, 3))
    assert len(calls) == 1


def test_mha_out_proj_hooks_are_not_called_as_in_torch():
    """PyTorch's attention uses ``out_proj.weight`` and ``.bias``, never calling the module, so a
    hook on it (every Linear's, for activations or calibration) never runs; chainrule called it,
    and a hook that returns a new output changed the attention's."""
    torch = pytest.importorskip("torch")
    t = torch.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype=torch.float64)
    c = cr.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype="float64")
    c.load_state_dict({k: cr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    seen = {"torch": [], "cr": []}
    for lib, model, key in ((torch, t, "torch"), (cr, c, "cr")):
        for name, m in model.named_modules():
            if isinstance(m, lib.nn.Linear):
                m.register_forward_hook(lambda m, i, o, n=name, k=key: seen[k].append(n) or o * 2)
    x = np.random.default_rng(7).standard_normal((3, 2, 4))
    expected = t(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(c(cr.tensor(x)).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert seen["cr"] == seen["torch"] == ["linear1", "linear2"]


def test_assigned_flat_weights_reset_by_module_apply():
    """As PyTorch's ``_apply``: after ``double()`` forward runs the converted weights, not a list
    assigned before (whose float32 entries then met float64 inputs)."""
    m = cr.nn.GRU(3, 4)
    m._flat_weights = [w * 1.0 for w in m._flat_weights]
    m.double()
    assert all(a is b for a, b in zip(m._flat_weights, m.parameters()))
    out, h = m(cr.zeros(2, 1, 3, dtype="float64"))
    assert out.dtype == h.dtype == np.float64


@pytest.mark.parametrize("kind", ["LSTM", "GRUCell"])
def test_recurrent_reset_parameters_as_pytorchs(kind):
    """``reset_parameters()`` without arguments (the reset-every-layer idiom) raised "missing
    ... 'rng'", and a subclass's ``reset_parameters(self)`` (a custom initialization) made the
    constructor fail with "unexpected keyword argument 'rng'"; PyTorch's constructor runs it."""
    torch = pytest.importorskip("torch")

    def custom(lib):
        class Custom(getattr(lib.nn, kind)):
            def reset_parameters(self):
                for i, (name, p) in enumerate(self.named_parameters()):
                    lib.nn.init.constant_(p, 0.1 * i if "bias" in name else -0.05 * i)

        return Custom(3, 4)

    expected = {k: v.numpy() for k, v in custom(torch).state_dict().items()}
    got = {k: v.numpy() for k, v in custom(cr).state_dict().items()}
    assert list(got) == list(expected)
    for k in expected:
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-6)
    plain = getattr(cr.nn, kind)(3, 4)
    draws = []
    for _ in range(2):
        cr.manual_seed(3)
        plain.reset_parameters()
        draws.append([p.numpy().copy() for p in plain.parameters()])
    bound = 1 / np.sqrt(4)
    for a, b in zip(*draws, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.abs(a).max() <= bound and np.abs(a).std() > 0


@pytest.mark.parametrize("kind", ["Linear", "Bilinear"])
def test_linear_reset_parameters_as_pytorchs(kind):
    """``reset_parameters()`` of a Linear (every Transformer and attention layer holds some; the
    ``model.apply`` re-initialization idiom) raised "missing ... 'rng'", and a subclass's
    ``reset_parameters(self)`` made the constructor fail; PyTorch's constructor runs it."""
    torch = pytest.importorskip("torch")
    args = (3, 4) if kind == "Linear" else (2, 3, 4)

    def custom(lib):
        class Custom(getattr(lib.nn, kind)):
            def reset_parameters(self):
                lib.nn.init.constant_(self.weight, 0.25)
                lib.nn.init.constant_(self.bias, -0.5)

        return Custom(*args)

    got, expected = custom(cr).state_dict(), custom(torch).state_dict()
    for k in expected:
        np.testing.assert_array_equal(got[k].numpy(), expected[k].numpy())
    layer = cr.nn.TransformerEncoderLayer(4, 2, 6)
    draws = []
    for _ in range(2):
        cr.manual_seed(8)
        layer.apply(lambda m: m.reset_parameters() if hasattr(m, "reset_parameters") else None)
        draws.append(layer.linear1.weight.numpy().copy())
    np.testing.assert_array_equal(*draws)
    assert 0 < np.abs(draws[0]).max() <= 1 / np.sqrt(4)


def _pann(lib):
    """A probabilistic-automaton cell (a program's): ``RNNCellBase`` with ``input_size`` 0 and one
    chunk per alphabet symbol, its transition matrices a view of ``weight_hh``."""

    class PANNCell(lib.nn.RNNCellBase):
        def __init__(self, alphabet_size, num_states):
            super().__init__(0, num_states, False, alphabet_size)
            self.weight = self.weight_hh.view(alphabet_size, num_states, num_states)

        def forward(self, x, h):
            return (self.weight[x] @ h.unsqueeze(-1)).squeeze(-1)

    return PANNCell(5, 3)


def test_rnn_cell_base_takes_any_num_chunks():
    """PyTorch's ``RNNCellBase`` takes any ``num_chunks`` and ``input_size`` 0; chainrule refused
    both ("num_chunks must be 1 (RNN), 4 (LSTM) or 3 (GRU)")."""
    torch = pytest.importorskip("torch")
    t, c = _pann(torch), _pann(cr)
    assert [(n, tuple(p.shape)) for n, p in c.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()] == [("weight_ih", (15, 0)),
                                                                   ("weight_hh", (15, 3))]
    with torch.no_grad():
        t.weight_hh.copy_(torch.tensor(c.weight_hh.numpy()))
    x, h = np.array([0, 4, 2]), np.full((3, 3), 1 / 3, dtype="float32")
    ot, oc = t(torch.tensor(x), torch.tensor(h)), c(cr.tensor(x), cr.tensor(h))
    np.testing.assert_allclose(oc.numpy(), ot.detach().numpy(), rtol=1e-6, atol=1e-7)
    gt = torch.autograd.grad(ot.square().sum(), t.weight_hh)[0]
    gc = cr.grad((oc * oc).sum(), c.weight_hh)[0]
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        cr.nn.RNNCellBase(2, 3, True, 5)(cr.zeros(1, 2))


def test_mha_float_mask_dtype_message_names_each_dtype_once():
    mha = cr.nn.MultiheadAttention(4, 2)
    x = cr.zeros(3, 2, 4)
    with pytest.raises(TypeError) as err:
        mha(x, x, x, key_padding_mask=cr.zeros(2, 3, dtype="float64"), need_weights=False)
    assert "query's dtype float32 (need_weights=False), got key_padding_mask float64" in \
        str(err.value)


def _copied_attention(lib, q, k, v, w, b, kpm, mask, heads):
    """Attention as copies of PyTorch's MultiheadAttention write it, with its private helpers."""
    F = lib.nn.functional  # noqa: N806 - PyTorch's alias
    batched = F._mha_shape_check(q, k, v, kpm, mask, heads)
    kpm = F._canonical_mask(mask=kpm, mask_name="key_padding_mask",
                            other_type=F._none_or_dtype(mask), other_name="attn_mask",
                            target_type=q.dtype)
    mask = F._canonical_mask(mask=mask, mask_name="attn_mask", other_type=None, other_name="",
                             target_type=q.dtype, check_other=False)
    qp, kp, vp = F._in_projection_packed(q, k, v, w, b)
    e = q.shape[-1]
    q2, k2, v2 = F._in_projection(q, k, v, w[:e], w[e:2 * e], w[2 * e:], b[:e], b[e:2 * e],
                                  b[2 * e:])
    n, length = q.shape[1], q.shape[0]
    split = [t.reshape(t.shape[0], n * heads, e // heads).transpose(0, 1) for t in (qp, kp, vp)]
    scores = split[0] @ split[1].transpose(1, 2) / (e // heads) ** 0.5 + mask
    scores = scores.reshape(n, heads, length, -1) + kpm.reshape(n, 1, 1, -1)
    out = F.softmax(scores, dim=-1).reshape(n * heads, length, -1) @ split[2]
    return batched, out, q2 - qp, k2 - kp, v2 - vp


def test_attention_private_helpers_as_pytorchs():
    """Copies of PyTorch's attention and Transformer layers call ``F._canonical_mask``,
    ``F._none_or_dtype``, ``F._in_projection_packed``, ``F._in_projection`` and
    ``F._mha_shape_check``, which chainrule did not have (AttributeError)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    q, k, v = (rng.standard_normal((length, 2, 4)) for length in (3, 5, 5))
    w, b = rng.standard_normal((12, 4)), rng.standard_normal(12)
    kpm = np.zeros((2, 5), dtype=bool)
    kpm[1, -2:] = True
    mask = rng.standard_normal((3, 5))
    tt = [torch.tensor(a, requires_grad=a.dtype != bool) for a in (q, k, v, w, b, kpm, mask)]
    ct = [cr.tensor(a, requires_grad=a.dtype != bool) for a in (q, k, v, w, b, kpm, mask)]
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        got = _copied_attention(cr, *ct, 2)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        expected = _copied_attention(torch, *tt, 2)
    assert got[0] is expected[0] is True
    for a, e in zip(got[1:], expected[1:], strict=True):
        np.testing.assert_allclose(a.numpy(), e.detach().numpy(), rtol=1e-10, atol=1e-12)
    gt = torch.autograd.grad(expected[1].square().sum(), tt[:5])
    gc = cr.grad((got[1] * got[1]).sum(), ct[:5])
    for a, e in zip(gc, gt, strict=True):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="expected `key_padding_mask` to be `None` or 2-D"):
        cr.nn.functional._mha_shape_check(ct[0], ct[1], ct[2], ct[5][0], None, 2)


def test_rnn_module_file_names():
    """What copies of PyTorch's recurrent forward import from ``torch.nn.modules.rnn``:
    ``_apply_permutation`` (``apply_permutation`` with PyTorch's FutureWarning),
    ``PackedSequence``; they were missing (ImportError)."""
    torch = pytest.importorskip("torch")
    from torch.nn.modules import rnn as theirs

    from chainrule.nn.modules import rnn as ours

    assert ours.PackedSequence is cr.nn.utils.rnn.PackedSequence
    h = np.arange(24.0).reshape(2, 3, 4)
    order = np.array([2, 0, 1])
    expected = theirs._apply_permutation(torch.tensor(h), torch.tensor(order)).numpy()
    np.testing.assert_array_equal(
        ours._apply_permutation(cr.tensor(h), cr.tensor(order)).numpy(), expected)
    with pytest.warns(FutureWarning, match="apply_permutation` is deprecated"):
        got = ours.apply_permutation(cr.tensor(h), cr.tensor(order), 2)
    np.testing.assert_array_equal(got.numpy(), h[:, :, order])


def test_cudnn_flags_around_a_double_backward_through_an_lstm():
    """``with torch.backends.cudnn.flags(enabled=False):`` (a gradient penalty through an RNN)
    raised AttributeError; the switches hold the block's values inside it, their own after."""
    torch = pytest.importorskip("torch")
    t = torch.nn.LSTM(2, 3, dtype=torch.float64)
    c = cr.nn.LSTM(2, 3, dtype="float64")
    c.load_state_dict({k: cr.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(10).standard_normal((4, 1, 2))
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    with torch.backends.cudnn.flags(enabled=False):
        g = torch.autograd.grad(t(xt)[0].sum(), xt, create_graph=True)[0]
        expected = torch.autograd.grad(g.square().sum(), t.weight_hh_l0)[0].numpy()
    with cr.backends.cudnn.flags(enabled=False, deterministic=True):
        assert cr.backends.cudnn.enabled is False and cr.backends.cudnn.deterministic is True
        gc = cr.grad(c(xc)[0].sum(), xc, create_graph=True)[0]
        got = cr.grad((gc * gc).sum(), c.weight_hh_l0)[0].numpy()
    assert cr.backends.cudnn.enabled is True and cr.backends.cudnn.deterministic is False
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_overrides_names_for_copied_pytorch_functions():
    """Code copied from PyTorch's functions (a modified ``F.multi_head_attention_forward``)
    imports ``torch.overrides``, which chainrule lacked (ImportError); with no
    ``__torch_function__`` protocol its checks are False and the copy runs its own body."""
    from chainrule.overrides import (
        handle_torch_function,
        has_torch_function,
        has_torch_function_unary,
        has_torch_function_variadic,
        is_tensor_like,
    )

    x = cr.ones(2)
    assert has_torch_function((x, x)) is has_torch_function_unary(x) is False
    assert has_torch_function_variadic(x, None) is False
    assert is_tensor_like(x) and not is_tensor_like(np.ones(2))
    with pytest.raises(RuntimeError, match="no __torch_function__ protocol"):
        handle_torch_function(cr.add, (x,), x, x)
