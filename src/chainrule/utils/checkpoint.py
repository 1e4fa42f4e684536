"""Gradient checkpointing: trade compute for memory by recomputing a block's forward in backward.

``checkpoint(function, *args)`` keeps only the block's inputs and outputs; the activations inside
are dropped after the forward and computed again, with recording on, when backward reaches the
block. Peak memory then holds one block's activations at a time instead of the whole network's.

How it works here (one mechanism; ``use_reentrant`` True or False gives the same gradients):

1. The block runs once, recorded, on detached stand-ins of its Tensor arguments. Walking that
   small graph from the outputs finds the Tensors the block reads that need a gradient: the
   arguments, and the parameters (or other Tensors) it reaches through modules and closures.
2. One node, ``CheckpointBackward``, replaces that graph: its inputs are those Tensors, its
   outputs the block's outputs. The block's inner graph, with its saved activations, is freed.
3. Its backward puts the random generators back to their state before step 1 (the default
   generator and every generator held by a module it can see, so dropout draws the same masks),
   recomputes the block on fresh stand-ins, checks the outputs equal the first pass bit for bit
   (a clear error instead of a silently wrong gradient), and differentiates them with respect to
   the node's inputs; the generators then continue from where they were.

``backward(create_graph=True)`` (second order) recomputes the block on its real inputs, so the
gradients it returns are differentiable again; it raises when a Tensor the block reads directly
(a parameter, or another input) was also used to compute its inputs, where that would count a
path twice. Layers that update state in their forward (BatchNorm's running statistics in
training mode) update it again in the recomputation, as in PyTorch.
"""

from __future__ import annotations

import copy
import types

from ..autograd import Function, Tensor, enable_grad, grad, is_grad_enabled
from ..backend import get_array_module, numpy
from ..backend.random import default_generator
from .checkpoint_extra import *  # noqa: F403 - CheckpointError, noop_context_fn...
from .checkpoint_extra import CheckpointError, noop_context_fn
from .checkpoint_extra import __all__ as _extra_names

__all__ = ["checkpoint", "checkpoint_sequential", *_extra_names]


def checkpoint(function, *args, use_reentrant: bool | None = None,
               context_fn=noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, preserve_rng_state: bool = True,
               **kwargs):
    """``function(*args, **kwargs)``, with its activations recomputed in backward (see above).

    Args:
        function: the block: a Module, or any callable; the Tensors it returns, alone or nested
            in tuples, lists and dicts, carry the gradient (other values pass through).
        *args: its arguments; Tensors among them may or may not require grad.
        use_reentrant: PyTorch's choice of implementation; accepted (None, True or False), the
            gradients are the same.
        context_fn: returns two context managers, the first pass runs inside the first and the
            recomputation inside the second (PyTorch's; ``create_selective_checkpoint_contexts``
            gives two null ones here: every op is recomputed).
        preserve_rng_state: restore the generators before recomputing, so random layers draw
            what they drew in the first pass.
        determinism_check: ``"default"`` compares the recomputed outputs with the first pass's
            and raises if they differ; ``"none"`` skips it.
        debug, early_stop: PyTorch's; accepted (the block is always recomputed whole).
        **kwargs: passed to ``function``.

    Returns:
        What ``function`` returns.
    """
    _check_flag("use_reentrant", use_reentrant, none_ok=True)
    _check_flag("preserve_rng_state", preserve_rng_state)
    _check_flag("debug", debug)
    _check_flag("early_stop", early_stop)
    if not callable(context_fn):
        raise TypeError(f"checkpoint: context_fn must be callable, got {type(context_fn).__name__}")
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"checkpoint: determinism_check must be 'default' or 'none', got {determinism_check!r}"
        )
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    forward_context, recompute_context = context_fn()
    if not is_grad_enabled():  # nothing will be differentiated: nothing to save or recompute
        with forward_context:
            return function(*args, **kwargs)
    generators = _generators(function, args, kwargs) if preserve_rng_state else []
    states = [copy.deepcopy(g.bit_generator.state) for g in generators]
    stand_ins = _stand_ins(args)
    with enable_grad(), forward_context:
        out = function(*stand_ins, **kwargs)
    tensor_outs = _leaves(out)  # nested in tuples, lists and dicts too, as PyTorch's
    sources = _sources([o for o in tensor_outs if o.requires_grad], stand_ins, args)
    if not sources:  # nothing needs a gradient: the outputs are constants
        return out
    node_inputs = [t for t, _ in sources]
    made = CheckpointBackward.apply(
        *node_inputs, function=function, args=args, kwargs=kwargs, generators=generators,
        states=states, check=determinism_check == "default", context=recompute_context,
        positions=tuple(position for _, position in sources),
        differentiable=tuple(o.requires_grad for o in tensor_outs),
        results=tuple(o._data for o in tensor_outs) if len(tensor_outs) > 1
        else tensor_outs[0]._data,
    )
    made = [made] if isinstance(made, Tensor) else list(made)
    for o, m in zip(tensor_outs, made, strict=True):
        if not o.requires_grad:  # an output that carries no gradient stays a constant
            m.requires_grad, m._ctx = False, None
    return _rebuild(out, iter(made))


