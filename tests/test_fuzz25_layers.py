"""Twenty-fifth fuzz wave, normalisation, embeddings, dropout and activations: the argument
forms and edge inputs where chainrule differed from PyTorch 2.13 (values, gradients, refusals),
each checked against PyTorch."""

import contextlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _pair(values, dtype="float64"):
    a = np.asarray(values, dtype=dtype)
    t = torch.tensor(a, requires_grad=True)
    c = cr.tensor(a.copy(), requires_grad=True)
    return t, c


@pytest.mark.parametrize("ref", [False, True])
@pytest.mark.parametrize("values", [-2.0, [-2.0, np.nan, 3.0, 0.0]])
def test_rrelu_training_zero_d_and_nan(values, ref):
    # lower == upper: the drawn slope is known. A 0-d input crashed ("numpy.float64 object does
    # not support item assignment"); a NaN took the random slope where PyTorch's passes 1.
    t, c = _pair(values)
    yt = torch.nn.functional.rrelu(t, 0.25, 0.25, training=True)
    with cr.reference_mode() if ref else contextlib.nullcontext():
        yc = F.rrelu(c, 0.25, 0.25, training=True)
    yt.sum().backward()
    yc.sum().backward()
    np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
    assert yc.shape == tuple(yt.shape)


def test_rrelu_module_training_zero_d():
    m = cr.nn.RReLU(0.5, 0.5)
    m.train()
    x = cr.tensor(-3.0, dtype="float32")
    assert m(x).item() == -1.5


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.softmax(x, 1, lib.float64),
    lambda lib, x: lib.log_softmax(x, 0, lib.float64),
    lambda lib, x: x.softmax(1, lib.float64),
    lambda lib, x: x.log_softmax(-1, lib.float64),
    lambda lib, x: lib.special.softmax(x, 1, lib.float64),
])
def test_softmax_dtype_third_positional(call):
    # torch.softmax(x, dim, dtype) and x.softmax(dim, dtype): chainrule took dtype by keyword only
    # (TypeError: takes from 1 to 2 positional arguments)
    x = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.5]], dtype=np.float32)
    t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt, yc = call(torch, t), call(cr, c)
    assert yc.dtype == cr.float64 and yt.dtype == torch.float64
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    w = np.arange(6.0).reshape(2, 3)
    yt.backward(torch.tensor(w))
    yc.backward(cr.tensor(w))
    assert c.grad.dtype == cr.float32
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["dropout", "dropout2d", "alpha_dropout",
                                  "feature_alpha_dropout"])
@pytest.mark.parametrize("p", [np.float32(0.0), np.float32(1.0), np.int64(0), np.float32(0.5)])
def test_dropout_numpy_probability(name, p):
    # a NumPy number as p (a config or sweep value) was a TypeError in the functional forms
    x = np.arange(1.0, 25.0).reshape(2, 3, 2, 2)
    yc = getattr(F, name)(cr.tensor(x), p, True).numpy()
    yt = getattr(torch.nn.functional, name)(torch.tensor(x), p, True).numpy()
    if p in (0, 1):
        np.testing.assert_allclose(yc, yt, rtol=1e-12, atol=1e-12)
    elif "alpha" not in name:  # the same kept values and scale, drawn by another generator
        assert set(np.unique(yc / x)) <= {0.0, 2.0} and set(np.unique(yt / x)) <= {0.0, 2.0}
    else:  # PyTorch's affine map: kept a * x + b, dropped a * (-SELU saturation) + b
        sat = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717
        a = 1 / np.sqrt((sat * sat * 0.5 + 1) * 0.5)
        for y in (yc, yt):
            kept = np.isclose(y, a * x + sat * a * 0.5)
            assert np.allclose(y[~kept], -sat * a * 0.5)


@pytest.mark.parametrize("beta,threshold", [(-1, 20), (-2.5, 3.0), (-0.5, -1.0)])
def test_softplus_negative_beta(beta, threshold):
    # PyTorch takes a negative beta (softplus(x, -1) = -softplus(-x)); chainrule refused it
    x = np.array([-30.0, -5.0, -1e-3, 0.0, 0.7, 2.0, 25.0, 40.0])
    t, c = _pair(x)
    yt = torch.nn.Softplus(beta, threshold)(t)
    yc = cr.nn.Softplus(beta, threshold)(c)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-14, atol=1e-15)
    w = np.linspace(-1.0, 2.0, x.size)
    yt.backward(torch.tensor(w))
    yc.backward(cr.tensor(w))
    np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(F.softplus(cr.tensor(x), beta, threshold).numpy(),
                               yt.detach().numpy(), rtol=1e-14, atol=1e-15)
    # away from the switch to the linear branch (beta * x == threshold)
    inner = cr.tensor(np.array([-0.8, 0.3, 1.1]) * np.sign(-beta), requires_grad=True)
    assert cr.gradcheck(lambda a: F.softplus(a, beta, 50.0).sum(), inner)
    with pytest.raises(ValueError, match="beta must not be 0"):
        F.softplus(cr.tensor(x), 0)


