"""Callbacks' own state in the Trainer's checkpoints: which callbacks hold one, and its checks.

A checkpoint stores each stateful callback's ``state_dict()`` under its class name (``#1``,
``#2``... for later ones of a class); a resume must bring the same stateful callbacks.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["callback_keys", "callback_states", "check_early_stopping_state",
           "restore_callbacks"]


def _stateful(callbacks) -> list:
    from .callbacks import Callback

    return [c for c in callbacks if type(c).state_dict is not Callback.state_dict]


def _keyed(callbacks) -> dict:
    keyed, counts = {}, {}
    for c in _stateful(callbacks):
        name = type(c).__name__
        counts[name] = counts.get(name, 0) + 1
        keyed[name if counts[name] == 1 else f"{name}#{counts[name] - 1}"] = c
    return keyed


def callback_keys(callbacks) -> dict:
    """name -> callback, for the stateful ``callbacks`` (the names they save their state under)."""
    return _keyed(callbacks)


def callback_states(callbacks) -> dict:
    """name -> ``state_dict()`` of each stateful callback (those that ran: a callback never
    started, as in a ``save_checkpoint`` before any ``fit``, has nothing to save)."""
    out = {}
    for key, c in _keyed(callbacks).items():
        try:
            out[key] = c.state_dict()
        except AttributeError:  # its on_train_begin never ran
            out[key] = None
    return out


def restore_callbacks(callbacks, states) -> None:
    """Give each stateful callback its saved state (after ``on_train_begin``)."""
    if not states:
        return
    for key, c in _keyed(callbacks).items():
        if states.get(key) is not None:
            c.load_state_dict(states[key])


def _bad(field, value, expected):
    return ValueError(f"EarlyStopping: the checkpoint's state has {field} {value!r}, expected "
                      f"{expected}")


def check_early_stopping_state(state, monitor: str, restore: bool) -> None:
    """Refuse a saved EarlyStopping state of the wrong form, or of another monitored log."""
    keys = {"monitor", "best", "best_epoch", "wait", "stopped_epoch", "last_epoch",
            "best_weights"}
    if not isinstance(state, dict) or set(state) != keys:
        raise _bad("entries", sorted(state) if isinstance(state, dict) else state, sorted(keys))
    if state["monitor"] != monitor:
        raise ValueError(f"EarlyStopping: the checkpoint's run monitored {state['monitor']!r}, "
                         f"this one monitors {monitor!r}; resume with the run's own settings")
    best = state["best"]
    if best is not None and (not isinstance(best, numbers.Real) or math.isnan(best)):
        raise _bad("best", best, "None or a number")
    if not isinstance(state["wait"], int) or state["wait"] < 0:
        raise _bad("wait", state["wait"], "an int >= 0")
    for field in ("best_epoch", "stopped_epoch", "last_epoch"):
        value = state[field]
        if value is not None and (not isinstance(value, int) or value < 0):
            raise _bad(field, value, "None or an int >= 0")
    weights = state["best_weights"]
    if weights is not None and (not restore or not isinstance(weights, dict)):
        raise _bad("best_weights", type(weights).__name__,
                   "a dict of arrays (with restore_best_weights=True), or None")
