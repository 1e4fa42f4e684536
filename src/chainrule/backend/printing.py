"""How a Tensor prints: PyTorch's ``set_printoptions``/``get_printoptions`` over NumPy's
``array2string``.

The options live here, for ``Tensor.__repr__`` to read; NumPy's own global print options are
left alone. chainrule's defaults are NumPy's (8 digits, 75 characters a line), as its tensors have
always printed; ``profile="short"``/``"full"`` are PyTorch's presets.
"""

from __future__ import annotations

import math

__all__ = ["array2string_options", "get_printoptions", "set_printoptions"]

_DEFAULTS = {"precision": 8, "threshold": 1000, "edgeitems": 3, "linewidth": 75,
             "sci_mode": None}
_PROFILES = {"default": {}, "short": {"precision": 2, "edgeitems": 2},
             "full": {"threshold": math.inf}}
_options = dict(_DEFAULTS)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print: digits after the point, the size above which they are summarized,
    the items shown at each end then, the line width, a preset (``profile``: "default", "short",
    "full") and ``sci_mode`` (True: always scientific, False: never, None: as the values need)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', "
                             f"got {profile!r}")
        _options.clear()
        _options.update(_DEFAULTS, **_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"set_printoptions: {name} must be a non-negative number, got "
                                 f"{value!r}")
            _options[name] = value
    if sci_mode is not None or profile is not None:
        _options["sci_mode"] = None if sci_mode is None else bool(sci_mode)


def get_printoptions() -> dict:
    """The current print options, as ``set_printoptions`` takes them."""
    return dict(_options)


def array2string_options() -> dict:
    """The options as ``numpy.array2string``'s keyword arguments."""
    opts = {"precision": int(_options["precision"]), "edgeitems": int(_options["edgeitems"]),
            "max_line_width": int(_options["linewidth"]),
            "threshold": _options["threshold"] if math.isfinite(_options["threshold"])
            else 2 ** 62}
    if _options["sci_mode"] is False:
        opts["suppress_small"] = True
    elif _options["sci_mode"] is True:
        digits = opts["precision"]
        opts["formatter"] = {"float_kind": lambda v: f"{v:.{digits}e}"}
    return opts
