"""The array work of a whole LSTM sequence (one layer, one direction): forward over every time
step and backpropagation through time, for ``ops.lstm_sequence``.

Gates are PyTorch's (i, f, g, o): ``z_t = W_ih x_t + W_hh h_(t-1) + b``, ``c_t = sigmoid(f) *
c_(t-1) + sigmoid(i) * tanh(g)``, ``h_t = sigmoid(o) * tanh(c_t)``. ``mask`` (T, B) booleans,
for sequences of different lengths: where a sequence is inactive at a step, its state passes
through unchanged and its output is zero. ``reverse`` reads the steps from the last to the first.

References: ``lstm_forward_reference`` and ``lstm_backward_reference`` are the formulas one step
at a time. The fast versions (``lstm_forward``, ``lstm_backward``) compute the same values up to
rounding, shaped for BLAS and few array passes:

- the input projection of all steps is one product (T*B, E) x (E, 4H), written into the one
  (T, B, 4H) buffer that then holds every step's gates; only ``h @ W_hh^T`` runs per step;
- ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, and halving is exact in floating point: the weights of
  the i, f, o rows are halved once, so a single ``tanh`` over each step's whole gate row serves
  all four gates;
- the gate gradients of all steps are kept, so the weight gradients, the bias gradient and the
  input gradient are one product (or sum) each after the loop;
- the elementwise work of a step that has no transcendental function (the cell update in
  forward, all of a step's gate gradients in backward) is one compiled numba sweep when numba is
  on (``config.jit``), else a few NumPy calls (``_cell_forward_numpy``, ``_cell_backward_numpy``;
  the tests hold all routes equal).

Reference mode, other dtypes than float32/float64 and arrays off the host take the references.
"""

from __future__ import annotations

import importlib.util

from ..backend import get_array_module
from ..backend.settings import config

__all__ = ["lstm_backward", "lstm_backward_reference", "lstm_forward", "lstm_forward_reference"]

_HOST = get_array_module()
_NUMBA = importlib.util.find_spec("numba") is not None
_compiled: dict = {}


def _sigmoid(xp, z):
    return 1.0 / (1.0 + xp.exp(-z))


def _order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def lstm_forward_reference(x, h0, c0, w_ih, w_hh, b=None, *, reverse=False, mask=None,
                           keep=True):
    """(output (T, B, H), h_n, c_n, saved): the sequence one step at a time.

    ``b`` is the summed bias ``b_ih + b_hh`` (4H,) or None; ``saved`` is what
    ``lstm_backward_reference`` needs (None unless ``keep``).
    """
    xp = get_array_module(x)
    steps, hidden = x.shape[0], h0.shape[-1]
    h, c = h0, c0
    outs, saved = [None] * steps, [None] * steps
    for t in _order(steps, reverse):
        z = x[t] @ w_ih.T + h @ w_hh.T
        if b is not None:
            z = z + b
        i = _sigmoid(xp, z[:, :hidden])
        f = _sigmoid(xp, z[:, hidden:2 * hidden])
        g = xp.tanh(z[:, 2 * hidden:3 * hidden])
        o = _sigmoid(xp, z[:, 3 * hidden:])
        c_new = f * c + i * g
        tc = xp.tanh(c_new)
        h_new = o * tc
        saved[t] = (h, c, i, f, g, o, tc)
        if mask is None:
            outs[t], h, c = h_new, h_new, c_new
        else:
            m = mask[t][:, None]
            outs[t] = h_new * m
            h, c = xp.where(m, h_new, h), xp.where(m, c_new, c)
    state = ("reference", x, w_ih, w_hh, saved, reverse, mask) if keep else None
    return xp.stack(outs), h, c, state


def lstm_backward_reference(saved, d_out, d_hn, d_cn):
    """(dx, dh0, dc0, dW_ih, dW_hh, db): backpropagation through time, one step at a time."""
    _, x, w_ih, w_hh, steps_saved, reverse, mask = saved
    xp = get_array_module(x)
    steps = x.shape[0]
    dh, dc = d_hn, d_cn
    dz = [None] * steps
    dw_hh = xp.zeros_like(w_hh)
    for t in _order(steps, not reverse):
        h, c, i, f, g, o, tc = steps_saved[t]
        m = 1 if mask is None else mask[t][:, None].astype(x.dtype)
        dh_new = m * (dh + d_out[t])
        dc_new = m * dc + dh_new * o * (1 - tc * tc)
        dz[t] = xp.concatenate([dc_new * g * i * (1 - i), dc_new * c * f * (1 - f),
                                dc_new * i * (1 - g * g), dh_new * tc * o * (1 - o)], axis=1)
        dw_hh = dw_hh + dz[t].T @ h
        dh = dz[t] @ w_hh + (1 - m) * dh
        dc = dc_new * f + (1 - m) * dc
    dz = xp.stack(dz)
    dx = dz @ w_ih
    dw_ih = xp.einsum("tbk,tbe->ke", dz, x)
    return dx, dh, dc, dw_ih, dw_hh, dz.sum(axis=(0, 1))


