"""Eighth fuzz wave: convolutions, pooling, unpooling and interpolation under random
hyperparameters, with the weights ported from PyTorch through ``load_state_dict`` (float64)."""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _tup(rng, d, lo, hi):
    if rng.random() < 0.6:
        return tuple(int(v) for v in rng.integers(lo, hi, d))
    return int(rng.integers(lo, hi))


def _draw_conv(rng):
    d = int(rng.integers(1, 4))
    transposed = rng.random() < 0.4
    g = int(rng.choice([1, 1, 2, 3]))
    cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
    k, dil = _tup(rng, d, 1, 5), _tup(rng, d, 1, 3)
    kw = dict(stride=_tup(rng, d, 1, 4), dilation=dil, groups=g, bias=bool(rng.random() < 0.7))
    if transposed:
        kw["padding"] = _tup(rng, d, 0, 3)
        s, dl = np.broadcast_to(kw["stride"], d), np.broadcast_to(dil, d)
        if rng.random() < 0.5:  # output_padding below max(stride, dilation); sometimes not
            kw["output_padding"] = tuple(int(rng.integers(0, max(s[i], dl[i]) + (rng.random()
                                                                                 < 0.1)))
                                         for i in range(d))
    else:
        r = rng.random()
        kw["padding"] = "same" if r < 0.2 else "valid" if r < 0.3 else _tup(rng, d, 0, 4)
        if kw["padding"] == "same" and rng.random() < 0.8:
            kw["stride"] = 1  # else refused, as in PyTorch
        kw["padding_mode"] = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
    if rng.random() < 0.05:
        cin += 1  # not divisible by groups
    spatial = tuple(int(v) for v in rng.integers(1, 8, d))
    shape = ((cin,) if rng.random() < 0.15 else (int(rng.integers(1, 3)), cin)) + spatial
    name = f"Conv{'Transpose' if transposed else ''}{d}d"

    def make(lib):
        return getattr(lib.nn, name)(cin, cout, k, **kw), lambda m, x: m(x)

    return f"{name}({cin}, {cout}, {k}, {kw}) x{shape}", make, [rng.standard_normal(shape)]


