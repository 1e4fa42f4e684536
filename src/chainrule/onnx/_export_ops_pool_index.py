"""``max_pool*d(..., return_indices=True)``'s indices for ``chainrule.onnx.export``.

chainrule records the indices as a non-differentiable op whose function carries the windows
(``ops._pool_index.max_pool_indices``: kernel, stride, padding, dilation). They are ONNX's
``MaxPool`` second output, which flattens over the whole tensor (``((n * C + c) * H + h) * W +
w``); PyTorch's are flat per (H, W) plane, so the file takes them modulo the plane's size (read
from the input's shape where the spatial axes are dynamic). Adaptive pooling's indices are
written where its windows tile the input (equal windows side by side), else refused.
"""

from __future__ import annotations

from ..ops._pool_index import _winners

__all__ = ["floor_axes", "pool_indices"]


def pool_indices(s, fn, free):
    """The non-differentiable op recognizer (see ``_export_ops_nondiff``): (emit, reference)
    for max pooling's indices, or None for other functions."""
    spec = getattr(fn, "max_pool", None)
    if spec is None or len(s.inputs) != 1:
        return None
    kernel, stride, padding, dilation = spec
    if kernel is None:  # adaptive windows: a MaxPool where they tile the input
        kernel = _tiles(s.in_shapes[0], s.out_shapes[0])
        if kernel is None or kernel != _tiles(s.alt_in_shapes[0], s.alt_out_shapes[0]):
            raise s.refuse("adaptive max pooling's indices have an ONNX form only where the "
                           "windows tile the input (an output size dividing the input's, with "
                           "the same window along the dynamic axes)")
        stride, padding = kernel, (0,) * len(kernel)
    dilation = dilation or (1,) * len(kernel)
    fits = _rounding(s.in_shapes[0], s.out_shapes[0], kernel, stride, padding, dilation)
    fits &= _rounding(s.alt_in_shapes[0], s.alt_out_shapes[0], kernel, stride, padding, dilation)
    if not fits:
        raise s.refuse(f"its output size {s.out_shapes[0][2:]} is not a max pool's of an input "
                       f"of size {s.in_shapes[0][2:]} with either rounding")
    ceil = min(fits)  # ceil_mode=False where both roundings give the recorded sizes
    dynamic = floor_axes(s, kernel, stride, padding, dilation,
                         ((s.in_shapes[0], s.out_shapes[0]), (s.alt_in_shapes[0],
                                                               s.alt_out_shapes[0])))
    if dynamic and ceil:
        raise s.refuse(f"max pooling's indices with ceil_mode on axes of fixed size and dynamic "
                       f"axes {dynamic} have no ONNX form here")
    # ONNX's ceil_mode keeps a last window that starts in the end padding, which PyTorch's
    # drops: those axes are cut back to the recorded size (refused where that size is dynamic)
    cut = _cut(s.in_shapes[0], s.out_shapes[0], kernel, stride, padding, dilation) if ceil else []
    if ceil and (cut != _cut(s.alt_in_shapes[0], s.alt_out_shapes[0], kernel, stride, padding,
                             dilation) or any(s.in_shapes[0][a] != s.alt_in_shapes[0][a]
                                              for a in cut)):
        raise s.refuse(f"with ceil_mode, its last window along axes {cut} starts in the padding "
                       "(PyTorch leaves it out, ONNX's MaxPool keeps it) and the axis is dynamic")

    def emit(g):
        _, idx = g.op("MaxPool", [s.inputs[0]], n_out=2, kernel_shape=list(kernel),
                      strides=list(stride), pads=list(padding) * 2, dilations=list(dilation),
                      ceil_mode=int(ceil))
        if cut:
            idx = g.op("Slice", [idx, g.ints([0] * len(cut)),
                                 g.ints([s.out_shapes[0][a] for a in cut]), g.ints(cut)])
        spatial = s.in_shapes[0][2:]
        if spatial == s.alt_in_shapes[0][2:]:
            plane = 1
            for n in spatial:
                plane *= n
            size = g.ints([plane])
        else:
            shape = g.op("Shape", [s.inputs[0]])
            size = g.reduce("ReduceProd", g.op("Slice", [shape, g.ints([2]), g.ints([len(spatial)
                                                                                      + 2])]),
                            [0], keepdims=True)
        return g.op("Mod", [idx, size])

    def reference(a):  # the windows of any input size, checked against both recordings
        out = _sizes(a.shape, kernel, stride, padding, dilation, ceil)
        return _winners(a, kernel, stride, padding, out, dilation)[0]

    return emit, reference