@pytest.mark.parametrize("norm_type,fill,max_norm", [(2.0, 20.0, 300.0), (3.0, 20.0, 5000.0)])
def test_embedding_max_norm_float16_large_rows(norm_type, fill, max_norm):
    # the float16 sum of powers overflowed (a sum over 65504): the row was scaled to zeros
    w = np.full((3, 400), fill, dtype=np.float16)
    w[1] = 0.5
    wt, wc = torch.tensor(w), cr.tensor(w.copy())
    yt = torch.nn.functional.embedding(torch.tensor([0, 1]), wt, max_norm=max_norm,
                                       norm_type=norm_type)
    yc = F.embedding(cr.tensor([0, 1]), wc, max_norm=max_norm, norm_type=norm_type)
    assert yc.dtype == cr.float16
    np.testing.assert_allclose(yc.numpy().astype(np.float32), yt.numpy().astype(np.float32),
                               rtol=1e-3)
    np.testing.assert_allclose(wc.numpy().astype(np.float32), wt.numpy().astype(np.float32),
                               rtol=1e-3)
    assert wc.numpy()[0, 0] > 0
    m = cr.nn.Embedding(3, 400, max_norm=max_norm, norm_type=norm_type,
                        _weight=cr.tensor(w.copy()))
    np.testing.assert_allclose(m(cr.tensor([[0]])).numpy()[0, 0].astype(np.float32),
                               yt.numpy()[0].astype(np.float32), rtol=1e-3)


def test_hardtanh_deprecated_value_keywords():
    # PyTorch's Hardtanh(min_value=, max_value=) (old code's spelling) was a TypeError
    x = np.array([-3.0, -0.2, 0.4, 2.0])
    with pytest.warns(FutureWarning) as tw:
        tm = torch.nn.Hardtanh(min_value=-0.5, max_value=1.5)
    with pytest.warns(FutureWarning) as cw:
        cm = cr.nn.Hardtanh(min_value=-0.5, max_value=1.5)
    assert [str(w.message) for w in cw] == [str(w.message) for w in tw]
    assert "`max_value` is deprecated and renamed to `max_val`" in str(cw[1].message)
    assert repr(cm) == repr(tm) == "Hardtanh(min_val=-0.5, max_val=1.5)"
    np.testing.assert_array_equal(cm(cr.tensor(x)).numpy(), tm(torch.tensor(x)).numpy())


@pytest.mark.parametrize("name,kw", [("elu", {}), ("selu", {}), ("elu", {"alpha": 2.0})])
def test_elu_gradient_from_input_float16_float32(name, kw):
    # the gradient for x <= 0 was y + scale * alpha, which cancels: in float16 45% off at
    # x = -8 and 0 from x = -10; PyTorch's is scale * alpha * exp(x)
    x = np.array([-12.0, -10.0, -8.0, -6.0, -5.0, -3.0, -1.0, -0.25, 0.5, 4.0])
    for dtype, rtol in (("float16", 2e-3), ("float32", 1e-6)):
        t = torch.tensor(x.astype(dtype), requires_grad=True)
        c = cr.tensor(x.astype(dtype), requires_grad=True)
        getattr(torch.nn.functional, name)(t, **kw).sum().backward()
        getattr(F, name)(c, **kw).sum().backward()
        assert c.grad.dtype == dtype
        np.testing.assert_allclose(c.grad.numpy().astype(np.float64),
                                   t.grad.numpy().astype(np.float64), rtol=rtol, atol=0)
    c = cr.tensor(np.array([-3.0, -0.7, 0.4, 2.0]), requires_grad=True)
    assert cr.gradcheck(lambda a: getattr(F, name)(a, **kw).sum(), c)
    assert cr.gradgradcheck(lambda a: getattr(F, name)(a, **kw) * a, c)


@pytest.mark.parametrize("name,kw", [("gelu", {"approximate": "tanh"}), ("gelu", {}),
                                     ("hardswish", {})])
