"""The image kernels of ``backend.jit``: col2im, im2col, pooling and a skinny convolution.

Defined by ``image_kernels(jit)``, which ``backend.jit`` calls when it first loads numba, with its
``numba.njit`` settings; the names an op calls (``jit.col2im``, ``jit.pool``...) and the rules
(batch-last arrays, float32 and float64, references in ``kernels/``) are those of
``backend.jit``'s docstring.
"""

from __future__ import annotations

import numpy as np

__all__ = ["image_kernels"]


def image_kernels(jit) -> dict:  # noqa: C901 - the kernels are defined together
    """The compiled image kernels by name, each decorated with ``jit``."""

    @jit
    def _col2im(cols, out, sh, sw, dh, dw):
        """out (C, Hp, Wp, N) = 0, then += cols (C, kh, kw, Ho, Wo, N) at every offset."""
        c_, kh, kw, ho, wo, n = cols.shape
        out[...] = 0
        for c in range(c_):
            for i in range(kh):
                for j in range(kw):
                    for a in range(ho):
                        r = i * dh + a * sh
                        for b in range(wo):
                            q = j * dw + b * sw
                            for m in range(n):
                                out[c, r, q, m] += cols[c, i, j, a, b, m]

    @jit
    def _col2im_crop(out, cols, bias, relu, sh, sw, dh, dw, pt, pl):
        """out (C, H, W, N) = the sum of cols (C, kh, kw, Ho, Wo, N) at every offset, as
        ``_col2im`` into the padded image, but only the unpadded part is written (dense, no
        crop), then + bias[c] when bias is not empty, then max(., 0) when ``relu``: each
        element's sum in ``_col2im``'s order, then its bias, as the reference's ``y += b``.
        """
        c_, h, w, n = out.shape
        kh, kw, ho, wo = cols.shape[1], cols.shape[2], cols.shape[3], cols.shape[4]
        with_bias = bias.size > 0
        for c in range(c_):
            out[c] = 0
            for i in range(kh):
                for j in range(kw):
                    for a in range(ho):
                        r = i * dh + a * sh - pt
                        if r < 0 or r >= h:
                            continue
                        for b in range(wo):
                            q = j * dw + b * sw - pl
                            if q < 0 or q >= w:
                                continue
                            for m in range(n):
                                out[c, r, q, m] += cols[c, i, j, a, b, m]
            if with_bias or relu:  # max(v, 0) as _bias_relu: NaN stays NaN, as in NumPy
                for r in range(h):
                    for q in range(w):
                        for m in range(n):
                            v = out[c, r, q, m]
                            if with_bias:
                                v += bias[c]
                            out[c, r, q, m] = 0 if relu and v <= 0 else v

    @jit
    def _convolve_skinny(y, x, w, b, relu, sh, sw, dh, dw):
        """y (O, Ho, Wo, N) = x (C, Hp, Wp, N, padded) convolved with w (O, C, kh, kw, C-order),
        + b[o] (b not empty), then max(., 0) (``relu``): per output position, every tap times N
        inputs summed into N accumulators per filter, in the reference's tap order, then the
        bias; no columns. Four taps go into one statement, left to right, so that a sweep over
        the accumulators reads and writes them once per four taps rather than per tap: the same
        additions in the same order, so the same bits."""
        o_, ho, wo, n = y.shape
        c_, kh, kw = w.shape[1], w.shape[2], w.shape[3]
        with_bias = b.size > 0
        taps = c_ * kh * kw  # tap t reads the row a * sh + rows[t], column q * sw + cols[t]
        xs = x.reshape(c_ * x.shape[1], x.shape[2], n)  # of the channels' rows stacked
        rows, cols = np.empty(taps, np.int64), np.empty(taps, np.int64)
        for c in range(c_):
            for i in range(kh):
                for j in range(kw):
                    t = (c * kh + i) * kw + j
                    rows[t], cols[t] = c * x.shape[1] + i * dh, j * dw
        wt = w.reshape(o_, taps)
        acc = np.empty((o_, n), y.dtype)
        for a in range(ho):
            for q in range(wo):
                r, s = a * sh, q * sw
                acc[:] = 0
                t = 0
                while t < taps:
                    if t + 4 <= taps:
                        x0, x1 = xs[r + rows[t], s + cols[t]], xs[r + rows[t + 1], s + cols[t + 1]]
                        x2 = xs[r + rows[t + 2], s + cols[t + 2]]
                        x3 = xs[r + rows[t + 3], s + cols[t + 3]]
                        for o in range(o_):
                            w0, w1, w2, w3 = wt[o, t], wt[o, t + 1], wt[o, t + 2], wt[o, t + 3]
                            ar = acc[o]
                            for m in range(n):
                                ar[m] = ((ar[m] + w0 * x0[m] + w1 * x1[m]) + w2 * x2[m]
                                         + w3 * x3[m])
                        t += 4
                    else:
                        x0 = xs[r + rows[t], s + cols[t]]
                        for o in range(o_):
                            w0, ar = wt[o, t], acc[o]
                            for m in range(n):
                                ar[m] += w0 * x0[m]
                        t += 1
                for o in range(o_):  # max(v, 0) as _bias_relu: NaN stays NaN
                    for m in range(n):
                        v = acc[o, m]
                        if with_bias:
                            v += b[o]
                        y[o, a, q, m] = 0 if relu and v <= 0 else v

    @jit
    def _im2col(cols, x, sh, sw, dh, dw, pt, pl):
        """cols (C, kh, kw, Ho, Wo, N) = x (C, H, W, N) at every window offset, 0 where the
        window reads the zero padding (``pt`` rows above, ``pl`` columns left): im2col of the
        padded input without building it."""
        c_, kh, kw, ho, wo, n = cols.shape
        h, w = x.shape[1], x.shape[2]
        for c in range(c_):
            for i in range(kh):
                for j in range(kw):
                    for a in range(ho):
                        r = a * sh + i * dh - pt
                        inside = 0 <= r < h
                        for b in range(wo):
                            q = b * sw + j * dw - pl
                            if inside and 0 <= q < w:
                                for m in range(n):
                                    cols[c, i, j, a, b, m] = x[c, r, q, m]
                            else:
                                for m in range(n):
                                    cols[c, i, j, a, b, m] = 0

    @jit
    def _route(xpad, y, g, out, kh, kw, sh, sw):
        """out (C, Hp, Wp, N) = g routed to each window's first input equal to its output y.

        Its caller (kernels/pooling.py) sends it finite outputs only: a NaN or infinite one takes
        the NumPy reference. The loop over the batch is innermost and branch-free, so it compiles
        to vector instructions.
        """
        c_, ho, wo, n = y.shape
        # Windows that tile the input (stride = kernel, as in LeNet's 2 x 2 pooling) write each
        # covered value once: only the uncovered edge is zeroed first, not the whole array.
        # 0.0 + the product keeps the value bit-identical to the accumulation (-0.0 turns +0.0).
        tiled = sh == kh and sw == kw
        if tiled:
            out[:, ho * kh:] = 0
            out[:, :, wo * kw:] = 0
        else:
            out[...] = 0
        free = np.empty(n, dtype=np.bool_)  # windows whose winner is still to be found
        for c in range(c_):
            for a in range(ho):
                for b in range(wo):
                    free[:] = True
                    for i in range(kh):
                        r = a * sh + i
                        for j in range(kw):
                            q = b * sw + j
                            if tiled:  # two copies of the loop: each stays branch-free
                                for m in range(n):
                                    v, best = xpad[c, r, q, m], y[c, a, b, m]
                                    won = free[m] & ((v == best) | ((v != v) & (best != best)))
                                    out[c, r, q, m] = 0.0 + g[c, a, b, m] * won
                                    free[m] = free[m] & ~won
                            else:
                                for m in range(n):
                                    v, best = xpad[c, r, q, m], y[c, a, b, m]
                                    won = free[m] & ((v == best) | ((v != v) & (best != best)))
                                    out[c, r, q, m] += g[c, a, b, m] * won
                                    free[m] = free[m] & ~won

    @jit
    def _pool(xpad, out, kh, kw, sh, sw, largest):
        """out (C, Ho, Wo, N) = the max (or min) of each window of xpad; a NaN wins, as np.maximum.

        The batch loop is innermost and branch-free (selects), so it compiles to vector code.
        """
        c_, ho, wo, n = out.shape
        for c in range(c_):
            for a in range(ho):
                for b in range(wo):
                    for m in range(n):
                        out[c, a, b, m] = xpad[c, a * sh, b * sw, m]
                    for i in range(kh):
                        for j in range(kw):
                            if i == 0 and j == 0:
                                continue
                            for m in range(n):
                                v, best = xpad[c, a * sh + i, b * sw + j, m], out[c, a, b, m]
                                better = (v > best) if largest else (v < best)
                                if (better or v != v) and best == best:
                                    out[c, a, b, m] = v

    return {"col2im": _col2im, "col2im_crop": _col2im_crop, "im2col": _im2col,
            "convolve_skinny": _convolve_skinny, "route_to_winners": _route, "pool": _pool}
