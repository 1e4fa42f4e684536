"""Sampling: shapes, seeding, sample statistics, reparameterised gradients, validation errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import (
    Bernoulli,
    Categorical,
    Distribution,
    Exponential,
    Laplace,
    Normal,
    OneHotCategorical,
    Uniform,
)

F64 = cr.float64


def _t(x, **kw):
    return cr.tensor(np.asarray(x, dtype=np.float64), **kw)


@pytest.mark.kernel_free
def test_sample_shapes_follow_sample_batch_and_event_shapes():
    d = Normal(_t(np.zeros((3, 1))), _t(np.ones(4)))
    assert d.batch_shape == (3, 4) and d.event_shape == ()
    assert d.sample().shape == (3, 4)
    assert d.sample((5,)).shape == (5, 3, 4)
    assert d.rsample((2, 5)).shape == (2, 5, 3, 4)
    assert OneHotCategorical(logits=_t(np.zeros((3, 6)))).sample((2,)).shape == (2, 3, 6)
    assert Categorical(logits=_t(np.zeros((3, 6)))).sample((2,)).dtype == cr.int64


@pytest.mark.kernel_free
def test_draws_come_from_the_default_generator_that_randn_uses():
    cr.manual_seed(11)
    expected = cr.randn(2, 3, dtype=F64).numpy()
    cr.manual_seed(11)
    z = Normal(_t(np.zeros((2, 3))), _t(np.ones((2, 3)))).sample()
    np.testing.assert_array_equal(z.numpy(), expected)


@pytest.mark.kernel_free
def test_manual_seed_repeats_draws_and_rng_keywords_are_honoured():
    d = Normal(_t([0.0, 1.0]), _t([1.0, 2.0]))
    cr.manual_seed(3)
    first = d.sample((4,)).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(d.sample((4,)).numpy(), first)
    a = d.sample((4,), rng=np.random.default_rng(5)).numpy()
    b = d.sample((4,), generator=cr.Generator().manual_seed(5)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="rng or generator, not both"):
        d.sample(rng=np.random.default_rng(0), generator=cr.Generator())
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        d.sample(rng=0)


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, mean, var", [
    (lambda: Normal(_t(1.5), _t(0.5)), 1.5, 0.25),
    (lambda: Laplace(_t(-1.0), _t(2.0)), -1.0, 8.0),
    (lambda: Exponential(_t(4.0)), 0.25, 1 / 16),
    (lambda: Uniform(_t(-1.0), _t(3.0)), 1.0, 16 / 12),
    (lambda: Bernoulli(probs=_t(0.3)), 0.3, 0.21),
], ids=["Normal", "Laplace", "Exponential", "Uniform", "Bernoulli"])
def test_sample_mean_and_variance_are_within_a_few_standard_errors(make, mean, var):
    n = 40000
    x = make().sample((n,), rng=np.random.default_rng(0)).numpy()
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(x.var() - var) < 0.05 * var


@pytest.mark.kernel_free
def test_categorical_frequencies_match_the_probabilities():
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    n = 40000
    x = Categorical(probs=_t(probs * 7)).sample((n,), rng=np.random.default_rng(1)).numpy()
    freq = np.bincount(x, minlength=4) / n
    assert np.all(np.abs(freq - probs) < 4 * np.sqrt(probs * (1 - probs) / n))


@pytest.mark.kernel_free
def test_rsample_is_the_reparameterisation_and_carries_gradients():
    loc = _t([0.5, -1.0], requires_grad=True)
    scale = _t([2.0, 0.5], requires_grad=True)
    z = Normal(loc, scale).rsample((3,), rng=np.random.default_rng(4))
    eps = np.random.default_rng(4).standard_normal((3, 2))
    np.testing.assert_allclose(z.numpy(), loc.numpy() + eps * scale.numpy(), rtol=1e-15)
    (z * z).sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), (2 * z.numpy()).sum(0), rtol=1e-12)
    np.testing.assert_allclose(scale.grad.numpy(), (2 * z.numpy() * eps).sum(0), rtol=1e-12)
    assert not Normal(loc, scale).sample().requires_grad


@pytest.mark.kernel_free
@pytest.mark.parametrize("make", [
    lambda x: Normal(x[0], x[1].exp()), lambda x: Laplace(x[0], x[1].exp()),
    lambda x: Exponential(x[1].exp()), lambda x: Uniform(x[0] - 3, x[0] + 3 + x[1].exp()),
], ids=["Normal", "Laplace", "Exponential", "Uniform"])
def test_rsample_gradients_agree_with_finite_differences(make):
    def fn(a, b):
        return make((a, b)).rsample((2,), rng=np.random.default_rng(9))

    inputs = [_t([0.3, -0.2], requires_grad=True), _t([0.1, 0.4], requires_grad=True)]
    assert cr.gradcheck(fn, inputs)


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, value", [
    (lambda p: Normal(p[0], p[1]), [0.3, -2.0]),
    (lambda p: Laplace(p[0], p[1]), [0.3, -2.0]),
    (lambda p: Exponential(p[1]), [0.3, 2.0]),
    (lambda p: Bernoulli(logits=p[0]), [1.0, 0.0]),
    (lambda p: Categorical(logits=p), [1, 0]),
], ids=["Normal", "Laplace", "Exponential", "Bernoulli", "Categorical"])
def test_log_prob_and_entropy_gradcheck(make, value):
    params = _t([[0.2, -0.7], [0.9, 1.3]], requires_grad=True)
    v = cr.tensor(value) if isinstance(value[0], int) else _t(value)
    assert cr.gradcheck(lambda p: make(p).log_prob(v), [params])
    assert cr.gradgradcheck(lambda p: make(p).log_prob(v), [params])
    assert cr.gradcheck(lambda p: make(p).entropy(), [params])


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, match", [
    (lambda: Normal(0.0, -1.0), "scale .* GreaterThan"),
    (lambda: Exponential(_t([1.0, 0.0])), "rate .* GreaterThan"),
    (lambda: Bernoulli(probs=_t([1.5])), "probs .* Interval"),
    (lambda: Categorical(probs=_t([[0.5, -0.1]])), "probs .* Simplex"),
    (lambda: Bernoulli(), "exactly one of probs or logits"),
    (lambda: Categorical(probs=_t([0.5]), logits=_t([0.5])), "exactly one of probs or logits"),
    (lambda: Uniform(1.0, 0.0), "low must be below high"),
])
def test_bad_parameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.kernel_free
@pytest.mark.parametrize("dist, value, match", [
    (lambda: Exponential(1.0), _t([-1.0]), "within the support .*GreaterThanEq"),
    (lambda: Bernoulli(probs=_t([0.5])), _t([0.5]), "within the support .*Boolean"),
    (lambda: Categorical(logits=_t([0.0, 1.0])), cr.tensor([2]), "IntegerInterval"),
    (lambda: Uniform(0.0, 1.0), _t([2.0]), "Interval"),
    (lambda: Normal(_t([0.0, 1.0]), 1.0), _t([0.0, 1.0, 2.0]), "not broadcastable"),
    (lambda: OneHotCategorical(logits=_t([0.0, 1.0])), _t([1.0, 0.0, 0.0]), "event_shape"),
    (lambda: Normal(0.0, 1.0), 0.5, "must be a Tensor"),
])
def test_values_outside_the_support_are_refused(dist, value, match):
    with pytest.raises(ValueError, match=match):
        dist().log_prob(value)


@pytest.mark.kernel_free
def test_validation_can_be_switched_off():
    with np.errstate(invalid="ignore"):
        assert np.isnan(Normal(0.0, -1.0, validate_args=False).log_prob(_t(0.0)).item())
    Distribution.set_default_validate_args(False)
    try:
        Normal(0.0, -1.0)
        assert Exponential(1.0).log_prob(_t(-1.0)).item() == pytest.approx(1.0)
    finally:
        Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="scale"):
        Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="True or False"):
        Distribution.set_default_validate_args("yes")


@pytest.mark.kernel_free
def test_parameters_of_the_batch_shape_are_kept_and_serve_many_backward_passes():
    loc = _t([0.0, 1.0], requires_grad=True)
    scale = _t([1.0, 2.0], requires_grad=True)
    d = Normal(loc, scale)
    assert d.loc is loc and d.scale is scale
    d.log_prob(_t([0.5, 0.5])).sum().backward()
    d.entropy().sum().backward()
    np.testing.assert_allclose(scale.grad.numpy(), [-1 + 0.25 + 1, (-1 + 0.0625) / 2 + 0.5])
