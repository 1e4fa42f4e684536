"""cov, corrcoef, renorm, trapezoid/trapz/cumulative_trapezoid, unravel_index, nuclear_norm,
frobenius_norm, torch.lu/lu_solve and the window functions against PyTorch (values, dtypes,
gradients), with float64 gradient checks and the errors for bad input."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid
from .torch_signature import check_signature

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings(
    "ignore:.*is deprecated.*:UserWarning")]  # PyTorch's own warnings for nuclear_norm, lu...

NAMES = ["cov", "corrcoef", "renorm", "trapezoid", "trapz", "cumulative_trapezoid",
         "unravel_index", "hann_window", "blackman_window", "bartlett_window",
         "kaiser_window"]


def _signatures_follow_pytorch_case(name):
    check_signature(name, getattr(cr, name), getattr(torch, name))


def test_signatures_follow_pytorch():
    each_case(_signatures_follow_pytorch_case, grid(("name", NAMES)))


def test_signatures_of_the_overloaded_ones():
    for name, theirs in (
            ("hamming_window", "hamming_window(window_length, periodic=True, alpha=0.54, "
                               "beta=0.46, *, dtype=None, layout=None, device=None, "
                               "pin_memory=False, requires_grad=False)"),
            ("lu", "lu(A, pivot=True, get_infos=False, *, out=None)"),
            ("nuclear_norm", "nuclear_norm(input, dim=None, keepdim=False, *, out=None)"),
            ("frobenius_norm", "frobenius_norm(input, dim, keepdim=False, *, out=None)")):
        check_signature(name, getattr(cr, name), theirs)


def _same(rng, ours, theirs, xs, txs):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-13)
    g = rng.standard_normal(ours.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    for x, tx in zip(xs, txs, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-11, atol=1e-12)


FW, AW = np.array([1, 3, 1, 2, 1]), np.array([0.5, 1.0, 2.0, 0.25, 1.5])
CALLS = {
    "cov": lambda m, x, y: m.cov(x),
    "cov-1d": lambda m, x, y: m.cov(x[0]),
    "cov-weights": lambda m, x, y: m.cov(x, correction=0, fweights=m.tensor(FW),
                                         aweights=m.tensor(AW)),
    "cov-fweights": lambda m, x, y: m.cov(x, fweights=m.tensor(FW)),
    "cov-aweights": lambda m, x, y: x.cov(correction=2, aweights=m.tensor(AW)),
    "corrcoef": lambda m, x, y: m.corrcoef(x) * (1 - m.eye(3, dtype=x.dtype)),
    "corrcoef-method": lambda m, x, y: x.corrcoef()[0, 1:],
    "renorm": lambda m, x, y: m.renorm(x, 2, 0, 1.5),
    "renorm-p1": lambda m, x, y: x.renorm(1, 1, 1.0),
    "renorm-p3": lambda m, x, y: m.renorm(x, 3.0, -1, 0.8),
    "trapezoid": lambda m, x, y: m.trapezoid(x),
    "trapezoid-x": lambda m, x, y: m.trapezoid(x, y),
    "trapezoid-x1d": lambda m, x, y: m.trapezoid(x, y[1], dim=1),
    "trapezoid-dx": lambda m, x, y: m.trapezoid(x, dx=0.3, dim=0),
    "trapz": lambda m, x, y: m.trapz(x, y) + m.trapz(x.T, dx=2.0, dim=0),
    "cumulative": lambda m, x, y: m.cumulative_trapezoid(x, y) + m.cumulative_trapezoid(x, dx=2),
    "cumulative-dim0": lambda m, x, y: m.cumulative_trapezoid(x, y[:, 0], dim=0),
    "nuclear_norm": lambda m, x, y: m.nuclear_norm(x) + m.nuclear_norm(x[None], (1, 2), True),
    "frobenius_norm": lambda m, x, y: m.frobenius_norm(x, (0, 1)) + m.frobenius_norm(x, (1,)),
}


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("name", list(CALLS))
def test_differentiable_ones_match_pytorch(rng, name, mode):
    a, b = rng.standard_normal((3, 5)), np.cumsum(rng.random((3, 5)) + 0.1, 1)
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    with cr.reference_mode() if mode == "reference" else contextlib.nullcontext():
        ours, theirs = CALLS[name](cr, x, y), CALLS[name](torch, tx, ty)
        used = [i for i in (0, 1) if theirs.grad_fn is not None and _uses(name, i)]
        _same(rng, ours, theirs, [(x, y)[i] for i in used], [(tx, ty)[i] for i in used])


def _uses(name, i):
    return i == 0 or name in ("trapezoid-x", "trapezoid-x1d", "trapz", "cumulative",
                              "cumulative-dim0")


@pytest.mark.parametrize("name", ["cov-weights", "corrcoef", "renorm", "renorm-p3",
                                  "trapezoid-x", "cumulative", "frobenius_norm"])
def test_gradchecks(rng, name):
    a, b = rng.standard_normal((3, 5)), np.cumsum(rng.random((3, 5)) + 0.1, 1)
    x, y = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    assert cr.gradcheck(lambda u, v: CALLS[name](cr, u, v), (x, y))
    assert cr.gradgradcheck(lambda u, v: CALLS[name](cr, u, v), (x, y))


def test_integer_and_degenerate_inputs_match_pytorch():
    i = np.array([[1, 2, 4], [0, 1, 1]])
    for ours, theirs in ((cr.cov(cr.tensor(i)), torch.cov(torch.tensor(i))),
                         (cr.corrcoef(cr.tensor(i)), torch.corrcoef(torch.tensor(i))),
                         (cr.trapezoid(cr.tensor(i)), torch.trapezoid(torch.tensor(i))),
                         (cr.cumulative_trapezoid(cr.tensor(i)),
                          torch.cumulative_trapezoid(torch.tensor(i))),
                         (cr.corrcoef(cr.tensor([1.0, 2.0])),
                          torch.corrcoef(torch.tensor([1.0, 2.0])))):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        ours = cr.cov(cr.tensor([[1.0, 2.0]]), correction=2)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        theirs = torch.cov(torch.tensor([[1.0, 2.0]]), correction=2)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_unravel_index_matches_pytorch(rng):
    flat = rng.integers(-24, 24, (3, 4))
    for shape in ((2, 3, 4), (24,), [4, 6]):
        ours = cr.unravel_index(cr.tensor(flat), shape)
        theirs = torch.unravel_index(torch.tensor(flat), shape)
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            assert o.dtype == np.int64
            np.testing.assert_array_equal(o.numpy(), t.numpy())
    with pytest.raises(IndexError, match=r"out of range for shape \(2, 3\)"):
        cr.unravel_index(cr.tensor([6]), (2, 3))


def test_lu_and_lu_solve_match_pytorch(rng):
    a, b = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 3))
    lu, piv = cr.lu(cr.tensor(a))
    tlu, tpiv = torch.lu(torch.tensor(a))
    np.testing.assert_allclose(lu.numpy(), tlu.numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    lu2, piv2, info = cr.tensor(a).lu(get_infos=True)
    assert info.numpy().tolist() == [0, 0]
    x, tx = cr.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    _same(rng, cr.lu_solve(x, lu, piv), torch.lu_solve(tx, tlu, tpiv), [x], [tx])


WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


def _windows_match_pytorch_case(name, n, periodic):
    ours, theirs = getattr(cr, name)(n, periodic), getattr(torch, name)(n, periodic)
    assert ours.dtype == np.float32 and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6, atol=2e-7)
    ours = getattr(cr, name)(n, periodic, dtype=cr.float64)
    theirs = getattr(torch, name)(n, periodic, dtype=torch.float64)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13, atol=1e-15)


def test_windows_match_pytorch():
    each_case(_windows_match_pytorch_case, grid(
        ("periodic", [True, False]),
        ("n", [0, 1, 2, 7, 16]),
        ("name", WINDOWS),
    ))


def test_window_parameters_and_errors():
    np.testing.assert_allclose(
        cr.hamming_window(9, False, 0.6, 0.3, dtype=cr.float64).numpy(),
        torch.hamming_window(9, False, 0.6, 0.3, dtype=torch.float64).numpy(), rtol=1e-13)
    np.testing.assert_allclose(
        cr.kaiser_window(9, False, 5.0, dtype=cr.float64).numpy(),
        torch.kaiser_window(9, False, 5.0, dtype=torch.float64).numpy(), rtol=1e-13)
    assert cr.hann_window(4, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="hann_window: dtype must be floating point, got int64"):
        cr.hann_window(4, dtype=cr.int64)
    with pytest.raises(ValueError, match="window_length must be a nonnegative int, got -1"):
        cr.blackman_window(-1)


def test_bad_inputs_get_clear_errors():
    x = cr.ones(2, 3)
    with pytest.raises(ValueError, match=r"cov: input must be 1-D or 2-D"):
        cr.cov(cr.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"cov: fweights must be 1-D with one entry per "
                                         r"observation \(3\), got shape \(2,\)"):
        cr.cov(x, fweights=cr.tensor([1, 2]))
    with pytest.raises(TypeError, match="cov: aweights must be floating point"):
        cr.cov(x, aweights=cr.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="cov: fweights must be nonnegative"):
        cr.cov(x, fweights=cr.tensor([1, -2, 3]))
    with pytest.raises(ValueError, match="renorm: p must be a positive number"):
        cr.renorm(x, 0, 0, 1.0)
    with pytest.raises(TypeError, match="trapezoid: pass x or dx, not both"):
        cr.trapezoid(x, x, dx=1.0)
    with pytest.raises(ValueError, match="trapezoid: x has 2 points, y has 3 along dim 1"):
        cr.trapezoid(x, cr.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="nuclear_norm: input must be a matrix without dim"):
        cr.nuclear_norm(cr.ones(2, 2, 2))
