"""rrelu, alpha_dropout, feature_alpha_dropout, gumbel_softmax and the in-place hardtanh_,
threshold_, rrelu_: rules against PyTorch (float64), seeded repeatability, train vs eval,
statistics, gradient checks and errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

pytestmark = pytest.mark.kernel_free

SEED = 7


def _x(rng, *shape):
    # Values away from 0 (the kink of rrelu, and a dropped alpha unit is told by its value).
    return rng.uniform(0.2, 1.5, size=shape) * rng.choice([-1, 1], size=shape)


def _gen():
    return np.random.default_rng(SEED)


def test_rrelu_training_draws_slopes_in_range_and_repeats(rng):
    x = _x(rng, 50, 40)
    y = F.rrelu(cr.tensor(x), 0.1, 0.4, True, rng=_gen()).numpy()
    neg = x < 0
    np.testing.assert_array_equal(y[~neg], x[~neg])
    slopes = y[neg] / x[neg]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4
    assert slopes.std() > 0.05  # one slope per element, not one for all
    again = F.rrelu(cr.tensor(x), 0.1, 0.4, True, rng=_gen()).numpy()
    np.testing.assert_array_equal(y, again)
    layer = nn.RReLU(0.1, 0.4, rng=_gen())
    np.testing.assert_array_equal(layer(cr.tensor(x)).numpy(), y)
    np.testing.assert_allclose(layer.eval()(cr.tensor(x)).numpy(), np.where(neg, 0.25 * x, x))


def test_rrelu_gradients(rng):
    x = cr.tensor(_x(rng, 3, 4), requires_grad=True)
    y = F.rrelu(x, training=True, rng=_gen())
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy() / x.numpy(), rtol=1e-12)
    assert cr.gradcheck(lambda a: F.rrelu(a, 0.2, 0.3, True, rng=_gen()), [x])
    assert cr.gradgradcheck(lambda a: F.rrelu(a, 0.2, 0.3, True, rng=_gen()), [x])


@pytest.mark.parametrize("p", [0.1, 0.5])
@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_keeps_zero_mean_unit_variance(rng, p, feature):
    x = rng.standard_normal((400, 50, 4))
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    y = fn(cr.tensor(x), p, True, rng=rng).numpy()
    n = y.size if not feature else y.shape[0] * y.shape[1]
    assert abs(y.mean()) < 6 / np.sqrt(n) + 0.01
    assert abs(y.var() - 1) < 0.05


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_mask_and_repeatability(rng, feature):
    x = _x(rng, 6, 5, 3)
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    y = fn(cr.tensor(x), 0.4, True, rng=_gen()).numpy()
    np.testing.assert_array_equal(y, fn(cr.tensor(x), 0.4, True, rng=_gen()).numpy())
    low = y.min()
    dropped = y == low
    assert dropped.any() and (~dropped).any()
    if feature:  # whole channels
        assert (dropped.all(axis=2) == dropped.any(axis=2)).all()
    layer = (nn.FeatureAlphaDropout if feature else nn.AlphaDropout)(0.4, rng=_gen())
    np.testing.assert_array_equal(layer(cr.tensor(x)).numpy(), y)
    np.testing.assert_array_equal(layer.eval()(cr.tensor(x)).numpy(), x)


def test_alpha_dropout_identity_zero_and_gradients(rng):
    x = cr.tensor(_x(rng, 4, 3), requires_grad=True)
    assert F.alpha_dropout(x, 0.5) is x  # PyTorch's functional default: training=False
    assert F.alpha_dropout(x, 0.0, True) is x
    np.testing.assert_array_equal(F.alpha_dropout(x, 1.0, True).numpy(), 0.0)
    assert cr.gradcheck(lambda a: F.alpha_dropout(a, 0.3, True, rng=_gen()), [x])
    assert cr.gradcheck(lambda a: F.feature_alpha_dropout(a[None], 0.3, True, rng=_gen()), [x])


@pytest.mark.torch
@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_same_affine_map_as_torch(rng, feature):
    """Masks come from different generators: compare the map each applies, its value for a
    dropped unit and its scale and shift for a kept one (float64)."""
    torch = pytest.importorskip("torch")
    x = _x(rng, 30, 8, 5)
    theirs = (torch.nn.functional.feature_alpha_dropout if feature else
              torch.nn.functional.alpha_dropout)(torch.tensor(x), 0.3, True).numpy()
    ours = (F.feature_alpha_dropout if feature else F.alpha_dropout)(
        cr.tensor(x), 0.3, True, rng=rng).numpy()
    maps = []
    for y in (ours, theirs):
        dropped = y == y.min()
        assert 0.2 < dropped.mean() < 0.4
        kept_x, kept_y = x[~dropped], y[~dropped]
        scale, shift = np.polyfit(kept_x, kept_y, 1)
        np.testing.assert_allclose(kept_y, scale * kept_x + shift, rtol=1e-12, atol=1e-12)
        maps.append((y.min(), scale, shift))
    np.testing.assert_allclose(maps[0], maps[1], rtol=1e-12)
    assert repr(nn.AlphaDropout(0.3)).startswith("AlphaDropout(p=0.3")


@pytest.mark.torch
def test_rrelu_eval_and_in_place_forms_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = _x(rng, 4, 5)
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, z = F.rrelu(ours, 0.05, 0.3), torch.nn.functional.rrelu(theirs, 0.05, 0.3)
    np.testing.assert_allclose(y.numpy(), z.detach().numpy(), rtol=1e-15)
    y.sum().backward()
    z.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-15)
    assert repr(nn.RReLU()) == repr(torch.nn.RReLU())
    for name, args in [("hardtanh_", (-0.5, 0.7)), ("threshold_", (0.3, -2.0)),
                       ("rrelu_", (0.1, 0.2))]:
        a, b = cr.tensor(x.copy()), torch.tensor(x.copy())
        out = getattr(F, name)(a, *args)
        getattr(torch.nn.functional, name)(b, *args)
        assert out is a
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_in_place_forms_refuse_a_tensor_that_requires_grad(rng):
    x = cr.tensor(_x(rng, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="hardtanh_: a leaf tensor that requires grad"):
        F.hardtanh_(x)
    v = _x(rng, 30)
    y = cr.tensor(v.copy())
    assert F.rrelu_(y, 0.1, 0.2, True, rng=_gen()) is y
    expected = F.rrelu(cr.tensor(v), 0.1, 0.2, True, rng=_gen()).numpy()
    assert (expected != v).any()
    np.testing.assert_array_equal(y.numpy(), expected)


def test_gumbel_softmax_soft_and_hard(rng):
    logits = cr.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5, rng=_gen())
    np.testing.assert_allclose(soft.numpy().sum(-1), 1.0, rtol=1e-12)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True, rng=_gen())
    np.testing.assert_array_equal(hard.numpy(), np.eye(4)[soft.numpy().argmax(-1)])
    w = cr.tensor(rng.standard_normal((5, 4)))
    (g_soft,) = cr.grad((soft * w).sum(), [logits])
    (g_hard,) = cr.grad((hard * w).sum(), [logits])
    np.testing.assert_allclose(g_hard.numpy(), g_soft.numpy(), rtol=1e-12, atol=1e-15)
    assert cr.gradcheck(lambda a: F.gumbel_softmax(a, 2.0, dim=0, rng=_gen()), [logits])
    on_axis0 = F.gumbel_softmax(logits, dim=0, hard=True, rng=_gen()).numpy()
    np.testing.assert_array_equal(on_axis0.sum(0), 1.0)


def test_gumbel_max_frequencies_follow_the_softmax(rng):
    """The argmax of logits plus Gumbel noise is a sample of softmax(logits)."""
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    n = 20000
    hard = F.gumbel_softmax(cr.tensor(np.tile(logits, (n, 1))), hard=True, rng=rng).numpy()
    freq = hard.mean(0)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=5 * np.sqrt(0.25 / n))


@pytest.mark.parametrize("call, match", [
    (lambda x: F.rrelu(x, 0.5, 0.1), "lower must be <= upper, got lower=0.5, upper=0.1"),
    (lambda x: nn.RReLU(0.5, 0.1), "RReLU: lower must be <= upper"),
    (lambda x: F.alpha_dropout(x, 1.5, True), "p must be in \\[0, 1\\]"),
    (lambda x: F.feature_alpha_dropout(x[0], 0.5, True), "\\(N, C, \\*\\), got shape \\(3,\\)"),
    (lambda x: F.gumbel_softmax(x, tau=0), "tau must be > 0, got 0.0"),
    (lambda x: F.rrelu(x, training=True, rng=3), "rng must be a numpy.random.Generator"),
    (lambda x: F.threshold_(x.numpy(), 0.1, 0.0), "threshold_: input must be a Tensor"),
])
def test_errors(rng, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(cr.tensor(_x(rng, 2, 3)))
