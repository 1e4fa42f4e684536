"""Fuzz wave 14: the option matrix of convolutions and pools against PyTorch's: conv1d/2d/3d and
their transposes (groups, dilation, stride, padding as int/tuple/"same"/"valid", padding_mode,
output_padding and ``output_size``, no bias, unbatched and strided inputs), max/avg/lp pools
(ceil_mode, count_include_pad, divisor_override, dilation, indices and ``max_unpool`` with
``output_size``), adaptive pools, ``fractional_max_pool`` with given samples, ``fold``/``unfold``,
the pixel shuffles and ``F.pad`` (negative pads): values, dtypes, shapes, float64 gradients (first
and second order) and errors, through ``tests/_fuzz12_check.py``'s oracle.

Found by this wave: the pixel shuffles, ``channel_shuffle``, ``interpolate`` of an unchanged
size and ``F.pad`` with nothing left to pad (or a crop only) returned the input's own memory (a
view, or the input itself), so a later in-place change of the input changed the result, and the
reverse; PyTorch's return new memory.
"""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _alias_cases(lib):
    F = lib.nn.functional
    yield "pixel_shuffle by 1", (1, 2, 3, 3), lambda x: F.pixel_shuffle(x, 1)
    yield "pixel_shuffle of 1x1 pixels", (2, 9, 1, 1), lambda x: F.pixel_shuffle(x, 3)
    yield "pixel_unshuffle by 1", (1, 1, 3, 3), lambda x: F.pixel_unshuffle(x, 1)
    yield "pixel_unshuffle to 1x1", (1, 2, 2, 2), lambda x: F.pixel_unshuffle(x, 2)
    yield "PixelShuffle(1)", (1, 1, 3, 3), lambda x: lib.nn.PixelShuffle(1)(x)
    yield "channel_shuffle(1)", (1, 4, 2, 2), lambda x: F.channel_shuffle(x, 1)
    yield "ChannelShuffle(4)", (1, 4, 2, 2), lambda x: lib.nn.ChannelShuffle(4)(x)
    for mode, pad in itertools.product(["constant", "reflect", "replicate", "circular"],
                                       [(0, 0, 0, 0), (0, -1, 0, 0), (0, 0, -1, 0)]):
        yield f"pad {mode} {pad}", (1, 1, 3, 3), lambda x, m=mode, p=pad: F.pad(x, p, mode=m)
    for name in ["ReflectionPad2d", "ReplicationPad2d", "CircularPad2d", "ZeroPad2d"]:
        yield f"{name}(0)", (1, 1, 3, 3), lambda x, n=name: getattr(lib.nn, n)(0)(x)
    for mode, shape in [("nearest", (1, 1, 3)), ("nearest", (1, 1, 3, 3)), ("linear", (1, 1, 3)),
                        ("bilinear", (1, 1, 3, 3)), ("bicubic", (1, 1, 3, 3)),
                        ("trilinear", (1, 1, 2, 2, 2)), ("nearest-exact", (1, 1, 3, 3))]:
        yield f"interpolate {mode} x1", shape, lambda x, m=mode: F.interpolate(x, scale_factor=1,
                                                                               mode=m)
    yield "Upsample(size=same)", (1, 1, 3, 3), lambda x: lib.nn.Upsample(size=(3, 3))(x)
    yield "UpsamplingBilinear2d x1", (1, 1, 3, 3), lambda x: lib.nn.UpsamplingBilinear2d(
        scale_factor=1)(x)


def _links(lib):
    """For each case: whether an in-place change of the input shows in the result, and the
    reverse."""
    found = {}
    for name, shape, fn in _alias_cases(lib):
        x = lib.arange(1, int(np.prod(shape)) + 1, dtype=lib.float64).reshape(shape)
        y = fn(x)
        y0 = y.clone()
        x.mul_(-1)
        seen_in_y = not bool((y == y0).all())
        x0 = x.clone()
        y.add_(100)
        found[name] = (seen_in_y, not bool((x == x0).all()))
    return found


