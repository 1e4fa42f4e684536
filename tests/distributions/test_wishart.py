"""Wishart against torch.distributions (float64 density, entropy, moments and their gradients),
Bartlett sampling (moments, gradients), seeding and validation."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import Wishart, constraints

from ._oracle import compare, compare_grads, leaves

R = np.random.default_rng(13)
M = R.standard_normal((3, 3))
COV = M @ M.T + np.eye(3)
TRIL = np.linalg.cholesky(COV)
DF = np.array([3.5, 6.0])


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_matches_pytorch_with_gradients(kind):
    torch = pytest.importorskip("torch")
    matrix = {"covariance_matrix": COV, "precision_matrix": np.linalg.inv(COV),
              "scale_tril": TRIL}[kind]
    params = {"df": DF, "m": matrix}
    ours_p, theirs_p = leaves(cr, params), leaves(torch, params)
    # a scale_tril's strictly upper triangle does not enter (PyTorch's cholesky_solve still
    # gives it a gradient): both take the lower triangle of the leaf
    ours_m = ours_p["m"].tril() if kind == "scale_tril" else ours_p["m"]
    theirs_m = theirs_p["m"].tril() if kind == "scale_tril" else theirs_p["m"]
    ours = Wishart(ours_p["df"], **{kind: ours_m})
    theirs = torch.distributions.Wishart(theirs_p["df"], **{kind: theirs_m})
    value = Wishart(cr.tensor(DF), covariance_matrix=cr.tensor(COV)).sample(
        (2,), rng=np.random.default_rng(1))
    lp, tlp = ours.log_prob(value), theirs.log_prob(torch.tensor(value.numpy()))
    compare(lp, tlp, rtol=1e-12)
    # trigamma (PyTorch's to about 1e-9) enters the gradients with respect to df
    compare_grads(lp, tlp, ours_p, theirs_p, rtol=1e-8, atol=1e-10)
    ent, tent = ours.entropy(), theirs.entropy()
    compare(ent, tent, rtol=1e-12)
    compare_grads(ent, tent, ours_p, theirs_p, rtol=1e-8, atol=1e-10)
    for prop in ("mean", "mode", "variance", "covariance_matrix", "precision_matrix",
                 "scale_tril"):
        compare(getattr(ours, prop), getattr(theirs, prop), rtol=1e-11)


@pytest.mark.kernel_free
def test_log_prob_gradcheck_and_rsample_gradcheck():
    value = Wishart(cr.tensor(DF), covariance_matrix=cr.tensor(COV)).sample(
        rng=np.random.default_rng(2))

    def log_prob(df, tril):
        return Wishart(df, scale_tril=tril.tril()).log_prob(value)

    df, tril = cr.tensor(DF, requires_grad=True), cr.tensor(TRIL, requires_grad=True)
    assert cr.gradcheck(log_prob, [df, tril])

    def draw(t):  # at fixed noise, smooth in the scale (df's draws are not: fixed here)
        return Wishart(cr.tensor(DF), scale_tril=t.tril()).rsample(
            (2,), rng=np.random.default_rng(3))

    assert cr.gradcheck(draw, [tril])


@pytest.mark.kernel_free
def test_sample_mean_and_variance():
    n = 20000
    d = Wishart(cr.tensor(5.0, dtype=cr.float64), covariance_matrix=cr.tensor(COV))
    x = d.sample((n,), rng=np.random.default_rng(4)).numpy()
    stderr = np.sqrt(d.variance.numpy() / n)
    assert (np.abs(x.mean(0) - d.mean.numpy()) < 4 * stderr).all()
    np.testing.assert_allclose(x.var(0), d.variance.numpy(), rtol=0.1)
    assert (np.linalg.eigvalsh(x[:100]) > 0).all()


@pytest.mark.kernel_free
def test_manual_seed_and_expand():
    d = Wishart(4.0, covariance_matrix=cr.tensor(COV))
    cr.manual_seed(2)
    first = d.sample((2,)).numpy()
    cr.manual_seed(2)
    np.testing.assert_array_equal(d.sample((2,)).numpy(), first)
    e = d.expand((3,))
    assert tuple(e.sample().shape) == (3, 3, 3)
    assert tuple(e.log_prob(e.sample()).shape) == (3,)


@pytest.mark.kernel_free
@pytest.mark.parametrize("make, value, match", [
    (lambda: Wishart(2.0, covariance_matrix=cr.tensor(COV)), None, "greater than ndim - 1 = 2"),
    (lambda: Wishart(4.0, covariance_matrix=cr.ones(3)), None, "batch of square matrices"),
    (lambda: Wishart(4.0), None, "exactly one of covariance_matrix"),
    (lambda: Wishart(4.0, covariance_matrix=-cr.tensor(COV)), None, "covariance_matrix"),
    (lambda: Wishart(4.0, covariance_matrix=cr.tensor(COV)), -cr.eye(3), "support"),
])
def test_bad_arguments_are_refused(make, value, match):
    with pytest.raises(ValueError, match=match):
        make().log_prob(value)


@pytest.mark.kernel_free
def test_low_df_warns_and_singular_draws_are_redrawn():
    # at df = 2.1 in 3 dimensions about one Bartlett draw in ten is numerically singular
    with pytest.warns(UserWarning, match="Low df"):
        d = Wishart(cr.tensor(2.1, dtype=cr.float64), covariance_matrix=cr.tensor(COV))
    with pytest.warns(UserWarning, match="Singular samples detected"):
        d.rsample((200,), max_try_correction=0, rng=np.random.default_rng(5))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = d.rsample((200,), rng=np.random.default_rng(5))
    assert bool(constraints.positive_definite.check(x).all())
