"""The Function node: one differentiable primitive, its forward and backward side by side.

``forward`` works on raw arrays (NumPy or CuPy) and returns the output array(s). ``backward``
receives the gradient(s) of the loss with respect to the output(s) as Tensors and returns one
gradient per input, written with chainrule ops so that the backward pass is itself differentiable
(``create_graph=True``). In backward, ``self.inputs`` are the input Tensors and ``self.output`` is
the output Tensor, both still attached to the graph, so a rule like ``g * self.output`` for ``exp``
is correct to any order.
"""

from __future__ import annotations

import weakref

from ..backend import GPU_POSSIBLE, MetaArray, device_of, ensure_array, get_array_module, numpy
from ..backend.defaults import get_default_dtype
from ..backend.meta import CopyOutError, DataDependentError, meta_like
from .anomaly_mode import _enabled as _anomaly_enabled
from .anomaly_mode import remember_forward
from .mode import _grad_enabled, _saved_hooks, _trace_recorder
from .tensor import Tensor
from .views import ViewRefs

__all__ = ["AccumulateGrad", "Function", "NonDifferentiable", "OutputOnly", "nondiff"]


class Function:
    """Base class of all differentiable ops. Subclass it and call ``MyOp.apply(*inputs, **params)``.

    Keyword ``params`` (axis, stride, ...) become attributes of the node before ``forward`` runs.
    """

    inputs: tuple[Tensor, ...] | None
    # Set before ``forward`` runs: whether this call is recorded, and which inputs need a gradient
    # (all False when not recording), so that forward can skip saving what backward won't use.
    recording: bool
    needs_input_grad: tuple[bool, ...]
    # An op whose backward works on arrays (a kernel) sets this to its forward written with
    # recorded ops, ``composite(*inputs) -> output(s)``: ``create_graph`` differentiates that
    # formula instead of calling backward (autograd/graph.py, ``_through_composite``).
    composite = None
    # Gradient hooks of its outputs (Tensor.register_hook): {output index: {id: hook}}.
    _grad_hooks = None
    # Its own hooks and metadata (grad_fn.register_hook, autograd/node_hooks.py), or None.
    _node_hooks = None
    # Whether backward is correct for complex tensors (PyTorch's convention: the gradient of a
    # real loss L with respect to z = x + iy is dL/dx + i dL/dy, so a holomorphic op's backward
    # multiplies by the conjugate of its derivative). An op must opt in: recording one that has
    # not, with a complex input or output, is a TypeError rather than a silently wrong gradient.
    complex_grad = False
    # Whether backward reads the values of the inputs (not only their shapes). Then an input
    # changed in place after the op read it would make the gradient stale, and backward refuses
    # it; an op whose backward only routes the gradient by position (indexing, an embedding's
    # lookup, as PyTorch's embedding, which saves no weight) sets False (nor its output, then);
    # or a function of the node giving the indices of the inputs it reads (autograd/reroute.py).
    reads_inputs = True
    # Whether backward reads the values of the outputs: None, as reads_inputs says (an op that
    # reads no input reads no output); False for an op that reads its inputs only, whose output
    # may then be changed unrecorded before anything reads it (autograd/inplace.py,
    # mark_changed); True for one that reads it. An op that reads its output only says
    # reads_inputs = False, reads_output = True (``OutputOnly``).
    reads_output = None
    # Whether saved_tensors_hooks pack the inputs backward reads (a custom Function's node
    # does not: its ctx.save_for_backward packs what it is given).
    packs_inputs = True

    def __init__(self, **params):
        self.__dict__.update(params)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if isinstance(vars(cls).get("forward"), staticmethod):  # PyTorch's style (custom.py)
            cls.apply = classmethod(apply_with_ctx)

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on ``inputs`` (Tensors, arrays or Python scalars) and record it if needed."""
        if cls.__init__ is _base_init:  # skip a Python-level __init__ call: every op pays for it
            fn = object.__new__(cls)
            if params:
                fn.__dict__.update(params)
        else:
            fn = cls(**params)
        if GPU_POSSIBLE:
            _check_devices(cls.__name__, inputs)
        given = inputs
        for t in inputs:
            if not isinstance(t, Tensor):  # Python numbers or arrays: wrapped as constants
                inputs = _as_tensors(inputs)
                break
        needs, arrays, versions = [], [], []
        for t in inputs:
            needs.append(t.requires_grad)
            arrays.append(t._data)
            versions.append(t._counter[0])  # t._version: backward checks the values are unchanged
        # Known before forward runs, so that forward saves for backward only what will be needed.
        record = True in needs and _grad_enabled.get()
        fn.recording = record
        fn.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        try:
            raw = fn.forward(*arrays)
        except Exception as e:
            if not _meta_among(arrays, fn):
                raise
            raw = _meta_forward(fn, arrays, e)
        if type(raw) is _NDARRAY:  # one NumPy array, the usual result: one type test for it
            multi, outs = False, (Tensor(raw),)
        else:  # a tuple of results, or a NumPy scalar (a 0-d result): kept as 0-d arrays
            multi = isinstance(raw, tuple)
            outs = tuple([Tensor(numpy.asarray(a) if isinstance(a, _SCALAR) else a)
                          for a in raw]) if multi else (
                Tensor(numpy.asarray(raw) if isinstance(raw, _SCALAR) else raw),)
        for o in outs:
            # A view of an input (x.T, x[i], a split piece) is one memory with it. NumPy and CuPy
            # point a view's ``base`` at the owner; an op may also return an input unchanged.
            data = o._data
            if data.base is not None or (arrays and data is arrays[0]):
                _share_count(o, data, arrays, inputs)
        tracer = _trace_recorder.get()  # chainrule.trace is recording the ops of a model
        if tracer is not None:
            tracer(cls, params, given, inputs, outs, multi)
        if not record:
            return outs if multi else outs[0]
        if not cls.complex_grad:  # the opted-in ops (the common ones among them) skip this
            for a in arrays:
                if a.dtype.kind == "c":
                    _refuse_complex(cls, "input")
        fn.inputs = inputs
        # The versions of the values the node read: backward refuses those changed since.
        fn._versions = versions
        if multi:
            _attach_outputs(fn, outs)
        else:  # the usual single output, as _attach_outputs without the loop's lists
            o = outs[0]
            if o._data.dtype.kind == "f" or _carries_grad(cls, o._data):
                o.requires_grad = True
                o._ctx = fn
            fn._outputs = (weakref.ref(o),)
            fn._out_versions = (o._counter[0],)
        hooks = _saved_hooks.get()
        if hooks is not None:  # saved_tensors_hooks: pack what backward will read
            from .saved_hooks import pack_saved

            pack_saved(fn, given, inputs, outs, hooks)
        if _anomaly_enabled.get():  # detect_anomaly: where in the forward pass the node was made
            remember_forward(fn)
        return outs if multi else outs[0]

    @property
    def output(self) -> Tensor:
        """The (first) output Tensor, attached to the graph; valid inside ``backward``."""
        out = self._outputs[0]()
        if out is None:
            raise RuntimeError(f"{type(self).__name__}: its output is no longer alive")
        return out

    def outputs(self) -> tuple[Tensor | None, ...]:
        """All output Tensors of a multi-output node (None for those already garbage-collected)."""
        return tuple(r() for r in self._outputs)

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of the graph below this node: one ``(node, output index)`` pair per
        input, the node being the Function that made the input, an ``AccumulateGrad`` for a leaf
        that requires grad, or None for a constant (``loss.grad_fn.next_functions[0][0]``).
        Empty once backward has released the node."""
        inputs = self.__dict__.get("inputs")
        return () if inputs is None else tuple(_next_function(t) for t in inputs)

    def name(self) -> str:
        """The node's class name (PyTorch's ``grad_fn.name()``)."""
        return type(self).__name__

    def release(self) -> None:
        """Free everything saved for backward; a later backward through the node raises an error."""
        self.__dict__.clear()
        self.inputs = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class OutputOnly(Function):
    """Base of the ops whose backward reads their output only (exp, tanh, relu, softmax), as
    PyTorch saves their result: their input may change in place after they ran, their output
    may not, and saved_tensors_hooks pack the output."""

    reads_inputs, reads_output = False, True


