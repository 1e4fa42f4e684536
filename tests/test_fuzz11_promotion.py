"""Fuzz wave 11: result dtypes of reductions and mixed-dtype ops against PyTorch's.

Before this wave ``sum``/``prod``/``nansum``/``cumsum``/``cumprod`` with an integer ``dtype=``
narrower than int64 (``int32``, ``int8``, ``uint8``) returned int64 (NumPy widens integer sums),
``dtype=bool`` gave int64 where PyTorch gives bool (any / all), and ``sum``/``nansum`` of a
``uint8`` tensor gave uint64 where PyTorch gives int64.
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
INT_OUT = ["bool", "uint8", "int8", "int32", "int64", "float32", "float64"]


def _array(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    a = rng.integers(-3, 4, size=shape)
    if dtype == "bool":
        return a > 0
    return (np.abs(a) if dtype == "uint8" else a).astype(dtype)


def _both(dtype, shape, seed):
    a = _array(dtype, shape, seed)
    return cr.tensor(a), torch.tensor(a)


def _same(ours, theirs):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(np.asarray(ours.numpy(), np.float64),
                               theirs.double().numpy(), rtol=1e-3, atol=1e-3)


def _reduction_dtype_argument_case(name, src, out):
    c, t = _both(src, (3, 4), DTYPES.index(src))
    _same(getattr(cr, name)(c, dtype=getattr(cr, out)),
          getattr(torch, name)(t, dtype=getattr(torch, out)))
    if name != "nansum":
        _same(getattr(cr, name)(c, 1, dtype=getattr(cr, out)),
              getattr(torch, name)(t, 1, dtype=getattr(torch, out)))


def test_reduction_dtype_argument():
    each_case(_reduction_dtype_argument_case, grid(
        ("out", INT_OUT),
        ("src", DTYPES),
        ("name", ["sum", "prod", "nansum"]),
    ))


def _scan_dtype_argument_case(name, src, out):
    c, t = _both(src, (3, 4), 7 + DTYPES.index(src))
    kw_c = {} if out is None else {"dtype": getattr(cr, out)}
    kw_t = {} if out is None else {"dtype": getattr(torch, out)}
    _same(getattr(cr, name)(c, 1, **kw_c), getattr(torch, name)(t, 1, **kw_t))


def test_scan_dtype_argument():
    each_case(_scan_dtype_argument_case, grid(
        ("out", [d for d in INT_OUT if d != "bool"] + [None]),
        ("src", DTYPES),
        ("name", ["cumsum", "cumprod"]),
    ))


def _reduction_default_dtype_case(name, src):
    c, t = _both(src, (2, 5), 20 + DTYPES.index(src))
    _same(getattr(cr, name)(c), getattr(torch, name)(t))
    _same(c.sum(dim=0), t.sum(dim=0))


def test_reduction_default_dtype():
    each_case(_reduction_default_dtype_case, grid(
        ("src", DTYPES),
        ("name", ["sum", "prod", "nansum"]),
    ))


def test_integer_sum_wraps_in_its_dtype():
    a = np.full(4, 100, np.int8)
    _same(cr.sum(cr.tensor(a), dtype=cr.int8), torch.sum(torch.tensor(a), dtype=torch.int8))


def test_float_sum_gradient_unchanged():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    cr.sum(x, dim=0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


@pytest.mark.parametrize("seed", range(6))
def test_random_mixed_matmul(seed):
    rng = np.random.default_rng(seed)
    names = ["uint8", "int8", "int32", "int64", "float32", "float64"]
    d1, d2 = rng.choice(names, 2)
    c1, t1 = _both(d1, (2, 3), seed)
    c2, t2 = _both(d2, (3, 2), seed + 50)
    if d1 == d2:
        _same(cr.matmul(c1, c2), torch.matmul(t1, t2))
    else:  # both refuse mixed dtypes
        with pytest.raises(RuntimeError):
            torch.matmul(t1, t2)
        with pytest.raises(TypeError, match="dtype"):
            cr.matmul(c1, c2)


@pytest.mark.parametrize("out", ["bool", "uint8", "int32", "int64"])
def test_mean_integer_dtype_argument_is_pytorchs_error(out):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(RuntimeError, match="mean"):
        torch.mean(torch.tensor(x), dtype=getattr(torch, out))
    with pytest.raises(RuntimeError, match=f"Optional dtype must be .* Got: {out}"):
        cr.mean(cr.tensor(x), dtype=getattr(cr, out))
    with pytest.raises(RuntimeError, match="Optional dtype"):
        cr.tensor(x).mean(dim=0, dtype=getattr(cr, out))


@pytest.mark.parametrize("src", DTYPES)
def test_mean_float_dtype_argument(src):
    c, t = _both(src, (3, 4), 40 + DTYPES.index(src))
    for out in ("float32", "float64"):
        _same(cr.mean(c, dtype=getattr(cr, out)), torch.mean(t, dtype=getattr(torch, out)))
        _same(c.mean(dim=1, dtype=getattr(cr, out)), t.mean(dim=1, dtype=getattr(torch, out)))


def test_documented_extensions_where_pytorch_raises():
    """Computed here, PyTorch's error (docs/pytorch.md, "Type promotion is PyTorch's")."""
    ints = np.array([1, 2, 3])
    with pytest.raises(RuntimeError):
        torch.tensor(ints).mean()
    assert cr.tensor(ints).mean().item() == 2.0  # NumPy's float64 mean
    with pytest.raises(RuntimeError):
        torch.dot(torch.tensor(ints), torch.tensor(ints.astype(np.float32)))
    # einsum: in PyTorch's promote_types dtype (NumPy's einsum would give float64); dot refuses
    # as PyTorch since fuzz wave 17 (tests/test_fuzz17_strict.py)
    assert cr.einsum("i,i->", cr.tensor(ints), cr.tensor(ints.astype(np.float32))).dtype == \
        cr.float32
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.dot(cr.tensor(ints), cr.tensor(ints.astype(np.float32)))


