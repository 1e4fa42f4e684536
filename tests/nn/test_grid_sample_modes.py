"""F.grid_sample's padding_mode="reflection" and mode="bicubic" (ops/grid_sample.py) against
PyTorch: every mode with every padding, aligned or not, 4-D and 5-D, grids inside, outside and
far outside; values and gradients of input and grid (float64), float32 to its rounding, and
gradient and second-order checks."""

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free
TF = torch.nn.functional

COMBOS = [(m, p, a) for m, p, a in itertools.product(
    ["bilinear", "nearest", "bicubic"], ["zeros", "border", "reflection"], [False, True])
    if "reflection" in p or m == "bicubic"]


def _both(x0, g0, **kw):
    out = {}
    for L in (cr, torch):
        x = L.tensor(x0, requires_grad=True)
        g = L.tensor(g0, requires_grad=True)
        y = L.nn.functional.grid_sample(x, g, **kw)
        w = np.cos(np.arange(y.numel()) * 0.7).reshape(tuple(y.shape))
        (y * L.tensor(w)).sum().backward()
        out[L.__name__] = [y.detach().numpy(), x.grad.numpy(),
                           np.zeros_like(g0) if g.grad is None else g.grad.numpy()]
    return out["chainrule"], out["torch"]


@pytest.mark.parametrize("mode, padding_mode, align_corners", COMBOS)
def test_reflection_padding_and_bicubic_mode_match_pytorch(mode, padding_mode, align_corners):
    # both were a NotImplementedError
    rng = np.random.default_rng(len(mode) + len(padding_mode) + align_corners)
    shapes = [(2, 3, 5, 6), (1, 2, 1, 4)] + ([(1, 2, 3, 4, 5)] if mode != "bicubic" else [])
    for shape, spread in itertools.product(shapes, [1.0, 2.5, 9.0]):
        nd = len(shape) - 2
        g0 = rng.uniform(-spread, spread, (shape[0],) + (4,) * nd + (nd,))
        if mode == "nearest":
            g0 = np.round(g0 * 7) / 7 + 0.013  # away from ties
        ours, theirs = _both(rng.standard_normal(shape), g0, mode=mode,
                             padding_mode=padding_mode, align_corners=align_corners)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_reflection_and_bicubic_in_float32(mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    g = rng.uniform(-1.8, 1.8, (2, 4, 3, 2)).astype(np.float32)
    kw = dict(mode=mode, padding_mode="reflection", align_corners=False)
    y = F.grid_sample(cr.tensor(x), cr.tensor(g), **kw)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), TF.grid_sample(torch.tensor(x), torch.tensor(g),
                                                         **kw).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode, padding_mode", [("bilinear", "reflection"),
                                                ("bicubic", "zeros"), ("bicubic", "reflection"),
                                                ("bicubic", "border")])
@pytest.mark.parametrize("align_corners", [False, True])
def test_reflection_and_bicubic_gradcheck(mode, padding_mode, align_corners):
    rng = np.random.default_rng(4)
    x = cr.tensor(rng.standard_normal((1, 1, 3, 4)), requires_grad=True)
    g = cr.tensor(rng.uniform(-1.7, 1.7, (1, 2, 1, 2)), requires_grad=True)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    assert cr.gradcheck(lambda a, b: F.grid_sample(a, b, **kw), [x, g])


def test_bicubic_with_reflection_gradgradcheck():
    rng = np.random.default_rng(5)
    x = cr.tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    g = cr.tensor(rng.uniform(-1.6, 1.6, (1, 1, 2, 2)), requires_grad=True)
    kw = dict(mode="bicubic", padding_mode="reflection", align_corners=False)
    assert cr.gradgradcheck(lambda a, b: F.grid_sample(a, b, **kw) ** 2, [x, g])
