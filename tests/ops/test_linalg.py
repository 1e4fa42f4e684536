"""matmul (NumPy semantics, batched broadcasting) and the fused linear op."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import F

from .._case_loop import each_case, grid, with_rng


def leaf(rng, shape, dtype=np.float64):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


MATMUL_SHAPES = [
    ((3, 4), (4, 2)),
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((2, 4), (4,)),
    ((5, 2, 4), (4, 3)),
    ((2, 4), (5, 4, 3)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 1, 4, 2)),
]


def _matmul_forward_matches_numpy_case(rng, sa, sb):
    a, b = leaf(rng, sa), leaf(rng, sb)
    out = a @ b
    expected = np.matmul(a.numpy(), b.numpy())
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_matmul_forward_matches_numpy():
    each_case(with_rng(_matmul_forward_matches_numpy_case), grid(
        ("sa, sb", MATMUL_SHAPES),
    ))


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul_gradcheck_and_gradgradcheck(rng, sa, sb):
    a, b = leaf(rng, sa), leaf(rng, sb)
    assert cr.gradcheck(F.matmul, (a, b))
    assert cr.gradgradcheck(F.matmul, (a, b))


def test_matmul_gradient_of_one_operand_only(rng):
    a = leaf(rng, (3, 4))
    b = cr.tensor(rng.standard_normal((4, 2)))
    (a @ b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones((3, 2)) @ b.numpy().T, rtol=1e-12)
    assert b.grad is None


@given(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3, max_side=3))
@settings(max_examples=25, deadline=None)
def test_matmul_broadcasting_property(shapes):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(0)
    a, b = leaf(rng, sa), leaf(rng, sb)
    out = a @ b
    np.testing.assert_allclose(out.numpy(), np.matmul(a.numpy(), b.numpy()), rtol=1e-12, atol=1e-12)
    assert out.shape == shapes.result_shape
    assert cr.gradcheck(F.matmul, (a, b))


def test_matmul_float32_stays_float32(rng):
    a, b = leaf(rng, (2, 3, 4), np.float32), leaf(rng, (4, 5), np.float32)
    out = a @ b
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32


def test_matmul_with_an_array_on_either_side(rng):
    a = rng.standard_normal((2, 3))
    b = leaf(rng, (3, 4))
    out = a @ b
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(out.numpy(), a @ b.numpy(), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), a.T @ np.ones((2, 4)), rtol=1e-12)
    np.testing.assert_allclose((b.T @ a.T).numpy(), (a @ b.numpy()).T, rtol=1e-12)
    np.testing.assert_allclose(b.T.matmul(a.T).numpy(), (a @ b.numpy()).T, rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "sa, sb, pattern",
    [
        ((2, 3), (4, 5), r"shapes \(2, 3\) and \(4, 5\) are not aligned"),
        ((3,), (4,), r"shapes \(3,\) and \(4,\) are not aligned"),
        ((2, 2, 3), (3, 3, 1), r"batch axes of shapes \(2, 2, 3\) and \(3, 3, 1\)"),
        ((), (3,), r"at least 1-D, got shapes \(\) and \(3,\)"),
    ],
)
def test_matmul_shape_errors_name_both_shapes(sa, sb, pattern):
    a = cr.tensor(np.ones(sa))
    b = cr.tensor(np.ones(sb))
    with pytest.raises(ValueError, match=pattern):
        F.matmul(a, b)


@pytest.mark.kernel_free
def test_matmul_rejects_non_arrays():
    with pytest.raises(TypeError, match="matmul: b must be a Tensor or an array, got list"):
        cr.tensor(np.ones((2, 2))) @ [[1.0], [2.0]]


LINEAR_SHAPES = [(4,), (3, 4), (2, 3, 4), (2, 1, 3, 4)]


def _linear_forward_matches_numpy_case(rng, xshape, with_bias):
    x, w = leaf(rng, xshape), leaf(rng, (5, 4))
    b = leaf(rng, (5,)) if with_bias else None
    out = F.linear(x, w, b)
    expected = x.numpy() @ w.numpy().T + (b.numpy() if with_bias else 0.0)
    assert out.shape == xshape[:-1] + (5,)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_linear_forward_matches_numpy():
    each_case(with_rng(_linear_forward_matches_numpy_case), grid(
        ("with_bias", [True, False]),
        ("xshape", LINEAR_SHAPES),
    ))


@pytest.mark.parametrize("xshape", LINEAR_SHAPES)
def test_linear_gradcheck_and_gradgradcheck(rng, xshape):
    x, w, b = leaf(rng, xshape), leaf(rng, (3, 4)), leaf(rng, (3,))
    assert cr.gradcheck(F.linear, (x, w, b))
    assert cr.gradgradcheck(F.linear, (x, w, b))
    assert cr.gradcheck(lambda x, w: F.linear(x, w), (x, w))
    assert cr.gradgradcheck(lambda x, w: F.linear(x, w), (x, w))


def test_linear_backward_closed_form(rng):
    x, w, b = leaf(rng, (2, 3, 4)), leaf(rng, (5, 4)), leaf(rng, (5,))
    g = rng.standard_normal((2, 3, 5))
    F.linear(x, w, b).backward(g)
    np.testing.assert_allclose(x.grad.numpy(), g @ w.numpy(), rtol=1e-12)
    x2 = x.numpy().reshape(-1, 4)
    np.testing.assert_allclose(w.grad.numpy(), g.reshape(-1, 5).T @ x2, rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), g.sum(axis=(0, 1)), rtol=1e-12)


def test_linear_computes_only_needed_gradients(rng):
    x = cr.tensor(rng.standard_normal((3, 4)))
    w, b = leaf(rng, (2, 4)), cr.tensor(rng.standard_normal(2))
    F.linear(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None
    np.testing.assert_allclose(w.grad.numpy(), np.ones((2, 3)) @ x.numpy(), rtol=1e-12)


def test_linear_float32(rng):
    x, w, b = leaf(rng, (3, 4), np.float32), leaf(rng, (2, 4), np.float32), leaf(rng, 2, np.float32)
    out = F.linear(x, w, b)
    assert out.dtype == np.float32
    out.sum().backward()
    assert w.grad.dtype == np.float32 and x.grad.dtype == np.float32 and b.grad.dtype == np.float32


@pytest.mark.kernel_free
def test_linear_errors():
    x = cr.tensor(np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=r"^linear: input has 3 features \(shape \(2, 3\)\) but weight expects 4 "
        r"\(shape \(5, 4\)\)$",
    ):
        F.linear(x, cr.tensor(np.ones((5, 4))))
    with pytest.raises(ValueError, match=r"weight must be 2-D .* got shape \(3,\)"):
        F.linear(x, cr.tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"bias must have shape \(5,\) .* got \(3,\)"):
        F.linear(x, cr.tensor(np.ones((5, 3))), cr.tensor(np.ones(3)))
    with pytest.raises(ValueError, match="input must be at least 1-D"):
        F.linear(cr.tensor(np.float64(1.0)), cr.tensor(np.ones((5, 1))))


def _matmul_matches_torch_case(rng, sa, sb):
    torch = pytest.importorskip("torch")
    a, b = leaf(rng, sa), leaf(rng, sb)
    out = a @ b
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ta = torch.tensor(a.numpy(), requires_grad=True)
    tb = torch.tensor(b.numpy(), requires_grad=True)
    tout = ta @ tb
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_matmul_matches_torch():
    each_case(with_rng(_matmul_matches_torch_case), grid(
        ("sa, sb", MATMUL_SHAPES),
    ))


@pytest.mark.torch
@pytest.mark.parametrize("xshape", LINEAR_SHAPES)
def test_linear_matches_torch(rng, xshape):
    torch = pytest.importorskip("torch")
    x, w, b = leaf(rng, xshape, np.float32), leaf(rng, (5, 4), np.float32), leaf(rng, 5, np.float32)
    out = F.linear(x, w, b)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
    tout = torch.nn.functional.linear(tx, tw, tb)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


@given(
    lead=st.lists(st.integers(1, 3), max_size=3),
    features=st.tuples(st.integers(1, 4), st.integers(1, 4)),
)
@settings(max_examples=25, deadline=None)
def test_linear_equals_matmul_with_transposed_weight(lead, features):
    rng = np.random.default_rng(0)
    n_in, n_out = features
    x, w, b = leaf(rng, (*lead, n_in)), leaf(rng, (n_out, n_in)), leaf(rng, (n_out,))
    fused = F.linear(x, w, b)
    composed = x @ w.T + b
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12, atol=1e-12)
    g = cr.tensor(rng.standard_normal(fused.shape))
    grads = cr.grad(fused, (x, w, b), g)
    expected = cr.grad(composed, (x, w, b), g)
    for ours, theirs in zip(grads, expected, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_attention_of_a_query_that_may_attend_to_no_key_is_zero_as_in_torch(rng):
    """A fully masked row was a softmax over only -inf: nan, and nan in every value gradient."""
    torch = pytest.importorskip("torch")
    q, k = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    v = rng.standard_normal((2, 5, 2))
    mask = rng.random((3, 5)) < 0.6
    mask[0] = False
    mask[1:, 0] = True
    fmask = np.where(mask, 0.0, -np.inf)
    for m in (mask, fmask):
        ours = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = F.scaled_dot_product_attention(*ours, attn_mask=cr.tensor(m))
        theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        tout = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=torch.tensor(m))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-14)
        g = rng.standard_normal(out.shape)
        out.backward(g)
        tout.backward(torch.tensor(g))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
