"""Wave 23: ``autograd.functional`` and ``autograd.grad`` against PyTorch 2.13: a list of inputs,
of outputs or of ``v`` is refused (PyTorch's ``_as_tuple``), forward mode's Jacobian comes back in
lists (PyTorch's structure), and ``grad`` with no inputs raises."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

X = np.random.default_rng(23).standard_normal(3)


def _structure(tree):
    if isinstance(tree, (tuple, list)):
        return (type(tree).__name__, [_structure(t) for t in tree])
    return tuple(tree.shape)


def _pairs(a, b):
    if isinstance(a, (tuple, list)):
        for x, y in zip(a, b):
            yield from _pairs(x, y)
    else:
        yield a, b


@pytest.mark.parametrize(
    "many_in, many_out, hess",
    [(True, False, False), (True, True, False), (False, True, False), (True, False, True)],
)
def test_forward_mode_jacobian_has_pytorchs_structure(many_in, many_out, hess):
    # PyTorch's forward mode (torch.autograd.functional._jacfwd) returns lists over several inputs
    # and, with several inputs, over the outputs too; its reverse mode gives tuples. Its vmap is
    # too slow to start here, so the structure is written out and the values are its reverse
    # mode's.
    def build(lib, strategy):
        x = lib.tensor(X)
        ins = (x, x * 2) if many_in else x

        def f(*a):
            y = (a[0] * a[-1]).sin()
            return y.sum() if hess else ((y, a[0].exp()) if many_out else y)

        af = lib.autograd.functional
        fwd = strategy == "forward-mode"
        if hess:
            return af.hessian(f, ins, vectorize=fwd, outer_jacobian_strategy=strategy)
        return af.jacobian(f, ins, vectorize=fwd, strategy=strategy)

    want, got = build(torch, "reverse-mode"), build(cr, "forward-mode")
    seq = "list" if many_in else "tuple"
    inner = (seq, [(3, 3)] * 2) if many_in else (3, 3)
    assert _structure(got) == ((seq, [inner] * 2) if (many_out or hess) else inner)
    for w, g in _pairs(want, got):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("call", ["jacobian", "hessian", "vjp", "jvp", "hvp", "list_v", "list_out"])
def test_lists_are_refused_as_in_pytorch(call):
    def run(lib):
        x = lib.tensor(X)
        af = lib.autograd.functional

        def f(a, b):
            return (a * b).sum()

        return {
            "jacobian": lambda: af.jacobian(f, [x, x]),
            "hessian": lambda: af.hessian(f, [x, x]),
            "vjp": lambda: af.vjp(f, [x, x]),
            "jvp": lambda: af.jvp(lambda a: a * 2, [x], (x,)),
            "hvp": lambda: af.hvp(lambda a: (a**3).sum(), [x], [x]),
            "list_v": lambda: af.vjp(lambda a: a * 2, x, [x]),
            "list_out": lambda: af.jacobian(lambda a: [a * 2], x),
        }[call]()

    with pytest.raises(TypeError):
        run(torch)
    with pytest.raises(TypeError, match="tuple of Tensors .*got a list"):
        run(cr)
    np.testing.assert_allclose(  # a tuple is taken, the same call otherwise
        cr.autograd.functional.jacobian(lambda a, b: a * b, (cr.tensor(X),) * 2)[1].numpy(),
        np.diag(X),
        rtol=1e-12,
    )


def test_grad_refuses_empty_inputs():
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        with pytest.raises(RuntimeError, match="empty"):
            lib.autograd.grad((x * x).sum(), [])
    x = cr.tensor(X, requires_grad=True)
    (g,) = cr.autograd.grad((x * x).sum(), [x])
    np.testing.assert_allclose(g.numpy(), 2 * X, rtol=1e-12)
