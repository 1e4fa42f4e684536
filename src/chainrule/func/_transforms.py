"""``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian``.

Each transform runs the function on fresh leaves made from the differentiated arguments and asks
the engine (reverse mode) for the derivatives. Inside another transform (``grad(grad(f))``,
``jacfwd(jacrev(f))``), when an argument already requires grad, or when the function uses a
tensor that requires grad without taking it as an argument (a model's parameter: a gradient
penalty), the derivatives are recorded (``create_graph``) so that the outer level or an outer
backward can differentiate them again; otherwise they are returned detached. Gradients are
computed even under ``no_grad``, as PyTorch's are.
"""

from __future__ import annotations

import functools
import numbers
from contextlib import contextmanager
from contextvars import ContextVar

from ..autograd import Tensor, enable_grad, is_grad_enabled, no_grad
from ..autograd import grad as _engine_grad
from ..backend import get_array_module
from ..ops.join import stack
from ._checks import check_jvp_inputs, check_outputs, draws_refused, split_aux
from ._pytree import flatten, unflatten

__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "vjp"]

_depth: ContextVar[int] = ContextVar("chainrule_func_depth", default=0)


@contextmanager
def _level():
    token = _depth.set(_depth.get() + 1)
    try:
        with enable_grad():
            yield
    finally:
        _depth.reset(token)


def _tensors(tree):
    return [t for t in flatten(tree)[0] if isinstance(t, Tensor)]


def _wants_graph(*trees) -> bool:
    """Record the derivatives: inside another transform, or for an outer ``backward``."""
    return _depth.get() > 0 or (is_grad_enabled() and any(
        t.requires_grad for tree in trees for t in _tensors(tree)))


# PyTorch's jacobians (and hessian, through them) take real inputs and give real outputs only;
# grad, vjp and jvp differentiate complex tensors too (grad's output must be real).
_REAL_ONLY = ("jacrev", "jacfwd")
_DIFFERENTIABLE = {"grad_and_value": "fc", "vjp": "fc", "jvp": "fc", "jacrev": "f", "jacfwd": "f"}


def _captured(outer_grad, trees, leaves) -> bool:
    """Whether, with gradients on outside the transform, the graph of ``trees`` (the function's
    outputs) reaches a tensor that requires grad other than the transform's own ``leaves``: a
    weight the function uses without taking it as an argument (a model's parameter). Then the
    derivatives are recorded, so that an outer backward reaches it, as PyTorch's."""
    if not outer_grad:
        return False
    own = {id(x) for group in leaves for x in group}
    stack, seen = _tensors(trees), set()
    while stack:
        t = stack.pop()
        if not t.requires_grad or id(t) in own:
            continue
        if t._ctx is None:
            return True
        if id(t._ctx) not in seen:
            seen.add(id(t._ctx))
            stack.extend(t._ctx.inputs or ())
    return False


def _argnums(who, argnums, nargs):
    many = isinstance(argnums, tuple)
    nums = argnums if many else (argnums,)
    if not nums:
        raise ValueError(f"{who}: argnums must be an int or a non-empty tuple of ints, got ()")
    for n in nums:
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= n < nargs:
            raise ValueError(f"{who}: argnums {n} is out of range for a function called with "
                             f"{nargs} positional argument(s)")
    nums = tuple(int(n) % nargs for n in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{who}: argnums must not repeat an argument, got {argnums!r}")
    return nums, many


def _leaf(who, where, t, create):
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: {where} must be a Tensor (or a tuple/list/dict of Tensors), "
                        f"got {type(t).__name__}")
    if t._data.dtype.kind not in _DIFFERENTIABLE[who]:
        kind = "floating point" if who in _REAL_ONLY else "floating point or complex"
        raise TypeError(f"{who}: {where} must be {kind} to be differentiated, got dtype "
                        f"{t.dtype}")
    return t.view_as(t) if create and t.requires_grad else t.detach().requires_grad_(True)


def _prepare(who, args, nums, create):
    """Arguments with the differentiated ones replaced by leaves; the leaves and their specs."""
    args, leaves, specs = list(args), [], []
    for n in nums:
        flat, spec = flatten(args[n])
        new = [_leaf(who, f"argument {n}", t, create) for t in flat]
        # forward mode's primals may be changed in place (PyTorch's dual tensors): the function
        # gets copies, and _write_primals writes a change into the caller's tensor
        args[n] = unflatten([x.clone() for x in new] if who in _FORWARD else new, spec)
        leaves.append(new)
        specs.append(spec)
    return tuple(args), leaves, specs