def test_shuffles_pads_and_resizes_return_new_memory_as_pytorch():
    theirs, ours = _links(torch), _links(cr)
    assert theirs == ours
    assert not any(a or b for a, b in ours.values())


def test_numpy_style_pad_with_nothing_to_pad_copies():
    # chainrule.functional.pad (NumPy's pad_width) returned x itself in modes other than
    # "constant" when every pad was 0; NumPy's pad returns a copy
    x = cr.arange(6.0).reshape(2, 3).requires_grad_()
    for mode in ("constant", "reflect", "edge", "wrap"):
        y = cr.functional.pad(x, 0, mode=mode)
        assert y is not x and not np.shares_memory(y.numpy(), x.detach().numpy()), mode
        y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 4.0))


def _tup(rng, d, lo, hi):
    if rng.random() < 0.6:
        return tuple(int(v) for v in rng.integers(lo, hi, d))
    return int(rng.integers(lo, hi))


def _draw_layer(rng):
    d = int(rng.integers(1, 4))
    kind = str(rng.choice(["conv", "convT", "max", "avg"]))
    if kind in ("conv", "convT"):
        kw = dict(stride=_tup(rng, d, 1, 3), dilation=_tup(rng, d, 1, 3), bias=bool(
            rng.random() < .5), groups=int(rng.choice([1, 2])))
        if kind == "conv":
            kw["padding"] = ["same", "valid", _tup(rng, d, 0, 3)][int(rng.integers(0, 3))]
            kw["stride"] = 1 if kw["padding"] == "same" else kw["stride"]
            kw["padding_mode"] = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
        else:
            kw["padding"] = _tup(rng, d, 0, 3)
        kw = {k: v for k, v in kw.items() if rng.random() < .7}
        return f"Conv{'Transpose' if kind == 'convT' else ''}{d}d", (2, 4, _tup(rng, d, 1, 4)), kw
    kw = dict(stride=_tup(rng, d, 1, 3) if rng.random() < .7 else None, padding=_tup(rng, d, 0, 2),
              ceil_mode=bool(rng.random() < .5))
    if kind == "max":
        kw.update(dilation=_tup(rng, d, 1, 3), return_indices=bool(rng.random() < .5))
    else:
        kw["count_include_pad"] = bool(rng.random() < .5)
        if d > 1 and rng.random() < .5:
            kw["divisor_override"] = int(rng.integers(1, 4))
    kw = {k: v for k, v in kw.items() if rng.random() < .7}
    return f"{'Max' if kind == 'max' else 'Avg'}Pool{d}d", (_tup(rng, d, 2, 5),), kw


_FIELDS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices",
           "count_include_pad", "divisor_override", "padding_mode", "groups", "output_padding")


def test_layer_reprs_and_fields_are_pytorchs():
    # before: MaxPool reprs left out dilation and ceil_mode when at their defaults, AvgPool
    # reprs added ceil_mode/count_include_pad/divisor_override (PyTorch's show kernel_size,
    # stride and padding only, AvgPool1d's as 1-tuples), and a Conv's padding_mode was quoted
    rng = np.random.default_rng(1400)
    for _ in range(150):
        name, args, kw = _draw_layer(rng)
        theirs, ours = getattr(torch.nn, name)(*args, **kw), getattr(cr.nn, name)(*args, **kw)
        assert repr(ours) == repr(theirs), (name, args, kw)
        for field in _FIELDS:
            if hasattr(theirs, field):
                assert getattr(ours, field) == getattr(theirs, field), (name, args, kw, field)


def _layout(lib, x, layout):
    """The input as a strided view: every other column, or channels-last memory."""
    if layout == "step":
        return x[..., ::2]
    if layout == "last":
        perm = list(range(x.ndim))[::-1]
        return x.permute(*perm).contiguous().permute(*perm)
    return x


