"""Checks of a training-state file's contents before anything is restored from it.

A training-state file is data from disk: its epoch, optimizer and scheduler state, random states
and history are checked for type and range (and, when the live objects are given, against them)
so that a damaged or forged file fails with one clear message naming the file, the field, the
value and what was expected, and nothing is half-restored.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from ..backend import numpy

__all__ = ["check_training_state"]

_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


class _FieldError(ValueError):
    """A field and what is wrong with it; turned into the message naming the file."""

    def __init__(self, field: str, value, expected: str):
        text = repr(value)
        if len(text) > 80:
            text = text[:77] + "..."
        super().__init__(f"{field} is {text}, expected {expected}")


def _is_array(value) -> bool:
    return hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(
        value, numpy.generic)


def _is_int(value) -> bool:
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, (bool, numpy.bool_))


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, numpy.bool_))


def _check_epoch(epoch) -> None:
    if not _is_int(epoch) or epoch < -1:
        raise _FieldError("epoch", epoch, "an int >= -1 (the last completed epoch)")


# PyTorch's implementation choices that optimizers keep in their groups (None: its default).
_IMPLEMENTATION_FLAGS = frozenset({"foreach", "fused", "capturable", "differentiable"})


def _like(field: str, saved, live) -> None:
    """``saved`` must be of the kind of ``live`` (the same object's current value)."""
    if isinstance(live, (bool, numpy.bool_)):
        if not isinstance(saved, (bool, numpy.bool_)):
            raise _FieldError(field, saved, "True or False")
    elif _is_int(live):
        low = -1 if field.endswith("last_epoch") else 0
        if not _is_int(saved) or saved < low:
            raise _FieldError(field, saved, f"an int >= {low}")
    elif _is_real(live):
        if not _is_real(saved) or math.isnan(saved) or (
                math.isinf(saved) and math.isfinite(live)):
            raise _FieldError(field, saved, "a finite number")
    elif isinstance(live, str):
        if not isinstance(saved, str):
            raise _FieldError(field, saved, "a string")
    elif isinstance(live, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(live):
            raise _FieldError(field, saved, f"a list of {len(live)} entries like {list(live)!r}")
        for i, (s, v) in enumerate(zip(saved, live)):
            _like(f"{field}[{i}]", s, v)
    elif _is_array(live):
        if not _is_array(saved) or saved.shape != live.shape:
            raise _FieldError(field, saved, f"an array of shape {tuple(live.shape)}")
    elif live is None:
        if not (saved is None or _is_real(saved) or isinstance(saved, str)):
            raise _FieldError(field, saved, "None, a number or a string")


def _param_shapes(optimizer) -> list:
    return [tuple(p.shape) for g in optimizer.param_groups for p in g["params"]]


def _check_optimizer(saved, optimizer, field: str = "optimizer") -> None:
    """``saved`` against ``optimizer``: an Optimizer, or an object holding several (a GAN's)."""
    if not hasattr(optimizer, "param_groups"):
        _check_composite(saved, optimizer, field)
        return
    if not isinstance(saved, Mapping) or set(saved) != {"state", "param_groups"}:
        raise _FieldError(field, saved, "a dict with keys 'param_groups' and 'state'")
    groups, state = saved["param_groups"], saved["state"]
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise _FieldError(f"{field}.param_groups", groups, "a list of dicts")
    live_groups = optimizer.param_groups
    if len(groups) != len(live_groups):
        raise _FieldError(f"{field}.param_groups", f"{len(groups)} groups",
                          f"{len(live_groups)} groups, as the optimizer has")
    indices = []
    for i, (group, live) in enumerate(zip(groups, live_groups)):
        where = f"{field}.param_groups[{i}]"
        params = group.get("params")
        if not isinstance(params, list) or not all(_is_int(k) and k >= 0 for k in params):
            raise _FieldError(f"{where}.params", params,
                              "a list of parameter indices (ints >= 0)")
        indices += params
        if len(params) != len(live["params"]):
            raise _FieldError(f"{where}.params", params, f"{len(live['params'])} indices, as "
                              "the optimizer's group has")
        for key, value in group.items():
            if key == "params":
                continue
            if key not in live:
                known = sorted(k for k in live if k != "params")
                raise _FieldError(f"{where}.{key}", value, "no such hyperparameter; "
                                  f"{type(optimizer).__name__} has {known}")
            if key in _IMPLEMENTATION_FLAGS:  # None or a bool, whichever the optimizer was given
                if value is not None and not isinstance(value, bool):
                    raise _FieldError(f"{where}.{key}", value, "True, False or None")
                continue
            _like(f"{where}.{key}", value, live[key])
    if sorted(indices) != list(range(len(indices))):
        raise _FieldError(f"{field}.param_groups[*].params", indices,
                          f"each of 0..{len(indices) - 1} once")
    shapes = _param_shapes(optimizer)
    # the shape a state entry must have (the optimizer's answer: Adafactor's factors, LBFGS's
    # flat vectors differ from the parameter's); an object without the method: the parameter's
    expected = getattr(optimizer, "_expected_state_shape", lambda key, shape: shape)
    if not isinstance(state, Mapping):
        raise _FieldError(f"{field}.state", state, "a dict parameter index -> dict")
    for k, entry in state.items():
        where = f"{field}.state[{k!r}]"
        if not _is_int(k) or not 0 <= k < len(indices):
            raise _FieldError(f"{field}.state key {k!r}", k,
                              f"a parameter index in 0..{len(indices) - 1}")
        if not isinstance(entry, Mapping):
            raise _FieldError(where, entry, "a dict of state arrays and numbers")
        for key, value in entry.items():
            shape = expected(key, shapes[k]) if isinstance(key, str) else None
            _check_state_entry(f"{where}.{key}", key, value, shape)


def _check_composite(saved, optimizer, field: str) -> None:
    """The state of an object whose ``state_dict`` holds its optimizers' states by name."""
    live = optimizer.state_dict()
    if not isinstance(live, Mapping):
        return
    if not isinstance(saved, Mapping) or set(saved) != set(live):
        got = sorted(saved) if isinstance(saved, Mapping) else saved
        raise _FieldError(field, got, f"a dict with keys {sorted(live)}")
    for key, value in saved.items():
        part = getattr(optimizer, key, None)
        if hasattr(part, "param_groups"):
            _check_optimizer(value, part, f"{field}.{key}")
        else:
            _like(f"{field}.{key}", value, live[key])


def _check_state_entry(field: str, key, value, shape) -> None:
    if not isinstance(key, str):
        raise _FieldError(field, key, "a string key")
    if key == "step":  # a 0-d float array (PyTorch's layout), or an int (older files)
        if _is_array(value) and value.ndim == 0 and value.dtype.kind in "fiu":
            value = value.item()
            whole = math.isfinite(value) and value == int(value)
            if not whole or value < 0:
                raise _FieldError(field, value, "a whole number >= 0 (the steps taken)")
        elif not _is_int(value) or value < 0:
            raise _FieldError(field, value, "a 0-d array or an int >= 0 (the steps taken)")
    elif _is_array(value):
        if value.dtype.kind not in "fciub":
            raise _FieldError(field, f"array of dtype {value.dtype}", "a numeric array")
        if shape is not None and tuple(value.shape) != shape and value.ndim != 0:
            raise _FieldError(field, f"array of shape {tuple(value.shape)}",
                       f"shape {shape}")
        if value.dtype.kind in "fc" and not numpy.isfinite(value).all():
            raise _FieldError(field, "an array with NaN or infinite entries", "finite values")
    elif isinstance(value, list):  # LBFGS's history and work list
        for i, item in enumerate(value):
            if item is not None:
                _check_state_entry(f"{field}[{i}]", key, item, shape)
    elif not (_is_real(value) and math.isfinite(value)) and not isinstance(value, bool):
        raise _FieldError(field, value, "an array or a finite number")


def _check_schedulers(saved, scheduler) -> None:
    """One scheduler's state, or a list of them for a run with several."""
    several = isinstance(scheduler, (list, tuple))
    count = len(scheduler) if several else 1
    if several != isinstance(saved, list) or (several and len(saved) != count):
        held = f"{len(saved)} schedulers' states" if isinstance(saved, list) else "one's state"
        raise _FieldError("scheduler", held, f"the states of the run's {count} learning-rate "
                          "scheduler(s); resume with the schedulers of the run that saved it")
    for i, (one, live) in enumerate(zip(saved, scheduler) if several else [(saved, scheduler)]):
        _check_scheduler(one, live, f"scheduler[{i}]" if several else "scheduler")


def _check_scheduler(saved, scheduler, field: str = "scheduler") -> None:
    if not isinstance(saved, Mapping) or not all(isinstance(k, str) for k in saved):
        raise _FieldError(field, saved, "a dict of named values")
    if "last_epoch" in saved and (not _is_int(saved["last_epoch"]) or saved["last_epoch"] < -1):
        raise _FieldError(f"{field}.last_epoch", saved["last_epoch"], "an int >= -1")
    live = scheduler.state_dict()
    for key, value in saved.items():
        if key not in live:
            raise _FieldError(f"{field}.{key}", value,
                       f"no such entry; {type(scheduler).__name__} has {sorted(live)}")
        _like(f"{field}.{key}", value, live[key])


def _check_classes(who: str, path, saved, live: dict) -> None:
    """The optimizer and scheduler must be of the kinds saved (older files name none)."""
    if saved is None:
        return
    if not isinstance(saved, Mapping):
        raise _FieldError("classes", saved, "a dict naming the optimizer and scheduler classes")
    for part, obj in live.items():
        name = saved.get(part)
        own = ([type(o).__name__ for o in obj] if isinstance(obj, (list, tuple))
               else type(obj).__name__)
        if obj is not None and name is not None and name != own:
            raise ValueError(f"{who}: '{path}' was saved by a run whose {part} is {name}; the "
                             f"{part} given is {own}. Resume with the run's own "
                             "kind (its state would be read with another's meaning)")


def _check_one_rng(field: str, state, live=None) -> None:
    if not isinstance(state, Mapping) or state.get("bit_generator") not in _BIT_GENERATORS:
        raise _FieldError(field, state,
                          f"a bit-generator state of one of {', '.join(_BIT_GENERATORS)}")
    name = state["bit_generator"]
    if live is not None and type(live.bit_generator).__name__ != name:
        raise _FieldError(f"{field}.bit_generator", name, type(live.bit_generator).__name__)
    try:  # numpy checks the state's form when it is set: try it on a scratch generator
        getattr(numpy.random, name)().state = dict(state)
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise _FieldError(field, state, f"a valid {name} state ({err})") from None


def _check_rng(saved, rng) -> None:
    if isinstance(saved, Mapping) and "bit_generator" in saved:
        _check_one_rng("rng", saved, rng if isinstance(rng, numpy.random.Generator) else None)
        return
    if not isinstance(saved, Mapping):
        raise _FieldError("rng", saved, "a random state or a dict name -> random state")
    live = rng if isinstance(rng, Mapping) else {}
    for name, state in saved.items():
        _check_one_rng(f"rng[{name!r}]", state, live.get(name))


def _check_history(saved) -> None:
    field = "extra.history"
    if not isinstance(saved, Mapping) or set(saved) != {"epoch", "history"}:
        raise _FieldError(field, saved, "a dict with keys 'epoch' and 'history'")
    epochs, logs = saved["epoch"], saved["history"]
    if not isinstance(epochs, list) or not all(_is_int(e) and e >= 0 for e in epochs):
        raise _FieldError(f"{field}.epoch", epochs, "a list of epoch numbers (ints >= 0)")
    if not isinstance(logs, Mapping):
        raise _FieldError(f"{field}.history", logs, "a dict name -> list of numbers")
    for name, values in logs.items():
        if (not isinstance(name, str) or not isinstance(values, list)
                or len(values) != len(epochs) or not all(_is_real(v) for v in values)):
            raise _FieldError(f"{field}.history[{name!r}]", values,
                       f"a list of {len(epochs)} numbers, one per epoch")


def check_training_state(who: str, path, state: dict, *, optimizer=None, scheduler=None,
                         rng=None, history: bool = False) -> None:
    """Raise ValueError naming ``path``, the field, its value and what was expected.

    ``state`` is the decoded file; the live ``optimizer``, ``scheduler`` and ``rng`` (those about
    to be restored) fix the shapes and kinds their saved states must have. With ``history``,
    ``extra["history"]`` must be a ``train.History`` state.
    """
    try:
        _check_epoch(state["epoch"])
        _check_classes(who, path, state.get("classes"),
                       {"optimizer": optimizer, "scheduler": scheduler})
        if optimizer is not None:
            _check_optimizer(state["optimizer"], optimizer)
        if scheduler is not None:
            _check_schedulers(state["scheduler"], scheduler)
        if rng is not None:
            _check_rng(state["rng"], rng)
        if history:
            extra = state["extra"]
            if not isinstance(extra, Mapping) or "history" not in extra:
                raise _FieldError("extra", extra, "a dict with a 'history' entry")
            _check_history(extra["history"])
    except _FieldError as err:
        raise ValueError(f"{who}: '{path}' holds a bad training state: {err}") from None
