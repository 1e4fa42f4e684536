"""``chainrule.library``: PyTorch's Python custom operators (``torch.library.custom_op``), for the
programs that wrap their own kernels (NumPy, PIL, SciPy code) as operators.

``@custom_op("mylib::numpy_sin", mutates_args=())`` turns a function of tensors into an operator:
calling it runs the function without recording (its inside is opaque, as a kernel is), and
``register_autograd(backward, setup_context=)`` gives it a gradient, in the form of a custom
Function's split ``setup_context(ctx, inputs, output)`` / ``backward(ctx, *grads)``, one gradient
per input in the function's parameter order. An operator called on tensors that require grad
before any formula is registered gives outputs whose backward raises, as PyTorch's does. With
keyword-only parameters, ``setup_context`` gets them apart (``keyword_only_inputs=``, a dict)
and backward returns gradients for the positional inputs only, as in PyTorch.
``register_fake`` records the shape function that PyTorch's tracing uses; chainrule has no
tracing compiler, so it serves ``opcheck`` only. Tensors named in ``mutates_args`` count a change
after each call (what saved-tensor checks read). ``opcheck`` runs the checks chainrule can make
under PyTorch's test names: the outputs against the fake function's shapes and dtypes
(``test_faketensor``, failing without one, as PyTorch's), and a backward pass where inputs
require grad (``test_aot_dispatch_dynamic``, failing without a formula); ``test_schema`` and
``test_autograd_registration`` have nothing to check here.
``torch.ops.<namespace>.<name>`` access is not provided: call the returned operator.

>>> import chainrule as cr
>>> @cr.library.custom_op("doc::twice", mutates_args=())
... def twice(x: cr.Tensor) -> cr.Tensor:
...     return x * 2
>>> twice.register_autograd(lambda ctx, g: g * 2)
>>> x = cr.ones(3, requires_grad=True)
>>> twice(x).sum().backward(); x.grad.tolist()
[2.0, 2.0, 2.0]
"""

from __future__ import annotations

import inspect

from .autograd import Function, grad, no_grad
from .autograd.tensor import Tensor

__all__ = ["CustomOpDef", "custom_op", "opcheck", "register_autograd", "register_fake"]

_REGISTRY: dict[str, CustomOpDef] = {}


class CustomOpDef:
    """An operator made by ``custom_op``: call it like the function it wraps."""

    def __init__(self, name: str, fn, mutates_args):
        self._name, self._fn, self._mutates = name, fn, mutates_args
        self._dotted = name.replace("::", ".") + ".default"  # PyTorch's overload name
        self._signature = inspect.signature(fn)
        self._backward = self._setup_context = self._fake = None
        self._kwonly = [p.name for p in self._signature.parameters.values()
                        if p.kind is inspect.Parameter.KEYWORD_ONLY]
        self._node = self._make_node()

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._name})>"

    def _make_node(self):
        op = self

        def forward(spec, *flat):
            values = _unflatten(spec, flat)
            n = len(values) - len(op._kwonly)
            out = op._fn(*values[:n], **dict(zip(op._kwonly, values[n:])))
            _refuse_aliases(op._name, flat, out)
            return out

        def setup_context(ctx, inputs, output):
            ctx._cr_spec = spec = inputs[0]
            if op._setup_context is None:
                return
            inputs = _unflatten(spec, inputs[1:])
            n = len(inputs) - len(op._kwonly)
            if op._kwonly:  # PyTorch's call: keyword-only inputs apart, by name
                op._setup_context(ctx=ctx, inputs=inputs[:n], output=output,
                                  keyword_only_inputs=dict(zip(op._kwonly, inputs[n:])))
            else:
                op._setup_context(ctx=ctx, inputs=inputs, output=output)

        def backward(ctx, *grads):
            if op._backward is None:
                raise RuntimeError(f"Trying to backward through {op._dotted} but no autograd "
                                   "formula was registered. Please use register_autograd to "
                                   "add one.")
            result = op._backward(ctx, *grads)  # one per positional input, as PyTorch's
            result = result if isinstance(result, tuple) else (result,)
            positional = len(op._signature.parameters) - len(op._kwonly)
            if len(result) != positional:
                raise RuntimeError(f"{op._name}: backward returned {len(result)} gradients, but "
                                   f"the operator takes {positional} positional inputs (one "
                                   "gradient per input, None for non-Tensors)")
            return (None, *_flatten_grads(ctx._cr_spec, result + (None,) * len(op._kwonly)))

        body = {"forward": staticmethod(forward), "setup_context": staticmethod(setup_context),
                "backward": staticmethod(backward)}
        return type(self._name.split("::")[-1], (Function,), body)

    def __call__(self, *args, **kwargs):
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{self._name}: {err}") from None
        bound.apply_defaults()
        spec, flat = _flatten(tuple(bound.arguments.values()))
        if self._mutates:  # no gradient (PyTorch allows none), and it may return None
            with no_grad():
                out = self._node.forward(spec, *flat)
        else:
            out = self._node.apply(spec, *flat)
        for name in self._mutates:
            arg = bound.arguments.get(name)
            if isinstance(arg, Tensor):
                arg._counter[0] += 1  # changed in place by the kernel: a new version
        return out

    def register_autograd(self, backward, /, *, setup_context=None) -> None:
        """Give the operator a gradient: ``setup_context(ctx, inputs, output)`` saves what
        ``backward(ctx, *grads)`` needs; backward returns one gradient per input (None for
        non-Tensors and inputs without one)."""
        if not callable(backward) or (setup_context is not None and not callable(setup_context)):
            raise TypeError(f"register_autograd: expected callables for backward and "
                            f"setup_context, got {backward!r} and {setup_context!r}")
        if self._mutates:
            raise RuntimeError(f"register_autograd: {self._name} mutates {self._mutates!r}; "
                               "PyTorch supports no autograd formula for a mutating operator")
        self._backward, self._setup_context = backward, setup_context

    def register_fake(self, fn, /):
        """Record ``fn``, the operator's shape function (returns empty tensors of the outputs'
        shapes and dtypes); usable as a decorator."""
        if not callable(fn):
            raise TypeError(f"register_fake: expected a callable, got {fn!r}")
        self._fake = fn
        return fn

    def register_kernel(self, device_types, fn=None, /):
        """A kernel for ``device_types``: chainrule runs one kernel on every device, so this
        replaces the function the operator calls."""
        def register(func):
            self._fn = func
            return func
        return register if fn is None else register(fn)


