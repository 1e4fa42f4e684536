"""Fuzz wave 17: the norms against PyTorch in real and complex dtypes (gradients in double
precision): linalg.norm, vector_norm, matrix_norm and torch.norm over every order, dims given as
None, an int, a pair (in either order), a triple, an empty tuple or a list, keepdim, dtype=
(PyTorch's rule: real for real, complex for complex, never narrower), cond of rectangular
matrices, dist, and tril/triu/diagonal with offsets on batches."""

import warnings

import numpy as np
import pytest

from ._fuzz12_check import check
from ._fuzz17_linalg import crandn, real_view

torch = pytest.importorskip("torch")

INF = float("inf")
DTYPES = ("float64", "complex128", "float32", "complex64")
ORDS = (None, 0, 1, 2, 3.5, INF, -INF, -1, -0.5, "fro", "nuc", 5)
DIMS = (None, 0, -1, (0, 1), (2, 0), (0, 1, 2), (), [1, -1])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _data(dt, seed, shape):
    rng = np.random.default_rng(seed)
    if dt.startswith("complex"):
        return crandn(rng, shape, dt)
    return rng.standard_normal(shape).astype(dt)


def _tol(dt):
    return ((0,), 1e-9) if dt in ("float64", "complex128") else ((), 1e-4)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("o", ORDS)
def test_norms_every_order_and_dim(dt, o):
    x = _data(dt, len(str(o)), (2, 3, 4))
    g, tol = _tol(dt)
    for dim in DIMS:
        for kd in (False, True):
            lab = f"{o} {dim} {kd} {dt}"
            check(torch, lambda L, t, d=dim, k=kd: L.linalg.norm(t, o, d, k), x, grad=g,
                  rtol=tol, label=f"linalg.norm {lab}")
            if o is not None and not isinstance(o, str):
                check(torch, lambda L, t, d=dim, k=kd: L.linalg.vector_norm(t, o, d, k), x,
                      grad=g, rtol=tol, label=f"vector_norm {lab}")
            if isinstance(dim, tuple) and len(dim) == 2 and o not in (None, 0, 3.5, -0.5, 5):
                check(torch, lambda L, t, d=dim, k=kd: L.linalg.matrix_norm(t, o, d, k), x,
                      grad=g, rtol=tol, label=f"matrix_norm {lab}")
            if not (o == "fro" and isinstance(dim, tuple) and len(dim) > 2):
                # (PyTorch's 'fro' over three dims raises, chainrule's is the 2-norm of them)
                check(torch, lambda L, t, d=dim, k=kd: L.norm(t, o, d, k), x, grad=g,
                      rtol=tol, label=f"torch.norm {lab}")


@pytest.mark.parametrize("dt", DTYPES)
def test_norm_dtypes_cond_dist_triangles(dt):
    x = _data(dt, 1, (2, 3, 4))
    g, tol = _tol(dt)
    for odt in DTYPES:
        for name, fn in [
            ("vector_norm", lambda L, t, od=odt: L.linalg.vector_norm(t, 3, dtype=getattr(L, od))),
            ("linalg.norm", lambda L, t, od=odt: L.linalg.norm(t, dtype=getattr(L, od))),
            ("matrix_norm", lambda L, t, od=odt: L.linalg.matrix_norm(t, dtype=getattr(L, od))),
            ("matrix_norm nuc", lambda L, t, od=odt: L.linalg.matrix_norm(
                t, "nuc", dtype=getattr(L, od))),
            ("torch.norm", lambda L, t, od=odt: L.norm(t, 2, -1, dtype=getattr(L, od))),
        ]:
            check(torch, fn, x, grad=g, rtol=tol, label=f"{name} dtype={odt} of {dt}")
    for name, fn, args in [("1-D ord None", lambda L, t: L.linalg.norm(t), (x[0, 0],)),
                           ("1-D fro", lambda L, t: L.linalg.norm(t, "fro"), (x[0, 0],)),
                           ("3-D with ord", lambda L, t: L.linalg.norm(t, 2), (x,)),
                           ("matrix_norm of 1-D", lambda L, t: L.linalg.matrix_norm(t), (x[0, 0],)),
                           ("matrix_norm ord 3", lambda L, t: L.linalg.matrix_norm(t, 3), (x,))]:
        check(torch, fn, *args, grad=g, rtol=tol, label=f"{name} {dt}")
    for p in (None, "fro", "nuc", 1, -1, 2, -2, INF, -INF):
        check(torch, lambda L, t, p=p: L.linalg.cond(t, p), x, rtol=max(tol, 1e-7),
              label=f"cond {p} of (2, 3, 4) {dt}")
    y = _data(dt, 2, (4,))
    for p in (0, 1, 2, 3, INF, -INF, 0.5):
        check(torch, lambda L, a, b, p=p: L.dist(a, b, p), x, y, grad=g + (1,) if g else (),
              rtol=tol, label=f"dist {p} {dt}")
    for off in (-3, -1, 0, 1, 4):
        for name, fn in [("tril", lambda L, t, o=off: L.tril(t, o)),
                         ("triu", lambda L, t, o=off: t.triu(o)),
                         ("tril_", lambda L, t, o=off: t.clone().tril_(o)),
                         ("diagonal", lambda L, t, o=off: L.linalg.diagonal(t, offset=o, dim1=0,
                                                                            dim2=2))]:
            check(torch, lambda L, t, f=fn: real_view(L, f(L, t)), x, grad=g, rtol=tol,
                  label=f"{name} {off} {dt}")


