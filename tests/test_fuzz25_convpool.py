"""Fuzz wave 25, convolutions and pools: the parts of PyTorch's convolution layers that subclasses
and wrappers use (``_conv_forward``, ``_output_padding`` with PyTorch's arguments,
``_reversed_padding_repeated_twice``, ``transposed``), against PyTorch's."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _loaded(lib, m):
    """``m`` in float64 with the same weights in both libraries."""
    m = m.double()
    rng = np.random.default_rng(25)
    m.load_state_dict({k: lib.tensor(rng.standard_normal(tuple(v.shape)))
                       for k, v in m.state_dict().items()})
    return m


def _subclasses(lib):
    F = lib.nn.functional

    class AzimuthConv(lib.nn.Conv2d):  # circular along W, zeros along H (a LiDAR range image)
        def _conv_forward(self, input, weight, bias):  # noqa: A002
            r = self._reversed_padding_repeated_twice
            x = F.pad(F.pad(input, (r[0], r[1], 0, 0), mode="circular"), (0, 0, r[2], r[3]))
            return F.conv2d(x, weight, bias, self.stride, 0, self.dilation, self.groups)

    class LoRAConv(lib.nn.Module):  # microsoft/LoRA's ConvLoRA: the layer's own convolution
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")
            self.delta = lib.nn.Parameter(lib.full((3, 2, 3, 3), 0.1, dtype=lib.float64))

        def forward(self, x):
            return self.conv._conv_forward(x, self.conv.weight + self.delta, self.conv.bias)

    class CenteredConvTranspose(lib.nn.ConvTranspose2d):  # a weight-standardized decoder layer
        def forward(self, x, output_size=None):
            extra = self._output_padding(x, output_size, self.stride, self.padding,
                                         self.kernel_size, 2, self.dilation)
            w = self.weight - self.weight.mean()
            return F.conv_transpose2d(x, w, self.bias, self.stride, self.padding, extra,
                                      self.groups, self.dilation)

    return (_loaded(lib, AzimuthConv(2, 3, (3, 5), padding=(1, 2))), _loaded(lib, LoRAConv()),
            _loaded(lib, CenteredConvTranspose(2, 3, 3, stride=2, padding=1, dilation=2)))


def _outputs(lib):
    az, lora, up = _subclasses(lib)
    x = lib.tensor(np.random.default_rng(0).standard_normal((2, 2, 5, 6)), requires_grad=True)
    ys = [az(x), lora(x), up(x), up(x, output_size=[12, 14]), up(x[0], output_size=[11, 13])]
    sum((y * y).sum() for y in ys).backward()
    return [y.detach().numpy() for y in ys] + [x.grad.numpy(), lora.delta.grad.numpy()]


def test_subclasses_overriding_or_calling_conv_forward_as_in_pytorch():
    # before: forward never called _conv_forward, so a subclass's override was silently
    # ignored (AzimuthConv padded zeros on every side); calling it (LoRA) and _output_padding
    # with PyTorch's arguments raised
    for ours, theirs in zip(_outputs(cr), _outputs(torch), strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_padding_fields_as_pytorchs():
    cases = [("Conv2d", (1, 1, (3, 5)), dict(padding=(1, 2))),
             ("Conv3d", (1, 1, (2, 3, 4)), dict(padding="same", dilation=(1, 2, 3))),
             ("Conv1d", (1, 1, 4), dict(padding="same")),
             ("Conv1d", (1, 1, 3), dict(padding="valid")),
             ("ConvTranspose2d", (1, 1, 3), dict(padding=(2, 1), output_padding=1, stride=2))]
    for name, args, kw in cases:
        ours, theirs = getattr(cr.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
        assert ours._reversed_padding_repeated_twice == theirs._reversed_padding_repeated_twice
        assert ours.transposed is theirs.transposed
        if theirs.transposed:
            x = torch.zeros(1, 1, 3, 4)
            assert ours._output_padding(cr.zeros(1, 1, 3, 4), None, ours.stride, ours.padding,
                                        ours.kernel_size, 2) == theirs._output_padding(
                x, None, theirs.stride, theirs.padding, theirs.kernel_size, 2)
            for size in ([4, 8], [1, 1, 3, 7], (4, 7)):  # no dilation given: 1, as PyTorch's
                assert ours._output_padding(cr.zeros(1, 1, 3, 4), size, (2, 2), (2, 1), (3, 3),
                                            2) == theirs._output_padding(
                    x, size, (2, 2), (2, 1), (3, 3), 2)


def test_fuse_leaves_a_layer_with_its_own_conv_forward():
    conv = cr.nn.Conv1d(1, 1, 3, padding=1, bias=False)
    conv.weight.data.fill_(1.0)

    def _conv_forward(self, input, weight, bias):  # noqa: A002 - circular padding by hand
        x = cr.nn.functional.pad(input, (1, 1), mode="circular")
        return cr.nn.functional.conv1d(x, weight, bias)

    conv._conv_forward = _conv_forward.__get__(conv)
    model = cr.nn.fuse(cr.nn.Sequential(conv, cr.nn.ReLU()))
    y = model(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]))
    assert y.tolist() == [[[7.0, 6.0, 9.0, 8.0]]]  # the circular sums, as before fusing


def test_pooling_conv_fold_and_pixelshuffle_paths_as_pytorchs():
    # before: only nine pools and the plain convolutions were there, so
    # ``from torch.nn.modules.pooling import _MaxPoolNd`` or ``...fold import Fold`` failed
    from chainrule.nn.modules.conv import LazyConv2d, _ConvTransposeNd
    from chainrule.nn.modules.fold import Unfold
    from chainrule.nn.modules.pixelshuffle import PixelShuffle
    from chainrule.nn.modules.pooling import (
        LPPool2d,
        _AdaptiveMaxPoolNd,
        _AvgPoolNd,
        _LPPoolNd,
        _MaxPoolNd,
        _MaxUnpoolNd,
    )

    assert (LazyConv2d, Unfold, PixelShuffle, LPPool2d) == (
        cr.nn.LazyConv2d, cr.nn.Unfold, cr.nn.PixelShuffle, cr.nn.LPPool2d)
    layers = [cr.nn.MaxPool1d(2), cr.nn.MaxPool3d(2), cr.nn.AvgPool2d(2), cr.nn.MinPool2d(2),
              cr.nn.AdaptiveMaxPool2d(1), cr.nn.AdaptiveAvgPool2d(1), cr.nn.LPPool1d(2, 2),
              cr.nn.MaxUnpool2d(2), cr.nn.ConvTranspose1d(1, 1, 1), cr.nn.Conv1d(1, 1, 1)]
    bases = [_MaxPoolNd, _AvgPoolNd, _AdaptiveMaxPoolNd, _LPPoolNd, _MaxUnpoolNd,
             _ConvTransposeNd]
    ours = [[isinstance(m, b) for b in bases] for m in layers]
    tm = torch.nn.modules
    theirs = [[isinstance(m, b) for b in (
        tm.pooling._MaxPoolNd, tm.pooling._AvgPoolNd, tm.pooling._AdaptiveMaxPoolNd,
        tm.pooling._LPPoolNd, tm.pooling._MaxUnpoolNd, tm.conv._ConvTransposeNd)]
        for m in (torch.nn.MaxPool1d(2), torch.nn.MaxPool3d(2), torch.nn.AvgPool2d(2),
                  torch.nn.Identity(), torch.nn.AdaptiveMaxPool2d(1),
                  torch.nn.AdaptiveAvgPool2d(1), torch.nn.LPPool1d(2, 2),
                  torch.nn.MaxUnpool2d(2), torch.nn.ConvTranspose1d(1, 1, 1),
                  torch.nn.Conv1d(1, 1, 1))]
    assert ours == theirs


def _integer_arguments(lib):
    F, x = lib.nn.functional, lib.tensor(np.arange(100.0).reshape(1, 4, 5, 5))
    w2 = lib.tensor(np.linspace(-1, 1, 36).reshape(4, 1, 3, 3))
    w3 = lib.ones(4, 2, 2, 2, 2, dtype=lib.float64)
    v = lib.tensor(np.arange(108.0).reshape(1, 4, 3, 3, 3))
    return [F.conv2d(x, w2, groups=np.int64(4)),
            F.conv1d(x[:, :, 0], w2[:, :, 0], groups=np.int32(4)),
            F.conv_transpose2d(x, w2, groups=lib.tensor(4)),
            F.conv_transpose3d(v, w3, groups=lib.tensor(2)), F.conv3d(v, w3, groups=np.int64(2)),
            F.avg_pool2d(x, 2, divisor_override=np.int64(3)),
            F.avg_pool3d(v, 2, divisor_override=lib.tensor(3)),
            lib.nn.AvgPool2d(3, 1, 1, divisor_override=np.int32(5))(x)]


def test_groups_and_divisor_override_take_numpy_and_tensor_ints_as_pytorch():
    # before: "groups must be a positive int, got np.int64(4)" (and for divisor_override)
    for ours, theirs in zip(_integer_arguments(cr), _integer_arguments(torch), strict=True):
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="groups must be a positive int, got True"):
        cr.nn.functional.conv2d(cr.ones(1, 1, 3, 3), cr.ones(1, 1, 1, 1), groups=True)
    with pytest.raises(ValueError, match="divisor_override must be a positive int or None, got "
                                         "2.0"):
        cr.nn.functional.avg_pool2d(cr.ones(1, 1, 3, 3), 2, divisor_override=2.0)


def _custom_inits(lib):
    class Halves(lib.nn.Conv2d):  # PyTorch's signature: the constructor calls it
        def reset_parameters(self):
            lib.nn.init.constant_(self.weight, 0.5)
            lib.nn.init.zeros_(self.bias)

    class Silent(lib.nn.ConvTranspose1d):  # the default init, then scaled
        def reset_parameters(self):
            super().reset_parameters()
            with lib.no_grad():
                self.weight.mul_(0)

    class Quarters(lib.nn.LazyConv2d):
        def reset_parameters(self):
            if not self.has_uninitialized_params():
                lib.nn.init.constant_(self.weight, 0.25)

    lazy = Quarters(2, 3, bias=False)
    lazy(lib.ones(1, 4, 5, 5))
    return [m.weight.sum().item() for m in (Halves(1, 2, 3), Silent(2, 3, 2), lazy)]


def test_reset_parameters_without_rng_and_overridden_as_in_pytorch():
    # before: a subclass's reset_parameters(self) made the constructor raise "got an unexpected
    # keyword argument 'rng'", and conv.reset_parameters() raised "missing 1 required
    # keyword-only argument: 'rng'"
    assert _custom_inits(cr) == _custom_inits(torch) == [9.0, 0.0, 18.0]
    conv = cr.nn.Conv2d(2, 3, 3)
    cr.manual_seed(7)
    conv.reset_parameters()  # the default generator, as cr.manual_seed seeds it
    first = conv.weight.detach().numpy().copy()
    cr.manual_seed(7)
    conv.reset_parameters()
    np.testing.assert_array_equal(conv.weight.detach().numpy(), first)
    bound = 1 / np.sqrt(2 * 3 * 3)  # kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), ...)
    assert 0 < np.abs(first).max() <= bound and np.abs(conv.bias.detach().numpy()).max() <= bound


def _direct_subclasses(lib):
    from importlib import import_module

    _ConvNd = import_module(f"{lib.__name__}.nn.modules.conv")._ConvNd  # noqa: N806
    F = lib.nn.functional

    class BinaryConv2d(_ConvNd):  # PyTorch's positional arguments, device and dtype too
        def __init__(self, cin, cout, device=None, dtype=None):
            super().__init__(cin, cout, (3, 3), (1, 1), (1, 1), (1, 1), False, (0, 0), 1, True,
                             "circular", device, dtype)

        def forward(self, x):
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(x, self.weight.sign(), self.bias, self.stride, 0)

    class Up(_ConvNd):
        def __init__(self):
            super().__init__(2, 4, (3,), (2,), (1,), (1,), True, (1,), 2, False, "zeros",
                             dtype=lib.float64)

        def forward(self, x):
            return F.conv_transpose1d(x, self.weight, None, self.stride, self.padding,
                                      self.output_padding, self.groups)

    return _loaded(lib, BinaryConv2d(2, 3, None, lib.float64)), _loaded(lib, Up())


def test_subclasses_of_convnd_itself_build_as_in_pytorch():
    # before: _ConvNd took (in, out, kernel_size, stride, padding, dilation, groups, bias,
    # output_padding, rng, dtype), so PyTorch's (..., dilation, transposed, output_padding,
    # groups, bias, padding_mode) failed ("groups must be positive, got False")
    outs = {}
    for lib in (cr, torch):
        conv, up = _direct_subclasses(lib)
        x = lib.tensor(np.random.default_rng(1).standard_normal((2, 2, 4, 5)), requires_grad=True)
        ys = [conv(x), up(x[:, :, 0])]
        sum((y * y).sum() for y in ys).backward()
        outs[lib] = [tuple(conv.weight.shape), tuple(up.weight.shape), up.transposed,
                     repr(conv)] + [y.detach().numpy() for y in ys] + [x.grad.numpy()]
    assert outs[cr][:4] == outs[torch][:4]
    for ours, theirs in zip(outs[cr][4:], outs[torch][4:], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                  "conv_transpose2d", "conv_transpose3d"])
def test_a_bias_weight_or_input_that_is_no_tensor_is_named(name):
    # before: AttributeError: 'bool' object has no attribute 'shape' (F.conv2d(x, w, False))
    nd = int(name[-2])
    x, w = cr.ones((1, 2) + (3,) * nd), cr.ones((2, 2) + (2,) * nd)
    f = getattr(cr.nn.functional, name)
    for bad in (False, 0.5, [1.0, 2.0]):
        with pytest.raises(TypeError, match=f"{name}: bias must be a Tensor or None, got "
                                            f"{type(bad).__name__}"):
            f(x, w, bad)
    with pytest.raises(TypeError, match=f"{name}: weight must be a Tensor, got list"):
        f(x, [[1.0]])
    with pytest.raises(TypeError, match=f"{name}: input must be a Tensor, got float"):
        f(1.0, w)
    np.testing.assert_array_equal(f(x, w, np.ones(2, np.float32)).numpy(), f(x, w, cr.ones(
        2)).numpy())  # a NumPy array still serves as a Tensor would


def test_adaptive_pool_output_size_of_the_wrong_length_is_named():
    # before: IndexError: tuple index out of range for adaptive_avg_pool1d(x, (2, None))
    with pytest.raises(TypeError, match=r"adaptive_avg_pool1d: output_size must be an int or a "
                                        r"tuple of 1 ints, got \(2, None\)"):
        cr.nn.functional.adaptive_avg_pool1d(cr.ones(1, 2, 5), (2, None))
    with pytest.raises(TypeError, match=r"adaptive_max_pool3d: output_size .* got \(None, 2\)"):
        cr.nn.functional.adaptive_max_pool3d(cr.ones(1, 2, 3, 3, 3), (None, 2))


_POOLS = {
    "max_pool1d": lambda F, x: F.max_pool1d(x, 2), "max_pool2d": lambda F, x: F.max_pool2d(x, 2),
    "max_pool3d": lambda F, x: F.max_pool3d(x, 2), "avg_pool1d": lambda F, x: F.avg_pool1d(x, 2),
    "avg_pool2d": lambda F, x: F.avg_pool2d(x, 2, ceil_mode=True),
    "avg_pool3d": lambda F, x: F.avg_pool3d(x, 2), "lp_pool2d": lambda F, x: F.lp_pool2d(x, 2, 2),
    "adaptive_avg_pool2d": lambda F, x: F.adaptive_avg_pool2d(x, 2),
    "adaptive_max_pool3d": lambda F, x: F.adaptive_max_pool3d(x, 2),
    "max_unpool2d": lambda F, x: F.max_unpool2d(x, cr.zeros(1, 1, 1, 1, dtype=cr.int64), 2),
    "pixel_shuffle": lambda F, x: F.pixel_shuffle(x, 2),
    "pixel_unshuffle": lambda F, x: F.pixel_unshuffle(x, 2),
    "channel_shuffle": lambda F, x: F.channel_shuffle(x, 2),
}


@pytest.mark.parametrize("name", sorted(_POOLS))
def test_pools_and_shuffles_of_no_tensor_name_it(name):
    # before: AttributeError: 'NoneType' object has no attribute 'ndim' (or 'shape')
    for bad in (None, 1.5, [[[1.0, 2.0]]]):
        with pytest.raises(TypeError, match=f"{name}: input must be a Tensor, got "
                                            f"{type(bad).__name__}"):
            _POOLS[name](cr.nn.functional, bad)


def test_adaptive_pools_of_an_empty_image_and_fractional_pools_of_an_empty_batch():
    # before: ZeroDivisionError (adaptive max) or "cannot reshape array of size 0" (adaptive
    # average, fractional max pool of an empty batch, which PyTorch returns empty)
    F = cr.nn.functional
    for f in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
        with pytest.raises(ValueError, match=r"non-empty spatial size, got shape \(1, 1, 0, 4\)"):
            f(cr.ones(1, 1, 0, 4), 2)
    with pytest.raises(ValueError, match=r"adaptive_max_pool3d: input must have a non-empty"):
        F.adaptive_max_pool3d(cr.ones(1, 1, 3, 0, 4), 2)
    for lib in (cr, torch):
        x = lib.ones(0, 2, 5, 5, requires_grad=True)
        y, idx = lib.nn.functional.fractional_max_pool2d(x, 2, output_size=3, return_indices=True)
        y.sum().backward()
        assert (tuple(y.shape), tuple(idx.shape), tuple(x.grad.shape)) == (
            (0, 2, 3, 3), (0, 2, 3, 3), (0, 2, 5, 5))
    assert F.fractional_max_pool3d(cr.ones(0, 1, 4, 4, 4), 2, output_size=2).shape == (
        0, 1, 2, 2, 2)


_HALF_CASES = {
    "conv2d": lambda F, x, w: F.conv2d(x, w),
    "conv_transpose2d": lambda F, x, w: F.conv_transpose2d(x, w.transpose(0, 1)),
    "avg_pool2d 3, 1, 1": lambda F, x, w: F.avg_pool2d(x, 3, 1, 1),
    "avg_pool2d 5, 2, 2": lambda F, x, w: F.avg_pool2d(x, 5, 2, 2, count_include_pad=False),
    "adaptive_avg_pool2d": lambda F, x, w: F.adaptive_avg_pool2d(x, 5),
}


@pytest.mark.parametrize("reference", [False, True])
def test_float16_sums_are_as_accurate_as_pytorchs(reference):
    # before: float16 sums were rounded at every term (a transposed convolution, the input and
    # filter gradients, the references' forward, average pools with overlapping windows,
    # adaptive averages with 1/n rounded to float16): errors of 2-4 units in the last place,
    # where PyTorch's CPU kernels sum in float32 and round once
    rng = np.random.default_rng(16)
    x = (rng.random((2, 3, 12, 12)) * 4).astype(np.float16)
    w = (rng.standard_normal((4, 3, 5, 5)) * 0.3).astype(np.float16)
    for name, f in _HALF_CASES.items():
        exact = torch.tensor(x.astype(np.float64), requires_grad=True)
        y = f(torch.nn.functional, exact, torch.tensor(w.astype(np.float64)))
        g = rng.standard_normal(tuple(y.shape)).astype(np.float16)
        y.backward(torch.tensor(g.astype(np.float64)))
        half = cr.tensor(x, requires_grad=True)
        with cr.reference_mode(reference):
            yh = f(cr.nn.functional, half, cr.tensor(w))
            yh.backward(cr.tensor(g))
        assert yh.dtype == cr.float16 and half.grad.dtype == cr.float16
        for ours, want in ((yh, y), (half.grad, exact.grad)):
            want = want.detach().numpy()
            err = np.abs(ours.numpy().astype(np.float64) - want).max() / np.abs(want).max()
            assert err < 5e-4, (name, err)  # PyTorch's float16: 3e-4 to 4e-4 here


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
def test_integer_convolutions_as_pytorchs(dtype):
    # before: "conv2d: input must be floating point, got dtype int64"; PyTorch's CPU
    # convolutions take integers (int8 wrapping around as PyTorch's does)
    rng = np.random.default_rng(8)
    lo, hi = (0, 90) if dtype == "uint8" else (-60, 60)
    x, w, b = (rng.integers(lo, hi, s).astype(dtype) for s in ((2, 4, 6, 5), (4, 2, 3, 3), (4,)))
    cases = [lambda F, x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2),
             lambda F, x, w, b: F.conv1d(x[:, :, 0], w[..., 0], None, 1, 2, 1, 2),
             lambda F, x, w, b: F.conv3d(x[:, :, None], w[:, :, None], b, 1, (0, 1, 1), 1, 2),
             lambda F, x, w, b: F.conv2d(x[0], w, b, 1, 0, 1, 2)]
    if dtype == "int64":  # PyTorch's transposed convolutions take int64 only
        cases.append(lambda F, x, w, b: F.conv_transpose2d(x, w, None, 2, 1, 1, 2))
    for f in cases:
        ours = f(cr.nn.functional, *map(cr.tensor, (x, w, b)))
        theirs = f(torch.nn.functional, *map(torch.tensor, (x, w, b)))
        assert str(ours.dtype) == dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(TypeError, match="conv2d: input must be floating point or integer, got "
                                        "dtype bool"):
        cr.nn.functional.conv2d(cr.ones(1, 1, 3, 3, dtype=cr.bool), cr.ones(1, 1, 2, 2,
                                                                          dtype=cr.bool))


def test_lp_pool_of_integers_names_itself_and_the_dtype():
    # before: "avg_pool2d: input must be floating point, got dtype int64" for a bool input
    for name, shape in (("lp_pool1d", (1, 2, 4)), ("lp_pool2d", (1, 2, 4, 4))):
        for dtype in (cr.bool, cr.int32):
            with pytest.raises(TypeError, match=f"{name}: input must be floating point, got "
                                                f"dtype {dtype}"):
                getattr(cr.nn.functional, name)(cr.ones(*shape, dtype=dtype), 2, 2)


def test_int64_average_pools_truncate_as_pytorchs():
    # before: "avg_pool2d: input must be floating point, got dtype int64"; PyTorch's CPU
    # average pools take int64, each window's sum divided with the quotient truncated to zero
    x = np.random.default_rng(64).integers(-50, 50, (2, 2, 5, 6, 4))
    cases = [("avg_pool1d", x[:, :, 0, :, 0], (3, 2, 1, True, False)),
             ("avg_pool1d", x[0, :, 0, :, 0], (2,)),
             ("avg_pool2d", x[..., 0], (3, 2, 1, True, True)),
             ("avg_pool2d", x[..., 0], ((2, 3), (1, 2), (1, 0), False, False, None)),
             ("avg_pool2d", x[0, ..., 0], (3, 1, 1, True, True, 4)),
             ("avg_pool3d", x, (2, (1, 2, 2), 1, True, False, 3))]
    for name, a, args in cases:
        ours = getattr(cr.nn.functional, name)(cr.tensor(a), *args)
        theirs = getattr(torch.nn.functional, name)(torch.tensor(a), *args)
        assert ours.dtype == cr.int64, name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=f"{name}{args}")
    with pytest.raises(ValueError, match="divisor_override must be a positive int"):
        cr.nn.functional.avg_pool2d(cr.tensor(x[..., 0]), 2, divisor_override=0)


def test_one_entry_settings_and_an_empty_stride_as_pytorchs():
    # before: "max_pool2d: kernel_size must have 2 entries, got (2,)" (also stride, padding,
    # dilation, output_padding of the convolutions, and MaxPool2d((2,))); a pool's stride=[]
    # (PyTorch's default) was refused too
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((3, 3, 2, 2))
    cases = [lambda lib, F, x, w: F.max_pool2d(x, (3,), (2,), (1,), (2,), True, True),
             lambda lib, F, x, w: F.avg_pool2d(x, 3, [], 1, True, False),
             lambda lib, F, x, w: F.max_pool1d(x[:, :, 0], 3, [], 1, 1, True),
             lambda lib, F, x, w: F.avg_pool3d(x[None], (2,), (1,), (1,)),
             lambda lib, F, x, w: F.conv2d(x, w, None, (2,), (1,), (2,)),
             lambda lib, F, x, w: F.conv_transpose2d(x, w, None, (2,), (1,), (1,), 1, (2,)),
             lambda lib, F, x, w: lib.nn.MaxPool2d((3,), (2,), (1,), (2,), True)(x),
             lambda lib, F, x, w: lib.nn.AvgPool2d(2, [])(x)]
    for f in cases:
        ours, theirs = (f(lib, lib.nn.functional, lib.tensor(x), lib.tensor(w)) for lib in (cr,
                                                                                          torch))
        for o, t in zip(*(v if isinstance(v, tuple) else (v,) for v in (ours, theirs))):
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must have 2 entries"):
        cr.nn.functional.adaptive_avg_pool2d(cr.tensor(x), (3,))  # refused, as PyTorch's


def test_lp_pool_takes_a_tensor_norm_type_and_differentiates_it_as_pytorch():
    # before: "lp_pool2d: norm_type must be a nonzero number, got tensor(3.)"; PyTorch's
    # composition x.pow(p) ... .pow(1 / p) takes a 0-d Tensor p (a learned GeM exponent)
    x = np.random.default_rng(3).random((2, 3, 6, 6)) + 0.1
    grads = {}
    for lib in (cr, torch):
        p, xt = lib.tensor(3.0, dtype=lib.float64, requires_grad=True), lib.tensor(x,
                                                                                  requires_grad=True)
        F = lib.nn.functional
        ys = [F.lp_pool2d(xt, p, 2), F.lp_pool1d(xt.flatten(2), p, 3, 2, True),
              F.lp_pool3d(xt[None], p, 2)]
        sum((y * y).sum() for y in ys).backward()
        grads[lib] = [y.detach().numpy() for y in ys] + [p.grad.numpy(), xt.grad.numpy()]
        assert F.lp_pool2d(lib.tensor(x.astype(np.float32)), lib.tensor(2), 2).dtype == \
            lib.float32
    for ours, theirs in zip(grads[cr], grads[torch], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    p = cr.tensor(2.5, dtype=cr.float64, requires_grad=True)
    xs = cr.tensor(x[:1, :1, :4, :4], requires_grad=True)
    assert cr.gradcheck(lambda a, q: cr.nn.functional.lp_pool2d(a, q, 2, 1), (xs, p))