def _draw_conv(rng):
    d, transposed = int(rng.integers(1, 4)), bool(rng.random() < 0.45)
    g = int(rng.choice([1, 1, 2, 3]))
    cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 4, d))
    kw = dict(stride=_tup(rng, d, 1, 4), dilation=_tup(rng, d, 1, 3), groups=g)
    if transposed:
        kw["padding"] = _tup(rng, d, 0, 3)
        if rng.random() < 0.6:
            kw["output_padding"] = _tup(rng, d, 0, 3)  # sometimes too large: refused by both
        wshape = (cin, cout // g) + k
    else:
        r = rng.random()
        kw["padding"] = "same" if r < 0.25 else "valid" if r < 0.35 else _tup(rng, d, 0, 3)
        if kw["padding"] == "same" and rng.random() < 0.8:
            kw["stride"] = 1  # else refused, as in PyTorch
        wshape = (cout, cin // g) + k
    bias = bool(rng.random() < 0.6)
    cin += int(rng.random() < 0.04)  # not divisible by groups
    spatial = tuple(int(v) for v in rng.integers(1, 7, d))
    shape = ((cin,) if rng.random() < 0.2 else (int(rng.integers(1, 3)), cin)) + spatial
    layout = str(rng.choice(["plain", "plain", "step", "last"]))
    dtype = "float64" if rng.random() < 0.8 else "float32"
    wide = shape[:-1] + (2 * shape[-1],) if layout == "step" else shape
    bshape = (wshape[1] * g if transposed else cout,)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (wide, wshape, bshape)]
    name = f"conv{'_transpose' if transposed else ''}{d}d"

    def fn(lib, x, w, b):
        return getattr(lib.nn.functional, name)(_layout(lib, x, layout), w, b if bias else None,
                                                **kw)
    grad = (0, 1, 2) if dtype == "float64" else ()
    return f"{name}({kw}, bias={bias}) x{shape} {layout} {dtype}", fn, arrays, grad


def _empty_where_refused(fn, arrays, desc, err):
    """PyTorch returns an empty output where chainrule refuses one with a side of 0
    (docs/pytorch.md, "What differs on purpose"): check that this is the case."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(torch, *[torch.tensor(a) for a in arrays])
    out = out[0] if isinstance(out, tuple) else out
    assert out.numel() == 0 and "would be" in str(err), desc


def _run(draw, seed, n, least, differ=()):
    rng = np.random.default_rng(seed)
    compared = 0
    for _ in range(n):
        desc, fn, arrays, grad = draw(rng)
        rtol = 1e-10 if arrays[0].dtype == np.float64 else 2e-3 if arrays[0].dtype == np.float16 \
            else 1e-5
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compared += check(torch, fn, *arrays, grad=grad, rtol=rtol, label=desc) is not None
        except AssertionError as e:
            if "chainrule raised ValueError" in str(e) and "would be" in str(e):
                _empty_where_refused(fn, arrays, desc, e)
            elif "chainrule computed" in str(e) and any(m in str(e) for m in differ):
                continue
            else:
                raise
    assert compared >= least, compared


@pytest.mark.parametrize("seed", range(2))
def test_convolutions_against_pytorch(seed):
    _run(_draw_conv, 1410 + seed, 60, 30)


def _draw_pool(rng):
    d = int(rng.integers(1, 4))
    kind = str(rng.choice(["max", "avg", "lp", "amax", "aavg", "unpool", "frac"]))
    d = max(d, 2) if kind == "frac" else d
    lead = (int(rng.integers(1, 3)),) if rng.random() < 0.2 else (int(rng.integers(1, 3)), 2)
    shape = lead + tuple(int(v) for v in rng.integers(1 + (kind == "frac"), 9, d))
    dtype = str(rng.choice(["float64"] * 6 + ["float32", "float16"]
                           + ["int64"] * (kind in ("max", "amax", "unpool"))))
    x = rng.standard_normal(shape)
    x = np.round(3 * x) if dtype == "int64" or rng.random() < 0.3 else x  # ties
    x = (np.abs(x) + 0.1 if kind == "lp" else x).astype(dtype)
    layout = str(rng.choice(["plain", "plain", "step", "last"]))
    k, s = _tup(rng, d, 1, 5), _tup(rng, d, 1, 4) if rng.random() < 0.7 else None
    p, ceil = _tup(rng, d, 0, 3) if rng.random() < 0.5 else 0, bool(rng.random() < 0.5)
    extra = []
    if kind == "max":
        name, args = f"max_pool{d}d", (k,)
        kw = dict(stride=s, padding=p, dilation=_tup(rng, d, 1, 3), ceil_mode=ceil,
                  return_indices=bool(rng.random() < 0.5))
    elif kind == "avg":
        name, args = f"avg_pool{d}d", (k,)
        kw = dict(stride=s, padding=p, ceil_mode=ceil, count_include_pad=bool(rng.random() < .5))
        if d > 1 and rng.random() < 0.4:
            kw["divisor_override"] = int(rng.integers(1, 5))
    elif kind == "lp":  # PyTorch's lp_pool1d fails on a tuple kernel_size
        name, kw = f"lp_pool{d}d", dict(stride=s, ceil_mode=ceil)
        args = (float(rng.choice([1, 2, 3, 1.5, np.inf])), k if d > 1 else np.ravel(k)[0].item())
    elif kind in ("amax", "aavg"):
        name = f"adaptive_{kind[1:]}_pool{d}d"
        o = tuple(int(v) if rng.random() < 0.8 else None for v in rng.integers(1, 10, d))
        args = (o if d > 1 else int(o[0] or 3),)
        kw = {"return_indices": bool(rng.random() < 0.5)} if kind == "amax" else {}
    elif kind == "frac":  # PyTorch's samples; an output_ratio as a pair (its F refuses a float)
        name, args = f"fractional_max_pool{d}d", (_tup(rng, d, 1, 4),)
        kw = dict(return_indices=bool(rng.random() < 0.5))
        if rng.random() < 0.5:
            kw["output_size"] = tuple(int(rng.integers(1, n + 1)) for n in shape[-d:])
        else:
            kw["output_ratio"] = tuple(float(rng.uniform(1 / n, 1)) for n in shape[-d:])
        extra = [rng.random((1 if len(lead) == 1 else lead[0], lead[-1], d))]
        layout = "plain" if layout == "step" else layout
    else:
        name, args, kw = f"max_unpool{d}d", (k,), dict(stride=s, padding=p)
        more = [int(v) for v in rng.integers(0, 3, d)] if rng.random() < 0.4 else None
    if layout == "step":
        x = np.repeat(x, 2, axis=-1)

    def fn(lib, x, *samples):
        x, f = _layout(lib, x, layout), getattr(lib.nn.functional, name)
        if kind == "frac":
            return f(x, *args, _random_samples=samples[0].to(x.dtype), **kw)
        if kind != "unpool":
            return f(x, *args, **kw)
        y, ix = getattr(lib.nn.functional, f"max_pool{d}d")(x, k, s, p, return_indices=True)
        size = None
        if more is not None:  # one of the sizes the pool maps back to
            st, pd, kk = (np.broadcast_to(v, d) for v in (k if s is None else s, p, k))
            size = [int((y.shape[i - d] - 1) * st[i] - 2 * pd[i] + kk[i] + more[i])
                    for i in range(d)]
        return f(y, ix, *args, output_size=size, **kw)
    grad = (0,) if dtype == "float64" else ()
    return f"{name}{args}{kw} x{shape} {layout} {dtype}", fn, [x] + extra, grad


# PyTorch's avg_pool3d/lp_pool3d refuse an input side shorter than the kernel whatever the
# padding (docs/pytorch.md); its max_unpool and adaptive_max_pool refuse int64, its 1-D max pool
# int32, where chainrule's pool them
_POOL_DIFFERS = ("smaller than kernel size", "not implemented for")


@pytest.mark.parametrize("seed", range(2))
def test_pools_against_pytorch(seed):
    _run(_draw_pool, 1420 + seed, 80, 40, differ=_POOL_DIFFERS)


def _draw_layer_call(rng):
    """A Conv layer with a padding_mode, or a transposed one called with an output_size."""
    d, transposed = int(rng.integers(1, 4)), bool(rng.random() < 0.5)
    g = int(rng.choice([1, 1, 2]))
    cin, cout, k = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3)), _tup(rng, d, 1, 4)
    kw = dict(stride=_tup(rng, d, 1, 4), dilation=_tup(rng, d, 1, 3), groups=g,
              bias=bool(rng.random() < .6))
    spatial = tuple(int(v) for v in rng.integers(2, 7, d))
    shape = ((cin,) if rng.random() < 0.25 else (int(rng.integers(1, 3)), cin)) + spatial
    size = None
    if transposed:
        kw["padding"] = _tup(rng, d, 0, 3)
        s, dl, p, kk = (np.broadcast_to(v, d) for v in (kw["stride"], kw["dilation"],
                                                       kw["padding"], k))
        low = [(spatial[i] - 1) * s[i] - 2 * p[i] + dl[i] * (kk[i] - 1) + 1 for i in range(d)]
        size = [int(n + rng.integers(0, s[i])) for i, n in enumerate(low)]
        if rng.random() < 0.15:  # out of reach: refused by both
            size[-1] += int(rng.choice([-1, s[-1]]))
        size = tuple(shape[:-d]) + tuple(size) if rng.random() < 0.3 else size
    else:
        r = rng.random()
        kw["padding"] = "same" if r < 0.3 else "valid" if r < 0.4 else _tup(rng, d, 0, 3)
        kw["stride"] = 1 if kw["padding"] == "same" and rng.random() < 0.8 else kw["stride"]
        kw["padding_mode"] = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
    kk = tuple(np.broadcast_to(k, d).tolist())
    arrays = [rng.standard_normal(shape), rng.standard_normal(
        ((cin, cout // g) if transposed else (cout, cin // g)) + kk), rng.standard_normal(cout)]
    name = f"Conv{'Transpose' if transposed else ''}{d}d"

    def fn(lib, x, w, b):
        m = getattr(lib.nn, name)(cin, cout, k, **kw).double()
        m.load_state_dict({"weight": w.detach(), **({"bias": b.detach()} if kw["bias"] else {})})
        m.weight.requires_grad_(False)  # the gradient goes to w, the tensor loaded from
        y = m(x) if size is None else m(x, output_size=size)
        if kw["bias"]:
            return y
        return y + 0 * b.sum()  # b still takes part, with a zero gradient
    return f"{name}({cin}, {cout}, {k}, {kw}) output_size={size} x{shape}", fn, arrays, (0,)


@pytest.mark.parametrize("seed", range(2))
def test_conv_layers_with_padding_modes_and_output_sizes_against_pytorch(seed):
    _run(_draw_layer_call, 1430 + seed, 50, 25)


def _draw_resample(rng):
    kind = str(rng.choice(["unfold", "fold", "shuffle", "unshuffle", "pad"]))
    dtype = str(rng.choice(["float64"] * 5 + ["float32", "int64"]))
    conv = dict(kernel_size=_tup(rng, 2, 1, 4), dilation=_tup(rng, 2, 1, 3),
                padding=_tup(rng, 2, 0, 3), stride=_tup(rng, 2, 1, 3))
    if kind == "unfold":
        shape = ((2,) if rng.random() < 0.3 else (2, 2)) + tuple(int(v) for v in rng.integers(
            1, 7, 2))
        args, name = (), "unfold"
    elif kind == "fold":
        size = _tup(rng, 2, 1, 8)
        k, dl, p, s, o = (np.broadcast_to(v, 2) for v in (*conv.values(), size))
        blocks = int(np.prod([max((o[i] + 2 * p[i] - dl[i] * (k[i] - 1) - 1) // s[i] + 1, 0)
                              for i in range(2)])) + int(rng.random() < 0.1)
        channels = int(rng.integers(1, 3)) * int(np.prod(k)) + int(rng.random() < 0.1)
        shape = (channels, blocks) if rng.random() < 0.3 else (2, channels, blocks)
        args, name = (size,), "fold"
    elif kind in ("shuffle", "unshuffle"):
        r, conv = int(rng.integers(1, 4)), {}
        lead = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 3))))
        sides = [int(v) for v in rng.integers(1, 3, 2)]
        shape = lead + ((r * r * int(rng.integers(1, 3)),) + tuple(sides) if kind == "shuffle"
                        else (int(rng.integers(1, 3)),) + tuple(r * v for v in sides))
        args, name = (r,), f"pixel_{kind}"
    else:  # negative pads crop; the non-constant modes pad the last 1 to 3 axes of 2-D to 5-D
        mode = str(rng.choice(["constant", "reflect", "replicate", "circular"]))
        n = int(rng.integers(1, 4))
        shape = tuple(int(v) for v in rng.integers(3, 6, n + int(rng.integers(1, 3))))
        # (PyTorch's circular pad of a side cropped below the pad reads uninitialized memory)
        low = -1 if mode == "circular" else -2
        args, name = (tuple(int(v) for v in rng.integers(low, 3, 2 * n)),), "pad"
        conv = {"mode": mode}
        if mode == "constant" and rng.random() < 0.5:
            conv["value"] = float(rng.choice([0.5, -2.0, 3]))
    x = rng.standard_normal(shape)
    x = (np.round(3 * x) if dtype == "int64" else x).astype(dtype)

    def fn(lib, x):
        return getattr(lib.nn.functional, name)(x, *args, **conv)
    return f"{name}{args}{conv} x{shape} {dtype}", fn, [x], (0,) if dtype == "float64" else ()


@pytest.mark.parametrize("seed", range(2))
def test_fold_shuffle_and_pad_against_pytorch(seed):
    _run(_draw_resample, 1440 + seed, 80, 40, differ=())


def _second_order(fn, arrays, grad):
    """Gradients of a random weighting of ``fn``'s first-order input gradients (built with
    ``create_graph=True``), in both libraries."""
    found = []
    for lib in (torch, cr):
        ts = [lib.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
        out = fn(lib, *ts)
        out = out[0] if isinstance(out, tuple) else out
        rng = np.random.default_rng(7)
        leaves = [ts[i] for i in grad]
        gs = lib.autograd.grad((out * lib.tensor(rng.standard_normal(tuple(out.shape)))).sum(),
                               leaves, create_graph=True, allow_unused=True)
        total = sum((g * lib.tensor(rng.standard_normal(tuple(g.shape)))).sum() for g in gs
                    if g is not None and g.requires_grad)
        hs = [None] * len(leaves) if isinstance(total, int) else lib.autograd.grad(
            total, leaves, allow_unused=True)
        found.append([np.zeros(a.shape) if h is None else h.detach().numpy()
                      for a, h in zip([arrays[i] for i in grad], hs)])
    return found


@pytest.mark.parametrize("draw", [_draw_conv, _draw_pool, _draw_layer_call, _draw_resample])
def test_second_order_gradients_against_pytorch(draw):
    rng = np.random.default_rng(1450)
    compared = 0
    for _ in range(40):
        desc, fn, arrays, grad = draw(rng)
        if not grad:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(torch, *[torch.tensor(a) for a in arrays])
                fn(cr, *[cr.tensor(a) for a in arrays])
        except (RuntimeError, ValueError, TypeError, NotImplementedError):
            continue  # the errors are compared above
        theirs, ours = _second_order(fn, arrays, grad)
        for k, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{desc} input {k}")
        compared += 1
    assert compared >= 12, compared
