"""Fused CuPy kernels: one GPU launch where the array path takes many.

On a GPU each array operation is a kernel launch of a few microseconds, so an optimizer step that
is eleven in-place operations per parameter costs more in launches than in arithmetic. The kernels
here do such a step in one elementwise launch per parameter, with the array path's float
operations in its order (the CUDA compiler may contract a multiply and an add into one rounding,
so results agree to rounding, not bit for bit). They are compiled by CuPy on first use and cached
on disk by it. ``CHAINRULE_GPU_KERNELS=0`` turns them off (the array path then runs on the GPU).

``adam(p, g, m, v, vmax, ...)``: one Adam step in place; returns False, having done nothing, when
the arrays are not CuPy arrays of one shape and of dtype float32 or float64.
"""

from __future__ import annotations

import os

from . import cupy

__all__ = ["adam", "enabled"]


def enabled() -> bool:
    """Whether the fused kernels are used: CuPy is installed and CHAINRULE_GPU_KERNELS is not 0."""
    return cupy is not None and os.environ.get("CHAINRULE_GPU_KERNELS", "1").strip() != "0"


_ADAM_BODY = """
    T mi = m + (g - m) * one_minus_b1;
    T vi = v * b2 + g * g * one_minus_b2;
    m = mi;
    v = vi;
    {amsgrad}
    p -= mi / (sqrt(vi) / root_c2 + eps) * step_size;
"""
_SCALARS = "T one_minus_b1, T b2, T one_minus_b2, T root_c2, T eps, T step_size"
_kernels: dict = {}


def _adam_kernel(amsgrad: bool):
    if amsgrad not in _kernels:
        body = _ADAM_BODY.format(amsgrad="vi = max(vmax, vi); vmax = vi;" if amsgrad else "")
        outputs = "T p, T m, T v" + (", T vmax" if amsgrad else "")
        _kernels[amsgrad] = cupy.ElementwiseKernel(
            "T g, " + _SCALARS, outputs, body,
            "chainrule_adam_amsgrad" if amsgrad else "chainrule_adam")
    return _kernels[amsgrad]


def adam(p, g, m, v, vmax, one_minus_b1, b2, one_minus_b2, root_c2, eps, step_size) -> bool:
    """One Adam step in one launch (see the module docstring); ``vmax`` None without AMSGrad."""
    arrays = (p, g, m, v) if vmax is None else (p, g, m, v, vmax)
    if cupy is None or not all(isinstance(a, cupy.ndarray) for a in arrays) or not enabled():
        return False
    if any(a.shape != p.shape or a.dtype != p.dtype for a in arrays) or p.dtype.char not in "fd":
        return False
    dt = p.dtype.type
    scalars = [dt(s) for s in (one_minus_b1, b2, one_minus_b2, root_c2, eps, step_size)]
    kernel = _adam_kernel(vmax is not None)
    if vmax is None:
        kernel(g, *scalars, p, m, v)
    else:
        kernel(g, *scalars, p, m, v, vmax)
    return True