_base_init = Function.__init__
_NDARRAY = numpy.ndarray
_SCALAR = numpy.generic


def _share_count(out, data, arrays, inputs) -> None:
    """Give ``out`` the count of in-place changes of the input it is a view of (as detach()
    does), so that a change through either is seen by a graph that read the other, and add it
    to the input's live views (views.py): no recorded write into the input while ``out`` lives."""
    owner = data if data.base is None else data.base
    for i, a in enumerate(arrays):
        if a is owner or a.base is owner:
            t = inputs[i]
            out._counter = t._counter
            refs = getattr(t, "_views", None)
            if refs is None:
                refs = t._views = ViewRefs()  # a list made in C: no __init__ to step into
                refs.owner = weakref.ref(t)  # t owns the memory: its views' list names it
            refs.append(weakref.ref(out))
            if len(refs) > refs.limit:
                refs.prune()
            out._views = refs  # its own views join the same list
            out._viewed = True
            return


def _carries_grad(cls, data) -> bool:
    """Whether an output array of a recorded ``cls`` carries a gradient: an integer output
    (indices) does not; a complex one only from an op that opted in (``complex_grad``; a
    non-opted op met no complex input, ``apply`` checked that first)."""
    kind = data.dtype.kind
    return kind == "f" or (kind == "c" and (cls.complex_grad or _refuse_complex(cls)))


