"""Linear and Identity: forward, default initialization, validation, gradients, PyTorch parity."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops.linalg import linear

from .._case_loop import each_case, grid, with_rng


def _x(rng, *shape, dtype="float32", requires_grad=False):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


def _forward_matches_formula_and_functional_case(rng, shape, bias):
    layer = nn.Linear(4, 3, bias, rng=rng)
    x = _x(rng, *shape)
    y = layer(x)
    expected = x._data @ layer.weight._data.T + (layer.bias._data if bias else 0)
    assert y.shape == shape[:-1] + (3,) and y.dtype == np.float32
    np.testing.assert_allclose(y._data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y._data, linear(x, layer.weight, layer.bias)._data)


def test_forward_matches_formula_and_functional():
    each_case(with_rng(_forward_matches_formula_and_functional_case), grid(
        ("bias", [True, False]),
        ("shape", [(5, 4), (4,), (2, 3, 4)]),
    ))


@pytest.mark.kernel_free
def test_layout_and_registration(rng):
    layer = nn.Linear(784, 256, rng=rng)
    assert layer.weight.shape == (256, 784) and layer.bias.shape == (256,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    no_bias = nn.Linear(784, 256, bias=False, rng=rng)
    assert no_bias.bias is None and list(no_bias.state_dict()) == ["weight"]
    assert repr(no_bias) == "Linear(in_features=784, out_features=256, bias=False)"


@pytest.mark.kernel_free
def test_default_init_is_torch_like(rng):
    layer = nn.Linear(400, 300, rng=rng)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert np.abs(p._data).max() <= bound and np.abs(p._data).max() > 0.95 * bound
    # U(-b, b) has std b / sqrt(3); 120000 samples pin it to well under 1 %.
    assert layer.weight._data.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


@pytest.mark.kernel_free
def test_init_is_deterministic_given_rng():
    a = nn.Linear(5, 4, rng=np.random.default_rng(0))
    b = nn.Linear(5, 4, rng=np.random.default_rng(0))
    c = nn.Linear(5, 4, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    np.testing.assert_array_equal(a.bias._data, b.bias._data)
    assert not np.array_equal(a.weight._data, c.weight._data)
    assert not np.array_equal(nn.Linear(5, 4).weight._data, nn.Linear(5, 4).weight._data)


def test_float64(rng):
    layer = nn.Linear(3, 2, rng=rng, dtype="float64")
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    assert layer(_x(rng, 4, 3, dtype="float64")).dtype == np.float64


@pytest.mark.kernel_free
@pytest.mark.parametrize("args, kwargs, error, match", [
    ((-1, 3), {}, ValueError, "Linear: in_features must be at least 0, got -1"),
    ((3, -2), {}, ValueError, "Linear: out_features must be at least 0, got -2"),
    ((3.0, 2), {}, TypeError, "Linear: in_features must be an int, got 3.0"),
    ((3, 2), {"dtype": "int32"}, TypeError, "Linear: dtype must be floating-point"),
    ((3, 2), {"rng": 0}, TypeError, "Linear: rng must be a numpy.random.Generator"),
])
def test_constructor_validation(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Linear(*args, **kwargs)


@pytest.mark.kernel_free
def test_input_validation(rng):
    layer = nn.Linear(784, 10, rng=rng)
    with pytest.raises(ValueError, match=r"Linear: expected input with last dimension 784, "
                                         r"got shape \(32, 28, 28\)"):
        layer(cr.tensor(np.zeros((32, 28, 28), dtype="float32")))
    with pytest.raises(ValueError, match=r"last dimension 784, got shape \(\)"):
        layer(cr.tensor(1.0))
    with pytest.raises(TypeError, match="Linear: input must be a Tensor, got list"):
        layer([1.0, 2.0])


@pytest.mark.kernel_free
def test_identity(rng):
    x = _x(rng, 2, 3)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == "Identity()"


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck(rng, bias):
    layer = nn.Linear(3, 2, bias, rng=rng, dtype="float64")
    x = _x(rng, 4, 3, dtype="float64", requires_grad=True)
    params = list(layer.parameters())
    assert cr.gradcheck(lambda x, *_: layer(x), [x, *params])
    assert cr.gradgradcheck(lambda x, *_: layer(x).tanh(), [x, *params])


@pytest.mark.torch
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_with_same_weights(rng, bias):
    torch = pytest.importorskip("torch")
    ours = nn.Linear(6, 4, bias, rng=rng)
    theirs = torch.nn.Linear(6, 4, bias=bias)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    x = _x(rng, 3, 2, 6, requires_grad=True)
    tx = torch.from_numpy(x.numpy().copy()).requires_grad_()
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(y.shape).astype("float32")
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad._data, getattr(theirs, name).grad.numpy(),
                                   rtol=1e-5, atol=1e-5)
    assert repr(ours) == repr(theirs)
