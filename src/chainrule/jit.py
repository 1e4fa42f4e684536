"""``chainrule.jit``: TorchScript's names, for the programs and model code that use them; every
function runs eagerly, unchanged.

Model code written for PyTorch asks ``torch.jit.is_scripting()`` to pick an eager path, marks
methods ``@torch.jit.unused`` or ``@torch.jit.ignore``, annotates with ``torch.jit.annotate``
and ``torch.jit.Final``, and scripts small fused functions (``@torch.jit.script def
bias_gelu(x, b)``). chainrule has no TorchScript compiler: ``script``, ``trace``, ``freeze`` and
``optimize_for_inference`` return what they are given (``trace`` does not run its example
inputs), ``is_scripting``/``is_tracing`` are False and the decorators return the function itself,
so such a program computes exactly what it computes uncompiled. ``script``, ``trace``,
``freeze``, ``optimize_for_inference``, ``fork`` and ``wait`` give PyTorch's DeprecationWarning
(TorchScript is deprecated there). Saving and loading TorchScript archives (``jit.save``/
``jit.load``) is refused.

>>> import chainrule as cr
>>> cr.jit.is_scripting()
False
"""

from __future__ import annotations

import typing
import warnings

__all__ = ["Final", "annotate", "export", "fork", "freeze", "ignore", "interface",
           "is_scripting", "is_tracing", "load", "optimize_for_inference", "save", "script",
           "script_method", "trace", "unused", "wait"]

Final = typing.Final


def _deprecated(who: str) -> None:
    instead = ("Please switch to `torch.compile` or `torch.export`." if who in ("script", "trace")
               else "Please use `torch.compile` instead.")
    warnings.warn(f"`torch.jit.{who}` is deprecated. {instead}", DeprecationWarning,
                  stacklevel=3)


def _callable(who: str, obj):
    _deprecated(who)
    if not callable(obj):
        raise TypeError(f"jit.{who}: expected a Module or a function, got {type(obj).__name__}")
    return obj


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """``obj`` itself (a Module or a function): chainrule runs it eagerly."""
    return _callable("script", obj)


def trace(func, example_inputs=None, optimize=None, check_trace: bool = True, check_inputs=None,
          check_tolerance: float = 1e-5, strict: bool = True, _force_outplace: bool = False,
          _module_class=None, _compilation_unit=None, example_kwarg_inputs=None,
          _store_inputs: bool = True):
    """``func`` itself, not run on ``example_inputs`` (PyTorch runs it once to record it: a
    Module in training mode would update its BatchNorm statistics there, chainrule's does not)."""
    return _callable("trace", func)


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    """``mod`` itself."""
    return _callable("freeze", mod)


def optimize_for_inference(mod, other_methods=None):
    """``mod`` itself."""
    return _callable("optimize_for_inference", mod)


def is_scripting() -> bool:
    """False: chainrule never compiles a function."""
    return False


def is_tracing() -> bool:
    """False: chainrule never records a function by tracing."""
    return False


def _decorator(fn=None, **_options):
    """A decorator that returns the function itself, used bare or with options."""
    if fn is None or not callable(fn):
        return lambda f: f
    return fn


def ignore(drop=False, **kwargs):
    """``@torch.jit.ignore`` (bare or with ``drop=``): the function itself."""
    return _decorator(drop if callable(drop) else None)


def unused(fn):
    """``@torch.jit.unused``: the function itself."""
    return fn


def export(fn):
    """``@torch.jit.export``: the function itself."""
    return fn


def interface(obj):
    """``@torch.jit.interface``: the class itself."""
    return obj


def script_method(fn):
    """``@torch.jit.script_method``: the function itself."""
    return fn


def annotate(the_type, the_value):
    """``the_value`` itself (the type is TorchScript's hint)."""
    return the_value


class _Done:
    """A finished future: ``fork`` runs its function at once."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def value(self):
        return self._value

    def done(self) -> bool:
        return True


def fork(func, *args, **kwargs):
    """``func(*args, **kwargs)`` run now, as a finished future for ``wait``."""
    return _Done(_callable("fork", func)(*args, **kwargs))


def wait(future):
    """The value of a future from ``fork``."""
    _deprecated("wait")
    if not isinstance(future, _Done):
        raise TypeError(f"jit.wait: expected a future from jit.fork, got {type(future).__name__}")
    return future.wait()


def save(m, f, _extra_files=None):
    raise NotImplementedError("jit.save: chainrule has no TorchScript archives; save the "
                              "state_dict with chainrule.save (safetensors) instead")


def load(f, map_location=None, _extra_files=None, _restore_shapes: bool = False):
    raise NotImplementedError("jit.load: chainrule cannot read TorchScript archives; export the "
                              "model's state_dict from PyTorch and load it into the same "
                              "architecture built with chainrule")
