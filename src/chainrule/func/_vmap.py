"""``vmap`` as a loop, and ``stack_module_state`` for ensembles.

chainrule has no batching transform: ``vmap(f)(x)`` calls ``f`` once per index of the mapped
dimension, on that slice, and stacks the results. The values and gradients are PyTorch's (the
slicing and stacking are recorded ops, so ``grad`` of a ``vmap`` works too); the speed is that
of a Python loop, not of one batched call. It is correct, not fast: use it for per-sample
gradients (``vmap(grad(loss))``), Jacobian rows, ensembles, where clarity matters more than time.

Randomness: ``'error'`` raises when ``f`` draws random numbers (any draw through chainrule's
generators: ``rand``, ``dropout``, ``nn.Dropout``...); ``'different'`` lets each slice draw its
own numbers (a loop does this by itself); ``'same'`` rewinds every generator ``f`` drew from to
its state before the first slice, so every slice draws the same numbers.

In-place changes: a tensor that the slices share (captured, ``in_dims=None``, a BatchNorm's
running statistics) would be changed once per slice; ``vmap`` refuses that (``_writes``).
"""

from __future__ import annotations

import functools
import numbers

from ..autograd import Tensor, is_grad_enabled, no_grad
from ..autograd.hooks import watch_writes
from ..backend import get_array_module
from ..backend.random import watch_draws
from ..nn import Module
from ..ops.join import stack
from ._pytree import describe, flatten, unflatten
from ._writes import SharedWrites

__all__ = ["stack_module_state", "vmap"]

_MODES = ("error", "different", "same")


class _Randomness:
    """The draw watcher of one ``vmap``: refuses draws, or rewinds generators per slice."""

    def __init__(self, mode: str):
        self.mode = mode
        self.states: dict = {}
        self.refused = False

    def __call__(self, gen) -> None:
        if self.mode == "error":
            self.refused = True
            raise RuntimeError(
                "vmap: the function called a random operation while randomness='error'; pass "
                "randomness='different' (each slice draws its own numbers) or 'same' (every "
                "slice draws the same numbers), or draw outside vmap")
        if self.mode == "same" and id(gen) not in self.states:
            self.states[id(gen)] = (gen, gen.bit_generator.state)

    def next_slice(self) -> None:
        for gen, state in self.states.values():
            gen.bit_generator.state = state


def _dims_per_leaf(in_dims, args):
    """One in_dim (int or None) per leaf of ``args``, following PyTorch's broadcasting of
    ``in_dims``: an int/None applies to a whole subtree, a container must match the args'."""
    flat_args, args_spec = flatten(args)
    if not isinstance(in_dims, tuple):
        in_dims = (in_dims,) * len(args)
    elif len(in_dims) != len(args):
        raise ValueError(f"vmap: in_dims has {len(in_dims)} entries but the function was called "
                         f"with {len(args)} positional argument(s)")
    dims = []
    for i, (d, a) in enumerate(zip(in_dims, args)):
        _broadcast(d, a, dims, f"in_dims[{i}]", f"argument {i}")
    for d in dims:
        if d is not None and (not isinstance(d, numbers.Integral) or isinstance(d, bool)):
            raise ValueError(f"vmap: in_dims must be ints or None, got {d!r}")
    return flat_args, args_spec, dims


def _broadcast(d, a, dims, who, what, roots=None) -> None:
    """Append the dim of each leaf of ``a`` (the in_dims of an argument, the out_dims of the
    outputs): ``d`` is an int/None for a whole subtree, or a container of the same kind (a prefix
    of ``a``'s structure); ``who`` and ``what`` name them in the error."""
    roots = roots or (d, a)
    if d is None or isinstance(d, numbers.Integral):
        dims += [d] * len(flatten(a)[0])
        return
    if not isinstance(d, (tuple, list, dict)):
        raise ValueError(f"vmap: {who} must be ints or None (or tuples/lists/dicts of them), "
                         f"got {d!r}")
    same_kind = (isinstance(d, dict) and isinstance(a, dict) and list(d) == list(a)) or (
        isinstance(d, (tuple, list)) and type(d) is type(a) and len(d) == len(a))
    if not same_kind:
        raise ValueError(f"vmap: {who} has structure {describe(flatten(roots[0])[1])} but "
                         f"{what} has structure {describe(flatten(roots[1])[1])}")
    for dd, aa in zip(d.values() if isinstance(d, dict) else d,
                      a.values() if isinstance(a, dict) else a):
        _broadcast(dd, aa, dims, who, what, roots)


