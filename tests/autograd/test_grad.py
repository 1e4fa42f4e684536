"""Functional gradients: ``grad`` and ``value_and_grad``."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import sum_to


def total(x):
    return sum_to(x, ())


def leaf(values):
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_grad_of_one_output_and_one_input():
    x = leaf([1.0, 2.0, 3.0])
    g = cr.grad(total(x * x), x)
    assert isinstance(g, tuple) and len(g) == 1
    np.testing.assert_allclose(g[0].numpy(), 2 * x.numpy())


def test_grad_does_not_touch_dot_grad():
    x = leaf([1.0, 2.0])
    cr.grad(total(x * x), x)
    assert x.grad is None
    total(x * 3.0).backward()
    before = x.grad.numpy().copy()
    cr.grad(total(x * x), [x])
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_grad_with_several_inputs():
    x = leaf([1.0, 2.0])
    y = leaf([3.0, -1.0])
    gx, gy = cr.grad(total(x * y + y.exp()), [x, y])
    np.testing.assert_allclose(gx.numpy(), y.numpy())
    np.testing.assert_allclose(gy.numpy(), x.numpy() + np.exp(y.numpy()))


def test_grad_with_respect_to_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    (gh,) = cr.grad(total(h * h), h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_grad_with_several_outputs_sums_them():
    x = leaf([1.0, 2.0])
    (g,) = cr.grad([total(x * x), total(x * 3.0)], x)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() + 3.0)


def test_grad_outputs_weight_a_vector_output():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    v = np.array([1.0, -1.0, 0.5])
    (g,) = cr.grad(y, x, grad_outputs=cr.tensor(v))
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() * v)
    (g2,) = cr.grad(x.exp(), x, grad_outputs=[v])
    np.testing.assert_allclose(g2.numpy(), np.exp(x.numpy()) * v)


def test_grad_outputs_for_several_outputs():
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, x * x
    (g,) = cr.grad([a, b], x, grad_outputs=[np.array([1.0, 0.0]), np.array([0.0, 1.0])])
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


def test_grad_outputs_count_must_match():
    x = leaf([1.0])
    with pytest.raises(ValueError, match="got 2 outputs but 1 grad_outputs"):
        cr.grad([x * 2.0, x * 3.0], x, grad_outputs=[np.ones(1)])


def test_grad_of_a_vector_output_without_grad_outputs():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad: gradient can be implicitly created only"):
        cr.grad(x * 2.0, x)
    # the argument grad takes it by (the message said "pass grad", backward's name)
    with pytest.raises(RuntimeError, match="pass grad_outputs "):
        cr.grad(x * 2.0, x)


def test_unused_input_raises_unless_allowed():
    x = leaf([1.0])
    unused = leaf([2.0])
    y = total(x * 2.0)
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*not used.*allow_unused=True"):
        cr.grad(y, [x, unused], retain_graph=True)
    gx, gu = cr.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [2.0])
    assert gu is None


def test_grad_input_must_be_a_tensor_that_requires_grad():
    x = leaf([1.0])
    y = total(x * 2.0)
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a Tensor, got ndarray"):
        cr.grad(y, [np.ones(1)])
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*does not require grad"):
        cr.grad(y, [x, cr.tensor([1.0])])


def test_grad_output_must_be_a_tensor():
    x = leaf([1.0])
    with pytest.raises(TypeError, match="outputs must be Tensors, got float"):
        cr.grad([1.0], x)


def test_grad_frees_the_graph_unless_retained():
    x = leaf([1.0, 2.0])
    y = total(x.exp())
    cr.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph"):
        cr.grad(y, x)
    z = total(x.exp())
    (g1,) = cr.grad(z, x, retain_graph=True)
    (g2,) = cr.grad(z, x)
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())


def test_create_graph_false_gives_plain_tensors():
    x = leaf([1.0, 2.0])
    (g,) = cr.grad(total(x**3), x)
    assert g.grad_fn is None and not g.requires_grad


def test_create_graph_true_gives_differentiable_tensors():
    x = leaf([1.0, 2.0])
    (g,) = cr.grad(total(x**3), x, create_graph=True)
    assert g.grad_fn is not None and g.requires_grad
    (gg,) = cr.grad(total(g), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy())


def test_grad_of_grad_of_a_scalar():
    x = leaf(1.5)
    (dx,) = cr.grad(x**3, x, create_graph=True)
    (ddx,) = cr.grad(dx, x, create_graph=True)
    (dddx,) = cr.grad(ddx, x)
    assert (dx.item(), ddx.item(), dddx.item()) == pytest.approx((3 * 1.5**2, 6 * 1.5, 6.0))


def test_value_and_grad_single_argument():
    f = cr.value_and_grad(lambda x: total(x * x * x))
    x = leaf([1.0, -2.0])
    value, g = f(x)
    assert value.item() == pytest.approx(1.0 - 8.0)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    assert x.grad is None


def test_value_and_grad_argnums():
    def f(x, y, scale):
        return total(x * y) * scale

    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    value, gy = cr.value_and_grad(f, argnums=1)(x, y, 2.0)
    assert value.item() == pytest.approx(22.0)
    np.testing.assert_allclose(gy.numpy(), 2 * x.numpy())
    value, grads = cr.value_and_grad(f, argnums=(0, 1))(x, y, 2.0)
    assert isinstance(grads, tuple) and len(grads) == 2
    np.testing.assert_allclose(grads[0].numpy(), 2 * y.numpy())
    np.testing.assert_allclose(grads[1].numpy(), 2 * x.numpy())


def test_value_and_grad_has_aux():
    def f(x):
        h = x * 2.0
        return total(h * h), {"hidden": h}

    x = leaf([1.0, 3.0])
    (value, aux), g = cr.value_and_grad(f, has_aux=True)(x)
    assert value.item() == pytest.approx(40.0)
    np.testing.assert_allclose(aux["hidden"].numpy(), [2.0, 6.0])
    np.testing.assert_allclose(g.numpy(), 8 * x.numpy())


def test_value_and_grad_keeps_the_function_name():
    def loss(x):
        return total(x)

    assert cr.value_and_grad(loss).__name__ == "loss"


def test_grad_asks_each_node_only_for_the_gradients_it_returns():
    """``cr.grad(loss, x)`` does not make a layer compute its weight gradient; a later backward
    through the same graph still gets every gradient."""
    import numpy as np

    seen = []

    class Scale(cr.Function):
        def forward(self, x, w):
            return x * w

        def backward(self, g):
            seen.append(self.needs_input_grad)
            x, w = self.inputs
            gx = g * w if self.needs_input_grad[0] else None
            gw = (g * x).sum() if self.needs_input_grad[1] else None
            return gx, gw

    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = cr.tensor(np.array(3.0), requires_grad=True)
    loss = Scale.apply(x, w).sum()
    (gx,) = cr.grad(loss, [x], retain_graph=True)
    assert seen == [(True, False)] and gx.tolist() == [3.0, 3.0]
    loss.backward()
    assert seen[-1] == (True, True) and w.grad.item() == 3.0 and x.grad.tolist() == [3.0, 3.0]


@pytest.mark.torch
def test_is_grads_batched_takes_one_vector_jacobian_product_per_row_as_pytorch():
    # is_grads_batched=True was a ValueError; grad(y, x, torch.eye(n), is_grads_batched=True)
    # is PyTorch's documented way to a Jacobian (and its tests of PINNs' derivatives)
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(0).standard_normal((5, 4))  # noqa: N806
    out = {}
    for L in (cr, torch):
        x = L.tensor(X, requires_grad=True)
        w = L.tensor(X[:3].T.copy(), requires_grad=True)
        y = L.tanh(x @ w)
        (jac,) = L.autograd.grad(y.sum(1), x, L.eye(5, dtype=L.float64), retain_graph=True,
                                 is_grads_batched=True)
        eye = L.eye(3, dtype=L.float64)
        gx, gw = L.autograd.grad(y, (x, w), eye[:, None, :].expand(3, 5, 3),
                                 is_grads_batched=True, create_graph=True)
        (gx.pow(2).sum() + gw.sin().sum()).backward()
        out[L.__name__] = [jac.numpy(), gx.detach().numpy(), gw.detach().numpy(),
                           x.grad.numpy(), w.grad.numpy()]
    for a, b in zip(out["chainrule"], out["torch"]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)

    def jacobian(t):  # the rows through create_graph, differentiated again by gradcheck
        with cr.enable_grad():
            return cr.grad((t.sin() * t.sum()).sum(0), t, cr.eye(2, dtype=cr.float64),
                           create_graph=True, is_grads_batched=True)[0]

    assert cr.gradcheck(jacobian, (leaf([[0.3, -0.7], [1.1, 0.2]]),))


def test_is_grads_batched_refusals_and_unused_inputs_name_the_problem():
    x, u = leaf([1.0, 2.0]), leaf([3.0])
    y = x * 2
    with pytest.raises(ValueError, match="is_grads_batched=True needs grad_outputs"):
        cr.grad(y, x, is_grads_batched=True)
    with pytest.raises(ValueError, match=r"same batch size as its first axis, got shapes \[\(\)\]"):
        cr.grad(y.sum(), x, cr.tensor(1.0), is_grads_batched=True)
    gx, gu = cr.grad(y, (x, u), cr.eye(2, dtype=cr.float64), is_grads_batched=True,
                     allow_unused=True, retain_graph=True)
    assert gu is None and gx.tolist() == [[2.0, 0.0], [0.0, 2.0]]
    (gu,) = cr.grad(y, u, cr.eye(2, dtype=cr.float64), is_grads_batched=True,
                    materialize_grads=True)
    assert gu.shape == (2, 1) and not gu.numpy().any()
