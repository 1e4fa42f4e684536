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

import numpy as np
import pytest

import chainrule as cr

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
