"""F.interpolate / nn.Upsample and the pixel shuffles against PyTorch, with gradient checks."""

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

from .._case_loop import each_case, grid, with_rng
from ._torch_compare import compare

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [
    ((2, 3, 5), dict(scale_factor=2.0, mode="nearest")),
    ((2, 3, 5), dict(size=7, mode="nearest")),
    ((2, 3, 7), dict(size=3, mode="nearest")),
    ((2, 3, 5), dict(scale_factor=1.7, mode="nearest", recompute_scale_factor=True)),
    ((1, 2, 4, 5), dict(scale_factor=(1.5, 2.3), mode="nearest")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="nearest")),
    ((1, 2, 4, 5), dict(scale_factor=1.3, mode="nearest-exact")),
    ((2, 3, 5), dict(scale_factor=1.7, mode="linear")),
    ((2, 3, 5), dict(size=9, mode="linear", align_corners=True)),
    ((2, 3, 6), dict(size=4, mode="linear", align_corners=False)),
    ((1, 2, 4, 5), dict(scale_factor=2.0, mode="bilinear", align_corners=False)),
    ((1, 2, 4, 5), dict(size=(6, 3), mode="bilinear", align_corners=True)),
    ((1, 2, 3, 4), dict(scale_factor=(1.5, 0.6), mode="bilinear")),
    ((1, 2, 3, 4), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
    ((1, 2, 1, 4), dict(size=(1, 1), mode="bilinear", align_corners=True)),
    ((2, 3, 7), dict(size=3, mode="area")),
    ((1, 2, 5, 7), dict(scale_factor=(0.6, 1.5), mode="area")),
    ((1, 2, 4, 5), dict(scale_factor=2.0, mode="bicubic")),
    ((1, 2, 5, 4), dict(size=(3, 7), mode="bicubic", align_corners=True)),
    ((1, 2, 5, 6), dict(scale_factor=(0.7, 1.3), mode="bicubic", recompute_scale_factor=True)),
    ((1, 2, 3, 4, 5), dict(scale_factor=(1.5, 2.0, 0.6), mode="trilinear")),
    ((1, 2, 3, 4, 2), dict(size=(5, 2, 3), mode="trilinear", align_corners=True)),
    ((1, 2, 3, 4, 2), dict(scale_factor=(1.7, 2.0, 1.0), mode="nearest")),
    ((1, 2, 3, 4, 5), dict(size=(2, 6, 5), mode="nearest-exact")),
    ((1, 2, 5, 4, 6), dict(size=(2, 3, 4), mode="area")),
]


def _interpolate_matches_torch_case(rng, shape, kw):
    x = rng.standard_normal(shape)
    compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [x], rng)


def test_interpolate_matches_torch():
    each_case(with_rng(_interpolate_matches_torch_case), grid(
        ("shape, kw", CASES, [f"{s}-{k}" for s, k in CASES]),
    ))


@pytest.mark.kernel_free
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_float32_matches_torch(rng, mode):
    x = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    y = F.interpolate(cr.tensor(x), scale_factor=1.7, mode=mode)
    want = TF.interpolate(torch.tensor(x), scale_factor=1.7, mode=mode)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.kernel_free
def test_interpolate_keeps_a_same_size_axis_and_doubles_by_pytorchs_rule():
    """PyTorch copies an axis whose size does not change and maps a doubled axis by i // 2,
    whatever scale_factor gave those sizes (here 1.3 and 2.2)."""
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    for kw in (dict(scale_factor=1.3), dict(scale_factor=2.2),
               dict(scale_factor=1.3, mode="bilinear")):
        y = F.interpolate(cr.tensor(x), **kw)
        np.testing.assert_array_equal(y.numpy(), TF.interpolate(torch.tensor(x), **kw).numpy())


@pytest.mark.kernel_free
def test_interpolate_nearest_1d_has_no_kept_or_doubled_shortcut():
    """PyTorch's 1-D nearest kernel takes floor(i / scale_factor) even where the size is kept or
    doubled (its 2-D kernel copies / halves): length 3 by 1.2 gives [0, 0, 1], by 2.2
    [0, 0, 0, 1, 1, 2] (chainrule gave [0, 1, 2] and [0, 0, 1, 1, 2, 2])."""
    x = np.arange(6.0).reshape(2, 1, 3)
    for s in (1.05, 1.2, 2.05, 2.2):
        y = F.interpolate(cr.tensor(x), scale_factor=s)
        np.testing.assert_array_equal(y.numpy(),
                                      TF.interpolate(torch.tensor(x), scale_factor=s).numpy())


