"""Reductions: sum, mean, max/min, logsumexp, var/std, argmax/argmin."""

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


def _logsumexp(x, axis=None, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    y = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis)


NUMPY = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "logsumexp": _logsumexp,
    "var": np.var,
    "std": np.std,
}
OPS = list(NUMPY)
AXES = [None, 0, -1, (0, 2), (-1, 0), (0, 1, 2), ()]


def _forward_matches_numpy_case(rng, op, axis, keepdims):
    x = leaf(rng, (2, 3, 4))
    spread = {"ddof": 0} if op in ("var", "std") else {}  # NumPy's default (chainrule's: 1)
    out = getattr(x, op)(axis=axis, keepdims=keepdims, **spread)
    expected = NUMPY[op](x.numpy(), axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
def test_forward_matches_numpy():
    each_case(with_rng(_forward_matches_numpy_case), grid(
        ("keepdims", [False, True]),
        ("axis", AXES),
        ("op", OPS),
    ))


GRAD_CASES = [
    (op, shape, axis)
    for op in OPS
    for shape, axis in [((5,), None), ((3, 4), 1), ((2, 3, 4), (0, 2)), ((), None)]
    if not (op in ("var", "std") and shape == ())  # one element has no spread
]


@pytest.mark.kernel_free
@pytest.mark.parametrize("op, shape, axis", GRAD_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_gradcheck_and_gradgradcheck(rng, op, shape, axis, keepdims):
    x = leaf(rng, shape)  # continuous random values: no ties in max/min, no zero variance
    fn = getattr(F, op)
    assert cr.gradcheck(lambda x: fn(x, axis=axis, keepdims=keepdims), x)
    assert cr.gradgradcheck(lambda x: fn(x, axis=axis, keepdims=keepdims), x)


@pytest.mark.kernel_free
@pytest.mark.parametrize("op", OPS)
def test_float32_in_float32_out(rng, op):
    x = leaf(rng, (3, 4), np.float32)
    out = getattr(x, op)(axis=1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@given(  # not kernel_free: a draw that sums a matrix over its rows reads K.column_sums
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    data=st.data(),
    keepdims=st.booleans(),
)
@settings(max_examples=25, deadline=None)
def test_sum_and_mean_over_random_axes(shape, data, keepdims):
    ndim = len(shape)
    axes = data.draw(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim))
    axis = data.draw(st.sampled_from([tuple(axes), None] + ([axes[0]] if axes else [])))
    x = leaf(np.random.default_rng(0), shape)
    n = x.numel() if axis is None else int(np.prod([shape[a] for a in np.atleast_1d(axis)]))
    for op, scale in ((F.sum, 1.0), (F.mean, 1.0 / n)):
        out = op(x, axis=axis, keepdims=keepdims)
        expected = (np.sum if op is F.sum else np.mean)(x.numpy(), axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
        (gx,) = cr.grad(out, x, cr.tensor(np.ones(out.shape)))
        np.testing.assert_allclose(gx.numpy(), np.full(shape, scale), rtol=1e-12)


@pytest.mark.kernel_free
def test_sum_backward_broadcasts_the_incoming_gradient(rng):
    x = leaf(rng, (2, 3, 4))
    g = rng.standard_normal((2, 4))
    x.sum(axis=1).backward(g)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(g[:, None, :], (2, 3, 4)))


@pytest.mark.kernel_free
def test_max_and_min_route_the_gradient_to_the_extremum():
    x = cr.tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, -3.0]]), requires_grad=True)
    (gmax,) = cr.grad(x.max(axis=1).sum(), x)
    (gmin,) = cr.grad(x.min(axis=0).sum(), x)
    np.testing.assert_array_equal(gmax.numpy(), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(gmin.numpy(), [[1, 0, 0], [0, 1, 1]])


@pytest.mark.kernel_free
def test_max_splits_the_gradient_evenly_among_ties():
    x = cr.tensor(np.array([[3.0, 1.0, 3.0, 3.0], [2.0, 2.0, 0.0, 1.0]]), requires_grad=True)
    x.max(axis=1).backward(cr.tensor(np.array([3.0, 1.0])))
    np.testing.assert_allclose(x.grad.numpy(), [[1, 0, 1, 1], [0.5, 0.5, 0, 0]])
    y = cr.tensor(np.array([2.0, -1.0, -1.0]), requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0, 0.5, 0.5])


