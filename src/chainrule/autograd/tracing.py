"""Tracing for inference: run a model once, record its ops, then replay only their kernels.

Calling a model eagerly walks Python at every layer: ``Module.__call__``, argument checks, shape
arithmetic, ``Function.apply`` and a new Tensor per output. At batch 1 that walk is a large share
of the call (docs/performance.md). ``trace(model, x)`` runs the model once with a recorder
in ``Function.apply`` and keeps the list of ops it ran: which ``Function`` class with which
settings (stride, padding...), and where each input came from (an input of the call, an earlier
op's output, a parameter, a constant). Calling the result replays that list: each op's
``forward`` on arrays, with nothing in between.

What a trace keeps and what it does not (the same contract as ``torch.jit.trace``):

* Only ops are recorded: differentiable ones (``Function.apply``) and the non-differentiable ones
  made with ``function.nondiff`` (comparisons, ``sign``, ``argmax``, integer casts, batch-norm
  statistics of the running buffers). Python that runs between them is run once, while tracing:
  ``if`` statements on tensor values, loops over ``x.shape``, NumPy computations on ``.numpy()``
  and values turned into Python numbers are frozen as they were for the example inputs. A tensor
  or array that is not an op's output but shares memory with one (``Tensor(x.numpy())``,
  ``table[ids.numpy()]``) is refused (the replay could not follow it; ``x.detach()`` and ``x.data``
  are replayed as ``x``: ``chainrule.autograd.tracing_alias``); pass
  ``check_inputs`` to compare the trace with the model on other inputs. (``table[ids]`` with an
  integer Tensor, as in ``nn.Embedding``, makes ``ids`` an input of the lookup: it traces.)
* Parameters and buffers are read again at every call, so a trace follows training, in-place
  updates and ``load_state_dict``. It keeps the Parameter objects it saw, though: after replacing
  a layer or a Parameter (not its values), trace again. (Pruning with ``nn.utils.prune``, and
  its ``remove``, make every trace record itself again at its next call: ``invalidate_traces``.)
* Every distinct input signature (shapes, dtypes, devices) gets its own trace, made on its first
  call, so a new batch size is traced once and then replayed.
* Outputs are never recorded for backpropagation: a trace is for inference. A Module must be in
  eval mode (dropout and batch-norm statistics behave differently when training), and inputs
  must not require gradients.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> model = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0)), nn.ReLU()).eval()
>>> fast = cr.trace(model, cr.tensor([[1.0, 2.0, 3.0]]))
>>> x = cr.tensor([[0.5, -1.0, 2.0]])
>>> with cr.no_grad():
...     eager = model(x)
>>> bool((fast(x).numpy() == eager.numpy()).all())
True
"""

from __future__ import annotations

import threading

from ..backend import device_of, ensure_array, get_array_module
from . import function as _function
from .mode import _trace_recorder, no_grad
from .tensor import Tensor
from .tracing_alias import alias_slot

__all__ = ["Traced", "TraceError", "invalidate_traces", "trace"]

_DROP_BYTES = 2**16  # intermediates from this size are freed as soon as the trace is done
_MAX_SIGNATURES = 16  # traces kept per Traced, one per input signature; the oldest goes first
_GENERATION = [0]  # bumped by invalidate_traces: a Traced made in an older one traces again


def invalidate_traces() -> None:
    """Make every ``Traced`` record its traces again at its next call.

    For changes a replay could not follow, made by library code that knows it changed what a
    model computes, not only values: ``nn.utils.prune`` moves a Parameter to ``name + "_orig"``
    and computes ``name`` from it and a mask, so a trace holding the unpruned Parameter would
    replay the unpruned layer.
    """
    _GENERATION[0] += 1


class TraceError(RuntimeError):
    """A computation that a trace could not replay faithfully."""


def trace(fn, *example_inputs, check_inputs=()):
    """Trace ``fn`` (a Module or a function of Tensors) on ``example_inputs`` for fast inference.

    Args:
        fn: a callable taking Tensors and returning a Tensor or (nested) tuples/lists of
            Tensors; a Module must be in eval mode (``model.eval()``).
        example_inputs: Tensors (or arrays) to trace with; later calls with the same shapes,
            dtypes and devices replay this trace, others are traced on first use.
        check_inputs: optional list of input tuples (or single Tensors) on which the trace is
            compared with ``fn`` itself right away: a mismatch raises ``TraceError``. Use it for
            models whose Python depends on tensor values.

    Returns:
        A ``Traced`` callable.

    Raises:
        TypeError: ``fn`` is not callable, or an input or output is not a Tensor.
        ValueError: a Module is in training mode, or an input requires gradients.
        TraceError: the computation cannot be replayed (see the module docstring).
    """
    traced = Traced(fn)
    traced._plan(_as_inputs("trace", example_inputs))
    for k, extra in enumerate(check_inputs):
        extra = extra if isinstance(extra, (tuple, list)) else (extra,)
        traced._compare(extra, f"check_inputs[{k}]", 1e-6, 0.0)
    return traced


