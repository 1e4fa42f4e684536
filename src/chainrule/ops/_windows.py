"""Window geometry of convolutions and pools: argument checks, cached per layer configuration.

A layer calls its op with the same hyperparameters and shapes on every batch, so the checks and the
geometry they produce are memoized: a repeated call costs one dictionary lookup. Only "plain"
hyperparameters (ints, strings, None and tuples of ints) are cached, so that a bool or a NumPy
integer never shares an entry with the int it compares equal to; anything else is checked afresh.
"""

from __future__ import annotations

import functools
import operator
from typing import NamedTuple

from ..kernels.layout import window

__all__ = [
    "Geom", "PoolGeom", "check_rank", "conv_setup", "conv_transpose_setup", "ints", "memoized",
    "no_stride", "pool_setup", "positive_int", "window",
]

LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_UNBATCHED = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}
_KLAYOUT = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


class Geom(NamedTuple):
    """Convolution geometry in 2-D form (a 1-D convolution's: a height of one, no padding)."""

    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # (before, after) for each spatial axis
    dilation: tuple[int, int]
    groups: int


class PoolGeom:
    """Pooling geometry in 2-D form; ``size`` is the unpadded input's (H, W)."""

    def __init__(self, kernel, stride, padding, size):
        self.kernel, self.stride, self.padding, self.size = kernel, stride, padding, size
        self.pads = tuple((p, p) for p in padding)
        self.out_size = tuple((n + 2 * p - k) // s + 1
                              for n, k, s, p in zip(size, kernel, stride, padding))
        self._offsets = [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]
        self._windows = {}
        self._window_list = None
        self.padded = any(padding)
        # Windows tile the input and are large: one reshape beats a loop over many offsets.
        self.tiled = stride == kernel and not any(padding) and kernel[0] * kernel[1] >= 16
        # Each input element lies in one window at most.
        self.disjoint = all(s >= k for s, k in zip(stride, kernel))

    def offsets(self):
        """The kernel offsets (i, j) in row-major order: the order in which ties are broken."""
        return self._offsets

    def window(self, offset):
        """The index of ``offset``'s strided slice (built once per geometry: pools are memoized)."""
        index = self._windows.get(offset)
        if index is None:
            index = self._windows[offset] = window(offset, self.out_size, self.stride)
        return index

    def windows(self):
        """``window(offset)`` for every offset, in ``offsets()`` order (built once)."""
        if self._window_list is None:
            self._window_list = [self.window(offset) for offset in self._offsets]
        return self._window_list


def size2d(size, nd):
    return (1,) * (2 - nd) + tuple(size)


def memoized(n_user):
    """Cache a setup function for the calls whose hyperparameters are all plain.

    ``n_user``: how many trailing arguments are hyperparameters passed through from the caller;
    the shapes and dtypes before them are always plain.
    """

    def decorate(fn):
        cached = functools.lru_cache(maxsize=512)(fn)

        @functools.wraps(fn)
        def wrapper(*args):
            # Plain: ints (not bools), strings, None and tuples of ints. Tested inline, not by a
            # function per value: this runs for every op call, where calls count at batch 1.
            for value in args[-n_user:]:
                t = type(value)
                if t is tuple:
                    for v in value:
                        if type(v) is not int:
                            return fn(*args)
                elif t is not int and t is not str and value is not None:
                    return fn(*args)
            return cached(*args)

        return wrapper

    return decorate


def ints(op, name, value, nd, minimum, spread=True):
    """``value`` (an int or ``nd`` ints, each >= ``minimum``) as a tuple of ``nd`` ints; with
    ``spread``, one int in a tuple or list serves every axis, as PyTorch's convolutions and
    sliding-window pools take it (not an adaptive pool's output size)."""
    items = value if isinstance(value, (tuple, list)) else (value,) * nd
    if spread and len(items) == 1:
        items = tuple(items) * nd
    try:
        if isinstance(value, bool) or any(isinstance(v, bool) for v in items):
            raise TypeError
        out = tuple(operator.index(v) for v in items)
    except TypeError:
        raise TypeError(
            f"{op}: {name} must be an int or a tuple of {nd} ints, got {value!r}"
        ) from None
    if len(out) != nd:
        raise ValueError(f"{op}: {name} must have {nd} entries, got {value!r}")
    if any(v < minimum for v in out):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {what}, got {value!r}")
    return out