def _fast(x):
    return (not config.reference_mode and type(x) is _HOST.ndarray
            and x.dtype in (_HOST.float32, _HOST.float64))


def _jit():
    """The compiled step kernels, or None (numba missing or ``config.jit`` off)."""
    if not (config.jit and _NUMBA):
        return None
    if not _compiled:
        _compiled.update(_build())
    return _compiled


def _half_scale(dtype, hidden):
    """1/2 for the columns of the sigmoid gates (i, f, o), 1 for g's."""
    s = _HOST.full(4 * hidden, 0.5, dtype=dtype)
    s[2 * hidden:3 * hidden] = 1
    return s


def _states(buffer, reverse):
    """(state entering each step, state leaving it) as views of one (T+1, B, H) buffer."""
    return (buffer[1:], buffer[:-1]) if reverse else (buffer[:-1], buffer[1:])


def _cell_forward_numpy(g, c_in, c_out, hidden):
    """Gates from their tanh (the i, f, o halves become sigmoids), then c_out = f c_in + i g."""
    xp = _HOST
    for s in (g[:, :2 * hidden], g[:, 3 * hidden:]):
        xp.multiply(s, 0.5, out=s)
        xp.add(s, 0.5, out=s)
    xp.multiply(g[:, hidden:2 * hidden], c_in, out=c_out)
    c_out += g[:, :hidden] * g[:, 2 * hidden:3 * hidden]


def _cell_backward_numpy(g, tc, c_in, dh, d_out, dc, dz, m, hidden):
    """One step's gate gradients into ``dz`` (B, 4H); ``dc`` becomes the gradient of c_in.

    ``dh`` and ``dc`` carry the gradients of the state leaving the step; ``m`` (B, 1) is the
    step's mask or None. Rows of inactive sequences get zero gate gradients and keep ``dc``.
    """
    i, f = g[:, :hidden], g[:, hidden:2 * hidden]
    gg, o = g[:, 2 * hidden:3 * hidden], g[:, 3 * hidden:]
    dh_new = dh + d_out
    if m is not None:
        dh_new *= m
    dc_new = dc + dh_new * o * (1 - tc * tc)
    dz[:, 3 * hidden:] = dh_new * tc * o * (1 - o)
    dz[:, :hidden] = dc_new * gg * i * (1 - i)
    dz[:, hidden:2 * hidden] = dc_new * c_in * f * (1 - f)
    dz[:, 2 * hidden:3 * hidden] = dc_new * i * (1 - gg * gg)
    if m is None:
        _HOST.multiply(dc_new, f, out=dc)
    else:
        dz *= m
        _HOST.copyto(dc, dc_new * f, where=m)


def lstm_forward(x, h0, c0, w_ih, w_hh, b=None, *, reverse=False, mask=None, keep=True):
    """``lstm_forward_reference``'s results, shaped for BLAS (see the module's notes)."""
    if not _fast(x):
        return lstm_forward_reference(x, h0, c0, w_ih, w_hh, b, reverse=reverse, mask=mask,
                                      keep=keep)
    xp, dtype = _HOST, x.dtype
    steps, batch, _ = x.shape
    hidden = h0.shape[-1]
    scale = _half_scale(dtype, hidden)
    x2 = xp.ascontiguousarray(x).reshape(steps * batch, -1)
    gates = (x2 @ (w_ih.T * scale)).reshape(steps, batch, 4 * hidden)
    if b is not None:
        gates += b * scale
    w = xp.ascontiguousarray(w_hh.T * scale)  # (H, 4H): the per-step product's preferred order
    hs = xp.empty((steps + 1, batch, hidden), dtype)
    cs = xp.empty_like(hs)
    h_in, h_out = _states(hs, reverse)
    c_in, c_out = _states(cs, reverse)
    h_in[0 if not reverse else -1][...] = h0
    c_in[0 if not reverse else -1][...] = c0
    tcs = xp.empty((steps, batch, hidden), dtype) if keep else xp.empty((1, batch, hidden), dtype)
    rec = xp.empty((batch, 4 * hidden), dtype)
    jit = _jit()
    sig_o = slice(3 * hidden, None)
    for t in _order(steps, reverse):
        g = gates[t]
        xp.matmul(h_in[t], w, out=rec)
        g += rec
        xp.tanh(g, out=g)
        if jit is not None:
            jit["cell_forward"](g, c_in[t], c_out[t], hidden)
        else:
            _cell_forward_numpy(g, c_in[t], c_out[t], hidden)
        tc = tcs[t if keep else 0]
        xp.tanh(c_out[t], out=tc)
        xp.multiply(g[:, sig_o], tc, out=h_out[t])
        if mask is not None and not mask[t].all():
            off = ~mask[t][:, None]
            xp.copyto(h_out[t], h_in[t], where=off)
            xp.copyto(c_out[t], c_in[t], where=off)
    last = 0 if reverse else steps - 1
    out = h_out if mask is None else h_out * mask[:, :, None]
    saved = None
    if keep:
        saved = ("fast", x2, w_ih, w_hh, gates, hs, cs, tcs, reverse, mask)
    return out, h_out[last].copy(), c_out[last].copy(), saved


