"""Checking a state dict against a module before anything is copied, and moving/casting arrays;
checking the names of registered members, and the handles that remove forward hooks."""

from __future__ import annotations

import warnings
from collections import namedtuple

from ..autograd.hooks import RemovableHandle
from ..autograd.tensor import Tensor
from ..backend import device_of, to_device
from .parameter import Buffer

__all__ = ["IncompatibleKeys", "RemovableHandle", "check_name", "check_state", "convert",
           "may_be_missing"]

class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """``load_state_dict``'s result: (missing_keys, unexpected_keys), shown as PyTorch's."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def buffer_of(value, persistent: bool):
    """What a module keeps for a buffer: a Buffer sharing ``value``'s memory, or, for a Tensor
    that requires grad (one computed from parameters in forward), the Tensor itself, as PyTorch
    keeps it, so that gradients flow through ``self.buf`` (a Buffer would cut them)."""
    if isinstance(value, Tensor) and value.requires_grad and not hasattr(value, "persistent"):
        return value
    if isinstance(value, Buffer) and value.persistent == persistent:
        return value  # one buffer in two modules stays one (named_buffers lists it once)
    return Buffer(value, persistent=persistent)


def is_saved(module, name: str, buffer) -> bool:
    """Whether ``module``'s buffer ``name`` goes in the state dict (persistent)."""
    if hasattr(buffer, "persistent"):
        return buffer.persistent
    return name not in module.__dict__.get("_unsaved", ())


def check_name(who: str, name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{who}: name must be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise NameRefusedError(f"{who}: name must be non-empty and contain no '.', got {name!r}")


class NameRefusedError(KeyError, ValueError):
    """A name that cannot be registered: PyTorch's error is a KeyError (this was a ValueError)."""

    def __str__(self) -> str:  # the message, not KeyError's quoted repr of it
        return str(self.args[0])


class ArgumentKindError(ValueError, TypeError):
    """A wrong kind of argument where PyTorch raises ValueError (this was a TypeError)."""


def may_be_missing(key: str) -> bool:
    """True for a normalization layer's ``num_batches_tracked``: PyTorch's BatchNorm and
    InstanceNorm keep their own count when a state dict without version metadata (every plain
    dict: ``safetensors.torch.load_file``'s, BatchNorm's before PyTorch 0.4.1, one built by hand)
    lacks it, and do not report it missing; so do chainrule's, so that such a state loads."""
    return key == "num_batches_tracked" or key.endswith(".num_batches_tracked")


def check_state(own, state, strict: bool, owner: str):
    """Match ``state`` against ``own`` (key -> Parameter/Buffer); one error lists every problem.

    Returns:
        ``(values, missing, unexpected)``: the arrays ready to copy (key -> array of the target's
        dtype on its device), and the lists of missing and unexpected keys.
    """
    missing = [k for k in own if k not in state and not may_be_missing(k)]
    unexpected = [k for k in state if k not in own]
    bad, values = [], {}
    for key, target in own.items():
        if key not in state:
            continue
        if hasattr(state[key], "materialize"):  # saved before its lazy module's first call
            if not hasattr(target, "materialize"):  # (a lazy target stays so, as PyTorch's)
                bad.append(f"{key}: the state's value is uninitialized (a lazy module's, saved "
                           f"before its first call), the model's has shape {target.shape}")
            continue
        value = _load_value(state[key], target)
        if isinstance(value, str):
            bad.append(f"{key}: {value}")
        elif hasattr(target, "materialize"):  # a lazy module's parameter: takes the state's shape
            values[key] = value
        elif target.shape == () and value.shape == (1,):  # PyTorch 0.3's checkpoints: its rule
            values[key] = value.reshape(())
        elif value.shape != target.shape:
            bad.append(f"{key}: state has shape {tuple(value.shape)}, model has {target.shape}")
        else:
            values[key] = value
    problems = []
    if strict and missing:
        problems.append("missing keys (in the model, not in the state): " + ", ".join(missing))
    if strict and unexpected:
        problems.append(
            "unexpected keys (in the state, not in the model): " + ", ".join(unexpected)
        )
    if bad:
        problems.append("mismatched values:\n    " + "\n    ".join(bad))
    if problems:
        raise ValueError(
            f"load_state_dict: the state does not fit {owner} (nothing was loaded):\n  "
            + "\n  ".join(problems)
        )
    return values, missing, unexpected


def _load_value(value, target):
    """``value`` as an array on ``target``'s device and of its dtype, or what is wrong."""
    try:
        raw = value._data if isinstance(value, Tensor) else value
        arr = to_device(raw, device_of(target._data))
    except (TypeError, ValueError, RuntimeError) as err:
        return f"cannot use a value of type {type(value).__name__} ({err})"
    if arr.dtype.kind not in "biufc":
        return f"value of type {type(value).__name__} has non-numeric dtype {arr.dtype}"
    if arr.dtype.kind == "c" and target.dtype.kind != "c":
        return (f"value has complex dtype {arr.dtype} but the entry is {target.dtype}; cast the "
                "module to a complex dtype first or pass the real part")
    return arr.astype(target.dtype, copy=False)


def convert(data, device: str | None, dtype, kinds: str = "f"):
    """``data`` cast to ``dtype`` (if its dtype's kind is in ``kinds``) and moved to ``device``;
    None keeps either. A complex array cast to a real dtype keeps its real part, with PyTorch's
    warning."""
    if dtype is not None and data.dtype.kind in kinds and data.dtype != dtype:
        if data.dtype.kind == "c" and dtype.kind != "c":
            warnings.warn("Casting complex values to real discards the imaginary part",
                          UserWarning, stacklevel=4)
            data = data.real
        data = data.astype(dtype, copy=False)
    return data if device is None else to_device(data, device)
