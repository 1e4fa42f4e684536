"""Fuzz wave 17: resampling against PyTorch 2.13, beyond wave 12's (``test_fuzz12_resample.py``):
random (rather than listed) ``interpolate`` calls in every mode with float32 and float64 input,
``size`` or per-axis ``scale_factor`` (lists, tuples, one number) with every
``recompute_scale_factor``, ``align_corners`` and ``antialias``; ``nn.Upsample`` and its fixed
forms and ``F.upsample*``; ``grid_sample`` on 4-D and 5-D input in every mode and padding mode with
grids on pixel centres and edges; ``affine_grid``; ``fold``/``unfold`` with per-axis kernel,
dilation, padding and stride (and the unbatched forms); the pixel shuffles of any leading
dimensions: values, dtypes, shapes, errors and float64 gradients through ``_fuzz12_check.check``.

Before this wave ``interpolate`` had no mode "lanczos" (PyTorch 2.13's Lanczos-3 resize: PIL's
``Image.LANCZOS`` filter, with ``antialias=True`` only, on 4-D input): a NotImplementedError. And
``interpolate(..., antialias=True)`` resampled an axis whose size does not change with the step of
its ``scale_factor`` (a (4, 3) image by 1.3 keeps its 3 columns, the step 1 / 1.3 moved them);
PyTorch's separable kernel copies such an axis, as its plain bilinear one does: a silent
difference of up to the input's range. (PyTorch's backward does not copy the axis: its gradient
there is not its forward's, and fails its own ``gradcheck``; chainrule's passes.) And
``affine_grid`` of a size with a 0 computed an empty grid (PyTorch: "Expected non-zero, positive
output size"). An inf or NaN pixel made every output of its rows and columns NaN in an
antialiased resize (a matrix product multiplies it by every other output's zero weight); PyTorch's
kernel sums each output's own taps only, so it stays where the filter reaches. In ``grid_sample``
a tap outside the input read pixel 0 and multiplied it by 0, so an inf or NaN there spread to
every output with a tap outside (in every mode, and in "border"/"reflection" at the far edge,
whose second tap has weight 0); PyTorch skips such taps.

Left as they are: PyTorch's antialiased resize to an output width of 1 (with more than one output
row) gives every row the first row's value (its defect: the same call on the transposed input
gives the right rows; chainrule's are those); mode "area" to an output size of 0 (PyTorch's
forward gives an empty tensor, its backward raises; refused here); ``nn.Upsample`` with a list
``scale_factor`` (PyTorch's module refuses a list, takes a tuple; both taken here); uint8 input in
modes "bilinear", "bicubic" and "lanczos" (PyTorch's fixed-point rounding; refused here, as
documented); an infinite pixel under a cubic tap that rounds to 0 in one library and to
+-1e-17 in the other (antialiased bicubic with ``align_corners=True``: NaN against +-inf);
the grid's gradient where the input holds an inf or NaN next to a clipped position ("border",
"reflection"; NaN against 0); ``pixel_unshuffle`` of an empty tensor (PyTorch returns the
input's shape: (2, 0, 4, 4) by 2 stays (2, 0, 4, 4); (2, 0, 2, 2) here, as for any other).
"""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def F(lib):  # noqa: N802 - the usual alias
    return lib.nn.functional


_MODES = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "linear": (3,), "bilinear": (4,),
          "bicubic": (4,), "trilinear": (5,), "area": (3, 4, 5), "lanczos": (4,)}
_FACTORS = [0.3, 0.5, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0, 0.41]


def _width_one(shape, size):  # PyTorch's antialiased width-1 defect (module docstring)
    return len(shape) == 4 and size[-1] == 1 and size[0] > 1


