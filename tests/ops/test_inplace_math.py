"""The in-place forms of ops/inplace_math.py (lgamma_, cumprod_, addmm_ ...) and the histc /
histogram methods: the same values as PyTorch's in-place calls, the same tensor returned, and the
writers' checks."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

A = np.array([[0.3, 0.45, 0.7], [0.2, 0.9, 0.55]])


def _f64(L, v):
    return L.tensor(np.asarray(v), dtype=L.float64)


CALLS = {
    name: (lambda n: lambda x, L: getattr(x, n + "_")())(name)
    for name in ("lgamma", "digamma", "erfinv", "sinc", "asinh", "atanh", "deg2rad", "rad2deg",
                 "fix", "i0", "arcsinh", "arctanh")
}
CALLS.update({
    "acosh_": lambda x, L: (x + 1).acosh_(),
    "polygamma_": lambda x, L: x.polygamma_(2),
    "mvlgamma_": lambda x, L: (x + 1).mvlgamma_(2),
    "logit_": lambda x, L: x.logit_(0.25),
    "xlogy_": lambda x, L: x.xlogy_(_f64(L, [2.0, 3.0, 0.5])),
    "copysign_": lambda x, L: x.copysign_(_f64(L, [[-1.0], [1.0]])),
    "true_divide_": lambda x, L: x.true_divide_(_f64(L, [2.0, 4.0, 8.0])),
    "heaviside_": lambda x, L: (x - 0.45).heaviside_(_f64(L, [0.5])),
    "cumprod_": lambda x, L: x.cumprod_(1),
    "addmm_": lambda x, L: x.addmm_(_f64(L, np.ones((2, 4))), _f64(L, np.arange(12.0).reshape(
        4, 3)), beta=0.5, alpha=2),
    "addmv_": lambda x, L: x[0].addmv_(_f64(L, np.ones((3, 2))), _f64(L, [1.0, -1.0])),
    "addr_": lambda x, L: x.addr_(_f64(L, [1.0, 2.0]), _f64(L, [1.0, 0.0, -1.0]), alpha=3),
    "addbmm_": lambda x, L: x.addbmm_(_f64(L, np.ones((2, 2, 4))), _f64(L, np.ones((2, 4, 3)))),
    "baddbmm_": lambda x, L: x.reshape(1, 2, 3).baddbmm_(_f64(L, np.ones((1, 2, 1))),
                                                         _f64(L, np.ones((1, 1, 3))), beta=2),
})


def _in_place_forms_match_pytorch_case(name):
    torch = pytest.importorskip("torch")
    x, t = cr.tensor(A.copy()), torch.tensor(A.copy())
    ours, theirs = CALLS[name](x, cr), CALLS[name](t, torch)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-13)  # written into the tensor


@pytest.mark.torch
def test_in_place_forms_match_pytorch():
    each_case(_in_place_forms_match_pytorch_case, grid(("name", sorted(CALLS))))


@pytest.mark.kernel_free
def test_in_place_forms_are_guarded():
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="lgamma_: a leaf tensor that requires grad"):
        w.lgamma_()
    with pytest.raises(RuntimeError, match="erfinv_: result type Float can't be cast to the "
                                           "desired output type Long"):  # PyTorch's words
        cr.tensor([0, 1]).erfinv_()
    y = cr.ones(3, requires_grad=True)
    z = y * 2
    s = (z * z).sum()
    z.detach().cumprod_(0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.backward()


@pytest.mark.kernel_free
@pytest.mark.torch
def test_histogram_methods_match_pytorch():
    torch = pytest.importorskip("torch")
    x, t = cr.tensor(A), torch.tensor(A)
    np.testing.assert_array_equal(x.histc(4).numpy(), t.histc(4).numpy())
    np.testing.assert_array_equal(x.histogram(3).hist.numpy(), t.histogram(3).hist.numpy())
