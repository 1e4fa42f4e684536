"""Fuzz wave 17: second derivatives of the linear algebra against PyTorch's, in float64 and
complex128: the gradient of a weighted sum of first gradients (taken with create_graph=True)
for inverses, determinants, solves, Cholesky, eigen and singular values, the norms, matrix
functions, pinv, lstsq, QR, the LU and triangular solves, gauge-free eigen/singular vector
losses, einsum, kron, tensordot, addmm and householder_product."""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._fuzz17_linalg import crandn, well_conditioned

torch = pytest.importorskip("torch")


def _is_complex(lib, t):
    return t.dtype.is_complex if lib is torch else t.dtype.kind == "c"


def _real(lib, t):
    return lib.view_as_real(t.resolve_conj() if lib is torch else t) if _is_complex(lib, t) else t


def _second(lib, fn, arrays, w1, w2):
    grad = torch.autograd.grad if lib is torch else cr.autograd.grad
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    loss = (_real(lib, fn(lib, *ts)) * lib.tensor(w1)).sum()
    firsts = grad(loss, ts, create_graph=True)
    total = sum((_real(lib, g) * lib.tensor(w)).sum() for g, w in zip(firsts, w2))
    seconds = grad(total, ts, allow_unused=True)
    return [np.zeros(a.shape) if g is None else _real(lib, g.detach()).numpy()
            for g, a in zip(seconds, arrays)]


def _cases(dt):
    rng = np.random.default_rng(dt == "complex128")
    a = well_conditioned(rng, (2, 3, 3), dt)
    b = crandn(rng, (2, 3, 2), dt) if dt[0] == "c" else rng.standard_normal((2, 3, 2))

    def spd(L, t):
        return t @ t.mH + 3 * L.eye(3)

    return [
        ("inv", lambda L, t: L.linalg.inv(t), [a]),
        ("det", lambda L, t: L.linalg.det(t), [a]),
        ("slogdet", lambda L, t: L.linalg.slogdet(t)[1], [a]),
        ("solve", lambda L, t, u: L.linalg.solve(t, u), [a, b]),
        ("cholesky", lambda L, t: L.linalg.cholesky(spd(L, t)), [a]),
        ("cholesky upper", lambda L, t: L.linalg.cholesky(spd(L, t), upper=True), [a]),
        ("eigvalsh", lambda L, t: L.linalg.eigvalsh(t + t.mH), [a]),
        ("svdvals", lambda L, t: L.linalg.svdvals(t), [a]),
        ("matrix_norm fro", lambda L, t: L.linalg.matrix_norm(t), [a]),
        ("matrix_norm nuc", lambda L, t: L.linalg.matrix_norm(t, "nuc"), [a]),
        ("matrix_norm 2", lambda L, t: L.linalg.matrix_norm(t, 2), [a]),
        ("vector_norm 3", lambda L, t: L.linalg.vector_norm(t, 3, -1), [a]),
        ("matrix_exp", lambda L, t: L.linalg.matrix_exp(t * 0.3), [a]),
        ("matrix_power -2", lambda L, t: L.linalg.matrix_power(t, -2), [a]),
        ("pinv", lambda L, t: L.linalg.pinv(t[..., :2]), [a]),
        ("lstsq", lambda L, t, u: L.linalg.lstsq(t, u).solution, [a, b]),
        ("qr", lambda L, t: (lambda q, r: q @ r * 2 + q.abs())(*L.linalg.qr(t)), [a]),
        ("einsum", lambda L, t, u: L.einsum("bij,bjk->bik", t, u) ** 2, [a, b]),
        ("lu_solve", lambda L, t, u: L.linalg.lu_solve(*L.linalg.lu_factor(t), u), [a, b]),
        ("solve_triangular", lambda L, t, u: L.linalg.solve_triangular(t, u, upper=True),
         [a, b]),
        ("cholesky_solve", lambda L, t, u: L.cholesky_solve(u, L.linalg.cholesky(spd(L, t))),
         [a, b]),
        ("eigh projector", lambda L, t: (lambda w, v: v[..., :1] @ v[..., :1].mH)(
            *L.linalg.eigh(t + t.mH)), [a]),
        ("svd projector", lambda L, t: (lambda u, s, vh: u[..., :1] @ u[..., :1].mH)(
            *L.linalg.svd(t)), [a]),
        ("eigvals", lambda L, t: L.linalg.eigvals(t), [a]),
        ("cond", lambda L, t: L.linalg.cond(t), [a]),
        ("addmm", lambda L, t, u: L.addmm(u[0] @ u[0].mT, t[0], t[1], beta=0.5, alpha=2) ** 2,
         [a, b]),
        ("kron", lambda L, t, u: L.kron(t[0], u[0]) ** 2, [a, b]),
        ("tensordot", lambda L, t, u: L.tensordot(t, u, ([0, 1], [0, 1])) ** 2, [a, b]),
        ("householder_product", lambda L, t, u: L.linalg.householder_product(t, u[..., 0]),
         [a, b]),
    ]


@pytest.mark.parametrize("dt", ["float64", "complex128"])
def test_second_derivatives_match_pytorch(dt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn, arrays in _cases(dt):
            rng = np.random.default_rng(1)
            with torch.no_grad():
                out = _real(torch, fn(torch, *[torch.tensor(x) for x in arrays]))
            w1 = rng.standard_normal(tuple(out.shape))
            w2 = [rng.standard_normal(x.shape + ((2,) if x.dtype.kind == "c" else ()))
                  for x in arrays]
            theirs = _second(torch, fn, arrays, w1, w2)
            ours = _second(cr, fn, arrays, w1, w2)
            for i, (c, t) in enumerate(zip(ours, theirs)):
                np.testing.assert_allclose(c, t, rtol=1e-7, atol=1e-7,
                                           err_msg=f"{name} {dt}: argument {i}")
