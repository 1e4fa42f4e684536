"""F.interpolate(antialias=True) (ops/resample_aa.py) against PyTorch: bilinear and bicubic,
shrinking and growing, by size, scale_factor, recompute_scale_factor and align_corners; values
and gradients (float64), float32 to its rounding, gradient and second-order checks."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling

from .._case_loop import each_case, grid, with_rng
from ._torch_compare import compare

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free
TF = torch.nn.functional

CASES = [
    ((2, 3, 9, 7), dict(size=(4, 3))),
    ((1, 2, 5, 6), dict(size=(11, 13))),
    ((1, 1, 8, 8), dict(scale_factor=0.37)),
    ((1, 1, 8, 9), dict(scale_factor=(0.5, 1.7))),
    ((1, 2, 7, 9), dict(size=(3, 4), align_corners=True)),
    ((1, 1, 6, 6), dict(scale_factor=0.6, recompute_scale_factor=True)),
    ((1, 1, 10, 10), dict(size=(10, 3))),
    ((1, 1, 9, 9), dict(size=(1, 1), align_corners=True)),
]


def _antialiased_interpolate_matches_torch_case(rng, shape, kw, mode):
    # antialias=True was a NotImplementedError; timm resamples a ViT's position embedding
    # with F.interpolate(mode="bicubic", antialias=True)
    x = rng.standard_normal(shape)
    compare(lambda a: F.interpolate(a, mode=mode, antialias=True, **kw),
            lambda a: TF.interpolate(a, mode=mode, antialias=True, **kw), [x], rng, tol=1e-12)


def test_antialiased_interpolate_matches_torch():
    each_case(with_rng(_antialiased_interpolate_matches_torch_case), grid(
        ("shape, kw", CASES, [f"{s}-{k}" for s, k in CASES]),
        ("mode", ["bilinear", "bicubic"]),
    ))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialiased_interpolate_float32_and_its_difference_from_the_plain_kernel(rng, mode):
    x = rng.standard_normal((2, 3, 12, 10)).astype(np.float32)
    y = F.interpolate(cr.tensor(x), size=(5, 4), mode=mode, antialias=True)
    want = TF.interpolate(torch.tensor(x), size=(5, 4), mode=mode, antialias=True)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    plain = F.interpolate(cr.tensor(x), size=(5, 4), mode=mode, antialias=False)
    assert np.abs(plain.numpy() - y.numpy()).max() > 1e-2
    # a constant image stays constant: the taps are normalised to sum 1
    ones = F.interpolate(cr.ones(1, 1, 7, 7), size=(3, 2), mode=mode, antialias=True)
    np.testing.assert_allclose(ones.numpy(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialiased_interpolate_gradcheck(rng, mode):
    x = cr.tensor(rng.standard_normal((1, 2, 6, 5)), requires_grad=True)
    for kw in (dict(size=(3, 2)), dict(scale_factor=1.6)):
        assert cr.gradcheck(lambda a: F.interpolate(a, mode=mode, antialias=True, **kw), [x])
        assert cr.gradgradcheck(
            lambda a: F.interpolate(a, mode=mode, antialias=True, **kw) ** 2, [x])