def _mixed_einsum_promotes_as_pytorch_case(seed):
    rng = np.random.default_rng(seed)
    names = ["uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
    d1, d2 = (str(d) for d in rng.choice(names, 2, replace=False))
    c1, t1 = _both(d1, (2, 3), seed)
    c2, t2 = _both(d2, (3, 2), seed + 1)
    want = torch.promote_types(t1.dtype, t2.dtype)
    out = cr.einsum("ij,jk->ik", c1, c2)
    assert str(out.dtype) == str(want).replace("torch.", "")
    _same(out, torch.einsum("ij,jk->ik", t1.to(want), t2.to(want)))


def test_mixed_einsum_promotes_as_pytorch():
    each_case(_mixed_einsum_promotes_as_pytorch_case, grid(("seed", range(12))))


def test_mixed_einsum_gradient_in_each_operand_dtype():
    x = cr.tensor(np.ones(3, np.float32), requires_grad=True)
    y = cr.tensor(np.arange(3.0), requires_grad=True)
    cr.einsum("i,i->", x, y).backward()
    assert x.grad.dtype == cr.float32 and y.grad.dtype == cr.float64
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 2.0])


def _all_any_method_dtype_case(name, src):
    """``x.all(dim=1)`` of a uint8 tensor was bool (``torch.all`` gave uint8, as PyTorch's)."""
    c, t = _both(src, (3, 4), 60 + DTYPES.index(src))
    _same(getattr(c, name)(dim=1), getattr(t, name)(dim=1))
    _same(getattr(c, name)(), getattr(t, name)())
    _same(getattr(cr, name)(c, 0), getattr(torch, name)(t, 0))


def test_all_any_method_dtype():
    each_case(_all_any_method_dtype_case, grid(("src", DTYPES), ("name", ["all", "any"])))


@pytest.mark.parametrize("src", DTYPES)
def test_sign_dtype(src):
    """``sign`` of a bool tensor raised NumPy's UFuncTypeError (PyTorch: the tensor itself)."""
    c, t = _both(src, (3, 4), 70 + DTYPES.index(src))
    _same(cr.sign(c), torch.sign(t))