class Traced:
    """``fn`` replayed from recorded traces, one per input signature (made by ``trace``)."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"trace: fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self._plans: dict = {}
        self._generation = _GENERATION[0]

    def __call__(self, *inputs):
        if self._generation != _GENERATION[0]:
            self._plans.clear()
            self._generation = _GENERATION[0]
        arrays = [x._data for x in inputs if type(x) is Tensor and not x.requires_grad]
        if len(arrays) != len(inputs) or not inputs:  # the usual case above, the rest here
            inputs = _as_inputs("Traced", inputs)
            arrays = [t._data for t in inputs]
        plan = self._plans.get(_signature(arrays))
        if plan is None:
            plan = self._plan(inputs)
        return plan.run(arrays)

    def check(self, *inputs, rtol: float = 1e-6, atol: float = 0.0) -> None:
        """Compare the trace with ``fn`` on ``inputs``; raise ``TraceError`` if they differ."""
        self._compare(inputs, "check", rtol, atol)

    def _compare(self, inputs, where, rtol, atol) -> None:
        inputs = _as_inputs(f"Traced.{where}", inputs)
        replayed = self(*inputs)
        with no_grad():
            eager = self.fn(*inputs)
        got, want = _flatten_outputs(replayed), _flatten_outputs(eager)
        if len(got) != len(want):
            raise TraceError(f"trace: {where}: the trace gives {len(got)} outputs, the model "
                             f"{len(want)}: its Python depends on the input values")
        for i, (a, b) in enumerate(zip(got, want)):
            xp = get_array_module(a._data)
            if a.shape != b.shape or not xp.allclose(a._data, b._data, rtol=rtol, atol=atol,
                                                     equal_nan=True):
                raise TraceError(
                    f"trace: {where}: output {i} of the trace differs from the model's "
                    f"(shapes {a.shape} and {b.shape}); the model's Python depends on the input "
                    "values, so it cannot be traced"
                )

    @property
    def code(self) -> str:
        """The Python source of the most recent trace: one line per op (see ``_Plan``)."""
        if not self._plans:
            raise RuntimeError("Traced.code: nothing has been traced yet")
        return next(reversed(self._plans.values())).code

    @property
    def signatures(self) -> list:
        """The input signatures traced so far: per input, (shape, dtype, device)."""
        return [plan.signature for plan in self._plans.values()]

    def _plan(self, inputs):
        _check_eval(self.fn)
        # One Tensor per position, even where the caller passed the same one twice: the ops must
        # be recorded against the position they read, which later calls may fill differently.
        inputs = tuple(Tensor(t._data) for t in inputs)
        plan = _Recorder(inputs).record(self.fn, _names(self.fn))
        if len(self._plans) >= _MAX_SIGNATURES:
            self._plans.pop(next(iter(self._plans)))
        self._plans[_signature([t._data for t in inputs])] = plan
        plan.signature = tuple((t.shape, t.dtype, device_of(t._data)) for t in inputs)
        return plan

    def __repr__(self) -> str:
        return f"Traced({type(self.fn).__name__}, {len(self._plans)} input signature(s) traced)"


def _as_inputs(who, inputs) -> tuple:
    if not inputs:
        raise TypeError(f"{who}: expected at least one input Tensor")
    out = []
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            if not hasattr(x, "shape") or not hasattr(x, "dtype"):
                raise TypeError(f"{who}: input {i} must be a Tensor or an array, "
                                f"got {type(x).__name__}")
            x = Tensor(x)
        elif x.requires_grad:
            raise ValueError(f"{who}: input {i} requires grad, but a trace records nothing for "
                             "backpropagation (it is for inference); call the model itself "
                             "to differentiate, or pass x.detach()")
        out.append(x)
    return tuple(out)


def _signature(arrays) -> tuple:
    """What a trace is specific to: each input's shape, dtype and array type (the device)."""
    return tuple([(a.shape, a.dtype, type(a)) for a in arrays])


