"""Elementwise ops: forward vs NumPy, float64 gradcheck and gradgradcheck, broadcasting, torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule import F

from .._case_loop import each_case, grid, with_rng

pytestmark = pytest.mark.kernel_free


def _any(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def _nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def _off_bounds(rng, shape):
    """Values in (-1.5, 1.5) kept at least 0.05 away from the clip bounds +-0.5 (gradient kinks)."""
    x = rng.uniform(-1.5, 1.5, shape)
    near = np.abs(np.abs(x) - 0.5) < 0.05
    return np.where(near, x * 1.3, x)


# name -> (chainrule fn, numpy fn, input sampler, torch fn)
UNARY = {
    "neg": (F.neg, np.negative, _any, lambda t: -t),
    "exp": (F.exp, np.exp, _any, lambda t: t.exp()),
    "log": (F.log, np.log, _positive, lambda t: t.log()),
    "sqrt": (F.sqrt, np.sqrt, _positive, lambda t: t.sqrt()),
    "abs": (F.abs, np.abs, _nonzero, lambda t: t.abs()),
    "clip": (lambda x: F.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), _off_bounds,
             lambda t: t.clamp(-0.5, 0.5)),
    "clip_low": (lambda x: F.clip(x, low=-0.5), lambda x: np.clip(x, -0.5, None), _off_bounds,
                 lambda t: t.clamp(min=-0.5)),
    "clip_high": (lambda x: F.clip(x, high=0.5), lambda x: np.clip(x, None, 0.5), _off_bounds,
                  lambda t: t.clamp(max=0.5)),
    "pow3": (lambda x: F.pow(x, 3), lambda x: x**3, _any, lambda t: t**3),
    "pow_half": (lambda x: x**0.5, lambda x: x**0.5, _positive, lambda t: t**0.5),
    "pow_neg": (lambda x: x**-1.5, lambda x: x**-1.5, _positive, lambda t: t**-1.5),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, _any, lambda t: 2.0**t),
}

# name -> (chainrule fn, numpy fn, sampler for a, sampler for b, torch fn)
BINARY = {
    "add": (F.add, np.add, _any, _any, lambda a, b: a + b),
    "sub": (F.sub, np.subtract, _any, _any, lambda a, b: a - b),
    "mul": (F.mul, np.multiply, _any, _any, lambda a, b: a * b),
    "div": (F.div, np.divide, _any, _nonzero, lambda a, b: a / b),
    "pow": (F.pow, np.power, _positive, _any, lambda a, b: a**b),
    "maximum": (F.maximum, np.maximum, _any, _any, lambda a, b: a.maximum(b)),
    "minimum": (F.minimum, np.minimum, _any, _any, lambda a, b: a.minimum(b)),
}

UNARY_SHAPES = [(), (5,), (2, 3)]
BINARY_SHAPES = [
    ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2)), ((4, 1, 2), (3, 1)),
]


def leaf(values, dtype=np.float64):
    return cr.tensor(np.asarray(values).astype(dtype), requires_grad=True)


def _unary_forward_matches_numpy_case(rng, name, dtype):
    fn, ref, sample, _ = UNARY[name]
    x = sample(rng, (3, 4)).astype(dtype)
    out = fn(cr.tensor(x))
    assert out.dtype == dtype and out.shape == (3, 4)
    np.testing.assert_allclose(out.numpy(), ref(x), rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_unary_forward_matches_numpy():
    each_case(with_rng(_unary_forward_matches_numpy_case), grid(
        ("dtype", [np.float32, np.float64]),
        ("name", UNARY),
    ))


def _binary_forward_matches_numpy_case(rng, name, dtype):
    fn, ref, sample_a, sample_b, _ = BINARY[name]
    a, b = sample_a(rng, (2, 3)).astype(dtype), sample_b(rng, (3,)).astype(dtype)
    out = fn(cr.tensor(a), cr.tensor(b))
    assert out.dtype == dtype and out.shape == (2, 3)
    np.testing.assert_allclose(out.numpy(), ref(a, b), rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_binary_forward_matches_numpy():
    each_case(with_rng(_binary_forward_matches_numpy_case), grid(
        ("dtype", [np.float32, np.float64]),
        ("name", BINARY),
    ))


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_unary_gradcheck_and_gradgradcheck(rng, name, shape):
    fn, _, sample, _ = UNARY[name]
    x = leaf(sample(rng, shape))
    assert cr.gradcheck(fn, x)
    assert cr.gradgradcheck(fn, x)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_binary_gradcheck_and_gradgradcheck(rng, name, shapes):
    fn, _, sample_a, sample_b, _ = BINARY[name]
    a, b = leaf(sample_a(rng, shapes[0])), leaf(sample_b(rng, shapes[1]))
    assert cr.gradcheck(fn, [a, b])
    assert cr.gradgradcheck(fn, [a, b])


@pytest.mark.parametrize("name", BINARY)
def test_binary_with_a_constant_operand(rng, name):
    fn, _, sample_a, sample_b, _ = BINARY[name]
    a = leaf(sample_a(rng, (2, 3)))
    b = cr.tensor(sample_b(rng, (3,)))
    assert cr.gradcheck(fn, [a, b])
    assert cr.gradcheck(lambda b: fn(cr.tensor(a.numpy()), b), leaf(b.numpy()))


def _unbroadcast(g, shape):
    """Reference: sum ``g`` down to ``shape`` in plain NumPy."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


