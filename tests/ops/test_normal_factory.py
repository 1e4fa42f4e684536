"""``torch.normal(mean, std, size)`` of numbers is a factory: the default dtype, ``device=`` and
``requires_grad=`` as PyTorch's (d2l's ``w = torch.normal(0, 0.01, size=(2, 1),
requires_grad=True)`` was refused for the keyword, and the draws were float32 under a float64
default)."""

from __future__ import annotations

import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free


@pytest.mark.torch
def test_normal_of_numbers_takes_factory_keywords_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        w = lib.normal(0, 0.01, size=(2, 1), requires_grad=True)
        assert tuple(w.shape) == (2, 1) and w.requires_grad and w.is_leaf
        assert str(w.dtype).endswith("float32")
        x = lib.normal(0.0, 1.0, (3,), dtype=lib.float64, device="cpu")
        assert str(x.dtype).endswith("float64") and not x.requires_grad
        t = lib.normal(lib.zeros(2, dtype=lib.float64), 1.0)
        assert str(t.dtype).endswith("float64")
        previous = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)
        try:
            assert str(lib.normal(0, 1, (2,)).dtype).endswith("float64")
        finally:
            lib.set_default_dtype(previous)
    w = cr.normal(0, 0.01, size=(2, 1), requires_grad=True)
    (w * 3).sum().backward()
    assert w.grad.tolist() == [[3.0], [3.0]]
    with pytest.raises(TypeError, match="normal: only floating-point"):
        cr.normal(0, 1, (2,), dtype=cr.int64, requires_grad=True)
