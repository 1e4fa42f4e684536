"""Anomaly detection, PyTorch's ``torch.autograd.detect_anomaly``: a debugging mode of the engine.

While it is on, every node of the graph remembers the stack of the forward call that made it, and
the backward walk (``graph.run_backward``) checks every gradient a node returns: one with a NaN is
an ``AnomalyError`` (a RuntimeError) naming the node and the input it was for, and any error a
node's backward raises comes with a warning that shows where in the user's forward pass the node
was made. Like grad mode, the mode lives in ContextVars (one thread's setting is not another's) and
is put back on exit. Off, it costs one ContextVar read per recorded op and per backward walk.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import traceback
import warnings

from ..backend import get_array_module

__all__ = ["AnomalyError", "detect_anomaly", "is_anomaly_check_nan_enabled",
           "is_anomaly_enabled", "set_anomaly_enabled", "set_detect_anomaly"]

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("anomaly_enabled", default=False)
_check_nan: contextvars.ContextVar[bool] = contextvars.ContextVar("anomaly_check_nan",
                                                                  default=True)
# While a node's backward runs under anomaly mode: its record, the parent of nodes made there
# (create_graph), whose forward "induced the previous calculation" in PyTorch's words.
_running: contextvars.ContextVar = contextvars.ContextVar("anomaly_running_node", default=None)

_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SLOW = ("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
         "be enabled for debugging.")


class AnomalyError(RuntimeError):
    """A node's backward returned NaN values while anomaly detection checks for them."""


def _as_bool(who: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be True or False, got {value!r}")
    return value


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for this thread/context (``torch.set_anomaly_enabled``)."""
    enabled = _as_bool("set_anomaly_enabled", "enabled", enabled)
    _check_nan.set(_as_bool("set_anomaly_enabled", "check_nan", check_nan))
    _enabled.set(enabled)


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on."""
    return _enabled.get()


def is_anomaly_check_nan_enabled() -> bool:
    """True when anomaly detection (if on) raises at a gradient with NaN values."""
    return _check_nan.get()


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Set anomaly detection on or off now; as a context manager, put the old setting back on exit.

    ``set_detect_anomaly(True)`` works as a plain call, ``with set_detect_anomaly(flag):`` as a
    block (a debugging switch a script can pass a command-line flag to).
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (_enabled.get(), _check_nan.get())
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        set_anomaly_enabled(*self.prev)
        return False


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name; a decorator too
    """Context manager and decorator turning anomaly detection on (see the module docstring).

    Args:
        check_nan: raise an ``AnomalyError`` (a RuntimeError) at the first node whose backward
            returns a gradient with NaN values (inf is let through, as in PyTorch); False only
            records the forward stacks, for the warning that comes with any backward error.

    It warns, as PyTorch's does, that it slows every op down: use it to find the op behind a NaN
    gradient or a backward error, not in a training run.

    >>> import warnings, chainrule as cr
    >>> x = cr.tensor([0.0], requires_grad=True)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     with cr.autograd.detect_anomaly():
    ...         y = (cr.sqrt(x) * 0).sum()
    ...         y.backward()
    Traceback (most recent call last):
    ...
    chainrule.autograd.anomaly_mode.AnomalyError: Function 'Sqrt' returned nan values in its 0th output.
    """  # noqa: E501 - a doctest's output line

    def __init__(self, check_nan: bool = True):
        self.check_nan = _as_bool("detect_anomaly", "check_nan", check_nan)
        self._prev: list[tuple[bool, bool]] = []
        warnings.warn(_SLOW, UserWarning, stacklevel=2)

    def __enter__(self):
        self._prev.append((_enabled.get(), _check_nan.get()))
        set_anomaly_enabled(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        set_anomaly_enabled(*self._prev.pop())
        return False


def remember_forward(node) -> None:
    """Keep on ``node`` the stack of the forward call making it, and the node whose backward was
    running then (create_graph). Called by ``Function.apply`` only while the mode is on."""
    stack = traceback.StackSummary.from_list(  # less the engine's own frames
        [f for f in traceback.extract_stack() if not f.filename.startswith(_ENGINE_DIR)])
    node._anomaly = (stack, _running.get())


def run_node(node, call, *args):
    """``call(*args)``, the backward of ``node``, under anomaly mode: the nodes it makes remember
    ``node`` as their parent, and its gradients are checked for NaN if asked."""
    token = _running.set((type(node).__name__, getattr(node, "_anomaly", None)))
    try:
        grads = call(*args)
    finally:
        _running.reset(token)
    if _check_nan.get():
        # Only the gradients the walk passes on: an input that needs none may be given one (a
        # formula computing both sides at once), as PyTorch's nodes leave it undefined. A custom
        # Function's backward is checked whole, as PyTorch checks what the user returned.
        needs = () if getattr(node, "nan_check_all", False) else node.needs_input_grad
        for i, g in enumerate(grads if type(grads) is tuple else (grads,)):
            if i < len(needs) and not needs[i]:
                continue
            data = getattr(g, "_data", None)
            if data is None or data.dtype.kind not in "fc":
                continue
            if bool(get_array_module(data).isnan(data).any()):
                raise AnomalyError(f"Function '{type(node).__name__}' returned nan values in its "
                                   f"{i}th output.")
    return grads


def report(node, err: BaseException) -> None:
    """Warn where in the forward pass ``node``, whose backward raised ``err``, was made (once per
    error: a walk inside a node's backward reports it first)."""
    if getattr(err, "_anomaly_reported", False):
        return
    try:
        err._anomaly_reported = True
    except AttributeError:
        pass
    name, record = type(node).__name__, getattr(node, "_anomaly", None)
    if record is None:
        warnings.warn(f"Error detected in {name}. No forward pass information available. Enable "
                      "detect anomaly during forward pass for more information.", UserWarning,
                      stacklevel=3)
        return
    stack, parent = record
    warnings.warn(f"Error detected in {name}. Traceback of forward call that caused the error:\n"
                  + "".join(traceback.format_list(stack)), UserWarning, stacklevel=3)
    while parent is not None and parent[1] is not None:
        name, (stack, parent) = parent
        warnings.warn(f"\n\nPrevious calculation was induced by {name}. Traceback of forward call "
                      "that induced the previous calculation:\n"
                      + "".join(traceback.format_list(stack)), UserWarning, stacklevel=3)