CLOSED_FORM = {
    "add": (lambda a, b, g: g, lambda a, b, g: g),
    "sub": (lambda a, b, g: g, lambda a, b, g: -g),
    "mul": (lambda a, b, g: g * b, lambda a, b, g: g * a),
    "div": (lambda a, b, g: g / b, lambda a, b, g: -g * a / b**2),
    "pow": (lambda a, b, g: g * b * a ** (b - 1), lambda a, b, g: g * a**b * np.log(a)),
    "maximum": (lambda a, b, g: g * (a > b), lambda a, b, g: g * (b > a)),
    "minimum": (lambda a, b, g: g * (a < b), lambda a, b, g: g * (b < a)),
}


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       name=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None, database=None)
def test_broadcasting_gradients(shapes, name, seed):
    rng = np.random.default_rng(seed)
    fn, ref, sample_a, sample_b, _ = BINARY[name]
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = leaf(sample_a(rng, sa)), leaf(sample_b(rng, sb))
    out = fn(a, b)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.numpy(), ref(a.numpy(), b.numpy()), rtol=1e-14)
    g = rng.standard_normal(out_shape)
    ga, gb = cr.grad(out, [a, b], grad_outputs=[g])
    assert ga.shape == sa and gb.shape == sb
    da, db = CLOSED_FORM[name]
    an, bn = np.broadcast_arrays(a.numpy(), b.numpy())
    np.testing.assert_allclose(ga.numpy(), _unbroadcast(da(an, bn, g), sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), _unbroadcast(db(an, bn, g), sb), rtol=1e-10, atol=1e-12)
    assert cr.gradcheck(fn, [a, b])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_shape_errors_name_the_op_and_both_shapes(name):
    fn = BINARY[name][0]
    match = rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast together"
    with pytest.raises(ValueError, match=match):
        fn(cr.tensor(np.ones((2, 3))), cr.tensor(np.ones(4)))


def test_operators_report_shape_errors_too():
    with pytest.raises(ValueError, match=r"mul: shapes \(2,\) and \(3,\)"):
        cr.tensor(np.ones(2)) * cr.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"sub: shapes \(3,\) and \(2,\)"):
        np.ones(3) - cr.tensor(np.ones(2))


@pytest.mark.parametrize("fn, wins", [(F.maximum, [0.5, 1.0, 0.0]), (F.minimum, [0.5, 0.0, 1.0])])
def test_maximum_minimum_split_ties_evenly(fn, wins):
    a = leaf([1.0, 2.0, 3.0])
    b = leaf([1.0, 0.0, 5.0])
    fn(a, b).backward(np.ones(3))
    np.testing.assert_array_equal(a.grad.numpy(), wins)
    np.testing.assert_array_equal(b.grad.numpy(), 1.0 - np.array(wins))


def test_maximum_tie_with_a_broadcast_scalar():
    a = leaf([0.0, 1.0, 0.0])
    b = leaf(0.0)
    F.maximum(a, b).backward(np.ones(3))
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0, 0.5])
    assert b.grad.item() == 1.0


