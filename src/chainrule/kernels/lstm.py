"""The array work of a whole LSTM sequence (one layer, one direction): forward over every time
step and backpropagation through time, for ``ops.lstm_sequence``.

Gates are PyTorch's (i, f, g, o): ``z_t = W_ih x_t + W_hh h_(t-1) + b``, ``c_t = sigmoid(f) *
c_(t-1) + sigmoid(i) * tanh(g)``, ``h_t = sigmoid(o) * tanh(c_t)``. ``mask`` (T, B) booleans,
for sequences of different lengths: where a sequence is inactive at a step, its state passes
through unchanged and its output is zero. ``reverse`` reads the steps from the last to the first.

References: ``lstm_forward_reference`` and ``lstm_backward_reference`` are the formulas one step
at a time. The fast versions (``lstm_forward``, ``lstm_backward``) compute the same values up to
rounding, shaped for BLAS and few array passes:

- one matrix product per step, ``[W_ih | W_hh | b] @ [x_t; h; 1]``, batch-last (see the note
  above ``lstm_forward``), gives all four gates' pre-activations, input projection and bias
  included;
- ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, and halving is exact in floating point: the rows of the
  i, f, o gates are halved once, so a single ``tanh`` over each step's gates serves all four;
- the gate gradients of all steps are kept, so the gradients of W_ih, W_hh and the bias are one
  product after the loop; the input's and the previous state's are one product per step;
- the elementwise work of a step that has no transcendental function (the cell update in
  forward, all of a step's gate gradients in backward) is one compiled numba sweep when numba is
  on (``config.jit``), else a few NumPy calls (``_cell_forward_numpy``, ``_cell_backward_numpy``;
  the tests hold all routes equal to the references);
- an all-zero gradient of the outputs (a classifier reads only the final state) is skipped.

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
                           save=True):
    """(output (T, B, H), h_n, c_n, saved): the sequence one step at a time.

    ``b`` is the summed bias ``b_ih + b_hh`` (4H,) or None; ``saved`` is what
    ``lstm_backward_reference`` needs (None unless ``save``).
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
    state = ("reference", x, w_ih, w_hh, saved, reverse, mask) if save else None
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
    return type(x) is _HOST.ndarray and x.dtype in (_HOST.float32, _HOST.float64)


def _jit():
    """The compiled step kernels, or None (numba missing or ``config.jit`` off)."""
    if not (config.jit and _NUMBA):
        return None
    if not _compiled:
        try:
            _compiled.update(_build())
        except ImportError as e:
            raise ImportError(
                f"chainrule: numba is installed but does not import ({e}); set "
                "chainrule.config.jit = False (or CHAINRULE_JIT=0) to use the NumPy kernels"
            ) from e
    return _compiled


def _half_scale(dtype, hidden):
    """1/2 for the rows of the sigmoid gates (i, f, o), 1 for g's."""
    s = _HOST.full(4 * hidden, 0.5, dtype=dtype)
    s[2 * hidden:3 * hidden] = 1
    return s


def _cell_forward_numpy(g, c_in, c_out, hidden):
    """Gates (4H, B) from their tanh (i, f, o halves become sigmoids), then c_out = f c_in + i g."""
    xp = _HOST
    for s in (g[:2 * hidden], g[3 * hidden:]):
        xp.multiply(s, 0.5, out=s)
        xp.add(s, 0.5, out=s)
    xp.multiply(g[hidden:2 * hidden], c_in, out=c_out)
    c_out += g[:hidden] * g[2 * hidden:3 * hidden]


def _cell_backward_numpy(g, tc, c_in, dh, d_out, dc, dz, m, hidden):
    """One step's gate gradients into ``dz`` (4H, B); ``dc`` becomes the gradient of c_in.

    ``dh`` and ``dc`` (H, B) carry the gradients of the state leaving the step, ``d_out`` that
    of its output (or None: zero); ``m`` (B,) is the step's mask or None. Columns of inactive
    sequences get zero gate gradients and keep ``dc``.
    """
    i, f = g[:hidden], g[hidden:2 * hidden]
    gg, o = g[2 * hidden:3 * hidden], g[3 * hidden:]
    dh_new = dh if d_out is None else dh + d_out
    if m is not None:
        dh_new = dh_new * m
    dc_new = dc + dh_new * o * (1 - tc * tc)
    dz[3 * hidden:] = dh_new * tc * o * (1 - o)
    dz[:hidden] = dc_new * gg * i * (1 - i)
    dz[hidden:2 * hidden] = dc_new * c_in * f * (1 - f)
    dz[2 * hidden:3 * hidden] = dc_new * i * (1 - gg * gg)
    if m is None:
        _HOST.multiply(dc_new, f, out=dc)
    else:
        dz *= m
        _HOST.copyto(dc, dc_new * f, where=m)