def _mapped_size(flat, dims):
    size, first = None, None
    for i, (x, d) in enumerate(zip(flat, dims)):
        if d is None:
            continue
        if not isinstance(x, Tensor):
            raise ValueError(f"vmap: got in_dim={d} for an input of type {type(x).__name__}; "
                             "only Tensors can be mapped, use None as its in_dim")
        if not -x.ndim <= d < x.ndim:
            raise ValueError(f"vmap: got in_dim={d} for an input of shape {tuple(x.shape)}; "
                             f"expected -{x.ndim} <= in_dim < {x.ndim}")
        n = x.shape[d]
        if size is None:
            size, first = n, i
        elif n != size:
            raise ValueError(f"vmap: all mapped inputs must have the same size in the mapped "
                             f"dimension, got sizes {size} (input leaf {first}) and {n} (input "
                             f"leaf {i})")
    if size is None:
        raise ValueError("vmap: no input is mapped (every in_dim is None or there are no "
                         "Tensor inputs); map at least one Tensor")
    return size


def _slice(x, d, i):
    return x[(slice(None),) * (d % x.ndim) + (i,)]


def _own_slice(x, d, i):
    """Slice ``i`` of ``x``: a view, or, where gradients are recorded through ``x``, a copy that
    ``_write_back`` writes into ``x`` if the function changed it. A view shares ``x``'s count of
    in-place changes, so a change of one slice would make the ops that saved another slice
    refuse backward; PyTorch's one batched call has no such slices."""
    view = _slice(x, d, i)
    if not (view.requires_grad and is_grad_enabled()):
        return view
    own = view.clone()
    own._vmap_state = (own._version, own._ctx)
    return own


def _write_back(flat, dims, sliced, i) -> None:
    """Write the slices the function changed in place (copies, ``_own_slice``) into their inputs:
    a recorded change, through which gradients flow as through the function's own, or, where
    the function changed the slice unrecorded (under ``no_grad``), an unrecorded one."""
    for x, d, s in zip(flat, dims, sliced):
        state = getattr(s, "_vmap_state", None)
        if d is None or state is None or s._version == state[0]:
            continue
        if s._ctx is state[1]:  # no recorded op changed it
            with no_grad():
                _slice(x, d, i).copy_(s)
        else:
            _slice(x, d, i).copy_(s)


def _stack_outputs(results, out_dims, empty=False):
    flats = [flatten(r) for r in results]
    spec = flats[0][1]
    for _, s in flats[1:]:
        if s != spec:
            raise ValueError(f"vmap: the function returned {describe(s)} for one slice and "
                             f"{describe(spec)} for another; the structure must not change")
    top = results[0]
    if (isinstance(out_dims, tuple) and len(out_dims) == 1
            and not isinstance(top, (tuple, list, dict))):
        out_dims = out_dims[0]  # PyTorch's (d,) for one output
    dims: list = []
    _broadcast(out_dims, top, dims, "out_dims", "the function's output")
    stacked = []
    for j, d in enumerate(dims):
        column = [f[0][j] for f in flats]
        out = _stack_column(column, d)
        if empty and d is not None:  # the stand-in slices of a size-0 map, cut to none
            out = out[(slice(None),) * (d % out.ndim) + (slice(0, 0),)]
        stacked.append(out)
    return unflatten(stacked, spec)


