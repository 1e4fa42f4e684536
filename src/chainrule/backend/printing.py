"""How a Tensor prints: PyTorch's ``set_printoptions``/``get_printoptions``.

The options are a setting of the one configuration object, ``chainrule.config.print_options``
(``backend/settings.py``), for ``Tensor.__repr__`` (``backend/tensor_str.py``) to read. The
defaults and the profiles are PyTorch's: 4 digits, 80 characters a line, summaries of more than
1000 elements showing 3 items at each end; ``profile="short"`` 2 digits and 2 items,
``"full"`` no summaries.
"""

from __future__ import annotations

import dataclasses
import math

from .settings import PrintOptions, config

__all__ = ["get_printoptions", "set_printoptions"]

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
        profile: a preset applied first: "default" (PyTorch's defaults), "short" (2 digits, 2
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
