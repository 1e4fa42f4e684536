"""Validation of layer hyperparameters and inputs; messages name the layer and the value."""

from __future__ import annotations

import inspect
import numbers

from ..backend import config, get_array_module
from ..backend import random as _random

__all__ = [
    "check_input", "float_dtype", "int_tuple", "positive_int", "probability", "reset_with",
    "resolve_rng",
]


def _host():
    """The host array module (NumPy): random numbers are drawn and parameters made there."""
    return get_array_module()


def resolve_rng(rng, who: str):
    """``rng`` itself, or the default generator (``chainrule.manual_seed``) when it is None."""
    return _random.resolve_rng(rng, who)


def reset_with(module, rng) -> None:
    """``module.reset_parameters(rng=rng)``, as a constructor calls it; where a subclass overrides
    it with PyTorch's signature ``reset_parameters(self)``, that override, without ``rng`` (its
    own initialization runs, as PyTorch's constructors call it)."""
    if _takes_rng(type(module).reset_parameters):
        module.reset_parameters(rng=rng)
    else:
        module.reset_parameters()


def _takes_rng(fn) -> bool:
    params = inspect.signature(fn).parameters.values()
    return any(p.name == "rng" or p.kind is p.VAR_KEYWORD for p in params)


def float_dtype(dtype, who: str, *, complex_ok: bool = False):
    """``dtype`` as a dtype object, which must be floating-point (or complex, where
    ``complex_ok``: the layers PyTorch builds complex, Linear and Conv1d/2d); None is the default
    dtype."""
    if dtype is None:
        return config.default_dtype
    try:
        dt = _host().dtype(dtype)
    except TypeError:
        raise TypeError(f"{who}: dtype {dtype!r} is not a dtype") from None
    if dt.kind != "f" and not (complex_ok and dt.kind == "c"):
        kinds = "floating-point or complex" if complex_ok else "floating-point"
        raise TypeError(f"{who}: dtype must be {kinds} (e.g. 'float32'), got {dt}")
    return dt


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(who: str, name: str, value, minimum: int = 1) -> int:
    """``value`` as an int that is at least ``minimum``."""
    if not _is_int(value):
        raise TypeError(f"{who}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{who}: {name} must be at least {minimum}, got {value}")
    return int(value)


def int_tuple(who: str, name: str, value, n: int, minimum: int) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints (each at least ``minimum``) as an ``n``-tuple."""
    values = (value,) * n if _is_int(value) else value
    if not isinstance(values, (tuple, list)) or len(values) != n or not all(map(_is_int, values)):
        raise TypeError(f"{who}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{who}: {name} must be at least {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def probability(who: str, p) -> float:
    """A drop probability in [0, 1], as PyTorch's (p = 1 drops everything)."""
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"{who}: p must be a number in [0, 1], got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: p must be in [0, 1], got {p}")
    return float(p)


def check_input(who: str, x, ndims: tuple[int, ...], layout: str) -> None:
    """Raise unless ``x`` has a shape and one of the dimension counts ``ndims``."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    if len(shape) not in ndims:
        raise ValueError(f"{who}: expected a {layout} input, got shape {tuple(shape)}")