def test_float16_large_inputs_gelu_hardswish(name, kw):
    # float16 as PyTorch's (in float32, rounded once): gelu's tanh form had NaN gradients from
    # |x| = 256 (x * x overflowed) and hardswish gave inf from |x| = 10923
    x = np.array([-6e4, -1000.0, -300.0, -20.0, -2.5, 0.5, 2.5, 20.0, 300.0, 1000.0, 6e4],
                 dtype=np.float16)
    t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt = getattr(torch.nn.functional, name)(t, **kw)
    yc = getattr(F, name)(c, **kw)
    w = np.linspace(-1.0, 1.0, x.size).astype(np.float16)
    yt.backward(torch.tensor(w))
    yc.backward(cr.tensor(w))
    assert yc.dtype == cr.float16 and c.grad.dtype == cr.float16
    np.testing.assert_allclose(yc.detach().numpy().astype(np.float32),
                               yt.detach().numpy().astype(np.float32), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(c.grad.numpy().astype(np.float32),
                               t.grad.numpy().astype(np.float32), rtol=1e-3, atol=1e-6)


def test_celu_near_zero_and_mish_float16():
    # celu's exp(x / alpha) - 1 cancelled near 0 (5% off at x = -1e-6 in float32; PyTorch's is
    # expm1); mish of float16 in float16 had its gradient 17% off near its minimum (x = -1.2)
    x = np.array([-1e-6, -1e-4, -0.5, -3.0, -12.0, 0.0, 1e-6, 2.0], dtype=np.float32)
    for alpha in (1.0, 0.3):
        t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
        yt, yc = torch.nn.functional.celu(t, alpha), F.celu(c, alpha)
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=2e-7, atol=0)
        yt.sum().backward()
        yc.sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=4e-6, atol=0)
        c64 = cr.tensor(np.array([-2.0, -0.3, 0.6]), requires_grad=True)
        assert cr.gradgradcheck(lambda a, al=alpha: F.celu(a, al) * a, c64)
    h = np.array([-1.2002, -1.1, -1.3, -4.0, 0.5], dtype=np.float16)
    t, c = torch.tensor(h, requires_grad=True), cr.tensor(h, requires_grad=True)
    torch.nn.functional.mish(t).sum().backward()
    F.mish(c).sum().backward()
    assert c.grad.dtype == cr.float16
    np.testing.assert_allclose(c.grad.numpy().astype(np.float32),
                               t.grad.numpy().astype(np.float32), rtol=2e-3, atol=0)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 4)])
def test_instance_norm_unused_num_features_warns(shape):
    # PyTorch warns when the channels differ from num_features it does not use (affine=False);
    # chainrule normalized silently
    x = np.arange(float(np.prod(shape))).reshape(shape) % 5
    with pytest.warns(UserWarning) as tw:
        yt = torch.nn.InstanceNorm1d(5)(torch.tensor(x))
    with pytest.warns(UserWarning) as cw:
        yc = cr.nn.InstanceNorm1d(5)(cr.tensor(x))
    assert [str(w.message) for w in cw] == [str(w.message) for w in tw]
    np.testing.assert_allclose(yc.numpy(), yt.numpy(), rtol=1e-12, atol=1e-12)


def test_reset_parameters_idiom():
    # `for m in model.modules(): if hasattr(m, "reset_parameters"): m.reset_parameters()`:
    # GroupNorm and RMSNorm had none (their weights silently kept), Embedding and EmbeddingBag
    # wanted rng= (TypeError)
    def build(lib):
        return lib.nn.Sequential(lib.nn.GroupNorm(2, 4), lib.nn.RMSNorm(4),
                                 lib.nn.LayerNorm(4), lib.nn.BatchNorm1d(4))
    for lib in (torch, cr):
        model = build(lib)
        with lib.no_grad():
            for p in model.parameters():
                p.fill_(7.0)
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        state = {k: v.numpy().tolist() for k, v in model.state_dict().items()}
        if lib is torch:
            want = state
    assert state == want and state["0.weight"] == [1.0] * 4 and state["0.bias"] == [0.0] * 4
    cr.manual_seed(3)
    for m in (cr.nn.Embedding(200, 8, padding_idx=-1), cr.nn.EmbeddingBag(200, 8, padding_idx=0)):
        with cr.no_grad():
            m.weight.fill_(7.0)
        m.reset_parameters()
        w = m.weight.numpy()
        assert not w[m.padding_idx].any() and abs(w.std() - 1.0) < 0.1
        assert (w != 7.0).all()


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_float16_in_float32(name):
    # float16 softmaxes ran in float16: about 2 in 3 values differed from PyTorch's (which
    # computes in float32 and rounds once), and the gradients were units off
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((8, 50)) * 3).astype(np.float16)
    w = rng.standard_normal((8, 50)).astype(np.float16)
    t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt = getattr(torch.nn.functional, name)(t, 1)
    yc = getattr(F, name)(c, 1)
    assert yc.dtype == cr.float16
    if name != "log_softmax":  # PyTorch's log_softmax rounds its own intermediate steps
        np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    yt.backward(torch.tensor(w))
    yc.backward(cr.tensor(w))
    t64 = torch.tensor(x.astype(np.float64), requires_grad=True)
    getattr(torch.nn.functional, name)(t64, 1).backward(torch.tensor(w.astype(np.float64)))
    ours = np.abs(c.grad.numpy().astype(np.float64) - t64.grad.numpy()).max()
    theirs = np.abs(t.grad.numpy().astype(np.float64) - t64.grad.numpy()).max()
    assert c.grad.dtype == cr.float16 and ours <= theirs