@pytest.mark.kernel_free
def test_logsumexp_is_stable_for_large_and_infinite_values():
    big = cr.tensor(np.array([1000.0, 1000.0, -1000.0]), requires_grad=True)
    out = big.logsumexp()
    np.testing.assert_allclose(out.item(), 1000.0 + np.log(2.0), rtol=1e-12)
    out.backward()
    np.testing.assert_allclose(big.grad.numpy(), [0.5, 0.5, 0.0], atol=1e-12)
    small = cr.tensor(np.array([-1000.0, -1000.0]))
    np.testing.assert_allclose(small.logsumexp().item(), -1000.0 + np.log(2.0), rtol=1e-12)
    masked = cr.tensor(np.array([[-np.inf, 0.0], [-np.inf, -np.inf]]))
    np.testing.assert_array_equal(masked.logsumexp(axis=1).numpy(), [0.0, -np.inf])
    assert cr.tensor(np.array([np.inf, 1.0])).logsumexp().item() == np.inf


@pytest.mark.kernel_free
def test_logsumexp_gradient_is_the_softmax(rng):
    x = leaf(rng, (3, 5))
    x.logsumexp(axis=1).sum().backward()
    e = np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), e / e.sum(axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 1, (0, 2)])
def test_var_and_std_with_ddof(rng, ddof, axis):
    x = leaf(rng, (3, 4, 5))
    for op in ("var", "std"):
        out = getattr(x, op)(axis=axis, ddof=ddof)
        expected = getattr(np, op)(x.numpy(), axis=axis, ddof=ddof)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
        assert cr.gradcheck(lambda x: getattr(F, op)(x, axis=axis, ddof=ddof), x)
    assert cr.gradgradcheck(lambda x: F.var(x, axis=axis, ddof=ddof), x)


@pytest.mark.kernel_free
def test_var_gradient_closed_form(rng):
    x = leaf(rng, (4, 6))
    x.var(axis=1, ddof=1).sum().backward()
    xn = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (xn - xn.mean(axis=1, keepdims=True)) / 5)


def _argmax_argmin_match_numpy_case(rng, op, axis, keepdims):
    x = leaf(rng, (3, 4))
    out = getattr(x, op)(axis=axis, keepdims=keepdims)
    expected = getattr(np, op)(x.numpy(), axis=axis, keepdims=keepdims)
    assert out.dtype.kind == "i"
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out.shape == np.shape(expected)


@pytest.mark.kernel_free
def test_argmax_argmin_match_numpy():
    each_case(with_rng(_argmax_argmin_match_numpy_case), grid(
        ("keepdims", [False, True]),
        ("axis", [None, 0, 1, -1]),
        ("op", ["argmax", "argmin"]),
    ))


@pytest.mark.kernel_free
def test_argmax_takes_the_first_of_ties_and_rejects_several_axes():
    x = cr.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    np.testing.assert_array_equal(F.argmax(x, axis=1).numpy(), [1, 0])
    np.testing.assert_array_equal(F.argmin(x, axis=(1,)).numpy(), [0, 0])
    with pytest.raises(TypeError, match="argmax: axis must be an int or None"):
        F.argmax(x, axis=(0, 1))


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "call, exc, pattern",
    [
        (lambda x: x.sum(axis=3), ValueError, r"sum: axis 3 is out of range for a 3-D tensor"),
        (lambda x: x.mean(axis=-4), ValueError, r"mean: axis -4 is out of range"),
        (lambda x: x.max(axis=(0, -3)), ValueError, r"max: repeated axis in \(0, -3\)"),
        (lambda x: x.min(axis=1.0), TypeError, r"min: axis must be an int, a tuple"),
        (lambda x: x.std(ddof=-1), ValueError, r"std: ddof must be a non-negative number, got -1"),
        (lambda x: x.argmin(axis=5), ValueError, r"argmin: axis 5 is out of range"),
    ],
)
def test_invalid_arguments(call, exc, pattern):
    x = cr.tensor(np.ones((2, 3, 4)))
    with pytest.raises(exc, match=pattern):
        call(x)


