"""Pooling's array work: the max (or min) and mean of every window, and their adjoints.

A pool reads its windows one kernel offset at a time: ``layout.window(offset)`` is the strided
slice holding that offset of every window, so a pool is kh * kw vectorized passes, no loop over
pixels. Max (min) pooling keeps nothing for its backward: the winner of a window is its first
input, in row-major order, that equals the window's output, never the padding (a window of -inf
under max pooling: its first input); a NaN output's winner is the window's last NaN. Both are
PyTorch's rules (its scan takes ``val > max or isnan(val)``). ``route_to_winners`` sends each
window's gradient there, summed where windows overlap, and ``gather_at_winners`` is its adjoint
(the values at the winners).

References (``*_reference``): those loops over the offsets on contiguous (N, C, H, W) arrays,
the max pool and its routing with their padding and shifted slices written out in place. Fast
routes: batch-last memory (``layout``); one compiled sweep (numba) for the max pool of a training
batch and for the routing; one CuPy launch for the routing on a GPU; windows that tile the input
and are large reshaped into one axis instead of a loop over many offsets. The fast routes serve
finite outputs; a NaN or infinite output sends the routing to the reference. Max, min and the
routing on the CPU give the references' bits (the GPU's adds overlapping windows atomically);
the means may differ by float rounding (order of summation).
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend import gpu as _gpu
from ..backend import jit as _jit
from ..backend.settings import config
from .layout import batch_last, memory_order, pad, pad_reference

__all__ = ["average_pool", "average_pool_reference", "extremum_pool", "extremum_pool_reference",
           "fill_value", "gather_at_winners", "route_to_winners", "route_to_winners_reference",
           "spread_over_windows", "spread_over_windows_reference"]

_HOST = get_array_module()


def fill_value(xp, dtype, largest):
    """The padding value that never wins a max (``largest``) or min comparison."""
    if dtype.kind == "f":
        return -float("inf") if largest else float("inf")
    info = xp.iinfo(dtype)
    return int(info.min if largest else info.max)


def _crop(a, geom):
    (h, w), (pt, pl) = geom.size, geom.padding
    return a[:, :, pt:pt + h, pl:pl + w]


def extremum_pool_reference(x, geom, largest, compiled=False):
    """The max (``largest``) or min of every window of x (N, C, H, W): (N, C, Ho, Wo).

    The elementwise max (min) of the input shifted by every kernel offset (i, j) and sampled every
    (sh, sw): ``y[n, c, p, q] = max over i, j of xpad[n, c, p*sh + i, q*sw + j]``, with padding
    that never wins (-inf for max, +inf for min). NaN propagates, as in PyTorch. (``compiled``
    steers only the fast version.)
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = geom.kernel, geom.stride, geom.padding, geom.out_size
    if x.dtype.kind == "f":
        never_wins = -xp.inf if largest else xp.inf
    else:
        never_wins = xp.iinfo(x.dtype).min if largest else xp.iinfo(x.dtype).max
    xpad = xp.full((n, c, h + 2 * ph, w + 2 * pw), never_wins, x.dtype)
    xpad[:, :, ph:ph + h, pw:pw + w] = x
    pick = xp.maximum if largest else xp.minimum  # both propagate NaN
    y = xp.full((n, c, ho, wo), never_wins, x.dtype)
    for i in range(kh):
        for j in range(kw):
            pick(y, xpad[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw], out=y)
    return y


