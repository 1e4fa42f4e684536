"""A second backward through ReLU, LeakyReLU, Hardtanh, ReLU6, PReLU and the max, average and
adaptive pools gives the parameters before them a zero gradient, not none, as PyTorch's does: an R1
penalty (the gradient of a discriminator's output with respect to its input, create_graph=True)
reaches the conv biases, whose gradient is zero, and Adam or momentum SGD then step them as
PyTorch's do."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

ACTS = {"relu": lambda L: L.nn.ReLU(), "relu_": lambda L: L.nn.ReLU(inplace=True),
        "leaky_relu": lambda L: L.nn.LeakyReLU(0.2), "hardtanh": lambda L: L.nn.Hardtanh(-.5, .5),
        "relu6": lambda L: L.nn.ReLU6(), "prelu": lambda L: L.nn.PReLU(3),
        "max_pool": lambda L: L.nn.MaxPool2d(2),
        "avg_pool": lambda L: L.nn.AvgPool2d(3, stride=1, padding=1),
        "adaptive_avg": lambda L: L.nn.AdaptiveAvgPool2d(3),
        "adaptive_max": lambda L: L.nn.AdaptiveMaxPool2d(3)}
FEATURES = {"max_pool": 12, "adaptive_avg": 27, "adaptive_max": 27}


def _r1_step(L, name, optimizer):
    x0 = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    net = L.nn.Sequential(L.nn.Conv2d(3, 3, 3, padding=1), ACTS[name](L), L.nn.Flatten(),
                          L.nn.Linear(FEATURES.get(name, 48), 1)).double()
    with L.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(L.tensor(np.sin(np.arange(p.numel()) * 0.37 + i).reshape(p.shape) * 0.4))
    opt = optimizer(L, net.parameters())
    grads = []
    for _ in range(3):
        x = L.tensor(x0, requires_grad=True)
        net(x).sum().backward()  # a first-order step gives the biases momentum
        opt.step()
        opt.zero_grad()
        (g,) = L.autograd.grad(net(x).sum(), x, create_graph=True)
        g.pow(2).sum().backward()
        grads.append(None if net[0].bias.grad is None else net[0].bias.grad.numpy().copy())
        opt.step()
        opt.zero_grad()
    return grads, [p.detach().numpy() for p in net.parameters()]


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("optimizer", [
    lambda L, p: L.optim.Adam(p, lr=0.01, betas=(0.0, 0.99)),
    lambda L, p: L.optim.SGD(p, lr=0.1, momentum=0.9)])
def test_a_penalty_through_the_input_gradient_steps_the_biases_as_pytorch(name, optimizer):
    ours = _r1_step(cr, name, optimizer)
    theirs = _r1_step(torch, name, optimizer)
    assert all(g is not None and not g.any() for g in ours[0])
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
def test_zero_of_is_zero_with_a_zero_derivative_and_first_order_backward_is_unchanged(rng):
    x = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    from chainrule.ops.activation import ZeroOf

    z = ZeroOf.apply(x)
    assert not z.numpy().any() and z.shape == x.shape
    (z * 3 + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 2)))
    y = cr.tensor(rng.standard_normal(4), requires_grad=True)
    cr.nn.functional.leaky_relu(y, 0.1).sum().backward()  # not recorded: no ZeroOf node
    np.testing.assert_allclose(y.grad.numpy(), np.where(y.numpy() > 0, 1.0, 0.1))
    assert cr.gradgradcheck(lambda v: cr.nn.functional.leaky_relu(v, 0.1) * v, [y])


@pytest.mark.kernel_free
def test_a_second_backward_through_abs_gives_zeros_as_pytorchs():
    # The gradient of an L1 term taken with create_graph=True depends on x only through sgn(x),
    # whose derivative is 0: it requires grad, and a backward through it gives zeros (it raised)
    got = []
    for L in (cr, torch):
        w = L.tensor([0.5, -1.0, 0.0], requires_grad=True)
        x = w * 3
        (g,) = L.autograd.grad(x.abs().sum(), x, create_graph=True)
        assert g.requires_grad
        (g * L.tensor([1.0, 2.0, 3.0])).sum().backward()
        grad = w.grad if L is cr else w.grad + 0  # PyTorch gives a ZeroTensor: materialize it
        got.append((g.detach().numpy(), grad.numpy()))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])
    assert got[0][1].tolist() == [0.0, 0.0, 0.0]
    first = cr.tensor([0.5, -1.0])
    first.requires_grad_()
    first.abs().sum().backward()  # first order unchanged: no graph is recorded for it
    assert first.grad.tolist() == [1.0, -1.0]