_FORWARD = ("jvp", "jacfwd")


def _write_primals(args, new_args, nums) -> None:
    """Write the copies (``_prepare``) that the function changed in place into the caller's
    primals, as PyTorch's forward mode changes them."""
    for n in nums:
        for t, given in zip(flatten(args[n])[0], flatten(new_args[n])[0]):
            if given._version != 0:
                with no_grad():
                    t.copy_(given)


def _zeros(like):
    return Tensor(get_array_module(like._data).zeros_like(like._data))


def _backward(outputs, seeds, inputs, create, zeros=True):
    """``sum_k seeds_k^T d outputs_k / d inputs``, zeros (None without ``zeros``) where nothing
    depends on an input."""
    live = [(o, s) for o, s in zip(outputs, seeds) if o.requires_grad]
    found = (None,) * len(inputs)
    if live and inputs:
        found = _engine_grad([o for o, _ in live], list(inputs), [s for _, s in live],
                             retain_graph=True, create_graph=create, allow_unused=True)
    return [(_zeros(x) if zeros else None) if g is None else (g if create else g.detach())
            for x, g in zip(inputs, found)]


def _regroup(flat, leaves, specs, many):
    out, at = [], 0
    for group, spec in zip(leaves, specs):
        out.append(unflatten(flat[at:at + len(group)], spec))
        at += len(group)
    return tuple(out) if many else out[0]


def _detached(tree, create):
    if create:
        return tree
    flat, spec = flatten(tree)
    return unflatten([t.detach() if isinstance(t, Tensor) else t for t in flat], spec)


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient with respect to the ``argnums`` arguments, and its value.

    The wrapped function returns ``(gradient, value)``, or ``(gradient, (value, aux))`` with
    ``has_aux``. ``func`` must return a 0-d Tensor; each differentiated argument may be a Tensor
    or a tuple/list/dict of them, and its gradient has the same structure (a tuple of those for
    a tuple ``argnums``).
    """
    who = "grad_and_value"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums, many = _argnums(who, argnums, len(args))
        create, outer = _wants_graph(args, kwargs), is_grad_enabled()
        with _level():
            new_args, leaves, specs = _prepare(who, args, nums, create)
            value, aux = split_aux(who, func(*new_args, **kwargs), has_aux)
            create = create or _captured(outer, (value, aux), leaves)
            if not isinstance(value, Tensor) or value.ndim != 0:
                got = (f"a Tensor of shape {tuple(value.shape)}" if isinstance(value, Tensor)
                       else type(value).__name__)
                raise RuntimeError(f"{who}: the function must return a 0-d (scalar) Tensor, got "
                                   f"{got}; use vjp or jacrev for other outputs")
            if value._data.dtype.kind == "c":  # an integer one's gradient is zeros
                raise RuntimeError(f"{who}: the function must return a real scalar, got dtype "
                                   f"{value.dtype} (as in PyTorch; take .real or .abs(), or use "
                                   f"vjp for a complex output)")
            flat = [x for group in leaves for x in group]
            one = Tensor(get_array_module(value._data).ones_like(value._data))
            grads = _backward([value], [one], flat, create)
        result = _regroup(grads, leaves, specs, many)
        value = _detached(value, create)
        return (result, (value, _detached(aux, create))) if has_aux else (result, value)

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``func``'s gradient with respect to the ``argnums`` arguments, as a function.

    ``grad(f)(x)`` is df/dx for a 0-d ``f(x)``; ``(gradient, aux)`` with ``has_aux``. Compose it
    (``grad(grad(f))``, ``vmap(grad(f))`` for per-sample gradients) freely.

    >>> import chainrule as cr
    >>> grad(lambda x: (x ** 3).sum())(cr.tensor([1.0, 2.0])).tolist()
    [3.0, 12.0]
    """
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def _floating_outputs(who, outs, kinds="fc"):
    for o in outs:
        if o._data.dtype.kind not in kinds:
            what = "real floating-point" if kinds == "f" else "floating-point or complex"
            raise RuntimeError(f"{who}: all outputs of the function must be {what} Tensors (as "
                               f"in PyTorch), got one of dtype {o.dtype}")


def _check_tensors(who, what, flat):
    for t in flat:
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {what} must be Tensors (or tuples/lists/dicts of them), "
                            f"got {type(t).__name__}")


