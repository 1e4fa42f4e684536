"""Fuzz wave 17: resampling against PyTorch 2.13, beyond wave 12's (``test_fuzz12_resample.py``).

Before this wave ``interpolate(..., antialias=True)`` resampled an axis whose size does not change
with the step of its ``scale_factor`` (a (4, 3) image by 1.3 keeps its 3 columns, the step
1 / 1.3 moved them); PyTorch's separable kernel copies such an axis, as its plain bilinear one
does: a silent difference of up to the input's range. (PyTorch's backward does not copy the axis:
its gradient there is not its forward's, and fails its own ``gradcheck``; chainrule's passes.)
"""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def F(lib):  # noqa: N802 - the usual alias
    return lib.nn.functional


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
    for mode in ("bilinear", "bicubic"):
        got = F(cr).interpolate(cr.tensor(x), size=[3, 1], mode=mode, antialias=True)
        ref = F(torch).interpolate(torch.tensor(x).transpose(2, 3), size=[1, 3], mode=mode,
                                   antialias=True).transpose(2, 3)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-13, atol=1e-15)