def _sizes(in_shape, kernel, stride, padding, dilation, ceil) -> tuple:
    """PyTorch's output sizes (a last window of ceil_mode never starts in the padding)."""
    return tuple(_size(n, k, st, p, d, ceil)
                 for n, k, st, p, d in zip(in_shape[2:], kernel, stride, padding, dilation))


def _size(n, k, st, p, d, ceil) -> int:
    size = (n + 2 * p - d * (k - 1) - 1 + (st - 1 if ceil else 0)) // st + 1
    return size - 1 if ceil and (size - 1) * st >= n + p else size


def floor_axes(s, kernel, stride, padding, dilation, shapes) -> list:
    """The spatial axes whose size changes between the two recordings (``shapes``: input and
    output shapes of each), once each is checked to be pooled with floor rounding: the file
    pools them as ONNX's MaxPool with symmetric pads does. A pool with ceil_mode there, or
    recorded at sizes where both roundings agree (which cannot tell them apart), is refused."""
    (in_a, out_a), (in_b, out_b) = shapes
    axes = []
    for a, (k, st, p, d) in enumerate(zip(kernel, stride, padding, dilation)):
        first = max(1, d * (k - 1) + 1 - 2 * p)  # both roundings repeat with period st
        if in_a[2 + a] == in_b[2 + a] or all(
                _size(n, k, st, p, d, False) == _size(n, k, st, p, d, True)
                for n in range(first, first + st)):
            continue  # a fixed size, or one where ceil_mode never changes the output
        pairs = ((in_a[2 + a], out_a[2 + a]), (in_b[2 + a], out_b[2 + a]))
        floor = all(_size(n, k, st, p, d, False) == o for n, o in pairs)
        if not floor or all(_size(n, k, st, p, d, True) == o for n, o in pairs):
            why = ("it has ceil_mode, whose last partial window depends on the size; export "
                   "without that dynamic axis" if not floor else
                   f"at the recorded sizes {in_a[2 + a]} and {in_b[2 + a]} ceil_mode would give "
                   "the same output sizes, so the recordings cannot tell whether it is on; "
                   "export with an example size where it would add a last window (one more or "
                   "less), or without that dynamic axis")
            raise s.refuse(f"max pooling along the dynamic axis {2 + a}: the file pools with "
                           f"floor rounding, and {why}")
        axes.append(2 + a)
    return axes


def _cut(in_shape, out_shape, kernel, stride, padding, dilation) -> list:
    """The axes where ONNX's ceil_mode size (no rule for the last window) exceeds the recorded."""
    return [2 + a for a, (n, o, k, st, p, d) in enumerate(
        zip(in_shape[2:], out_shape[2:], kernel, stride, padding, dilation))
        if (n + 2 * p - d * (k - 1) - 1 + st - 1) // st + 1 != o]


def _tiles(in_shape, out_shape):
    """The window of adaptive pooling whose windows tile the input, else None."""
    pairs = list(zip(in_shape[2:], out_shape[2:]))
    return tuple(n // m for n, m in pairs) if all(n % m == 0 for n, m in pairs) else None


def _rounding(in_shape, out_shape, kernel, stride, padding, dilation) -> set:
    """The ceil_mode values that give the recorded output size."""
    return {ceil for ceil in (False, True)
            if _sizes(in_shape, kernel, stride, padding, dilation, ceil) == tuple(out_shape[2:])}