@pytest.mark.kernel_free
def test_a_zero_dim_tensor_takes_axis_0_and_minus_1_only():  # PyTorch's rule
    x = cr.tensor(np.float64(2.0), requires_grad=True)
    assert x.sum(axis=None).item() == 2.0 and x.max(axis=()).item() == 2.0
    assert x.sum(axis=0).item() == 2.0 and x.sum(axis=-1).shape == ()
    with pytest.raises(ValueError, match=r"axis 1 is out of range for a 0-D tensor \(valid: -1 or"):
        x.sum(axis=1)


def test_empty_reductions_raise():
    x = cr.tensor(np.ones((0, 3)))
    assert x.sum(axis=0).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"max: cannot reduce over an axis of size 0"):
        x.max(axis=0)
    with pytest.raises(ValueError, match=r"mean: cannot average over zero elements"):
        x.mean()
    with pytest.raises(ValueError, match=r"argmax: cannot reduce over an axis of size 0"):
        x.argmax()
    assert x.max(axis=1).shape == (0,)


def _torch_call(torch, op, t, axis, keepdims):
    dim = tuple(range(t.ndim)) if axis is None else axis
    if op == "max":
        return torch.amax(t, dim=dim, keepdim=keepdims)
    if op == "min":
        return torch.amin(t, dim=dim, keepdim=keepdims)
    if op in ("var", "std"):
        return getattr(torch, op)(t, dim=dim, keepdim=keepdims)  # both default to correction=1
    return getattr(torch, op)(t, dim=dim, keepdim=keepdims)


def _matches_torch_case(rng, op, axis, keepdims):
    torch = pytest.importorskip("torch")
    x = leaf(rng, (2, 3, 4))
    out = getattr(x, op)(axis=axis, keepdims=keepdims)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    tout = _torch_call(torch, op, tx, axis, keepdims)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_matches_torch():
    each_case(with_rng(_matches_torch_case), grid(
        ("axis, keepdims", [(None, False), (1, True), ((0, 2), False), (-1, False)]),
        ("op", OPS),
    ))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_ties_match_torch_amax_and_unbiased_var_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[3.0, 1.0, 3.0, 3.0], [2.0, 2.0, 0.0, 1.0]])
    x = cr.tensor(data, requires_grad=True)
    x.max(axis=1).sum().backward()
    tx = torch.tensor(data, requires_grad=True)
    torch.amax(tx, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    y = cr.tensor(data, requires_grad=True)
    y.std(axis=0, ddof=1).sum().backward()
    ty = torch.tensor(data, requires_grad=True)
    torch.std(ty, dim=0).sum().backward()  # torch's default correction is 1
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_std_of_a_constant_slice_has_gradient_zero_as_in_torch():
    """sqrt's infinite derivative at a zero deviation times the zero deviation was nan."""
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]])
    for kwargs in ({"dim": 1, "correction": 1}, {"dim": 1, "unbiased": False}, {}):
        x = cr.tensor(data, requires_grad=True)
        g = np.array([0.5, -2.0]) if kwargs else np.array(1.5)
        x.std(**kwargs).backward(g)
        t = torch.tensor(data, requires_grad=True)
        t.std(**kwargs).backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)
    spread = cr.tensor(data[1:] * [[1, 2, 3]], requires_grad=True)
    assert cr.gradgradcheck(lambda t: t.std(axis=1), [spread])


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("values", [
    np.array([[False, True, False, True], [True, False, False, True]]),
    np.array([[0, 1, 200, 2], [3, 255, 0, 0]], dtype=np.uint8),
    np.array([[np.iinfo(np.int64).min, 0, 5, 5], [1, -1, 1, 0]]),
    np.array([[1.0, np.nan, 3.0, -np.inf], [0.0, -0.0, np.nan, 2.0]]),
])
def test_descending_sort_and_topk_of_bool_unsigned_int_min_and_nan_match_torch(values):
    """Sorting -x for a descending order was wrong for these (bool was even left ascending)."""
    torch = pytest.importorskip("torch")
    ours = F.sort(cr.tensor(values), dim=1, descending=True)
    theirs = torch.sort(torch.tensor(values), dim=1, descending=True, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(F.argsort(cr.tensor(values), dim=0, descending=True).numpy(),
                                  torch.argsort(torch.tensor(values), dim=0, descending=True,
                                                stable=True).numpy())
    if values.dtype.kind == "f":
        np.testing.assert_array_equal(F.topk(cr.tensor(values), 2, dim=1).values.numpy(),
                                      torch.topk(torch.tensor(values), 2, dim=1).values.numpy())


EMPTY_DIM = {
    "sum": lambda M, x, d, k: x.sum(dim=d, keepdim=k),
    "mean": lambda M, x, d, k: x.mean(dim=d, keepdim=k),
    "nansum": lambda M, x, d, k: x.nansum(dim=d, keepdim=k),
    "nanmean": lambda M, x, d, k: M.nanmean(x, dim=d, keepdim=k),
    "var": lambda M, x, d, k: x.var(dim=d, keepdim=k, correction=1),
    "std": lambda M, x, d, k: x.std(d, True, k),
    "var_mean": lambda M, x, d, k: M.var_mean(x, dim=d, keepdim=k, correction=0)[0],
    "std_mean": lambda M, x, d, k: M.std_mean(x, dim=d, keepdim=k, correction=0)[1],
    "amax": lambda M, x, d, k: x.amax(dim=d, keepdim=k),
    "amin": lambda M, x, d, k: M.amin(x, d, k),
    "norm": lambda M, x, d, k: x.norm(dim=d, keepdim=k),
    "count_nonzero": lambda M, x, d, k: M.count_nonzero(x, dim=d),
}


def _an_empty_dim_reduces_every_dimension_as_pytorchs_case(op, dim, keepdim):
    # PyTorch reduces over all dimensions for dim=() or dim=[]; chainrule reduced over none and
    # returned the input unchanged (found by the fifth fuzz wave). NumPy's axis=() keeps NumPy's
    # rule.
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(3).standard_normal((2, 3, 4))
    x0[0, 1, 2] = 0.0
    x, t = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    y, u = EMPTY_DIM[op](cr, x, dim, keepdim), EMPTY_DIM[op](torch, t, dim, keepdim)
    assert y.shape == tuple(u.shape)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-12)
    if op != "count_nonzero":  # PyTorch's backward of var/std with dim=() divides by 0: dim=None
        y.sum().backward()
        EMPTY_DIM[op](torch, t, None, keepdim).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert cr.tensor(x0).sum(axis=()).shape == (2, 3, 4)  # NumPy's name, NumPy's rule


