"""grid_sample(mode="nearest"): the grid's gradient is zeros, as PyTorch's (it was None), and the
input's is PyTorch's."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free


def _the_grids_gradient_is_zeros_and_the_inputs_is_torchs_case(nd, padding_mode, align_corners):
    rng = np.random.default_rng(nd)
    x0 = rng.standard_normal((2, 3, *(4,) * nd))
    g0 = rng.uniform(-1.3, 1.3, (2, *(3,) * nd, nd))
    w0 = rng.standard_normal((2, 3, *(3,) * nd))
    got, want = [], []
    for lib, out in ((cr, got), (torch, want)):
        f = F if lib is cr else torch.nn.functional
        x = lib.tensor(x0, requires_grad=True)
        g = lib.tensor(g0, requires_grad=True)
        y = f.grid_sample(x, g, mode="nearest", padding_mode=padding_mode,
                          align_corners=align_corners)
        (y * lib.tensor(w0)).sum().backward()
        out += [y.detach().numpy(), x.grad.numpy(), g.grad.numpy()]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)
    assert not got[2].any()


def test_the_grids_gradient_is_zeros_and_the_inputs_is_torchs():
    each_case(_the_grids_gradient_is_zeros_and_the_inputs_is_torchs_case, grid(
        ("align_corners", [False, True]),
        ("padding_mode", ["zeros", "border", "reflection"]),
        ("nd", [2, 3]),
    ))


def test_only_the_grid_needs_a_gradient():
    x = cr.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    g = cr.tensor(np.zeros((1, 2, 2, 2)), requires_grad=True)
    y = F.grid_sample(x, g, mode="nearest", align_corners=True)
    assert y.requires_grad
    (gg,) = cr.autograd.grad(y.sum(), g)
    assert gg.shape == g.shape and not gg.numpy().any()
    np.testing.assert_array_equal(y.numpy(), np.full((1, 1, 2, 2), x.numpy()[0, 0, 2, 2]))
