"""chainrule.autograd.functional against torch.autograd.functional: jacobian, hessian, vjp,
jvp, vhp, hvp on the same functions (float64), with tuples, create_graph and strict mode."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _f(L):
    def f(x, w):  # two inputs, two outputs
        h = (x @ w).tanh()
        return h * x.sum(), (h ** 2).sum(dim=0)
    return f


def _scalar(L):
    def s(x, w):
        return ((x @ w).sigmoid() * x.exp().sum()).sum() + (w ** 3).sum()
    return s


def _inputs(L):
    rng = np.random.default_rng(0)
    return (L.tensor(rng.standard_normal((3, 2))), L.tensor(rng.standard_normal((2, 4))))


def _close(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for u, v in zip(a, b):
            _close(u, v)
    else:
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def _both(name, fn, *args, **kwargs):
    ours = getattr(cr.autograd.functional, name)(fn(cr), _inputs(cr), *[
        a(cr) for a in args], **kwargs)
    theirs = getattr(torch.autograd.functional, name)(fn(torch), _inputs(torch), *[
        a(torch) for a in args], **kwargs)
    _close(ours, theirs)
    return ours


def test_jacobian_and_hessian_match_pytorch():
    _both("jacobian", _f)
    _both("hessian", _scalar)
    x0 = np.random.default_rng(1).standard_normal(4)
    single = cr.autograd.functional.hessian(lambda x: (x ** 4).sum(), cr.tensor(x0))
    want = torch.autograd.functional.hessian(lambda x: (x ** 4).sum(), torch.tensor(x0))
    _close(single, want)


def test_products_match_pytorch():
    rng = np.random.default_rng(2)
    v_out = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    v_in = [rng.standard_normal((3, 2)), rng.standard_normal((2, 4))]

    def outs(L):
        return tuple(L.tensor(a) for a in v_out)

    def ins(L):
        return tuple(L.tensor(a) for a in v_in)

    _both("vjp", _f, outs)
    _both("jvp", _f, ins)
    _both("vhp", _scalar, ins)
    _both("hvp", _scalar, ins)


def test_create_graph_keeps_results_differentiable():
    x = cr.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
    jac = cr.autograd.functional.jacobian(lambda t: t ** 3, x, create_graph=True)
    (g,) = cr.grad(jac.sum(), [x])  # d/dx sum(diag(3x^2)) = 6x
    np.testing.assert_allclose(g.numpy(), 6 * x.numpy())
    out, (vj,) = cr.autograd.functional.vjp(lambda t: (t ** 2).sum(), (x,), create_graph=True)
    assert out.requires_grad and vj.requires_grad


def test_independent_inputs_give_zeros_or_raise_in_strict_mode():
    x, y = cr.ones(2, dtype="float64"), cr.ones(3, dtype="float64")
    jx, jy = cr.autograd.functional.jacobian(lambda a, b: a * 2, (x, y))
    np.testing.assert_array_equal(jy.numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(jx.numpy(), 2 * np.eye(2))
    with pytest.raises(RuntimeError, match="independent of input 1; this is not allowed in "
                                           "strict mode"):
        cr.autograd.functional.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    h = cr.autograd.functional.hessian(lambda a: a.sum() * 3, x)  # linear: a zero Hessian
    np.testing.assert_array_equal(h.numpy(), np.zeros((2, 2)))


def test_grad_takes_pytorchs_materialize_grads():
    x, y = cr.ones(2, requires_grad=True), cr.ones(3, requires_grad=True)
    gx, gy = cr.grad((x * 2).sum(), [x, y], materialize_grads=True)
    np.testing.assert_array_equal(gy.numpy(), np.zeros(3))
    with pytest.raises(RuntimeError, match="inputs\\[1\\] .* was not used"):
        cr.grad((x * 2).sum(), [x, y])
    with pytest.raises(TypeError, match="inputs\\[0\\] must be a Tensor"):
        cr.autograd.functional.jacobian(lambda a: a, (3.0,))
    with pytest.raises(RuntimeError, match="v can be omitted only"):
        cr.autograd.functional.vjp(lambda a: a * 2, cr.ones(2))
