"""Densities, moments, entropies and their gradients against ``torch.distributions`` (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid
from ._oracle import compare, compare_grads, leaves

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

R = np.random.default_rng(7)
LOC = R.standard_normal((3, 4))
SCALE = R.uniform(0.5, 2.0, (3, 4))
PROBS = R.uniform(0.05, 0.95, (3, 4))
LOGITS = R.standard_normal((3, 5))

# name: (build(distributions, params), params, value, the methods both libraries define)
CASES = {
    "Normal": (lambda D, p: D.Normal(p["loc"], p["scale"]), {"loc": LOC, "scale": SCALE},
               R.standard_normal((2, 3, 4)), ("cdf", "icdf")),
    "Normal-broadcast": (lambda D, p: D.Normal(p["loc"], p["scale"]),
                         {"loc": LOC[:, :1], "scale": SCALE[0]}, R.standard_normal(4),
                         ("cdf",)),
    "Laplace": (lambda D, p: D.Laplace(p["loc"], p["scale"]), {"loc": LOC, "scale": SCALE},
                R.standard_normal((3, 4)), ("cdf", "icdf")),
    "Exponential": (lambda D, p: D.Exponential(p["rate"]), {"rate": SCALE},
                    R.uniform(0.1, 3.0, (3, 4)), ("cdf", "icdf")),
    "Uniform": (lambda D, p: D.Uniform(p["low"], p["high"]),
                {"low": LOC - 3.5, "high": LOC + SCALE + 3.5}, R.uniform(-0.5, 0.5, (3, 4)),
                ("cdf", "icdf")),
    "Bernoulli-probs": (lambda D, p: D.Bernoulli(probs=p["probs"]), {"probs": PROBS},
                        R.integers(0, 2, (3, 4)).astype(float), ()),
    "Bernoulli-logits": (lambda D, p: D.Bernoulli(logits=p["logits"]), {"logits": 4 * LOC},
                         R.integers(0, 2, (5, 3, 4)).astype(float), ()),
    "Categorical-probs": (lambda D, p: D.Categorical(probs=p["probs"]),
                          {"probs": np.exp(LOGITS)}, R.integers(0, 5, (2, 3)), ()),
    "Categorical-logits": (lambda D, p: D.Categorical(logits=p["logits"]),
                           {"logits": LOGITS}, R.integers(0, 5, (3,)), ()),
    "OneHotCategorical": (lambda D, p: D.OneHotCategorical(logits=p["logits"]),
                          {"logits": LOGITS}, np.eye(5)[R.integers(0, 5, (2, 3))], ()),
}
ICDF_AT = R.uniform(0.02, 0.98, (3, 4))


def _pair(name):
    build, params, value, extra = CASES[name]
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    ours = build(cr.distributions, ours_p)
    theirs = build(torch.distributions, theirs_p)
    return ours, theirs, ours_p, theirs_p, value, extra


def _value(lib, value):
    if np.issubdtype(np.asarray(value).dtype, np.integer):
        return lib.tensor(value)
    return lib.tensor(np.asarray(value, dtype=np.float64))


def _shapes_and_moments_match_case(name):
    ours, theirs, *_ = _pair(name)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert ours.has_rsample == theirs.has_rsample
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    for prop in ("mean", "variance", "stddev", "mode"):
        compare(getattr(ours, prop), getattr(theirs, prop))


@pytest.mark.kernel_free
def test_shapes_and_moments_match():
    each_case(_shapes_and_moments_match_case, grid(("name", list(CASES))))


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", list(CASES))
def test_log_prob_and_entropy_match_with_gradients(name):
    ours, theirs, ours_p, theirs_p, value, _ = _pair(name)
    lp, tlp = ours.log_prob(_value(cr, value)), theirs.log_prob(_value(torch, value))
    compare(lp, tlp)
    compare_grads(lp, tlp, ours_p, theirs_p)
    ent, tent = ours.entropy(), theirs.entropy()
    compare(ent, tent)
    compare_grads(ent, tent, ours_p, theirs_p)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][3]])
def test_cdf_and_icdf_match_with_gradients(name):
    ours, theirs, ours_p, theirs_p, value, extra = _pair(name)
    if "cdf" in extra:
        c, tc = ours.cdf(_value(cr, value)), theirs.cdf(_value(torch, value))
        compare(c, tc)
        compare_grads(c, tc, ours_p, theirs_p)
    if "icdf" in extra:
        q = cr.tensor(ICDF_AT, requires_grad=True)
        tq = torch.tensor(ICDF_AT, requires_grad=True)
        x, tx = ours.icdf(q), theirs.icdf(tq)
        compare(x, tx, rtol=1e-11)
        compare_grads(x, tx, {"q": q, **ours_p}, {"q": tq, **theirs_p}, rtol=1e-9)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["Bernoulli-probs", "Categorical-logits", "OneHotCategorical"])
def test_enumerate_support_matches(name):
    ours, theirs, *_ = _pair(name)
    for expand in (True, False):
        compare(ours.enumerate_support(expand).double(), theirs.enumerate_support(expand).double())


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["Normal", "Bernoulli-logits", "Categorical-probs"])
def test_expand_matches(name):
    ours, theirs, *_ = _pair(name)
    shape = (2,) + tuple(ours.batch_shape)
    e, te = ours.expand(shape), theirs.expand(shape)
    assert tuple(e.batch_shape) == tuple(te.batch_shape) == shape
    compare(e.entropy(), te.entropy())


@pytest.mark.kernel_free
def test_extreme_bernoulli_logits_stay_exact():
    logits = np.array([-40.0, -5.0, 0.0, 5.0, 40.0])
    value = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    ours = cr.distributions.Bernoulli(logits=cr.tensor(logits))
    theirs = torch.distributions.Bernoulli(logits=torch.tensor(logits))
    compare(ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value)))
    compare(ours.entropy(), theirs.entropy(), atol=1e-15)
    compare(ours.probs, theirs.probs)


@pytest.mark.kernel_free
def test_normal_icdf_reaches_the_tails():
    q = np.array([1e-306, 1e-300, 1e-20, 1e-8, 0.3, 0.5, 1 - 1e-9, 1 - 1e-16])
    ours = cr.distributions.Normal(0.0, 1.0).icdf(cr.tensor(q, dtype=cr.float64))
    scipy_special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(ours.numpy(), scipy_special.ndtri(q), rtol=1e-13, atol=1e-15)


@pytest.mark.kernel_free
def test_normal_icdf_of_the_ends_in_float32():
    q = cr.tensor([0.0, 0.25, 1.0])
    x = cr.distributions.Normal(0.0, 1.0).icdf(q).numpy()
    assert x.dtype == np.float32
    assert x[0] == -np.inf and x[2] == np.inf
    np.testing.assert_allclose(x[1], -0.6744897501960817, rtol=1e-6)


@pytest.mark.kernel_free
def test_constructors_and_methods_take_pytorchs_arguments():
    import inspect

    def positional(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()
                if p.kind is not p.KEYWORD_ONLY]

    for name in cr.distributions.__all__:
        ours = getattr(cr.distributions, name)
        theirs = getattr(torch.distributions, name, None)
        if not isinstance(ours, type) or theirs is None:
            continue
        assert positional(ours.__init__) == positional(theirs.__init__), name
        for method in ("sample", "rsample", "log_prob", "cdf", "icdf", "entropy", "expand",
                       "enumerate_support"):
            if hasattr(theirs, method) and hasattr(ours, method):
                theirs_args = [n for n, _ in positional(getattr(theirs, method))]
                assert [n for n, _ in positional(getattr(ours, method))] == theirs_args, \
                    (name, method)
    for name in ("ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform",
                 "PowerTransform", "AbsTransform", "SoftmaxTransform", "StickBreakingTransform",
                 "LowerCholeskyTransform", "ReshapeTransform", "IndependentTransform",
                 "ComposeTransform", "SoftplusTransform", "CumulativeDistributionTransform",
                 "CatTransform", "StackTransform", "CorrCholeskyTransform",
                 "PositiveDefiniteTransform"):
        assert positional(getattr(cr.distributions.transforms, name).__init__) == positional(
            getattr(torch.distributions.transforms, name).__init__), name
