"""Rows of docs/pytorch.md's "What differs on purpose" run against PyTorch: which ops give
PyTorch's gradient and which give NaN where an infinite gradient meets a zero slope."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

_X = [[[[1.0, 2.0, 0.5], [3.0, 4.0, -1.0], [0.0, 2.5, 1.5]]]]


def _grad(lib, fn):
    """The input's gradient when every output entry receives +inf."""
    x = lib.tensor(_X, dtype=lib.float64, requires_grad=True)
    y = fn(lib, x)
    y.backward(lib.full(y.shape, float("inf"), dtype=lib.float64))
    return np.asarray(x.grad.tolist()).ravel()


def _f(lib):
    return lib.nn.functional


# The page: "give PyTorch's values".
_AS_PYTORCH = {
    "relu": lambda lib, x: _f(lib).relu(x - 1.5),
    "relu6": lambda lib, x: _f(lib).relu6(x * 2),
    "hardtanh": lambda lib, x: _f(lib).hardtanh(x),
    "hardsigmoid": lambda lib, x: _f(lib).hardsigmoid(x * 3),
    "clamp": lambda lib, x: x.clamp(0.0, 2.0),
    "amax": lambda lib, x: x.amax(dim=-1),
    "median(dim)": lambda lib, x: x.median(dim=-1)[0],
    "kthvalue": lambda lib, x: x.flatten().kthvalue(3)[0],
    "cummax": lambda lib, x: x.flatten().cummax(0)[0],
}
# The page: "pass NaN back where an infinite gradient arrives, PyTorch 0".
_NAN_WHERE_PYTORCH_HAS_0 = {
    "max_pool2d": lambda lib, x: _f(lib).max_pool2d(x, 2, 1),
    "adaptive_max_pool2d": lambda lib, x: _f(lib).adaptive_max_pool2d(x, 1),
    "max(dim)": lambda lib, x: x.max(dim=-1)[0],
    "min()": lambda lib, x: x.min(),
    "median()": lambda lib, x: x.flatten().median(),
    "hardswish": lambda lib, x: _f(lib).hardswish(x * 3 - 3),
}


@pytest.mark.parametrize("name", sorted(_AS_PYTORCH))
def test_infinite_gradient_through_a_zero_slope_is_pytorch_s(name):
    fn = _AS_PYTORCH[name]
    np.testing.assert_array_equal(_grad(cr, fn), _grad(torch, fn))


@pytest.mark.parametrize("name", sorted(_NAN_WHERE_PYTORCH_HAS_0))
def test_infinite_gradient_through_a_zero_slope_is_nan_where_the_page_says(name):
    """If one of these starts to agree with PyTorch, move it to the page's other list."""
    fn = _NAN_WHERE_PYTORCH_HAS_0[name]
    ours, theirs = _grad(cr, fn), _grad(torch, fn)
    differ = np.isnan(ours) & (theirs == 0)
    assert differ.any(), f"{name} now agrees with PyTorch: update docs/pytorch.md"
    same = ~np.isnan(ours)
    np.testing.assert_array_equal(ours[same], theirs[same])


def test_the_page_s_example_sqrt_of_a_row_maximum():
    grads = []
    for lib in (cr, torch):
        x = lib.tensor([[0.0, -1.0], [4.0, 1.0]], dtype=lib.float64, requires_grad=True)
        lib.sqrt(x.max(dim=1).values).sum().backward()
        grads.append(np.asarray(x.grad.tolist()))
    assert np.isnan(grads[0][0, 1]) and grads[1][0, 1] == 0  # "a NaN gradient ... (PyTorch: 0)"
    np.testing.assert_array_equal(np.delete(grads[0].ravel(), 1), np.delete(grads[1].ravel(), 1))


@pytest.mark.parametrize("op", ["//", "%", "fmod", "remainder", "div_floor", "div_trunc"])
def test_integer_division_by_zero_is_a_zero_division_error_where_pytorch_s_is_a_runtime_error(op):
    calls = {
        "//": lambda lib, a, b: a // b,
        "%": lambda lib, a, b: a % b,
        "fmod": lambda lib, a, b: lib.fmod(a, b),
        "remainder": lambda lib, a, b: lib.remainder(a, b),
        "div_floor": lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
        "div_trunc": lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
    }
    for lib, error in ((cr, ZeroDivisionError), (torch, RuntimeError)):
        with pytest.raises(error) as raised:
            calls[op](lib, lib.tensor([1, 2]), lib.tensor([0, 1]))
        # "a ported `except RuntimeError:` does not catch chainrule's"
        assert isinstance(raised.value, RuntimeError) == (lib is torch)