def _winning_offsets(x, y, geom, largest):
    """Each window's winner as its kernel offset's number i * kw + j: (N, C, Ho, Wo) ints.

    The offsets are visited in row-major order: a window takes the first real input (not
    padding) equal to its output, and, when its output is NaN, every NaN in turn, so the last.
    (Floating-point x: integers have no gradient to route.)
    """
    xp = get_array_module(y)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = geom.kernel, geom.stride, geom.padding, geom.out_size
    xpad = xp.full((n, c, h + 2 * ph, w + 2 * pw), -xp.inf if largest else xp.inf, x.dtype)
    xpad[:, :, ph:ph + h, pw:pw + w] = x
    inside = xp.zeros(xpad.shape[2:], dtype=bool)  # True on the input, False on the padding
    inside[ph:ph + h, pw:pw + w] = True
    nan = xp.isnan(y)
    winner = xp.full(y.shape, -1, dtype=xp.int64)
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw)
            v = xpad[:, :, rows, cols]
            won = (v == y) & (winner < 0) & inside[rows, cols]
            won |= xp.isnan(v) & nan  # the padding is never NaN
            winner[won] = i * kw + j
    return winner


def route_to_winners_reference(g, x, y, geom, largest):
    """Each window's gradient ``g`` (N, C, Ho, Wo) sent to its winner in x (N, C, H, W), summed
    where windows overlap; ``y`` is the pool's output.

    The winner of a window is its first input, in row-major order of the kernel offsets (i, j),
    that equals the window's output, never the padding; for a NaN output, its last NaN
    (PyTorch's rules). The winners are found first (``_winning_offsets``); then each offset adds
    the gradients of the windows it won into the shifted, zero-padded input, the last offset
    first, so that an element gets its windows' gradients in their row-major order, as PyTorch
    adds them.
    """
    xp = get_array_module(g)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = geom.kernel, geom.stride, geom.padding, geom.out_size
    winner = _winning_offsets(x, y, geom, largest)
    gx = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), g.dtype)
    for i in reversed(range(kh)):
        for j in reversed(range(kw)):
            rows, cols = slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw)
            gx[:, :, rows, cols] += g * (winner == i * kw + j)
    return xp.ascontiguousarray(gx[:, :, ph:ph + h, pw:pw + w])


def gather_at_winners(v, x, y, geom, largest):
    """The value of ``v`` (shaped like x) at each window's winner: the adjoint of
    ``route_to_winners`` (a max pool with its winners fixed). One plain version: it serves only
    second derivatives."""
    xp = get_array_module(v)
    vpad = pad_reference(v, geom.pads)
    winner = _winning_offsets(x, y, geom, largest)
    out = xp.zeros(y.shape, v.dtype)
    for k, index in enumerate(geom.windows()):  # offsets() order: k = i * kw + j
        xp.copyto(out, vpad[index], where=winner == k)
    return out


def _tiles(x, geom):
    """The windows of a tiled pool as the last axis: (N, C, Ho, Wo, kh * kw), row-major."""
    (ho, wo), (kh, kw) = geom.out_size, geom.kernel
    n, c = x.shape[:2]
    t = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
    return t.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, kh * kw)


def _untile(t, geom):
    """Adjoint of ``_tiles``: (N, C, Ho, Wo, kh * kw) back to (N, C, H, W), zero outside."""
    xp = get_array_module(t)
    (ho, wo), (kh, kw) = geom.out_size, geom.kernel
    n, c = t.shape[:2]
    out = xp.zeros((n, c) + geom.size, dtype=t.dtype)
    t = t.reshape(n, c, ho, wo, kh, kw).transpose(0, 1, 2, 4, 3, 5)
    out[:, :, :ho * kh, :wo * kw] = t.reshape(n, c, ho * kh, wo * kw)
    return out


def _empty_padded(xp, g, geom):
    """An uninitialized array of the padded input's shape, batch-last, as (C, Hp, Wp, N)."""
    (h, w), (pt, pl) = geom.size, geom.padding
    n, c = g.shape[:2]
    return xp.empty((c, h + 2 * pt, w + 2 * pl, n), g.dtype)


