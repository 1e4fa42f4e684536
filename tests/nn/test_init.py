"""Initializers: sample statistics against formulas, orthogonality, determinism, validation."""

import math

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn import init

from .._case_loop import each_case, grid

pytestmark = pytest.mark.kernel_free


def _param(*shape, dtype="float32"):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def _check_uniform(data, low, high):
    """Range, mean and std of U(low, high) within sampling tolerance (about 5 standard errors)."""
    n = data.size
    width = high - low
    assert data.min() >= low and data.max() <= high
    assert data.min() < low + 0.01 * width and data.max() > high - 0.01 * width
    assert abs(data.mean() - (low + high) / 2) < 5 * width / math.sqrt(12 * n)
    assert abs(data.std() - width / math.sqrt(12)) < 5 * width / math.sqrt(12 * n)


def _check_normal(data, mean, std):
    n = data.size
    assert abs(data.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(data.std() - std) < 5 * std / math.sqrt(2 * n)


def test_uniform_and_normal(rng):
    _check_uniform(init.uniform_(_param(200, 100), -2.0, 3.0, rng=rng)._data, -2.0, 3.0)
    _check_normal(init.normal_(_param(200, 100), 1.5, 0.5, rng=rng)._data, 1.5, 0.5)
    _check_normal(init.small_random_(_param(200, 100), rng=rng)._data, 0.0, 0.01)
    _check_normal(init.small_random_(_param(200, 100), 0.1, rng=rng)._data, 0.0, 0.1)


def test_constants():
    p = _param(3, 2)
    assert init.ones_(p) is p and (p._data == 1).all()
    assert (init.zeros_(p)._data == 0).all()
    assert (init.constant_(p, -0.5)._data == -0.5).all()


def test_fans_like_torch():
    assert init._calculate_fan_in_and_fan_out(_param(256, 784)) == (784, 256)
    assert init._calculate_fan_in_and_fan_out(_param(16, 3, 5, 5)) == (75, 400)
    assert init._calculate_fan_in_and_fan_out(_param(8, 2, 3)) == (6, 24)
    with pytest.raises(ValueError, match="fewer than 2 dimensions, got shape \\(5,\\)"):
        init._calculate_fan_in_and_fan_out(_param(5))


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_xavier(rng):
    fan_in, fan_out = 300, 200
    bound = 1.5 * math.sqrt(6 / (fan_in + fan_out))
    _check_uniform(init.xavier_uniform_(_param(fan_out, fan_in), 1.5, rng=rng)._data, -bound, bound)
    std = math.sqrt(2 / (fan_in + fan_out))
    _check_normal(init.xavier_normal_(_param(fan_out, fan_in), rng=rng)._data, 0.0, std)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming(rng, mode):
    shape = (64, 32, 3, 3)
    fan = 32 * 9 if mode == "fan_in" else 64 * 9
    bound = math.sqrt(2) * math.sqrt(3 / fan)
    w = init.kaiming_uniform_(_param(*shape), mode=mode, nonlinearity="relu", rng=rng)
    _check_uniform(w._data, -bound, bound)
    w = init.kaiming_normal_(_param(*shape), mode=mode, nonlinearity="relu", rng=rng)
    _check_normal(w._data, 0.0, math.sqrt(2 / fan))


def test_kaiming_with_sqrt5_is_torch_linear_default(rng):
    w = init.kaiming_uniform_(_param(100, 400), a=math.sqrt(5), rng=rng)
    _check_uniform(w._data, -1 / 20, 1 / 20)


def test_lecun(rng):
    _check_uniform(init.lecun_uniform_(_param(300, 150), rng=rng)._data, -math.sqrt(3 / 150),
                   math.sqrt(3 / 150))
    _check_normal(init.lecun_normal_(_param(300, 150), rng=rng)._data, 0.0, math.sqrt(1 / 150))


@pytest.mark.parametrize("shape", [(5, 5), (4, 9), (9, 4), (6, 2, 3, 3)])
def test_orthogonal(rng, shape):
    w = init.orthogonal_(_param(*shape, dtype="float64"), gain=2.0, rng=rng)._data
    flat = w.reshape(shape[0], -1) / 2.0
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] == small else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_rejects_vectors(rng):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.orthogonal_(_param(4), rng=rng)


_DETERMINISTIC_GIVEN_SEED_AND_FILLS_IN_PLACE = [init.uniform_, init.normal_, init.small_random_,
                                init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                init.kaiming_normal_, init.lecun_uniform_, init.lecun_normal_,
                                init.orthogonal_]


def _deterministic_given_seed_and_fills_in_place_case(fn):
    a = _param(7, 5)
    data = a._data
    fn(a, rng=np.random.default_rng(3))
    b = fn(_param(7, 5), rng=np.random.default_rng(3))
    c = fn(_param(7, 5), rng=np.random.default_rng(4))
    assert a._data is data
    np.testing.assert_array_equal(a._data, b._data)
    assert not np.array_equal(a._data, c._data)


def test_deterministic_given_seed_and_fills_in_place():
    each_case(_deterministic_given_seed_and_fills_in_place_case, grid(
        ("fn", _DETERMINISTIC_GIVEN_SEED_AND_FILLS_IN_PLACE),
    ))


def test_float64_and_zero_size(rng):
    w = init.kaiming_uniform_(_param(30, 20, dtype="float64"), rng=rng)
    assert w.dtype == np.float64 and w._data.std() > 0
    assert init.kaiming_uniform_(_param(0, 3), rng=rng).shape == (0, 3)


def test_validation(rng):
    with pytest.raises(TypeError, match="normal_: rng must be a numpy.random.Generator"):
        init.normal_(_param(2), rng=0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init.uniform_(_param(2), rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="normal_: std must be non-negative, got -1"):
        init.normal_(_param(2), 0.0, -1.0, rng=rng)
    with pytest.raises(ValueError, match="uniform_: a must not exceed b"):
        init.uniform_(_param(2), 1.0, 0.0, rng=rng)
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan'"):
        init.kaiming_uniform_(_param(2, 2), mode="fan", rng=rng)
    with pytest.raises(TypeError, match="expected a Parameter or Tensor, got ndarray"):
        init.zeros_(np.zeros(3))
    with pytest.raises(TypeError, match="must be floating-point or complex, got dtype int64"):
        init.normal_(nn.Buffer(np.zeros(3, dtype="int64")))
    assert init.ones_(nn.Buffer(np.zeros(3, dtype="int64"))).tolist() == [1, 1, 1]  # PyTorch's
