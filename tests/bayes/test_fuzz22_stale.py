"""A Laplace posterior belongs to the model as it was at ``fit``: predicting after the model changed
is refused (float64).

Before, a changed model was used silently: ``LastLayerLaplace`` put the fit-time head on the new
features (predictive and evidence of no model), ``KFACLaplace``'s probit predictive used the new
weights with the old factors while its Monte Carlo one sampled around the old weights (the two
predictives of one posterior 0.1 apart), ``DiagonalLaplace`` sampled around the old weights with
the new buffers. Giving the model its fit-time values back, or fitting again, works.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.bayes import DiagonalLaplace, KFACLaplace, LastLayerLaplace


def _net():
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Linear(3, 4, rng=rng, dtype="float64"),
        nn.BatchNorm1d(4, dtype="float64"),
        nn.Tanh(),
        nn.Linear(4, 3, rng=rng, dtype="float64"),
    )


def _predict(la, x):
    return la.predict(x, rng=0) if isinstance(la, DiagonalLaplace) else la.predict(x)


@pytest.mark.parametrize("cls", [LastLayerLaplace, DiagonalLaplace, KFACLaplace])
def test_a_model_changed_since_fit_is_refused_until_restored_or_refitted(cls):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 3, 8)
    net = _net()
    net.train()
    net(cr.tensor(x))  # running statistics away from their initial values
    saved = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    la = cls(net).fit(x, y)
    before = _predict(la, x)
    changes = {
        "0.weight": lambda: net[0].weight.copy_(net[0].weight.numpy() * 1.5),
        "1.running_mean": lambda: net(cr.tensor(x + 1.0)),  # a forward in train mode
        "3.bias": lambda: net[3].bias.copy_(net[3].bias.numpy() + 0.5),
    }
    for name, change in changes.items():
        with cr.no_grad():
            change()
        with pytest.raises(
            RuntimeError,
            match=rf"changed since fit \('{name}' is not what it "
            "was\\).*call fit again",
        ):
            _predict(la, x)
        if isinstance(la, LastLayerLaplace):
            with pytest.raises(RuntimeError, match="log_marginal_likelihood: the model changed"):
                la.log_marginal_likelihood(x, y)
        if isinstance(la, KFACLaplace):
            with pytest.raises(RuntimeError, match="sample_outputs: the model changed"):
                la.predict(x, link="mc", samples=2, rng=0)
        net.load_state_dict(saved)  # the fit-time values: the posterior applies again
        np.testing.assert_array_equal(_predict(la, x), before)
    with cr.no_grad():
        net[0].weight.copy_(net[0].weight.numpy() * 1.5)
    after = _predict(la.fit(x, y), x)  # fitting again is the way on
    assert after.shape == before.shape and not np.allclose(after, before)


def test_fitting_and_predicting_leave_grads_and_modes_as_they_were():
    from chainrule.bayes import log_evidence

    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    net = _net()
    net.train()
    net[1].eval()  # a module kept in another mode than the model's
    grads = [rng.standard_normal(p.shape) for p in net.parameters()]
    for p, g in zip(net.parameters(), grads):
        p.grad = cr.tensor(g)
    modes = [m.training for m in net.modules()]
    for cls in (LastLayerLaplace, DiagonalLaplace, KFACLaplace):
        la = cls(net).fit(x, y)
        _predict(la, x)
        if isinstance(la, KFACLaplace):
            la.predict(x, link="mc", samples=2, rng=0)
    LastLayerLaplace(net).fit(x, y).log_marginal_likelihood(x, y)
    one = nn.Sequential(nn.Linear(3, 1, dtype="float64"))
    one[0].weight.grad = cr.tensor(np.ones((1, 3)))
    log_evidence(one, x, rng.standard_normal(6), alpha=1.0, beta=1.0)
    np.testing.assert_array_equal(one[0].weight.grad.numpy(), np.ones((1, 3)))
    assert one[0].bias.grad is None
    assert [m.training for m in net.modules()] == modes
    for p, g in zip(net.parameters(), grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_refitting_after_layers_were_replaced_fits_the_new_layers():
    # fit used the layers found when the LastLayerLaplace was made: after the model's layers
    # were replaced it refused the model ("does its forward do more than its Sequential?")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 3, 8)
    net = _net()
    la = LastLayerLaplace(net).fit(x, y)
    net[0] = nn.Linear(3, 4, rng=rng, dtype="float64")
    net[3] = nn.Linear(4, 3, rng=rng, dtype="float64")
    with pytest.raises(RuntimeError, match="changed since fit"):
        la.predict(x)
    want = LastLayerLaplace(net).fit(x, y)
    la.fit(x, y)
    np.testing.assert_array_equal(la.mean, want.mean)
    np.testing.assert_array_equal(la.predict(x), want.predict(x))


@pytest.mark.parametrize("cls", [DiagonalLaplace, KFACLaplace])
def test_whole_network_refit_after_layers_were_replaced_samples_the_new_weights(cls):
    # DiagonalLaplace kept the parameters found in __init__: after the layers were replaced, a
    # refit sampled those old tensors, which the model no longer used, and every draw was the
    # same (a predictive without weight uncertainty, silently); KFACLaplace refused to refit
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 3))
    net = _net()
    la = cls(net, prior_precision=0.01).fit(x)
    net[0] = nn.Linear(3, 4, rng=rng, dtype="float64")
    net[3] = nn.Linear(4, 3, rng=rng, dtype="float64")
    draws = la.fit(x).sample_outputs(x, samples=2, rng=0)
    np.testing.assert_array_equal(
        draws, cls(net, prior_precision=0.01).fit(x).sample_outputs(x, samples=2, rng=0)
    )
    assert not np.allclose(draws[0], draws[1])