def vjp(func, *primals, has_aux: bool = False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)`` is ``cotangents^T J``, a tuple with
    one entry per primal (``(output, vjp_fn, aux)`` with ``has_aux``). ``vjp_fn`` may be called
    several times."""
    who = "vjp"
    create, outer = _wants_graph(primals), is_grad_enabled()
    with _level():
        new_args, leaves, specs = _prepare(who, primals, range(len(primals)), create)
        out, aux = split_aux(who, func(*new_args), has_aux)
        create = create or _captured(outer, (out, aux), leaves)
    outs, out_spec = flatten(out)
    _check_tensors(who, "the function's outputs", outs)
    check_outputs(who, outs)
    _floating_outputs(who, outs)
    flat = [x for group in leaves for x in group]

    def vjp_fn(cotangents):
        cots, spec = flatten(cotangents)
        if spec != out_spec or any(not isinstance(c, Tensor) or tuple(c.shape) != tuple(o.shape)
                                   for c, o in zip(cots, outs)):
            raise ValueError(f"vjp_fn: cotangents must have the structure and shapes of the "
                             f"outputs {[tuple(o.shape) for o in outs]}, got "
                             f"{[tuple(getattr(c, 'shape', ())) for c in cots]}")
        # cotangents that require grad make the products differentiable in them, as PyTorch's
        recorded = create or _wants_graph(cots)
        with _level():
            grads = _backward(outs, cots, flat, recorded)
        return _regroup(grads, leaves, specs, True)

    result = (_detached(out, create), vjp_fn)
    return result + (_detached(aux, create),) if has_aux else result


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``(func(*primals), J tangents)``, computed in reverse mode by the double-backward trick
    (as ``autograd.functional.jvp``): ``u -> J^T u`` is linear, and its vector-Jacobian product
    with the tangents is ``J tangents`` (chainrule has no forward mode). An integer output's
    tangent is zeros of its dtype; with ``strict`` an output that does not depend on the
    primals (an integer one, a constant) raises, as in PyTorch."""
    check_jvp_inputs(primals, tangents)
    return _jvp(func, primals, tangents, strict, has_aux)


def _kinds(t, x) -> str:
    return "".join(v._data.dtype.kind if isinstance(v, Tensor) else "?" for v in (t, x))


def _jvp(func, primals, tangents, strict=False, has_aux=False):
    """``jvp`` without the checks of its arguments (``linearize`` takes no primals too)."""
    who = "jvp"
    tans, tan_spec = flatten(tuple(tangents))
    kinds = [_kinds(t, x) for t, x in zip(tans, flatten(tuple(primals))[0])]
    if "cf" in kinds:  # a complex tangent of a real primal: J (a + ib) = J a + i J b, PyTorch's
        parts = [unflatten([(t.real if k == "cf" else t) if imag is False else (
            t.imag if k == "cf" else t * 0) for t, k in zip(tans, kinds)], tan_spec)
            for imag in (False, True)]
        (out, *extra), second = (_jvp(func, primals, p, strict, has_aux) for p in parts)
        jv, spec = flatten(extra[0])
        jv = unflatten([a + 1j * b for a, b in zip(jv, flatten(second[1])[0])], spec)
        return (out, jv, *extra[1:])
    create, outer = _wants_graph(primals, tangents), is_grad_enabled()
    with _level():
        new_args, leaves, specs = _prepare(who, tuple(primals), range(len(primals)), create)
        flat = [x for group in leaves for x in group]
        if tan_spec != flatten(tuple(primals))[1] or any(
                not isinstance(t, Tensor) or tuple(t.shape) != tuple(x.shape)
                for t, x in zip(tans, flat)):
            raise ValueError(f"jvp: tangents must have the structure and shapes of primals "
                             f"{[tuple(x.shape) for x in flat]}, got "
                             f"{[tuple(getattr(t, 'shape', ())) for t in tans]}")
        tans = [t.to(x.dtype) if _kinds(t, x) == "fc" else t for t, x in zip(tans, flat)]
        out, aux = split_aux(who, func(*new_args), has_aux)
        _write_primals(tuple(primals), new_args, range(len(primals)))
        create = create or _captured(outer, (out, aux), leaves)
        outs, out_spec = flatten(out)
        _check_tensors(who, "the function's outputs", outs)
        check_outputs(who, outs)
        floats = [o for o in outs if o._data.dtype.kind in "fc"]
        dummies = [_zeros(o).requires_grad_(True) for o in floats]
        jt_u = _backward(floats, dummies, flat, True)  # J^T u, linear in u
        found = iter(_backward(jt_u, tans, dummies, create, zeros=False))
        jv = [next(found) if o._data.dtype.kind in "fc" else None for o in outs]
    if strict and any(t is None for t in jv):
        raise RuntimeError("jvp: an output of the function does not depend on the primals; "
                           "this is not allowed with strict=True")
    jv = [_zeros(o) if t is None else t for o, t in zip(outs, jv)]
    result = (_detached(out, create), unflatten(jv, out_spec))
    return result + (_detached(aux, create),) if has_aux else result


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None,
           _preallocate_and_copy: bool = False):
    """The Jacobian of ``func`` with respect to the ``argnums`` arguments, as a function.

    One backward pass per output element (reverse mode). For each output Tensor, the Jacobian
    with respect to an input Tensor has shape ``output.shape + input.shape``; outputs and inputs
    given as tuples/lists/dicts give nested results (outputs outside, inputs inside), as PyTorch.
    ``chunk_size`` is accepted (a positive int or None); the rows are computed one at a time.
    """
    who = "jacrev"
    if chunk_size is not None and (not isinstance(chunk_size, numbers.Integral)
                                   or isinstance(chunk_size, bool) or chunk_size < 1):
        raise ValueError(f"{who}: chunk_size must be None or a positive int, got {chunk_size!r}")
    return _jacobian_transform(who, func, argnums, has_aux, False)