def _attach_outputs(fn, outs) -> None:
    """Make ``fn`` the node of its outputs, and remember them (weakly), the versions they were
    made at and their shapes and dtypes (``_out_meta``: the walk gives zeros to those that get no
    gradient; a single-output node needs none)."""
    for i, o in enumerate(outs):
        if _carries_grad(type(fn), o._data):
            o.requires_grad = True
            o._ctx = fn
            o._out_idx = i
    fn._outputs = tuple([weakref.ref(o) for o in outs])
    fn._out_meta = tuple([(o._data.shape, o._data.dtype) for o in outs])
    fn._out_versions = tuple([o._counter[0] for o in outs])  # 0, or the viewed input's version


class AccumulateGrad:
    """Where a leaf's gradient lands: the end of ``next_functions`` chains, as in PyTorch."""

    next_functions = ()

    def __init__(self, variable: Tensor):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _next_function(t: Tensor) -> tuple:
    if t._ctx is not None:
        return (t._ctx, t._out_idx)
    return (AccumulateGrad(t) if t.requires_grad else None, 0)


class NonDifferentiable(Function):
    """``fn`` of the inputs' arrays, a result that carries no gradient (made by ``nondiff``)."""

    def forward(self, *arrays):
        return self.fn(*arrays)

    def backward(self, *grad_outputs):  # pragma: no cover - never recorded
        raise RuntimeError("a non-differentiable op has no backward")


def nondiff(fn, *inputs: Tensor) -> Tensor:
    """``fn`` (arrays -> array) applied to Tensors: comparisons, sign, argmax, integer casts.

    The result is a constant for backpropagation (no node, no gradient), but a trace
    (``chainrule.trace``) records the call like any op, so that it is computed again from each
    call's inputs rather than frozen at its first value.
    """
    out = Tensor(ensure_array(fn(*[t._data for t in inputs])))
    tracer = _trace_recorder.get()
    if tracer is not None:
        tracer(NonDifferentiable, {"fn": fn}, inputs, inputs, (out,), False)
    return out


def _as_tensors(inputs) -> tuple[Tensor, ...]:
    """Wrap non-Tensors as constants, casting Python scalars to the first float Tensor's dtype;
    a Python float with no float Tensor beside it takes the default dtype, as in PyTorch
    (``where(mask, 1.0, 0.0)`` is float32, not NumPy's float64)."""
    ref = whole = None
    for x in inputs:
        if isinstance(x, Tensor):
            kind = x._data.dtype.kind
            if kind == "f" or kind == "c":
                ref = x._data
                break
            if kind in "iu" and whole is None:
                whole = x._data
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, (int, float)) and not isinstance(x, bool) and ref is not None:
            out.append(Tensor(get_array_module(ref).asarray(x, dtype=ref.dtype)))
        elif type(x) is complex:  # z * 1j keeps complex64; a float32 tensor's partner too
            xp = get_array_module(*[t._data for t in inputs if isinstance(t, Tensor)])
            out.append(Tensor(xp.asarray(x, dtype=_complex_of(ref))))
        elif type(x) is int and whole is not None:  # uint8 image * 2 stays uint8, as PyTorch
            out.append(Tensor(_int_as(x, whole)))
        elif type(x) is float:
            xp = get_array_module(*[t._data for t in inputs if isinstance(t, Tensor)])
            out.append(Tensor(xp.asarray(x, dtype=get_default_dtype())))
        else:
            xp = get_array_module(ref) if ref is not None else get_array_module(x)
            out.append(Tensor(xp.asarray(x)))
    return tuple(out)


