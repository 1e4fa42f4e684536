"""Fused CuPy kernels: one GPU launch where the array path takes many.

On a GPU each array operation is a kernel launch, so an optimizer step written as a dozen array
operations per parameter costs more in launches than in arithmetic. The Adam kernel here does the
rule of optim/adam.py in one elementwise launch per parameter, its float operations in PyTorch's
implementation's order (fewer than the rule's; the CUDA compiler may also contract a multiply and
an add into one rounding), so results agree with the rule to rounding, not bit for bit;
optim/fused.py chooses it. The kernels are compiled by CuPy
on first use and cached on disk by it. ``chainrule.config.gpu_kernels = False``
(``CHAINRULE_GPU_KERNELS=0`` in the environment) turns them off: the array path then runs on the
GPU.

Each function returns False, having done nothing, when its arrays are not CuPy arrays of the
layout and dtype (float32 or float64) it takes; the caller then runs its array path.

``adam(p, g, m, v, vmax, ...)``: one Adam step in place (``adam_takes``: whether it takes the
arrays).
``col2im(cols, out, sh, sw, dh, dw)``: out (C, Hp, Wp, N) = the columns (C, kh, kw, Ho, Wo, N)
added back at every kernel offset, one thread per output element (a gather: no atomics, and the
offsets summed in the array path's order). It replaces kh * kw slice-adds.
``route_to_winners(xpad, y, g, out, kh, kw, sh, sw)``: pooling's backward: out (C, Hp, Wp, N) =
each window's gradient added at the first input equal to its output (finite outputs only: the
caller sends NaN and infinite ones to the NumPy reference), one thread per window. Overlapping
windows add atomically, so their sums may round in another order. It replaces about five
passes per kernel offset.
"""

from __future__ import annotations

from . import cupy
from .settings import config

__all__ = ["adam", "adam_takes", "col2im", "enabled", "route_to_winners"]


def enabled() -> bool:
    """Whether the fused kernels are used: CuPy is installed and ``config.gpu_kernels`` is True."""
    return cupy is not None and config.gpu_kernels


# optim/adam.py's rule after the gradient's sign and L2 term (which the caller applies first, as
# the rule does), in PyTorch's implementation's order (backend/jit.py's Adam kernel has the same).
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


def adam_takes(p, g, m, v, vmax) -> bool:
    """Whether ``adam`` takes these arrays: CuPy arrays of one shape and dtype (float32 or
    float64), with the kernels on."""
    arrays = (p, g, m, v) if vmax is None else (p, g, m, v, vmax)
    if cupy is None or not all(isinstance(a, cupy.ndarray) for a in arrays) or not enabled():
        return False
    return p.dtype.char in "fd" and all(a.shape == p.shape and a.dtype == p.dtype for a in arrays)


def adam(p, g, m, v, vmax, one_minus_b1, b2, one_minus_b2, root_c2, eps, step_size) -> bool:
    """One Adam step in one launch (see the module docstring); ``vmax`` None without AMSGrad.

    ``g`` is the gradient with the rule's sign and L2 term applied; ``root_c2`` is
    ``sqrt(1 - b2**t)`` and ``step_size`` ``lr / (1 - b1**t)``.
    """
    if not adam_takes(p, g, m, v, vmax):
        return False
    dt = p.dtype.type
    scalars = [dt(s) for s in (one_minus_b1, b2, one_minus_b2, root_c2, eps, step_size)]
    kernel = _adam_kernel(vmax is not None)
    if vmax is None:
        kernel(g, *scalars, p, m, v)
    else:
        kernel(g, *scalars, p, m, v, vmax)
    return True


def _ours(*arrays) -> bool:
    """CuPy arrays, C-contiguous, of one float dtype (float32 or float64), and kernels on."""
    if cupy is None or not all(isinstance(a, cupy.ndarray) for a in arrays) or not enabled():
        return False
    dtype = arrays[0].dtype
    return dtype.char in "fd" and all(a.dtype == dtype and a.flags.c_contiguous for a in arrays)


def _ints(*values):
    return [cupy.int64(v) for v in values]


_COL2IM = """
    long long m = i % n, rest = i / n;
    long long x = rest % wp; rest /= wp;
    long long y = rest % hp;
    long long c = rest / hp;
    T acc = 0;
    for (long long a = 0; a < kh; ++a) {
        long long ty = y - a * dh;
        if (ty < 0) break;
        if (ty % sh != 0 || ty / sh >= ho) continue;
        for (long long b = 0; b < kw; ++b) {
            long long tx = x - b * dw;
            if (tx < 0) break;
            if (tx % sw != 0 || tx / sw >= wo) continue;
            acc += cols[((((c * kh + a) * kw + b) * ho + ty / sh) * wo + tx / sw) * n + m];
        }
    }
    out = acc;
"""


def col2im(cols, out, sh, sw, dh, dw) -> bool:
    """The adjoint of im2col in one launch (see the module docstring)."""
    if not _ours(cols, out) or cols.ndim != 6 or out.ndim != 4:
        return False
    if "col2im" not in _kernels:
        _kernels["col2im"] = cupy.ElementwiseKernel(
            "raw T cols, int64 kh, int64 kw, int64 ho, int64 wo, int64 n, int64 hp, int64 wp, "
            "int64 sh, int64 sw, int64 dh, int64 dw", "T out", _COL2IM, "chainrule_col2im")
    c, kh, kw, ho, wo, n = cols.shape
    _kernels["col2im"](cols, *_ints(kh, kw, ho, wo, n, out.shape[1], out.shape[2], sh, sw, dh,
                                    dw), out)
    return True


_ROUTE = """
    long long m = i % n, rest = i / n;
    long long b = rest % wo; rest /= wo;
    long long a = rest % ho;
    long long c = rest / ho;
    bool found = false;  // no early return: the body runs inside CuPy's grid-stride loop
    for (long long p = 0; p < kh && !found; ++p) {
        for (long long q = 0; q < kw && !found; ++q) {
            long long at = ((c * hp + a * sh + p) * wp + b * sw + q) * n + m;
            T v = xpad[at];
            if (v == y || (v != v && y != y)) {
                atomicAdd(&out[at], g);
                found = true;
            }
        }
    }
"""


def route_to_winners(xpad, y, g, out, kh, kw, sh, sw) -> bool:
    """Max/min pooling's backward in one launch (see the module docstring); ``out`` is zeroed."""
    if not _ours(xpad, y, g, out) or y.shape != g.shape or xpad.ndim != 4 or out.shape != \
            xpad.shape:
        return False
    if "route" not in _kernels:
        _kernels["route"] = cupy.ElementwiseKernel(
            "T y, T g, raw T xpad, int64 kh, int64 kw, int64 sh, int64 sw, int64 ho, int64 wo, "
            "int64 n, int64 hp, int64 wp", "raw T out", _ROUTE, "chainrule_route_to_winners")
    out.fill(0)
    c, ho, wo, n = y.shape
    _kernels["route"](y, g, xpad, *_ints(kh, kw, sh, sw, ho, wo, n, xpad.shape[1],
                                         xpad.shape[2]), out)
    return True