def _interp_case(rng):
    mode = str(rng.choice(list(_MODES)))
    nd = int(rng.choice(_MODES[mode]))
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + tuple(
        int(v) for v in rng.integers(1, 9, nd - 2))
    kw = {"mode": mode}
    if rng.random() < 0.5:
        size = [int(v) for v in rng.integers(1, 12, nd - 2)]
        kw["size"] = size if rng.random() < 0.7 or nd > 3 else size[0]
        out = size
    else:
        sf = [float(rng.choice(_FACTORS)) for _ in range(nd - 2)]
        kw["scale_factor"] = (sf if rng.random() < 0.4 else tuple(sf)) if rng.random() < 0.6 \
            else sf[0]
        kw["recompute_scale_factor"] = [None, True, False][int(rng.integers(0, 3))]
        out = [int(d * (sf[0] if isinstance(kw["scale_factor"], float) else s))
               for d, s in zip(shape[2:], sf)]
    if mode in ("linear", "bilinear", "bicubic", "trilinear") and rng.random() < 0.6:
        kw["align_corners"] = bool(rng.random() < 0.5)
    if mode in ("bilinear", "bicubic") and rng.random() < 0.5:
        kw["antialias"] = True
    if mode == "lanczos":
        kw["antialias"] = bool(rng.random() < 0.9)
        kw["align_corners"] = [None, False, True][int(rng.choice([0, 0, 1, 2]))]
    if mode == "area" and min(out) == 0:
        return None  # refused here, PyTorch's differs forward and backward (docstring)
    if kw.get("antialias") and _width_one(shape, out):
        return None
    return shape, kw


@pytest.mark.parametrize("seed", range(3))
def test_interpolate_against_pytorch(seed):
    rng = np.random.default_rng(1700 + seed)
    for k in range(70):
        case = _interp_case(rng)
        if case is None:
            continue
        shape, kw = case
        dt = str(rng.choice(["float64", "float32"]))
        x = rng.standard_normal(shape).astype(dt)
        check(torch, lambda lib, a, kw=kw: F(lib).interpolate(a, **kw), x,
              grad=[0] if dt == "float64" else [], rtol=1e-10 if dt == "float64" else 1e-5,
              label=f"case {k}: {shape} {dt} {kw}")


def test_lanczos_is_pytorchs_and_pils_filter():
    # a NotImplementedError before this wave
    rng = np.random.default_rng(1703)
    for _ in range(40):
        shape = (2, 2) + tuple(int(v) for v in rng.integers(1, 12, 2))
        size = [int(v) for v in rng.integers(1, 14, 2)]
        if _width_one(shape, size):
            size[1] = 2
        x = rng.standard_normal(shape)
        check(torch, lambda lib, a, size=size: F(lib).interpolate(
            a, size=size, mode="lanczos", antialias=True), x, grad=[0], label=f"{shape} {size}")
    x = cr.tensor(rng.standard_normal((1, 2, 7, 5)), requires_grad=True)
    for size in ([3, 2], [11, 9], [7, 3]):
        assert cr.autograd.gradcheck(lambda a, size=size: F(cr).interpolate(
            a, size=size, mode="lanczos", antialias=True), (x,))
    # the one-axis filter: sinc(x) sinc(x / 3) at the taps of a 2x enlargement of a step
    step = np.repeat([0.0, 1.0], 4).reshape(1, 1, 1, 8)
    got = F(cr).interpolate(cr.tensor(step), size=[1, 16], mode="lanczos", antialias=True)
    ref = F(torch).interpolate(torch.tensor(step), size=[1, 16], mode="lanczos", antialias=True)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-14, atol=1e-15)
    assert got.numpy().min() < 0 < got.numpy().max() - 1  # it rings, as a windowed sinc does


@pytest.mark.parametrize("label,kw,shape", [
    ("no antialias", {"size": [3, 3]}, (1, 1, 4, 4)),
    ("antialias False", {"size": [3, 3], "antialias": False}, (1, 1, 4, 4)),
    ("align_corners", {"size": [3, 3], "antialias": True, "align_corners": True}, (1, 1, 4, 4)),
    ("3-D", {"size": 3, "antialias": True}, (1, 1, 4)),
    ("5-D", {"size": 3, "antialias": True}, (1, 1, 4, 4, 4)),
    ("3-D no antialias", {"size": 3}, (1, 1, 4)),
    ("Upsample", None, (1, 1, 4, 4)),
])
def test_lanczos_refuses_what_pytorch_refuses(label, kw, shape):
    x = np.ones(shape)
    for lib in (torch, cr):
        with pytest.raises((ValueError, NotImplementedError)):
            if kw is None:
                lib.nn.Upsample(size=(3, 3), mode="lanczos")(lib.tensor(x))
            else:
                F(lib).interpolate(lib.tensor(x), mode="lanczos", **kw)
    ok = F(cr).interpolate(cr.ones(1, 1, 4, 4, dtype=cr.float64), size=3, mode="lanczos",
                           antialias=True, align_corners=False)
    np.testing.assert_allclose(ok.numpy(), 1.0, rtol=1e-14)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("scale_factor", [1.3, (1.3, 1.5), (0.75, 1.3), 1.1])
