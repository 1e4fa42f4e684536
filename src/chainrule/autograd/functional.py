"""Jacobians, Hessians and their products of a function, PyTorch's ``torch.autograd.functional``.

Each is built on reverse mode (``grad``), the engine's one way to differentiate:

- ``vjp(f, x, v)``: v^T J, one backward pass with ``v`` as the output's gradient;
- ``jvp(f, x, v)``: J v, by the double-backward trick: g(u) = J^T u is linear in a dummy ``u``,
  so differentiating u . ... again, g's vector-Jacobian product with ``v`` is J v;
- ``jacobian(f, x)``: one backward pass per output element, the rows of J;
- ``hessian(f, x)``: the Jacobian of the gradient (recorded with ``create_graph``);
- ``vhp``/``hvp``: v^T H and H v, a backward pass through the recorded gradient.

As in PyTorch, the inputs are differentiated as fresh leaves (``detach().requires_grad_()``, or
a view that stays in the graph with ``create_graph``); an input the outputs do not depend on has
a zero gradient, or raises with ``strict=True`` (as does, with ``create_graph`` too, a derivative
that does not depend on the inputs); results are detached unless ``create_graph``.

``jacobian(strategy="forward-mode", vectorize=True)`` (and ``hessian``'s
``outer_jacobian_strategy``) gives forward mode's results, PyTorch's: the output's dtype, and
recorded where an input requires grad; its values are the reverse-mode Jacobian's.
"""

from __future__ import annotations

from ..backend import get_array_module
from .grad import grad
from .mode import is_grad_enabled
from .tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _tuple(who, name, x):
    """``x`` as a tuple of Tensors, and whether it was given as a tuple (a list is refused, as
    PyTorch's: its ``jacobian`` of a list would be ambiguous with a Tensor's)."""
    if isinstance(x, list):
        raise TypeError(f"{who}: {name} must be a Tensor or a tuple of Tensors (as in PyTorch), "
                        f"got a list; pass tuple({name})")
    many = isinstance(x, tuple)
    items = tuple(x) if many else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return items, many


def _leaves(who, inputs, create_graph):
    xs = []
    for i, x in enumerate(inputs):
        if x._data.dtype.kind != "f":
            raise TypeError(f"{who}: inputs[{i}] must be a floating-point Tensor, got dtype "
                            f"{x.dtype}")
        xs.append(x.view_as(x) if create_graph and x.requires_grad
                  else x.detach().requires_grad_(True))
    return tuple(xs)


def _zeros(like):
    return Tensor(get_array_module(like._data).zeros_like(like._data))


def _grads(who, outputs, inputs, grad_outputs, create_graph, strict, out_index=0):
    """``grad`` with zeros for what does not depend on an input (an error when ``strict``)."""
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        found = (None,) * len(inputs)
    else:
        found = grad([o for o, _ in live], inputs, [g for _, g in live], retain_graph=True,
                     create_graph=create_graph, allow_unused=True)
    result = []
    for i, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if strict:
                raise RuntimeError(f"{who}: output {out_index} of the function is independent "
                                   f"of input {i}; this is not allowed in strict mode")
            g = _zeros(x)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"{who}: the derivative of output {out_index} with respect to "
                               f"input {i} does not depend on the inputs; this is not allowed "
                               "in strict mode with create_graph=True")
        result.append(g)
    return tuple(result)


def _outputs(who, func, xs):
    out = func(*xs)
    outs, many = _tuple(who, "outputs", out)
    return outs, many


def _finish(value, create_graph):
    return value if create_graph else value.detach()


