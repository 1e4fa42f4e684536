"""Dropout: inverted scaling, statistics, seeded determinism, channel dropout, gradients, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import F

pytestmark = pytest.mark.kernel_free


def test_identity_when_not_training_or_p_is_zero(rng):
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(cr.tensor(np.ones((1, 2, 3, 3))), 0.9, training=False).numpy().min() == 1


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_inverted_dropout_statistics(p):
    x = cr.tensor(np.ones((400, 500), dtype=np.float32))
    y = F.dropout(x, p, rng=np.random.default_rng(7)).numpy()
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    n = y.size
    assert abs(1 - kept.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)  # dropped fraction ~ p
    assert abs(y.mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)  # expectation preserved


def test_seeded_rng_is_deterministic_and_different_seeds_differ(rng, xp):
    x = cr.tensor(xp.asarray(rng.standard_normal((64, 32))))
    a = F.dropout(x, 0.3, rng=np.random.default_rng(1)).numpy()
    b = F.dropout(x, 0.3, rng=np.random.default_rng(1)).numpy()
    c = F.dropout(x, 0.3, rng=np.random.default_rng(2)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    gen = np.random.default_rng(1)
    first, second = F.dropout(x, 0.3, rng=gen).numpy(), F.dropout(x, 0.3, rng=gen).numpy()
    assert not np.array_equal(first, second)  # the Generator advances between calls
    np.testing.assert_array_equal(first, a)


def test_unseeded_default_rng_draws_a_fresh_mask():
    x = cr.tensor(np.ones((100, 100)))
    y = F.dropout(x, 0.5).numpy()
    assert set(np.unique(y)) == {0.0, 2.0}


def test_gradient_is_the_same_scaled_mask(rng):
    x = cr.tensor(rng.standard_normal((20, 30)), requires_grad=True)
    y = F.dropout(x, 0.25, rng=np.random.default_rng(3))
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(g))
    mask = y.numpy() / x.numpy()
    assert set(np.round(np.unique(mask), 12)) == {0.0, round(1 / 0.75, 12)}
    np.testing.assert_allclose(x.grad.numpy(), g * mask)


@pytest.mark.parametrize("fn, shape", [(F.dropout, (3, 4, 5)), (F.dropout1d, (2, 3, 5)),
                                       (F.dropout2d, (2, 3, 2, 3)),
                                       (F.dropout3d, (2, 3, 2, 1, 2))])
def test_gradcheck_and_gradgradcheck_with_a_fixed_seed(rng, fn, shape):
    x = cr.tensor(rng.standard_normal(shape), requires_grad=True)

    def f(x):
        return fn(x, 0.4, rng=np.random.default_rng(11))  # the same mask on every evaluation

    assert cr.gradcheck(f, x)
    assert cr.gradgradcheck(f, x)


def test_p_one_gives_zeros_and_zero_gradient():
    x = cr.tensor(np.ones((4, 4)), requires_grad=True)
    y = F.dropout(x, 1.0, rng=np.random.default_rng(0))
    y.sum().backward()
    assert not y.numpy().any() and not x.grad.numpy().any()


@pytest.mark.parametrize("fn, shape", [(F.dropout2d, (50, 40, 3, 4)), (F.dropout1d, (50, 40, 6)),
                                       (F.dropout3d, (50, 40, 2, 2, 3))])
def test_channel_dropout_zeroes_whole_channels(fn, shape):
    x = cr.tensor(np.ones(shape))
    y = fn(x, 0.3, rng=np.random.default_rng(5)).numpy()
    per_channel = y.reshape(shape[0], shape[1], -1)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # constant over each feature map
    np.testing.assert_allclose(np.unique(per_channel), [0.0, 1 / 0.7])
    dropped = (per_channel[..., 0] == 0).mean()
    assert abs(dropped - 0.3) < 5 * np.sqrt(0.3 * 0.7 / (shape[0] * shape[1]))


@pytest.mark.torch
def test_matches_torch_scaling_and_eval_identity(rng):
    torch = pytest.importorskip("torch")
    x = rng.uniform(1, 2, (200, 50))
    ours = F.dropout(cr.tensor(x), 0.4, rng=np.random.default_rng(0)).numpy() / x
    theirs = torch.nn.functional.dropout(torch.tensor(x), 0.4).numpy() / x
    np.testing.assert_allclose(np.unique(ours), np.unique(theirs))
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.03
    t = torch.tensor(x)
    np.testing.assert_array_equal(F.dropout(cr.tensor(x), 0.4, training=False).numpy(),
                                  torch.nn.functional.dropout(t, 0.4, training=False).numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.dropout(cr.tensor([1.0]), 1.5), ValueError, r"dropout: p must be in \[0, 1\].*1.5"),
    (lambda: F.dropout(cr.tensor([1.0]), -0.1), ValueError, r"got -0.1"),
    (lambda: F.dropout(cr.tensor([1.0]), "0.5"), TypeError, r"p must be a number"),
    (lambda: F.dropout(cr.tensor([1.0]), 0.5, rng=3), TypeError,
     r"rng must be a numpy.random.Generator .*got int"),
    (lambda: F.dropout(cr.tensor([1.0]), 0.5, rng=np.random.RandomState(0)), TypeError,
     r"got RandomState"),
    (lambda: F.dropout1d(cr.tensor(np.ones(3)), 0.5), ValueError,
     r"dropout1d: input must be 3-D \(N, C, L\) or 2-D \(C, L\)"),
    (lambda: F.dropout(cr.tensor([1, 2]), 0.5), TypeError, r"must be floating point"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
