"""The array work of a whole GRU sequence (one layer, one direction): forward over every time
step and backpropagation through time, for ``ops.gru_sequence``.

Gates are PyTorch's (r, z, n): ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z`` likewise,
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` and ``h' = (1 - z) * n + z * h``, written
``n + z * (h - n)``. ``mask`` (T, B) booleans and ``reverse`` as in ``kernels.lstm``.

References: ``gru_forward_reference`` and ``gru_backward_reference``, one step at a time. The
fast versions compute the same values up to rounding, laid out as ``kernels.lstm``'s: batch-last
per step, the input projection of all steps (and its bias, through a row of ones) one product
before the loop, one product ``[W_hh | b_hh] @ [h; 1]`` per step, the halved rows of the r and z
gates so that one ``tanh`` serves both sigmoids, and after the loop one product each for the
gradients of ``[W_ih | b_ih]``, ``[W_hh | b_hh]`` and the input. The elementwise work of a step
is a few NumPy calls (no compiled sweep: the GRU is not on a measured path yet).
"""

from __future__ import annotations

from ..backend import get_array_module

__all__ = ["gru_backward", "gru_backward_reference", "gru_forward", "gru_forward_reference"]

_HOST = get_array_module()


def _sigmoid(xp, z):
    return 1.0 / (1.0 + xp.exp(-z))


