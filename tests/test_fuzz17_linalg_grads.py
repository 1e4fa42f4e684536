"""Fuzz wave 17: gradients of the decompositions against PyTorch's and finite differences
(float64 and complex128): eigenvalues and eigenvectors of real matrices (complex outputs),
singular vectors and eigenvectors through losses that do not depend on their phases or signs
(projectors, low-rank rebuilds), torch.svd; pinv and matrix_rank with tensor tolerances that
broadcast; lstsq's rcond; solve's rule for which B is a vector; cross's default dim; vander of
every dtype."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck

from ._fuzz12_check import check
from ._fuzz17_linalg import crandn, real_view

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _check(fn, *arrays, **kw):
    check(torch, lambda L, *ts: real_view(L, fn(L, *ts)), *arrays, **kw)


def _svd_invariants(L, t):
    u, s, vh = L.linalg.svd(t, full_matrices=False)
    rank1 = (u[..., :1] * s[..., None, :1].to(u.dtype)) @ vh[..., :1, :]
    return u @ u.mH, vh.mH @ vh, s, rank1


def _eig_invariants(L, t):
    w, v = L.linalg.eig(t)
    return v[..., :, :1] @ L.linalg.inv(v)[..., :1, :], (v * w.unsqueeze(-2)) @ L.linalg.inv(v)


GAUGE_FREE = [
    ("svd", _svd_invariants),
    ("svd full", lambda L, t: (lambda u, s, vh: (u[..., :min(t.shape[-2:])]
                                                 @ u[..., :min(t.shape[-2:])].mH, s))(
        *L.linalg.svd(t))),
    ("torch.svd", lambda L, t: (lambda u, s, v: (u @ u.mH, v @ v.mH, s))(*L.svd(t))),
    ("torch.svd some=False", lambda L, t: L.svd(t, some=False)[1]),
    ("qr", lambda L, t: (lambda q, r: (q @ q.mH, r.abs()))(*L.linalg.qr(t))),
]


@pytest.mark.parametrize("dt", ["float64", "complex128"])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 3), (3, 5)])
def test_gauge_free_gradients(dt, shape):
    rng = np.random.default_rng(len(shape) + shape[-1])
    x = crandn(rng, shape) if dt == "complex128" else rng.standard_normal(shape)
    for name, fn in GAUGE_FREE:
        _check(fn, x, grad=(0,), rtol=1e-9, label=f"{name} {shape} {dt}")
    h = x[..., :2, :2] @ np.conj(x[..., :2, :2].swapaxes(-1, -2))
    _check(lambda L, t: (lambda w, v: (v[..., :, :1] @ v[..., :, :1].mH, w))(*L.linalg.eigh(t)),
           h, grad=(0,), rtol=1e-9, label=f"eigh projector {dt}")
    if shape[-1] == shape[-2]:
        _check(_eig_invariants, x, grad=(0,), rtol=1e-9, label=f"eig {dt}")
        t = cr.tensor(x, requires_grad=True)
        assert gradcheck(lambda a: real_view(cr, _eig_invariants(cr, a)[0]), (t,))
        assert gradcheck(lambda a: _svd_invariants(cr, a)[3], (t,))


def test_eigen_of_real_matrices():
    a = np.random.default_rng(1).standard_normal((2, 3, 3))
    for name, fn in [("eigvals |w|", lambda L, t: L.linalg.eigvals(t).abs()),
                     ("eigvals w^2", lambda L, t: (L.linalg.eigvals(t) ** 2).sum(-1)),
                     ("eig invariants", _eig_invariants)]:
        _check(fn, a, grad=(0,), rtol=1e-9, label=name)
    _check(lambda L, t: L.linalg.eig(t.float()), a, skip=(0, 1), label="eig of float32: dtypes")
    _check(lambda L, t: L.linalg.eigvals(t.float()).abs().sort(-1).values, a, rtol=1e-4)


def test_tolerances_rcond_vectors_cross_vander():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5))
    tols = np.array([0.1, 1.0, 3.0])
    for name, fn, args, g in [
        ("pinv atol tensor", lambda L, t, u: L.linalg.pinv(t, atol=u), (x, tols), (0,)),
        ("pinv rtol tensor", lambda L, t, u: L.linalg.pinv(t, rtol=u / 10), (x, tols), (0,)),
        ("pinv both tensors", lambda L, t, u: L.linalg.pinv(t, atol=u, rtol=u / 10), (x, tols),
         (0,)),
        ("pinv tolerance of another batch", lambda L, t, u: L.linalg.pinv(t, atol=u[:2]),
         (x, tols), ()),
        ("pinv hermitian rtol", lambda L, t: L.linalg.pinv(t @ t.mT, hermitian=True, rtol=0.2),
         (x,), (0,)),
        ("matrix_rank atol tensor", lambda L, t, u: L.linalg.matrix_rank(t, atol=u), (x, tols),
         ()),
        ("matrix_rank both tensors", lambda L, t, u: L.linalg.matrix_rank(t, atol=u, rtol=u / 9),
         (x, tols), ()),
        ("matrix_rank atol broadcast", lambda L, t, u: L.linalg.matrix_rank(t, atol=u[:, None]),
         (x, tols), ()),
        ("matrix_rank hermitian atol", lambda L, t: L.linalg.matrix_rank(
            t @ t.mT, hermitian=True, atol=5.0), (x,), ()),
    ]:
        _check(fn, *args, grad=g, rtol=1e-9, label=name)
    for rcond in (None, 0.1, 0.5, 1e-20):
        for drv in ("gelsy", "gelsd", "gelss"):
            if drv == "gelsy" and rcond in (0.1, 0.5):
                # LAPACK's gelsy ranks by its pivoted QR's condition estimates, chainrule's by
                # the singular values (gelsd's rule): they agree unless rcond cuts near them
                continue
            # values only where rcond cuts: PyTorch's lstsq gradient ignores rcond (that of the
            # full-rank solution); chainrule's is pinv's, of a matrix whose rank does not change
            g = (0, 1) if rcond in (None, 1e-20) else ()
            _check(lambda L, t, u, r=rcond, d=drv: L.linalg.lstsq(t, u, rcond=r, driver=d), x,
                   x[..., :2], grad=g, rtol=1e-9, label=f"lstsq rcond={rcond} {drv}")
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    for bs in [(3,), (2, 3), (1, 3), (3, 3), (2, 3, 1), (4, 2, 3), (2, 3, 3)]:
        b = rng.standard_normal(bs)
        _check(lambda L, t, u: L.linalg.solve(t, u), a, b, grad=(0, 1), rtol=1e-9,
               label=f"solve B{bs}")
        if bs != (2, 3):  # (PyTorch refuses a batch of vectors with left=False; computed here)
            _check(lambda L, t, u: L.linalg.solve(t, u, left=False), a, b, grad=(0, 1),
                   rtol=1e-9, label=f"solve left=False B{bs}")
    for shape in [(3, 3), (2, 3), (3, 2), (2, 3, 3), (3, 4, 3)]:
        y = rng.standard_normal(shape)
        for name, fn in [("torch.cross", lambda L, t: L.cross(t, t * 2 + 1)),
                         ("linalg.cross", lambda L, t: L.linalg.cross(t, t * 2 + 1)),
                         ("Tensor.cross", lambda L, t: t.cross(t * 2 + 1))]:
            _check(fn, y, grad=(0,), rtol=1e-12, label=f"{name} {shape}")
    for dt in ("int64", "int32", "uint8", "float32", "float16", "complex64", "bool"):
        v = (rng.standard_normal(4) * 3).astype(dt)
        _check(lambda L, t: L.linalg.vander(t), v, rtol=1e-6, label=f"linalg.vander {dt}")
        _check(lambda L, t: L.vander(t, 3), v, rtol=1e-6, label=f"vander {dt}")


def test_geqrf_refuses_a_gradient_instead_of_dropping_it_regression():
    """Before: geqrf's outputs were constants (recorded outside the graph), so a loss through
    them silently lost that path's gradient: householder_product(*geqrf(A)).sum() + A.sum()
    gave A a gradient of ones. PyTorch's backward raises (the derivative of geqrf is not
    implemented); chainrule's now raises too. Values, and geqrf of a tensor without a gradient,
    are unchanged."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3))
    for lib in (torch, cr):
        t = lib.tensor(x, requires_grad=True)
        a, tau = lib.geqrf(t)
        assert a.requires_grad and tau.requires_grad
        with pytest.raises(NotImplementedError, match="geqrf"):
            (lib.linalg.householder_product(a, tau).sum() + t.sum()).backward()
    for shape in [(4, 3), (3, 4), (2, 4, 3), (0, 3), (2, 0, 2)]:
        for y in (rng.standard_normal(shape), crandn(rng, shape)):
            _check(lambda L, m: L.geqrf(m), y, rtol=1e-9, label=f"geqrf {shape}")
    assert not cr.geqrf(cr.tensor(x)).a.requires_grad
