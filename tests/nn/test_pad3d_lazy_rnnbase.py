"""The 3-D padding layers, LazyConvTranspose*/LazyBatchNorm*/LazyInstanceNorm*, and the recurrent
base classes RNNBase/RNNCellBase, against PyTorch (values, gradients, state dicts, reprs)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

from .._case_loop import each_case, grid, with_rng

torch = pytest.importorskip("torch")
# PyTorch warns about its own lazy instance norm without state (num_features stays 0)
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:Lazy modules are a new"),
              pytest.mark.filterwarnings("ignore:input's size at dim=1 does not match")]

PADS = ["ZeroPad3d", "ConstantPad3d", "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d"]


def _3d_pads_match_pytorch_case(rng, name, padding, shape):
    args = (padding, 1.5) if name == "ConstantPad3d" else (padding,)
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal(shape)
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, t = ours(a), theirs(b)
    np.testing.assert_array_equal(y.numpy(), t.detach().numpy())
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(g))
    t.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_3d_pads_match_pytorch():
    each_case(with_rng(_3d_pads_match_pytorch_case), grid(
        ("shape", [(2, 2, 3, 4, 5), (2, 3, 4, 5)], ["batched", "unbatched"]),
        ("padding", [1, (1, 2, 0, 1, 2, 1)], ["int", "tuple"]),
        ("name", PADS),
    ))


@pytest.mark.kernel_free
def test_3d_pads_refuse_bad_input():
    with pytest.raises(ValueError, match=r"ReflectionPad3d: input must be 4-D or 5-D, got shape "
                                         r"\(2, 3, 4\)"):
        nn.ReflectionPad3d(1)(cr.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"CircularPad3d: padding must be an int or a tuple of "
                                         r"6 ints, got \(1, 2\)"):
        nn.CircularPad3d((1, 2))
    with pytest.raises(ValueError, match="reflect padding .* must be smaller than axis 2"):
        nn.ReflectionPad3d(2)(cr.zeros(1, 1, 2, 4, 4))


LAZY = [
    ("LazyConvTranspose1d", "ConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1},
     (2, 3, 5)),
    ("LazyConvTranspose2d", "ConvTranspose2d", (4, 3), {"groups": 2, "padding": 1},
     (1, 2, 4, 5)),
    ("LazyConvTranspose3d", "ConvTranspose3d", (2, 2), {"bias": False}, (1, 3, 2, 3, 2)),
    ("LazyBatchNorm1d", "BatchNorm1d", (), {}, (4, 3, 5)),
    ("LazyBatchNorm2d", "BatchNorm2d", (), {"momentum": None}, (2, 3, 4, 4)),
    ("LazyBatchNorm3d", "BatchNorm3d", (), {"affine": False}, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", "InstanceNorm1d", (), {}, (2, 3, 5)),
    ("LazyInstanceNorm2d", "InstanceNorm2d", (), {"track_running_stats": False}, (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", "InstanceNorm3d", (), {"affine": False, "track_running_stats": False},
     (2, 3, 2, 2, 2)),
]
IDS = [c for c, *_ in LAZY]


def _state(module):
    return {k: v.detach().numpy() if hasattr(v, "detach") else v.numpy()
            for k, v in module.state_dict().items()}


@pytest.mark.parametrize("lazy, plain, args, kwargs, shape", LAZY, ids=IDS)
def test_lazy_layers_become_pytorchs_plain_layers(rng, lazy, plain, args, kwargs, shape):
    ours = getattr(nn, lazy)(*args, **kwargs, dtype=cr.float64)
    theirs = getattr(torch.nn, lazy)(*args, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    params = list(ours.parameters())  # materialized in place: the same objects afterwards
    x = rng.standard_normal(shape)
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if "Conv" in lazy:  # PyTorch's initialization from chainrule's generator; then torch's values
        theirs(torch.tensor(x))
        y = ours(a)
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            assert p.shape == tuple(q.shape)
        ours.load_state_dict({k: cr.tensor(v.detach().numpy())
                              for k, v in theirs.state_dict().items()})
    y = ours(a)  # the norms: both first calls, from PyTorch's initial 1, 0, 0, 1
    assert type(ours) is getattr(nn, plain)
    assert [p is q for p, q in zip(params, ours.parameters(), strict=True)] == [True] * len(params)
    t = theirs(b)
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(y.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(g))
    t.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-12)
    for k, v in _state(theirs).items():  # running statistics updated alike
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v, rtol=1e-12, err_msg=k)


def _lazy_layers_load_a_pytorch_state_before_the_first_call_case(
    rng, lazy, plain, args, kwargs, shape
):
    theirs = getattr(torch.nn, lazy)(*args, **kwargs, dtype=torch.float64)
    theirs(torch.zeros(shape, dtype=torch.float64))  # PyTorch's own lazy layer, materialized
    with torch.no_grad():
        for v in theirs.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(v.shape))))
    ours = getattr(nn, lazy)(*args, **kwargs, dtype=cr.float64)
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = rng.standard_normal(shape)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    assert type(ours) is getattr(nn, plain) and repr(ours) == repr(theirs)


def test_lazy_layers_load_a_pytorch_state_before_the_first_call():
    each_case(with_rng(_lazy_layers_load_a_pytorch_state_before_the_first_call_case), grid(
        ("lazy, plain, args, kwargs, shape", LAZY, IDS),
    ))


@pytest.mark.kernel_free
def test_lazy_errors_and_the_uninitialized_buffer():
    bn = nn.LazyBatchNorm2d()
    assert isinstance(bn.running_mean, nn.UninitializedBuffer)
    assert repr(bn.running_mean) == "<UninitializedBuffer>"
    with pytest.raises(RuntimeError, match="an uninitialized buffer .* has no shape"):
        bn.running_var.shape  # noqa: B018
    with pytest.raises(ValueError, match=r"LazyBatchNorm2d: expected input of shape "
                                         r"\(N, C, H, W\), got shape \(2, 3\)"):
        bn(cr.zeros(2, 3))
    with pytest.raises(ValueError, match=r"LazyConvTranspose2d: the input's 3 channels .* must be "
                                         r"divisible by groups=2"):
        nn.LazyConvTranspose2d(4, 3, groups=2)(cr.zeros(1, 3, 4, 4))
    half = nn.LazyBatchNorm1d()
    half.load_state_dict({"weight": cr.ones(3), "bias": cr.zeros(3)}, strict=False)
    with pytest.raises(RuntimeError, match="LazyBatchNorm1d: part of the state was loaded"):
        half(cr.ones(2, 3))
    old = cr.get_default_dtype()
    cr.set_default_dtype(cr.float64)
    try:
        assert nn.UninitializedBuffer().dtype == cr.float64
    finally:
        cr.set_default_dtype(old)
    with pytest.raises(ValueError, match="UninitializedBuffer: a buffer takes no gradient"):
        nn.UninitializedBuffer(True)
    inorm = nn.LazyInstanceNorm1d()
    inorm(cr.ones(3, 5))  # unbatched (C, L): the channels are axis 0
    assert inorm.weight.shape == (3,) and type(inorm) is nn.InstanceNorm1d


@pytest.mark.kernel_free
def test_recurrent_layers_share_pytorchs_base_classes():
    for name in ("RNN", "LSTM", "GRU"):
        assert issubclass(getattr(nn, name), nn.RNNBase)
        assert issubclass(getattr(torch.nn, name), torch.nn.RNNBase)
    for name in ("RNNCell", "LSTMCell", "GRUCell"):
        assert issubclass(getattr(nn, name), nn.RNNCellBase)
        assert issubclass(getattr(torch.nn, name), torch.nn.RNNCellBase)
    assert not issubclass(nn.LSTMCell, nn.RNNBase)


@pytest.mark.parametrize("mode, plain", [("LSTM", "LSTM"), ("GRU", "GRU"), ("RNN_TANH", "RNN"),
                                         ("RNN_RELU", "RNN")])
def test_rnnbase_with_a_mode_is_that_layer(rng, mode, plain):
    base = nn.RNNBase(mode, 3, 4, 2, True, True, 0.0, True, dtype=cr.float64,
                      rng=np.random.default_rng(0))
    theirs = torch.nn.RNNBase(mode, 3, 4, 2, True, True, 0.0, True, dtype=torch.float64)
    assert list(base.state_dict()) == list(theirs.state_dict())
    kwargs = {"nonlinearity": mode[4:].lower()} if plain == "RNN" else {}
    same = getattr(nn, plain)(3, 4, 2, batch_first=True, bidirectional=True, dtype=cr.float64,
                              rng=np.random.default_rng(0), **kwargs)
    assert repr(base).replace("RNNBase", plain) == repr(same)
    x = cr.tensor(rng.standard_normal((2, 5, 3)))
    np.testing.assert_array_equal(base(x)[0].numpy(), same(x)[0].numpy())


def test_rnncellbase_takes_pytorchs_num_chunks(rng):
    for chunks, plain in ((1, nn.RNNCell), (4, nn.LSTMCell), (3, nn.GRUCell)):
        base = nn.RNNCellBase(3, 4, True, chunks, rng=np.random.default_rng(1))
        same = plain(3, 4, rng=np.random.default_rng(1))
        theirs = torch.nn.RNNCellBase(3, 4, True, chunks)
        assert {k: v.shape for k, v in base.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        x = cr.tensor(rng.standard_normal((2, 3)).astype("float32"))
        out, expected = base(x), same(x)
        for o, e in zip(out if chunks == 4 else (out,), expected if chunks == 4 else (expected,),
                        strict=True):
            np.testing.assert_array_equal(o.numpy(), e.numpy())
    # another count makes a subclass's own cell's weights, as PyTorch's (tests/test_fuzz25_seq.py)
    assert nn.RNNCellBase(3, 4, True, 2).weight_ih.shape == (8, 3)
    with pytest.raises(ValueError, match="RNNCellBase: num_chunks must be a positive int"):
        nn.RNNCellBase(3, 4, True, 0)
    with pytest.raises(ValueError, match="RNNBase: mode must be 'RNN_TANH', 'RNN_RELU', 'LSTM' or "
                                         "'GRU', got 'lstm'"):
        nn.RNNBase("lstm", 3, 4)
    assert nn.RNNBase("LSTM", 3, 4, proj_size=2).weight_hr_l0.shape == (2, 4)
    with pytest.raises(ValueError, match="RNNBase: proj_size is only supported for the LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)


NEW = PADS + [c for c, *_ in LAZY] + ["RNNBase", "RNNCellBase"]


def _signatures_are_pytorchs_case(name):
    """The same names, order and defaults; ``device``/``dtype`` (keyword-only in chainrule, as
    for every layer: docs/pytorch.md) and chainrule's ``rng`` aside."""
    def params(cls, skip):
        return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()
                if p.name not in skip]

    skip = {"device", "dtype", "rng", "nonlinearity" if name == "RNNCellBase" else ""}
    assert params(getattr(nn, name), skip) == params(getattr(torch.nn, name), skip)


@pytest.mark.kernel_free
def test_signatures_are_pytorchs():
    each_case(_signatures_are_pytorchs_case, grid(("name", NEW)))