def test_norm_dtype_follows_pytorchs_rule_regression():
    """Before: a norm's dtype= was a plain cast: a complex input with dtype=float64 lost its
    imaginary parts (vector_norm([3+4j, 1j], dtype=float64) was 3, its norm is sqrt(26)), a real
    one could be made complex or narrower; PyTorch refuses these. And a float16 input's
    dtype=float32 gave a float16 norm from linalg.vector_norm and linalg.norm (the float16 path
    rounded it back; PyTorch's is float32). torch.norm(x, p=None) raised a TypeError ('<' between
    None and int); PyTorch's is the 2-norm."""
    import chainrule as cr
    z = cr.tensor(np.array([3 + 4j, 1j]))
    with pytest.raises(TypeError, match=r"vector_norm|norm: dtype must be a complex dtype"):
        cr.linalg.vector_norm(z, dtype=cr.float64)
    with pytest.raises(TypeError, match="matrix_norm: dtype must be a real floating point dtype"):
        cr.linalg.matrix_norm(cr.ones(2, 2), dtype=cr.complex64)
    with pytest.raises(TypeError, match="at least as wide as the input's float64"):
        cr.linalg.norm(cr.ones(2, dtype=cr.float64), dtype=cr.float32)
    assert cr.linalg.vector_norm(z, dtype=cr.complex128).item() == pytest.approx(26 ** 0.5)
    h = np.array([[300.0, 400.0], [1.0, 2.0]], np.float16)
    for name, fn in [("vector_norm", lambda L, t: L.linalg.vector_norm(t, 3, dtype=L.float32)),
                     ("vector_norm 2", lambda L, t: L.linalg.vector_norm(t, dtype=L.float32)),
                     ("linalg.norm", lambda L, t: L.linalg.norm(t, dtype=L.float32)),
                     ("linalg.norm dim", lambda L, t: L.linalg.norm(t, 1, 0, dtype=L.float64)),
                     ("matrix_norm", lambda L, t: L.linalg.matrix_norm(t, dtype=L.float32)),
                     ("torch.norm", lambda L, t: L.norm(t, 2, dtype=L.float32)),
                     ("p=None", lambda L, t: L.norm(t.float(), None)),
                     ("p=None dim", lambda L, t: L.norm(t.float(), None, 1, True)),
                     ("Tensor.norm p=None", lambda L, t: t.double().norm(None, 0))]:
        check(torch, fn, h, rtol=1e-6, label=name)


def test_spectral_norm_gradient_shares_tied_singular_values_regression():
    """Before: matrix_norm(A, 2) / (A, -2) (and linalg.norm) took the first / last singular value,
    so where the largest (smallest) is repeated (an identity, a permutation, a zero matrix) the
    whole gradient went to one of them; PyTorch's is an amax / amin, the gradient shared evenly
    among the tied values, as the 1 and inf norms here already were."""
    p = np.eye(4)[[2, 0, 3, 1]] * [1.0, -1.0, 1.0, 1.0]  # (ties exact, not up to rounding)
    for a in (np.eye(3), np.zeros((3, 3)), np.diag([2.0, 2.0, 1.0]), np.diag([2.0, 1.0, 1.0]),
              p, np.stack([p, 2 * p])):
        for o in (2, -2, "nuc"):
            check(torch, lambda L, t, o=o: L.linalg.matrix_norm(t, o), a, grad=(0,), rtol=1e-9,
                  label=f"matrix_norm {o}")
            check(torch, lambda L, t, o=o: L.linalg.norm(t + 0j, o, (-2, -1), True), a,
                  grad=(0,), rtol=1e-9, label=f"norm {o} complex")