def _shape_back(items, many):
    return items if many else items[0]


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``; ``v`` may be omitted for a one-element output."""
    ins, many_in = _tuple("vjp", "inputs", inputs)
    xs = _leaves("vjp", ins, create_graph)
    outs, many_out = _outputs("vjp", func, xs)
    if v is None:
        if len(outs) != 1 or outs[0]._data.size != 1:
            raise RuntimeError("vjp: v can be omitted only for a function with one output of "
                               f"one element, got shapes {[tuple(o.shape) for o in outs]}")
        vs = (Tensor(get_array_module(outs[0]._data).ones_like(outs[0]._data)),)
    else:
        vs, _ = _tuple("vjp", "v", v)
        _check_like("vjp", "v", vs, outs)
    g = _grads("vjp", outs, xs, vs, create_graph, strict)
    return (_shape_back(tuple(_finish(o, create_graph) for o in outs), many_out),
            _shape_back(tuple(_finish(t, create_graph) for t in g), many_in))


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``; ``v`` may be omitted for a one-element input."""
    ins, many_in = _tuple("jvp", "inputs", inputs)
    xs = _leaves("jvp", ins, create_graph)
    if v is None:
        if len(xs) != 1 or xs[0]._data.size != 1:
            raise RuntimeError("jvp: v can be omitted only for one input of one element")
        vs = (Tensor(get_array_module(xs[0]._data).ones_like(xs[0]._data)),)
    else:
        vs, _ = _tuple("jvp", "v", v)
        _check_like("jvp", "v", vs, xs)
    outs, many_out = _outputs("jvp", func, xs)
    dummies = tuple(_zeros(o).requires_grad_(True) for o in outs)
    g = _grads("jvp", outs, xs, dummies, True, strict)  # J^T u, linear in u
    live = [(t, w) for t, w in zip(g, vs) if t.requires_grad]
    if live:
        found = grad([t for t, _ in live], dummies, [w for _, w in live],
                     create_graph=create_graph, allow_unused=True)
    else:
        found = (None,) * len(dummies)
    if strict and create_graph and any(f is not None and not f.requires_grad for f in found):
        raise RuntimeError("jvp: the Jacobian-vector product does not depend on the inputs; "
                           "this is not allowed in strict mode with create_graph=True")
    jv = tuple(_zeros(o) if f is None else f for o, f in zip(outs, found))
    return (_shape_back(tuple(_finish(o, create_graph) for o in outs), many_out),
            _shape_back(tuple(_finish(t, create_graph) for t in jv), many_out))


def _check_like(who, name, given, wanted):
    if len(given) != len(wanted) or any(tuple(a.shape) != tuple(b.shape)
                                        for a, b in zip(given, wanted)):
        raise RuntimeError(f"{who}: {name} must match the shapes "
                           f"{[tuple(b.shape) for b in wanted]}, got "
                           f"{[tuple(a.shape) for a in given]}")


