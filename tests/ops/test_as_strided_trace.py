"""``as_strided`` (a strided read of a tensor's memory; ops/strided.py) and ``chainrule.trace``
given a Tensor (PyTorch's ``torch.trace``): forward and backward against PyTorch, gradcheck and
gradgradcheck in float64, the refusals, and the tracer still reached with a callable."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _both(fn, *arrays):
    out = []
    for lib in (cr, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = fn(lib, *xs)
        w = lib.tensor(np.linspace(0.5, 2.0, y.numel()).reshape(tuple(y.shape)))
        grads = lib.autograd.grad((y * w).sum(), xs)
        out.append((y.detach().numpy(), [g.numpy() for g in grads]))
    return out


_CASES = {
    # overlapping sliding windows of a vector
    "windows": (lambda L, x: x.as_strided((4, 3), (1, 1)), [(6,)]),
    "function_form": (lambda L, x: L.as_strided(x, (3, 2), (2, 1), 1), [(7,)]),
    # im2col patches of an image batch from its own strides
    "patches": (lambda L, x: x.as_strided((2, 3, 2, 2, 2), (*x.stride(), *x.stride()[1:])),
                [(2, 4, 3)]),
    # a transposed (non-contiguous) input read in its memory order
    "transposed": (lambda L, x: x.t().as_strided((3, 4), (4, 1)), [(4, 3)]),
    # a slice's storage offset is where reading starts by default
    "slice_offset": (lambda L, x: (x[2:] * 1).as_strided((2, 2), (1, 2)) + x[2:].as_strided(
        (2,), (3,)).sum(), [(8,)]),
    "zero_stride": (lambda L, x: x.as_strided((3, 2), (0, 1)), [(4,)]),
}


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", sorted(_CASES))
def test_as_strided_matches_pytorch(name):
    fn, shapes = _CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [rng.standard_normal(s) for s in shapes]
    (y, g), (ty, tg) = _both(fn, *arrays)
    np.testing.assert_allclose(y, ty, rtol=1e-12, atol=0)
    for a, b in zip(g, tg):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.kernel_free
def test_as_strided_gradcheck_and_gradgradcheck():
    x = cr.tensor(np.random.default_rng(0).standard_normal(7), requires_grad=True)

    def f(t):
        return (t.as_strided((3, 3), (2, 1)) ** 2).sum(1)

    assert cr.autograd.gradcheck(f, (x,))
    assert cr.autograd.gradgradcheck(f, (x,))


@pytest.mark.kernel_free
def test_as_strided_result_is_a_view_as_pytorchs():
    """A write through the result reaches the input and the reverse, in both libraries."""
    out = []
    for lib in (cr, torch):
        x = lib.tensor(np.arange(8.0))
        w = x[1:].as_strided((2, 3), (3, 1))
        w[0, 1] = 100.0
        x[5] = -1.0
        m = lib.tensor(np.arange(12.0).reshape(4, 3))
        m.t().as_strided((2, 2), (3, 1), 1)[1, 1] = 99.0
        s = lib.tensor(5.0)
        z = s.as_strided((2,), (0,))
        s.fill_(3.0)
        out.append([x.numpy(), w.numpy(), m.numpy(), z.numpy(),
                    tuple(x.as_strided((0, 3), (1, 1)).shape)])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


@pytest.mark.kernel_free
def test_as_strided_write_is_recorded_and_counted():
    """A recorded write through the view reaches the gradient; it counts as input's change."""
    grads = []
    for lib in (cr, torch):
        a = lib.tensor(np.arange(6.0), requires_grad=True)
        k = lib.tensor(2.0, requires_grad=True)
        y = a * 1
        v = y.as_strided((3,), (2,))
        before = y._version
        v.mul_(k)
        assert y._version > before and v._version == y._version
        (y * lib.tensor(np.arange(6.0) + 1)).sum().backward()
        grads.append((a.grad.numpy(), k.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


@pytest.mark.kernel_free
def test_as_strided_overlapping_result_is_read_only():
    """One position read twice: an in-place change would write it twice (as unfold's)."""
    x = cr.tensor(np.arange(6.0))
    for w in (x.as_strided((4, 3), (1, 1)), x.as_strided((2, 2), (0, 1))):
        with pytest.raises(RuntimeError, match="more than one element .* is one memory"):
            w.add_(1)
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0))
    w = x.as_strided((2, 2), (0, 1)).clone()
    w.add_(1)
    x.as_strided((3,), (2,)).zero_()  # no overlap: writable
    np.testing.assert_array_equal(x.numpy(), [0, 1, 0, 3, 0, 5])


@pytest.mark.kernel_free
@pytest.mark.parametrize("args, match", [
    (((3, 3), (2, 1)), r"memory position 6, which is not one of input's elements"),
    (((2,), (-1,)), "size and stride must not be negative"),
    (((2, 2), (1,)), "must have the same length"),
    (((2.0,), (1,)), "size must be a tuple of ints, got"),
    (((2,), (1,), -1), "storage_offset must be an int >= 0, got -1"),
])
def test_as_strided_refusals_name_the_argument(args, match):
    x = cr.tensor(np.arange(6.0))
    with pytest.raises((ValueError, TypeError), match=match):
        x.as_strided(*args)


@pytest.mark.kernel_free
def test_as_strided_refuses_memory_outside_a_slice():
    """PyTorch may read the rest of the storage; chainrule reads only the slice's elements."""
    x = cr.tensor(np.arange(8.0))
    with pytest.raises(ValueError, match="not one of input's elements"):
        x[2:5].as_strided((4,), (1,))


def test_trace_of_a_tensor_is_torch_trace():
    a = np.random.default_rng(1).standard_normal((3, 4))
    (y, g), (ty, tg) = _both(lambda L, x: L.trace(x @ x.T), a)
    np.testing.assert_allclose(y, ty, rtol=1e-12)
    np.testing.assert_allclose(g[0], tg[0], rtol=1e-12)
    assert cr.trace(input=cr.tensor(a)).item() == pytest.approx(np.trace(a))
    x = cr.tensor(a[:, :3], requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: cr.trace(t @ t), (x,))
    with pytest.raises(ValueError, match="expects a 2-D tensor"):
        cr.trace(cr.tensor(a[0]))
    with pytest.raises(TypeError, match="torch.trace takes one 2-D Tensor"):
        cr.trace(cr.tensor(a), cr.tensor(a))


def test_trace_of_a_callable_is_still_the_tracer():
    model = cr.nn.Linear(3, 2).eval()
    x = cr.tensor(np.ones((1, 3), dtype=np.float32))
    fast = cr.trace(model, x)
    assert isinstance(fast, cr.autograd.tracing.Traced)
    with cr.no_grad():
        np.testing.assert_array_equal(fast(x).numpy(), model(x).numpy())
