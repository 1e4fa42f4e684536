"""The recording side of the profiler: the events, the instrumented entry points, record_function.

While a profile records, ``Function.apply``, the backward walk's node call
(``graph._node_observer``), the optimizers' ``step`` and ``zero_grad`` and, with ``with_modules``,
``Module.__call__`` are replaced by timed versions of themselves; ``uninstall`` puts the originals
back. Each thread keeps its own stack of open events, so that nesting (and self time) is per
thread.
"""

from __future__ import annotations

import functools
import threading
import time

from ..autograd import graph
from ..autograd.custom import _CustomNode
from ..autograd.function import Function
from ..nn.module import Module
from ..optim.optimizer import Optimizer

__all__ = ["Event", "record_function"]

_clock = time.perf_counter_ns
_ORIGINAL_CALL = Module.__dict__["__call__"]
# What the profiler measures flops of (the 2*M*N*K rule): op name -> flops(input shapes, out shape)
_FLOPS = {}


class Event:
    """One timed call: an op's forward or backward, a module call, a step or a user region.

    Times are integer nanoseconds of ``time.perf_counter_ns`` (``start``, ``end``); the
    PyTorch-style views in microseconds are in ``events.FunctionEvent``.
    """

    __slots__ = ("name", "start", "end", "tid", "parent", "children", "input_shapes",
                 "self_memory", "flops", "kind")

    def __init__(self, name: str, tid: int, parent, kind: str):
        self.name, self.tid, self.parent, self.kind = name, tid, parent, kind
        self.start = self.end = 0
        self.children: list[Event] = []
        self.input_shapes: list = []
        self.self_memory = 0
        self.flops = 0


class Recorder:
    """The events of one recording, the options that shape them and the per-thread stacks."""

    def __init__(self, record_shapes=False, profile_memory=False, with_flops=False,
                 with_modules=False):
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_flops, self.with_modules = with_flops, with_modules
        self.events: list[Event] = []  # in the order they were opened, every thread
        self._local = threading.local()

    def open(self, name: str, kind: str) -> Event:
        local = self._local
        try:
            stack = local.stack
        except AttributeError:
            stack = local.stack = []
        parent = stack[-1] if stack else None
        # the OS thread id, as PyTorch's trace: Perfetto reads a tid as a 32-bit number and puts
        # a larger one (threading.get_ident, a pointer) on the process's track
        ev = Event(name, threading.get_native_id(), parent, kind)
        if parent is not None:
            parent.children.append(ev)
        self.events.append(ev)
        stack.append(ev)
        ev.start = _clock()
        return ev

    def close(self, ev: Event) -> None:
        if ev.end:  # already closed when the recording stopped inside it
            return
        ev.end = _clock()
        stack = self._local.stack
        while stack:  # an event left open by an exception below this one closes with it
            top = stack.pop()
            if top is ev:
                break
            top.end = ev.end

    def close_all(self) -> None:
        """End the events still open in this thread (a recording stopped inside them)."""
        now = _clock()
        for ev in getattr(self._local, "stack", ()):
            ev.end = now
        self._local.stack = []


_active: Recorder | None = None  # the recording profile's recorder, process-wide
_install_lock = threading.Lock()


def _shapes(values) -> list:
    return [list(getattr(v, "shape", ())) for v in values]


def _nbytes(values) -> int:
    total = 0
    for v in values:
        data = getattr(v, "_data", v)
        total += getattr(data, "nbytes", 0) or 0
    return total


def _timed_apply(apply):
    """``apply`` (the function under a classmethod ``Function.apply``), recorded as one event
    named by the op's class."""

    def timed(cls, *inputs, **params):
        rec = _active
        # None: a thread still inside an apply when the recording stopped. A custom Function's
        # node is attached by an apply of its own, inside the custom Function's event.
        if rec is None or issubclass(cls, _CustomNode):
            return apply(cls, *inputs, **params)
        ev = rec.open(cls.__name__, "op")
        try:
            out = apply(cls, *inputs, **params)
        finally:
            rec.close(ev)
        _describe(rec, ev, inputs, out)
        return out

    return classmethod(timed)


def _describe(rec, ev, inputs, out) -> None:
    if rec.record_shapes:
        ev.input_shapes = _shapes(inputs)
    outs = out if type(out) is tuple else (out,)
    if rec.profile_memory:
        ev.self_memory = _nbytes(outs)
    if rec.with_flops:
        rule = _FLOPS.get(ev.name)
        if rule is not None:
            ev.flops = rule([tuple(getattr(v, "shape", ())) for v in inputs],
                            tuple(getattr(outs[0], "shape", ())))


