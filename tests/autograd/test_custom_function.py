"""PyTorch-style custom Functions (static forward(ctx, ...) / backward(ctx, ...)) written once
and run under both libraries: values, gradients, double backward and the errors."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _library_functions(L):
    """The same four custom Functions, written against library ``L`` as a PyTorch program."""

    class GradReverse(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            return grad.neg() * ctx.alpha, None

    class StraightThroughRound(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.round()

        @staticmethod
        def backward(ctx, grad):
            return grad

    class MyExp(L.autograd.Function):  # saves its output; its backward differentiates again
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    class ScaledPair(L.autograd.Function):  # two outputs, PyTorch 2's setup_context style
        @staticmethod
        def forward(x, w):
            return x * w, x - w

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g_prod, g_diff):
            x, w = ctx.saved_tensors
            return g_prod * w + g_diff, g_prod * x - g_diff

    return GradReverse, StraightThroughRound, MyExp, ScaledPair


def _run(L, x0, w0):
    grad_reverse, ste, my_exp, pair = _library_functions(L)
    x = L.tensor(x0, requires_grad=True)
    w = L.tensor(w0, requires_grad=True)
    a, b = pair.apply(x, w)
    y = (grad_reverse.apply(a, 0.5) * ste.apply(x * 3) + my_exp.apply(b) * 2).sum()
    (gx,) = L.autograd.grad(y, [x], create_graph=True)
    (ggw,) = L.autograd.grad((gx * gx).sum(), [w], retain_graph=True)
    y.backward()
    return y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), gx.detach().numpy(), ggw.numpy()


def test_custom_functions_match_pytorch_to_second_order():
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for ours, theirs in zip(_run(cr, x0, w0), _run(torch, x0, w0)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_unused_output_gets_zeros_and_non_differentiable_outputs_carry_no_grad():
    class SortWithIndices(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort()
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, g_values, g_indices):
            assert float(g_indices.abs().sum()) == 0.0  # materialized zeros
            (idx,) = ctx.saved_tensors
            out = cr.zeros(g_values.shape, dtype=g_values.dtype)
            out[idx] = g_values
            return out

    x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = SortWithIndices.apply(x)
    assert not indices.requires_grad and values.requires_grad
    (values * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [100.0, 1.0, 10.0])
    assert "SortWithIndicesBackward" in repr(values.grad_fn)


def test_mistakes_are_reported_clearly():
    class TooFew(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            return x * scale

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="TooFew.backward returned 1 gradients, but forward "
                                           "took 2 inputs"):
        TooFew.apply(x, 2.0).sum().backward()

    class Saves(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2

    leaf = cr.ones(2, requires_grad=True)
    h = leaf * 1
    out = Saves.apply(h)
    with cr.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()

    class NotATensor(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 3

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(TypeError, match="must return a Tensor or a tuple of Tensors, got int"):
        NotATensor.apply(x)


def test_once_differentiable_backward_is_not_recorded():
    from chainrule.autograd.function import once_differentiable

    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    x = cr.tensor([1.0, -2.0], requires_grad=True)
    (g,) = cr.grad(Square.apply(x).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, -4.0])
    assert not g.requires_grad
    with cr.no_grad():  # no node when nothing is recorded
        assert Square.apply(x).grad_fn is None


def test_outputs_that_are_not_tensors_pass_through():
    # forward returning a number or None beside Tensors raised "must return a Tensor or a
    # tuple of Tensors"; PyTorch passes them through and backward gets None for them
    def run(L):
        class Tagged(L.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return "tag", x * 2, None, x.sum()

            @staticmethod
            def backward(ctx, g_tag, g_double, g_none, g_sum):
                assert g_tag is None and g_none is None
                return g_double * 2 + g_sum

        x = L.tensor([1.0, 2.0, -0.5], dtype=L.float64, requires_grad=True)
        tag, double, none, total = Tagged.apply(x)
        (double * L.tensor([1.0, -2.0, 3.0], dtype=L.float64)).sum().backward(retain_graph=True)
        first = x.grad.numpy().copy()
        total.backward()
        with L.no_grad():
            assert Tagged.apply(x)[0] == "tag"
        return tag, none, double.detach().numpy(), first, x.grad.numpy()

    ours, theirs = run(cr), run(torch)
    assert ours[:2] == theirs[:2] == ("tag", None)
    for o, t in zip(ours[2:], theirs[2:]):
        np.testing.assert_allclose(o, t, rtol=1e-12)
