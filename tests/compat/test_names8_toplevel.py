"""Top-level names PyTorch has that chainrule lacked: constants, atleast_3d, gradient, poisson,
binomial, the runtime switches, OutOfMemoryError, get_device, cond, while_loop, GradScaler and
DLPack exchange. Values against PyTorch, float64 gradchecks, and the errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from .._case_loop import each_case, grid

RNG = np.random.default_rng(88)
F = RNG.normal(size=(4, 5))
X1 = np.array([0.0, 0.5, 1.7, 2.0])
X2 = np.array([-1.0, 0.0, 0.3, 1.1, 2.5])


@pytest.mark.torch
def test_constants_and_atleast_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("e", "pi", "inf"):
        assert getattr(cr, name) == getattr(torch, name)
    assert math.isnan(cr.nan) and cr.newaxis is None is torch.newaxis
    for shape in [(), (3,), (2, 3), (2, 3, 4), (1, 2, 3, 4)]:
        a = RNG.normal(size=shape)
        for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
            ours, theirs = getattr(cr, name)(cr.tensor(a)), getattr(torch, name)(torch.tensor(a))
            assert tuple(ours.shape) == tuple(theirs.shape)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    a, b = cr.tensor(1.0), cr.ones(2)
    pair = cr.atleast_3d(a, b)
    assert isinstance(pair, tuple) and [tuple(t.shape) for t in pair] == [(1, 1, 1), (1, 2, 1)]
    listed = cr.atleast_2d([a])
    assert isinstance(listed, tuple) and listed[0].shape == (1, 1)
    assert cr.atleast_1d(()) == () == torch.atleast_1d(())
    with pytest.raises(TypeError, match="atleast_3d: expects a Tensor.*got float"):
        cr.atleast_3d(1.0)
    assert gradcheck(lambda t: cr.atleast_3d(t) * 2, (cr.tensor(F[0], requires_grad=True),))


GRADIENT_CASES = [
    {},
    {"spacing": 2.0},
    {"spacing": 0.5, "edge_order": 2},
    {"spacing": [2.0], "dim": 1},
    {"spacing": [0.5, 3.0], "edge_order": 2},
    {"dim": -1, "edge_order": 2},
    {"dim": [1, 0]},
    {"spacing": "coords", "edge_order": 1},
    {"spacing": "coords", "edge_order": 2},
    {"spacing": "coords1", "dim": 0, "edge_order": 2},
]


def _kwargs(lib, case):
    kw = dict(case)
    if kw.get("spacing") == "coords":
        kw["spacing"] = [lib.tensor(X1), lib.tensor(X2)]
    elif kw.get("spacing") == "coords1":
        kw["spacing"] = [lib.tensor(X1)]
    return kw


def _gradient_matches_torch_case(case):
    torch = pytest.importorskip("torch")
    ours = cr.gradient(cr.tensor(F), **_kwargs(cr, case))
    theirs = torch.gradient(torch.tensor(F), **_kwargs(torch, case))
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
    ints = cr.gradient(cr.tensor([1, 2, 4, 8]))[0]
    assert ints.dtype == np.float32
    np.testing.assert_allclose(ints.numpy(), torch.gradient(torch.tensor([1, 2, 4, 8]))[0])


@pytest.mark.torch
def test_gradient_matches_torch():
    each_case(_gradient_matches_torch_case, grid(("case", GRADIENT_CASES, str)))


@pytest.mark.parametrize("case", [GRADIENT_CASES[2], GRADIENT_CASES[8]], ids=str)
def test_gradient_is_differentiable(case):
    def fn(f):
        return cr.gradient(f, **_kwargs(cr, case))

    assert gradcheck(fn, (cr.tensor(F, requires_grad=True),))
    assert gradgradcheck(lambda f: tuple(g * g for g in fn(f)),
                         (cr.tensor(F, requires_grad=True),))

    def in_coordinates(x):
        return cr.gradient(cr.tensor(F), spacing=[x], dim=0, edge_order=2)[0]

    assert gradcheck(in_coordinates, (cr.tensor(X1, requires_grad=True),))


def test_gradient_errors():
    f = cr.tensor(F)
    with pytest.raises(ValueError, match="edge_order must be 1 or 2, got 3"):
        cr.gradient(f, edge_order=3)
    with pytest.raises(ValueError, match=r"spacing must hold one entry per dimension.*got 3"):
        cr.gradient(f, spacing=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="axis 5 is out of range"):
        cr.gradient(f, dim=5)
    with pytest.raises(ValueError, match="names a dimension more than once"):
        cr.gradient(f, dim=(0, -2))
    with pytest.raises(ValueError, match=r"at least edge_order \+ 1 = 3 samples, got size 2"):
        cr.gradient(cr.ones(2, 3), edge_order=2)
    with pytest.raises(ValueError, match=r"coordinates of dimension 1 must be a 1-D tensor of its "
                                         r"length 5, got shape \(3,\)"):
        cr.gradient(f, spacing=[cr.tensor(X1), cr.tensor(X2[:3])])
    with pytest.raises(TypeError, match="all numbers or all tensors"):
        cr.gradient(f, spacing=[2.0, cr.tensor(X2)])
    with pytest.raises(TypeError, match="input must be a Tensor, got list"):
        cr.gradient([1.0, 2.0])


@pytest.mark.torch
def test_poisson_and_binomial():
    torch = pytest.importorskip("torch")
    rates = cr.full((40000,), 3.5, dtype=cr.float64)
    draws = cr.poisson(rates, generator=cr.Generator().manual_seed(1))
    assert draws.dtype == np.float64 and not draws.requires_grad
    assert abs(draws.numpy().mean() - 3.5) < 0.05 and abs(draws.numpy().var() - 3.5) < 0.15
    again = cr.poisson(rates, generator=cr.Generator().manual_seed(1))
    np.testing.assert_array_equal(draws.numpy(), again.numpy())
    count, prob = cr.full((40000,), 12.0), cr.full((40000,), 0.25)
    b = cr.binomial(count, prob, generator=cr.Generator().manual_seed(2)).numpy()
    assert b.dtype == np.float32 and abs(b.mean() - 3.0) < 0.05 and abs(b.var() - 2.25) < 0.1
    assert set(np.unique(b)) <= set(range(13))
    tb = torch.binomial(torch.full((40000,), 12.0), torch.full((40000,), 0.25)).numpy()
    assert abs(tb.mean() - b.mean()) < 0.1  # the same law as PyTorch's (not the same stream)
    with pytest.raises(ValueError, match="poisson: rates must be non-negative"):
        cr.poisson(cr.tensor([-1.0]))
    with pytest.raises(TypeError, match="poisson: input must be a floating-point tensor"):
        cr.poisson(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match="binomial: count must be a floating-point tensor"):
        cr.binomial(cr.tensor([10]), cr.tensor([0.5]))
    with pytest.raises(ValueError, match=r"binomial: prob must lie in \[0, 1\]"):
        cr.binomial(cr.tensor([10.0]), cr.tensor([1.5]))
    with pytest.raises(ValueError, match="binomial: count must hold whole numbers"):
        cr.binomial(cr.tensor([2.5]), cr.tensor([0.5]))


@pytest.mark.torch
def test_runtime_switches_match_torch():
    torch = pytest.importorskip("torch")
    assert cr.get_num_interop_threads() >= 1
    cr.set_num_interop_threads(3)
    assert cr.get_num_interop_threads() == 3
    with pytest.raises(ValueError, match="num must be a positive int, got 0"):
        cr.set_num_interop_threads(0)
    assert cr.is_warn_always_enabled() is False
    cr.set_warn_always(True)
    assert cr.is_warn_always_enabled() is True
    cr.set_warn_always(False)
    with pytest.raises(TypeError, match="set_warn_always: expects a bool, got 1"):
        cr.set_warn_always(1)
    assert cr.set_flush_denormal(True) is False and cr.set_flush_denormal(False) is False
    with pytest.raises(TypeError, match="set_flush_denormal: expects a bool"):
        cr.set_flush_denormal(1)
    try:
        for mode, want in (("warn", 1), (2, 2), ("default", 0), (1, 1), (0, 0)):
            cr.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert cr.get_deterministic_debug_mode() == want == torch.get_deterministic_debug_mode()
            assert (cr.are_deterministic_algorithms_enabled()
                    == torch.are_deterministic_algorithms_enabled())
            assert (cr.is_deterministic_algorithms_warn_only_enabled()
                    == torch.is_deterministic_algorithms_warn_only_enabled())
        cr.use_deterministic_algorithms(True)
        assert cr.get_deterministic_debug_mode() == 2
    finally:
        cr.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(False)
    with pytest.raises(ValueError, match="debug_mode must be 0, 1 or 2, got 3"):
        cr.set_deterministic_debug_mode(3)
    with pytest.raises(ValueError, match="'default', 'warn' or 'error', got 'x'"):
        cr.set_deterministic_debug_mode("x")
    with pytest.raises(TypeError, match="debug_mode must be a str or an int, got 1.0"):
        cr.set_deterministic_debug_mode(1.0)
    assert issubclass(cr.OutOfMemoryError, RuntimeError)
    assert cr.get_device(cr.ones(2)) == -1 == torch.get_device(torch.ones(2))
    with pytest.raises(TypeError, match="get_device: input must be a Tensor, got list"):
        cr.get_device([1])
    assert cr.GradScaler is cr.amp.GradScaler


@pytest.mark.torch
def test_cond_takes_one_branch_with_its_gradient():
    torch = pytest.importorskip("torch")
    a = RNG.normal(size=3)
    for sign in (1.0, -1.0):
        x, tx = cr.tensor(a * sign, requires_grad=True), torch.tensor(a * sign, requires_grad=True)
        y = cr.cond(x.sum() > 0, lambda t, s: t.sin() * s, lambda t, s: t.cos() + s,
                    (x, cr.tensor(2.0)))
        ty = torch.cond(tx.sum() > 0, lambda t, s: t.sin() * s, lambda t, s: t.cos() + s,
                        (tx, torch.tensor(2.0)))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-14)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    assert cr.cond(False, lambda: 1, lambda: 2) == 2  # PyTorch's tracing wants tensors; not here
    assert cr.cond(1, lambda s: s + 1, lambda s: s, (2.0,)) == 3.0
    assert gradcheck(lambda t: cr.cond(cr.tensor(True), cr.exp, cr.sin, [t]),
                     (cr.tensor(a, requires_grad=True),))
    with pytest.raises(RuntimeError, match=r"pred to be a bool or a one-element tensor.*\(2,\)"):
        cr.cond(cr.tensor([True, False]), cr.exp, cr.sin, (x,))
    with pytest.raises(TypeError, match="cond: operands must be a tuple or list, got Tensor"):
        cr.cond(True, cr.exp, cr.sin, x)
    with pytest.raises(TypeError, match="cond: false_fn must be callable, got int"):
        cr.cond(True, cr.exp, 3, (x,))


@pytest.mark.torch
def test_while_loop_runs_every_iteration_with_gradients():
    torch = pytest.importorskip("torch")
    a = RNG.normal(size=3)

    def body(i, t):
        return i + 1, t.sin() * 1.5

    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    i, y = cr.while_loop(lambda i, t: i < 4, body, (cr.tensor(0), x))
    with torch.no_grad():
        ti, ty = torch.while_loop(lambda i, t: i < 4, body, (torch.tensor(0), tx.detach()))
    assert int(i) == 4 == int(ti)
    np.testing.assert_allclose(y.detach().numpy(), ty.numpy(), rtol=1e-14)
    y.sum().backward()
    t = tx
    for _ in range(4):
        t = t.sin() * 1.5
    t.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-13)
    assert gradcheck(lambda t: cr.while_loop(lambda i, t: i < 3, body, (0, t))[1],
                     (cr.tensor(a, requires_grad=True),))
    (only,) = cr.while_loop(lambda t: t.sum() < 10, lambda t: t * 2, [cr.ones(2)])
    assert only.tolist() == [8.0, 8.0]
    with pytest.raises(RuntimeError, match=r"output 1 must keep the carried input's shape \(3,\)"):
        cr.while_loop(lambda i, t: i < 2, lambda i, t: (i + 1, cr.cat([t, t])), (0, x))
    with pytest.raises(RuntimeError, match=r"as many values as carried_inputs \(2\), got Tensor"):
        cr.while_loop(lambda i, t: i < 2, lambda i, t: t, (0, x))
    with pytest.raises(TypeError, match="carried_inputs must be a tuple or list, got Tensor"):
        cr.while_loop(lambda t: False, lambda t: t, x)


@pytest.mark.torch
def test_dlpack_exchange_shares_memory_with_numpy_and_torch():
    torch = pytest.importorskip("torch")
    t = cr.arange(6.0).reshape(2, 3)
    assert t.__dlpack_device__() == (1, 0)
    seen = torch.from_dlpack(t)
    seen[0, 0] = 7.0
    assert t[0, 0].item() == 7.0
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and a[0, 0] == 7.0
    tt = torch.arange(4.0)
    mine = cr.from_dlpack(tt)
    mine.add_(1.0)
    assert tt.tolist() == [1.0, 2.0, 3.0, 4.0] and not mine.requires_grad
    arr = np.arange(3.0)
    cr.from_dlpack(arr).mul_(2.0)
    assert arr.tolist() == [0.0, 2.0, 4.0]
    back = cr.from_dlpack(cr.to_dlpack(t))
    np.testing.assert_array_equal(back.numpy(), t.numpy())
    from_capsule = cr.from_dlpack(torch.utils.dlpack.to_dlpack(tt))
    assert from_capsule.tolist() == tt.tolist()
    assert torch.from_dlpack(cr.to_dlpack(t)).tolist() == t.tolist()
    leaf = cr.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="require gradient, use tensor.detach"):
        torch.from_dlpack(leaf)
    with pytest.raises(BufferError, match="require gradient"):
        cr.to_dlpack(leaf)
    with pytest.raises(TypeError, match="from_dlpack: ext_tensor must have __dlpack__"):
        cr.from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match="to_dlpack: tensor must be a Tensor, got ndarray"):
        cr.to_dlpack(arr)


@pytest.mark.torch
@pytest.mark.parametrize(("f_dtype", "x_dtype"), [("float32", "float64"), ("float64", "float32"),
                                                  ("float32", "int64")])
def test_gradient_promotes_samples_and_coordinates_as_torch(f_dtype, x_dtype):
    torch = pytest.importorskip("torch")
    x = np.array([0, 1, 3, 4, 7]).astype(x_dtype)
    for edge_order in (1, 2):
        ours = cr.gradient(cr.tensor(F.astype(f_dtype)), spacing=[cr.tensor(x)], dim=1,
                           edge_order=edge_order)[0]
        theirs = torch.gradient(torch.tensor(F.astype(f_dtype)), spacing=[torch.tensor(x)],
                                dim=1, edge_order=edge_order)[0]
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.torch
def test_from_dlpack_device_and_copy():
    torch = pytest.importorskip("torch")
    a = np.arange(3.0)
    copied = cr.from_dlpack(a, copy=True)
    copied.mul_(0.0)
    assert a.tolist() == [0.0, 1.0, 2.0] == torch.from_dlpack(a, copy=True).tolist()
    shared = cr.from_dlpack(a, device="cpu", copy=None)
    shared.add_(1.0)
    assert a.tolist() == [1.0, 2.0, 3.0]
    assert cr.from_dlpack(a, copy=False).tolist() == a.tolist()
    with pytest.raises(TypeError, match="copy must be None, True or False, got 1"):
        cr.from_dlpack(a, copy=1)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        cr.from_dlpack(a, device="tpu")