def test_clip_bounds_are_inclusive():
    x = leaf([-1.0, -0.5, 0.0, 0.5, 1.0])
    F.clip(x, -0.5, 0.5).backward(np.ones(5))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])
    y = leaf([-1.0, -0.5, 1.0])
    y.clip(low=-0.5).backward(np.ones(3))
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, 1.0])
    z = leaf([-1.0, -0.5, 1.0])
    z.clamp(min=-0.5).backward(np.ones(3))  # PyTorch's names
    np.testing.assert_array_equal(z.grad.numpy(), [0.0, 1.0, 1.0])


def test_clip_validates_its_bounds():
    x = cr.tensor([1.0])
    with pytest.raises(ValueError, match="clip: give at least one of min and max"):
        F.clip(x)
    assert F.clip(x, 1.0, 0.0).tolist() == [0.0]  # min > max: every entry is max, PyTorch's rule


def test_abs_gradient_is_zero_at_zero():
    x = leaf([-2.0, 0.0, 3.0])
    F.abs(x).backward(np.ones(3))
    np.testing.assert_array_equal(x.grad.numpy(), [-1.0, 0.0, 1.0])


def test_pow_with_a_tensor_exponent(rng):
    x, p = leaf(_positive(rng, (3,))), leaf(_any(rng, (3,)))
    gx, gp = cr.grad(F.pow(x, p), [x, p], grad_outputs=[np.ones(3)])
    xn, pn = x.numpy(), p.numpy()
    np.testing.assert_allclose(gx.numpy(), pn * xn ** (pn - 1))
    np.testing.assert_allclose(gp.numpy(), xn**pn * np.log(xn))


def test_pow_with_an_integer_exponent_of_a_negative_base():
    x = leaf([-2.0, 3.0])
    (x**2).backward(np.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [-4.0, 6.0])


def test_where(rng):
    cond = np.array([[True, False, True], [False, False, True]])
    a, b = leaf(_any(rng, (2, 3))), leaf(_any(rng, (3,)))
    out = F.where(cond, a, b)
    np.testing.assert_array_equal(out.numpy(), np.where(cond, a.numpy(), b.numpy()))
    out.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(a.grad.numpy(), cond.astype(float))
    np.testing.assert_array_equal(b.grad.numpy(), (~cond).sum(axis=0))
    assert cr.gradcheck(lambda a, b: F.where(cr.tensor(cond), a, b), [a, b])
    assert cr.gradgradcheck(lambda a, b: F.where(cond, a * a, b.exp()), [a, b])


def test_where_with_a_python_scalar_branch():
    x = leaf([-1.0, 2.0])
    out = F.where(x > 0, x, 0.0)
    assert out.dtype == np.float64
    out.backward(np.ones(2))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


def test_python_floats_alone_take_the_default_dtype():
    """torch.where(mask, 1.0, 0.0) is float32 (the default dtype); NumPy would make float64,
    which then spreads through every op it meets."""
    mask = cr.tensor([True, False])
    assert F.where(mask, 1.0, 0.0).dtype == np.float32
    assert F.where(mask, 1, 0).dtype == np.int64  # ints stay ints, as in PyTorch
    previous = cr.get_default_dtype()
    cr.set_default_dtype(cr.float64)
    try:
        assert F.where(mask, 1.0, 0.0).dtype == np.float64
    finally:
        cr.set_default_dtype(previous)
    np.testing.assert_array_equal(F.where(mask, 1.0, 0.0).numpy(), [1.0, 0.0])


def test_where_errors():
    a = cr.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="where: condition must be boolean, got dtype int64"):
        F.where(np.ones((2, 3), dtype=np.int64), a, a)
    with pytest.raises(ValueError, match=r"where: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        F.where(np.ones((2, 3), dtype=bool), a, cr.tensor(np.ones(4)))


def test_cast_between_float_dtypes_is_differentiable():
    x = leaf([1.5, -2.0], dtype=np.float32)
    y = F.cast(x, "float64")
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).backward(np.ones(2))
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32