def test_antialias_copies_an_axis_whose_size_does_not_change(mode, scale_factor):
    x = np.random.default_rng(1705).standard_normal((2, 2, 4, 3))
    for rsf in (None, False, True):
        def resize(lib, a, rsf=rsf):
            return F(lib).interpolate(a, scale_factor=scale_factor, mode=mode, antialias=True,
                                      recompute_scale_factor=rsf)

        check(torch, resize, x, label=f"{mode} {scale_factor} {rsf}")
        assert cr.autograd.gradcheck(lambda a, f=resize: f(cr, a),
                                     (cr.tensor(x, requires_grad=True),))
    y = F(cr).interpolate(cr.tensor(x), scale_factor=1.1, mode=mode, antialias=True)
    np.testing.assert_array_equal(y.numpy(), x)  # both axes kept: a copy, in new memory
    assert not np.shares_memory(y.numpy(), x)


def test_antialiased_width_one_is_the_transposed_resize():
    # PyTorch's own call gives every row its first row's value here; its transposed call is right
    x = np.random.default_rng(1704).standard_normal((1, 1, 6, 7))
    for mode in ("bilinear", "bicubic", "lanczos"):
        got = F(cr).interpolate(cr.tensor(x), size=[3, 1], mode=mode, antialias=True)
        ref = F(torch).interpolate(torch.tensor(x).transpose(2, 3), size=[1, 3], mode=mode,
                                   antialias=True).transpose(2, 3)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.filterwarnings("ignore::UserWarning")  # both libraries' deprecation notes
@pytest.mark.parametrize("seed", range(2))
def test_upsample_modules_and_legacy_functions_against_pytorch(seed):
    rng = np.random.default_rng(1710 + seed)
    for k in range(25):
        nd = int(rng.choice([3, 4, 5]))
        x = rng.standard_normal((2, 2) + tuple(int(v) for v in rng.integers(1, 6, nd - 2)))
        sf = tuple(float(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0])) for _ in range(nd - 2))
        sz = [int(v) for v in rng.integers(1, 9, nd - 2)]
        kw = [{"size": sz}, {"size": sz[0]}, {"scale_factor": sf}, {"scale_factor": sf[0]}][
            int(rng.integers(0, 4))]
        mode = str(rng.choice(["nearest", "linear", "bilinear", "bicubic", "trilinear",
                               "nearest-exact", "area"]))
        ac = [None, True, False][int(rng.integers(0, 3))] \
            if mode in ("linear", "bilinear", "bicubic", "trilinear") else None
        label = f"{k}: {x.shape} {kw} {mode} {ac}"
        check(torch, lambda lib, a: lib.nn.Upsample(mode=mode, align_corners=ac, **kw)(a), x,
              grad=[0], rtol=1e-10, label="Upsample " + label)
        check(torch, lambda lib, a: F(lib).upsample(a, mode=mode, align_corners=ac, **kw), x,
              grad=[0], rtol=1e-10, label="F.upsample " + label)
        if nd == 4:
            for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d"):
                check(torch, lambda lib, a, name=name: getattr(lib.nn, name)(**kw)(a), x,
                      grad=[0], rtol=1e-10, label=f"{name} {label}")
            for name in ("upsample_nearest", "upsample_bilinear"):
                check(torch, lambda lib, a, name=name: getattr(F(lib), name)(a, **kw), x,
                      grad=[0], rtol=1e-10, label=f"{name} {label}")


