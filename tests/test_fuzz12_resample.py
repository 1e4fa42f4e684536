"""Fuzz wave 12: resampling against PyTorch's: F.interpolate (every mode, size vs scale_factor,
align_corners, recompute_scale_factor, antialias), F.grid_sample/affine_grid, F.fold/unfold,
pixel_shuffle/unshuffle and F.pad (values, dtypes, float64 gradients, errors).

Before this wave ``grid_sample`` refused ``mode="bicubic"`` and ``padding_mode="reflection"``
(NotImplementedError), and an unknown mode was a NotImplementedError where PyTorch's is a
ValueError; ``F.pad`` refused a negative pad (a crop) in modes other than "constant" (PyTorch's
"reflect"/"replicate" pad, then crop; "circular" crops, then pads); ``interpolate`` refused
uint8 input in modes "nearest" and "nearest-exact", which PyTorch's resizes exactly (images).
"""

import itertools

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case
from ._case_loop import grid as case_grid

torch = pytest.importorskip("torch")
F, TF = cr.nn.functional, torch.nn.functional


def _close(ours, theirs, rtol=1e-7, atol=1e-9):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol)


def _check(ours_fn, theirs_fn, *arrays, seed=0):
    """Values and float64 gradients (of every input) of ours_fn against theirs_fn."""
    ours_in = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    try:
        expected = theirs_fn(*theirs_in)
    except (RuntimeError, ValueError, TypeError, IndexError):
        with pytest.raises((RuntimeError, ValueError, TypeError, IndexError)):
            ours_fn(*ours_in)
        return
    got = ours_fn(*ours_in)
    _close(got, expected)
    w = np.random.default_rng(seed).normal(size=tuple(expected.shape))
    (got * cr.tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    for a, b in zip(ours_in, theirs_in):
        if b.grad is not None and (a.grad is not None or b.grad.abs().sum() > 0):
            _close(a.grad, b.grad)


MODES = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "linear": (3,), "bilinear": (4,),
         "bicubic": (4,), "trilinear": (5,), "area": (3, 4, 5)}
SPATIAL = {3: (5,), 4: (4, 7), 5: (3, 4, 5)}


def _interp_options(ndim):
    sp = ndim - 2
    yield from ({"size": s} for s in [1, 3, 8, (6, 3, 9)[:sp]])
    for sf, rsf in itertools.product([0.5, 1.5, 2, 3.7, (1.5, 0.7, 2.0)[:sp]],
                                     [None, True, False]):
        yield {"scale_factor": sf, "recompute_scale_factor": rsf}


@pytest.mark.parametrize("mode,ndim", [(m, n) for m, dims in MODES.items() for n in dims])
def test_interpolate(mode, ndim):
    rng = np.random.default_rng(ndim)
    x = rng.normal(size=(2, 3) + SPATIAL[ndim])
    corners = [None, True, False] if mode in ("linear", "bilinear", "bicubic", "trilinear") \
        else [None]
    antialias = [False, True] if mode in ("bilinear", "bicubic") else [False]
    for opts, ac, aa in itertools.product(_interp_options(ndim), corners, antialias):
        kw = dict(opts, mode=mode, antialias=aa) | ({} if ac is None else {"align_corners": ac})
        _check(lambda z, kw=kw: F.interpolate(z, **kw), lambda z, kw=kw: TF.interpolate(z, **kw),
               x)


def _interpolate_errors_case(kw):
    x = np.random.default_rng(0).normal(size=(1, 2, 5, 6))
    with pytest.raises((ValueError, RuntimeError, NotImplementedError)):
        TF.interpolate(torch.tensor(x), **kw)
    with pytest.raises((ValueError, TypeError, NotImplementedError)):
        F.interpolate(cr.tensor(x), **kw)


def test_interpolate_errors():
    each_case(_interpolate_errors_case, case_grid(
        ("kw", [
    dict(size=3, scale_factor=2), dict(), dict(size=(3, 4, 5)), dict(mode="linear", size=3),
    dict(mode="nearest", size=3, align_corners=True), dict(mode="bilinear", size=0),
    dict(mode="bilinear", scale_factor=-1.0), dict(mode="bogus", size=3), dict(size=(3,)),
    dict(size=(3, 4), recompute_scale_factor=True),
]),
    ))


def test_interpolate_float32():
    x = np.random.default_rng(1).normal(size=(1, 2, 5, 6)).astype(np.float32)
    for mode in ["nearest", "bilinear", "bicubic", "area", "nearest-exact"]:
        _close(F.interpolate(cr.tensor(x), scale_factor=1.7, mode=mode),
               TF.interpolate(torch.tensor(x), scale_factor=1.7, mode=mode), rtol=1e-5,
               atol=1e-6)