@pytest.mark.parametrize("seed", range(4))
def test_convolutions_ported_from_pytorch(seed):
    rng = np.random.default_rng(800 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(60):
        desc, make, arrays = _draw_conv(rng)
        try:
            counts[check(make, arrays, rng)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 25, counts


def _draw_pool(rng, values):
    d = int(rng.integers(1, 4))
    kind = str(rng.choice(["max", "avg", "lp", "amax", "aavg", "unpool"]))
    spatial = tuple(int(v) for v in rng.integers(2, 9, d))
    shape = ((int(rng.integers(1, 3)),) if rng.random() < 0.15 else (2, 2)) + spatial
    x = values(rng, shape)
    k = _tup(rng, d, 1, 5)
    s = _tup(rng, d, 1, 4) if rng.random() < 0.7 else None
    half = [kk // 2 + (rng.random() < 0.1) for kk in np.broadcast_to(k, d)]
    p = tuple(int(rng.integers(0, h + 1)) for h in half) if rng.random() < 0.5 else 0
    ceil = bool(rng.random() < 0.5)
    if kind == "max":
        name, args = f"MaxPool{d}d", (k,)
        kw = dict(stride=s, padding=p, dilation=_tup(rng, d, 1, 3),
                  return_indices=bool(rng.random() < 0.4), ceil_mode=ceil)
    elif kind == "avg":
        name, args = f"AvgPool{d}d", (k,)
        kw = dict(stride=s, padding=p, ceil_mode=ceil, count_include_pad=bool(rng.random() < .5))
        if d > 1 and rng.random() < 0.3:
            kw["divisor_override"] = int(rng.integers(1, 5))
    elif kind == "lp":
        k = k if d > 1 else int(np.ravel(k)[0])  # PyTorch's lp_pool1d fails on a tuple
        name, args = f"LPPool{d}d", (float(rng.choice([1, 2, 3, 1.5])), k)
        kw = dict(stride=s, ceil_mode=ceil)
        x = np.abs(x) + 0.1
    elif kind in ("amax", "aavg"):
        name = f"Adaptive{'Max' if kind == 'amax' else 'Avg'}Pool{d}d"
        o = tuple(int(v) if rng.random() < 0.8 else None for v in rng.integers(1, 8, d))
        args = (o if d > 1 else int(rng.integers(1, 8)),)
        kw = {"return_indices": bool(rng.random() < 0.4)} if kind == "amax" else {}
    else:
        name, args, kw = f"MaxUnpool{d}d", (k,), dict(stride=s, padding=p)

    def make(lib):
        if kind != "unpool":
            return getattr(lib.nn, name)(*args, **kw), lambda m, x: m(x)
        pool = getattr(lib.nn, f"MaxPool{d}d")(*args, **kw, return_indices=True)

        def call(m, x):
            return m(*pool(x))
        return getattr(lib.nn, name)(*args, **kw), call

    return f"{name}{args}{kw} x{shape}", make, [x]


# PyTorch's avg_pool3d (and lp_pool3d, built on it) refuses an input side shorter than the
# kernel even where padding or ceil_mode give a window (docs/pytorch.md; tested below); the
# unpooling of a max pool whose padding leaves an empty output is refused by chainrule only (a
# ValueError, where PyTorch returns the empty tensor; tested below)
_POOL_DIFFERS = ("smaller than kernel size",)


@pytest.mark.parametrize("values", ["normal", "ties_and_nan"])
@pytest.mark.parametrize("seed", range(3))
def test_pooling_ported_from_pytorch(seed, values):
    def normal(rng, shape):
        return rng.standard_normal(shape)

    def ties_and_nan(rng, shape):  # many equal maxima (which index wins), and NaN windows
        x = rng.integers(-2, 3, shape).astype(float)
        if rng.random() < 0.3:
            x.flat[int(rng.integers(0, x.size))] = np.nan
        return x

    rng = np.random.default_rng(810 + seed + 10 * (values == "normal"))
    counts = {"compared": 0, "raised": 0, "differs": 0}
    for _ in range(60):
        desc, make, arrays = _draw_pool(rng, normal if values == "normal" else ties_and_nan)
        if values == "ties_and_nan" and "LPPool" in desc:
            continue  # |x| ** p has no ties to break; the other pools are the point here
        try:
            counts[check(make, arrays, rng, differ=_POOL_DIFFERS)] += 1
        except ValueError as e:  # chainrule refuses an unpooled output of size 0
            assert "max_unpool" in str(e) and "the output would be" in str(e), desc
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 25, counts


def _draw_interpolate(rng):
    d = int(rng.integers(1, 4))
    modes = ["nearest", "nearest-exact", "area"] + {1: ["linear"], 2: ["bilinear", "bicubic"],
                                                    3: ["trilinear"]}[d]
    mode = str(rng.choice(modes))
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + tuple(
        int(v) for v in rng.integers(1, 7, d))
    kw = {"mode": mode}
    if rng.random() < 0.5:
        kw["size"] = _tup(rng, d, 1, 10)
    else:
        sf = [float(rng.choice([1.5, 2, 3, 0.7, 1.3, 2.5, 1 / 3, 0.5])) for _ in range(d)]
        kw["scale_factor"] = tuple(sf) if rng.random() < 0.6 else sf[0]
        if rng.random() < 0.5:
            kw["recompute_scale_factor"] = bool(rng.random() < 0.5)
    if mode in ("linear", "bilinear", "bicubic", "trilinear") and rng.random() < 0.7 \
            or rng.random() < 0.05:
        kw["align_corners"] = bool(rng.random() < 0.5)  # refused for the other modes
    functional = rng.random() < 0.5

    def make(lib):
        if functional:
            return lib.nn.Identity(), lambda m, x: lib.nn.functional.interpolate(x, **kw)
        return lib.nn.Upsample(**kw), lambda m, x: m(x)

    # PyTorch's 1-D and 3-D nearest backward is not its forward's (docs/pytorch.md): values only
    grad = [] if d != 2 and mode == "nearest" else None
    return f"interpolate({kw}) x{shape}", make, [rng.standard_normal(shape)], grad


@pytest.mark.parametrize("seed", range(3))
def test_interpolation_ported_from_pytorch(seed):
    rng = np.random.default_rng(820 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(80):
        desc, make, arrays, grad = _draw_interpolate(rng)
        try:
            counts[check(make, arrays, rng, grad=grad)] += 1
        except ValueError as e:  # area mode shrinking a side to 0: PyTorch returns it empty
            assert "every output size must be positive" in str(e), desc
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 30, counts


def test_avg_pool3d_of_a_side_shorter_than_the_kernel_pools_where_pytorch_refuses():
    # docs/pytorch.md: PyTorch's avg_pool3d/lp_pool3d refuse any input side shorter than the
    # kernel, padding or ceil_mode notwithstanding; its 1-D and 2-D pools and chainrule's pool
    x = np.random.default_rng(0).standard_normal((1, 1, 2, 4, 4))
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.avg_pool3d(torch.tensor(x), 3, stride=3, padding=1)
    got = cr.nn.functional.avg_pool3d(cr.tensor(x), 3, stride=3, padding=1)
    # the same windows through PyTorch's max-free route: pad by hand, then pool a bigger input
    padded = torch.nn.functional.pad(torch.tensor(x), (1, 1, 1, 1, 1, 1))
    want = torch.nn.functional.avg_pool3d(padded, 3, stride=3)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13)
    x2 = x[:, :, 0]  # 2-D: PyTorch pools a side shorter than the kernel with padding too
    t2 = torch.nn.functional.avg_pool2d(torch.tensor(x2[:, :, :2]), 3, stride=3, padding=1)
    c2 = cr.nn.functional.avg_pool2d(cr.tensor(x2[:, :, :2]), 3, stride=3, padding=1)
    np.testing.assert_allclose(c2.numpy(), t2.numpy(), rtol=1e-13)


def test_an_empty_unpooled_or_area_output_is_refused_where_pytorch_returns_it_empty():
    # docs/pytorch.md: PyTorch returns an output with a side of 0; chainrule names the sizes
    x = torch.randn(1, 1, 5, 2, 4, dtype=torch.float64)
    y, ix = torch.nn.functional.max_pool3d(x, 2, stride=(3, 3, 1), padding=1,
                                           return_indices=True)
    assert torch.nn.MaxUnpool3d(2, stride=(3, 3, 1), padding=1)(y, ix).shape == (1, 1, 3, 0, 4)
    cy, cix = cr.nn.functional.max_pool3d(cr.tensor(x.numpy()), 2, stride=(3, 3, 1), padding=1,
                                          return_indices=True)
    with pytest.raises(ValueError, match=r"the output would be \(3, 0, 4\)"):
        cr.nn.MaxUnpool3d(2, stride=(3, 3, 1), padding=1)(cy, cix)
    z = torch.randn(1, 1, 3, 1, dtype=torch.float64)
    t = torch.nn.functional.interpolate(z, scale_factor=0.7, mode="area")
    assert t.shape == (1, 1, 2, 0)
    with pytest.raises(ValueError, match="every output size must be positive"):
        cr.nn.functional.interpolate(cr.tensor(z.numpy()), scale_factor=0.7, mode="area")
    seq, w, b = np.ones((2, 1, 1)), np.ones((3, 1, 1)), np.zeros(1)  # 2 steps, a 3-wide kernel
    assert torch.conv_tbc(*(torch.tensor(a) for a in (seq, w, b)), 0).shape == (0, 1, 1)
    with pytest.raises(ValueError, match="conv1d: kernel size"):
        cr.conv_tbc(*(cr.tensor(a) for a in (seq, w, b)), 0)
