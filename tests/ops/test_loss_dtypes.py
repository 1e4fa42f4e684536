"""Regression losses between float tensors of two dtypes: ``F.mse_loss(float64_input,
float32_target)`` was a TypeError ("target has dtype float32 but input has dtype float64");
PyTorch computes it in the promoted dtype, each gradient in its tensor's own dtype. Found by the
NCF port (a float64 model and ``label.float()``)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

X = [0.3, 0.2, 0.6]
T = [1.0, 0.0, 3.0]
CASES = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("kl_div", {"reduction": "batchmean"}), ("kl_div", {"log_target": True, "reduction": "sum"}),
    ("gaussian_nll_loss", {}), ("poisson_nll_loss", {}),
    ("poisson_nll_loss", {"log_input": False, "full": True}),
]


def _run(lib, name, kwargs, x_dtype, t_dtype):
    F = lib.nn.functional
    x = lib.tensor(X, dtype=getattr(lib, x_dtype), requires_grad=True)
    t = lib.tensor(T, dtype=getattr(lib, t_dtype), requires_grad=True)
    args = (x, t, lib.ones(3)) if name == "gaussian_nll_loss" else (x, t)
    out = getattr(F, name)(*args, **kwargs)
    out.backward()
    return out, x.grad, t.grad


_MIXED_X_T_DTYPES = [("float64", "float32"), ("float32", "float64"),
                                              ("float16", "float32")]


def _mixed_float_dtypes_are_promoted_as_pytorch_case(name, kwargs, x_dtype, t_dtype):
    ours = _run(cr, name, kwargs, x_dtype, t_dtype)
    theirs = _run(torch, name, kwargs, x_dtype, t_dtype)
    for a, b in zip(ours, theirs):
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
        b = b.detach().numpy()
        keep = np.isfinite(b)  # PyTorch's kl_div/poisson target gradient is NaN at target 0
        # float32/float16 parts agree to their rounding (NumPy's exp and log differ from
        # PyTorch's in the last bits there)
        tol = 1e-12 if "float16" not in (x_dtype, t_dtype) else 1e-3
        tol = max(tol, 1e-6) if "float32" in (x_dtype, t_dtype) else tol
        np.testing.assert_allclose(a.numpy()[keep], b[keep], rtol=tol, atol=tol)


def test_mixed_float_dtypes_are_promoted_as_pytorch():
    each_case(_mixed_float_dtypes_are_promoted_as_pytorch_case, grid(
        ("name, kwargs", CASES),
        ("x_dtype, t_dtype", _MIXED_X_T_DTYPES),
    ))


def test_huber_loss_promotes_too_and_bad_targets_are_still_refused():
    x = cr.tensor(X, requires_grad=True)
    out = cr.nn.functional.huber_loss(x, cr.tensor(T, dtype=cr.float64))
    assert out.dtype == np.float64
    assert np.isclose(out.item(), torch.nn.functional.huber_loss(
        torch.tensor(X), torch.tensor(T, dtype=torch.float64)).item(), rtol=1e-7)
    out.backward()
    assert x.grad.dtype == np.float32
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(3,\) and target shape \(3, 1\)"):
        cr.nn.functional.mse_loss(x, cr.tensor([[1.0], [0.0], [3.0]], dtype=cr.float64))
    with pytest.raises(TypeError, match="huber_loss: target must have a floating-point dtype"):
        cr.nn.functional.huber_loss(x, cr.tensor([1, 0, 3]))  # PyTorch refuses it too


@pytest.mark.parametrize("x_dtype, t_dtype", [("float64", "float32"), ("float32", "float64")])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_bce_with_logits_of_two_dtypes_gives_the_targets_dtype_as_pytorch(x_dtype, t_dtype,
                                                                           reduction):
    # PyTorch's composition writes into a buffer of the target's dtype, in float32 steps where
    # that is float32: the values agree to float32 rounding
    runs = []
    for lib in (cr, torch):
        x = lib.tensor([0.3, -1.2, 2.0], dtype=getattr(lib, x_dtype), requires_grad=True)
        t = lib.tensor([1.0, 0.0, 0.3], dtype=getattr(lib, t_dtype), requires_grad=True)
        out = lib.nn.functional.binary_cross_entropy_with_logits(
            x, t, reduction=reduction, pos_weight=lib.tensor([2.0]))
        out.sum().backward()
        runs.append([(str(v.dtype).replace("torch.", ""), v.detach().numpy())
                     for v in (out, x.grad, t.grad)])
    for (dtype, ours), (theirs_dtype, theirs) in zip(*runs):
        assert dtype == theirs_dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