def _observe_node(fn, call, *args):
    """The backward walk's call of one node's backward, timed (graph._node_observer)."""
    rec = _active
    if rec is None:
        return call(*args)
    name = type(fn).__name__  # a custom Function's node is already "MyFnBackward", as PyTorch's
    ev = rec.open(name if name.endswith("Backward") else name + "Backward0", "backward")
    gouts = args[-4]  # (..., gouts, create_graph, targets, needed): the gradients it receives
    try:
        grads = call(*args)
    finally:
        rec.close(ev)
    if rec.record_shapes:
        ev.input_shapes = _shapes(g for g in gouts)
    if rec.profile_memory:
        ev.self_memory = _nbytes(g for g in (grads if type(grads) is tuple else (grads,))
                                 if g is not None)
    return grads


def _profiled_call(self, *args, **kwargs):
    rec = _active
    if rec is None:
        return _ORIGINAL_CALL(self, *args, **kwargs)
    ev = rec.open(f"nn.Module: {type(self).__name__}", "module")
    try:
        return _ORIGINAL_CALL(self, *args, **kwargs)
    finally:
        rec.close(ev)


def _timed_method(method, label: str):
    """An optimizer's ``step``/``zero_grad`` recorded as ``Optimizer.step#SGD.step`` (PyTorch's
    label), once per outermost call (a subclass's step calling super().step() is one event)."""

    @functools.wraps(method)
    def timed(self, *args, **kwargs):
        rec = _active
        busy = "_profiling_" + label
        if rec is None or self.__dict__.get(busy):
            return method(self, *args, **kwargs)
        ev = rec.open(f"Optimizer.{label}#{type(self).__name__}.{label}", "optimizer")
        self.__dict__[busy] = True
        try:
            return method(self, *args, **kwargs)
        finally:
            self.__dict__.pop(busy, None)
            rec.close(ev)

    timed._profiler_original = method
    return timed


def _subclasses(base):
    found, seen, stack = [], set(), [base]
    while stack:
        cls = stack.pop()
        if cls not in seen:  # a class with two bases in the family comes once
            seen.add(cls)
            found.append(cls)
            stack.extend(cls.__subclasses__())
    return found


_swapped: list[tuple[type, str, object]] = []  # (class, name, original) while installed


def install(rec: Recorder) -> None:
    """Start recording into ``rec``: swap in the timed entry points (process-wide)."""
    global _active
    with _install_lock:
        if _active is not None:
            raise RuntimeError("profiler: a profile is already recording in this process; "
                               "stop it before starting another (profiles do not nest)")
        try:
            _swap_in(rec)
        except BaseException:
            _swap_out()
            raise
        graph._node_observer = _observe_node
        _active = rec


def _swap_in(rec: Recorder) -> None:
    for cls in _subclasses(Function):  # the base's apply, and PyTorch-style custom ones
        original = cls.__dict__.get("apply")
        if isinstance(original, classmethod):
            cls.apply = _timed_apply(original.__func__)
            _swapped.append((cls, "apply", original))
    if rec.with_modules:
        Module.__call__ = _profiled_call
        _swapped.append((Module, "__call__", _ORIGINAL_CALL))
    for cls in _subclasses(Optimizer):
        for label in ("step", "zero_grad"):
            method = cls.__dict__.get(label)
            if method is not None and callable(method):
                setattr(cls, label, _timed_method(method, label))
                _swapped.append((cls, label, method))


def _swap_out() -> None:
    while _swapped:
        cls, name, original = _swapped.pop()
        setattr(cls, name, original)


def uninstall() -> None:
    """Stop recording: put every original entry point back exactly as it was."""
    global _active
    with _install_lock:
        rec, _active = _active, None
        graph._node_observer = None
        _swap_out()
        if rec is not None:
            rec.close_all()


def is_recording() -> bool:
    """True while some profile records (process-wide)."""
    return _active is not None


class record_function:  # noqa: N801 - PyTorch's name
    """A named region of user code, one event while a profile records (else it costs a test).

    A context manager and a decorator, as ``torch.profiler.record_function``:

    >>> import chainrule as cr
    >>> with cr.profiler.profile() as prof:
    ...     with cr.profiler.record_function("my_block"):
    ...         y = cr.ones(3) * 2
    >>> [e.key for e in prof.key_averages() if e.key == "my_block"]
    ['my_block']
    """

    def __init__(self, name: str, args: str | None = None):
        if not isinstance(name, str):
            raise TypeError(f"record_function: name must be a str, got {type(name).__name__}")
        self.name, self.args = name, args
        self._open: list = []

    def __enter__(self):
        rec = _active
        self._open.append(None if rec is None else (rec, rec.open(self.name, "user")))
        return self

    def __exit__(self, *exc):
        entry = self._open.pop() if self._open else None
        if entry is not None:
            entry[0].close(entry[1])
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return wrapper


def _mm_flops(shapes, out):
    k = shapes[0][-1] if shapes and shapes[0] else 1
    return 2 * _prod(out) * k


def _conv_flops(shapes, out):
    return 2 * _prod(out) * _prod(shapes[1][1:]) if len(shapes) > 1 else 0


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


_FLOPS.update({"Linear": _mm_flops, "LinearReLU": _mm_flops, "MatMul": _mm_flops,
               "ConvNd": _conv_flops})
