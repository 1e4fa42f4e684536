"""Dropout: zero random units while training and scale the rest so the expected value is unchanged.

The mask is drawn on the host from an explicit ``numpy.random.Generator`` (so a seeded run is
reproducible on any device) and moved to the input's device. Dropout is ``mul`` by a constant mask:
its gradient is the same mask, and it is differentiable again.
"""

from __future__ import annotations

import numbers
import warnings

from .. import backend
from ..autograd.tensor import Tensor
from ..backend import device_of, to_device
from ..backend.random import default_generator, note_draw
from ._activation_checks import in_place
from ._unbatched import input_shape
from .elementwise import mul

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d"]


def _check(op, p, rng) -> float:
    """``p`` as a float in [0, 1] (a NumPy number too, as PyTorch takes), ``rng`` checked."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{op}: p must be a number in [0, 1], got {p!r}")
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be in [0, 1] (the probability of dropping), got {p!r}")
    if rng is not None and not isinstance(rng, backend.numpy.random.Generator):
        raise TypeError(
            f"{op}: rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return float(p)


def _masked(x, p, mask_shape, rng):
    """``x`` times a {0, 1/(1-p)} mask of ``mask_shape`` (broadcast against x) from ``rng``."""
    data = x._data if isinstance(x, Tensor) else x
    if data.dtype.kind != "f":
        raise TypeError(f"dropout: input must be floating point, got dtype {data.dtype}")
    if rng is None:
        rng = default_generator()
    else:
        note_draw(rng)
    draw_dtype = data.dtype if data.dtype.itemsize >= 4 else "float32"  # Generator.random: f32/f64
    keep = rng.random(mask_shape, dtype=draw_dtype) >= p
    mask = keep.astype(data.dtype)
    if p < 1:
        mask *= 1 / (1 - p)
    return mul(x, Tensor(to_device(mask, device_of(data))))


def dropout(input, p=0.5, training=True, inplace=False, *, rng=None):  # noqa: A002
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by 1 / (1 - p).

    Args:
        input: input Tensor of any shape (floating point).
        p: probability of zeroing an element, in [0, 1]; ``p = 1`` gives all zeros.
        training: when False (evaluation) the input is returned unchanged, as it is for ``p = 0``.
        inplace: write the result into ``input`` and return it, as PyTorch's (recorded where
            needed); not training or ``p = 0``, ``input`` is returned unchanged.
        rng: the ``numpy.random.Generator`` that draws the mask; None draws from the default
            generator (reproducible after ``chainrule.manual_seed``).

    Returns:
        Tensor of the shape of ``input``; the gradient is masked and scaled the same way.

    >>> import chainrule as cr
    >>> import numpy as np
    >>> y = dropout(cr.tensor([1.0, 1.0, 1.0, 1.0]), p=0.5, rng=np.random.default_rng(0))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    p = _check("dropout", p, rng)
    input_shape("dropout", input)  # a list: PyTorch's TypeError, not an AttributeError inside
    if not training or p == 0:
        return input
    if inplace:
        return in_place("dropout", input, lambda x: _masked(x, p, tuple(x.shape), rng))
    return _masked(input, p, tuple(input.shape), rng)


_LAYOUTS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _channel_dropout(op, nd, x, p, training, rng, inplace):
    """One draw per (sample, channel) of batched input, or per channel of unbatched input
    (ranks nd + 2 and nd + 1, as PyTorch's dropout1d/dropout3d); dropout2d of 3-D input is
    PyTorch's channel-wise 1-D dropout of (N, C, L), with its warning. dropout2d/dropout3d of
    another rank run as PyTorch's do, with its deprecation warning: dropout2d draws one value
    per entry of the first two dims (so per element of a 2-D (N, F) input), dropout3d takes
    the input as unbatched and draws one value per entry of the first dim."""
    p = _check(op, p, rng)
    if len(input_shape(op, x)) not in (nd + 1, nd + 2):
        if nd == 1:
            raise ValueError(f"{op}: input must be 3-D {_LAYOUTS[1]} or 2-D (C, L), "
                             f"got shape {tuple(x.shape)}")
        warnings.warn(f"{op}: Received a {x.ndim}-D input to {op}, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and "
                      "silence this warning, please use dropout instead. Note that "
                      f"{op} exists to provide channel-wise dropout on inputs with {nd} spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{nd + 1}D or {nd + 2}D inputs).", UserWarning, stacklevel=3)
    batched = x.ndim == nd + 2 or nd == 2
    if nd == 2 and x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, H, "
                      "W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", UserWarning, stacklevel=3)
    if not training or p == 0:
        return x
    kept = 2 if batched else 1
    if x.ndim + (not batched) < 2:
        raise ValueError(f"{op}: channel dropout needs at least 2 dimensions "
                         f"(batch and channels), got shape {tuple(x.shape)}")
    shape = tuple(x.shape[:kept]) + (1,) * (x.ndim - kept)
    if inplace:
        return in_place(op, x, lambda t: _masked(t, p, shape, rng))
    return _masked(x, p, shape, rng)


def dropout1d(input, p=0.5, training=True, inplace=False, *, rng=None):  # noqa: A002
    """Channel dropout for sequences: zero whole channels of (N, C, L) (or unbatched (C, L)) with
    probability ``p``.

    Args and Returns as in ``dropout``; one draw per (sample, channel), shared along the sequence.
    """
    return _channel_dropout("dropout1d", 1, input, p, training, rng, inplace)


def dropout2d(input, p=0.5, training=True, inplace=False, *, rng=None):  # noqa: A002
    """Channel dropout (spatial dropout) for images: zero whole feature maps of (N, C, H, W).

    A 3-D input is taken as (N, C, L) and its channels dropped along L, with PyTorch's warning
    (PyTorch's rule, kept there for old code; ``dropout1d`` says so without the warning).

    Args and Returns as in ``dropout``; one draw per (sample, channel), shared over the image,
    because neighbouring pixels are so correlated that dropping single pixels regularizes little.
    """
    return _channel_dropout("dropout2d", 2, input, p, training, rng, inplace)


def dropout3d(input, p=0.5, training=True, inplace=False, *, rng=None):  # noqa: A002
    """Channel dropout for volumes: zero whole channels of (N, C, D, H, W) (or unbatched
    (C, D, H, W)) with probability ``p``.

    Args and Returns as in ``dropout``; one draw per (sample, channel), shared over the volume.
    """
    return _channel_dropout("dropout3d", 3, input, p, training, rng, inplace)