def test_cast_gradcheck_and_gradgradcheck(rng):
    # A round trip through float32 is linear: central differences with a larger step stay exact, and
    # the step keeps float32 rounding (about 1e-7) far below the tolerance.
    x = leaf(_any(rng, (2, 3)))

    def fn(x):
        return F.cast(F.cast(x, "float32"), np.float64) * x

    assert cr.gradcheck(fn, x, eps=1e-3)
    assert cr.gradgradcheck(fn, x, eps=1e-3)


def test_cast_to_the_same_dtype_is_the_identity():
    x = leaf([1.0])
    assert F.cast(x, "float64") is x


def test_cast_to_an_integer_dtype_is_not_differentiable():
    x = leaf([1.7, -2.2])
    y = x.astype("int64")
    assert y.dtype == np.int64 and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [1, -2])


def test_sign_is_a_constant():
    x = leaf([-2.0, 0.0, 3.0])
    s = x.sign()
    assert not s.requires_grad
    np.testing.assert_array_equal(s.numpy(), [-1.0, 0.0, 1.0])


def test_to_device_op_on_the_cpu_passes_gradients():
    x = leaf([1.0, 2.0])
    y = F.to_device_op(x, "cpu")
    assert y.grad_fn is not None
    (y * y).backward(np.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def _unary_matches_torch_case(rng, name):
    torch = pytest.importorskip("torch")
    fn, _, sample, torch_fn = UNARY[name]
    x = sample(rng, (3, 4))
    g = rng.standard_normal((3, 4))
    ours = leaf(x)
    out = fn(ours)
    out.backward(g)
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch_fn(theirs)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_unary_matches_torch():
    each_case(with_rng(_unary_matches_torch_case), grid(
        ("name", UNARY),
    ))


@pytest.mark.torch
@pytest.mark.parametrize("name", BINARY)
def test_binary_matches_torch(rng, name):
    torch = pytest.importorskip("torch")
    fn, _, sample_a, sample_b, torch_fn = BINARY[name]
    a, b = sample_a(rng, (2, 1, 3)), sample_b(rng, (4, 1))
    g = rng.standard_normal((2, 4, 3))
    ta, tb = leaf(a), leaf(b)
    out = fn(ta, tb)
    out.backward(g)
    pa, pb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    expected = torch_fn(pa, pb)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ta.grad.numpy(), pa.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), pb.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_kinks_match_torch():
    torch = pytest.importorskip("torch")
    values = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.0])
    other = np.array([0.0, -0.5, 0.0, 1.0, 1.0, -3.0])
    cases = [
        (lambda x, y: F.clip(x, -0.5, 0.5), lambda x, y: x.clamp(-0.5, 0.5)),
        (lambda x, y: F.abs(x), lambda x, y: x.abs()),
        (F.maximum, torch.maximum),
        (F.minimum, torch.minimum),
    ]
    for ours_fn, torch_fn in cases:
        x, y = leaf(values), leaf(other)
        ours_fn(x, y).backward(np.ones(6))
        tx = torch.tensor(values, requires_grad=True)
        ty = torch.tensor(other, requires_grad=True)
        torch_fn(tx, ty).backward(torch.ones(6, dtype=torch.float64))
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
        expected_y = np.zeros(6) if ty.grad is None else ty.grad.numpy()
        actual_y = np.zeros(6) if y.grad is None else y.grad.numpy()
        np.testing.assert_array_equal(actual_y, expected_y)


@pytest.mark.torch
def test_where_and_cast_match_torch(rng):
    torch = pytest.importorskip("torch")
    cond = rng.random((2, 3)) > 0.5
    a, b, g = rng.standard_normal((2, 3)), rng.standard_normal((3,)), rng.standard_normal((2, 3))
    ta, tb = leaf(a), leaf(b)
    (F.where(cond, ta, tb) * F.cast(tb, "float32").double()).backward(g)
    pa, pb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (torch.where(torch.tensor(cond), pa, pb) * pb.float().double()).backward(torch.tensor(g))
    np.testing.assert_allclose(ta.grad.numpy(), pa.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), pb.grad.numpy(), rtol=1e-6)