@pytest.mark.parametrize("ndim,mode", [(4, "bilinear"), (4, "nearest"), (4, "bicubic"),
                                       (5, "bilinear"), (5, "nearest")])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample(ndim, mode, padding_mode):
    rng = np.random.default_rng(ndim)
    x = rng.normal(size=(2, 3) + ((4, 5) if ndim == 4 else (3, 4, 5)))
    extreme = np.full((2, 2, 2, ndim - 2) if ndim == 4 else (2, 1, 2, 2, 3), 5.0)
    for ac, grid in itertools.product([False, True], ["random", "outside"]):
        g = rng.uniform(-1.3, 1.3, (2, 3, 4, 2) if ndim == 4 else (2, 2, 3, 4, 3))
        if mode == "nearest":
            g = np.round(g * 7) / 7 + 0.013  # away from ties
        g = extreme * rng.uniform(-1.0, 1.0, extreme.shape) if grid == "outside" else g
        kw = dict(mode=mode, padding_mode=padding_mode, align_corners=ac)
        _check(lambda a, b, kw=kw: F.grid_sample(a, b, **kw),
               lambda a, b, kw=kw: TF.grid_sample(a, b, **kw), x, g)


@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid:UserWarning")
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 3, 1, 5), (2, 1, 3, 4, 5), (2, 3, 1, 1, 1)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(size, align_corners):
    theta = np.random.default_rng(2).normal(size=(2,) + ((2, 3) if len(size) == 4 else (3, 4)))
    _check(lambda t: F.affine_grid(t, size, align_corners=align_corners),
           lambda t: TF.affine_grid(t, size, align_corners=align_corners), theta)


def test_fold_unfold():
    rng = np.random.default_rng(3)
    for insz, k, d, p, s in itertools.product([(5, 6), (7, 3)], [2, (2, 3)], [1, (1, 2)],
                                              [0, (1, 0)], [1, (2, 1)]):
        kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
        x = rng.normal(size=(2, 3) + insz)
        _check(lambda z, kw=kw: F.unfold(z, **kw), lambda z, kw=kw: TF.unfold(z, **kw), x)
        try:
            cols = rng.normal(size=tuple(TF.unfold(torch.tensor(x), **kw).shape))
        except RuntimeError:  # no whole block fits
            continue
        _check(lambda z, kw=kw, insz=insz: F.fold(z, insz, **kw),
               lambda z, kw=kw, insz=insz: TF.fold(z, insz, **kw), cols)
        _check(lambda z, kw=kw, insz=insz: F.fold(z, insz, **kw),
               lambda z, kw=kw, insz=insz: TF.fold(z, insz, **kw), cols[0])


@pytest.mark.parametrize("shape", [(1, 12, 6), (1, 13, 12), (13, 12), (1, 1, 12, 12)])
def test_fold_bad_shapes(shape):
    cols = np.zeros(shape)
    with pytest.raises(RuntimeError):
        TF.fold(torch.tensor(cols), (4, 5), kernel_size=2)
    with pytest.raises(ValueError):
        F.fold(cr.tensor(cols), (4, 5), kernel_size=2)


def test_pixel_shuffle_unshuffle():
    rng = np.random.default_rng(4)
    for r in [1, 2, 3]:
        for shape in [(2, r * r * 2, 3, 4), (r * r, 2, 3), (2, 2, r * r * 3, 2, 2)]:
            _check(lambda z, r=r: F.pixel_shuffle(z, r), lambda z, r=r: TF.pixel_shuffle(z, r),
                   rng.normal(size=shape))
        for shape in [(2, 2, 3 * r, 2 * r), (2, 3 * r, 4 * r)]:
            _check(lambda z, r=r: F.pixel_unshuffle(z, r),
                   lambda z, r=r: TF.pixel_unshuffle(z, r), rng.normal(size=shape))
    for shape, r in [((1, 3, 2, 2), 2), ((3, 2), 1), ((1, 4, 2, 2), 0)]:
        _check(lambda z, r=r: F.pixel_shuffle(z, r), lambda z, r=r: TF.pixel_shuffle(z, r),
               np.zeros(shape))