def extremum_pool(x, geom, largest, compiled=False):
    """``extremum_pool_reference``'s values, batch-last.

    ``compiled``: a batch of 16 or more may take the numba sweep (when training: loading numba
    costs a large fixed amount of memory, which training pays anyway for its backward kernels but
    a model only predicting should not).
    """
    if config.reference_mode:
        return extremum_pool_reference(x, geom, largest)
    xp = get_array_module(x)
    if geom.tiled:
        t = _tiles(x, geom)
        return t.max(axis=-1) if largest else t.min(axis=-1)
    xpad = pad(x, geom.pads, fill_value(xp, x.dtype, largest)) if geom.padded else x
    n, c = x.shape[:2]
    best = batch_last(xp.empty((c, *geom.out_size, n), x.dtype))
    # The kernel vectorizes over the batch (its innermost loop): small batches stay in NumPy.
    if (compiled and n >= 16 and _jit.pool is not None and xp is _HOST
            and _jit.handles(x.dtype)):
        _jit.pool(memory_order(xpad), memory_order(best), *geom.kernel, *geom.stride, largest)
        return best
    pick = xp.maximum if largest else xp.minimum
    windows = geom.windows()  # built once per geometry: it counts at batch 1
    if len(windows) == 1:
        best[...] = xpad[windows[0]]
    else:
        pick(xpad[windows[0]], xpad[windows[1]], out=best)
    for index in windows[2:]:
        pick(best, xpad[index], out=best)
    return best


def route_to_winners(g, x, y, geom, largest):
    """``route_to_winners_reference``'s values: one numba sweep or CuPy launch where available,
    else NumPy passes over batch-last memory."""
    xp = get_array_module(g)
    # NaN outputs (routed to the last NaN) and infinite ones (which padding may equal) are rare:
    # the reference serves them, so the fast routes below compare finite values only.
    if config.reference_mode or (y.dtype.kind == "f" and not xp.isfinite(y).all()):
        return route_to_winners_reference(g, x, y, geom, largest)
    xpad = pad(x, geom.pads, fill_value(xp, x.dtype, largest)) if geom.padded else x
    if xpad.dtype == y.dtype == g.dtype:
        if xp is _HOST and _jit.route_to_winners is not None and _jit.handles(g.dtype):
            out = _empty_padded(xp, g, geom)
            _jit.route_to_winners(memory_order(xpad), memory_order(y), memory_order(g), out,
                                  *geom.kernel, *geom.stride)
            return _crop(batch_last(out), geom)
        if xp is not _HOST:  # one GPU launch
            out = _empty_padded(xp, g, geom)
            dense = [xp.ascontiguousarray(memory_order(a)) for a in (xpad, y, g)]
            if _gpu.route_to_winners(*dense, out, *geom.kernel, *geom.stride):
                return _crop(batch_last(out), geom)
    if geom.tiled:
        t = _tiles(x, geom)
        won = t == y[..., None]
        first = won.argmax(axis=-1)[..., None]  # the first winning offset of each window
        return _untile((first == xp.arange(t.shape[-1])) * g[..., None], geom)
    out = batch_last(_empty_padded(xp, g, geom))
    out[...] = 0
    # *_like keeps y's memory layout, so that every pass below runs over matching strides.
    free = xp.ones_like(y, dtype=bool)  # windows whose winner is still to be found
    wins = []  # of overlapping windows: each offset's winners, added up below
    for index in geom.windows():
        won = xp.equal(xpad[index], y, out=xp.empty_like(y, dtype=bool))
        won &= free
        free ^= won
        if geom.disjoint:  # each input element lies in one window at most: write, no add
            xp.multiply(g, won, out=out[index])
        else:
            wins.append(won)
    part = xp.empty_like(g)
    # The offsets in reverse: an element gets its windows' gradients in the windows' row-major
    # order, the order of the compiled kernel (and of PyTorch), so the sums have its bits.
    for index, won in zip(reversed(geom.windows()), reversed(wins)):
        out[index] += xp.multiply(g, won, out=part)
    return _crop(out, geom)