@pytest.mark.torch
def test_masked_gradients_stay_zero_under_an_infinite_upstream_gradient_as_in_torch():
    """pow at base 0 / exponent 0, and clamp, maximum and where ahead of sqrt(0): the positions
    that get no gradient get 0, not 0 * inf = nan (found by the differential fuzz)."""
    torch = pytest.importorskip("torch")
    x = np.array([-1.0, 0.0, 0.0, 2.0])
    p = np.array([2.0, 0.0, 1.5, 0.5])
    cases = [
        (lambda a, b: abs(a) ** b, lambda a, b: abs(a) ** b),
        (lambda a, b: abs(a) ** 0 + 0.0 ** abs(b), lambda a, b: abs(a) ** 0 + 0.0 ** abs(b)),
        (lambda a, b: F.sqrt(F.clip(a, low=0.0)) + b, lambda a, b: a.clamp(min=0.0).sqrt() + b),
        (lambda a, b: F.sqrt(F.maximum(a, cr.tensor(np.zeros(4)))) + b,
         lambda a, b: torch.maximum(a, torch.zeros(4, dtype=a.dtype)).sqrt() + b),
        (lambda a, b: F.sqrt(F.where(a._data > 0, a, cr.tensor(np.zeros(4)))) + b,
         lambda a, b: torch.where(a > 0, a, torch.zeros(4, dtype=a.dtype)).sqrt() + b),
    ]
    for ours_fn, torch_fn in cases:
        a, b = leaf(x), leaf(p)
        with np.errstate(divide="ignore"):  # sqrt's derivative at 0 is infinite, on purpose
            ours_fn(a, b).backward(np.ones(4))
        ta, tb = (torch.tensor(v, requires_grad=True) for v in (x, p))
        torch_fn(ta, tb).backward(torch.ones(4, dtype=torch.float64))
        for ours, theirs in ((a.grad.numpy(), ta.grad.numpy()), (b.grad.numpy(), tb.grad.numpy())):
            # The masked positions exactly (0, not nan; inf where the derivative is); the others
            # to one unit in the last place: PyTorch's vectorized float64 division rounds
            # 0.5 / sqrt(2) one ulp away from the correctly rounded value on some CPUs.
            special = (theirs == 0) | ~np.isfinite(theirs)
            np.testing.assert_array_equal(ours[special], theirs[special])
            np.testing.assert_array_max_ulp(ours[~special], theirs[~special], maxulp=1)
    assert cr.gradgradcheck(lambda t: F.clip(t + 0.5, 0.2, 1.2) ** 2, [leaf([0.3, -0.1])])
    assert cr.gradgradcheck(lambda t, q: t**q, [leaf([0.5, 1.5]), leaf([2.0, 3.0])])


def test_mask_operators_as_in_torch():
    # PyTorch programs combine masks with &, |, ^ and ~: boolean results, not differentiated.
    a, b = cr.tensor([1.0, 0.0, 2.0, -1.0]), cr.tensor([0.0, 0.0, 3.0, 1.0])
    p, q = np.array([True, False, True, False]), np.array([False, False, True, True])
    np.testing.assert_array_equal(((a != 0) & (b > 0)).numpy(), [False, False, True, True])
    np.testing.assert_array_equal(((a > 0) | (b > 0)).numpy(), p | q)
    np.testing.assert_array_equal(((a > 0) ^ (b > 0)).numpy(), p ^ q)
    np.testing.assert_array_equal((~(a > 0)).numpy(), ~p)
    np.testing.assert_array_equal((True & (a > 0)).numpy(), p)
    np.testing.assert_array_equal(((a > 0) | False).numpy(), p)
    np.testing.assert_array_equal((a > 0).logical_and(b > 0).numpy(), p & q)
    np.testing.assert_array_equal((a > 0).logical_or(q).numpy(), p | q)
    np.testing.assert_array_equal((a > 0).logical_not().numpy(), ~p)
    ints = cr.tensor(np.array([5, 3, -2]))
    np.testing.assert_array_equal((ints & 1).numpy(), [1, 1, 0])
    np.testing.assert_array_equal((~ints).numpy(), [-6, -4, 1])
    assert ((a > 0) & (b > 0)).dtype == np.bool_
    with pytest.raises(TypeError, match="__and__: needs boolean or integer"):
        _ = a & b
    with pytest.raises(TypeError, match="__invert__"):
        _ = ~a