@pytest.mark.kernel_free
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_interpolate_nearest_1d_picks_pytorchs_indices_for_every_size(dtype, mode):
    """PyTorch's 1-D nearest kernels compute positions in the input's precision (float32 for
    float32, with (i + 0.5) * scale - 0.5 fused), rounded to float32 before the floor; chainrule
    used float32 throughout, so e.g. float64 length 8 -> 47 "nearest-exact" took index 3 at
    position 23 where PyTorch takes 4."""
    for n in range(1, 30):
        x = np.arange(n, dtype=dtype).reshape(1, 1, n)
        for out in range(1, 70):
            got = F.interpolate(cr.tensor(x), size=out, mode=mode).numpy()
            want = TF.interpolate(torch.tensor(x), size=out, mode=mode).numpy()
            np.testing.assert_array_equal(got, want, err_msg=f"length {n} -> {out}")


@pytest.mark.kernel_free
def test_bicubic_matches_torch_for_every_size_in_both_precisions():
    """Bicubic (ViT position tables resized, timm's resize) was NotImplementedError. Its
    source positions are not clamped at 0 and their floor is taken in float32 (floorf), as in
    PyTorch; edge taps repeat the border; it may overshoot the input's range."""
    rng = np.random.default_rng(3)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        for n in range(1, 7):
            for out in range(1, 11):
                x = rng.standard_normal((1, 2, n, n + 1)).astype(dtype)
                for ac in (False, True):
                    kw = dict(size=(out, out + 2), mode="bicubic", align_corners=ac)
                    got = F.interpolate(cr.tensor(x), **kw).numpy()
                    want = TF.interpolate(torch.tensor(x), **kw).numpy()
                    assert got.dtype == dtype
                    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.kernel_free
def test_nearest_3d_has_no_kept_or_doubled_shortcut_like_1d():
    """PyTorch's 3-D nearest kernel, like its 1-D one, takes floor(i / scale) everywhere."""
    x = np.arange(3.0).reshape(1, 1, 3, 1, 1)
    for s in (1.05, 1.2, 2.05, 2.2):
        kw = dict(scale_factor=(s, 1.0, 1.0))
        np.testing.assert_array_equal(F.interpolate(cr.tensor(x), **kw).numpy(),
                                      TF.interpolate(torch.tensor(x), **kw).numpy())


@pytest.mark.parametrize("kw", [dict(scale_factor=1.5, mode="nearest"),
                                dict(size=(5, 3), mode="bilinear", align_corners=True),
                                dict(scale_factor=1.7, mode="bilinear"),
                                dict(scale_factor=1.6, mode="bicubic"),
                                dict(size=(2, 6), mode="bicubic", align_corners=True)])
def test_interpolate_gradcheck(rng, kw):
    x = cr.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert cr.gradcheck(lambda a: F.interpolate(a, **kw), [x])
    assert cr.gradgradcheck(lambda a: F.interpolate(a, **kw) ** 2, [x])


def test_trilinear_gradcheck(rng):
    x = cr.tensor(rng.standard_normal((1, 1, 2, 3, 2)), requires_grad=True)
    assert cr.gradcheck(lambda a: F.interpolate(a, scale_factor=(1.5, 1.0, 2.0),
                                                mode="trilinear"), [x])
    assert cr.gradgradcheck(lambda a: F.interpolate(a, size=(3, 2, 3), mode="trilinear",
                                                    align_corners=True) ** 2, [x])


def test_upsample_layers_match_torch(rng):
    x = rng.standard_normal((1, 2, 3, 4))
    pairs = [
        (nn.Upsample(scale_factor=2, mode="bilinear"),
         torch.nn.Upsample(scale_factor=2, mode="bilinear")),
        (nn.Upsample((5, 6)), torch.nn.Upsample((5, 6))),
        (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
        (nn.UpsamplingBilinear2d((4, 7)), torch.nn.UpsamplingBilinear2d((4, 7))),
    ]
    for ours, theirs in pairs:
        compare(ours, theirs, [x], rng)
    for kw in (dict(scale_factor=2, mode="bilinear"), dict(scale_factor=(2, 3)), dict(size=4),
               dict(size=(4, 5), mode="bilinear")):
        assert repr(nn.Upsample(**kw)) == repr(torch.nn.Upsample(**kw))


@pytest.mark.kernel_free
@pytest.mark.parametrize("r, shape", [(2, (2, 8, 3, 4)), (3, (9, 2, 2)), (2, (1, 2, 4, 3, 5))])
def test_pixel_shuffle_matches_torch_and_inverts(rng, r, shape):
    x = rng.standard_normal(shape)
    y = compare(lambda a: F.pixel_shuffle(a, r), lambda a: TF.pixel_shuffle(a, r), [x], rng)
    compare(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), [y.numpy()], rng)
    np.testing.assert_array_equal(F.pixel_unshuffle(y, r).numpy(), x)
    compare(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), [x], rng)
    t = cr.tensor(x, requires_grad=True)
    assert cr.gradcheck(lambda a: F.pixel_shuffle(a, r) ** 2, [t])


