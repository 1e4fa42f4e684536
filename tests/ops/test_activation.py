"""Activations: forward vs closed forms, gradcheck, gradgradcheck, stability, torch parity."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import F
from chainrule.ops import _special

from .._case_loop import each_case, grid, with_rng
from ._kernel_cases import once_unless

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf)


def _away_from(*kinks, scale=2.0):
    """Sampler of values in (-scale, scale) at least 0.05 away from each kink."""

    def sample(rng, shape):
        x = rng.uniform(-scale, scale, shape)
        for k in kinks:
            near = np.abs(x - k) < 0.05
            x = np.where(near, k + np.where(x >= k, 0.1, -0.1), x)
        return x

    return sample


def _normal(rng, shape):
    return rng.standard_normal(shape) * 1.5


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(x))


def _np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


# name -> (chainrule fn, closed form in NumPy, sampler, torch fn of (torch, tensor))
ACTIVATIONS = {
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x)), _normal, lambda T, t: T.sigmoid(t)),
    "tanh": (F.tanh, np.tanh, _normal, lambda T, t: T.tanh(t)),
    "relu": (F.relu, lambda x: np.maximum(x, 0), _away_from(0.0),
             lambda T, t: T.nn.functional.relu(t)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
                   _away_from(0.0), lambda T, t: T.nn.functional.leaky_relu(t, 0.1)),
    "softplus": (F.softplus, _np_softplus, _normal, lambda T, t: T.nn.functional.softplus(t)),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=3.0),
                      lambda x: _np_softplus(x, 2.0, 3.0), _away_from(1.5, scale=3.0),
                      lambda T, t: T.nn.functional.softplus(t, beta=2.0, threshold=3.0)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: _np_elu(x, 0.7), _away_from(0.0),
            lambda T, t: T.nn.functional.elu(t, 0.7)),
    "selu": (F.selu, lambda x: SELU_SCALE * _np_elu(x, SELU_ALPHA), _away_from(0.0),
             lambda T, t: T.nn.functional.selu(t)),
    "gelu": (F.gelu, lambda x: x * 0.5 * (1 + _erf(x / math.sqrt(2))), _normal,
             lambda T, t: T.nn.functional.gelu(t)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), _np_gelu_tanh, _normal,
                  lambda T, t: T.nn.functional.gelu(t, approximate="tanh")),
    "silu": (F.silu, lambda x: x / (1 + np.exp(-x)), _normal, lambda T, t: T.nn.functional.silu(t)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), _away_from(0.0),
                 lambda T, t: T.nn.functional.softsign(t)),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
                 _away_from(-0.5, 0.7), lambda T, t: T.nn.functional.hardtanh(t, -0.5, 0.7)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), _away_from(0.0, 6.0, scale=8.0),
              lambda T, t: T.nn.functional.relu6(t)),
    "logsigmoid": (F.logsigmoid, lambda x: -np.log1p(np.exp(-x)), _normal,
                   lambda T, t: T.nn.functional.logsigmoid(t)),
    "softmax": (F.softmax, _np_softmax, _normal, lambda T, t: T.softmax(t, -1)),
    "softmax_axis0": (lambda x: F.softmax(x, axis=0), lambda x: _np_softmax(x, 0), _normal,
                      lambda T, t: T.softmax(t, 0)),
    "log_softmax": (F.log_softmax, lambda x: np.log(_np_softmax(x)), _normal,
                    lambda T, t: T.log_softmax(t, -1)),
    "log_softmax_axis0": (lambda x: F.log_softmax(x, axis=0), lambda x: np.log(_np_softmax(x, 0)),
                          _normal, lambda T, t: T.log_softmax(t, 0)),
}
SHAPES = [(7,), (3, 4), (2, 3, 4)]


def _forward_matches_closed_form_case(name, dtype, rng):
    fn, ref, sample, _ = ACTIVATIONS[name]
    x = sample(rng, (4, 5))
    y = fn(cr.tensor(x, dtype=dtype))
    assert y.dtype == np.dtype(dtype)
    assert y.shape == x.shape
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(y.numpy(), ref(x), rtol=tol, atol=tol)


def test_forward_matches_closed_form():
    each_case(with_rng(_forward_matches_closed_form_case), grid(
        ("dtype", ["float32", "float64"]),
        ("name", ACTIVATIONS),
    ))


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_GRADCHECK = {"relu"}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(ACTIVATIONS, BOTH_MODES_GRADCHECK),
                         indirect=["kernel_mode"])
@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck(name, shape, rng):
    fn, _, sample, _ = ACTIVATIONS[name]
    x = cr.tensor(sample(rng, shape), requires_grad=True)
    assert cr.gradcheck(fn, [x])


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_GRADGRAD = {"relu"}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(ACTIVATIONS, BOTH_MODES_GRADGRAD),
                         indirect=["kernel_mode"])
@pytest.mark.parametrize("shape", [(7,), (2, 3, 4)])
def test_gradgradcheck(name, shape, rng):
    # Piecewise activations pass too: away from their kinks the second derivative is 0.
    fn, _, sample, _ = ACTIVATIONS[name]
    x = cr.tensor(sample(rng, shape), requires_grad=True)
    assert cr.gradgradcheck(fn, [x])


def _torch_parity_case(name, dtype, rng):
    torch = pytest.importorskip("torch")
    fn, _, sample, torch_fn = ACTIVATIONS[name]
    x = sample(rng, (3, 4, 5)).astype(dtype)
    u = rng.standard_normal(x.shape).astype(dtype)
    ours = cr.tensor(x, requires_grad=True)
    y = fn(ours)
    (y * cr.tensor(u)).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    yt = torch_fn(torch, theirs)
    (yt * torch.tensor(u)).sum().backward()
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **tol)


@pytest.mark.torch
def test_torch_parity():
    each_case(with_rng(_torch_parity_case), grid(
        ("dtype", ["float32", "float64"]),
        ("name", ACTIVATIONS),
    ))



ELEMENTWISE = [n for n in ACTIVATIONS if "softmax" not in n]


def _zero_dim_input_case(name, dtype):
    # A 0-d array's arithmetic gives NumPy scalars, which an ``out=`` cannot take: sigmoid, silu,
    # logsigmoid (through sigmoid in backward) and leaky_relu with a slope in (0, 1] once failed.
    fn, ref, _, _ = ACTIVATIONS[name]
    x = cr.tensor(np.array(-0.7, dtype=dtype), requires_grad=True)
    y = fn(x)
    assert y.shape == () and y.dtype == np.dtype(dtype)
    y.backward()
    x1 = cr.tensor(np.array([-0.7], dtype=dtype), requires_grad=True)
    fn(x1).sum().backward()
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(y.item(), ref(np.array([-0.7]))[0], rtol=tol)
    np.testing.assert_allclose(x.grad.item(), x1.grad.numpy()[0], rtol=tol)


def test_zero_dim_input():
    each_case(_zero_dim_input_case, grid(("dtype", ["float32", "float64"]), ("name", ELEMENTWISE)))



@pytest.mark.kernel_free
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float16_agrees_with_float64(approximate):
    # Phi's Cephes polynomials overflow float16 (inf / nan beyond |x| ~ 2): it runs in float32.
    x = np.linspace(-8.0, 8.0, 65).astype(np.float16)
    half = cr.tensor(x, requires_grad=True)
    full = cr.tensor(x.astype(np.float64), requires_grad=True)
    y, y64 = F.gelu(half, approximate), F.gelu(full, approximate)
    assert y.dtype == np.float16
    y.sum().backward()
    y64.sum().backward()
    np.testing.assert_allclose(y.numpy(), y64.numpy(), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(half.grad.numpy(), full.grad.numpy(), rtol=2e-3, atol=2e-3)

@pytest.mark.kernel_free
@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_softmax_over_an_empty_axis_is_empty(fn):
    # As PyTorch: nothing to normalize (the maximum of an empty axis once raised from NumPy).
    x = cr.tensor(np.zeros((2, 0, 3)), requires_grad=True)
    y = fn(x, axis=1)
    assert y.shape == (2, 0, 3)
    y.sum().backward()
    assert x.grad.shape == (2, 0, 3)
    assert fn(cr.tensor(np.zeros((0, 3))), axis=1).shape == (0, 3)


@pytest.mark.kernel_free
def test_step_forward_and_zero_gradient():
    x = cr.tensor([-2.0, -0.0, 0.0, 0.5, 3.0], requires_grad=True)
    y = F.step(x)
    assert y.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    (y * cr.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    assert x.grad.tolist() == [0.0] * 5


@pytest.mark.kernel_free
def test_step_straight_through_passes_gradient():
    x = cr.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = F.step(x, straight_through=True)
    assert y.tolist() == [0.0, 1.0, 1.0]
    (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0]


def test_relu_gradient_at_zero_is_zero():
    x = cr.tensor([0.0, 1.0, -1.0], requires_grad=True)
    F.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.kernel_free
def test_softmax_backward_uses_the_output_formula(rng):
    x = cr.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    g = rng.standard_normal((3, 5))
    y = F.softmax(x, axis=1)
    y.backward(cr.tensor(g))
    yv = y.numpy()
    expected = yv * (g - (g * yv).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.kernel_free
def test_log_softmax_is_log_of_softmax_and_sums_to_one(rng):
    x = cr.tensor(rng.standard_normal((2, 3, 4)))
    for axis in (0, 1, 2, -1):
        p = F.softmax(x, axis=axis).numpy()
        np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-6)
        np.testing.assert_allclose(F.log_softmax(x, axis=axis).numpy(), np.log(p), atol=1e-6)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_dtype_casts_an_integer_input_first(name):
    # softmax(int_tensor, dim, dtype=float64) is PyTorch's way to take an integer input: it was a
    # TypeError; found by the fifth fuzz wave
    torch = pytest.importorskip("torch")
    counts = np.array([[0, 1, 2], [3, 3, 5]])
    ours = getattr(cr.nn.functional, name)(cr.tensor(counts), 1, dtype=cr.float64)
    theirs = getattr(torch.nn.functional, name)(torch.tensor(counts), 1, dtype=torch.float64)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)
    with pytest.raises(TypeError, match=f"{name.replace('min', 'max')}: input must have a "
                                        "floating-point dtype, got int64"):
        getattr(cr.nn.functional, name)(cr.tensor(counts), 1)


LARGE = ["sigmoid", "tanh", "softplus", "elu", "selu", "gelu", "gelu_tanh", "silu", "softsign",
         "logsigmoid", "softmax", "log_softmax"]


def _stable_for_inputs_of_magnitude_1e4_case(name, dtype):
    fn = ACTIVATIONS[name][0]
    x = cr.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype, requires_grad=True)
    y = fn(x)
    assert np.all(np.isfinite(y.numpy()))
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.kernel_free
def test_stable_for_inputs_of_magnitude_1e4():
    each_case(_stable_for_inputs_of_magnitude_1e4_case, grid(
        ("dtype", ["float32", "float64"]),
        ("name", LARGE),
    ))


@pytest.mark.kernel_free
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_at_large_inputs(dtype):
    x = cr.tensor([-1e4, 1e4], dtype=dtype)
    assert F.sigmoid(x).tolist() == [0.0, 1.0]
    assert F.logsigmoid(x).tolist() == [-1e4, 0.0]
    assert F.softplus(x).tolist() == [0.0, 1e4]
    assert F.softplus(x, threshold=math.inf).tolist() == [0.0, 1e4]
    assert F.gelu(x).tolist() == [0.0, 1e4]
    assert F.softmax(x).tolist() == [0.0, 1.0]
    assert F.log_softmax(x).tolist() == [-2e4, 0.0]
    assert F.elu(x).tolist() == [-1.0, 1e4]


@pytest.mark.kernel_free
def test_sigmoid_second_derivative_closed_form(rng):
    x = cr.tensor(rng.standard_normal(6), requires_grad=True)
    (g,) = cr.grad(F.sigmoid(x).sum(), [x], create_graph=True)
    (h,) = cr.grad(g.sum(), [x])
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(h.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-12, atol=1e-14)


def test_tensor_methods():
    x = cr.tensor([[-1.0, 0.5, 2.0]])
    for name in ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "softplus", "elu", "gelu"):
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(F, name)(x).numpy())
    np.testing.assert_array_equal(x.softmax(axis=0).numpy(), np.ones((1, 3), dtype=np.float32))


def test_accepts_arrays_and_keeps_float32():
    y = F.relu(np.array([-1.0, 2.0], dtype=np.float32))
    assert isinstance(y, cr.Tensor) and y.dtype == np.float32
    assert F.sigmoid([0.0]).dtype == np.float32


@pytest.mark.kernel_free
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.softmax(cr.tensor([[1.0, 2.0]]), axis=2), ValueError,
         r"softmax: axis 2 is out of range for input of shape \(1, 2\)"),
        (lambda: F.log_softmax(cr.tensor([1.0]), axis=1.5), TypeError, "log_softmax: axis"),
        (lambda: F.relu(cr.tensor([True])), TypeError, "relu: input must have a floating-point"),
        (lambda: F.gelu(cr.tensor([1.0]), approximate="erf"), ValueError,
         "gelu: approximate must be 'none' or 'tanh', got 'erf'"),
        (lambda: F.softplus(cr.tensor([1.0]), beta=0), ValueError,
         "softplus: beta must not be 0"),
        (lambda: F.hardtanh(cr.tensor([1.0]), 1.0, -1.0), ValueError,
         "hardtanh: min_val=1.0 is greater than max_val=-1.0"),
        (lambda: F.leaky_relu(cr.tensor([1.0]), "0.1"), TypeError,
         "leaky_relu: negative_slope must be a real number"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.kernel_free
def test_special_functions_match_math_module():
    x = np.concatenate([np.linspace(-30, 30, 6001), [-np.inf, np.inf, 1.0, -1.0, 8.0, -8.0]])
    np.testing.assert_allclose(_special.erf(x), [math.erf(v) for v in x], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(_special.erfc(x), [math.erfc(v) for v in x], rtol=2e-13, atol=0)
    ndtr = [0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    np.testing.assert_allclose(_special.ndtr(x), ndtr, rtol=2e-13, atol=0)
    assert _special.ndtr(np.float32([-3.0, 0.0, 3.0])).dtype == np.float32
