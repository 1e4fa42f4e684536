"""Functional gradients: ``grad(outputs, inputs)`` and ``value_and_grad(fn)``.

These return gradients instead of accumulating them into ``.grad``, which is what attacks,
explanations and gradient penalties want: they never disturb a model's parameter gradients.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping

from ..backend import get_array_module
from .graph import run_backward
from .node_hooks import run_accumulate_post, run_accumulate_pre
from .post_accumulate import after_accumulate
from .tensor import Tensor

__all__ = ["backward", "backward_into", "grad", "value_and_grad"]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate d(sum of tensors * grad_tensors)/d(leaf) into every leaf's ``.grad``
    (``torch.autograd.backward``): ``tensors`` is one Tensor or a sequence of them, and
    ``grad_tensors`` one gradient (a Tensor, or None for a one-element output) for each
    (``grad_variables``: its deprecated name). ``inputs``: accumulate into these tensors'
    ``.grad`` only (leaves or not; a dict: its values), as PyTorch's."""
    if grad_variables is not None:
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.",
                      FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("backward: grad_tensors and grad_variables (deprecated) both "
                               "given; give grad_tensors only")
        grad_tensors = grad_variables
    if inputs is not None:
        return backward_into(tensors, grad_tensors, retain_graph, create_graph, inputs)
    if isinstance(tensors, Tensor):  # one Tensor, not the sequence of its rows
        tensors, grad_tensors = (tensors,), (grad_tensors,)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    run_backward(list(tensors), None if grad_tensors is None else list(grad_tensors),
                 retain_graph=bool(create_graph if retain_graph is None else retain_graph),
                 create_graph=create_graph)