@pytest.mark.kernel_free
@pytest.mark.torch
def test_an_empty_dim_reduces_every_dimension_as_pytorchs():
    each_case(_an_empty_dim_reduces_every_dimension_as_pytorchs_case, grid(
        ("keepdim", [False, True]),
        ("dim", [(), []]),
        ("op", list(EMPTY_DIM)),
    ))


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("stable", [True, False])
@pytest.mark.parametrize("descending", [True, False])
def test_sort_and_argsort_take_pytorchs_stable_keyword(stable, descending):
    # stable= was a TypeError (found by the fifth fuzz wave); the order is always stable.
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(2).integers(-2, 3, size=(3, 7)).astype(float)  # many ties
    ours = cr.sort(cr.tensor(x0), 1, descending, stable=stable)
    theirs = torch.sort(torch.tensor(x0), dim=1, descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(
        cr.tensor(x0).argsort(dim=0, descending=descending, stable=stable).numpy(),
        torch.tensor(x0).argsort(dim=0, descending=descending, stable=True).numpy())


_NO_DOF_SHAPE_KWARGS = [((1,), {}), ((2,), {"correction": 2}),
                                           ((3, 1), {"dim": 1}), ((0,), {}),
                                           ((2, 3), {"dim": 0, "correction": 3})]


def _no_degrees_of_freedom_is_inf_or_nan_as_pytorch_case(op, shape, kwargs):
    """n - ddof <= 0: PyTorch's inf or nan (a quotient by 0) and its warning, and nan
    gradients; this was a ValueError, which stopped programs PyTorch runs (one-element stds)."""
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(1).standard_normal(shape)
    x, xt = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        got = getattr(x, op)(**kwargs)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        want = getattr(xt, op)(**kwargs)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    if data.size:
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@pytest.mark.kernel_free
def test_no_degrees_of_freedom_is_inf_or_nan_as_pytorch():
    each_case(_no_degrees_of_freedom_is_inf_or_nan_as_pytorch_case, grid(
        ("shape, kwargs", _NO_DOF_SHAPE_KWARGS),
        ("op", ["var", "std"]),
    ))
