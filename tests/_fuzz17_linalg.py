"""Shared helpers of fuzz wave 17 (linear algebra against PyTorch): complex outputs seen as
real pairs (so that ``_fuzz12_check.check`` weighs their real and imaginary parts in its
gradient loss), seeded complex arrays and the tolerances of each dtype."""

import numpy as np

COMPLEX = ("complex128", "complex64")


def real_view(L, out):
    """``out`` (a tensor or a tuple of them) with complex tensors as ``view_as_real`` pairs."""
    if isinstance(out, (tuple, list)):
        return tuple(real_view(L, o) for o in out)
    if hasattr(out, "dtype") and out.dtype in (L.complex64, L.complex128):
        if hasattr(out, "resolve_conj"):
            out = out.resolve_conj()
        return L.view_as_real(out)
    return out


def crandn(rng, shape, dt="complex128"):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)


def well_conditioned(rng, shape, dt="complex128"):
    n = shape[-1]
    a = rng.standard_normal(shape) + 3 * np.eye(n)
    if dt.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dt)


def hermitian_pd(rng, shape, dt="complex128"):
    a = crandn(rng, shape) if dt.startswith("complex") else rng.standard_normal(shape)
    return (a @ np.conj(np.swapaxes(a, -1, -2)) + shape[-1] * np.eye(shape[-1])).astype(dt)


def grad_tol(dt, argc=1):
    """(argument positions with a gradient, tolerance): gradients in double precision only."""
    if dt in ("complex128", "float64"):
        return tuple(range(argc)), 1e-9
    return (), 1e-4
