"""Convolution layers: forward vs functional ops, init, validation, gradients, PyTorch parity."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops import conv as C  # noqa: N812

from .._case_loop import each_case, grid, with_rng

# (layer class, positional args, keyword args, input shape)
CONFIGS = [
    (nn.Conv1d, (3, 4, 3), {}, (2, 3, 9)),
    (nn.Conv1d, (4, 6, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}, (2, 4, 11)),
    (nn.Conv1d, (2, 3, 4), {"padding": "same", "bias": False}, (1, 2, 7)),
    (nn.Conv2d, (3, 5, 3), {}, (2, 3, 7, 6)),
    (nn.Conv2d, (4, 4, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "groups": 4}, (2, 4, 7, 6)),
    (nn.Conv2d, (2, 3, 4), {"padding": "same", "dilation": 2}, (1, 2, 9, 8)),
    (nn.Conv2d, (2, 3, 3), {"padding": "valid", "bias": False}, (1, 2, 5, 5)),
    (nn.ConvTranspose1d, (3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 5)),
    (nn.ConvTranspose1d, (4, 2, 2), {"groups": 2, "dilation": 2, "bias": False}, (1, 4, 6)),
    (nn.ConvTranspose2d, (3, 2, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 4, 5)),
    (nn.ConvTranspose2d, (4, 6, (2, 3)), {"stride": (1, 2), "groups": 2}, (1, 4, 3, 3)),
]
IDS = [f"{c.__name__}{a}{k}" for c, a, k, _ in CONFIGS]


def _x(rng, shape, dtype="float32", requires_grad=False):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


def _functional(layer, x):
    if isinstance(layer, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        op = C.conv_transpose1d if isinstance(layer, nn.ConvTranspose1d) else C.conv_transpose2d
        return op(x, layer.weight, layer.bias, layer.stride, layer.padding, layer.output_padding,
                  layer.groups, layer.dilation)
    op = C.conv1d if isinstance(layer, nn.Conv1d) else C.conv2d
    return op(x, layer.weight, layer.bias, layer.stride, layer.padding, layer.dilation,
              layer.groups)


def _forward_equals_functional_case(rng, cls, args, kwargs, shape):
    layer = cls(*args, **kwargs, rng=rng)
    x = _x(rng, shape)
    y = layer(x)
    np.testing.assert_array_equal(y._data, _functional(layer, x)._data)
    assert y.shape[:2] == (shape[0], args[1]) and y.dtype == np.float32
    if kwargs.get("padding") == "same":
        assert y.shape[2:] == shape[2:]


def test_forward_equals_functional():
    each_case(with_rng(_forward_equals_functional_case), grid(
        ("cls, args, kwargs, shape", CONFIGS, IDS),
    ))


@pytest.mark.kernel_free
def test_weight_layouts(rng):
    assert nn.Conv2d(3, 8, 5, groups=1, rng=rng).weight.shape == (8, 3, 5, 5)
    assert nn.Conv2d(4, 8, (3, 1), groups=2, rng=rng).weight.shape == (8, 2, 3, 1)
    assert nn.ConvTranspose2d(4, 8, 3, groups=2, rng=rng).weight.shape == (4, 4, 3, 3)
    assert nn.Conv1d(3, 8, 5, rng=rng).weight.shape == (8, 3, 5)
    layer = nn.Conv2d(3, 8, 5, bias=False, rng=rng)
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]


@pytest.mark.kernel_free
@pytest.mark.parametrize("layer, fan_in", [
    (nn.Conv2d(16, 32, 3, rng=np.random.default_rng(0)), 16 * 9),
    (nn.Conv2d(16, 32, 3, groups=4, rng=np.random.default_rng(0)), 4 * 9),
    (nn.ConvTranspose2d(16, 32, 3, rng=np.random.default_rng(0)), 32 * 9),  # torch's fan for it
    (nn.Conv1d(8, 64, 5, rng=np.random.default_rng(0)), 8 * 5),
])
def test_default_init_is_torch_like(layer, fan_in):
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight._data, layer.bias._data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.06)
    assert np.abs(b).max() <= bound


@pytest.mark.kernel_free
def test_init_is_deterministic_given_rng():
    a = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(5))
    b = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    np.testing.assert_array_equal(a.bias._data, b.bias._data)


def test_float64(rng):
    layer = nn.Conv2d(2, 3, 3, rng=rng, dtype="float64")
    assert layer.weight.dtype == np.float64
    assert layer(_x(rng, (1, 2, 5, 5), "float64")).dtype == np.float64


_CONSTRUCTOR_VALIDATION = [
    (lambda: nn.Conv2d(3, 8, 0), ValueError, "Conv2d: kernel_size must be at least 1, got 0"),
    (lambda: nn.Conv2d(-3, 8, 3), ValueError, "Conv2d: in_channels must be at least 1, got -3"),
    (lambda: nn.Conv2d(3, 8, 3, stride=0), ValueError, "Conv2d: stride must be at least 1"),
    (lambda: nn.Conv2d(3, 8, 3, padding=-1), ValueError, "Conv2d: padding must be at least 0"),
    (lambda: nn.Conv2d(3, 8, (3, 3, 3)), TypeError, "kernel_size must be an int or a tuple of 2"),
    (lambda: nn.Conv2d(3, 8, 3, groups=2), ValueError,
     "Conv2d: in_channels=3 must be divisible by groups=2"),
    (lambda: nn.Conv1d(4, 6, 3, groups=4), ValueError,
     "Conv1d: out_channels=6 must be divisible by groups=4"),
    (lambda: nn.Conv2d(3, 8, 3, stride=2, padding="same"), ValueError,
     "padding='same' needs stride 1"),
    (lambda: nn.Conv2d(3, 8, 3, padding="full"), ValueError,
     "padding must be an int, a tuple, 'same' or 'valid', got 'full'"),
    (lambda: nn.ConvTranspose2d(3, 8, 3, padding="same"), TypeError,
     "ConvTranspose2d: padding must be an int or a tuple of 2 ints"),
    (lambda: nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=2), ValueError,
     "output_padding \\(2, 2\\) must be smaller than stride"),
    (lambda: nn.Conv2d(3, 8, 3, dtype="int64"), TypeError, "dtype must be floating-point"),
]


def _constructor_validation_case(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.kernel_free
def test_constructor_validation():
    each_case(_constructor_validation_case, grid(("build, error, match", _CONSTRUCTOR_VALIDATION)))


@pytest.mark.kernel_free
def test_input_validation(rng):
    layer = nn.Conv2d(3, 8, 3, rng=rng)
    with pytest.raises(ValueError, match=r"Conv2d: expected input with 3 channels, shape 3-D "
                                         r"\(3, H, W\) or 4-D \(N, 3, H, W\), got shape "
                                         r"\(8, 1, 28, 28\)"):
        layer(_x(rng, (8, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"Conv2d: expected input with 3 channels, .* got shape "
                                         r"\(1, 28, 28\)"):
        layer(_x(rng, (1, 28, 28)))
    with pytest.raises(ValueError, match=r"Conv2d: expected a 3-D \(C, H, W\) or 4-D "
                                         r"\(N, C, H, W\) input, got shape \(28, 28\)"):
        layer(_x(rng, (28, 28)))
    with pytest.raises(ValueError, match=r"ConvTranspose1d: expected a 2-D \(C, L\) or 3-D "
                                         r"\(N, C, L\) input"):
        nn.ConvTranspose1d(2, 2, 3, rng=rng)(_x(rng, (2, 2, 3, 3)))


@pytest.mark.parametrize("cls, args, kwargs, shape", [
    (nn.Conv1d, (2, 2, 3), {"stride": 2, "padding": 1}, (2, 2, 6)),
    (nn.Conv2d, (2, 2, 2), {"padding": "same", "groups": 2}, (1, 2, 4, 3)),
    (nn.ConvTranspose1d, (2, 3, 3), {"stride": 2, "output_padding": 1}, (1, 2, 3)),
    (nn.ConvTranspose2d, (2, 2, 2), {"stride": 2, "padding": 1}, (1, 2, 3, 3)),
], ids=["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"])
def test_gradcheck(rng, cls, args, kwargs, shape):
    layer = cls(*args, **kwargs, rng=rng, dtype="float64")
    x = _x(rng, shape, "float64", requires_grad=True)
    params = list(layer.parameters())
    assert cr.gradcheck(lambda x, *_: layer(x), [x, *params])
    assert cr.gradgradcheck(lambda x, *_: layer(x).tanh(), [x, *params])


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's perf note
@pytest.mark.parametrize("cls, args, kwargs, shape", CONFIGS, ids=IDS)
def test_matches_torch_with_same_weights(rng, cls, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours = cls(*args, **kwargs, rng=rng)
    theirs = getattr(torch.nn, cls.__name__)(*args, **kwargs)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x = _x(rng, shape, requires_grad=True)
    tx = torch.from_numpy(x.numpy().copy()).requires_grad_()
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(y.shape).astype("float32")
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad._data, getattr(theirs, name).grad.numpy(),
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("cls, shape, padding", [(nn.Conv2d, (2, 3, 7, 6), (1, 2)),
                                                 (nn.Conv1d, (2, 3, 9), 2)])
def test_padding_mode_pads_the_input_as_in_torch(rng, mode, cls, shape, padding):
    torch = pytest.importorskip("torch")
    ours = cls(3, 4, 3, stride=2, padding=padding, padding_mode=mode, rng=rng, dtype="float64")
    theirs = getattr(torch.nn, cls.__name__)(3, 4, 3, stride=2, padding=padding,
                                             padding_mode=mode).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal(shape)
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, want = ours(a), theirs(b)
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12,
                               atol=1e-12)
    fused = nn.fuse(nn.Sequential(ours, nn.ReLU()))  # the fused layer keeps the mode
    np.testing.assert_allclose(fused(a).numpy(), np.maximum(want.detach().numpy(), 0),
                               rtol=1e-12, atol=1e-12)
    assert repr(ours) == repr(theirs)  # padding_mode={mode}, unquoted, as PyTorch's


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's perf note
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("cls, kernel, dilation", [(nn.Conv1d, 4, 1), (nn.Conv2d, 3, 2),
                                                   (nn.Conv2d, (2, 3), 1)])
def test_padding_same_with_a_padding_mode_as_in_torch(rng, mode, cls, kernel, dilation):
    # padding='same' with a padding_mode other than zeros was refused; PyTorch pads
    # d (k - 1) in all, the odd one on the right
    torch = pytest.importorskip("torch")
    ours = cls(2, 3, kernel, padding="same", dilation=dilation, padding_mode=mode, rng=rng,
               dtype="float64")
    theirs = getattr(torch.nn, cls.__name__)(2, 3, kernel, padding="same", dilation=dilation,
                                             padding_mode=mode).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 2) + (7,) * (2 if cls is nn.Conv2d else 1))
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, want = ours(a), theirs(b)
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
def test_padding_mode_is_checked():
    with pytest.raises(ValueError, match="'circular', got 'wrap'"):
        nn.Conv2d(1, 1, 3, padding=1, padding_mode="wrap")
    with pytest.raises(ValueError, match="ConvTranspose2d: padding_mode must be 'zeros'"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    layer = nn.Conv2d(1, 1, 3, 1, 1, 1, 1, True, "zeros")  # PyTorch's positional order
    assert layer.padding_mode == "zeros" and "padding_mode" not in repr(layer)


@pytest.mark.torch
@pytest.mark.parametrize("mode, cls, padding, shape, ok_shape", [
    ("reflect", nn.Conv1d, 2, (1, 1, 2), (1, 1, 3)),
    ("reflect", nn.Conv3d, (0, 1, 0), (1, 1, 2, 1, 2), (1, 1, 2, 2, 2)),
    ("circular", nn.Conv2d, (0, 2), (1, 1, 3, 1), (1, 1, 3, 2)),
    ("circular", nn.Conv3d, (2, 0, 0), (1, 1, 1, 2, 2), (1, 1, 2, 2, 2)),
])
def test_padding_mode_beyond_the_input_is_refused_as_in_torch(rng, mode, cls, padding, shape,
                                                              ok_shape):
    # NumPy reflects or wraps on past the input; chainrule gave those numbers where PyTorch raises
    torch = pytest.importorskip("torch")
    ours = cls(1, 1, 1, padding=padding, padding_mode=mode, rng=rng, dtype="float64")
    theirs = getattr(torch.nn, cls.__name__)(1, 1, 1, padding=padding, padding_mode=mode)
    with pytest.raises(RuntimeError):
        theirs(torch.zeros(shape))
    with pytest.raises(ValueError, match=rf"{cls.__name__}: padding_mode='{mode}' needs padding "
                                         rf".* input shape \({shape[0]}, "):
        ours(cr.zeros(*shape, dtype="float64"))
    theirs.double().load_state_dict({k: torch.tensor(v.numpy()) for k, v in
                                     ours.state_dict().items()})
    x = rng.standard_normal(ok_shape)  # the largest padding PyTorch takes works
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("cls, kwargs, shape, output_size", [
    (nn.ConvTranspose1d, {"stride": 3, "padding": 1}, (2, 2, 4), [10]),
    (nn.ConvTranspose2d, {"stride": (2, 3), "dilation": 2}, (1, 2, 3, 2), (2, 4, 9, 9)),
    (nn.ConvTranspose3d, {"stride": 2, "groups": 2}, (1, 2, 2, 3, 2), [6, 7, 5]),
])
def test_conv_transpose_takes_output_size_as_torch(rng, cls, kwargs, shape, output_size):
    # forward(x, output_size) was a TypeError; PyTorch picks the output padding from it
    torch = pytest.importorskip("torch")
    ours = cls(2, 4, 3, **kwargs, rng=rng, dtype="float64")
    theirs = getattr(torch.nn, cls.__name__)(2, 4, 3, **kwargs).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal(shape)
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, want = ours(a, output_size=output_size), theirs(b, output_size=output_size)
    assert y.shape == tuple(want.shape) and y.shape[2:] == tuple(output_size)[-(len(shape) - 2):]
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)
    too_big = [v + 9 for v in output_size]
    with pytest.raises(ValueError):
        theirs(b, output_size=too_big)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: output_size .* is not reachable from "
                                         r"input shape .* must lie in \["):
        ours(a, output_size=too_big)
    with pytest.raises(ValueError, match=r"output_size must be \d ints"):
        ours(a, output_size=[1] * (len(shape) + 1))
