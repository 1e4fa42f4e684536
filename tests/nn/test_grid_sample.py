"""F.affine_grid and F.grid_sample against PyTorch (values and gradients for input, grid and
theta), with gradient checks."""

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling

from .._case_loop import each_case, grid, with_rng
from ._torch_compare import compare

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _affine_grid_matches_torch_case(rng, size, align_corners):
    theta = rng.standard_normal((size[0], 2, 3))
    unit = align_corners and min(size[2:]) == 1  # both warn about a unit-size aligned grid
    if unit:
        with pytest.warns(UserWarning, match="unit-size grids"):
            F.affine_grid(cr.tensor(theta), size, align_corners)
    with warnings.catch_warnings():
        if unit:
            warnings.simplefilter("ignore", UserWarning)
        compare(lambda t: F.affine_grid(t, size, align_corners),
                lambda t: TF.affine_grid(t, size, align_corners), [theta], rng)


@pytest.mark.kernel_free
def test_affine_grid_matches_torch():
    each_case(with_rng(_affine_grid_matches_torch_case), grid(
        ("align_corners", [False, True]),
        ("size", [(2, 3, 4, 5), (1, 1, 1, 3), (2, 1, 3, 1)]),
    ))


@pytest.mark.kernel_free
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("spread", [1.3, 4.0])
def test_grid_sample_matches_torch(rng, mode, padding_mode, align_corners, spread):
    x = rng.standard_normal((2, 3, 4, 6))
    grid = rng.uniform(-spread, spread, (2, 3, 5, 2))  # positions outside, reflected repeatedly
    compare(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align_corners),
            lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align_corners), [x, grid], rng,
            grad=[0] if mode == "nearest" else [0, 1])


@pytest.mark.kernel_free
@pytest.mark.parametrize("mode,padding_mode", [
    ("bilinear", "zeros"), ("bilinear", "border"), ("bilinear", "reflection"),
    ("bicubic", "zeros"), ("bicubic", "border"), ("bicubic", "reflection"),
])
def test_grid_sample_gradcheck(rng, mode, padding_mode):
    x = cr.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    grid = cr.tensor(rng.uniform(-2.5, 2.5, (1, 2, 3, 2)), requires_grad=True)
    fn = lambda a, g: F.grid_sample(a, g, mode, padding_mode, False)  # noqa: E731
    assert cr.gradcheck(fn, [x, grid])
    assert cr.gradgradcheck(fn, [x, grid])


@pytest.mark.kernel_free
@pytest.mark.parametrize("align_corners", [False, True])
def test_reflection_of_a_single_pixel_axis(align_corners):
    """An axis of one pixel: aligned, every position reflects to it with gradient 0 (a zero, as
    PyTorch's, not None); unaligned, positions mirror about its outer edges."""
    x = np.array([[[[1.0, 2.0, 3.0]]]])
    g = np.array([[[[0.3, 0.9], [-0.6, -2.7], [1.7, 0.2]]]])
    gc, gt = cr.tensor(g, requires_grad=True), torch.tensor(g, requires_grad=True)
    out = F.grid_sample(cr.tensor(x), gc, "bilinear", "reflection", align_corners)
    want = TF.grid_sample(torch.tensor(x), gt, "bilinear", "reflection", align_corners)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(gc.grad.numpy(), gt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
def test_spatial_transformer_gradient_reaches_theta(rng):
    x = rng.standard_normal((2, 1, 5, 5))
    theta = np.array([[[0.9, 0.1, 0.05], [-0.1, 1.1, 0.0]]] * 2) + rng.normal(0, 0.05, (2, 2, 3))
    compare(lambda a, t: F.grid_sample(a, F.affine_grid(t, (2, 1, 4, 4), False),
                                       align_corners=False),
            lambda a, t: TF.grid_sample(a, TF.affine_grid(t, (2, 1, 4, 4), False),
                                        align_corners=False), [x, theta], rng)
    t = cr.tensor(theta, requires_grad=True)
    assert cr.gradcheck(lambda t: F.affine_grid(t, (2, 1, 3, 3), True), [t])


@pytest.mark.kernel_free
def test_default_align_corners_warns_like_torch():
    theta = np.eye(2, 3)[None]
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        grid = F.affine_grid(cr.tensor(theta), (1, 1, 2, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(cr.tensor(np.ones((1, 1, 2, 2))), grid)
    for name in ("affine_grid", "grid_sample"):
        assert list(inspect.signature(getattr(F, name)).parameters) == \
            list(inspect.signature(getattr(TF, name)).parameters)


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda x, g: F.grid_sample(x, g, "area", align_corners=False), ValueError,
     "mode must be 'bilinear', 'nearest' or 'bicubic', got 'area'"),
    (lambda x, g: F.grid_sample(x, g, padding_mode="circular", align_corners=False),
     ValueError, "padding_mode must be 'zeros', 'border' or 'reflection', got 'circular'"),
    (lambda x, g: F.grid_sample(cr.zeros((1, 1, 2, 3, 4), dtype=cr.float64),
                                cr.zeros((1, 1, 1, 1, 3), dtype=cr.float64), "bicubic",
                                align_corners=False), ValueError, "'bicubic' takes 4-D input"),
    (lambda x, g: F.grid_sample(x, g[..., :1], align_corners=False), ValueError,
     r"got \(1, 2, 3, 4\) and \(1, 3, 3, 1\)"),
    (lambda x, g: F.affine_grid(cr.ones((1, 3, 3)), (1, 2, 3, 4), False), ValueError,
     r"theta must have shape \(N, 2, 3\) = \(1, 2, 3\) .* got \(1, 3, 3\)"),
    (lambda x, g: F.affine_grid(cr.ones((1, 2, 3)), (1, 2, 3), False), ValueError,
     r"\(N, C, H, W\) or \(N, C, D, H, W\), got \(1, 2, 3\)"),
    (lambda x, g: F.affine_grid(cr.ones((1, 2, 3)), (1, 2, 3, 4, 5), False), ValueError,
     r"theta must have shape \(N, 3, 4\)"),
    (lambda x, g: F.grid_sample(x, cr.zeros((1, 3, 3, 3, 3), dtype=cr.float64),
                                align_corners=False), ValueError, r"\(N, C, D, H, W\) with grid"),
]


def _bad_arguments_are_named_case(call, err, match):
    x, g = cr.tensor(np.zeros((1, 2, 3, 4))), cr.tensor(np.zeros((1, 3, 3, 2)))
    with pytest.raises(err, match=match):
        call(x, g)


@pytest.mark.kernel_free
def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid(("call, err, match", _BAD_ARGUMENTS_ARE_NAMED)))