def lstm_backward(saved, d_out, d_hn, d_cn, *, need_x=True, need_h0=True, need_w=True):
    """``lstm_backward_reference``'s results from ``lstm_forward``'s ``saved``.

    ``need_*=False`` skips the products only that gradient needs (it is then None): the input's,
    the initial hidden state's (the last step's product), the weights'.
    """
    if saved[0] == "reference":
        return lstm_backward_reference(saved, d_out, d_hn, d_cn)
    _, x2, w_ih, w_hh, gates, hs, cs, tcs, reverse, mask = saved
    xp, dtype = _HOST, x2.dtype
    steps, batch, four_h = gates.shape
    hidden = four_h // 4
    h_in, _ = _states(hs, reverse)
    c_in, _ = _states(cs, reverse)
    dz = xp.empty_like(gates)
    dh = xp.array(d_hn, dtype=dtype, order="C")
    dc = xp.array(d_cn, dtype=dtype, order="C")
    d_out = xp.ascontiguousarray(d_out, dtype=dtype)
    w = xp.ascontiguousarray(w_hh)
    rec = xp.empty_like(dh)
    jit = _jit()
    order = list(_order(steps, not reverse))
    for k, t in enumerate(order):
        m = None
        if mask is not None and not mask[t].all():
            m = mask[t][:, None]
        if jit is not None:
            jit["cell_backward"](gates[t], tcs[t], c_in[t], dh, d_out[t], dc, dz[t],
                                 mask[t] if m is not None else _ALL_ON(batch), hidden)
        else:
            _cell_backward_numpy(gates[t], tcs[t], c_in[t], dh, d_out[t], dc, dz[t], m, hidden)
        if k == steps - 1 and not need_h0:
            dh = None
            break
        xp.matmul(dz[t], w, out=rec)
        if m is None:
            dh, rec = rec, dh
        else:  # an inactive sequence's state passed through: so does its gradient
            xp.copyto(dh, rec, where=m)
    dz2 = dz.reshape(steps * batch, four_h)
    dx = (dz2 @ w_ih).reshape(steps, batch, -1) if need_x else None
    if not need_w:
        return dx, dh, dc, None, None, None
    dw_hh = dz2.T @ h_in.reshape(steps * batch, hidden)
    return dx, dh, dc, dz2.T @ x2, dw_hh, dz2.sum(axis=0)


_ONES: dict = {}


def _ALL_ON(batch):  # noqa: N802 - a cached constant
    m = _ONES.get(batch)
    if m is None:
        m = _ONES[batch] = _HOST.ones(batch, dtype=bool)
        m.flags.writeable = False
    return m


def _build():
    import numba

    jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")

    @jit
    def cell_forward(g, c_in, c_out, hidden):
        """g (B, 4H) holds tanh of the halved i, f, o and of g: sigmoids, then the new cell."""
        for r in range(g.shape[0]):
            for j in range(hidden):
                i = 0.5 * g[r, j] + 0.5
                f = 0.5 * g[r, hidden + j] + 0.5
                g[r, j] = i
                g[r, hidden + j] = f
                g[r, 3 * hidden + j] = 0.5 * g[r, 3 * hidden + j] + 0.5
                c_out[r, j] = f * c_in[r, j] + i * g[r, 2 * hidden + j]

    @jit
    def cell_backward(g, tc, c_in, dh, d_out, dc, dz, active, hidden):
        """As ``_cell_backward_numpy``, one sweep; ``active`` (B,) the step's mask."""
        for r in range(g.shape[0]):
            if not active[r]:
                for j in range(4 * hidden):
                    dz[r, j] = 0.0
                continue
            for j in range(hidden):
                i = g[r, j]
                f = g[r, hidden + j]
                gg = g[r, 2 * hidden + j]
                o = g[r, 3 * hidden + j]
                t = tc[r, j]
                dh_new = dh[r, j] + d_out[r, j]
                dc_new = dc[r, j] + dh_new * o * (1 - t * t)
                dz[r, 3 * hidden + j] = dh_new * t * o * (1 - o)
                dz[r, j] = dc_new * gg * i * (1 - i)
                dz[r, hidden + j] = dc_new * c_in[r, j] * f * (1 - f)
                dz[r, 2 * hidden + j] = dc_new * i * (1 - gg * gg)
                dc[r, j] = dc_new * f

    return {"cell_forward": cell_forward, "cell_backward": cell_backward}
