"""``device=`` on the layers' constructors, with ``dtype=`` PyTorch's factory keyword arguments.

``nn.Linear(3, 4, device="cuda", dtype=chainrule.float64)``. The layers that make
floating-point parameters or buffers take ``dtype=`` themselves (they draw their initial
weights in it): exactly those whose PyTorch counterparts take ``device`` and ``dtype``. Rather
than each of them taking ``device`` too, ``Module.__init_subclass__`` wraps, once when the
class is made, the ``__init__`` of each of chainrule's classes that takes ``dtype`` and no
``device``. The wrapper takes ``device=`` out of the keyword arguments, runs the constructor,
then moves the finished layer with ``Module.to``, so ``device="cuda"`` without CuPy gives the
error ``.to("cuda")`` gives (checked before anything is built). A constructor that calls its
base class's (``super().__init__``) or builds sublayers has the keyword taken by the outer
wrapper already: the move happens once, after the outermost constructor. Nothing runs at call
time: ``Module.__call__`` and ``forward`` are untouched.

PyTorch's constructors take ``device`` and ``dtype`` positionally too, after their other
arguments: ``super().__init__(in_features, out_features, bias, device, dtype)`` in a subclass of
``nn.Linear`` (pytorch/examples' forward-forward layer). The wrapper takes up to two positional
arguments past the constructor's own as ``device`` then ``dtype``, except for the classes whose
PyTorch constructor has other arguments there (``EmbeddingBag``'s order; ``RNN``'s and
``GRU``'s ``proj_size``), where they are an error.

A user's ``Module`` subclass keeps the constructor it defines, as in PyTorch (one that passes
``device=`` on to a chainrule base class gets that class's parameters moved). The wrapper's
``__signature__`` is the constructor's with a keyword-only ``device=None`` added, so
``inspect.signature(nn.Linear)`` shows it.
"""

from __future__ import annotations

import functools
import inspect

from ..backend import validate_device
from ..backend.device import device as _device_type

__all__ = ["add_factory_kwargs"]

_OURS = "chainrule."


def _check(who: str, device) -> None:
    if not isinstance(device, (str, _device_type)):
        raise TypeError(f"{who}: device must be a str such as 'cpu' or 'cuda', or a "
                        f"chainrule.device, got {type(device).__name__}")
    validate_device(str(device))


# PyTorch's constructor has arguments of its own between these classes' and device, dtype
# (RNN and GRU: proj_size, which they refuse)
_NOT_POSITIONAL = frozenset({"EmbeddingBag", "GRU", "RNN"})


def _signature(init) -> inspect.Signature:
    """``init``'s signature with a keyword-only ``device=None`` at the end."""
    sig = inspect.signature(init)
    device = inspect.Parameter("device", inspect.Parameter.KEYWORD_ONLY, default=None)
    return sig.replace(parameters=[*sig.parameters.values(), device])


def _positional_count(cls, params) -> int | None:
    """How many positional arguments ``cls``'s constructor takes before PyTorch's positional
    ``device, dtype`` (None where it takes no more)."""
    kinds = [p.kind for p in params.values()]
    if cls.__name__ in _NOT_POSITIONAL or inspect.Parameter.VAR_POSITIONAL in kinds:
        return None
    return kinds.count(inspect.Parameter.POSITIONAL_OR_KEYWORD) - 1  # less self


def _take_positional(who, n, args, kwargs):
    """``args`` past the first ``n`` moved into ``kwargs`` as ``device`` then ``dtype``."""
    extra = args[n:]
    if len(extra) > 2:
        raise TypeError(f"{who}() takes at most {n + 2} positional arguments (the last two "
                        f"device and dtype), got {len(args)}")
    for name, value in zip(("device", "dtype"), extra):
        if name in kwargs:
            raise TypeError(f"{who}() got multiple values for argument '{name}'")
        kwargs[name] = value
    return args[:n]


def add_factory_kwargs(cls) -> None:
    """Wrap ``cls.__init__`` to take ``device=``, if ``cls`` is chainrule's and its
    ``__init__`` (not wrapped yet) takes ``dtype`` (it makes floating-point state) but no
    ``device``."""
    init = cls.__init__  # its own, or one it inherits from a mixin that is no Module (_LazyConv)
    if not cls.__module__.startswith(_OURS) or hasattr(init, "_factory"):
        return
    params = inspect.signature(init).parameters
    if "dtype" not in params or "device" in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return

    n = _positional_count(cls, params)

    @functools.wraps(init)
    def init_on_device(self, *args, **kwargs):
        if n is not None and len(args) > n:
            args = _take_positional(type(self).__name__, n, args, kwargs)
        device = kwargs.pop("device", None)
        if device is None:
            return init(self, *args, **kwargs)
        _check(type(self).__name__, device)
        if str(device) == "meta":  # built there at once: no weights drawn, no memory taken
            with _device_type("meta"):
                return init(self, *args, **kwargs)
        init(self, *args, **kwargs)
        self.to(device)

    init_on_device._factory = True
    init_on_device.__signature__ = _signature(init)
    cls.__init__ = init_on_device