def _check_eval(fn) -> None:
    modules = getattr(fn, "modules", None)
    if not callable(modules):
        return
    for m in modules():
        if getattr(m, "training", False):
            raise ValueError(
                f"trace: {type(fn).__name__} is in training mode ({type(m).__name__} is "
                "training); call .eval() first: a trace is for inference"
            )


def _names(fn) -> dict:
    """id -> dotted name of a Module's parameters and buffers, for comments in the code."""
    names = {}
    for method in ("named_parameters", "named_buffers"):
        items = getattr(fn, method, None)
        if callable(items):
            names.update((id(t), name) for name, t in items())
    return names


def _flatten_outputs(out, where="the model") -> list:
    """The Tensors of ``out`` (a Tensor, or tuples/lists of them, nested), in order."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flatten_outputs(item, where)]
    raise TypeError(f"trace: {where} must return a Tensor or (nested) tuples/lists of Tensors, "
                    f"got {type(out).__name__}")


def _structure(out):
    """``out``'s nesting, with None for each Tensor: what ``_rebuild`` fills in again."""
    if isinstance(out, Tensor):
        return None
    return type(out), [_structure(item) for item in out]


def _rebuild(structure, tensors):
    if structure is None:
        return next(tensors)
    kind, items = structure
    values = [_rebuild(item, tensors) for item in items]
    return kind(*values) if hasattr(kind, "_fields") else kind(values)  # a namedtuple, or not


