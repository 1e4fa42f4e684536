"""Convolutions: forward vs a naive NumPy loop and PyTorch, gradcheck/gradgradcheck, errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import F

from .._case_loop import each_case, grid, with_rng


def leaf(rng, shape, dtype=np.float64):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


def naive_conv2d(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """Reference convolution: an explicit loop over output pixels, output channels and groups."""
    n, c, _, _ = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    (sh, sw), (dh, dw) = stride, dilation
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg:(g + 1) * cg, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                           j * sw:j * sw + dw * (kw - 1) + 1:dw]
                y[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    if b is not None:
        y += b[None, :, None, None]
    return y


def naive_conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                           groups=1, dilation=(1, 1)):
    """Reference transposed convolution: every input pixel scatters its weighted kernel."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + output_padding[0] + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + output_padding[1] + 1
    full = np.zeros((n, og * groups, ho + 2 * ph + sh, wo + 2 * pw + sw))
    cg = c // groups
    for ci in range(c):
        g = ci // cg
        for i in range(h):
            for j in range(wd):
                for a in range(kh):
                    for bb in range(kw):
                        full[:, g * og:(g + 1) * og, i * sh + a * dh, j * sw + bb * dw] += (
                            x[:, ci, i, j][:, None] * w[ci, :, a, bb][None, :]
                        )
    y = full[:, :, ph:ph + ho, pw:pw + wo]
    if b is not None:
        y = y + b[None, :, None, None]
    return y


# (input shape, weight shape, kwargs): strides, padding, dilation, groups, odd sizes.
CONV2D = [
    ((2, 3, 6, 5), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ((1, 4, 7, 7), (6, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((2, 4, 5, 6), (4, 1, 2, 3), dict(padding=1, groups=4)),  # depthwise
    ((2, 2, 6, 6), (3, 2, 4, 4), dict(stride=2, padding=1)),  # DCGAN-style downsampling
    ((1, 1, 8, 8), (2, 1, 5, 5), dict(padding=2)),  # LeNet-style
]
CONV_T2D = [
    ((2, 3, 4, 3), (3, 2, 3, 3), {}),
    ((2, 2, 3, 4), (2, 3, 4, 4), dict(stride=2, padding=1)),  # DCGAN-style upsampling
    ((1, 4, 3, 3), (4, 2, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                      groups=2, dilation=(1, 2))),
    ((2, 2, 4, 4), (2, 1, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 2, 4, 3), (2, 2, 2, 2), dict(dilation=2, output_padding=1)),  # output_padding < dilation
]


def _pairs(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _naive_conv(x, w, b, kw):
    p = _pairs(kw.get("padding", 0))
    return naive_conv2d(x, w, b, _pairs(kw.get("stride", 1)), ((p[0], p[0]), (p[1], p[1])),
                        _pairs(kw.get("dilation", 1)), kw.get("groups", 1))


def _naive_conv_t(x, w, b, kw):
    return naive_conv_transpose2d(
        x, w, b, _pairs(kw.get("stride", 1)), _pairs(kw.get("padding", 0)),
        _pairs(kw.get("output_padding", 0)), kw.get("groups", 1), _pairs(kw.get("dilation", 1)))


@pytest.mark.parametrize("xs, ws, kw", CONV2D)
def test_conv2d_matches_naive_loop(rng, xp, xs, ws, kw):
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    y = F.conv2d(cr.tensor(xp.asarray(x)), cr.tensor(xp.asarray(w)), cr.tensor(xp.asarray(b)), **kw)
    np.testing.assert_allclose(y.numpy(), _naive_conv(x, w, b, kw), rtol=1e-12, atol=1e-12)
    y32 = F.conv2d(cr.tensor(x.astype(np.float32)), cr.tensor(w.astype(np.float32)), **kw)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), _naive_conv(x, w, None, kw), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("xs, ws, kw", CONV_T2D)
def test_conv_transpose2d_matches_naive_loop(rng, xp, xs, ws, kw):
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kw.get("groups", 1))
    y = F.conv_transpose2d(cr.tensor(xp.asarray(x)), cr.tensor(xp.asarray(w)),
                           cr.tensor(xp.asarray(b)), **kw)
    np.testing.assert_allclose(y.numpy(), _naive_conv_t(x, w, b, kw), rtol=1e-12, atol=1e-12)


def test_conv1d_and_conv_transpose1d_match_the_2d_reference(rng):
    x, w = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 2, 3))
    y = F.conv1d(cr.tensor(x), cr.tensor(w), stride=2, padding=2, dilation=2, groups=2)
    ref = naive_conv2d(x[:, :, None], w[:, :, None], None, (1, 2), ((0, 0), (2, 2)), (1, 2), 2)
    np.testing.assert_allclose(y.numpy(), ref[:, :, 0], atol=1e-12)
    wt = rng.standard_normal((4, 3, 4))
    y = F.conv_transpose1d(cr.tensor(x), cr.tensor(wt), stride=3, padding=1, output_padding=2)
    ref = naive_conv_transpose2d(x[:, :, None], wt[:, :, None], None, (1, 3), (0, 1), (0, 2))
    assert y.shape == (2, 3, (11 - 1) * 3 - 2 + 3 + 2 + 1)
    np.testing.assert_allclose(y.numpy(), ref[:, :, 0], atol=1e-12)


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("k, dilation", [(3, 1), (4, 1), (2, 3), (4, 2)])
def test_same_padding_keeps_the_size_and_pads_the_extra_zero_after(rng, nd, k, dilation):
    spatial = (9, 8)[:nd]
    x, w = rng.standard_normal((2, 3) + spatial), rng.standard_normal((4, 3) + (k,) * nd)
    conv = F.conv1d if nd == 1 else F.conv2d
    y = conv(cr.tensor(x), cr.tensor(w), padding="same", dilation=dilation)
    assert y.shape == (2, 4) + spatial
    total = dilation * (k - 1)
    pads = ((total // 2, total - total // 2),)
    if nd == 1:
        ref = naive_conv2d(x[:, :, None], w[:, :, None], None, (1, 1), ((0, 0),) + pads,
                           (1, dilation))[:, :, 0]
    else:
        ref = naive_conv2d(x, w, None, (1, 1), pads * 2, (dilation, dilation))
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    valid = conv(cr.tensor(x), cr.tensor(w), padding="valid", dilation=dilation)
    np.testing.assert_allclose(valid.numpy(), conv(cr.tensor(x), cr.tensor(w),
                                                   dilation=dilation).numpy())


def test_transposed_convolution_is_the_adjoint_of_convolution(rng):
    kw = dict(stride=2, padding=1, dilation=2, groups=2)
    x, w = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2))
    y = F.conv2d(cr.tensor(x), cr.tensor(w), **kw)
    u = rng.standard_normal(y.shape)
    back = F.conv_transpose2d(cr.tensor(u), cr.tensor(w), output_padding=(0, 1), **kw)
    assert back.shape == x.shape
    np.testing.assert_allclose((y.numpy() * u).sum(), (x * back.numpy()).sum(), rtol=1e-12)