def _flatten(values):
    """The arguments with each list (or tuple) of Tensors spread out, so that the elements are
    the Function's inputs and get gradients (PyTorch's ``Tensor[]`` parameters), and the spec,
    one length per list (None for other values), or None when there is no list."""
    spec, flat = [], []
    for v in values:
        if isinstance(v, (list, tuple)) and v and all(isinstance(t, Tensor) for t in v):
            spec.append((type(v), len(v)))
            flat.extend(v)
        else:
            spec.append(None)
            flat.append(v)
    return (tuple(spec) if any(spec) else None), flat


def _unflatten(spec, flat) -> tuple:
    if spec is None:
        return tuple(flat)
    values, i = [], 0
    for entry in spec:
        if entry is None:
            values.append(flat[i])
            i += 1
        else:
            kind, n = entry
            values.append(kind(flat[i:i + n]))
            i += n
    return tuple(values)


def _flatten_grads(spec, result) -> tuple:
    """The backward's gradients, a list of them (or None) for a list of Tensors, spread out as
    the inputs were."""
    flat = []
    for entry, g in zip(spec or (None,) * len(result), result):
        if entry is None and isinstance(g, (list, tuple)):
            raise RuntimeError(f"backward: returned a list of gradients {g!r} for an input that "
                               "is not a list of Tensors")
        if entry is None:
            flat.append(g)
        elif g is None:
            flat.extend([None] * entry[1])
        elif not isinstance(g, (list, tuple)) or len(g) != entry[1]:
            raise RuntimeError(f"backward: for a list of {entry[1]} Tensors, return a list of "
                               f"{entry[1]} gradients (or None), got {g!r}")
        else:
            flat.extend(g)
    return tuple(flat)