def _stand_ins(x, d):
    """Two slices (zeros, ones) for an input mapped over a dimension of size 0; a float one's
    are recorded from ``x`` (a sum over the empty dimension), so gradients reach it."""
    if x.dtype.kind == "f":
        zeros = x.sum(dim=d)
        return zeros, zeros + 1
    xp = get_array_module(x._data)
    d = d % x.ndim
    shape = x.shape[:d] + x.shape[d + 1:]
    return Tensor(xp.zeros(shape, x.dtype)), Tensor(xp.ones(shape, x.dtype))


def _map_nothing(func, flat, spec, dims, kwargs, out_dims, randomness):
    """PyTorch's result of a map over a dimension of size 0: empty outputs of the shapes the
    function gives. A loop would never call ``func``, so it is called on two stand-in slices
    (zeros, then ones) to learn those shapes and to check the ``out_dims=None`` outputs, with
    every generator it draws from rewound afterwards; the stacked outputs are cut to length 0."""
    pairs = [(x, x) if d is None else _stand_ins(x, d) for x, d in zip(flat, dims)]
    watcher = _Randomness("error" if randomness == "error" else "same")
    writes = SharedWrites([])
    results = []
    with watch_draws(watcher), watch_writes(writes):
        for k in (0, 1):
            watcher.next_slice()
            writes.next_slice()
            try:
                results.append(func(*unflatten([p[k] for p in pairs], spec), **kwargs))
            except Exception as e:
                if watcher.refused or writes.shared is not None:
                    raise
                raise ValueError(f"vmap: the mapped dimension has size 0, so the function was "
                                 f"called on stand-in slices of {('zeros', 'ones')[k]} to learn "
                                 f"its output shapes, and it raised {type(e).__name__}: "
                                 f"{e}") from e
            writes.check()
    watcher.next_slice()
    return _stack_outputs(results, out_dims, empty=True)