def _rows(who, out, xs, create_graph, strict, out_index):
    """The Jacobian of one output with respect to each input, ``out.shape + x.shape``."""
    xp = get_array_module(out._data)
    n = out._data.size
    rows = [[] for _ in xs]
    for k in range(n):
        onehot = xp.zeros(out._data.shape, out._data.dtype)
        onehot.reshape(-1)[k] = 1
        g = _grads(who, (out,), xs, (Tensor(onehot),), create_graph, strict, out_index)
        for i, gi in enumerate(g):
            rows[i].append(gi)
    result = []
    for x, row in zip(xs, rows):
        shape = tuple(out.shape) + tuple(x.shape)
        if not create_graph:
            data = xp.stack([r._data for r in row]) if row else xp.zeros(
                (0,) + tuple(x.shape), x._data.dtype)
            result.append(Tensor(data.reshape(shape)))
            continue
        # Recorded: the sum over k of (one-hot k) outer (row k), so the result stays in the graph.
        total = Tensor(xp.zeros(shape, x._data.dtype))
        for k, r in enumerate(row):
            e = xp.zeros((n,) + (1,) * x.ndim, x._data.dtype)
            e[k] = 1
            total = total + (Tensor(e) * r.reshape((1,) + tuple(x.shape))).reshape(shape)
        result.append(total)
    return tuple(result)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``out.shape + in.shape`` per output and input
    (a tuple over inputs, and over outputs, where those were given as tuples).

    ``vectorize`` is accepted (the rows are computed one at a time) but, as in PyTorch, not
    together with ``strict``. ``strategy="forward-mode"`` needs ``vectorize=True`` and refuses
    ``strict`` and ``create_graph``, as PyTorch's; its Jacobian has the output's dtype and is
    recorded where an input requires grad (see the module docstring)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got "
                         f"{strategy!r}")
    forward = strategy == "forward-mode"
    if forward and create_graph:
        raise NotImplementedError("jacobian: create_graph=True and strategy='forward-mode' are "
                                  "not supported together (as in PyTorch)")
    if forward and strict:
        raise RuntimeError("jacobian: strict=True and strategy='forward-mode' are not supported "
                           "together (as in PyTorch)")
    if forward and not vectorize:
        raise NotImplementedError("jacobian: strategy='forward-mode' is implemented for "
                                  "vectorize=True only (as in PyTorch)")
    if strict and vectorize:
        raise RuntimeError("jacobian: strict=True and vectorize=True are not supported together "
                           "(as in PyTorch); set one of them to False")
    ins, many_in = _tuple("jacobian", "inputs", inputs)
    if forward:  # the tangents of inputs that require grad carry their graph
        create_graph = is_grad_enabled() and any(x.requires_grad for x in ins)
    xs = _leaves("jacobian", ins, create_graph)
    outs, many_out = _outputs("jacobian", func, xs)
    per_out = []
    for j, o in enumerate(outs):
        rows = _rows("jacobian", o, xs, create_graph, strict, j)
        if forward:
            rows = tuple(r if r.dtype == o.dtype else r.to(o.dtype) for r in rows)
        per_out.append(_shape_back(list(rows) if forward and many_in else rows, many_in))
    # PyTorch's forward mode gives lists, not tuples, over several inputs (and then outputs)
    return _shape_back(list(per_out) if forward and many_in else tuple(per_out), many_out)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of the one-element ``func`` at ``inputs``: ``in_i.shape + in_j.shape`` for
    each pair of inputs (a tuple of tuples for several inputs)."""
    ins, many_in = _tuple("hessian", "inputs", inputs)

    def gradient(*xs):
        g = _grads("hessian", (_scalar("hessian", func(*xs)),), xs, (None,), True, strict)
        return g if many_in else g[0]

    return jacobian(gradient, ins if many_in else ins[0], create_graph, strict, vectorize,
                    strategy=outer_jacobian_strategy)


def _scalar(who, out):
    """``out``, which must be one Tensor (not a tuple, as in PyTorch) of one element."""
    if not isinstance(out, Tensor):
        raise RuntimeError(f"{who}: the function must return a single Tensor, got "
                           f"{type(out).__name__}")
    if out._data.size != 1:
        raise RuntimeError(f"{who}: the function must return a Tensor of one element, got "
                           f"shape {tuple(out.shape)}")
    return out


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a one-element ``func``; ``v`` may be omitted for one
    input of one element."""
    return _vhp("vhp", func, inputs, v, create_graph, strict)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``: for a twice continuously differentiable function H is
    symmetric, so H v = (v^T H)^T, which ``vhp`` computes."""
    return _vhp("hvp", func, inputs, v, create_graph, strict)


def _vhp(who, func, inputs, v, create_graph, strict):
    ins, many_in = _tuple(who, "inputs", inputs)
    xs = _leaves(who, ins, create_graph)
    outs = (_scalar(who, func(*xs)),)
    if v is None:  # PyTorch's: only for one input of one element
        if len(xs) != 1 or xs[0]._data.size != 1:
            raise RuntimeError(f"{who}: v can be omitted only for one input of one element, "
                               f"got shapes {[tuple(x.shape) for x in xs]}")
        vs = (Tensor(get_array_module(xs[0]._data).ones_like(xs[0]._data)),)
    else:
        vs, _ = _tuple(who, "v", v)
        _check_like(who, "v", vs, xs)
    g = _grads(who, outs, xs, (None,), True, strict)
    h = _grads(who, g, xs, vs, create_graph, strict)
    return _finish(outs[0], create_graph), _shape_back(
        tuple(_finish(t, create_graph) for t in h), many_in)