@pytest.mark.parametrize("case", range(4))
def test_conv2d_gradcheck_and_gradgradcheck(rng, case):
    xs, ws, kw = [
        ((2, 2, 5, 4), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
        ((1, 4, 5, 5), (4, 2, 2, 3), dict(padding=(0, 1), dilation=(2, 1), groups=2)),
        ((2, 2, 4, 4), (2, 1, 3, 3), dict(padding="same", groups=2)),
        ((1, 2, 5, 5), (2, 2, 2, 2), dict(stride=2, padding="valid")),
    ][case]
    x, w, b = leaf(rng, xs), leaf(rng, ws), leaf(rng, (ws[0],))

    def f(x, w, b):
        return F.conv2d(x, w, b, **kw)

    assert cr.gradcheck(f, (x, w, b))
    assert cr.gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("case", range(3))
def test_conv_transpose2d_gradcheck_and_gradgradcheck(rng, case):
    xs, ws, kw = [
        ((2, 2, 3, 3), (2, 3, 3, 2), dict(stride=2, padding=1, output_padding=1)),
        ((1, 4, 2, 3), (4, 1, 2, 2), dict(stride=(1, 2), groups=2, dilation=(2, 1))),
        ((1, 2, 3, 2), (2, 2, 2, 2), dict(dilation=2, output_padding=1)),
    ][case]
    x, w = leaf(rng, xs), leaf(rng, ws)
    b = leaf(rng, (ws[1] * kw.get("groups", 1),))

    def f(x, w, b):
        return F.conv_transpose2d(x, w, b, **kw)

    assert cr.gradcheck(f, (x, w, b))
    assert cr.gradgradcheck(f, (x, w, b))


def test_conv1d_and_conv_transpose1d_gradcheck_and_gradgradcheck(rng):
    x, w, b = leaf(rng, (2, 4, 7)), leaf(rng, (2, 2, 3)), leaf(rng, (2,))

    def f(x, w, b):
        return F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2)

    assert cr.gradcheck(f, (x, w, b)) and cr.gradgradcheck(f, (x, w, b))
    x, w = leaf(rng, (2, 2, 4)), leaf(rng, (2, 3, 3))

    def g(x, w):
        return F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1)

    assert cr.gradcheck(g, (x, w)) and cr.gradgradcheck(g, (x, w))


