"""How a Tensor prints: PyTorch's ``set_printoptions``/``get_printoptions`` over NumPy's
``array2string``.

The options are a setting of the one configuration object, ``chainrule.config.print_options``
(``backend/settings.py``), for ``Tensor.__repr__`` to read; NumPy's own global print options are
left alone. chainrule's defaults are NumPy's (8 digits, 75 characters a line), as its tensors have
always printed; ``profile="short"``/``"full"`` are PyTorch's presets over them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy

from .settings import PrintOptions, config

__all__ = ["array2string_options", "get_printoptions", "set_printoptions"]

_PROFILES = {"default": {}, "short": {"precision": 2, "edgeitems": 2},
             "full": {"threshold": math.inf}}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print, as ``torch.set_printoptions`` does.

    Args:
        precision: digits after the point.
        threshold: the number of elements above which a tensor is summarized (``math.inf``:
            never).
        edgeitems: the items shown at each end of a summarized axis.
        linewidth: the characters of a line.
        profile: a preset applied first: "default" (chainrule's defaults), "short" (2 digits, 2
            edge items) or "full" (never summarized); the other arguments then override it.
        sci_mode: True: every float in scientific notation, False: never, None: as the values
            need. As in PyTorch it is set on every call, so a call without it goes back to None.
    """
    options = config.print_options
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', "
                             f"got {profile!r}")
        options = PrintOptions(**_PROFILES[profile])
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems,
             "linewidth": linewidth}
    changes = {name: value for name, value in given.items() if value is not None}
    try:
        config.print_options = dataclasses.replace(options, **changes, sci_mode=sci_mode)
    except ValueError as e:
        raise ValueError(f"set_printoptions: {str(e).split(': ', 1)[-1]}") from None


def get_printoptions() -> dict:
    """The current print options, as ``set_printoptions`` takes them."""
    return dataclasses.asdict(config.print_options)


def _sci_width(array, digits) -> int:
    """The widest of the floats of ``array`` in scientific notation: PyTorch pads every element
    to it (a sign, a three-digit exponent)."""
    finite = array[numpy.isfinite(array)] if array is not None and array.dtype.kind == "f" else ()
    if len(finite) == 0:
        return 0
    nonzero = numpy.abs(finite[finite != 0])
    edges = [finite.min(), finite.max()] + ([nonzero.min(), nonzero.max()] if len(nonzero) else [])
    return max(len(f"{v:.{digits}e}") for v in edges)


def array2string_options(array=None) -> dict:
    """The options as ``numpy.array2string``'s keyword arguments (for ``array``, a NumPy array:
    with ``sci_mode=True`` its floats are padded to one width, as PyTorch's)."""
    options = config.print_options
    opts = {"precision": options.precision, "edgeitems": options.edgeitems,
            "max_line_width": options.linewidth,
            "threshold": int(options.threshold) if math.isfinite(options.threshold) else 2 ** 62}
    if options.sci_mode is False:
        opts["suppress_small"] = True
    elif options.sci_mode is True:
        digits = opts["precision"]
        width = _sci_width(array, digits)
        opts["formatter"] = {"float_kind": lambda v: f"{v:.{digits}e}".rjust(width),
                             "complex_kind": lambda v: f"{v.real:.{digits}e}{v.imag:+.{digits}e}j"}
    return opts
