"""The engine's modes, kept in ContextVars and always restored on exit: grad mode (whether ops are
recorded for backpropagation) and, while ``chainrule.trace`` runs a model, its recorder."""

from __future__ import annotations

import contextvars
import functools
import inspect

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("grad_enabled", default=True)
# While ``chainrule.trace`` records a model: called with every op that runs (see tracing.py).
_trace_recorder: contextvars.ContextVar = contextvars.ContextVar("trace_recorder", default=None)


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backpropagation."""
    return _grad_enabled.get()


class _GradMode:
    """Context manager and decorator turning recording on or off; restores the old mode on exit
    (the base of ``set_grad_enabled``, ``no_grad``, ``enable_grad`` and ``inference_mode``)."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._tokens: list[contextvars.Token] = []

    def __enter__(self):
        self._tokens.append(_grad_enabled.set(self.mode))
        return self

    def __exit__(self, *exc):
        _grad_enabled.reset(self._tokens.pop())
        return False

    def __call__(self, fn):
        return decorate(fn, lambda: _GradMode(self.mode))


def decorate(fn, make):
    """``fn`` run under ``make()``, a new context manager for each call. A generator function's
    generator runs each of its steps under one (as PyTorch's decorators do), not only its
    creation: ``@no_grad()`` on a generator records nothing between its yields either."""
    if not inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with make():
                return fn(*args, **kwargs)

        return wrapper

    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with make():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make():
                        gen.close()
                    raise
                except BaseException as exc:  # noqa: BLE001 - thrown in: passed on, in the mode
                    with make():
                        response = gen.throw(exc)
                else:
                    with make():
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value

    return generator


class _Bare(_GradMode):
    """``no_grad`` and ``enable_grad`` also decorate without the call (``@no_grad``), as
    PyTorch's."""

    def __new__(cls, fn=None):
        if fn is None:
            return super().__new__(cls)
        if not callable(fn):
            raise TypeError(f"{cls.__name__}() takes no arguments (or a function to decorate), "
                            f"got {type(fn).__name__} {fn!r}")
        return cls()(fn)


class set_grad_enabled(_GradMode):  # noqa: N801 - named like torch.set_grad_enabled
    """Turn recording on or off: a context manager and a decorator that restore the old mode
    afterwards, and, called on its own (``set_grad_enabled(False)`` at the top of an inference
    script), a switch that takes effect at once and stays, as PyTorch's."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):  # "no" or 0: PyTorch's TypeError, not a truthiness
            raise TypeError(f"set_grad_enabled(): mode must be a bool, got {type(mode).__name__} "
                            f"{mode!r}")
        super().__init__(mode)
        self._prev = _grad_enabled.get()
        _grad_enabled.set(self.mode)

    def __exit__(self, *exc):
        super().__exit__(*exc)
        _grad_enabled.set(self._prev)  # the mode before the call, as PyTorch's
        return False

    def __call__(self, fn):  # a decorator: the call's own switch is undone, as PyTorch's
        _grad_enabled.set(self._prev)
        return super().__call__(fn)


class no_grad(_Bare):  # noqa: N801
    """Record nothing inside this block: for evaluation, inference and parameter updates.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self, fn=None):  # set_grad_enabled(False), without a second call: every step pays
        self.mode = False
        self._tokens = []


class enable_grad(_Bare):  # noqa: N801
    """Record operations inside this block even where an outer ``no_grad`` turned recording off."""

    def __init__(self, fn=None):
        super().__init__(True)

# (pack_hook, unpack_hook) of the innermost active ``saved_tensors_hooks``
# (autograd/saved_hooks.py), or None: the one check ``Function.apply`` makes when it records.
_saved_hooks: contextvars.ContextVar = contextvars.ContextVar("saved_tensors_hooks", default=None)