@pytest.mark.parametrize("name", ["silu", "hardsigmoid"])
def test_silu_hardsigmoid_float16_in_float32(name):
    # silu's float16 gradient cancelled near its zero (x = -1.28: hundreds of units off);
    # hardsigmoid's x + 3 rounded to 6 just below x = 3, so its gradient there was 0, not 1/6
    x = np.array([-1.3, -1.28, -1.25, 2.998, 2.996, -2.998, 0.5, -4.0], dtype=np.float16)
    t, c = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt = getattr(torch.nn.functional, name)(t)
    yc = getattr(F, name)(c)
    np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    yt.sum().backward()
    yc.sum().backward()
    assert c.grad.dtype == cr.float16
    np.testing.assert_allclose(c.grad.numpy().astype(np.float32),
                               t.grad.numpy().astype(np.float32), rtol=1e-3, atol=0)


def test_modules_paths_dropout_base_and_activations():
    # `isinstance(m, nn.modules.dropout._DropoutNd)` (MC dropout switches every dropout layer
    # back to training) and `from torch.nn.modules.activation import Mish` were AttributeErrors
    import torch.nn.modules.activation as tact
    import torch.nn.modules.dropout as tdrop
    from chainrule.nn.modules.activation import Hardswish, Mish, Softmax2d  # noqa: F401
    from chainrule.nn.modules.dropout import _DropoutNd
    for mod, ours in ((tact, cr.nn.modules.activation), (tdrop, cr.nn.modules.dropout)):
        assert all(hasattr(ours, name) for name in mod.__all__)
    layers = ("Dropout", "Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "ReLU",
              "Softmax2d")
    assert [isinstance(getattr(cr.nn, n)(), _DropoutNd) for n in layers] == [
        isinstance(getattr(torch.nn, n)(), tdrop._DropoutNd) for n in layers]


@pytest.mark.parametrize("sparse", [False, True])
def test_embedding_negative_padding_idx_set_on_the_layer(sparse):
    # emb.padding_idx = -1 after construction: PyTorch's forward counts it from the end; the
    # padding row silently got its gradient
    w = np.random.default_rng(0).standard_normal((6, 3))
    grads = []
    for lib in (torch, cr):
        m = lib.nn.Embedding(6, 3, sparse=sparse, _weight=lib.tensor(w.copy()))
        m.padding_idx = -1
        m(lib.tensor([[5, 1, 5]])).sum().backward()
        g = m.weight.grad
        grads.append(np.asarray((g.to_dense() if hasattr(g, "to_dense") else g).numpy()))
    np.testing.assert_array_equal(grads[1], grads[0])
    assert not grads[1][5].any() and grads[1][1].tolist() == [1.0] * 3


@pytest.mark.parametrize("name", ["dropout", "dropout1d", "dropout2d", "dropout3d",
                                  "alpha_dropout", "feature_alpha_dropout"])
def test_dropout_of_a_list_is_a_type_error(name):
    # a list raised AttributeError ('list' object has no attribute 'shape') from inside
    with pytest.raises(TypeError, match=f"{name}: input must be a Tensor, got list"):
        getattr(F, name)([[1.0, 2.0], [3.0, 4.0]], 0.5, True)
    x = np.ones({"dropout1d": (2, 3, 4), "dropout3d": (2, 3, 2, 2, 2)}.get(name, (2, 3, 4, 4)))
    assert getattr(F, name)(x, 0.0, True).shape == x.shape  # an array still works


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.softmax(x, 1, lib.float32),
    lambda lib, x: x.log_softmax(1, lib.float32),
    lambda lib, x: lib.special.softmax(x, 1, lib.float32),
    lambda lib, x: lib.softmax(x.float(), 1, lib.float16),
])
def test_float16_softmax_with_positional_dtype(call):
    # dtype given third to a float16 softmax: the float16 rounding of 40b5151b turned the asked
    # float32 result back into float16
    x = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.5]], dtype=np.float16)
    yt, yc = call(torch, torch.tensor(x)), call(cr, cr.tensor(x))
    assert str(yc.dtype) == str(yt.dtype).replace("torch.", "")
    np.testing.assert_allclose(yc.numpy(), yt.numpy(), rtol=1e-6, atol=0)