def _leaves(out) -> list:
    """The Tensors in ``out``, depth first, inside tuples, lists and dicts' values."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    if isinstance(out, dict):
        return [leaf for o in out.values() for leaf in _leaves(o)]
    return []


def _rebuild(out, made):
    """``out`` with each of its Tensors (in ``_leaves`` order) replaced by the next of ``made``."""
    if isinstance(out, Tensor):
        return next(made)
    if isinstance(out, (tuple, list)):
        items = [_rebuild(o, made) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    if isinstance(out, dict):
        new = copy.copy(out)  # a dict subclass keeps its type and attributes
        for key, value in out.items():
            new[key] = _rebuild(value, made)
        return new
    return out


class CheckpointBackward(Function):
    """The node of one checkpointed call: outputs computed already, inputs found by ``_sources``."""

    def forward(self, *arrays):
        return self.results

    def backward(self, *grad_outputs):
        create_graph = is_grad_enabled()
        if create_graph:
            # The gradients must depend on the real inputs: the block runs on them, which is
            # right only if nothing it reads directly also lies upstream of an input.
            _check_second_order(self.args, self.positions)
        now = [copy.deepcopy(g.bit_generator.state) for g in self.generators]
        for g, state in zip(self.generators, self.states, strict=True):
            g.bit_generator.state = state
        try:
            # second order: recorded copies of the real inputs, one node per argument, so an
            # input passed twice is differentiated per position (not twice over)
            stand_ins = [a.clone() if isinstance(a, Tensor) and a.requires_grad else a
                         for a in self.args] if create_graph else _stand_ins(self.args)
            with enable_grad(), self.context:
                out = self.function(*stand_ins, **self.kwargs)
        finally:
            for g, state in zip(self.generators, now, strict=True):
                g.bit_generator.state = state
        outs = _leaves(out)
        results = self.results if isinstance(self.results, tuple) else (self.results,)
        if self.check:
            _check_same(outs, results)
        keep = [i for i, d in enumerate(self.differentiable) if d and outs[i].requires_grad]
        targets = [stand_ins[p] if isinstance(p, int) else p[1] for p in self.positions]
        grads = grad([outs[i] for i in keep], targets, [grad_outputs[i] for i in keep],
                      retain_graph=True, create_graph=create_graph, allow_unused=True)
        return tuple(grads)


def checkpoint_sequential(functions, segments: int, input,  # noqa: A002 - PyTorch's name
                          use_reentrant: bool | None = None, **kwargs):
    """Run ``functions`` (a Sequential or a list of callables) in ``segments`` checkpointed parts.

    As PyTorch's: the functions are split into ``segments`` runs of ``len // segments`` (the last
    run takes the rest, and is not checkpointed: its activations are needed at once). ``kwargs``
    (``preserve_rng_state``...) go to each ``checkpoint``.
    """
    if isinstance(functions, types.GeneratorType):
        functions = list(functions)
    children = getattr(functions, "children", None)
    functions = list(children()) if callable(children) else list(functions)
    if not isinstance(segments, int) or isinstance(segments, bool) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be an int >= 1, got {segments!r}")
    if segments > len(functions):
        raise ValueError(f"checkpoint_sequential: segments={segments} is more than the "
                         f"{len(functions)} functions given")
    size = len(functions) // segments
    x, end = input, -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        x = checkpoint(_run_range(functions[start:end + 1]), x, use_reentrant=use_reentrant,
                       **kwargs)
    return _run_range(functions[end + 1:])(x)


def _run_range(functions):
    def run(x):
        for f in functions:
            x = f(x)
        return x

    run.functions = functions  # seen by _generators, so their random layers are restored
    return run


def _check_flag(name, value, none_ok=False):
    if not (isinstance(value, bool) or (none_ok and value is None)):
        want = "True, False or None" if none_ok else "True or False"
        raise TypeError(f"checkpoint: {name} must be {want}, got {value!r}")


def _stand_ins(args):
    """The Tensor arguments detached (leaves of the block's own graph), the rest as given."""
    return [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a
            for a in args]


def _sources(outputs, stand_ins, args):
    """``[(Tensor, position)]``: what the block's outputs depend on that needs a gradient.

    A stand-in gives its argument (position: its index in ``args``); any other leaf found (a
    parameter, a Tensor from a closure) is itself (position ``("leaf", tensor)``). The walk
    also goes through graphs made before the block (a non-leaf Tensor it reads).
    """
    index = {id(s): i for i, s in enumerate(stand_ins) if isinstance(s, Tensor)}
    found, seen, stack = {}, set(), list(outputs)
    while stack:
        t = stack.pop()
        if id(t) in seen or not t.requires_grad:
            continue
        seen.add(id(t))
        if t._ctx is None:
            found[id(t)] = (args[index[id(t)]], index[id(t)]) if id(t) in index \
                else (t, ("leaf", t))
        elif t._ctx.inputs is None:
            raise RuntimeError("checkpoint: the block reads a Tensor whose graph was already "
                               "freed by a backward pass; pass retain_graph=True to that backward")
        else:
            stack.extend(t._ctx.inputs)
    return sorted(found.values(), key=lambda s: (0, s[1]) if isinstance(s[1], int) else (1, 0))


def _check_second_order(args, positions):
    """Raise unless no Tensor the block reads directly (a parameter, or another input) lies
    upstream of an input."""
    inputs = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    direct = {id(p[1]) for p in positions if not isinstance(p, int)} | {id(a) for a in inputs}
    seen, stack = set(), [x for a in inputs if a._ctx is not None and a._ctx.inputs is not None
                          for x in a._ctx.inputs if x.requires_grad]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if id(t) in direct:
            raise RuntimeError(
                "checkpoint: backward(create_graph=True) through a block that reads a Tensor "
                f"(shape {tuple(t.shape)}) an input was also computed from is not supported; "
                "call the block without checkpoint for these second-order gradients"
            )
        if t._ctx is not None and t._ctx.inputs is not None:
            stack.extend(x for x in t._ctx.inputs if x.requires_grad)


def _generators(function, args, kwargs):
    """The generators the block may draw from: the default one and those its modules hold."""
    found = {id(default_generator()): default_generator()}
    roots = [function, getattr(function, "__self__", None), *getattr(function, "functions", ()),
             *args, *kwargs.values()]
    for cell in getattr(function, "__closure__", None) or ():
        roots.append(cell.cell_contents)
    for root in roots:
        if isinstance(root, numpy.random.Generator):
            found[id(root)] = root
        modules = getattr(root, "modules", None)
        if not callable(modules):
            continue
        for m in modules():
            for value in vars(m).values():
                if isinstance(value, numpy.random.Generator):
                    found[id(value)] = value
    return list(found.values())


def _check_same(outs, results):
    if len(outs) != len(results):
        raise CheckpointError(f"checkpoint: the recomputed block returned {len(outs)} Tensors, the "
                           f"first pass {len(results)}")
    for i, (o, r) in enumerate(zip(outs, results, strict=True)):
        xp = get_array_module(r)
        same = o._data.shape == r.shape and o._data.dtype == r.dtype and bool(
            xp.array_equal(o._data, r, equal_nan=r.dtype.kind in "fc"))
        if not same:
            raise CheckpointError(
                f"checkpoint: recomputing the block gave other values for output {i} than the "
                "first pass (shape "
                f"{tuple(o._data.shape)} vs {tuple(r.shape)}), so its gradient would be wrong: "
                "a random draw from a generator checkpoint cannot see, or a block that depends "
                "on changing state; pass the generator through a module or an argument, or "
                "determinism_check='none' to skip this check"
            )
