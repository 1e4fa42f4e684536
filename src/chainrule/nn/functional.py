"""``chainrule.nn.functional``: the functional API under PyTorch's module path.

``import chainrule.nn.functional as F`` is the set of functions of ``chainrule.functional``, with
one difference where the two libraries' conventions clash: ``pad`` here takes PyTorch's flat
``pad`` tuple (last axis first), while ``chainrule.functional.pad`` takes NumPy's ``pad_width``;
and ``softmax``/``log_softmax`` without ``dim`` pick PyTorch's implicit axis (0 for 1-D and 3-D
input, else 1, with PyTorch's warning) where ``chainrule.functional``'s take the last axis.
"""

import operator

from ..ops import *  # noqa: F403
from ..ops import __all__ as _ops_all
from ..ops import pad as _numpy_pad
from ..ops import softmax as _softmax
from ..ops.activation_extra import *  # noqa: F403
from ..ops.activation_random import *  # noqa: F403
from ..ops.bilinear import *  # noqa: F403
from ..ops.ctc import *  # noqa: F403
from ..ops.distance import *  # noqa: F403
from ..ops.fold import *  # noqa: F403
from ..ops.grid_sample import *  # noqa: F403
from ..ops.linear_cross_entropy import *  # noqa: F403
from ..ops.loss_extra import *  # noqa: F403
from ..ops.loss_margin import *  # noqa: F403
from ..ops.resample import *  # noqa: F403
from ..ops.resample import _is_index
from ..ops.softmax import implicit_softmax_dim
from ..ops.softmax import log_softmax as _log_softmax
from . import grad  # noqa: F401 - PyTorch's F.grad.conv2d_input...
from ._attention_helpers import (  # noqa: F401 - PyTorch's private names, which copies of
    _canonical_mask,  # its attention and Transformer layers call
    _in_projection,
    _in_projection_packed,
    _mha_shape_check,
    _none_or_dtype,
)
from ._functional_extra import (  # noqa: F401 - PyTorch's F names
    conv_tbc,
    embedding,
    embedding_bag,
    multi_head_attention_forward,
    softmin,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)
from ._functional_extra import extra_names as _extra_names
from ._pool_indices import *  # noqa: F403 - max_pool2d_with_indices...
from ._pool_indices import __all__ as _pool_indices_names
from .fractional_pool import (
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None, *, axis=None):  # noqa: A002
    """PyTorch's ``F.softmax``: ``dim=None`` (and no ``axis``) takes PyTorch's implicit axis."""
    if dim is None and axis is None and hasattr(input, "ndim"):
        dim = implicit_softmax_dim("softmax", input.ndim, _stacklevel)
    return _softmax(input, axis, dim=dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None, *, axis=None):  # noqa: A002
    """PyTorch's ``F.log_softmax``: ``dim=None`` (and no ``axis``) takes PyTorch's implicit axis."""
    if dim is None and axis is None and hasattr(input, "ndim"):
        dim = implicit_softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _log_softmax(input, axis, dim=dim, dtype=dtype)

_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input, pad, mode: str = "constant", value=None):  # noqa: A002 - PyTorch's names
    """PyTorch's ``F.pad``: ``pad`` is ``(left, right)`` for the last axis, then ``(top, bottom)``
    for the one before it, and so on; axes it does not reach are not padded.

    ``F.pad(x, (1, 2))`` of a (N, C, W) tensor pads only W, to W + 3. Modes: "constant" (fill with
    ``value``, default 0), "reflect", "replicate" (repeat the edge) and "circular" (continue from
    the other end, at most once around). Pads are ints; a negative one crops that side
    (``F.pad(x, (-1, -1))`` drops W's first and last entries), as in PyTorch: "constant" and
    "circular" crop first and pad what is left, "reflect" and "replicate" pad first and crop the
    padded result (its reflections still reach the cropped entries).
    """
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got "
                         f"{mode!r}")
    if not isinstance(pad, (tuple, list)) or len(pad) % 2:
        raise ValueError(f"pad: pad must be a tuple of an even number of ints (left, right, top, "
                         f"bottom, ...), got {pad!r}")
    ndim = len(input.shape)
    if len(pad) // 2 > ndim:
        raise ValueError(f"pad: pad {tuple(pad)} pads {len(pad) // 2} axes, but the input has "
                         f"{ndim} (shape {tuple(input.shape)})")
    if any(isinstance(p, bool) or not _is_index(p) for p in pad):
        raise ValueError(f"pad: pads must be ints, got {tuple(pad)}")
    pad = [operator.index(p) for p in pad]  # NumPy ints and 0-d int tensors too, as PyTorch's
    crop_after = None
    if any(p < 0 for p in pad):
        if mode in ("constant", "circular"):
            input, pad = _crop(input, pad)  # noqa: A001 - PyTorch's name
        else:
            crop_after, pad = tuple(pad), [p if p > 0 else 0 for p in pad]
    pairs = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        pairs[ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
        size = input.shape[ndim - 1 - k]
        if mode == "reflect" and (pad[2 * k] >= size or pad[2 * k + 1] >= size):
            raise ValueError(f"pad: reflect padding {pairs[ndim - 1 - k]} must be smaller than "
                             f"axis {ndim - 1 - k} of size {size}, as in PyTorch")
        if mode == "circular" and (pad[2 * k] > size or pad[2 * k + 1] > size):
            raise ValueError(f"pad: circular padding {pairs[ndim - 1 - k]} wraps around axis "
                             f"{ndim - 1 - k} of size {input.shape[ndim - 1 - k]} more than once")
    if mode == "constant":
        return _numpy_pad(input, pairs, "constant", 0.0 if value is None else value)
    if value:
        raise ValueError(f"pad: value is for mode 'constant' only, got value={value!r} with "
                         f"mode {mode!r}")
    out = _numpy_pad(input, pairs, _MODES[mode])
    return out if crop_after is None else _crop(out, crop_after, keep_one=True)[0]


def _crop(x, pad, keep_one=False):
    """``x`` without the entries the negative pads of ``pad`` remove (a view), and the pads with
    the negative ones set to 0. The crop must fit in the axis (``keep_one``: leave an entry)."""
    index, kept = [slice(None)] * x.ndim, list(pad)
    for k in range(len(pad) // 2):
        axis, (left, right) = x.ndim - 1 - k, pad[2 * k:2 * k + 2]
        # (min and max here are chainrule's reductions, imported with the ops)
        cut_left, cut_right = (-left if left < 0 else 0), (-right if right < 0 else 0)
        if cut_left + cut_right > x.shape[axis] - keep_one:
            raise ValueError(f"pad: pads ({left}, {right}) crop {cut_left + cut_right} entries "
                             f"from axis {axis} of size {x.shape[axis]}"
                             + (" (after padding; at least one must remain)" if keep_one else ""))
        index[axis] = slice(cut_left, x.shape[axis] - cut_right)
        kept[2 * k:2 * k + 2] = left + cut_left, right + cut_right
    return x[tuple(index)], kept


__all__ = list(_ops_all) + _extra_names + _pool_indices_names + [
    "fractional_max_pool2d", "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices"]