def _order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def gru_forward_reference(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, reverse=False, mask=None,
                          save=True):
    """(output (T, B, H), h_n, saved): the sequence one step at a time (saved None unless save)."""
    xp = get_array_module(x)
    steps, hidden = x.shape[0], h0.shape[-1]
    h = h0
    outs, saved = [None] * steps, [None] * steps
    for t in _order(steps, reverse):
        gi, gh = x[t] @ w_ih.T, h @ w_hh.T
        if b_ih is not None:
            gi, gh = gi + b_ih, gh + b_hh
        r = _sigmoid(xp, gi[:, :hidden] + gh[:, :hidden])
        z = _sigmoid(xp, gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
        n = xp.tanh(gi[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
        h_new = n + z * (h - n)
        saved[t] = (h, r, z, n, gh[:, 2 * hidden:])
        if mask is None:
            outs[t] = h = h_new
        else:
            m = mask[t][:, None]
            outs[t], h = h_new * m, xp.where(m, h_new, h)
    state = ("reference", x, w_ih, w_hh, saved, reverse, mask, b_ih is not None) if save else None
    return xp.stack(outs), h, state


def gru_backward_reference(saved, d_out, d_hn):
    """(dx, dh0, dW_ih, dW_hh, db_ih, db_hh): backpropagation through time, step by step (the
    bias gradients None without biases)."""
    _, x, w_ih, w_hh, steps_saved, reverse, mask, bias = saved
    xp = get_array_module(x)
    steps = x.shape[0]
    dh = d_hn
    dgi, dgh = [None] * steps, [None] * steps
    for t in _order(steps, not reverse):
        h, r, z, n, gh_n = steps_saved[t]
        m = 1 if mask is None else mask[t][:, None].astype(x.dtype)
        dh_new = m * (dh + d_out[t])
        dan = dh_new * (1 - z) * (1 - n * n)
        dar = dan * gh_n * r * (1 - r)
        daz = dh_new * (h - n) * z * (1 - z)
        dgi[t] = xp.concatenate([dar, daz, dan], axis=1)
        dgh[t] = xp.concatenate([dar, daz, dan * r], axis=1)
        dh = dh_new * z + dgh[t] @ w_hh + (1 - m) * dh
    hs = xp.stack([s[0] for s in steps_saved])
    dgi, dgh = xp.stack(dgi), xp.stack(dgh)
    dw_ih = xp.einsum("tbk,tbe->ke", dgi, x)
    dw_hh = xp.einsum("tbk,tbe->ke", dgh, hs)
    if not bias:
        return dgi @ w_ih, dh, dw_ih, dw_hh, None, None
    return dgi @ w_ih, dh, dw_ih, dw_hh, dgi.sum(axis=(0, 1)), dgh.sum(axis=(0, 1))


def _fast(x):
    return type(x) is _HOST.ndarray and x.dtype in (_HOST.float32, _HOST.float64)


def _with_ones(xp, a, dtype, bias):
    """``a`` (rows, T, B) with a row of ones below when ``bias`` (the bias's column's partner)."""
    if not bias:
        return xp.ascontiguousarray(a, dtype=dtype)
    out = xp.empty((a.shape[0] + 1,) + a.shape[1:], dtype)
    out[:-1] = a
    out[-1] = 1
    return out


def gru_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, *, reverse=False, mask=None, save=True):
    """``gru_forward_reference``'s results, shaped for BLAS (see the module's notes)."""
    if not _fast(x):
        return gru_forward_reference(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=reverse, mask=mask,
                                     save=save)
    xp, dtype = _HOST, x.dtype
    steps, batch, features = x.shape
    hidden, bias = h0.shape[-1], b_ih is not None
    scale = xp.ones((3 * hidden, 1), dtype)
    scale[:2 * hidden] = 0.5  # sigmoid(a) = (1 + tanh(a / 2)) / 2 for r and z
    w_i = xp.concatenate([w_ih, b_ih[:, None]], 1) if bias else w_ih
    w_h = xp.concatenate([w_hh, b_hh[:, None]], 1) if bias else w_hh
    xs = _with_ones(xp, (x[::-1] if reverse else x).transpose(2, 0, 1), dtype, bias)  # (E+1, T, B)
    gi = ((w_i * scale) @ xs.reshape(xs.shape[0], -1)).reshape(3 * hidden, steps, batch)
    hs = xp.empty((hidden + bias, steps + 1, batch), dtype)  # the state entering each step
    if bias:
        hs[-1] = 1
    hs[:hidden, 0] = h0.T
    w_h = xp.ascontiguousarray(w_h * scale)
    gates = xp.empty((steps, 3 * hidden, batch), dtype)  # r, z, n
    gh = xp.empty((steps if save else 1, 3 * hidden, batch), dtype)
    two = 2 * hidden
    for k, t in enumerate(_order(steps, reverse)):
        g, h_k = gh[k if save else 0], gates[k]
        xp.matmul(w_h, hs[:, k], out=g)
        rz = h_k[:two]
        xp.add(gi[:two, k], g[:two], out=rz)
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        n = h_k[two:]
        xp.multiply(h_k[:hidden], g[two:], out=n)
        n += gi[two:, k]
        xp.tanh(n, out=n)
        h_in, h_out = hs[:hidden, k], hs[:hidden, k + 1]
        xp.subtract(h_in, n, out=h_out)
        h_out *= h_k[hidden:two]
        h_out += n
        if mask is not None and not mask[t].all():
            xp.copyto(h_out, h_in, where=~mask[t])
    out = hs[:hidden, 1:].transpose(1, 2, 0)
    if reverse:
        out = out[::-1]
    # a new array, never a view of hs, which backward reads (see kernels.lstm's forward)
    out = out * mask[:, :, None] if mask is not None else out.copy()
    saved = ("fast", xs, hs, gates, gh, w_ih, w_hh, reverse, mask) if save else None
    return out, hs[:hidden, steps].T.copy(), saved


def gru_backward(saved, d_out, d_hn, *, need_x=True, need_w=True):
    """``gru_backward_reference``'s results from ``gru_forward``'s ``saved``; ``need_*=False``
    skips the input's or the weights' gradient (None)."""
    if saved[0] == "reference":
        return gru_backward_reference(saved, d_out, d_hn)
    _, xs, hs, gates, gh, w_ih, w_hh, reverse, mask = saved
    xp, dtype = _HOST, xs.dtype
    steps, three_h, batch = gates.shape
    hidden, two = three_h // 3, 2 * three_h // 3
    d_out = xp.ascontiguousarray((d_out[::-1] if reverse else d_out).transpose(0, 2, 1),
                                 dtype=dtype) if d_out.any() else None
    w_back = xp.ascontiguousarray(w_hh.T)
    dgi = xp.empty((three_h, steps, batch), dtype)
    dgh = xp.empty_like(dgi)
    dh = xp.array(d_hn.T, dtype=dtype, order="C")
    ts = list(_order(steps, reverse))
    for k in range(steps - 1, -1, -1):
        m = None if mask is None or mask[ts[k]].all() else mask[ts[k]]
        r, z, n = gates[k, :hidden], gates[k, hidden:two], gates[k, two:]
        dh_new = dh if d_out is None else dh + d_out[k]
        if m is not None:
            dh_new = dh_new * m
        dan = dh_new * (1 - z) * (1 - n * n)
        dgi[two:, k] = dan
        dgi[:hidden, k] = dan * gh[k, two:] * r * (1 - r)
        dgi[hidden:two, k] = dh_new * (hs[:hidden, k] - n) * z * (1 - z)
        dgh[:two, k] = dgi[:two, k]
        xp.multiply(dan, r, out=dgh[two:, k])
        new = w_back @ dgh[:, k]
        new += dh_new * z
        if m is not None:  # an inactive sequence's state passed through: so does its gradient
            xp.copyto(new, dh, where=~m)
        dh = new
    n_rows = steps * batch
    dx = None
    if need_x:
        dx = (w_ih.T @ dgi.reshape(three_h, n_rows)).reshape(w_ih.shape[1], steps, batch)
        dx = dx.transpose(1, 2, 0)
        dx = dx[::-1] if reverse else dx
    if not need_w:
        return dx, dh.T.copy(), None, None, None, None
    e = w_ih.shape[1]
    dwi = dgi.reshape(three_h, n_rows) @ xs.reshape(xs.shape[0], n_rows).T
    dwh = dgh.reshape(three_h, n_rows) @ hs[:, :steps].reshape(hs.shape[0], n_rows).T
    bias = xs.shape[0] > e
    return (dx, dh.T.copy(), dwi[:, :e].copy(), dwh[:, :hidden].copy(),
            dwi[:, e].copy() if bias else None, dwh[:, hidden].copy() if bias else None)
