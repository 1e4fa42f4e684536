"""Integer and bool targets of the losses that PyTorch takes them for: ``F.mse_loss(x, counts)``
with int64 counts, ``F.poisson_nll_loss(log_rate, counts)``, ``F.smooth_l1_loss(x, mask)``.
They were a TypeError ("target must have a floating-point dtype, got int64"), and
``smooth_l1_loss``'s named ``huber_loss``. PyTorch promotes the target to the input's float dtype;
so does chainrule now, the target a constant. Where PyTorch refuses one (``huber_loss`` and
``kl_div`` of any integer, ``l1_loss`` and ``soft_margin_loss`` of bool) chainrule refuses it too,
naming the loss."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

X = [[0.2, 0.7, 0.4], [1.5, -0.3, 0.9]]
T = [[0, 1, 3], [1, 0, 2]]
LABELS = {"soft_margin_loss": [[1, -1, 1], [-1, -1, 1]],  # its labels are +-1
          "multilabel_soft_margin_loss": [[0, 1, 1], [1, 0, 0]]}

ACCEPTED = [
    ("mse_loss", "biu"), ("l1_loss", "iu"), ("smooth_l1_loss", "biu"),
    ("poisson_nll_loss", "biu"), ("soft_margin_loss", "iu"), ("multilabel_soft_margin_loss", "iu"),
]
TARGET_DTYPES = ["int64", "int32", "uint8", "bool"]


def _run(lib, name, x_dtype, t_dtype):
    x = lib.tensor(X, dtype=getattr(lib, x_dtype), requires_grad=True)
    t = lib.tensor(np.array(LABELS.get(name, T)).astype(t_dtype))
    out = getattr(lib.nn.functional, name)(x, t)
    out.backward()
    return out, x.grad


def _integer_target_case(name, kinds, x_dtype, t_dtype):
    if name == "soft_margin_loss" and t_dtype == "uint8":
        pytest.skip("uint8 cannot hold the label -1 (PyTorch's -target wraps around to 255)")
    if np.dtype(t_dtype).kind not in kinds:
        with pytest.raises(RuntimeError):  # PyTorch refuses it: so must we, with a clear error
            _run(torch, name, x_dtype, t_dtype)
        with pytest.raises(TypeError, match=f"{name}: target must have a floating-point dtype, "
                                            f"got {t_dtype}"):
            _run(cr, name, x_dtype, t_dtype)
        return
    for ours, theirs in zip(_run(cr, name, x_dtype, t_dtype), _run(torch, name, x_dtype, t_dtype)):
        assert str(ours.dtype) == x_dtype == str(theirs.dtype).replace("torch.", "")
        tol = 1e-12 if x_dtype == "float64" else 1e-6
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


def test_integer_and_bool_targets_as_pytorch():
    each_case(_integer_target_case, grid(
        ("name, kinds", ACCEPTED), ("x_dtype", ["float64", "float32"]), ("t_dtype", TARGET_DTYPES),
    ))


@pytest.mark.parametrize("name", ["huber_loss", "kl_div", "binary_cross_entropy"])
def test_losses_pytorch_refuses_integer_targets_for_are_refused(name):
    x = cr.tensor([0.2, 0.7, 0.4], dtype=cr.float64)
    kwargs = {"reduction": "sum"} if name == "kl_div" else {}
    with pytest.raises(TypeError, match=f"{name}: target must have a floating-point dtype, "
                                        "got int64"):
        getattr(cr.nn.functional, name)(x, cr.tensor([0, 1, 1]), **kwargs)


def test_smooth_l1_loss_names_itself_in_its_errors():
    x = cr.tensor([0.2, 0.7, 0.4])
    with pytest.raises(ValueError, match=r"smooth_l1_loss: input shape \(3,\) and target shape "
                                         r"\(3, 1\)"):
        cr.nn.functional.smooth_l1_loss(x, cr.zeros((3, 1)))
    with pytest.raises(TypeError, match="smooth_l1_loss: target must have a floating-point dtype, "
                                        "got complex64"):
        cr.nn.functional.smooth_l1_loss(x, cr.zeros(3, dtype=cr.complex64))


def test_soft_margin_loss_of_a_wider_target_keeps_the_inputs_dtype_as_pytorch():
    runs = []
    for lib in (cr, torch):
        x = lib.tensor([0.2, -0.7, 0.4], dtype=lib.float32, requires_grad=True)
        t = lib.tensor([1.0, -1.0, 1.0], dtype=lib.float64)
        out = lib.nn.functional.soft_margin_loss(x, t)
        out.backward()
        runs.append((out, x.grad))
    for ours, theirs in zip(*runs):
        assert str(ours.dtype) == "float32" == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)


def test_gradient_with_an_integer_target_checks_against_finite_differences():
    t = cr.tensor(np.array(T))
    for name in ("mse_loss", "smooth_l1_loss", "poisson_nll_loss"):
        f = getattr(cr.nn.functional, name)
        x = cr.tensor(np.array(X) + 0.05, dtype=cr.float64, requires_grad=True)
        assert cr.autograd.gradcheck(lambda a, f=f: f(a, t), (x,))