@pytest.mark.filterwarnings("ignore::UserWarning")  # both libraries' deprecation notes
@pytest.mark.parametrize("seed", range(2))
def test_grid_sample_and_affine_grid_against_pytorch(seed):
    rng = np.random.default_rng(1720 + seed)
    for k in range(40):
        nd = int(rng.choice([4, 5]))
        mode = str(rng.choice(["bilinear", "nearest", "bicubic"]))
        pm = str(rng.choice(["zeros", "border", "reflection"]))
        ac = bool(rng.random() < 0.5)
        dt = str(rng.choice(["float64", "float32"]))
        x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 3))) + tuple(
            int(v) for v in rng.integers(1, 6, nd - 2))).astype(dt)
        g = rng.uniform(-1.6, 1.6, (x.shape[0],) + tuple(int(v) for v in rng.integers(
            1, 5, nd - 2)) + (nd - 2,)).astype(dt)
        if rng.random() < 0.3:
            g = np.round(g * 2) / 2  # pixel centres and edges, exactly
        grad = ([0] if mode == "nearest" else [0, 1]) if dt == "float64" else []
        check(torch, lambda lib, a, b: F(lib).grid_sample(a, b, mode=mode, padding_mode=pm,
                                                          align_corners=ac), x, g, grad=grad,
              rtol=1e-9 if dt == "float64" else 1e-5,
              label=f"{k}: {x.shape} {g.shape} {dt} {mode} {pm} ac={ac}")
        theta = rng.standard_normal((x.shape[0], nd - 2, nd - 1))
        size = list(x.shape[:2]) + [int(v) for v in rng.integers(1, 5, nd - 2)]
        acg = [None, True, False][int(rng.integers(0, 3))]
        check(torch, lambda lib, t: F(lib).affine_grid(t, size, align_corners=acg), theta,
              grad=[0], label=f"affine_grid {size} {acg}")


def _pick(rng, v):
    return v[0] if rng.random() < 0.3 else tuple(v)


@pytest.mark.parametrize("seed", range(2))
def test_fold_unfold_against_pytorch(seed):
    rng = np.random.default_rng(1730 + seed)
    for k in range(15):
        H, W = (int(v) for v in rng.integers(1, 8, 2))
        kw = {"kernel_size": _pick(rng, [int(v) for v in rng.integers(1, 4, 2)]),
              "dilation": _pick(rng, [int(v) for v in rng.integers(1, 3, 2)]),
              "padding": _pick(rng, [int(v) for v in rng.integers(0, 3, 2)]),
              "stride": _pick(rng, [int(v) for v in rng.integers(1, 4, 2)])}
        c = int(rng.integers(1, 3))
        x = rng.standard_normal((c, H, W) if rng.random() < 0.2 else (2, c, H, W))
        label = f"{k}: {x.shape} {kw}"
        check(torch, lambda lib, a: F(lib).unfold(a, **kw), x, grad=[0], label="unfold " + label)
        check(torch, lambda lib, a: lib.nn.Unfold(**kw)(a), x, grad=[0], label="Unfold " + label)
        try:
            cols = F(torch).unfold(torch.tensor(x), **kw).numpy()
        except RuntimeError:
            continue
        check(torch, lambda lib, a: F(lib).fold(a, (H, W), **kw), cols, grad=[0],
              label="fold " + label)
        check(torch, lambda lib, a: lib.nn.Fold((H, W), **kw)(a), cols, grad=[0],
              label="Fold " + label)


def test_pixel_shuffles_of_any_leading_dimensions_against_pytorch():
    rng = np.random.default_rng(1740)
    for k in range(15):
        r = int(rng.integers(1, 4))
        lead = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 3))))
        h, w = (int(v) for v in rng.integers(1, 4, 2))
        odd = int(rng.random() < 0.15)  # a channel count or size r does not divide
        x = rng.standard_normal(lead + (int(rng.integers(1, 3)) * r * r + odd, h, w))
        check(torch, lambda lib, a: F(lib).pixel_shuffle(a, r), x, grad=[0],
              label=f"pixel_shuffle {k}: {x.shape} r={r}")
        y = rng.standard_normal(lead + (int(rng.integers(1, 3)), h * r + odd, w * r))
        check(torch, lambda lib, a: F(lib).pixel_unshuffle(a, r), y, grad=[0],
              label=f"pixel_unshuffle {k}: {y.shape} r={r}")
        for dt in ("int64", "bool", "uint8", "float16"):
            check(torch, lambda lib, a: lib.nn.PixelShuffle(1)(a), x.astype(dt), label=dt)