def _divisor(xp, dtype, geom, count_include_pad):
    """Elements per window: kh * kw, or (Ho, Wo) counts of the non-padding elements."""
    if count_include_pad or not any(geom.padding):
        return geom.kernel[0] * geom.kernel[1]
    ones = pad_reference(xp.ones((1, 1) + geom.size, dtype=dtype), geom.pads)
    return sum(ones[index] for index in geom.windows())[0, 0]


def average_pool_reference(x, geom, count_include_pad):
    """The mean of every window of x (N, C, H, W), zero padding counted or not: (N, C, Ho, Wo).

    The sum of the zero-padded input shifted by every kernel offset (i, j) and sampled every
    (sh, sw), divided by kh * kw, or (``count_include_pad`` False) by the number of inputs, not
    padding, in each window: the same sum taken over an image of ones padded with zeros.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = geom.kernel, geom.stride, geom.padding, geom.out_size
    xpad = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    xpad[:, :, ph:ph + h, pw:pw + w] = x
    inside = xp.zeros((h + 2 * ph, w + 2 * pw), x.dtype)  # 1 on the input, 0 on the padding
    inside[ph:ph + h, pw:pw + w] = 1
    total = xp.zeros((n, c, ho, wo), x.dtype)
    count = xp.zeros((ho, wo), x.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw)
            total += xpad[:, :, rows, cols]
            count += inside[rows, cols]
    return total / (kh * kw if count_include_pad else count)




def _window_means(xpad, geom, count_include_pad):
    """The mean of every window of the padded ``xpad``: a sum over the kernel offsets."""
    windows = geom.windows()
    acc = xpad[windows[0]].copy()
    for index in windows[1:]:
        acc += xpad[index]
    acc /= _divisor(get_array_module(xpad), xpad.dtype, geom, count_include_pad)
    return acc


def spread_over_windows_reference(g, geom, count_include_pad):
    """Each window's gradient shared evenly over its elements: the adjoint of average pooling.

    Each window's share (its gradient over ``average_pool_reference``'s divisor) is added into
    the zero-padded input shifted by every kernel offset; the padding is cut off at the end.
    """
    xp = get_array_module(g)
    (h, w), (kh, kw), (sh, sw), (ph, pw) = geom.size, geom.kernel, geom.stride, geom.padding
    n, c, ho, wo = g.shape
    inside = xp.zeros((h + 2 * ph, w + 2 * pw), g.dtype)  # 1 on the input, 0 on the padding
    inside[ph:ph + h, pw:pw + w] = 1
    count = xp.zeros((ho, wo), g.dtype)
    for i in range(kh):
        for j in range(kw):
            count += inside[i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    share = g / (kh * kw if count_include_pad else count)
    gx = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), g.dtype)
    for i in range(kh):
        for j in range(kw):
            gx[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += share
    return xp.ascontiguousarray(gx[:, :, ph:ph + h, pw:pw + w])


def average_pool(x, geom, count_include_pad):
    """``average_pool_reference``'s values; large tiling windows are reshaped into one axis."""
    if config.reference_mode:
        return average_pool_reference(x, geom, count_include_pad)
    if geom.tiled:
        return _tiles(x, geom).mean(axis=-1)
    return _window_means(pad(x, geom.pads), geom, count_include_pad)


def spread_over_windows(g, geom, count_include_pad):
    """``spread_over_windows_reference``'s values, batch-last; tiling windows in one reshape."""
    if config.reference_mode:
        return spread_over_windows_reference(g, geom, count_include_pad)
    xp = get_array_module(g)
    share = g / _divisor(xp, g.dtype, geom, count_include_pad)
    if geom.tiled:
        k = geom.kernel[0] * geom.kernel[1]
        return _untile(xp.broadcast_to(share[..., None], share.shape + (k,)), geom)
    out = batch_last(_empty_padded(xp, g, geom))
    out[...] = 0
    for index in geom.windows():
        out[index] += share
    return _crop(out, geom)