def _complex_of(ref):
    """The complex dtype a Python complex takes beside ``ref`` (PyTorch's rule: complex64 beside
    float32 or complex64, complex128 beside float64 or complex128, else the default's partner)."""
    kind = None if ref is None else ref.dtype
    if kind is None or kind.kind not in "fc":
        kind = numpy.dtype(get_default_dtype())
    if kind.kind == "c":
        return kind
    return numpy.complex128 if kind == numpy.float64 else numpy.complex64


def _int_as(x: int, like):
    """The Python int ``x`` in the integer dtype of the array ``like`` (PyTorch's and NumPy 2's
    rule: a number does not widen a tensor); OverflowError naming both where it does not fit."""
    info = numpy.iinfo(like.dtype)
    if not info.min <= x <= info.max:
        raise OverflowError(f"the Python int {x} does not fit the {like.dtype} tensor it is "
                            f"combined with ({info.min}..{info.max}); cast the tensor first "
                            "(e.g. .long())")
    return get_array_module(like).asarray(x, dtype=like.dtype)


def _complex_ops() -> list[str]:
    """The names of the Function classes that opted in to complex gradients."""
    names, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.complex_grad and not sub.__name__.startswith("_") and sub.__module__.startswith(
                    "chainrule."):
                names.add(sub.__name__)
    return sorted(names)


def _refuse_complex(cls, what: str = "output") -> None:
    raise TypeError(
        f"{cls.__name__}: complex gradients are not supported by this op (it got a complex "
        f"{what} while recording for backward). Complex gradients are supported only by the ops "
        f"that opted in: {', '.join(_complex_ops())}; detach() the tensor or compute the "
        "result from its real and imaginary parts (.real, .imag, chainrule.complex)")


def _meta_among(arrays, fn) -> bool:
    """Whether a meta array is among an op's inputs or settings (only asked after a failure)."""
    return any([type(a) is MetaArray for a in (*arrays, *fn.__dict__.values())])


def _meta_forward(fn, arrays, error: Exception):
    """The forward of ``fn`` on the meta device, after it failed on meta arrays (a kernel that
    copies its input into a working buffer, a padded image or im2col columns, or checks values,
    ids in range): it runs once more on zeros (NumPy's zeros are untouched pages until written)
    and its results become meta arrays of their shapes and dtypes. An op whose result's shape
    depends on the values is refused instead, as PyTorch's meta kernels refuse it, and so is a
    move to a device that holds values."""
    if isinstance(error, CopyOutError):
        raise error
    if isinstance(error, DataDependentError):
        raise NotImplementedError(f"{type(fn).__name__}: not supported on the meta device "
                                  f"({error})") from error
    for a in arrays:  # a real tensor beside meta ones: its values must not be run on zeros
        if type(a) is not MetaArray and getattr(a, "ndim", 0) > 0:
            raise RuntimeError(f"{type(fn).__name__}: a tensor on device {device_of(a)} is not "
                               "on the expected device meta") from error
    zeros = [numpy.zeros(a.shape, a.dtype) if type(a) is MetaArray else a for a in arrays]
    for name, value in list(fn.__dict__.items()):  # arrays given as settings (a pool's x, y)
        if type(value) is MetaArray:
            setattr(fn, name, numpy.zeros(value.shape, value.dtype))
    with numpy.errstate(all="ignore"):
        raw = fn.forward(*zeros)  # an error here is the one real arrays of these shapes give
    return tuple(meta_like(a) for a in raw) if isinstance(raw, tuple) else meta_like(raw)


def _check_devices(op: str, inputs) -> None:
    devices = {device_of(x._data) for x in inputs if isinstance(x, Tensor)}
    if len(devices) > 1:
        raise RuntimeError(
            f"{op}: inputs are on different devices ({' and '.join(sorted(devices))}); "
            "move them with .to(device) first"
        )


# PyTorch-style custom Functions (forward(ctx, ...) static): their apply, context and decorator.
from .custom import FunctionCtx, apply_with_ctx, once_differentiable  # noqa: E402, F401