def _root(array):
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _refuse_aliases(name, inputs, out):
    """PyTorch's rule: an operator's outputs may not be its inputs nor views of them."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    roots = {id(_root(t._data)) for t in inputs if isinstance(t, Tensor)}
    for i, o in enumerate(outs):
        if isinstance(o, Tensor) and id(_root(o._data)) in roots:
            raise RuntimeError(f"{name}: output {i} is an input or a view of one; a custom "
                               f"operator must return new Tensors (return x.clone()), as "
                               f"PyTorch requires")


def _normalize_mutates(mutates_args, fn, name):
    if mutates_args == "unknown":
        return tuple(inspect.signature(fn).parameters)
    if isinstance(mutates_args, str):
        mutates_args = (mutates_args,)
    params = inspect.signature(fn).parameters
    missing = [m for m in mutates_args if m not in params]
    if missing:
        raise ValueError(f"custom_op({name!r}): mutates_args names {missing}, which are not "
                         f"parameters of {fn.__name__} ({list(params)})")
    return tuple(mutates_args)


def custom_op(name: str, fn=None, /, *, mutates_args, device_types=None, schema=None,
              tags=None):
    """Make ``fn`` the operator ``name`` ("namespace::op_name"); with ``fn`` omitted, a
    decorator. ``mutates_args`` (required, as in PyTorch) names the inputs it changes in place
    (``()`` for none, ``"unknown"`` for all)."""
    if not isinstance(name, str) or name.count("::") != 1 or not all(name.split("::")):
        raise ValueError(f"custom_op: name must be 'namespace::op_name', got {name!r}")

    def wrap(func):
        if not callable(func):
            raise TypeError(f"custom_op({name!r}): expected a function, got {func!r}")
        op = CustomOpDef(name, func, _normalize_mutates(mutates_args, func, name))
        _REGISTRY[name] = op
        return op

    return wrap if fn is None else wrap(fn)


def _lookup(op, who):
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, str) and op in _REGISTRY:
        return _REGISTRY[op]
    raise ValueError(f"{who}: expected an operator made by custom_op or its name "
                     f"('namespace::op_name' of one), got {op!r}")


def register_autograd(op, backward, /, *, setup_context=None, lib=None) -> None:
    """``op.register_autograd(backward, setup_context=)`` for an operator or its name."""
    _lookup(op, "register_autograd").register_autograd(backward, setup_context=setup_context)


def register_fake(op, fn=None, /, *, lib=None, _stacklevel=1):
    """``op.register_fake(fn)`` for an operator or its name; a decorator without ``fn``."""
    target = _lookup(op, "register_fake")
    return target.register_fake if fn is None else target.register_fake(fn)


def _check_backward(args, kwargs, outs):
    inputs = [a for a in list(args) + list(kwargs.values())
              if isinstance(a, Tensor) and a.requires_grad]
    grads = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
    if inputs and grads:
        total = sum(o.sum() for o in grads)
        grad(total, inputs, allow_unused=True)


def opcheck(op, args, kwargs=None, *, test_utils=("test_schema", "test_autograd_registration",
                                                  "test_faketensor",
                                                  "test_aot_dispatch_dynamic"),
            raise_exception: bool = True, atol=None, rtol=None) -> dict:
    """Check ``op`` on ``args`` (see the module docstring). Returns PyTorch's dict of test
    name -> "SUCCESS" (or the error, with ``raise_exception=False``)."""
    target = _lookup(op, "opcheck")
    kwargs = kwargs or {}
    tests = (test_utils,) if isinstance(test_utils, str) else tuple(test_utils)
    out = target(*args, **kwargs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    report = {}
    for test in tests:
        try:
            if test == "test_faketensor":
                if target._fake is None:
                    raise RuntimeError(f"There was no fake impl registered for {target!r}. This "
                                       "is necessary for torch.compile/export/fx tracing to "
                                       f"work. Please use `{target._name.split('::')[-1]}"
                                       ".register_fake` to add an fake impl.")
                fake = target._fake(*args, **kwargs)
                fakes = fake if isinstance(fake, (tuple, list)) else (fake,)
                for real, f in zip(outs, fakes):
                    if isinstance(real, Tensor) and (tuple(real.shape) != tuple(f.shape)
                                                     or real.dtype != f.dtype):
                        raise RuntimeError(
                            f"opcheck: {target._name}'s fake gives shape {tuple(f.shape)} "
                            f"dtype {f.dtype}, the operator shape {tuple(real.shape)} dtype "
                            f"{real.dtype}")
            elif test == "test_aot_dispatch_dynamic":  # here: backward runs, where it can
                _check_backward(args, kwargs, outs)
            elif test not in ("test_schema", "test_autograd_registration"):
                raise ValueError(f"opcheck: unknown test {test!r}")
            report[test] = "SUCCESS"
        except (RuntimeError, ValueError) as err:
            if raise_exception:
                raise
            report[test] = err
    return report
