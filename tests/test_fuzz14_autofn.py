"""Fuzz wave 14, user-defined autograd: custom Functions written as PyTorch programs write them
(saved inputs and outputs, needs_input_grad, set_materialize_grads(False), mark_non_differentiable,
several outputs some unused, double backward), torch.autograd.grad's options, tensor hooks and
torch.autograd.functional, each run in chainrule and PyTorch 2.13 and compared: values, dtypes,
shapes, float64 gradients, and error against no error."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

ERRORS = (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError)


def _plain(o):
    if isinstance(o, (tuple, list)):
        return [_plain(x) for x in o]
    if hasattr(o, "detach"):
        return ("T", str(o.dtype).replace("torch.", ""), tuple(o.shape),
                o.detach().numpy().copy())
    return o


def _same(a, b, where=""):
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{where}: {len(a)} items, torch's {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, tuple) and a[:1] == ("T",) and isinstance(b, tuple):
        assert a[1:3] == b[1:3], f"{where}: chainrule {a[1:3]}, torch {b[1:3]}"
        np.testing.assert_allclose(a[3], b[3], rtol=1e-12, atol=1e-12, err_msg=where)
    else:
        assert a == b, f"{where}: chainrule {a!r}, torch {b!r}"


def both(program, label=""):
    """Run ``program(L)`` with L = chainrule and L = torch: both raise, or both give the same."""
    got = []
    for lib in (cr, torch):
        try:
            got.append((True, _plain(program(lib))))
        except ERRORS as e:
            got.append((False, e))
    (c_ok, c), (t_ok, t) = got
    assert c_ok == t_ok, f"{label}: chainrule {'computed' if c_ok else repr(c)}, torch " \
                         f"{'computed' if t_ok else repr(t)}"
    if c_ok:
        _same(c, t, label)
    return c if c_ok else None


def _t(lib, values, requires_grad=True):
    return lib.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_set_materialize_grads_false_gives_none_for_outputs_without_gradient():
    # chainrule accepted set_materialize_grads(False) but gave zeros all the same: a backward
    # written as PyTorch's ("if g2 is None: ...") took the other branch
    def program(lib):
        seen = []

        class Three(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3, x * 4

            @staticmethod
            def backward(ctx, a, b, c):
                seen.append((a is None, b is None, c is None))
                kept = [g * k for g, k in ((a, 2), (b, 3), (c, 4)) if g is not None]
                return sum(kept[1:], kept[0])

        x = _t(lib, [1.0, -2.0])
        a, b, c = Three.apply(x)
        (a.sum() + c.sum()).backward(retain_graph=True)
        (g,) = lib.autograd.grad((b * b).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x, retain_graph=True)
        a.register_hook(lambda g: g * 10)
        first = x.grad.clone()
        a.sum().backward()
        return first, g, gg, x.grad, seen

    seen = both(program, "materialize")[-1]
    assert seen == [[False, True, False], [True, False, True], [True, False, True],
                    [False, True, True]]