def _arrays_in(value, depth=0):
    """The arrays inside an op's setting (directly, or in tuples/lists/dicts of them)."""
    if hasattr(value, "__array_interface__") or hasattr(value, "__cuda_array_interface__"):
        yield value
    elif depth < 3 and isinstance(value, (tuple, list)):
        for v in value:
            yield from _arrays_in(v, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for v in value.values():
            yield from _arrays_in(v, depth + 1)


class _Recorder:
    """Runs the model once with a hook in ``Function.apply`` and builds a ``_Plan``."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.slot = {id(t): i for i, t in enumerate(inputs)}  # Tensor id -> slot number
        self.seen = list(inputs)  # every Tensor seen stays alive, so that no id is reused
        self.consts: list = []  # (slot, array): fixed values (Python numbers turned into arrays)
        self.live: list = []  # (slot, Tensor): parameters and other tensors, read at every call
        self.steps: list = []
        self.thread = threading.get_ident()

    def _new_slot(self, t) -> int:
        self.seen.append(t)
        self.slot[id(t)] = n = len(self.seen) - 1
        return n

    def _source(self, cls, given, t) -> int:
        n = self.slot.get(id(t))
        if n is None:
            n = alias_slot(self, t)  # x.detach() of a recorded x: x's slot
        if n is not None:
            return n
        n = self._new_slot(t)
        if not isinstance(given, Tensor):  # a Python number or array the op wrapped itself
            if hasattr(given, "shape"):
                self._refuse_shared(cls.__name__, "an array", given)
            self.consts.append((n, t._data))
            return n
        self._refuse_shared(cls.__name__, "an input", t._data)
        self.live.append((n, t))
        return n

    def _refuse_shared(self, op, what, array) -> None:
        for a in self._outputs_so_far():
            if _may_share(array, a):
                raise TraceError(
                    f"trace: {op} takes {what} that shares memory with the traced computation "
                    "but was not made by an op (x.detach(), Tensor(x.numpy()), an index taken from "
                    "an input...); the replay could not follow it, so this model cannot be traced"
                )

    def _outputs_so_far(self):
        for t in self.inputs:
            yield t._data
        for step in self.steps:
            for n in step[3]:
                yield self.seen[n]._data

    def __call__(self, cls, params, given, inputs, outs, multi):
        if threading.get_ident() != self.thread:
            return
        for name, value in params.items():
            for a in _arrays_in(value):
                self._refuse_shared(cls.__name__, f"a setting {name!r}", a)
        sources = tuple(self._source(cls, g, t) for g, t in zip(given, inputs))
        dests = tuple(self._new_slot(o) for o in outs)
        make = None if cls.__init__ is _function._base_init else cls
        self.steps.append((cls, make, dict(params), dests, sources, multi))

    def record(self, fn, names) -> _Plan:
        out_slots, structure = self.run(fn)
        return _Plan(self, out_slots, structure, names)

    def run(self, fn) -> tuple:
        """Call ``fn`` on the inputs, recording its ops into ``steps``, ``consts`` and ``live``
        (also used by ``chainrule.onnx.export``); returns the output slots and their nesting."""
        if _trace_recorder.get() is not None:
            raise TraceError("trace: a trace is already being recorded (nested trace calls)")
        token = _trace_recorder.set(self)
        try:
            with no_grad():
                out = fn(*self.inputs)
        finally:
            _trace_recorder.reset(token)
        outputs = _flatten_outputs(out)
        out_slots = []
        for t in outputs:
            n = self.slot.get(id(t))
            if n is None:
                n = alias_slot(self, t)
            if n is None:  # returned without any op: a fixed tensor, or one read at every call
                n = self._new_slot(t)
                self._refuse_shared("the model", "an output", t._data)
                self.live.append((n, t))
            out_slots.append(n)
        return tuple(out_slots), _structure(out)


def _may_share(a, b) -> bool:
    xp = get_array_module(a)
    if xp is not get_array_module(b):
        return False
    return bool(xp.may_share_memory(a, b))


class _Plan:
    """One trace, as a generated Python function: one line per op, nothing in between.

    ``code`` is its source, e.g. for LeNet-5::

        def replay(x0):
            p0 = live[0]._data  # features.0.weight
            ...
            n = new(ConvReLUNd); n.__dict__ = state[0].copy(); v3 = n.forward(x0, p0, p1)

    Straight-line code, rather than a loop over a list of ops, saves the loop's cost per op,
    which counts at batch 1.
    """

    def __init__(self, rec: _Recorder, out_slots, structure, names):
        self.structure = structure
        n_in = len(rec.inputs)
        name = {n: f"x{n}" for n in range(n_in)}
        lines = [f"def replay({', '.join(name[n] for n in range(n_in))}):"]
        scope = {"new": object.__new__, "live": tuple(t for _, t in rec.live), "state": [],
                 "as_array": ensure_array, "Tensor": Tensor}
        ops: dict = {}  # Function class -> its name in the code
        for k, (n, t) in enumerate(rec.live):
            name[n] = f"p{k}"
            note = names.get(id(t))
            lines.append(f"    p{k} = live[{k}]._data" + (f"  # {note}" if note else ""))
        for k, (n, array) in enumerate(rec.consts):
            name[n], scope[f"c{k}"] = f"c{k}", array  # fixed values, e.g. the 2 of x * 2
        # Free each big intermediate after its last use, as eager code does when a layer's input
        # goes out of scope: malloc can then reuse its memory within the call. Small ones stay
        # to the end of the call: a del costs time and frees little.
        last = {}
        for k, step in enumerate(rec.steps):
            for n in step[4]:
                last[n] = k
        keep = set(out_slots) | set(range(n_in)) | {n for n, _ in rec.live}
        for k, (cls, make, params, dests, sources, multi) in enumerate(rec.steps):
            for n in dests:
                name[n] = f"v{n}"
            op = ops.get(cls)
            if op is None:  # the class's name, unless another class or a name above has it
                op = ops[cls] = cls.__name__ if cls.__name__ not in scope else f"op{k}"
                scope[op] = cls
            flags = {"recording": False, "needs_input_grad": (False,) * len(sources)}
            args = ", ".join(name[n] for n in sources)
            outs = ", ".join(name[n] for n in dests) + ("," if multi and len(dests) == 1 else "")
            scope["state"].append(dict(params, **flags) if make is None else (params, flags))
            if make is None:  # as Function.apply makes a node: fresh, without calling __init__
                node = f"n = new({op}); n.__dict__ = state[{k}].copy()"
            else:  # a Function subclass with its own __init__
                node = f"n = {op}(**state[{k}][0]); n.__dict__.update(state[{k}][1])"
            lines.append(f"    {node}; {outs} = n.forward({args})")
            for n in dests:
                if rec.seen[n]._data.ndim == 0:  # NumPy may give a scalar: keep arrays only
                    lines.append(f"    {name[n]} = as_array({name[n]})")
            done = [n for n in sources if last.get(n) == k and n not in keep]
            done += [n for n in dests if n not in last and n not in keep]
            big = sorted({name[n] for n in done if rec.seen[n]._data.nbytes >= _DROP_BYTES})
            if big:
                lines.append(f"    del {', '.join(big)}")
        lines.append(f"    return ({', '.join(f'Tensor({name[n]})' for n in out_slots)},)")
        self.code = "\n".join(lines) + "\n"
        exec(compile(self.code, "<chainrule.trace>", "exec"), scope)  # noqa: S102 - our own code
        self._replay = scope["replay"]

    def run(self, arrays):
        outs = self._replay(*arrays)
        return outs[0] if self.structure is None else _rebuild(self.structure, iter(outs))