def _jacobian_transform(who, func, argnums, has_aux, forward, refuse_draws=False):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums, many = _argnums(who, argnums, len(args))
        create, outer = _wants_graph(args, kwargs), is_grad_enabled()
        with _level():
            new_args, leaves, specs = _prepare(who, args, nums, create)
            with draws_refused(who, refuse_draws):
                out, aux = split_aux(who, func(*new_args, **kwargs), has_aux)
            if forward:
                _write_primals(args, new_args, nums)
            create = create or _captured(outer, (out, aux), leaves)
            outs, out_spec = flatten(out)
            _check_tensors(who, "the function's outputs", outs)
            check_outputs(who, outs)
            _floating_outputs(who, [o for o in outs if forward is False
                                    or o._data.dtype.kind == "c"], "f")
            flat = [x for group in leaves for x in group]
            jacs = [_regroup(_jacobian_of(o, flat, create, forward), leaves, specs, many)
                    for o in outs]
        result = unflatten(jacs, out_spec)
        return (result, _detached(aux, create)) if has_aux else result

    return wrapper


def _jacobian_of(out, inputs, create, forward=False):
    """Per input, ``d out / d input`` shaped ``out.shape + input.shape``: in the input's dtype,
    or (``forward``, as forward mode's tangents) the output's."""
    n, xp = out._data.size, get_array_module(out._data)
    if n == 0 or out._data.dtype.kind not in "fc":  # an integer output's is zeros (forward)
        return [Tensor(xp.zeros(tuple(out.shape) + tuple(x.shape),
                                out._data.dtype if forward else x._data.dtype)) for x in inputs]
    rows = [[] for _ in inputs]
    for k in range(n):
        onehot = xp.zeros(n, out._data.dtype)
        onehot[k] = 1
        for row, g in zip(rows, _backward([out], [Tensor(onehot.reshape(out._data.shape))],
                                          inputs, create)):
            row.append(g)
    jacs = [stack(row).reshape(tuple(out.shape) + tuple(x.shape)) for row, x in zip(rows, inputs)]
    return [j.to(out.dtype) if forward and j.dtype != out.dtype else j for j in jacs]


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func``, with PyTorch's ``jacfwd`` signature and values, computed in
    reverse mode as ``jacrev`` (chainrule has no forward mode): one backward pass per output
    element, so it is slower than PyTorch's for functions with many outputs and few inputs.
    As forward mode's, it has the output's dtype (an integer output's is zeros).
    The function is called once: with ``randomness='error'`` (the default) a random draw in it
    raises, as PyTorch's; with ``'different'`` or ``'same'`` it draws once, and every column of
    the Jacobian is that of the same random function (PyTorch's ``'same'``)."""
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"jacfwd: randomness must be 'error', 'different' or 'same', got "
                         f"{randomness!r}")
    return _jacobian_transform("jacfwd", func, argnums, has_aux, True, randomness == "error")


def hessian(func, argnums=0):
    """The Hessian of a 0-d ``func`` with respect to the ``argnums`` arguments:
    ``jacfwd(jacrev(func, argnums), argnums)``, both computed in reverse mode."""
    return jacfwd(jacrev(func, argnums), argnums)