# The fast routes keep every per-step array batch-last, (features, B): the per-step products
# then run as W (4H, K) @ [x_t; h; 1] (K, B), which BLAS computes faster at these shapes than
# the batch-first (B, K) @ (K, 4H), and the input, the previous state and a row of ones stacked
# in one buffer ``xh`` (E + H + 1, T + 1, B) make the input projection, the recurrent product
# and the bias one product per step. After the loop, all steps' gate gradients ``dz``
# (4H, T*B) times ``xh`` give the gradients of W_ih, W_hh and the bias in one product. The
# gates (T, 4H, B), cells and tanh(cells) keep each step contiguous for the per-step sweeps.
# The compiled sweeps take whole buffers and a step index: numba vectorizes only over arrays it
# knows to be contiguous, which the strided view of one step of ``dz`` is not.


def lstm_forward(x, h0, c0, w_ih, w_hh, b=None, *, reverse=False, mask=None, save=True):
    """``lstm_forward_reference``'s results, shaped for BLAS (see the module's notes)."""
    if not _fast(x):
        return lstm_forward_reference(x, h0, c0, w_ih, w_hh, b, reverse=reverse, mask=mask,
                                      save=save)
    xp, dtype = _HOST, x.dtype
    steps, batch, features = x.shape
    hidden = h0.shape[-1]
    e, k_rows = features, features + hidden + (b is not None)
    parts = [w_ih, w_hh] + ([b[:, None]] if b is not None else [])
    w = xp.concatenate(parts, axis=1) * _half_scale(dtype, hidden)[:, None]  # (4H, K)
    xh = xp.empty((k_rows, steps + 1, batch), dtype)
    xh[:e, :steps] = (x[::-1] if reverse else x).transpose(2, 0, 1)
    xh[:e, steps] = 0
    if b is not None:
        xh[-1] = 1
    xh[e:e + hidden, 0] = h0.T
    cs = xp.empty((steps + 1, hidden, batch), dtype)
    cs[0] = c0.T
    gates = xp.empty((steps if save else 1, 4 * hidden, batch), dtype)  # one step's when not saved
    tcs = xp.empty((steps if save else 1, hidden, batch), dtype)
    jit = _jit()
    half = dtype.type(0.5)
    for k, t in enumerate(_order(steps, reverse)):
        kg = k if save else 0
        g = gates[kg]
        xp.matmul(w, xh[:, k], out=g)
        xp.tanh(g, out=g)
        if jit is not None:
            jit["cell_forward"](gates, kg, cs, k, hidden, half)
        else:
            _cell_forward_numpy(g, cs[k], cs[k + 1], hidden)
        tc = tcs[k if save else 0]
        xp.tanh(cs[k + 1], out=tc)
        h_out = xh[e:e + hidden, k + 1]
        xp.multiply(g[3 * hidden:], tc, out=h_out)
        if mask is not None and not mask[t].all():
            off = ~mask[t]
            xp.copyto(h_out, xh[e:e + hidden, k], where=off)
            xp.copyto(cs[k + 1], cs[k], where=off)
    out = xh[e:e + hidden, 1:].transpose(1, 2, 0)  # (T, B, H) in the order of the steps run
    if reverse:
        out = out[::-1]
    # A new array, never a view of xh: backward reads xh, and a caller may write into the
    # output in place (out.mul_(2), out[0] = 0), which must not change what backward reads.
    out = out * mask[:, :, None] if mask is not None else out.copy()
    saved = None
    if save:
        saved = ("fast", xh, w_ih, w_hh, gates, cs, tcs, reverse, mask)
    return out, xh[e:e + hidden, steps].T.copy(), cs[steps].T.copy(), saved