def backward_into(tensors, grad_tensors, retain_graph, create_graph, inputs) -> None:
    """``backward(..., inputs=...)``: the gradients of ``inputs`` alone (``grad``), each added
    to its tensor's ``.grad`` (a new array the tensor owns; recorded for ``create_graph``);
    the other leaves are left as they are, and an input the outputs do not reach keeps its
    ``.grad``, as PyTorch's. An input given twice counts once, and a leaf's AccumulateGrad
    hooks and post-accumulate hooks run, as in ``backward()``."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(_values("backward", inputs))
    if not inputs:
        raise RuntimeError("backward: inputs= cannot be empty, as in PyTorch (None accumulates "
                           "into every leaf)")
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            got = "a Tensor that does not" if isinstance(t, Tensor) else type(t).__name__
            raise RuntimeError(f"backward: every entry of inputs= must be a Tensor that requires "
                               f"grad, got {got}")
    inputs = tuple({id(t): t for t in inputs}.values())  # one given twice gets its gradient once
    if isinstance(tensors, Tensor):
        tensors, grad_tensors = (tensors,), (grad_tensors,)
    grads = grad(tensors, inputs, grad_tensors, retain_graph=retain_graph,
                 create_graph=create_graph, allow_unused=True)
    for t, g in zip(inputs, grads):
        if g is None:
            continue
        leaf = t._ctx is None  # its AccumulateGrad runs, with its hooks, as in backward()
        if leaf:
            g = run_accumulate_pre(t, g)
        if not create_graph:
            g = Tensor(g._data.copy())
        t.grad = g if t.grad is None else t.grad + g
        if leaf:
            if t._hooks:
                after_accumulate(t)  # register_post_accumulate_grad_hook's hooks
            run_accumulate_post(t)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs`` as a tuple (``.grad`` is untouched).

    Args:
        outputs: a Tensor or a sequence of Tensors to differentiate.
        inputs: a Tensor or a sequence of Tensors to differentiate with respect to, or a dict
            of them (``dict(model.named_parameters())``): the result is then a dict with its keys.
        grad_outputs: weights for each output (the vector in a vector-Jacobian product); may be
            omitted for one-element outputs.
        retain_graph: keep the graph for another backward pass; defaults to ``create_graph``.
        create_graph: record the gradient computation so the result can be differentiated again.
        allow_unused: return None for an input the outputs do not depend on, instead of raising.
        materialize_grads: return zeros for such an input instead (implies ``allow_unused``).
        is_grads_batched: the first axis of every ``grad_outputs`` entry is a batch of
            independent vectors; the result has the same first axis, one vector-Jacobian product
            per row (PyTorch vmaps one backward pass over it; here one pass runs per row). The
            usual way to take a Jacobian ``grad(y, x, torch.eye(n), is_grads_batched=True)``.
        only_inputs: PyTorch's deprecated argument: ignored (False warns, as PyTorch's).

    Returns:
        A tuple with one gradient Tensor per input (a dict for a dict of inputs).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (dx,) = cr.grad(x ** 3, x, create_graph=True)
    >>> (ddx,) = cr.grad(dx, x)
    >>> float(dx.item()), float(ddx.item())
    (27.0, 18.0)
    """
    if not only_inputs:  # PyTorch's deprecation: ignored, with its warning
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). "
                      "To accumulate gradient for other parts of the graph, please use "
                      "chainrule.autograd.backward.", FutureWarning, stacklevel=2)
    if isinstance(inputs, Mapping):  # dict(model.named_parameters()): a dict of the gradients
        values = _values("grad", inputs)
        result = grad(outputs, values, grad_outputs, retain_graph, create_graph, True,
                      allow_unused, is_grads_batched, materialize_grads)
        return dict(zip(inputs.keys(), result))
    if materialize_grads and allow_unused is False:
        raise ValueError("grad: materialize_grads=True needs allow_unused (True or None)")
    if is_grads_batched:
        return _grad_batched(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    allow_unused = bool(allow_unused or materialize_grads)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor) or hasattr(inputs, "_on_pattern")  # or sparse
    leaves = [inputs] if single else list(inputs)  # a sparse leaf: through its values
    if not leaves:
        raise RuntimeError("grad: inputs must not be empty (as in PyTorch); give the Tensors to "
                           "differentiate with respect to")
    inputs = [x._values() if hasattr(x, "_on_pattern") else x for x in leaves]
    if isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs]  # one array or Tensor for a single output
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: inputs[{i}] must be a Tensor, got {type(x).__name__}")
        if not x.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] (shape {x.shape}) does not require grad")
    targets = {id(x): x for x in inputs}
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(outputs, grad_outputs, retain_graph=retain_graph,
                            create_graph=create_graph, targets=targets, who="grad")
    result = []
    for i, x in enumerate(inputs):
        g = captured.get(id(x))
        if g is None and materialize_grads:  # requires grad with create_graph, as PyTorch's
            g = Tensor(get_array_module(x._data).zeros_like(x._data), requires_grad=create_graph)
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: inputs[{i}] (shape {x.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        result.append(g if g is None or not hasattr(leaves[i], "_on_pattern") else
                      leaves[i]._on_pattern(g))  # chainrule.sparse: PyTorch's sparse gradient
    return tuple(result)


def _values(who, inputs):
    """``inputs`` as given, or a dict's values (PyTorch 2.13 takes a dict, no other Mapping)."""
    if not isinstance(inputs, Mapping):
        return inputs
    if type(inputs) is not dict:
        raise TypeError(f"{who}: inputs must be a dict, not {type(inputs).__name__}; other "
                        "Mapping types are not supported (as in PyTorch)")
    return list(inputs.values())


def _grad_batched(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """``grad(is_grads_batched=True)``: one ``grad`` per row of the grad_outputs' first axis,
    the rows stacked (in the graph, as a sum of one-hot outer products, with create_graph)."""
    if grad_outputs is None:
        raise ValueError("grad: is_grads_batched=True needs grad_outputs (each with the batch "
                         "as its first axis), got None")
    many = not (isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"))
    gos = list(grad_outputs) if many else [grad_outputs]
    shapes = [None if g is None else tuple(g.shape) for g in gos]
    sizes = {s[0] for s in shapes if s}
    if len(sizes) != 1 or any(s == () for s in shapes):
        raise ValueError(f"grad: with is_grads_batched=True every grad_outputs entry needs the "
                         f"same batch size as its first axis, got shapes {shapes}")
    batch = sizes.pop()
    rows = []
    for b in range(batch):
        rows.append(grad(outputs, inputs, [None if g is None else g[b] for g in gos],
                         retain_graph=True if b < batch - 1 else retain_graph,
                         create_graph=create_graph, allow_unused=allow_unused,
                         materialize_grads=materialize_grads))
    single = isinstance(inputs, Tensor)
    xs = [inputs] if single else list(inputs)
    result = []
    for i, x in enumerate(xs):
        col = [row[i] for row in rows]
        if not col or col[0] is None:
            result.append(None if col else Tensor(get_array_module(x._data).zeros(
                (0,) + tuple(x.shape), x._data.dtype)))
            continue
        xp = get_array_module(col[0]._data)
        if not create_graph:
            result.append(Tensor(xp.stack([g._data for g in col])))
            continue
        total = None
        for b, g in enumerate(col):
            e = xp.zeros((batch,) + (1,) * g.ndim, g._data.dtype)
            e[b] = 1
            term = Tensor(e) * g.reshape((1,) + tuple(g.shape))
            total = term if total is None else total + term
        result.append(total)
    return tuple(result)


def value_and_grad(fn, argnums=0, *, has_aux=False):
    """Turn ``fn(*args) -> scalar Tensor`` into ``f(*args) -> (value, gradient(s))``.

    Args:
        fn: a function returning a one-element Tensor (or ``(value, aux)`` when ``has_aux``).
        argnums: index, or tuple of indices, of the arguments to differentiate with respect to.
            Those arguments must be Tensors that require grad.
        has_aux: ``fn`` returns ``(value, aux)``; the wrapper then returns
            ``((value, aux), grads)``.

    >>> import chainrule as cr
    >>> f = cr.value_and_grad(lambda x: (x * x).sum())
    >>> value, g = f(cr.tensor([1.0, 2.0], requires_grad=True))
    >>> g.tolist()
    [2.0, 4.0]
    """
    many = isinstance(argnums, (tuple, list))
    nums = tuple(argnums) if many else (argnums,)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        value = out[0] if has_aux else out
        grads = grad(value, [args[i] for i in nums])
        g = grads if many else grads[0]
        return (out, g)

    return wrapper
