"""Fuzz wave 14, continued (see test_fuzz14_convpool.py): what the option matrix found beyond
it. ``F.unfold``/``F.fold`` refused complex input (a TypeError), which PyTorch's take."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("kw", [dict(kernel_size=2),
                                dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
                                dict(kernel_size=3, padding=(0, 2), stride=2)])
@pytest.mark.parametrize("batched", [True, False])
def test_complex_unfold_and_fold_against_pytorch(kw, batched):
    rng = np.random.default_rng(1460)
    shape = (2, 3, 5, 6) if batched else (3, 5, 6)
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    found = []
    for lib in (torch, cr):
        t = lib.tensor(x, requires_grad=True)
        cols = lib.nn.functional.unfold(t, **kw)
        w = lib.tensor(np.random.default_rng(1).standard_normal(tuple(cols.shape)) * (1 - 0.5j))
        image = lib.nn.functional.fold(cols * w, (5, 6), **kw)
        (image * image.conj()).real.sum().backward()  # a real loss of complex values
        found.append([a.detach().numpy() for a in (cols, image, t.grad)])
    for what, ours, theirs in zip(("unfold", "fold", "gradient"), found[1], found[0]):
        assert ours.dtype == theirs.dtype == np.complex128, what
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=what)


def test_unfold_and_fold_still_refuse_integers():
    x = cr.arange(16).reshape(1, 1, 4, 4)  # PyTorch's im2col/col2im refuse int64 too
    with pytest.raises(TypeError, match="unfold: input must have a floating-point dtype"):
        cr.nn.functional.unfold(x, 2)
    with pytest.raises(TypeError, match="fold: input must have a floating-point dtype"):
        cr.nn.functional.fold(x.reshape(1, 4, 4), 3, 2)