@pytest.mark.parametrize("size", [[0, 1, 4, 4], [2, 0, 4, 4], [2, 1, 4, 0], [2, 1, 0, 4, 4]])
def test_affine_grid_refuses_an_empty_size_as_pytorch(size):
    # an empty grid was computed
    theta = np.zeros((size[0], len(size) - 2, len(size) - 1))
    for lib in (torch, cr):
        with pytest.raises(ValueError, match="positive"):
            F(lib).affine_grid(lib.tensor(theta), size, align_corners=False)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_antialiased_non_finite_pixels_reach_only_their_taps(mode):
    # every output of an inf's or NaN's rows and columns was NaN
    x = np.random.default_rng(1706).standard_normal((2, 3, 8, 9))
    x[0, 0, 1, 2], x[1, 2, 6, 7], x[0, 1, 3, 3] = np.inf, np.nan, -np.inf
    for size in ([4, 5], [16, 18], [5, 13], [8, 4]):
        ins, outs = [], []
        for lib in (torch, cr):
            a = lib.tensor(x, requires_grad=True)
            with np.errstate(invalid="ignore"):
                y = F(lib).interpolate(a, size=size, mode=mode, antialias=True)
            finite = np.isfinite(y.detach().numpy())
            w = np.where(finite, np.random.default_rng(1).standard_normal(finite.shape), 0.0)
            (y.masked_fill(lib.tensor(~finite), 0.0) * lib.tensor(w)).sum().backward()
            ins.append(a.grad.numpy())
            outs.append(y.detach().numpy())
        assert 0 < np.isfinite(outs[1]).sum() < outs[1].size
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-12, atol=1e-14, err_msg=str(size))
        np.testing.assert_allclose(ins[1], ins[0], rtol=1e-12, atol=1e-14, err_msg=str(size))


@pytest.mark.parametrize("nd", [4, 5])
def test_grid_sample_non_finite_pixels_reach_only_their_taps(nd):
    # a tap outside read pixel 0 times 0: its inf or NaN spread to every output with such a tap
    rng = np.random.default_rng(1707)
    x = rng.standard_normal((2, 2) + (5, 6, 7)[:nd - 2])
    flat = x.reshape(-1)
    flat[0], flat[3], flat[-5], flat[flat.size // 2] = np.inf, np.inf, np.nan, -np.inf
    g = rng.uniform(-1.3, 1.3, (2,) + (4, 5, 3)[:nd - 2] + (nd - 2,))
    g.reshape(-1)[:6] = np.round(g.reshape(-1)[:6] * 2) / 2
    for mode in ("bilinear", "nearest", "bicubic")[:5 - nd + 2]:
        for pm in ("zeros", "border", "reflection"):
            for ac in (False, True):
                got = []
                for lib in (torch, cr):
                    a = lib.tensor(x, requires_grad=True)
                    with np.errstate(invalid="ignore"):
                        y = F(lib).grid_sample(a, lib.tensor(g), mode=mode, padding_mode=pm,
                                               align_corners=ac)
                    finite = np.isfinite(y.detach().numpy())
                    w = np.where(finite, np.random.default_rng(1).standard_normal(
                        finite.shape), 0.0)
                    (y.masked_fill(lib.tensor(~finite), 0.0) * lib.tensor(w)).sum().backward()
                    got.append((y.detach().numpy(), a.grad.numpy()))
                label = f"{mode} {pm} {ac}"
                np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-12, atol=1e-14,
                                           err_msg=label)
                np.testing.assert_allclose(got[1][1], got[0][1], rtol=1e-12, atol=1e-14,
                                           err_msg=label)
