"""A uint8 tensor index is PyTorch's (deprecated) boolean mask: older code writes
``x[(x != pad).byte()]`` and ``torch.where(mask.byte(), a, b)``. chainrule read a uint8 index as
integer positions (NumPy's rule), a silently wrong result, and refused a uint8 ``where``
condition; both now follow PyTorch, with its deprecation warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

X = np.arange(12.0).reshape(3, 4)
M = np.array([[1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0]], dtype=np.uint8)
INDEXES = {
    "mask": lambda lib: lib.tensor(M),
    "rows_and_slice": lambda lib: (lib.tensor(np.array([1, 0, 1], dtype=np.uint8)), slice(1, 3)),
    "columns": lambda lib: (slice(None), lib.tensor(np.array([1, 0, 1, 1], dtype=np.uint8))),
    "numpy_array": lambda lib: np.array([0, 1, 1], dtype=np.uint8),
}


def _run(lib, fn):
    """``fn()`` with warnings recorded; chainrule's must include the deprecation (PyTorch warns
    once per process for some of these, so its are not counted)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    if lib is cr:
        assert any("uint8" in str(w.message) and "deprecated" in str(w.message) for w in caught)
    return out


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_reading_and_its_gradient_match_pytorch(name):
    out = []
    for lib in (cr, torch):
        def step(lib=lib):
            x = lib.tensor(X, requires_grad=True)
            y = x[INDEXES[name](lib)]
            (y * lib.arange(y.numel(), dtype=lib.float64).reshape(y.shape)).sum().backward()
            return y.detach().numpy(), x.grad.numpy()

        out.append(_run(lib, step))
    for ours, theirs in zip(*out):
        np.testing.assert_array_equal(ours, theirs)


def test_writing_through_a_uint8_mask_matches_pytorch():
    out = []
    for lib in (cr, torch):
        t = lib.tensor(X)
        _run(lib, lambda lib=lib, t=t: t.__setitem__(lib.tensor(M), lib.tensor(
            [-1.0, -2.0, -3.0, -4.0, -5.0], dtype=lib.float64)))
        out.append(t.numpy())
    np.testing.assert_array_equal(out[0], out[1])


def test_where_takes_a_uint8_condition_as_pytorch():
    out = []
    for lib in (cr, torch):
        def step(lib=lib):
            x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
            cond = lib.tensor(np.array([1, 0, 2], dtype=np.uint8))
            y = lib.where(cond, x, lib.zeros(3, dtype=lib.float64))
            y.sum().backward()
            return y.detach().numpy(), x.grad.numpy()

        out.append(_run(lib, step))
    for ours, theirs in zip(*out):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(TypeError, match="condition must be boolean, got dtype int64"):
        cr.where(cr.tensor([1, 0, 1]), cr.ones(3), 0.0)
