"""PyTorch-style custom Functions: ``forward(ctx, ...)`` and ``backward(ctx, ...)`` as static
methods that work on Tensors, with ``ctx.save_for_backward``.

chainrule's own ops subclass ``Function`` with ``forward(self, *arrays)``. A PyTorch program's
custom Function (a gradient reversal layer, a straight-through estimator) is written instead as

    class GradReverse(Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            return -grad * ctx.alpha, None

A subclass whose ``forward`` is a static method gets ``apply`` from here: the user's forward runs
on the Tensors with recording off, and one node of the graph (``_CustomNode``) holds its outputs
and calls the user's backward with the outputs' gradients (zeros for an output that got none,
PyTorch's ``materialize_grads``). That backward runs with recording on under ``create_graph``,
so a backward written with Tensor ops differentiates again, as PyTorch's does.
"""

from __future__ import annotations

import functools
import inspect
import weakref

from .function import Function
from .mode import _grad_enabled, _saved_hooks, no_grad
from .tensor import Tensor
from .views import shares_memory

__all__ = ["FunctionCtx", "apply_with_ctx", "once_differentiable"]


class FunctionCtx:
    """What ``forward`` leaves for ``backward``: saved tensors and any attributes set on it."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved = ()
        self._versions = ()
        self._saved_forward, self._in_jvp = (), False  # save_for_forward, for jvp
        self._packed = None  # ({index: packed}, unpack_hook) under saved_tensors_hooks
        self._non_differentiable = set()
        self._dirty = {}  # id -> (tensor, (values, version) before forward's change, or None)
        self._before = {}
        self._entry_versions = {}

    def save_for_backward(self, *tensors) -> None:
        _check_saved("save_for_backward", tensors)
        self._saved = tensors
        self._versions = tuple(None if t is None else t._counter[0] for t in tensors)
        hooks = _saved_hooks.get()
        if hooks is not None:  # saved_tensors_hooks: keep what pack gives, unpack it in backward
            from .saved_hooks import packing

            keys = [i for i, t in enumerate(tensors) if t is not None]
            self._packed = (packing(hooks[0], [tensors[i] for i in keys], keys), hooks[1])

    def save_for_forward(self, *tensors) -> None:
        """Keep tensors for ``jvp``, whose ``ctx.saved_tensors`` are these (``custom_jvp``)."""
        _check_saved("save_for_forward", tensors)
        self._saved_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._in_jvp:
            return self._saved_forward
        for t, v in zip(self._saved, self._versions):
            if t is not None and t._counter[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: a saved tensor of shape {t.shape} was changed after "
                    "save_for_backward")
        if self._packed is None:
            return self._saved
        from .saved_hooks import unpacked

        packed, unpack = self._packed
        return tuple(unpacked(t, unpack(packed[i])) if i in packed else t
                     for i, t in enumerate(self._saved))

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for an output that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        """Say that forward changed these inputs in place (they must be returned as outputs).
        Their values before the change are kept where still unchanged, for the nodes that
        computed them (see ``_rebase_dirty``)."""
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"mark_dirty: expects Tensors, got {type(t).__name__}")
            key = id(t)
            if key not in self._dirty:
                seen = self._before.get(key)
                if seen is None and t._counter[0] == self._entry_versions.get(key):
                    seen = (t._data.copy(), t._counter[0])  # unchanged so far: keep them
                self._dirty[key] = (t, seen)


def _check_saved(name, tensors) -> None:
    for t in tensors:
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{name}: expects Tensors (or None), got {type(t).__name__}; keep "
                            "other values as ctx attributes")


class _CustomNode(Function):
    """The graph node of one call of a custom Function: its outputs were computed already."""

    # The user's backward receives and returns gradients in PyTorch's complex convention, as
    # PyTorch's custom Functions do: complex tensors pass.
    complex_grad = True
    packs_inputs = False  # what the user's forward saved is packed (save_for_backward)
    nan_check_all = True  # anomaly mode checks every gradient its backward returns, as PyTorch
    opaque_view = True  # a view it returns may not change in place (autograd/opaque_views.py)

    def forward(self, *arrays):
        return self.results

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def backward(self, *grads):
        if self.tensor_outputs is not None:  # None for each output that is not a Tensor
            it = iter(grads)
            grads = tuple(next(it) if t else None for t in self.tensor_outputs)
        user_backward = _user_backward(self.user)
        if user_backward is None:  # only jvp is written: its transpose
            from .custom_jvp import backward_by_jvp

            result = backward_by_jvp(self, grads)
        else:
            result = user_backward(self.ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.positions_all)
        if len(result) > n and all(g is None for g in result[n:]):
            result = result[:n]  # PyTorch takes extra trailing Nones
        if len(result) != n:
            raise RuntimeError(
                f"{self.user.__name__}.backward returned {len(result)} gradients, but forward "
                f"took {len(self.positions_all)} inputs (one per input, None for non-Tensors)")
        for g, is_tensor in zip(result, self.positions_all):
            if g is not None and not is_tensor:
                raise RuntimeError(f"{self.user.__name__}.backward returned a gradient for an "
                                   "input that is not a Tensor; return None there")
        grads = [g for g, is_tensor in zip(result, self.positions_all) if is_tensor]
        return tuple(_sum_to_input(g, x) for g, x in zip(grads, self.inputs))

    @property
    def materialize_grads(self) -> bool:
        """Whether the walk gives zeros to outputs that got no gradient (else None arrives)."""
        return self.ctx.materialize_grads


def _user_backward(cls):
    """``cls.backward``, or ``cls.vjp`` (PyTorch's other name for it) where only that is written;
    None where only ``jvp`` is (the backward is its transpose, ``custom_jvp``)."""
    written = _overridden(cls)
    if "backward" in written:
        return cls.backward
    if "vjp" in written:
        return cls.vjp
    if "jvp" in written:
        return None
    raise NotImplementedError(f"{cls.__name__}: a custom Function must implement backward (or "
                              "vjp) to be differentiated")


def _sum_to_input(g, x):
    """``g`` summed to ``x``'s shape where ``x``'s shape broadcasts to ``g``'s, as PyTorch's
    engine takes a custom backward's gradient; other shapes are left for the engine to refuse."""
    if not isinstance(g, Tensor) or g._data.shape == x._data.shape:
        return g
    have, want = g._data.shape, x._data.shape
    if len(want) <= len(have) and all(w in (1, h) for w, h in zip(want[::-1], have[::-1])):
        return g.sum_to_size(*want) if want else g.sum()
    return g


def apply_with_ctx(cls, *args, **kwargs):
    """``cls.apply(*args)`` for a PyTorch-style subclass (see the module docstring)."""
    split = "setup_context" in _overridden(cls)  # PyTorch 2's split: forward(*args), then it
    if kwargs or split:
        args, kwargs = _bind(cls, split, args, kwargs)
    ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
    ctx._entry_versions = {id(a): a._counter[0] for a in args if isinstance(a, Tensor)}
    if _marks_dirty(cls):  # keep the inputs' values before forward may change them
        ctx._before = {id(a): (a._data.copy(), a._counter[0]) for a in args
                       if isinstance(a, Tensor) and a._ctx is not None}
    with no_grad():
        if split:
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    single = isinstance(out, Tensor)
    given = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else None
    if given is None:
        raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, "
                        f"got {type(out).__name__}")
    is_tensor = tuple(isinstance(o, Tensor) for o in given)
    outs = tuple(o for o in given if isinstance(o, Tensor))  # other values pass through as is
    if ctx._dirty:
        _check_dirty(cls, ctx, outs)
    if not (_grad_enabled.get() and any(ctx.needs_input_grad)) or not outs:
        return out
    tensors = [_stand_in(a, ctx) if id(a) in ctx._dirty else a
               for a in args if isinstance(a, Tensor)]
    results = tuple(o._data for o in outs)
    node = vars(cls).get("_node_class")
    if node is None:  # one node class per custom Function, named as PyTorch names it
        node = type(f"{cls.__name__}Backward", (_CustomNode,), {})
        cls._node_class = node
    made = node.apply(*tensors, user=cls, ctx=ctx,
                             results=results[0] if len(results) == 1 else results,
                             positions_all=tuple(isinstance(a, Tensor) for a in args),
                             tensor_outputs=None if all(is_tensor) else is_tensor)
    made = (made,) if isinstance(made, Tensor) else made
    if ctx._dirty:  # a changed input is itself the output, now the custom node's
        made = tuple(_adopt(o, m) if id(o) in ctx._dirty else m for o, m in zip(outs, made))
    # A saved output is the graph's output, so that backward's use of it differentiates again.
    ctx._saved = tuple(next((m for o, m in zip(outs, made) if t is o), t) for t in ctx._saved)
    ctx._versions = tuple(None if t is None else t._counter[0] for t in ctx._saved)
    for o, m in zip(outs, made):
        if id(o) in ctx._non_differentiable:
            m.requires_grad, m._ctx = False, None
    it = iter(made)
    return made[0] if single else type(out)(next(it) if t else o for o, t in zip(given, is_tensor))