@pytest.mark.parametrize("src", ["uint8", "int8", "int32", "int64"])
def test_relu_of_integers(src):
    """``relu`` of an integer tensor was refused; PyTorch's is max(x, 0) in its dtype."""
    c, t = _both(src, (3, 4), 80)
    _same(cr.nn.functional.relu(c), torch.nn.functional.relu(t))
    _same(cr.nn.ReLU()(c), torch.nn.ReLU()(t))
    _same(c.clone().relu_(), t.clone().relu_())


@pytest.mark.parametrize("seed", range(8))
def test_integer_tensor_to_negative_tensor_powers(seed):
    """An integer tensor to a tensor of negative integer powers raised NumPy's ValueError;
    PyTorch's: 1 for base 1, +-1 for base -1, 0 otherwise."""
    rng = np.random.default_rng(seed)
    base = rng.integers(-3, 4, 12)
    exp = rng.integers(-3, 4, 12)
    for d1, d2 in (("int64", "int64"), ("int32", "int8"), ("int8", "int64")):
        c = cr.tensor(base.astype(d1)) ** cr.tensor(exp.astype(d2))
        t = torch.tensor(base.astype(d1)) ** torch.tensor(exp.astype(d2))
        if (base == 0).any() and (exp < 0).any():  # 0 ** -n: 0 here; PyTorch's is undefined
            keep = ~((base == 0) & (exp < 0))
            assert str(c.dtype) == str(t.dtype).replace("torch.", "")
            np.testing.assert_array_equal(c.numpy()[keep], t.numpy()[keep])
        else:
            _same(c, t)
    _same(2 ** cr.tensor(exp), 2 ** torch.tensor(exp))


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "int64"])
def test_integer_tensor_to_negative_python_int_is_an_error(dtype):
    with pytest.raises(RuntimeError, match="negative integer powers"):
        torch.tensor(np.ones(2, dtype)) ** -1
    with pytest.raises(RuntimeError, match="negative integer powers"):
        cr.tensor(np.ones(2, dtype)) ** -1
    with pytest.raises(RuntimeError, match="negative integer powers"):
        cr.pow(cr.tensor(np.ones(2, dtype)), -2)


def _addcmul_value_takes_the_tensors_dtype_case(value, dtypes):
    """A float ``value`` on integer tensors gave float32; PyTorch truncates it to the integers'
    dtype (the result type is the tensors' alone)."""
    d1, d2 = dtypes
    a = np.array([1, 2, 3])
    if dtypes[0] == "uint8" and value < 0:
        return  # a negative scalar on uint8: documented OverflowError here
    c = cr.addcmul(cr.tensor(a.astype(d1)), cr.tensor(a.astype(d2)), cr.tensor(a.astype(d1)),
                   value=value)
    t = torch.addcmul(torch.tensor(a.astype(d1)), torch.tensor(a.astype(d2)),
                      torch.tensor(a.astype(d1)), value=value)
    _same(c, t)


def test_addcmul_value_takes_the_tensors_dtype():
    each_case(_addcmul_value_takes_the_tensors_dtype_case, grid(
        ("dtypes", [("int64", "int64"), ("uint8", "uint8"), ("int32", "int8"),
                    ("int64", "float32"), ("float32", "float64")]),
        ("value", [2.5, -1.5, 0.9, 2, -3]),
    ))


def _add_alpha_takes_the_result_dtype_case(alpha, dtypes):
    """``add(bool, bool, alpha=2)`` gave int64 (PyTorch: bool), and a float alpha with integer
    tensors promoted to float32 (PyTorch's RuntimeError)."""
    a = np.array([1, 0, 3])
    x1, x2 = (a.astype(d) for d in dtypes)
    try:
        t = torch.add(torch.tensor(x1), torch.tensor(x2), alpha=alpha)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="alpha must not be a floating point|bool alpha"):
            cr.add(cr.tensor(x1), cr.tensor(x2), alpha=alpha)
        return
    _same(cr.add(cr.tensor(x1), cr.tensor(x2), alpha=alpha), t)


def test_add_alpha_takes_the_result_dtype():
    each_case(_add_alpha_takes_the_result_dtype_case, grid(
        ("dtypes", [("bool", "bool"), ("int64", "int64"), ("int32", "bool"),
                    ("int64", "float32"), ("float32", "float32")]),
        ("alpha", [2, -1, 2.5, True]),
    ))