@pytest.mark.kernel_free
def test_signatures_follow_pytorch():
    assert list(inspect.signature(F.interpolate).parameters) == [
        "input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
        "antialias"]
    assert list(inspect.signature(nn.Upsample).parameters) == [
        "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"]
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    # positional: size, scale_factor, mode, align_corners
    np.testing.assert_allclose(
        F.interpolate(cr.tensor(x), None, 2.0, "bilinear", True).numpy(),
        TF.interpolate(torch.tensor(x), None, 2.0, "bilinear", True).numpy(), rtol=1e-12)


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda x: F.interpolate(x, scale_factor=2, mode="cubic"), NotImplementedError, "'cubic'"),
    (lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"), ValueError,
     r"mode 'trilinear' needs 5-D input, got shape \(1, 1, 3, 4\)"),
    (lambda x: F.interpolate(x[0], scale_factor=2, mode="bicubic"), ValueError,
     r"mode 'bicubic' needs 4-D input"),
    (lambda x: F.interpolate(x, scale_factor=2, antialias=True, mode="nearest"),
     ValueError, "antialias=True is for modes 'bilinear', 'bicubic' and 'lanczos' with 4-D input"),
    (lambda x: F.interpolate(x[0], scale_factor=2, antialias=True, mode="linear"),
     ValueError, r"got mode 'linear' and shape \(1, 3, 4\)"),
    (lambda x: F.interpolate(x), ValueError, "exactly one of size and scale_factor"),
    (lambda x: F.interpolate(x, 3, 2.0), ValueError, "exactly one of size and scale_factor"),
    (lambda x: F.interpolate(x, scale_factor=2, align_corners=True), ValueError,
     "align_corners is for modes"),
    (lambda x: F.interpolate(x, scale_factor=2, mode="linear"), ValueError,
     r"mode 'linear' needs 3-D input, got shape \(1, 1, 3, 4\)"),
    (lambda x: F.interpolate(x, size=(2, 0)), ValueError, r"size must be .* got \(2, 0\)"),
    (lambda x: F.interpolate(x, scale_factor=(2.0,)), ValueError, "scale_factor must be"),
    (lambda x: F.interpolate(x, scale_factor=0.1), ValueError, "every output size must be"),
    (lambda x: F.interpolate(x[0, 0], scale_factor=2), ValueError, r"got shape \(3, 4\)"),
    (lambda x: F.pixel_shuffle(x, 2), ValueError, r"\(\*, C \* 4, H, W\).*\(1, 1, 3, 4\)"),
    (lambda x: F.pixel_unshuffle(x, 2), ValueError, r"got shape \(1, 1, 3, 4\)"),
    (lambda x: F.pixel_shuffle(x, 0), ValueError, "upscale_factor must be a positive int"),
]


def _bad_arguments_are_named_case(call, err, match):
    with pytest.raises(err, match=match):
        call(cr.tensor(np.zeros((1, 1, 3, 4))))


@pytest.mark.kernel_free
def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid(("call, err, match", _BAD_ARGUMENTS_ARE_NAMED)))


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["upsample", "upsample_nearest", "upsample_bilinear"])
def test_deprecated_upsample_functions_warn_and_match_torch(rng, name):
    x = rng.standard_normal((1, 2, 3, 4))
    with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
        ours = getattr(F, name)(cr.tensor(x), None, 1.5)
    with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
        want = getattr(TF, name)(torch.tensor(x), None, 1.5)
    np.testing.assert_allclose(ours.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    assert list(inspect.signature(getattr(F, name)).parameters) == \
        list(inspect.signature(getattr(TF, name)).parameters)


@pytest.mark.kernel_free
@pytest.mark.parametrize("shape, g", [((2, 6, 3), 3), ((1, 8, 2, 3), 2), ((2, 4, 1, 2, 2), 4)])
def test_channel_shuffle_matches_torch(rng, shape, g):
    x = rng.standard_normal(shape)
    compare(lambda a: F.channel_shuffle(a, g), lambda a: TF.channel_shuffle(a, g), [x], rng)
    compare(nn.ChannelShuffle(g), torch.nn.ChannelShuffle(g), [x], rng)
    assert repr(nn.ChannelShuffle(g)) == repr(torch.nn.ChannelShuffle(g))
    t = cr.tensor(x, requires_grad=True)
    assert cr.gradcheck(lambda a: F.channel_shuffle(a, g) ** 2, [t])
    with pytest.raises(ValueError, match=r"divisible by groups=4, got shape \(1, 6, 2\)"):
        F.channel_shuffle(cr.tensor(np.zeros((1, 6, 2))), 4)