def test_gradient_penalty_through_conv_is_differentiable(rng):
    """d/dw of ||d<u, conv(x, w)>/dx||^2, checked against finite differences via gradcheck."""
    x, w = leaf(rng, (1, 2, 5, 5)), leaf(rng, (3, 2, 3, 3))
    u = cr.tensor(rng.standard_normal((1, 3, 3, 3)))

    def penalty(w):
        with cr.enable_grad():  # gradcheck evaluates fn under no_grad
            (gx,) = cr.grad(F.conv2d(x, w, stride=1), x, u, create_graph=True)
            return gx * gx

    assert cr.gradcheck(penalty, w)


def test_float32_gradients_stay_float32_and_only_needed_grads_are_computed(rng):
    x = cr.tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    w = leaf(rng, (4, 3, 3, 3), np.float32)
    b = leaf(rng, (4,), np.float32)
    F.conv2d(x, w, b, padding=1).sum().backward()
    assert x.grad is None
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 2 * 6 * 6), rtol=1e-6)


def test_no_graph_without_requires_grad(rng):
    x, w = rng.standard_normal((1, 1, 4, 4)), np.ones((1, 1, 2, 2))
    y = F.conv2d(cr.tensor(x), cr.tensor(w))
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_allclose(y.numpy(), naive_conv2d(x, w), atol=1e-12)


def _torch_pair(torch, arrays):
    return [torch.tensor(a, requires_grad=True) for a in arrays]


_CONV2D_MATCHES_TORCH = CONV2D + [((2, 3, 7, 6), (4, 3, 4, 3),
                                                  dict(padding="same", dilation=(1, 2)))]