def _bind(cls, split, args, kwargs):
    """``apply``'s arguments as PyTorch binds them to ``forward``'s signature: keyword arguments
    for its parameters become positional inputs (a Tensor among them is differentiated and gets
    a gradient from backward); with ``setup_context``, defaults fill the inputs too."""
    signature = vars(cls).get("_forward_signature")
    if signature is None:
        signature = cls._forward_signature = inspect.signature(cls.forward)
    try:
        bound = signature.bind(*args, **kwargs) if split else signature.bind(None, *args,
                                                                               **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}.apply: the arguments do not fit forward's signature "
                        f"{signature}: {e}") from None
    if split:
        bound.apply_defaults()
    return (bound.args if split else bound.args[1:]), bound.kwargs


def _marks_dirty(cls) -> bool:
    """Whether ``cls``'s forward (or setup_context) calls ``mark_dirty``, read once from its
    code: the inputs' values are then copied before forward runs, so that the nodes that
    computed them can still read them (a call made through a helper is caught later, in
    ``mark_dirty``, if the input is still unchanged then)."""
    known = vars(cls).get("_calls_mark_dirty")
    if known is None:
        names = set()
        for name in ("forward", "setup_context"):
            code = getattr(getattr(cls, name, None), "__code__", None)
            names.update(code.co_names if code is not None else ())
        known = cls._calls_mark_dirty = "mark_dirty" in names
    return known