def lstm_backward(saved, d_out, d_hn, d_cn, *, need_x=True, need_h0=True, need_w=True):
    """``lstm_backward_reference``'s results from ``lstm_forward``'s ``saved``.

    ``need_*=False`` skips the products only that gradient needs (it is then None): the input's,
    the initial hidden state's (the last step's product), the weights'.
    """
    if saved[0] == "reference":
        return lstm_backward_reference(saved, d_out, d_hn, d_cn)
    _, xh, w_ih, w_hh, gates, cs, tcs, reverse, mask = saved
    xp, dtype = _HOST, xh.dtype
    steps, four_h, batch = gates.shape
    hidden, e = four_h // 4, w_ih.shape[1]
    # A classifier reads only the final state: the outputs' gradient is then zeros, and skipped.
    d_out = xp.ascontiguousarray((d_out[::-1] if reverse else d_out).transpose(0, 2, 1),
                                 dtype=dtype) if d_out.any() else None
    w_back = xp.ascontiguousarray((w_hh if not need_x else xp.concatenate([w_ih, w_hh], 1)).T)
    rows = e * need_x  # where dh starts in a step's product
    dxh = xp.empty((steps, w_back.shape[0], batch), dtype)
    dz = xp.empty((four_h, steps, batch), dtype)
    dh = xp.array(d_hn.T, dtype=dtype, order="C")
    dc = xp.array(d_cn.T, dtype=dtype, order="C")
    jit = _jit()
    one = dtype.type(1)
    ts = list(_order(steps, reverse))
    for k in range(steps - 1, -1, -1):
        t = ts[k]
        m = None if mask is None or mask[t].all() else mask[t]
        if jit is not None:
            # without d_out, tcs stands in, unread (see cell_backward)
            jit["cell_backward"](gates, tcs, cs, dh, tcs if d_out is None else d_out,
                                 d_out is not None, dc, dz, k, _ALL_ON(batch) if m is None else m,
                                 hidden, one)
        else:
            _cell_backward_numpy(gates[k], tcs[k], cs[k], dh, None if d_out is None else d_out[k],
                                 dc, dz[:, k], m, hidden)
        if k == 0 and not need_h0:  # only the input's rows of the last product
            if need_x:
                xp.matmul(w_back[:e], dz[:, k], out=dxh[k, :e])
            dh = None
            break
        xp.matmul(w_back, dz[:, k], out=dxh[k])
        new_dh = dxh[k, rows:]
        if m is not None:  # an inactive sequence's state passed through: so does its gradient
            xp.copyto(new_dh, dh, where=~m)
        dh = new_dh
    dx = None
    if need_x:
        dx = dxh[:, :e].transpose(0, 2, 1)  # (T, B, E) in the order of the steps run
        dx = dx[::-1] if reverse else dx
    dh = None if dh is None else dh.T.copy()
    if not need_w:
        return dx, dh, dc.T.copy(), None, None, None
    k_rows = xh.shape[0]
    dw = dz.reshape(four_h, steps * batch) @ xh[:, :steps].reshape(k_rows, steps * batch).T
    db = dw[:, e + hidden].copy() if k_rows > e + hidden else None
    return dx, dh, dc.T.copy(), dw[:, :e].copy(), dw[:, e:e + hidden].copy(), db


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
    def cell_forward(gates, kg, cs, k, hidden, half):
        """Step k: gates[kg] (4H, B) hold tanh of the halved i, f, o and of g; make the i, f, o
        sigmoids, then the new cell cs[k + 1] = f cs[k] + i g."""
        for j in range(hidden):
            for r in range(gates.shape[2]):
                i = half * gates[kg, j, r] + half
                f = half * gates[kg, hidden + j, r] + half
                gates[kg, j, r] = i
                gates[kg, hidden + j, r] = f
                gates[kg, 3 * hidden + j, r] = half * gates[kg, 3 * hidden + j, r] + half
                cs[k + 1, j, r] = f * cs[k, j, r] + i * gates[kg, 2 * hidden + j, r]

    @jit
    def cell_backward(gates, tcs, cs, dh, d_out, with_out, dc, dz, k, active, hidden, one):
        """As ``_cell_backward_numpy`` for step k, one sweep; ``active`` (B,) the step's mask.

        ``d_out`` is read only ``with_out``; otherwise any array of the dtype that the sweep does
        not write (one it writes would alias, and keep the loop from vectorizing). The mask selects
        values rather than branching, so that the loop over the batch stays vectorized."""
        zero = one - one
        for j in range(hidden):
            for r in range(gates.shape[2]):
                on = active[r]
                i = gates[k, j, r]
                f = gates[k, hidden + j, r]
                gg = gates[k, 2 * hidden + j, r]
                o = gates[k, 3 * hidden + j, r]
                t = tcs[k, j, r]
                dh_new = dh[j, r] + d_out[k, j, r] if with_out else dh[j, r]
                dh_new = dh_new if on else zero
                dc_old = dc[j, r]
                dc_new = dc_old + dh_new * o * (one - t * t)
                dz[3 * hidden + j, k, r] = dh_new * t * o * (one - o)
                dz[j, k, r] = dc_new * gg * i * (one - i) if on else zero
                dz[hidden + j, k, r] = dc_new * cs[k, j, r] * f * (one - f) if on else zero
                dz[2 * hidden + j, k, r] = dc_new * i * (one - gg * gg) if on else zero
                dc[j, r] = dc_new * f if on else dc_old

    return {"cell_forward": cell_forward, "cell_backward": cell_backward}
