"""amp.custom_fwd/custom_bwd and is_autocast_available; func.linearize and functionalize;
testing.assert_allclose; autograd.Variable, gradcheck, gradgradcheck and inference_mode at
torch.autograd's paths. Against PyTorch."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import amp, autograd, func

RNG = np.random.default_rng(8088)
A = RNG.normal(size=(3,))
B = RNG.normal(size=(3,))


def _scaled_square(lib, decorate_fwd, decorate_bwd):
    class ScaledSquare(lib.autograd.Function):
        @staticmethod
        @decorate_fwd
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * scale

        @staticmethod
        @decorate_bwd
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * ctx.scale * g, None

    return ScaledSquare


@pytest.mark.torch
@pytest.mark.parametrize("cast", [None, "float32"])
def test_custom_fwd_bwd_decorate_a_function_as_torch(cast):
    torch = pytest.importorskip("torch")
    ours = _scaled_square(cr, amp.custom_fwd(device_type="cpu", cast_inputs=cast and cr.float32),
                          amp.custom_bwd(device_type="cpu"))
    theirs = _scaled_square(torch, torch.amp.custom_fwd(device_type="cpu",
                                                        cast_inputs=cast and torch.float32),
                            torch.amp.custom_bwd(device_type="cpu"))
    x, tx = cr.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    y, ty = ours.apply(x, 1.5), theirs.apply(tx, 1.5)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-15)
    assert y.dtype == np.float64  # outside autocast nothing is cast, as in PyTorch
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15)


def test_custom_fwd_bare_and_errors():
    fwd = amp.custom_fwd(lambda ctx, x: x * 2, device_type="cuda")
    bwd = amp.custom_bwd(lambda ctx, g: g * 2, device_type="cuda")

    class Double(cr.autograd.Function):
        forward = staticmethod(fwd)
        backward = staticmethod(bwd)

    x = cr.tensor(A, requires_grad=True)
    Double.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0] * 3
    with pytest.raises(ValueError, match="custom_fwd: expected device_type of type str, got 0"):
        amp.custom_fwd(lambda ctx: None, device_type=0)
    with pytest.raises(ValueError, match="custom_bwd: expected device_type of type str"):
        amp.custom_bwd(device_type=None)
    with pytest.raises(TypeError, match="custom_fwd: expected a forward function, got int"):
        amp.custom_fwd(3, device_type="cpu")
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument"):
        amp.custom_fwd(lambda ctx: None)


def test_is_autocast_available_says_no():
    assert amp.is_autocast_available("cpu") is False and amp.is_autocast_available("cuda") is False
    with pytest.raises(TypeError, match="device_type must be a str, got int"):
        amp.is_autocast_available(0)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.func.linearize's tracing
@pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr Node")
def test_linearize_matches_torch():
    torch = pytest.importorskip("torch")

    def f(x, y):
        return (x.sin() * y, (x * x).sum())

    out, jvp_fn = func.linearize(f, cr.tensor(A), cr.tensor(B))
    tout, tjvp_fn = torch.func.linearize(f, torch.tensor(A), torch.tensor(B))
    for a, b in zip(out, tout):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-15)
    for _ in range(2):
        u, v = RNG.normal(size=3), RNG.normal(size=3)
        got = jvp_fn(cr.tensor(u), cr.tensor(v))
        want = tjvp_fn(torch.tensor(u), torch.tensor(v))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match=r"jvp_fn takes one tangent per primal \(2\), got 1"):
        jvp_fn(cr.tensor(A))
    with pytest.raises(ValueError, match="tangents must have the structure and shapes"):
        jvp_fn(cr.ones(4), cr.ones(3))
    with pytest.raises(TypeError, match="linearize: primals must be Tensors"):
        func.linearize(f, [1.0], cr.tensor(B))


@pytest.mark.torch
def test_functionalize_keeps_values_and_gradients():
    torch = pytest.importorskip("torch")

    def f(x):
        y = x * 2
        y.add_(1.0)
        y[0] = x[1] * 3
        return y.exp()

    x, tx = cr.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    g = func.functionalize(f)
    assert g.__name__ == "f"
    y = g(x)
    functional = torch.func.functionalize(f, remove="mutations_and_views")(torch.tensor(A))
    np.testing.assert_allclose(y.detach().numpy(), functional.numpy(), rtol=1e-15)
    ty = f(tx)  # PyTorch's functionalized program has no derivative for its copy in eager mode
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    with pytest.raises(ValueError, match="remove must be 'mutations' or"):
        func.functionalize(f, remove="views")


@pytest.mark.torch
def test_assert_allclose_warns_and_uses_torch_tolerances():
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        with pytest.warns(FutureWarning, match="assert_allclose\\(\\)` is deprecated"):
            lib.testing.assert_allclose(lib.tensor([1.0, float("nan")]),
                                        [1.00005, float("nan")])  # float32: rtol 1e-4
        with pytest.warns(FutureWarning), pytest.raises(AssertionError):
            lib.testing.assert_allclose(lib.tensor([1.0], dtype=lib.float64), [1.0001])
        with pytest.warns(FutureWarning):
            lib.testing.assert_allclose(lib.tensor([1, 2]), lib.tensor([1.0, 2.0]))
        with pytest.warns(FutureWarning), pytest.raises(AssertionError, match="custom"):
            lib.testing.assert_allclose(lib.tensor([1.0]), [2.0], msg="custom")


@pytest.mark.torch
def test_variable_and_autograd_paths_match_torch():
    torch = pytest.importorskip("torch")
    x = cr.ones(2)
    v = autograd.Variable(x, requires_grad=True)
    tv = torch.autograd.Variable(torch.ones(2), requires_grad=True)
    assert v.requires_grad and v.is_leaf and v is not x and not x.requires_grad
    assert tv.requires_grad and tv.is_leaf
    assert isinstance(x, autograd.Variable) and isinstance(v, cr.Tensor)
    assert not isinstance(np.ones(2), autograd.Variable)
    with cr.no_grad():
        v.mul_(3.0)
    assert x.tolist() == [3.0, 3.0]  # shared memory, as PyTorch's
    y = autograd.Variable(cr.tensor(A, requires_grad=True) * 2)
    assert not y.requires_grad and y.grad_fn is None
    assert autograd.Variable().shape == (0,) == tuple(torch.autograd.Variable().shape)
    with pytest.warns(UserWarning, match="volatile was removed"):
        autograd.Variable(x, volatile=True)
    with pytest.raises(TypeError, match="Variable: data has to be a Tensor, but got list"):
        autograd.Variable([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = cr.tensor(A, requires_grad=True)
        assert autograd.gradcheck(lambda t: t.sin() * t, (a,))
        assert autograd.gradgradcheck(lambda t: t.sin() * t, (a,))
        assert torch.autograd.gradgradcheck(lambda t: t.sin() * t,
                                            (torch.tensor(A, requires_grad=True),))
    assert autograd.gradcheck is cr.gradcheck and autograd.gradgradcheck is cr.gradgradcheck
    assert autograd.inference_mode is cr.inference_mode
    with autograd.inference_mode():
        assert not cr.is_grad_enabled() and cr.is_inference_mode_enabled()


@pytest.mark.torch
def test_increment_version_as_torch():
    torch = pytest.importorskip("torch")
    x, tx = cr.ones(2), torch.ones(2)
    v, tv = x._version, tx._version
    autograd.graph.increment_version(x)
    autograd.graph.increment_version([x, x])
    torch.autograd.graph.increment_version(tx)
    torch.autograd.graph.increment_version([tx, tx])
    assert x._version - v == 3 == tx._version - tv
    y = cr.tensor(A, requires_grad=True) * 1.0
    z = y * y
    autograd.graph.increment_version(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    with pytest.raises(TypeError, match="expects a Tensor or an iterable of Tensors, got float"):
        autograd.graph.increment_version([1.0])