def _check_dirty(cls, ctx, outs) -> None:
    """PyTorch's rules for inputs marked dirty: returned as outputs, not a leaf that requires
    grad, not sharing memory with another tensor (a view); each change is counted."""
    for t, _ in ctx._dirty.values():
        if not any(o is t for o in outs):
            raise RuntimeError(f"{cls.__name__}.forward: a tensor of shape {t.shape} was marked "
                               "dirty with ctx.mark_dirty but not returned as an output; return "
                               "the tensor it changed in place")
        if t._ctx is None and t.requires_grad and _grad_enabled.get():
            raise RuntimeError(f"{cls.__name__}: a leaf tensor that requires grad (shape "
                               f"{t.shape}) was changed in place (ctx.mark_dirty); clone() it "
                               "first, or change it under `with cr.no_grad():`")
        if shares_memory(t):
            raise RuntimeError(f"{cls.__name__}: the tensor of shape {t.shape} marked dirty "
                               "shares its memory with another tensor (it is a view, or a view "
                               "of it was made), which chainrule does not record; clone() it "
                               "first")
        t._mark_changed()


def _stand_in(t, ctx):
    """The custom node's input in place of dirty ``t``: ``t``'s values before the change, put in
    ``t``'s place as the output of the node that computed ``t``. Where those values were not
    kept (changed before ``mark_dirty``, which a helper called), the changed values with the
    changed count stand in, so that node's backward refuses rather than read wrong values."""
    _, seen = ctx._dirty[id(t)]
    values, version = seen if seen is not None else (t._data.copy(), t._counter[0])
    old = Tensor(values)
    if t._ctx is None:
        return old
    old._counter = [version]
    old.requires_grad, old._ctx, old._out_idx = True, t._ctx, t._out_idx
    outs = list(t._ctx._outputs)
    outs[t._out_idx] = weakref.ref(old)
    t._ctx._outputs = tuple(outs)
    node, flag = t._ctx, t._ctx.reads_output
    reads = node.reads_inputs is not False if flag is None else flag
    if seen is not None and not reads:  # it may have taken the change as its own
        made = list(node._out_versions)  # (inplace.mark_changed): the kept values stand in
        made[t._out_idx] = version
        node._out_versions = tuple(made)
    return old


def _adopt(t, made):
    """``t`` in ``made``'s place as the custom node's output (its values are ``made``'s)."""
    node, k = made._ctx, made._out_idx
    outs, versions = list(node._outputs), list(node._out_versions)
    outs[k], versions[k] = weakref.ref(t), t._counter[0]
    node._outputs, node._out_versions = tuple(outs), tuple(versions)
    t.requires_grad, t._ctx, t._out_idx = True, node, k
    return t


def _overridden(cls):
    return {name for klass in cls.__mro__ if klass is not Function for name in vars(klass)}


def once_differentiable(backward):
    """Mark a custom Function's backward as not differentiable again: it runs without recording
    (PyTorch's decorator of the same name). Under ``create_graph``, where a gradient it got is
    itself differentiable, its results still require grad, as PyTorch's, but differentiating
    them raises (rather than silently dropping that part of a second derivative)."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        recording = _grad_enabled.get() and any(
            isinstance(g, Tensor) and g.requires_grad for g in grads)
        with no_grad():
            result = backward(ctx, *grads)
        if not recording:
            return result
        if isinstance(result, tuple):
            return tuple(_differentiated_once(g) for g in result)
        return _differentiated_once(result)

    return wrapper


class _OnceDifferentiated(Function):
    """Stands after a gradient computed by a ``once_differentiable`` backward: refuses to be
    differentiated (PyTorch's ``DelayedError``)."""

    def forward(self, g):
        return g

    def backward(self, grad):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def _differentiated_once(g):
    if not isinstance(g, Tensor):
        return g
    return _OnceDifferentiated.apply(g.detach().requires_grad_(True))