@pytest.mark.kernel_free
@pytest.mark.parametrize("align_corners", [False, True])
def test_border_padding_grid_gradient_is_zero_on_the_border(align_corners):
    """PyTorch counts a position exactly on the border as outside for the gradient (the clip's
    derivative is 0 there); chainrule's clip passed 1, so grid x = 1.0 with align_corners=True
    got -3.95 where PyTorch gives 0."""
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    g = np.array([[[[1.0, 0.3], [-1.0, -0.2], [0.5, 1.0], [2.0, 0.1], [-1.0, 1.0]]]])
    gc = cr.tensor(g, requires_grad=True)
    F.grid_sample(cr.tensor(x), gc, padding_mode="border",
                  align_corners=align_corners).sum().backward()
    gt = torch.tensor(g, requires_grad=True)
    TF.grid_sample(torch.tensor(x), gt, padding_mode="border",
                   align_corners=align_corners).sum().backward()
    np.testing.assert_allclose(gc.grad.numpy(), gt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_border_padding_clips_infinite_and_nan_positions_as_torch(mode):
    """padding_mode='border' clips an infinite grid position to its edge and a NaN one to 0,
    as PyTorch's CPU kernel (NaN gave NaN outputs; inf did too after the border-gradient fix)."""
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    g = np.array([[[[np.nan, 0.0], [np.inf, 0.0], [-np.inf, 0.5], [1e20, 0.0], [0.2, -3e9]]]])
    for align_corners in (False, True):
        got = F.grid_sample(cr.tensor(x), cr.tensor(g), mode=mode, padding_mode="border",
                            align_corners=align_corners)
        want = TF.grid_sample(torch.tensor(x), torch.tensor(g), mode=mode, padding_mode="border",
                              align_corners=align_corners)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_volumes_are_sampled_trilinearly_as_in_torch(rng, mode, padding_mode, align_corners):
    """5-D input with a 3-D grid (VoxelMorph's spatial transformer, 3-D STNs) was refused: the
    eight corners of each position, x weight first, z outermost, as PyTorch's kernel; the grid
    from a 3-D affine_grid (theta (N, 3, 4))."""
    x = rng.standard_normal((2, 2, 3, 4, 5))
    theta = np.tile(np.eye(3, 4), (2, 1, 1)) + 0.3 * rng.standard_normal((2, 3, 4))
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ours_x = cr.tensor(x, requires_grad=True)
    ours_t = cr.tensor(theta, requires_grad=True)
    grid = F.affine_grid(ours_t, (2, 2, 4, 3, 2), align_corners=align_corners)
    out = F.grid_sample(ours_x, grid, **kw)
    tx = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(theta, requires_grad=True)
    tgrid = TF.affine_grid(tt, (2, 2, 4, 3, 2), align_corners=align_corners)
    want = TF.grid_sample(tx, tgrid, **kw)
    np.testing.assert_allclose(grid.detach().numpy(), tgrid.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    w = rng.standard_normal(want.shape)
    (out * cr.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    if mode == "bilinear":
        np.testing.assert_allclose(ours_t.grad.numpy(), tt.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.kernel_free
def test_trilinear_grid_sample_gradcheck(rng):
    x = cr.tensor(rng.standard_normal((1, 1, 2, 3, 2)), requires_grad=True)
    g = cr.tensor(rng.uniform(-0.9, 0.9, (1, 2, 1, 2, 3)), requires_grad=True)
    assert cr.gradcheck(lambda a, b: F.grid_sample(a, b, align_corners=False), [x, g])
    assert cr.gradgradcheck(lambda a, b: F.grid_sample(a, b, align_corners=True) ** 2, [x, g])
