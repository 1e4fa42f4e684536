"""Custom Functions that change an input in place and say so with ``ctx.mark_dirty``: the input
itself is returned, becomes the custom node's output, and gradients flow to what computed it, as
in PyTorch (checked against PyTorch in float64, and by finite differences)."""

import numpy as np
import pytest

import chainrule as cr


def _functions(L, mark_first):
    class ScaleInPlace(L.autograd.Function):
        """x *= s in place; dx = s * g, ds = sum(x_before * g)."""

        @staticmethod
        def forward(ctx, x, s):
            ctx.save_for_backward(x.clone(), s)
            if mark_first:
                ctx.mark_dirty(x)
            x.mul_(s)
            if not mark_first:
                ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            before, s = ctx.saved_tensors
            return g * s, (g * before).sum().reshape(s.shape)

    class ClampInPlace(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x.abs() <= 1.0)
            ctx.mark_dirty(x)
            return x.clamp_(-1.0, 1.0)

        @staticmethod
        def backward(ctx, g):
            (inside,) = ctx.saved_tensors
            return L.where(inside, g, L.zeros_like(g))

    return ScaleInPlace, ClampInPlace


def _run(L, a0, w0, s0, mark_first):
    scale, clamp = _functions(L, mark_first)
    a, w, s = (L.tensor(v, requires_grad=True) for v in (a0, w0, s0))
    h = a * w  # its node reads its inputs, not its output
    out = scale.apply(h, s)
    same = out is h
    y = clamp.apply(out).tanh()
    (y * L.arange(1.0, 7.0, dtype=L.float64).reshape(2, 3)).sum().backward()
    return same, h.detach().numpy(), a.grad.numpy(), w.grad.numpy(), s.grad.numpy()


@pytest.mark.torch
@pytest.mark.parametrize("mark_first", [True, False])
def test_mark_dirty_matches_pytorch(mark_first):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a0, w0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    s0 = np.array([1.7])
    ours, theirs = _run(cr, a0, w0, s0, mark_first), _run(torch, a0, w0, s0, mark_first)
    assert ours[0] is True and theirs[0] is True
    for x, y in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


def test_mark_dirty_gradcheck():
    scale, clamp = _functions(cr, False)

    def f(a, s):
        return clamp.apply(scale.apply(a * 1.0, s))

    rng = np.random.default_rng(1)
    a = cr.tensor(rng.uniform(-0.8, 0.8, (3, 2)), requires_grad=True)
    s = cr.tensor([0.9], dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(f, (a, s))


def test_mark_dirty_saving_the_changed_input_differentiates_twice():
    """The dirty input saved after the change is the node's output, so a backward that reads
    it is differentiable again (its clone before the change, a constant, would not be)."""

    class ScaleInPlace(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, s):
            ctx.mark_dirty(x)
            x.mul_(s)
            ctx.save_for_backward(x, s)
            return x

        @staticmethod
        def backward(ctx, g):
            out, s = ctx.saved_tensors
            return g * s, (g * out / s).sum().reshape(s.shape)

    rng = np.random.default_rng(2)
    a = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    s = cr.tensor([1.3], dtype=cr.float64, requires_grad=True)
    f = lambda a, s: ScaleInPlace.apply(a * a, s)  # noqa: E731
    assert cr.gradcheck(f, (a, s))
    assert cr.gradgradcheck(f, (a, s))


def test_mark_dirty_counts_the_change_and_runs_without_grad():
    scale, _ = _functions(cr, True)
    x = cr.tensor([1.0, 2.0])
    before = x._version
    out = scale.apply(x, cr.tensor([3.0]))
    assert out is x and x._version > before and not x.requires_grad
    np.testing.assert_array_equal(x.numpy(), [3.0, 6.0])


def test_values_changed_before_they_were_kept_are_refused_not_misread():
    """mark_dirty called through a helper after the change: the node that computed the input
    (exp, which reads its output) cannot have its values, so backward refuses, as PyTorch's."""

    def mark(ctx, x):
        ctx.mark_dirty(x)

    class Double(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2.0)
            mark(ctx, x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2.0 * g

    a = cr.tensor([0.5, 1.0], requires_grad=True)
    out = Double.apply(a.exp())
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_mark_dirty_refusals():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(2.0) * 1.0

        @staticmethod
        def backward(ctx, g):
            return g

    _, clamp = _functions(cr, True)
    with pytest.raises(RuntimeError, match="not returned as an output"):
        Bad.apply(cr.tensor([1.0], requires_grad=True) * 1.0)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        clamp.apply(cr.tensor([3.0], requires_grad=True))
    with pytest.raises(RuntimeError, match="shares its memory"):
        clamp.apply((cr.tensor([[3.0, 0.5]], requires_grad=True) * 1.0)[0])
    with pytest.raises(TypeError, match="expects Tensors, got ndarray"):
        cr.autograd.custom.FunctionCtx((False,)).mark_dirty(np.zeros(2))