def _conv2d_matches_torch_case(rng, xs, ws, kw):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = _torch_pair(torch, arrays)
    y = F.conv2d(*ours, **kw)
    with warnings.catch_warnings():  # torch warns that even-kernel 'same' padding copies the input
        warnings.simplefilter("ignore", UserWarning)
        ty = torch.nn.functional.conv2d(*theirs, **kw)
    g = rng.standard_normal(ty.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_conv2d_matches_torch():
    each_case(with_rng(_conv2d_matches_torch_case), grid(
        ("xs, ws, kw", _CONV2D_MATCHES_TORCH),
    ))


def _conv_transpose2d_matches_torch_case(rng, xs, ws, kw):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws),
              rng.standard_normal(ws[1] * kw.get("groups", 1))]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = _torch_pair(torch, arrays)
    y = F.conv_transpose2d(*ours, **kw)
    ty = torch.nn.functional.conv_transpose2d(*theirs, **kw)
    g = rng.standard_normal(ty.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_conv_transpose2d_matches_torch():
    each_case(with_rng(_conv_transpose2d_matches_torch_case), grid(
        ("xs, ws, kw", CONV_T2D),
    ))


@pytest.mark.torch
@pytest.mark.parametrize("transposed", [False, True])
def test_1d_convolutions_match_torch_in_float32(rng, transposed):
    torch = pytest.importorskip("torch")
    if transposed:
        shapes, kw = ((4, 8, 20), (8, 3, 5), (6,)), dict(stride=2, padding=1, output_padding=1,
                                                         groups=2)
        ours_fn, torch_fn = F.conv_transpose1d, torch.nn.functional.conv_transpose1d
    else:
        shapes, kw = ((4, 8, 20), (6, 4, 5), (6,)), dict(padding="same", dilation=2, groups=2)
        ours_fn, torch_fn = F.conv1d, torch.nn.functional.conv1d
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = _torch_pair(torch, arrays)
    y = ours_fn(*ours, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ty = torch_fn(*theirs, **kw)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


def _t(shape, dtype=np.float32):
    return cr.tensor(np.zeros(shape, dtype=dtype))


_ERRORS_NAME_THE_FUNCTION_AND_SHOW_THE_VALUES = [
    (lambda: F.conv2d(_t((28, 28)), _t((6, 1, 5, 5))),
     r"conv2d: input must be 3-D \(C, H, W\) or 4-D \(N, C, H, W\), got shape \(28, 28\)"),
    (lambda: F.conv1d(_t((2, 3, 4, 5)), _t((6, 3, 3))),
     r"conv1d: input must be 2-D \(C, L\) or 3-D \(N, C, L\)"),
    (lambda: F.conv2d(_t((2, 3, 8, 8)), _t((6, 3, 3))), r"conv2d: weight must be 4-D"),
    (lambda: F.conv2d(_t((2, 3, 8, 8)), _t((6, 2, 3, 3))),
     r"input has 3 channels but weight expects 2 .*\(2, 3, 8, 8\).*\(6, 2, 3, 3\)"),
    (lambda: F.conv2d(_t((2, 4, 8, 8)), _t((6, 2, 3, 3)), groups=3),
     r"groups=3 does not divide in_channels=4"),
    (lambda: F.conv2d(_t((2, 4, 8, 8)), _t((5, 2, 3, 3)), groups=2),
     r"groups=2 does not divide out_channels=5"),
    (lambda: F.conv2d(_t((2, 4, 8, 8)), _t((6, 2, 3, 3)), groups=0), r"groups must be a positive"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 6, 3))),
     r"conv2d: kernel size \(6, 3\) .*spans 6 but the padded input is only 4 wide"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 3, 3)), dilation=2),
     r"spans 5 but the padded input is only 4"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 3, 3)), stride=0),
     r"conv2d: stride must be positive, got 0"),
    (lambda: F.conv1d(_t((1, 1, 4)), _t((1, 1, 3)), stride=-1), r"stride must be positive"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 3, 3)), padding=-1),
     r"padding must be non-negative"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 3, 3)), padding=(1, 1, 1)),
     r"padding must have 2 entries"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 3, 3)), stride=1.5),
     r"stride must be an int or a tuple of 2 ints, got 1.5"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 3, 3)), padding="full"),
     r"padding must be an int, a tuple, 'valid' or 'same', got 'full'"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((1, 1, 3, 3)), padding="same", stride=2),
     r"padding='same' needs stride 1"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((2, 1, 3, 3)), _t((3,))),
     r"bias must have shape \(2,\), got \(3,\)"),
    (lambda: F.conv2d(_t((1, 1, 4, 4)), _t((2, 1, 3, 3), np.float64)),
     r"input dtype float32 and weight dtype float64 differ"),
    (lambda: F.conv2d(_t((1, 1, 4, 4), np.int64), _t((2, 1, 3, 3))),
     r"input dtype int64 and weight dtype float32 differ"),  # integers: both int (fuzz25)
    (lambda: F.conv_transpose2d(_t((1, 3, 4, 4)), _t((2, 1, 3, 3))),
     r"conv_transpose2d: input has 3 channels but weight expects 2"),
    (lambda: F.conv_transpose2d(_t((1, 2, 4, 4)), _t((2, 1, 3, 3)), stride=2, output_padding=2),
     r"output_padding 2 must be smaller than stride"),
    (lambda: F.conv_transpose2d(_t((1, 2, 1, 1)), _t((2, 1, 1, 1)), padding=1),
     r"the output would be -1 wide"),
    (lambda: F.conv_transpose1d(_t((1, 3, 4)), _t((3, 1, 3)), groups=2),
     r"groups=2 does not divide in_channels=3"),
    # empty filters, channels or kernels were a silent bias-only result or a reshape error
    (lambda: F.conv2d(_t((2, 3, 5, 5)), _t((4, 3, 0, 3)), _t((4,))),
     r"conv2d: weight must not be empty .*\(4, 3, 0, 3\)"),
    (lambda: F.conv2d(_t((2, 3, 5, 5)), _t((0, 3, 3, 3))), r"conv2d: weight must not be empty"),
    (lambda: F.conv2d(_t((2, 0, 5, 5)), _t((4, 0, 3, 3))), r"conv2d: weight must not be empty"),
    (lambda: F.conv_transpose2d(_t((2, 3, 5, 5)), _t((3, 4, 0, 3))),
     r"conv_transpose2d: weight must not be empty"),
    (lambda: F.conv_transpose1d(_t((2, 0, 5)), _t((0, 4, 3))),
     r"conv_transpose1d: weight must not be empty"),
    # an empty image (PyTorch allows an empty batch only): was a ZeroDivisionError
    (lambda: F.conv_transpose2d(_t((2, 3, 0, 5)), _t((3, 4, 1, 1))),
     r"conv_transpose2d: input must have a non-empty spatial size, got shape \(2, 3, 0, 5\)"),
    (lambda: F.conv2d(_t((2, 3, 0, 5)), _t((4, 3, 1, 1)), padding=1),
     r"conv2d: input must have a non-empty spatial size"),
]


