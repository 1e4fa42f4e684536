"""Fuzz wave 14, continued (see test_fuzz14_convpool.py): what the option matrix found beyond
it. ``F.unfold``/``F.fold`` refused complex input (a TypeError), which PyTorch's take; ``F.pad``
refused pads given as NumPy ints (``pad = (k - 1) // 2`` of a NumPy kernel size) or 0-d integer
tensors, and ``interpolate`` a ``size`` of 0-d integer tensors, both taken by PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("kw", [dict(kernel_size=2),
                                dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
                                dict(kernel_size=3, padding=(0, 2), stride=2)])
@pytest.mark.parametrize("batched", [True, False])
def test_complex_unfold_and_fold_against_pytorch(kw, batched):
    rng = np.random.default_rng(1460)
    shape = (2, 3, 5, 6) if batched else (3, 5, 6)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    found = []
    for lib in (torch, cr):
        t = lib.tensor(x, requires_grad=True)
        cols = lib.nn.functional.unfold(t, **kw)
        w = lib.tensor(np.random.default_rng(1).standard_normal(tuple(cols.shape)) * (1 - 0.5j))
        image = lib.nn.functional.fold(cols * w, (5, 6), **kw)
        (image * image.conj()).real.sum().backward()  # a real loss of complex values
        found.append([a.detach().numpy() for a in (cols, image, t.grad)])
    for what, ours, theirs in zip(("unfold", "fold", "gradient"), found[1], found[0]):
        assert ours.dtype == theirs.dtype == np.complex128, what
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=what)


def test_unfold_and_fold_still_refuse_integers():
    x = cr.arange(16).reshape(1, 1, 4, 4)  # PyTorch's im2col/col2im refuse int64 too
    with pytest.raises(TypeError, match="unfold: input must have a floating-point dtype"):
        cr.nn.functional.unfold(x, 2)
    with pytest.raises(TypeError, match="fold: input must have a floating-point dtype"):
        cr.nn.functional.fold(x.reshape(1, 4, 4), 3, 2)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_takes_numpy_and_tensor_ints_as_pytorch(mode):
    x = np.random.default_rng(1461).standard_normal((1, 2, 5, 5))
    for pad in [(np.int64(1), 1, np.int32(2), -1), (np.int64(2), np.int64(0), 1, 1)]:
        for wrap in (None, "tensor"):
            ours = tuple(cr.tensor(int(p)) if wrap else p for p in pad)
            theirs = tuple(torch.tensor(int(p)) if wrap else p for p in pad)
            want = torch.nn.functional.pad(torch.tensor(x), theirs, mode=mode).numpy()
            got = cr.nn.functional.pad(cr.tensor(x), ours, mode=mode).numpy()
            np.testing.assert_array_equal(got, want, err_msg=f"{pad} {wrap}")
    for bad in [(1.0, 1, 0, 0), (True, 1, 0, 0), (cr.tensor(1.0), 1, 0, 0)]:  # refused by both
        with pytest.raises(ValueError, match="pad: pads must be ints"):
            cr.nn.functional.pad(cr.tensor(x), bad, mode=mode)


def test_interpolate_takes_a_size_of_numpy_and_tensor_ints_as_pytorch():
    x = np.random.default_rng(1462).standard_normal((1, 2, 5, 5))
    for ours, theirs in [((np.int64(3), 7), (np.int64(3), 7)), (np.int64(4), np.int64(4)),
                         ((cr.tensor(3), cr.tensor(8)), (torch.tensor(3), torch.tensor(8)))]:
        for mode in ("nearest", "bilinear"):
            want = torch.nn.functional.interpolate(torch.tensor(x), size=theirs, mode=mode)
            got = cr.nn.functional.interpolate(cr.tensor(x), size=ours, mode=mode)
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="interpolate: size must be a positive int"):
        cr.nn.functional.interpolate(cr.tensor(x), size=(3.0, 4))


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_reads_the_first_rows_of_longer_samples_as_pytorch(nd):
    # PyTorch's takes _random_samples with at least N rows (the first N are read); chainrule's
    # asked for exactly N. Fewer rows, other channels or another last size stay refused.
    rng = np.random.default_rng(1463)
    x = rng.standard_normal((2, 3) + (6,) * nd)
    name = f"fractional_max_pool{nd}d"
    for rows in (2, 3, 5):
        s = rng.random((rows, 3, nd))
        want = getattr(torch.nn.functional, name)(torch.tensor(x), 2, output_size=3,
                                                  _random_samples=torch.tensor(s))
        got = getattr(cr.nn.functional, name)(cr.tensor(x), 2, output_size=3,
                                              _random_samples=cr.tensor(s))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    for shape in [(1, 3, nd), (2, 2, nd), (2, 3, nd + 1), (6, nd)]:
        with pytest.raises(RuntimeError):
            getattr(torch.nn.functional, name)(torch.tensor(x), 2, output_size=3,
                                               _random_samples=torch.rand(*shape).double())
        with pytest.raises(ValueError, match="_random_samples must have shape"):
            getattr(cr.nn.functional, name)(cr.tensor(x), 2, output_size=3,
                                            _random_samples=cr.tensor(rng.random(shape)))


def _pool_calls(lib):
    f = lib.nn.functional
    one, two = lib.ones(1, 2, 6, dtype=lib.float64), lib.ones(1, 2, 6, 6, dtype=lib.float64)
    three = lib.ones(1, 2, 4, 4, 4, dtype=lib.float64)
    pooled, idx = f.max_pool2d(two, 2, return_indices=True)
    yield "max_pool1d", lambda: f.max_pool1d(input=one, kernel_size=2, stride=2)
    yield "max_pool2d", lambda: f.max_pool2d(input=two, kernel_size=2, return_indices=True)[0]
    yield "max_pool3d", lambda: f.max_pool3d(input=three, kernel_size=2, padding=1)
    yield "avg_pool1d", lambda: f.avg_pool1d(input=one, kernel_size=3, ceil_mode=True)
    yield "avg_pool2d", lambda: f.avg_pool2d(input=two, kernel_size=2, divisor_override=3)
    yield "avg_pool3d", lambda: f.avg_pool3d(input=three, kernel_size=2)
    yield "lp_pool1d", lambda: f.lp_pool1d(input=one, norm_type=2, kernel_size=2)
    yield "lp_pool2d", lambda: f.lp_pool2d(input=two, norm_type=3, kernel_size=2)
    yield "lp_pool3d", lambda: f.lp_pool3d(input=three, norm_type=1, kernel_size=2)
    for d, x in ((1, one), (2, two), (3, three)):
        yield f"adaptive_avg_pool{d}d", lambda d=d, x=x: getattr(f, f"adaptive_avg_pool{d}d")(
            input=x, output_size=3)
        yield f"adaptive_max_pool{d}d", lambda d=d, x=x: getattr(f, f"adaptive_max_pool{d}d")(
            input=x, output_size=3, return_indices=False)
    yield "max_unpool2d", lambda: f.max_unpool2d(input=pooled, indices=idx, kernel_size=2,
                                                 output_size=(6, 6))
    yield "local_response_norm", lambda: f.local_response_norm(input=two, size=3)


def test_pools_take_pytorchs_input_keyword():
    # F.max_pool2d(input=x, ...) and the rest were a TypeError (their first argument was x)
    theirs, ours = dict(_pool_calls(torch)), dict(_pool_calls(cr))
    for name, call in theirs.items():
        np.testing.assert_allclose(ours[name]().numpy(), call().numpy(), rtol=1e-12,
                                   err_msg=name)


def _unet(lib):
    """A small encoder-decoder through most of the option matrix at once."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inc = nn.Conv2d(3, 8, 3, padding="same", padding_mode="reflect")
            self.down = nn.MaxPool2d(2, return_indices=True)
            self.mid = nn.Conv2d(8, 12, 3, padding=1, groups=4, bias=False)
            self.up = nn.ConvTranspose2d(12, 8, 2, stride=2)
            self.unpool = nn.MaxUnpool2d(2)
            self.shuffle = nn.PixelShuffle(2)
            self.post = nn.Conv2d(2, 4, (3, 1), dilation=(2, 1), padding=(2, 0),
                                  padding_mode="circular")
            self.pool, self.lp = nn.AdaptiveAvgPool2d((3, None)), nn.LPPool2d(2, 2, ceil_mode=True)

        def forward(self, x):
            h = F.relu(self.inc(x))
            d, idx = self.down(h)
            m = F.leaky_relu(self.mid(F.pad(d, (1, 0, 0, 1), mode="replicate")[..., 1:, :-1]))
            s = self.up(m, output_size=h.shape) + self.unpool(d, idx, output_size=h.size())
            q = self.post(self.shuffle(s))
            return self.pool(q).sum((1, 2)), self.lp(q.abs() + 0.1)
    return Net()


@pytest.mark.parametrize("seed", range(2))
def test_an_encoder_decoder_ported_from_pytorch(seed):
    from ._fuzz8_port import compare_module

    torch.manual_seed(seed)
    x = np.random.default_rng(seed).standard_normal((2, 3, 7, 9))
    compare_module(_unet(torch), _unet(cr), [x], np.random.default_rng(seed), steps=2)
