"""PReLU, Mish, Hardswish, Hardsigmoid, GLU, CELU, the shrinks, Threshold, Softmin and Softmax2d
against PyTorch (forward and backward, float64), with gradient checks."""

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

from .._case_loop import each_case, grid, with_rng
from ._torch_compare import compare

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free
TF = torch.nn.functional

FUNCTIONS = [
    ("mish", ()), ("hardswish", ()), ("tanhshrink", ()), ("celu", ()),
    ("celu", (0.5,)), ("softshrink", ()), ("softshrink", (1.2,)), ("hardshrink", ()),
    ("hardshrink", (0.9,)), ("threshold", (0.3, -2.0)), ("glu", ()), ("glu", (1,)),
]
MODULES = [
    ("Mish", ()), ("Hardswish", ()), ("Tanhshrink", ()), ("CELU", (2.0,)),
    ("Softshrink", (0.25,)), ("Hardshrink", (0.25,)), ("Threshold", (0.1, 20.0)), ("GLU", (0,)),
    ("Softmin", (1,)), ("Softmax2d", ()),
]


# celu's alpha is one a float32 holds exactly: PyTorch's celu backward rounds 1 / alpha to float32.


def _input(rng, shape=(4, 6)):
    """Values away from the kinks at 0, +-lambd, +-3 and the threshold (spacing 0.05)."""
    x = rng.standard_normal(shape) * 3
    kinks = np.array([0.0, 0.3, 0.5, 0.9, 1.2, 0.25, 0.1, -0.25, -0.5, -0.9, -1.2, 3.0, -3.0])
    near = np.abs(x[..., None] - kinks).min(-1) < 0.05
    return np.where(near, x + 0.11, x)


@pytest.mark.parametrize("name, args", FUNCTIONS, ids=[f"{n}{a}" for n, a in FUNCTIONS])
def test_functions_match_torch(rng, name, args):
    x = _input(rng)
    compare(lambda a: getattr(F, name)(a, *args), lambda a: getattr(TF, name)(a, *args), [x], rng)
    t = cr.tensor(x[:2, :4], requires_grad=True)
    assert cr.gradcheck(lambda a: getattr(F, name)(a, *args), [t])
    assert cr.gradgradcheck(lambda a: getattr(F, name)(a, *args), [t])


def test_hardsigmoid_matches_torch_and_its_exact_derivative(rng):
    """PyTorch's backward multiplies by 1/6 rounded to float32 (about 3e-8 off in float64): the
    gradient is checked against the exact derivative 1/6 between -3 and 3."""
    x = _input(rng)
    y = compare(F.hardsigmoid, TF.hardsigmoid, [x], rng, grad=())
    t = cr.tensor(x, requires_grad=True)
    w = rng.standard_normal(y.shape)
    (F.hardsigmoid(t) * cr.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.where(np.abs(x) < 3, w / 6, 0.0), rtol=1e-15)
    assert cr.gradcheck(F.hardsigmoid, [cr.tensor(x[:2], requires_grad=True)])


def _modules_match_torch_case(rng, name, args):
    x = _input(rng, (2, 4, 3, 2))
    compare(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), [x], rng)
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_modules_match_torch():
    each_case(with_rng(_modules_match_torch_case), grid(
        ("name, args", MODULES, [m for m, _ in MODULES]),
    ))


@pytest.mark.parametrize("shape, n", [((3, 4, 5), 4), ((3, 4), 1), ((5,), 1), ((2, 3, 2, 2), 3)])
def test_prelu_matches_torch(rng, shape, n):
    x = _input(rng, shape)
    w = rng.uniform(0.1, 0.5, n)
    compare(F.prelu, TF.prelu, [x, w], rng)
    t, tw = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    assert cr.gradcheck(F.prelu, [t, tw])
    assert cr.gradgradcheck(lambda a, b: F.prelu(a, b) ** 2, [t, tw])


@pytest.mark.parametrize("shape, n", [((3, 4, 2), 4), ((3, 4), 1), ((5,), 1)])
def test_prelu_second_order_matches_torch(rng, shape, n):
    """The gradients of both first-order gradients (create_graph) with respect to the input, the
    weight and the output gradient, as PyTorch's, zeros included (chainrule gave None for the
    input-gradient's derivative in the input and the weight-gradient's in the weight)."""
    x, w = _input(rng, shape), rng.uniform(-0.5, 0.5, n)
    g, u, v = rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(n)
    results = []
    for L in (cr, torch):
        xs, ws, gs = (L.tensor(a, requires_grad=True) for a in (x, w, g))
        gx, gw = L.autograd.grad(L.nn.functional.prelu(xs, ws), [xs, ws], gs, create_graph=True)
        for first, weights in ((gx, u), (gw, v)):
            second = L.autograd.grad((first * L.tensor(weights)).sum(), [xs, ws, gs],
                                     retain_graph=True)
            results.append([first.detach().numpy()] + [d.numpy() for d in second])
    for ours, theirs in zip(results[:2], results[2:], strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_prelu_gradgradcheck_in_input_and_weight(rng):
    x, w = _input(rng, (2, 3, 2)), rng.uniform(-0.5, 0.5, 3)
    t, tw = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    assert cr.gradgradcheck(F.prelu, [t, tw])
    module = nn.PReLU(3, dtype=cr.float64)
    assert cr.gradgradcheck(lambda a: module(a), [t])
    (gx,) = cr.grad(module(t).sum(), t, create_graph=True)
    (gx * gx).sum().backward()
    assert module.weight.grad is not None and t.grad is not None and not t.grad.numpy().any()


def test_prelu_module_has_pytorchs_parameter():
    ours, theirs = nn.PReLU(3, 0.1), torch.nn.PReLU(3, 0.1)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy())
    assert ours.weight.dtype == np.float32
    assert repr(ours) == repr(theirs)
    x = cr.tensor(np.array([[-1.0, 2.0, -3.0]], dtype=np.float32))
    np.testing.assert_allclose(ours(x).numpy(), [[-0.1, 2.0, -0.3]], rtol=1e-6)
    assert list(inspect.signature(nn.PReLU).parameters) == ["num_parameters", "init", "device",
                                                            "dtype"]


def test_softmin_without_dim_warns_like_torch(rng):
    x = rng.standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        y = F.softmin(cr.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        want = TF.softmin(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-12)
    compare(lambda a: F.softmin(a, -1), lambda a: TF.softmin(a, -1), [x], rng)


def test_celu_has_no_nan_gradient_for_large_input():
    x = cr.tensor([800.0, -800.0, 1.0], requires_grad=True)
    F.celu(x, 0.5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 1.0])


@pytest.mark.parametrize("call, err, match", [
    (lambda x: F.glu(x), ValueError, "axis 1 of input shape \\(2, 3\\) must have even size"),
    (lambda x: F.prelu(x, cr.tensor([0.1, 0.2])), ValueError,
     r"one per channel \(3 for input of shape \(2, 3\)\), got shape \(2,\)"),
    (lambda x: F.softshrink(x, -1.0), ValueError, "lambd must be >= 0, got -1.0"),
    (lambda x: F.celu(x, 0.0), ValueError, "alpha must not be 0"),
    (lambda x: F.threshold(x, "a", 1.0), TypeError, "threshold must be a real number"),
    (lambda x: nn.PReLU(0), ValueError, "num_parameters"),
    (lambda x: nn.Softmax2d()(x), ValueError, r"got shape \(2, 3\)"),
])
def test_bad_arguments_are_named(call, err, match):
    with pytest.raises(err, match=match):
        call(cr.tensor(np.zeros((2, 3))))
