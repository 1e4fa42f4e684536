"""``inplace=True`` of the activation and dropout functions and modules changes the input and
returns it, as PyTorch's (it used to be computed out of place, leaving the caller's tensor as it
was, so ``F.relu(x, inplace=True)`` as a statement lost the nonlinearity). Against torch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd.gradcheck import gradcheck

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
TF = torch.nn.functional
tnn = torch.nn

# (name, positional arguments after the input): each function's inplace is its last positional
FUNCS = [
    ("relu", ()), ("relu6", ()), ("leaky_relu", (0.2,)), ("elu", (0.7,)), ("selu", ()),
    ("celu", (1.3,)), ("silu", ()), ("hardtanh", (-0.5, 2.0)), ("hardswish", ()),
    ("hardsigmoid", ()), ("mish", ()), ("threshold", (0.3, -2.0)), ("rrelu", (0.1, 0.3, False)),
]
# (class name, arguments before inplace)
MODULES = [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)), ("SELU", ()),
    ("CELU", (1.3,)), ("SiLU", ()), ("Hardtanh", (-0.5, 2.0)), ("Hardswish", ()),
    ("Hardsigmoid", ()), ("Mish", ()), ("Threshold", (0.3, -2.0)), ("RReLU", (0.1, 0.3)),
]
DROPOUTS = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
            "feature_alpha_dropout"]
DROPOUT_MODULES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                   "FeatureAlphaDropout"]


def _torch_exact(name):
    """Whether PyTorch's float64 gradient is exact enough to be the oracle at rtol 1e-10: its
    celu_ backward differs from its own celu's by 3.5e-8 relative (the reciprocal of alpha is
    rounded), and its hardsigmoid's from 1/6 by float32's rounding (3e-8); there chainrule's
    out-of-place function (checked against PyTorch elsewhere) and gradcheck are the oracles."""
    return name not in ("celu", "hardsigmoid")


def _values(shape=(2, 3, 4), seed=0):
    return np.random.default_rng(seed).uniform(-5, 8, shape)


def _drop_shape(name):
    name = name.lower()
    return {"dropout2d": (2, 3, 4, 5), "dropout3d": (2, 3, 4, 5, 2)}.get(name, (2, 3, 4))


def _function_changes_and_returns_its_input_case(name, args):
    v = _values()
    x, tx = cr.tensor(v), torch.tensor(v)
    y = getattr(F, name)(x, *args, inplace=True)
    ty = getattr(TF, name)(tx, *args, inplace=True)
    assert y is x and ty is tx
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12, atol=1e-12)


def test_function_changes_and_returns_its_input():
    each_case(_function_changes_and_returns_its_input_case, grid(("name,args", FUNCS)))


def _module_changes_and_returns_its_input_case(name, args):
    v = _values()
    m, tm = getattr(nn, name)(*args, inplace=True).eval(), getattr(tnn, name)(*args, inplace=True)
    tm.eval()
    assert repr(m) == repr(tm)
    x, tx = cr.tensor(v), torch.tensor(v)
    assert m(x) is x and tm(tx) is tx
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12, atol=1e-12)


def test_module_changes_and_returns_its_input():
    each_case(_module_changes_and_returns_its_input_case, grid(("name,args", MODULES)))


def _leaf_that_requires_grad_is_refused_and_no_grad_changes_it_case(name, args):
    v = _values()
    x, tx = cr.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(TF, name)(tx, *args, inplace=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(F, name)(x, *args, inplace=True)
    np.testing.assert_array_equal(x.numpy(), v)  # refused before any change
    with cr.no_grad():
        assert getattr(F, name)(x, *args, inplace=True) is x
    with torch.no_grad():
        getattr(TF, name)(tx, *args, inplace=True)
    np.testing.assert_allclose(x.numpy(), tx.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert x.requires_grad and x.is_leaf


def test_leaf_that_requires_grad_is_refused_and_no_grad_changes_it():
    each_case(_leaf_that_requires_grad_is_refused_and_no_grad_changes_it_case, grid(
        ("name,args", FUNCS),
    ))


@pytest.mark.parametrize("name,args", FUNCS)
def test_gradient_through_the_change_is_the_functions(name, args):
    v = _values((3, 4), seed=1)
    a, ta = cr.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    h, th = a * 1.5, ta * 1.5
    assert getattr(F, name)(h, *args, inplace=True) is h
    (h * h).sum().backward()
    if _torch_exact(name):
        getattr(TF, name)(th, *args, inplace=True)
        (th * th).sum().backward()
        expected = ta.grad.numpy()
    else:
        b = cr.tensor(v, requires_grad=True)
        out = getattr(F, name)(b * 1.5, *args)
        (out * out).sum().backward()
        expected = b.grad.numpy()
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-10, atol=1e-12)

    def fn(t):
        return getattr(F, name)(t * 1.0, *args, inplace=True)

    assert gradcheck(fn, (cr.tensor(_values((2, 3), seed=2), requires_grad=True),))


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_in_place_p0_p1_and_eval(name):
    shape = _drop_shape(name)
    for p, training in ((0.0, True), (0.5, False), (1.0, True)):
        v = _values(shape)
        x, tx = cr.tensor(v), torch.tensor(v)
        assert getattr(F, name)(x, p, training, True) is x
        assert getattr(TF, name)(tx, p, training, True) is tx
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        # a leaf that requires grad: left alone (PyTorch returns it) unless a mask is applied
        leaf, tleaf = cr.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
        if training and p > 0:
            with pytest.raises(RuntimeError, match="leaf"):
                getattr(TF, name)(tleaf, p, training, True)
            with pytest.raises(RuntimeError, match="leaf"):
                getattr(F, name)(leaf, p, training, True)
        else:
            assert getattr(TF, name)(tleaf, p, training, True) is tleaf
            assert getattr(F, name)(leaf, p, training, True) is leaf
        np.testing.assert_array_equal(leaf.numpy(), v)


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_in_place_shares_the_out_of_place_mask(name):
    shape = _drop_shape(name)
    v = _values(shape)
    expected = getattr(F, name)(cr.tensor(v), 0.4, True, rng=np.random.default_rng(7))
    a = cr.tensor(v, requires_grad=True)
    h = a * 1.0
    assert getattr(F, name)(h, 0.4, True, True, rng=np.random.default_rng(7)) is h
    np.testing.assert_array_equal(h.numpy(), expected.numpy())
    h.sum().backward()
    # the gradient of an affine mask map: its scale, the same mask's
    scale = getattr(F, name)(cr.tensor(np.ones(shape)), 0.4, True, rng=np.random.default_rng(7))
    if "alpha" in name:
        shift = getattr(F, name)(cr.tensor(np.zeros(shape)), 0.4, True,
                                 rng=np.random.default_rng(7))
        scale = scale - shift
    np.testing.assert_allclose(a.grad.numpy(), scale.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", DROPOUT_MODULES)
def test_dropout_modules_pass_inplace_on(name):
    shape = _drop_shape(name)
    m, tm = getattr(nn, name)(0.5, inplace=True), getattr(tnn, name)(0.5, inplace=True)
    assert repr(m) == repr(tm)
    v = _values(shape)
    x = cr.tensor(v)
    m.eval()
    assert m(x) is x
    np.testing.assert_array_equal(x.numpy(), v)
    m.train()
    m.rng = np.random.default_rng(3)
    assert m(x) is x
    expected = getattr(F, name.lower().replace("alphadropout", "alpha_dropout")
                       .replace("featurealpha", "feature_alpha"))(
        cr.tensor(v), 0.5, True, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(x.numpy(), expected.numpy())


class _Net:
    """conv -> act(x, inplace=True) as a statement -> pool -> conv -> module(inplace=True) ->
    linear, with one set of float64 weights for both libraries."""

    def __init__(self, lib, act, args, weights, mask=None, discard=True):
        self.lib, self.act, self.args, self.mask, self.discard = lib, act, args, mask, discard
        m = tnn if lib is torch else nn
        self.conv1, self.conv2 = m.Conv2d(2, 4, 3), m.Conv2d(4, 3, 3)
        self.relu = m.ReLU(inplace=True)
        self.fc = m.Linear(12, 2)
        self.saved = []
        self.conv1.register_forward_hook(lambda mod, i, out: self.saved.append(out))
        layers = (self.conv1, self.conv2, self.fc)
        self.params = [p for layer in layers for p in (layer.weight, layer.bias)]
        self.double()
        with (torch.no_grad() if lib is torch else cr.no_grad()):
            for p, w in zip(self.params, weights):
                p.copy_(lib.tensor(w))

    def double(self):
        for layer in (self.conv1, self.conv2, self.fc):
            layer.double()
        self.params = [p for layer in (self.conv1, self.conv2, self.fc)
                       for p in (layer.weight, layer.bias)]
        return self

    def __call__(self, x):
        fn = getattr(TF if self.lib is torch else F, self.act)
        x = self.conv1(x)
        if not self.discard:
            x = fn(x, *self.args)
        elif self.mask is None:
            fn(x, *self.args, inplace=True)  # the result discarded, as real programs do
        elif self.lib is torch:
            x.mul_(torch.tensor(self.mask))  # the dropout's mask, drawn by chainrule
        else:
            fn(x, 0.5, True, True, rng=np.random.default_rng(5))
        x = (TF if self.lib is torch else F).max_pool2d(x, 2)
        x = self.relu(self.conv2(x))
        return self.fc(x.reshape(x.shape[0], -1))


def _weights():
    rng = np.random.default_rng(11)
    shapes = [(4, 2, 3, 3), (4,), (3, 4, 3, 3), (3,), (2, 12), (2,)]
    return [rng.normal(0, 0.5, s) for s in shapes]


def _compare_nets(act, args, mask=None):
    w = _weights()
    net, tnet = _Net(cr, act, args, w, mask), _Net(torch, act, args, w, mask)
    v = np.random.default_rng(12).normal(0, 1, (2, 2, 10, 10))
    out, tout = net(cr.tensor(v)), tnet(torch.tensor(v))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    # the hook's saved conv output is the tensor the activation changed
    np.testing.assert_allclose(net.saved[0].detach().numpy(), tnet.saved[0].detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    if not _torch_exact(act):
        tnet = _Net(cr, act, args, w, discard=False).double()  # out of place: the oracle
        tout = tnet(cr.tensor(v))
        (tout * tout).sum().backward()
    for p, tp in zip(net.params, tnet.params):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,args", FUNCS)
def test_discarded_result_in_a_conv_net_gives_pytorchs_outputs_and_grads(name, args):
    _compare_nets(name, args)


def test_discarded_dropout_in_a_conv_net_with_a_shared_mask():
    ones = cr.tensor(np.ones((2, 4, 8, 8)))
    mask = F.dropout(ones, 0.5, True, rng=np.random.default_rng(5)).numpy()
    _compare_nets("dropout", (), mask)


def test_no_grad_inference_changes_the_callers_tensor():
    v = _values()
    x, tx = cr.tensor(v), torch.tensor(v)
    with cr.no_grad():
        nn.ReLU(inplace=True)(x)
    with torch.no_grad():
        tnn.ReLU(inplace=True)(tx)
    np.testing.assert_array_equal(x.numpy(), tx.numpy())


def test_default_is_still_out_of_place_and_layers_without_inplace_refuse_it():
    v = _values()
    x = cr.tensor(v)
    assert F.relu(x) is not x and nn.ReLU()(x) is not x
    np.testing.assert_array_equal(x.numpy(), v)
    for name in ("Sigmoid", "Tanh", "Softsign", "LogSigmoid"):
        with pytest.raises(TypeError):
            getattr(tnn, name)(inplace=True)
        with pytest.raises(TypeError, match="inplace"):
            getattr(nn, name)(inplace=True)
    with pytest.raises(TypeError, match="Tensor"):
        F.relu([1.0, -1.0], inplace=True)


def test_trace_follows_an_in_place_activation_and_refuses_one_into_a_view():
    from chainrule.autograd.tracing import TraceError

    lin = nn.Linear(4, 3)

    def statement(x):
        h = lin(x)
        F.relu(h, inplace=True)  # the result discarded: the replay must still read relu(h)
        return h * 2

    example = cr.tensor(np.ones((2, 4), np.float32))
    v = np.random.default_rng(4).normal(0, 1, (2, 4)).astype(np.float32)
    fast = cr.trace(statement, example)
    expected = statement(cr.tensor(v)).numpy()
    assert (expected == 0).any()
    np.testing.assert_array_equal(fast(cr.tensor(v)).numpy(), expected)
    model = nn.Sequential(lin, nn.ReLU(inplace=True), nn.Dropout(0.5, inplace=True)).eval()
    np.testing.assert_array_equal(cr.trace(model, example)(cr.tensor(v)).numpy(),
                                  model(cr.tensor(v)).numpy())

    def into_view(x):
        h = lin(x)
        F.relu(h[:, :2], inplace=True)
        return h

    with pytest.raises(TraceError, match="relu"):
        cr.trace(into_view, example)


def _block(lib, m, w, v):
    """torchvision's residual block: conv -> BatchNorm -> ReLU(inplace) -> conv, + identity,
    ReLU(inplace); float64, training-mode batch statistics."""
    conv, bn, act = m.Conv2d(3, 3, 3, padding=1, bias=False).double(), m.BatchNorm2d(3).double(), \
        m.ReLU(inplace=True)
    with (torch.no_grad() if lib is torch else cr.no_grad()):
        conv.weight.copy_(lib.tensor(w))
    x = lib.tensor(v)
    x.requires_grad_(True)
    out = act(conv(act(bn(conv(x)))) + x)
    (out * out).sum().backward()
    return [t.grad.numpy() for t in (x, conv.weight, bn.weight, bn.bias)] + [out.detach().numpy()]


def test_residual_block_with_inplace_relus_matches_pytorch():
    rng = np.random.default_rng(0)
    w, v = rng.normal(0, 0.5, (3, 3, 3, 3)), rng.normal(0, 1, (2, 3, 6, 6))
    for ours, theirs in zip(_block(cr, nn, w, v), _block(torch, tnn, w, v)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid"])
def test_change_of_an_output_a_backward_reads_computes_where_pytorch_refuses(op):
    """docs/pytorch.md, "What differs on purpose": the node that read the old values reads a
    copy of them, so the gradient is the program's (the out-of-place one's)."""
    v = _values((3, 4), seed=3) / 4
    tx = torch.tensor(v, requires_grad=True)
    th = getattr(tx, op)()
    TF.relu(th, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        th.sum().backward()
    x, ref = cr.tensor(v, requires_grad=True), cr.tensor(v, requires_grad=True)
    h = getattr(x, op)()
    F.relu(h, inplace=True)
    h.sum().backward()
    F.relu(getattr(ref, op)()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref.grad.numpy(), rtol=1e-14)
