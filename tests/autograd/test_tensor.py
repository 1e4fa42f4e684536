"""The Tensor API: construction, dtype rules, properties, conversions, repr, operator dispatch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import cuda_available
from chainrule.ops import sum_to

from .._case_loop import each_case, grid


def total(x):
    """Sum of all elements, using only the engine's broadcast helper (no reduce ops needed)."""
    return sum_to(x, ())


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1, 2], [3, 4]], np.int64),
        (3, np.int64),
        (True, np.bool_),
        (np.float64(2.0), np.float64),
        (np.array([1.0, 2.0]), np.float64),
        (np.array([1, 2], dtype=np.int32), np.int32),
        (np.zeros(3, dtype=np.float16), np.float16),
    ],
)
def test_tensor_infers_dtype(data, dtype):
    assert cr.tensor(data).dtype == dtype


def test_tensor_dtype_argument_overrides_inference():
    assert cr.tensor([1, 2], dtype="float64").dtype == np.float64
    assert cr.tensor(np.ones(2), dtype=np.float32).dtype == np.float32
    t = cr.tensor([1, 2], dtype="float32", requires_grad=True)
    assert t.requires_grad and t.dtype == np.float32


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    u = cr.tensor(t)
    u[1] = -1.0
    assert t.tolist() == [1.0, 2.0]


def test_tensor_rejects_non_numeric_data():
    with pytest.raises(TypeError, match="tensor()"):
        cr.tensor({"a": 1})


@pytest.mark.parametrize("data", [[1, 2, 3], [True, False], np.arange(3)])
def test_only_float_tensors_can_require_grad(data):
    with pytest.raises(TypeError, match="floating-point"):
        cr.tensor(data, requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        cr.tensor(data).requires_grad_()


def test_properties():
    t = cr.tensor(np.zeros((2, 3, 4)))
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4 and t.numel() == 24
    assert t.dtype == np.float64
    assert t.device == "cpu"
    assert len(t) == 2
    assert t.is_leaf and t.grad_fn is None and t.grad is None
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))


def test_numpy_shares_memory_on_cpu():
    t = cr.tensor([1.0, 2.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray)
    a[0] = 5.0
    assert t.tolist() == [5.0, 2.0]


def test_item_and_tolist():
    assert cr.tensor([[2.5]]).item() == 2.5
    assert isinstance(cr.tensor(3).item(), int)
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match=r"item\(\): tensor has 3 elements"):
        cr.tensor([1.0, 2.0, 3.0]).item()


def test_bool_of_one_element_and_ambiguous_truth():
    assert bool(cr.tensor([1.0]))
    assert not bool(cr.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):  # PyTorch's error class
        bool(cr.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([]))


def test_detach_shares_data_and_cuts_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    d = y.detach()
    assert d._data is y._data
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    z = d * x
    total(z).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 6.0])


def test_grad_fn_and_is_leaf_of_an_op_result():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert not y.is_leaf
    assert type(y.grad_fn).__name__ == "Mul"
    assert y.requires_grad


def test_requires_grad_false_on_a_non_leaf_is_refused():
    y = cr.tensor([1.0], requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


def test_retain_grad_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).retain_grad()


def test_repr():
    assert repr(cr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(cr.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"  # int64 and bool are implied, as in PyTorch
    assert repr(cr.tensor(np.array([0.5]))) == "tensor([0.5000], dtype=float64)"
    y = cr.tensor([1.0], requires_grad=True) * 2.0
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward0>)"


@pytest.mark.parametrize("op", ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"])
def test_comparisons_give_non_differentiable_bool_tensors(op):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = np.array([2.0, 2.0, 2.0])
    for rhs in (cr.tensor(other), 2.0, other):
        out = getattr(x, op)(rhs)
        assert isinstance(out, cr.Tensor)
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), getattr(x.numpy(), op)(other))


def test_tensors_stay_hashable():
    x = cr.tensor([1.0])
    assert {x: 1}[x] == 1


@pytest.mark.parametrize(
    "expr",
    [
        lambda a, t: a + t,
        lambda a, t: a - t,
        lambda a, t: a * t,
        lambda a, t: a / t,
    ],
)
def test_ndarray_on_the_left_dispatches_to_tensor(expr):
    a = np.array([1.0, 2.0], dtype=np.float32)
    t = cr.tensor([3.0, 4.0], requires_grad=True)
    out = expr(a, t)
    assert isinstance(out, cr.Tensor)
    assert out.requires_grad
    np.testing.assert_allclose(out.numpy(), expr(a, t.numpy()))
    total(out).backward()
    assert t.grad is not None and t.grad.shape == (2,)


def _python_scalars_keep_the_tensor_dtype_case(expr):
    for dtype in (np.float32, np.float64):
        t = cr.tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
        out = expr(t)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.numpy(), expr(t.numpy()), rtol=1e-6)


def test_python_scalars_keep_the_tensor_dtype():
    each_case(_python_scalars_keep_the_tensor_dtype_case, grid(
        ("expr", [
                     lambda t: t + 1.5,
                     lambda t: 1.5 + t,
                     lambda t: t - 2,
                     lambda t: 2 - t,
                     lambda t: t * 0.1,
                     lambda t: 0.1 * t,
                     lambda t: t / 3,
                     lambda t: 3.0 / t,
                     lambda t: t**2,
                     lambda t: t**0.5,
                     lambda t: 2.0**t,
                     lambda t: t * np.float64(0.5),
                 ]),
    ))


def test_to_cpu_is_identity():
    x = cr.tensor([1.0])
    assert x.to("cpu") is x
    assert x.cpu() is x


def test_to_unknown_device_is_a_value_error():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        cr.tensor([1.0]).to("tpu")


@pytest.mark.skipif(cuda_available(), reason="checks the message shown when CuPy is missing")
def test_to_cuda_without_cupy_is_a_clear_runtime_error():
    with pytest.raises(RuntimeError, match="CuPy"):
        cr.tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match="CuPy"):
        cr.tensor([1.0], device="cuda")


def test_bool_raises_pytorchs_error_class():
    torch = pytest.importorskip("torch")
    for values in ([1.0, 2.0], []):
        for lib in (torch, cr):
            with pytest.raises(RuntimeError, match="ambiguous"):
                bool(lib.tensor(values))