def _stack_column(column, d):
    first = column[0]
    if d is None:  # an output that must not depend on the slice: checked, not assumed
        same = all(c is first or (isinstance(c, Tensor) and isinstance(first, Tensor)
                                  and c.shape == first.shape
                                  and bool(get_array_module(c._data).array_equal(
                                      c._data, first._data)))
                   or (not isinstance(c, Tensor) and c == first) for c in column)
        if not same:
            raise ValueError("vmap: an output with out_dim None differs between slices; give it "
                             "an int out_dim")
        return first
    if not isinstance(first, Tensor):
        raise ValueError(f"vmap: the function must return only Tensors, got "
                         f"{type(first).__name__}; set its out_dim to None to return it as is")
    if not isinstance(d, numbers.Integral):  # a bool is PyTorch's 0 or 1
        raise ValueError(f"vmap: out_dims must be ints or None, got {d!r}")
    for k, c in enumerate(column):
        if not isinstance(c, Tensor) or (c.shape, c.dtype) != (first.shape, first.dtype):
            got = (f"{c.dtype}{tuple(c.shape)}" if isinstance(c, Tensor) else type(c).__name__)
            raise ValueError(f"vmap: the function returned {first.dtype}{tuple(first.shape)} for "
                             f"slice 0 and {got} for slice {k}; every slice's output must have "
                             "one shape and dtype (PyTorch's vmap refuses ops whose output shape "
                             "depends on the values, such as nonzero, unique, masked_select)")
    if not -(first.ndim + 1) <= d <= first.ndim:
        raise ValueError(f"vmap: out_dim {d} is out of range for outputs of shape "
                         f"{tuple(first.shape)}")
    return stack(column, dim=int(d))


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs, as a loop over that dimension.

    Args:
        func: a function of Tensors (or tuples/lists/dicts of them) returning the same.
        in_dims: the mapped dimension per positional argument (an int or None for all, or a
            tuple with an int, None or a matching container per argument). Keyword arguments
            are passed unchanged to every call.
        out_dims: where the mapped dimension goes in each output: an int or None for all, or
            a tuple/list/dict matching the outputs' structure down to where an int or None
            applies to a whole part (as ``in_dims``); None returns an output that is the same
            for every slice as it is.
        randomness: ``'error'``, ``'different'`` or ``'same'`` (see the module docstring).
        chunk_size: PyTorch's; accepted (None or a positive int), the loop runs one slice at a
            time.

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> vmap(lambda row: row.sum())(x).tolist()
    [3.0, 7.0]
    >>> vmap(lambda col, s: col * s, in_dims=(1, None))(x, 10.0).tolist()
    [[10.0, 30.0], [20.0, 40.0]]
    >>> vmap(lambda row: row @ cr.ones(2, 3))(cr.zeros(0, 2)).shape  # nothing to map
    (0, 3)
    """
    if not callable(func):
        raise TypeError(f"vmap: func must be callable, got {type(func).__name__}")
    if randomness not in _MODES:
        raise ValueError(f"vmap: randomness must be 'error', 'different' or 'same', got "
                         f"{randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, numbers.Integral)
                                   or isinstance(chunk_size, bool) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size!r}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not args:
            raise ValueError("vmap: the function was called without positional arguments; at "
                             "least one must be a mapped Tensor")
        flat, spec, dims = _dims_per_leaf(in_dims, args)
        size = _mapped_size(flat, dims)
        if size == 0:
            return _map_nothing(func, flat, spec, dims, kwargs, out_dims, randomness)
        watcher = _Randomness(randomness)
        writes = SharedWrites([x for x, d in zip(flat, dims) if d is not None])
        results = []
        with watch_draws(watcher), watch_writes(writes):
            for i in range(size):
                watcher.next_slice()
                writes.next_slice()
                sliced = [x if d is None else _own_slice(x, d, i) for x, d in zip(flat, dims)]
                results.append(func(*unflatten(sliced, spec), **kwargs))
                writes.check()
                _write_back(flat, dims, sliced, i)
        return _stack_outputs(results, out_dims)

    return wrapper


def stack_module_state(models):
    """The parameters and buffers of several models of one architecture, stacked on a new first
    dimension: ``(params, buffers)``, dicts keyed by the models' names, for
    ``vmap(functional_call)`` over an ensemble. The stacked parameters are new leaves (they
    require grad where the models' do) that no longer share memory with the models.
    """
    models = list(models) if isinstance(models, (tuple, list)) else models
    if not isinstance(models, list) or not models:
        raise ValueError("stack_module_state: models must be a non-empty list of Modules")
    for i, m in enumerate(models):
        if not isinstance(m, Module):
            raise TypeError(f"stack_module_state: models[{i}] must be an nn.Module, got "
                            f"{type(m).__name__}")
        if type(m) is not type(models[0]):
            raise ValueError(f"stack_module_state: all models must be of one class, got "
                             f"{type(models[0]).__name__} and {type(m).__name__}")
    params, buffers = {}, {}
    for out, method in ((params, "named_parameters"), (buffers, "named_buffers")):
        named = [dict(getattr(m, method)()) for m in models]
        for i, d in enumerate(named[1:], 1):
            if list(d) != list(named[0]):
                raise ValueError(f"stack_module_state: models[{i}] has the {method[6:]} "
                                 f"{list(d)}, models[0] has {list(named[0])}")
        for key in named[0]:
            ts = [d[key] for d in named]
            for i, t in enumerate(ts[1:], 1):
                if t.shape != ts[0].shape:
                    raise ValueError(f"stack_module_state: {key!r} has shape {tuple(t.shape)} in "
                                     f"models[{i}] and {tuple(ts[0].shape)} in models[0]; the "
                                     "models must have one architecture")
            flags = {t.requires_grad for t in ts}
            if len(flags) > 1:
                raise ValueError(f"stack_module_state: {key!r} requires grad in some models "
                                 "and not in others")
            value = stack([t.detach() for t in ts])
            out[key] = value.requires_grad_(True) if flags.pop() and method == (
                "named_parameters") else value
    return params, buffers
