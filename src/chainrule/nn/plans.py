"""Inference plans: a model called under ``no_grad`` replays its ops without the layers around them.

Calling a model walks Python at every layer: ``Module.__call__``, the layer's input checks, the
functional wrapper's argument checks, ``Function.apply`` and a new Tensor per output. At batch 1
that walk is a large share of the call (docs/performance.md). ``chainrule.trace`` removes
it for a model you trace yourself; this module does the same, unasked, where it can prove that the
replay computes exactly what the layers would:

* the module is a ``Sequential`` or a model marked ``@static_forward`` (LeNet-5, the MLP...), and
  every module below it is one of the built-in layers listed in ``_LEAVES`` (exact classes: a
  subclass may override ``forward``) or itself marked, so no Python in between reads values;
* gradients are off (``with no_grad():``), and no trace is being recorded;
* the whole tree is in eval mode, and no module in it has hooks or an instance-level ``forward``;
* every argument is a Tensor, passed by position.

The first call with a given input signature (shapes, dtypes, devices, memory layouts) runs the
layers as usual, with all their checks; the second traces them (``chainrule.trace``'s recorder) and
keeps the plan, and later calls with that signature replay it. Values are bit for bit the layers'
own: the replay runs the same ``Function.forward`` methods with the same settings. Parameters are
read at every call, so optimizer steps and ``load_state_dict`` show at once. Anything that changes
what the layers would run (assigning an attribute or a layer, ``train()``/``eval()``, hooks,
``to()``, adding or removing layers of a container) bumps the changed module's ``_version``, and a
plan checks every version of its tree before it runs. Not seen: replacing a parameter's array with
one of another shape, dtype or device through ``param.data = ...`` (``to()`` is seen, and
``load_state_dict`` copies into the arrays there are).

``chainrule.config.inference_plans = False`` (or ``set_inference_plans(False)``, or
``CHAINRULE_INFERENCE_PLANS=0`` in the environment) turns plans off, e.g. to compare both paths.
"""

from __future__ import annotations

from ..autograd import function as _function
from ..autograd.tensor import Tensor
from ..autograd.tracing import Traced, TraceError
from ..backend import config

__all__ = ["set_inference_plans", "static_forward"]

_MAX_PLANS = 8  # signatures planned per module; later new ones run the layers (no eviction churn)
_MAX_SEEN = 64  # signatures counted per module before it stops planning new ones

# Exact classes whose forward is a fixed sequence of ops given the input's shape: filled in by the
# layer modules (``_leaf``), so that this file need not import them all.
_LEAVES: set = set()
# Exact classes that plan a call: containers and models marked with ``static_forward``.
PLANNING_CLASSES: set = set()


def set_inference_plans(enabled: bool) -> bool:
    """Turn inference plans on or off for every model; returns the previous setting.

    The same as assigning ``chainrule.config.inference_plans``.

    >>> import chainrule as cr
    >>> previous = cr.nn.set_inference_plans(False)  # run every layer, as before
    >>> cr.nn.set_inference_plans(previous)
    False
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"set_inference_plans: enabled must be a bool, got {enabled!r}")
    previous = config.inference_plans
    config.inference_plans = enabled
    return previous


def static_forward(cls):
    """Class decorator: ``cls.forward`` runs the same ops for every input of a given shape.

    That is, its Python never branches on tensor values, random numbers or outside state, and it
    calls only its submodules and chainrule ops. A marked model called under ``no_grad`` in eval
    mode replays a recorded plan of its ops (see this module). Only ``cls`` itself is marked, not
    its subclasses, which may override ``forward``.
    """
    from .module import Module  # here: module.py imports this file

    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"static_forward: expected a Module class, got {cls!r}")
    PLANNING_CLASSES.add(cls)
    return cls


def _leaf(*classes) -> None:
    _LEAVES.update(classes)


class _State:
    """One module's plans, valid while it and every module below it keep their ``_version``.

    It holds the modules below the root but not the root itself, and a plan holds no module:
    no reference cycle keeps a deleted model's arrays alive.
    """

    __slots__ = ("version", "modules", "versions", "eligible", "plans", "seen")

    def __init__(self, root):
        below = tuple(root.modules())[1:]
        self.version = root._version
        self.modules = below
        self.versions = [m._version for m in below]
        self.eligible = _plannable(root) and all(_plannable(m) for m in below)
        self.plans: dict = {}  # input signature -> the trace's _Plan
        self.seen: dict = {}  # input signature -> calls that ran the layers

    def __reduce__(self):
        # A copy or pickle that still reaches a state (a subclass's own __getstate__) gets None:
        # the copied model makes its own plans, which read its own Parameters.
        return type(None), ()


def _plannable(m) -> bool:
    cls = type(m)
    return ((cls in _LEAVES or cls in PLANNING_CLASSES) and not m.training and not m._forward_hooks
            and not m._forward_pre_hooks and "forward" not in m.__dict__)


def call(module, args):
    """``module(*args)`` from its plan, or None where the layers must run (see this module)."""
    if not config.inference_plans or _function._tracer is not None or not args:
        return None
    state = module.__dict__.get("_plans")
    if (state is None or state.version != module._version
            or [m._version for m in state.modules] != state.versions):
        state = _State(module)
        object.__setattr__(module, "_plans", state)  # not a change of the module: no new version
    if not state.eligible:
        return None
    for x in args:
        if type(x) is not Tensor:
            return None
    arrays = [x.data for x in args]
    # The trace's signature (shapes, dtypes, devices) and the memory layout: the layers' Python
    # reads only shapes, but a plan per layout needs no proof of that.
    key = tuple([(a.shape, a.strides, a.dtype, type(a)) for a in arrays])
    plan = state.plans.get(key)
    if plan is None:
        seen = state.seen.get(key, 0)
        if seen == 0 or len(state.plans) >= _MAX_PLANS:  # a first call runs the layers, with checks
            if len(state.seen) < _MAX_SEEN:
                state.seen[key] = seen + 1
            return None
        try:
            plan = Traced(module)._plan(tuple(Tensor(a) for a in arrays))
        except TraceError:
            # Another thread began recording: run the layers this time. Otherwise the ops could
            # not be replayed (not expected of the listed layers): run the layers from now on.
            if _function._tracer is None:
                state.eligible = False
            return None
        state.plans[key] = plan
    return plan.run(arrays)
