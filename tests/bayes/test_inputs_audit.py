"""Bad inputs to chainrule.bayes that were taken silently or failed deep inside NumPy: each is now
a ValueError naming the argument."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import bayes, nn


def design(seed=0, n=10, m=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, m)), rng.standard_normal(n)


@pytest.mark.parametrize("fn", [lambda p, t: bayes.linear_evidence(p, t, 1.0, 1.0),
                                lambda p, t: bayes.evidence_fixed_point(p, t)])
def test_the_linear_evidence_refuses_non_finite_complex_and_misshapen_data(fn):
    phi, t = design()
    bad = phi.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="phi must be finite, got 1 NaN"):  # was LinAlgError
        fn(bad, t)
    with pytest.raises(ValueError, match="t must be finite, got 1 NaN"):  # was a NaN evidence
        fn(phi, np.r_[np.inf, t[1:]])
    with pytest.raises(ValueError, match="phi must hold real numbers, got dtype complex128"):
        fn(phi + 1j, t)  # the imaginary part was dropped with a warning
    with pytest.raises(ValueError, match=r"t must hold one target per row of phi \(10\), shape "
                                         r"\(10,\) or \(10, 1\), got shape \(2, 5\)"):
        fn(phi, t.reshape(2, 5))  # was read as ten targets in row order
    assert fn(phi, t.reshape(-1, 1))["log_evidence"] == fn(phi, t)["log_evidence"]


def test_last_layer_laplace_refuses_non_finite_inputs():
    phi, _ = design()
    phi[3, 1] = np.inf
    la = bayes.LastLayerLaplace(nn.Sequential(nn.Linear(3, 2, dtype="float64")))
    with pytest.raises(ValueError, match="LastLayerLaplace: x must give finite features"):
        la.fit(phi, np.zeros(10, dtype=int))  # was LinAlgError: eigenvalues did not converge


def test_bayesian_mlp_takes_an_int_seed_as_the_rest_of_bayes_does():
    a, b = bayes.bayesian_mlp((3, 4, 2), rng=5), bayes.bayesian_mlp((3, 4, 2), rng=5)
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p._data, q._data)
    x = np.ones((2, 3), dtype="float32")
    assert np.array_equal(bayes.sample_predict(a, x, samples=2),
                          bayes.sample_predict(b, x, samples=2))
    with pytest.raises(ValueError, match="bayesian_mlp: rng must be a numpy Generator, an int"):
        bayes.bayesian_mlp((3, 2), rng="seed")


def test_mixture_prior_and_sharing_loss_refuse_what_they_cannot_use():
    with pytest.raises(ValueError, match="MixturePrior: means must be a sequence of real numbers, "
                                         "got '01'"):
        bayes.MixturePrior("01")  # was read as the centres 0 and 1
    with pytest.raises(ValueError, match=r"means must be a sequence of real numbers, got \[\["):
        bayes.MixturePrior([[0.0, 1.0]])
    assert bayes.MixturePrior(cr.tensor([0.0, 1.0])).means.shape == (2,)
    prior = bayes.MixturePrior([0.0, 1.0])
    # both used to fail only at the first training step, inside MixturePrior.penalty
    with pytest.raises(ValueError, match="sharing_loss: params must list at least one weight"):
        bayes.sharing_loss(nn.Linear(2, 2), prior, 10, loss=cr.ops.mse_loss, params=[])
    with pytest.raises(ValueError, match=r"ReLU has no layer of the kinds in layers \(Linear, "):
        bayes.sharing_loss(nn.ReLU(), prior, 10, loss=cr.ops.mse_loss)


@pytest.mark.parametrize("cls", [bayes.DiagonalLaplace, bayes.KFACLaplace])
def test_whole_network_laplace_refuses_non_finite_inputs(cls):
    x = np.ones((4, 3), dtype="float32")
    x[0, 0] = np.nan  # DiagonalLaplace's GGN was NaN silently, KFAC's a LinAlgError
    with pytest.raises(ValueError, match=rf"{cls.__name__}.fit: x must be finite, got 1 NaN"):
        cls(nn.Sequential(nn.Linear(3, 2))).fit(x)