def no_stride(stride) -> bool:
    """Whether a pool's ``stride`` is left out: None, or PyTorch's empty list (its default)."""
    return stride is None or (isinstance(stride, (tuple, list)) and not stride)


def _check_input(op, shape, dtype, nd):
    if dtype.kind not in "fiu":  # integers as PyTorch's CPU convolutions (no gradient)
        check_rank(op, shape, dtype, nd)  # a rank error first, as before
        raise TypeError(f"{op}: input must be floating point or integer, got dtype {dtype}")
    check_rank(op, shape, dtype, nd, nonempty=True)


def positive_int(value):
    """``value`` as an int if it is a positive integer (a NumPy integer or a 0-d integer tensor
    too, as PyTorch takes them; not a bool), else None."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        return None
    try:
        value = operator.index(value)
    except TypeError:  # a float tensor
        return None
    return value if value >= 1 else None


def _check_weight(op, x_shape, x_dtype, w_shape, w_dtype, bias, nd, groups, transposed):
    """Validate weight and bias (given as (shape, dtype) or None) against the input; returns
    ``groups`` as an int."""
    if positive_int(groups) is None:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    groups = operator.index(groups)
    io = "in_channels, out_channels/groups" if transposed else "out_channels, in_channels/groups"
    if len(w_shape) != nd + 2:
        raise ValueError(
            f"{op}: weight must be {nd + 2}-D ({io}, {_KLAYOUT[nd]}), got shape {w_shape}"
        )
    if 0 in w_shape:  # no filters, no channels or an empty kernel: PyTorch rejects them too
        raise ValueError(f"{op}: weight must not be empty ({io}, {_KLAYOUT[nd]}), got shape "
                         f"{w_shape}")
    if w_dtype != x_dtype:
        raise TypeError(f"{op}: input dtype {x_dtype} and weight dtype {w_dtype} differ")
    c = x_shape[1]
    if c % groups:
        raise ValueError(f"{op}: groups={groups} does not divide in_channels={c}")
    if transposed:
        if w_shape[0] != c:
            raise ValueError(
                f"{op}: input has {c} channels but weight expects {w_shape[0]} (input shape "
                f"{x_shape}, weight shape {w_shape})"
            )
        out = w_shape[1] * groups
    else:
        out = w_shape[0]
        if out % groups:
            raise ValueError(f"{op}: groups={groups} does not divide out_channels={out}")
        if w_shape[1] * groups != c:
            raise ValueError(
                f"{op}: input has {c} channels but weight expects {w_shape[1] * groups} = "
                f"groups {groups} x {w_shape[1]} (input shape {x_shape}, weight shape "
                f"{w_shape})"
            )
    if bias is not None:
        b_shape, b_dtype = bias
        if b_shape != (out,):
            raise ValueError(f"{op}: bias must have shape ({out},), got {b_shape}")
        if b_dtype != x_dtype:
            raise TypeError(f"{op}: input dtype {x_dtype} and bias dtype {b_dtype} differ")
    return groups


def _conv_padding(op, padding, ksize, stride, dilation, nd):
    """Padding as ((before, after), ...) per axis; "same" puts an odd extra one after (PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            total = [d * (k - 1) for k, d in zip(ksize, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(
            f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}"
        )
    return tuple((p, p) for p in ints(op, "padding", padding, nd, 0))


@memoized(4)
def conv_setup(op, nd, x_shape, x_dtype, w_shape, w_dtype, bias, stride, padding, dilation,
               groups):
    """Check a convolution's arguments; returns its ``Geom`` and output size."""
    _check_input(op, x_shape, x_dtype, nd)
    groups = _check_weight(op, x_shape, x_dtype, w_shape, w_dtype, bias, nd, groups,
                           transposed=False)
    stride = ints(op, "stride", stride, nd, 1)
    dilation = ints(op, "dilation", dilation, nd, 1)
    ksize = w_shape[2:]
    pads = _conv_padding(op, padding, ksize, stride, dilation, nd)
    out_size = []
    for a in range(nd):
        span = dilation[a] * (ksize[a] - 1) + 1
        padded = x_shape[2 + a] + sum(pads[a])
        if span > padded:
            raise ValueError(
                f"{op}: kernel size {ksize} (dilation {dilation}) spans {span} but the padded "
                f"input is only {padded} wide on spatial axis {a} (input shape "
                f"{x_shape}, padding {padding!r})"
            )
        out_size.append((padded - span) // stride[a] + 1)
    pads = ((0, 0),) * (2 - nd) + pads
    geom = Geom(size2d(stride, nd), pads, size2d(dilation, nd), groups)
    return geom, tuple(out_size)


@memoized(5)
def conv_transpose_setup(op, nd, x_shape, x_dtype, w_shape, w_dtype, bias, stride, padding,
                         output_padding, groups, dilation):
    """Check a transposed convolution's arguments; returns its ``Geom`` and output size."""
    _check_input(op, x_shape, x_dtype, nd)
    groups = _check_weight(op, x_shape, x_dtype, w_shape, w_dtype, bias, nd, groups,
                           transposed=True)
    stride = ints(op, "stride", stride, nd, 1)
    dilation = ints(op, "dilation", dilation, nd, 1)
    pad = ints(op, "padding", padding, nd, 0)
    extra = ints(op, "output_padding", output_padding, nd, 0)
    ksize = w_shape[2:]
    size = []
    for a in range(nd):
        if extra[a] >= max(stride[a], dilation[a]):
            raise ValueError(
                f"{op}: output_padding {output_padding!r} must be smaller than stride {stride} or "
                f"dilation {dilation} on every axis"
            )
        n = (x_shape[2 + a] - 1) * stride[a] - 2 * pad[a] + dilation[a] * (ksize[a] - 1)
        n += extra[a] + 1
        if n < 1:
            raise ValueError(
                f"{op}: the output would be {n} wide on spatial axis {a} (input shape "
                f"{x_shape}, kernel {ksize}, stride {stride}, padding {padding!r})"
            )
        size.append(n)
    pads = ((0, 0),) * (2 - nd) + tuple((p, p) for p in pad)
    geom = Geom(size2d(stride, nd), pads, size2d(dilation, nd), groups)
    return geom, tuple(size)


def check_rank(op, shape, dtype, nd, floating=False, nonempty=False):
    if len(shape) != nd + 2:  # (C, *spatial) never gets here: the ops add its batch axis
        raise ValueError(f"{op}: input must be {nd + 1}-D {_UNBATCHED[nd]} or {nd + 2}-D "
                         f"{LAYOUT[nd]}, got shape {shape}")
    if floating and dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {dtype}")
    if nonempty and 0 in shape[2:]:  # PyTorch allows an empty batch, not an empty image
        raise ValueError(f"{op}: input must have a non-empty spatial size, got shape {shape}")


@memoized(3)
def pool_setup(op, nd, floating, x_shape, x_dtype, ceil_mode, kernel_size, stride, padding):
    """Check a pool's arguments against an input of ``x_shape``; returns its ``PoolGeom``. With
    ``ceil_mode`` the kernel may be larger than the padded input, as in PyTorch, while a window
    (running past it) still fits: ``ceil((n + 2p - k) / s) + 1 >= 1``."""
    check_rank(op, x_shape, x_dtype, nd, floating)
    kernel = ints(op, "kernel_size", kernel_size, nd, 1)
    stride = kernel if no_stride(stride) else ints(op, "stride", stride, nd, 1)
    padding = ints(op, "padding", padding, nd, 0)
    for a in range(nd):
        if 2 * padding[a] > kernel[a]:
            raise ValueError(
                f"{op}: padding {padding} must be at most half the kernel size {kernel}"
            )
        room = x_shape[2 + a] + 2 * padding[a] - kernel[a]
        if room < 0 and not (ceil_mode and room > -stride[a]):
            raise ValueError(
                f"{op}: kernel size {kernel} is larger than the padded input on spatial axis {a} "
                f"(input shape {x_shape}, padding {padding})"
            )
    return PoolGeom(size2d(kernel, nd), size2d(stride, nd), ((0,) * (2 - nd)) + padding,
                    size2d(x_shape[2:], nd))