def _errors_name_the_function_and_show_the_values_case(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


@pytest.mark.kernel_free
def test_errors_name_the_function_and_show_the_values():
    each_case(_errors_name_the_function_and_show_the_values_case, grid(
        ("call, message", _ERRORS_NAME_THE_FUNCTION_AND_SHOW_THE_VALUES),
    ))


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("nd", [1, 2])
def test_an_empty_batch_gives_empty_outputs_and_zero_filter_gradients(rng, nd, transposed):
    """A batch of zero images, as PyTorch allows (the reference's transposed convolution, the
    input gradient, reshaped with a -1 that an empty batch leaves undetermined)."""
    x = leaf(rng, (0, 4) + (5,) * nd)
    w = leaf(rng, ((4, 3) if transposed else (6, 2)) + (3,) * nd)
    b = leaf(rng, (6,))
    op = getattr(F, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")
    y = op(x, w, b, stride=2, padding=1, groups=2)
    size = 9 if transposed else 3
    assert y.shape == (0, 6) + (size,) * nd
    y.backward(cr.tensor(np.ones(y.shape)))
    assert x.grad.shape == x.shape
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(w.shape))
    np.testing.assert_array_equal(b.grad.numpy(), np.zeros(6))


def test_rebuilt_columns_give_the_same_filter_gradient(rng, monkeypatch):
    """Columns too big to keep (over config.keep_columns_mib) are rebuilt in the backward: same
    result."""
    x = rng.standard_normal((4, 3, 12, 11)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    kept = _grads(x, w)
    monkeypatch.setattr(cr.config, "keep_columns_mib", 0)
    rebuilt = _grads(x, w)
    for a, b in zip(kept, rebuilt):
        np.testing.assert_array_equal(a, b)


def _grads(x, w):
    t, k = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    y = cr.F.conv2d(t, k, padding=1)
    y.backward(cr.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(np.float32)))
    return y.numpy().copy(), t.grad.numpy().copy(), k.grad.numpy().copy()


@pytest.mark.parametrize("stride,padding,dilation", [(1, 2, 1), (2, 1, 1), (1, 0, 2)])
def test_blocked_columns_give_the_whole_columns_result(rng, monkeypatch, stride, padding,
                                                       dilation):
    """Skinny convolutions multiply their columns a few output rows at a time (_row_blocks):
    the same output and gradients as the columns built whole, to rounding (blocks add up the
    filter gradient in another order)."""
    from chainrule.kernels import convolution, im2col
    from chainrule.ops import _windows

    x = rng.standard_normal((5, 2, 13, 12)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)

    def grads():
        t, k = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
        y = F.conv2d(t, k, stride=stride, padding=padding, dilation=dilation)
        y.backward(cr.tensor(np.cos(np.arange(y.numel())).reshape(y.shape).astype(np.float32)))
        return y.numpy().copy(), t.grad.numpy().copy(), k.grad.numpy().copy()

    whole = grads()
    monkeypatch.setattr(convolution, "_BLOCK_FROM", 0)
    monkeypatch.setattr(convolution, "_SMALL_GEMM", 3 * 2 * 9 * 12 * 5 * 2)  # two rows a block
    view = im2col.im2col_view(cr.tensor(x)._data, (3, 3), whole[0].shape[2:],
                              _windows.conv_setup("conv2d", 2, x.shape, x.dtype, w.shape, w.dtype,
                                                  None, stride, padding, dilation, 1)[0])
    assert 1 <= convolution._row_blocks(view, 3) < whole[0].shape[2]  # really blocked
    blocked = grads()
    for a, b in zip(whole, blocked):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.fast_kernels
def test_keep_columns_setting_decides_what_the_forward_keeps(monkeypatch, rng):
    """config.keep_columns_mib is read at each call: columns over it are not kept."""
    x = cr.tensor(rng.standard_normal((8, 3, 12, 12)).astype(np.float32))
    w = cr.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    assert F.conv2d(x, w)._ctx.reuse.cols is not None
    monkeypatch.setattr(cr.config, "keep_columns_mib", 0)
    assert F.conv2d(x, w)._ctx.reuse is None
