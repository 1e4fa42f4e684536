"""Checks of the arguments a public function receives, written once for every package.

Each check returns the value in its plain Python form (an ``int``, a ``float``) or raises an
error that names the function (``who``), the argument (``name``), the value received and what was
expected. NumPy scalars count as the numbers they hold (``np.int64(3)`` is an int,
``np.float32(0.5)`` a number); ``True`` and ``False`` are refused where a number is expected, as
PyTorch refuses them. Every refusal is a ValueError, as the copies these checks replace raised
(and PyTorch's own Python-level checks, such as its samplers'); ``type_error=TypeError`` makes a
value of the wrong type a TypeError instead.

>>> import numpy as np
>>> check_int("fit", "epochs", np.int64(3), low=0)
3
>>> check_number("sgd", "momentum", 0.9, low=0, below=1)
0.9
>>> check_number("adam", "lr", -1.0, above=0)
Traceback (most recent call last):
    ...
ValueError: adam: lr must be a finite number > 0, got -1.0
"""

from __future__ import annotations

import math
import numbers

from ..backend import get_array_module

__all__ = [
    "check_bounds",
    "check_choice",
    "check_finite",
    "check_int",
    "check_number",
    "check_probability",
    "check_within",
]


def _show(bound) -> str:
    bound = float(bound)
    return f"{bound:g}" if math.isinf(bound) or bound.is_integer() else repr(bound)


def _interval(low, high, above, below) -> str:
    """``"in [0, 1)"``, ``"> 0"``, ``">= 1"``, ``"<= 5"`` or ``""`` for the bounds given."""
    lower = (">=", low) if above is None else (">", above)
    upper = ("<=", high) if below is None else ("<", below)
    if lower[1] is not None and upper[1] is not None:
        return (
            f"in {'[' if lower[0] == '>=' else '('}{_show(lower[1])}, {_show(upper[1])}"
            f"{']' if upper[0] == '<=' else ')'}"
        )
    side = lower if lower[1] is not None else upper
    return "" if side[1] is None else f"{side[0]} {_show(side[1])}"


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(
    who: str,
    name: str,
    value,
    low: int | None = 1,
    *,
    high: int | None = None,
    why: str = "",
    type_error=ValueError,
) -> int:
    """``value`` (a Python or NumPy integer, not a bool) as an int in [``low``, ``high``] (None:
    unbounded on that side); ``why`` says what the int counts."""
    expected = f"must be an int {_interval(low, high, None, None)}".rstrip()
    expected += f" ({why})" if why else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise type_error(f"{who}: {name} {expected}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{who}: {name} {expected}, got {value!r}")
    return int(value)


def check_number(
    who: str,
    name: str,
    value,
    *,
    low=None,
    high=None,
    above=None,
    below=None,
    allow_none: bool = False,
    what: str = "",
    why: str = "",
    type_error=ValueError,
) -> float | None:
    """``value`` (a Python or NumPy real, not a bool) as a finite float with ``low <= value <=
    high`` and ``above < value < below`` (each bound None: not checked). ``allow_none`` lets None
    through; ``what`` says what the number means ("the share of weights to prune"), ``why``
    where the bounds come from."""
    if value is None and allow_none:
        return None
    rule = _interval(low, high, above, below)
    number = "a number" if rule.startswith("in") else "a finite number"
    expected = f"{what}, {number}" if what else number
    expected = f"None or {expected}" if allow_none else expected
    because = f" ({why})" if why else ""
    message = f"{who}: {name} must be {expected} {rule}".rstrip() + f"{because}, got {value!r}"
    if not _is_real(value):
        raise type_error(message)
    if not (
        math.isfinite(value)
        and (low is None or value >= low)
        and (high is None or value <= high)
        and (above is None or value > above)
        and (below is None or value < below)
    ):
        raise ValueError(message)
    return float(value)


def check_probability(who: str, name: str, value) -> float:
    """``value`` as a float in [0, 1]."""
    return check_number(who, name, value, low=0, high=1)


def check_bounds(who: str, name: str, pair, *, allow_none: bool = False) -> tuple | None:
    """``pair`` (two Python or NumPy reals) as ``(low, high)`` floats, finite, with low < high;
    ``allow_none`` lets None through."""
    if pair is None and allow_none:
        return None
    expected = "a pair of numbers (low, high)" + (" or None" if allow_none else "")
    try:
        low, high = pair
    except (TypeError, ValueError):
        raise ValueError(f"{who}: {name} must be {expected}, got {pair!r}") from None
    if not (_is_real(low) and _is_real(high)):
        raise ValueError(f"{who}: {name} must be {expected}, got {pair!r}")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{who}: {name} must be finite with low < high, got {pair!r}")
    return float(low), float(high)


def check_choice(who: str, name: str, value, choices):
    """``value`` itself when it is one of ``choices`` (strings, usually), else a ValueError that
    lists them."""
    if not any(
        isinstance(value, type(c)) and isinstance(value, bool) == isinstance(c, bool) and value == c
        for c in choices
    ):
        listed = [repr(c) for c in choices]
        options = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} or {listed[-1]}"
        raise ValueError(f"{who}: {name} must be {options}, got {value!r}")
    return value


def check_finite(who: str, name: str, x):
    """``x`` itself (an array) when a float or complex ``x`` holds no NaN or infinity (other
    dtypes always pass), else a ValueError with their count."""
    if x.dtype.kind in "fc":
        finite = get_array_module(x).isfinite(x)
        if not bool(finite.all()):
            raise ValueError(
                f"{who}: {name} must be finite, got {int((~finite).sum())} NaN or infinite values"
            )
    return x


def check_within(
    who: str, name: str, x, low: float, high: float, *, why: str = "", slack: float = 0.0
):
    """``x`` itself (an array) when its values lie in [``low - slack``, ``high + slack``] (an empty
    ``x`` passes; NaN fails), else a ValueError with the range found; ``why`` says where the
    range comes from or how to get there."""
    if x.size:
        seen_low, seen_high = float(x.min()), float(x.max())
        if not (seen_low >= low - slack and seen_high <= high + slack):
            because = f" ({why})" if why else ""
            raise ValueError(
                f"{who}: {name} must have values in [{low:g}, {high:g}]{because}, "
                f"got values in [{seen_low:g}, {seen_high:g}]"
            )
    return x