PADS = [(1, 1), (0, 2), (2, 0, 1, 1), (1, 2, 0, 1, 2, 1), (3, 3), (0, 0)]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad(mode):
    rng = np.random.default_rng(5)
    for ndim, pad in itertools.product([2, 3, 4, 5], PADS):
        if mode != "constant" and len(pad) // 2 not in (ndim - 2, ndim - 1):
            continue  # PyTorch's non-constant modes take only these input/pad ranks
        x = rng.normal(size=(2, 3, 4, 5, 6)[:ndim])
        for value in ([0.0, 1.5] if mode == "constant" else [None]):
            kw = dict(mode=mode) | ({} if value is None else {"value": value})
            _check(lambda z, kw=kw, pad=pad: F.pad(z, pad, **kw),
                   lambda z, kw=kw, pad=pad: TF.pad(z, pad, **kw), x)
    if mode == "constant":
        x = rng.normal(size=(2, 3, 4))
        for pad in [(-1, 1), (1, -1, 2, 0)]:
            _check(lambda z, pad=pad: F.pad(z, pad), lambda z, pad=pad: TF.pad(z, pad), x)


@pytest.mark.parametrize("dtype", [np.int64, np.float32, bool, np.uint8])
def test_pad_dtypes(dtype):
    x = np.random.default_rng(6).integers(0, 3, (1, 2, 3, 4)).astype(dtype)
    for mode in ["constant", "replicate", "circular"] + ([] if dtype is bool else ["reflect"]):
        try:
            expected = TF.pad(torch.tensor(x), (1, 1), mode=mode)
        except RuntimeError:
            continue
        _close(F.pad(cr.tensor(x), (1, 1), mode=mode), expected)
    _close(F.pad(cr.tensor(x), (1, 1), value=2.7), TF.pad(torch.tensor(x), (1, 1), value=2.7))


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_one_pixel_axes_and_non_finite_grid(mode, padding_mode):
    rng = np.random.default_rng(7)
    for shape, ac in itertools.product([(1, 5), (4, 1), (1, 1)], [False, True]):
        g = rng.uniform(-3.0, 3.0, (2, 3, 2, 2))
        if mode == "nearest":
            g = np.round(g * 7) / 7 + 0.013
        kw = dict(mode=mode, padding_mode=padding_mode, align_corners=ac)
        _check(lambda a, b, kw=kw: F.grid_sample(a, b, **kw),
               lambda a, b, kw=kw: TF.grid_sample(a, b, **kw),
               rng.normal(size=(2, 2) + shape), g)
    g = np.array([[[[np.nan, 0.0], [np.inf, 0.2], [-np.inf, 0.1], [0.3, np.nan]]]])
    x = rng.normal(size=(1, 1, 3, 4))
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=False)
    with np.errstate(invalid="ignore"):
        got = F.grid_sample(cr.tensor(x), cr.tensor(g), **kw)
    _close(got, TF.grid_sample(torch.tensor(x), torch.tensor(g), **kw))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_negative_pads_crop_in_every_mode(mode):
    rng = np.random.default_rng(8)
    compared = 0
    for size, left, right in itertools.product([2, 3, 5], range(-5, 5), range(-5, 5)):
        if left >= 0 and right >= 0:
            continue
        kept = size + min(left, 0) + min(right, 0)
        if mode == "circular" and (kept < 1 or max(left, right) > kept):
            continue  # PyTorch reads uninitialised memory there; chainrule refuses
        x = rng.normal(size=(1, 2, size))
        _check(lambda z, p=(left, right): F.pad(z, p, mode=mode),
               lambda z, p=(left, right): TF.pad(z, p, mode=mode), x)
        compared += 1
    x = rng.normal(size=(1, 2, 4, 5))
    _check(lambda z: F.pad(z, (-1, 2, 2, -1), mode=mode),
           lambda z: TF.pad(z, (-1, 2, 2, -1), mode=mode), x)
    assert compared > 40


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("ndim", [3, 4, 5])
def test_interpolate_uint8_nearest(mode, ndim):
    rng = np.random.default_rng(ndim)
    for insz in [1, 3, 5]:
        x = rng.integers(0, 256, (2, 2) + (insz,) * (ndim - 2)).astype(np.uint8)
        for kw in [dict(scale_factor=s) for s in [0.5, 1.0, 1.5, 2, 3.3]] + [
                dict(size=s) for s in [1, 4, 9]]:
            try:
                want = TF.interpolate(torch.tensor(x), mode=mode, **kw)
            except RuntimeError:
                continue
            got = F.interpolate(cr.tensor(x), mode=mode, **kw)  # was a TypeError
            assert got.dtype == cr.uint8
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(TypeError, match="floating-point dtype"):
        F.interpolate(cr.tensor(np.zeros((1, 1, 4, 4), np.uint8)), scale_factor=2,
                      mode="bilinear")
