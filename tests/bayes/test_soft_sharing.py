"""Soft weight sharing: the penalty against a hand computation, its gradient by gradcheck, and
weights collapsing onto the mixture's centres."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn, optim
from chainrule.bayes import MixturePrior, sharing_loss
from chainrule.train import Trainer


def prior64(fixed_zero=False):
    prior = MixturePrior([0.0, -0.5, 0.5], sigma=0.2, fixed_zero=fixed_zero, dtype="float64")
    with cr.no_grad():
        prior.logits.copy_(np.array([0.3, -0.2, 0.1]))
        prior.log_sigmas.copy_(np.log([0.1, 0.2, 0.3]))
    return prior


def test_penalty_is_the_negative_log_mixture_density(rng):
    prior = prior64()
    w = rng.standard_normal(7) * 0.4
    pi = np.exp([0.3, -0.2, 0.1]) / np.exp([0.3, -0.2, 0.1]).sum()
    dens = sum(p / (s * math.sqrt(2 * math.pi)) * np.exp(-0.5 * ((w - m) / s) ** 2)
               for p, m, s in zip(pi, [0.0, -0.5, 0.5], [0.1, 0.2, 0.3]))
    assert prior.penalty(cr.tensor(w)).item() == pytest.approx(-np.log(dens).sum(), rel=1e-12)
    r = prior.responsibilities(cr.tensor(w))
    assert np.allclose(r.sum(1), 1)


@pytest.mark.parametrize("fixed_zero", [False, True])
def test_penalty_gradients_pass_gradcheck(rng, fixed_zero):
    prior = prior64(fixed_zero)
    w = cr.tensor(rng.standard_normal((4, 5)) * 0.4, requires_grad=True)
    inputs = [w, prior.means, prior.log_sigmas, prior.logits]
    assert cr.gradcheck(lambda *_: prior.penalty(w), inputs)
    assert cr.gradgradcheck(lambda *_: prior.penalty(w), inputs)
    if fixed_zero:
        (g,) = cr.grad(prior.penalty(w), [prior.means])
        assert g._data[0] == 0


def nearest_distance(w, centres):
    return np.abs(w.ravel()[:, None] - centres[None, :]).min(1).mean()


def test_weights_collapse_onto_the_centres_and_quantize():
    # A linear regression whose 40 true weights take 3 values, learned from 80 noisy examples.
    rng = np.random.default_rng(0)
    true = rng.choice([-1.0, 0.0, 1.0], size=(1, 40))
    x = rng.standard_normal((80, 40))
    y = x @ true.T + 1.0 * rng.standard_normal((80, 1))

    def train(strength):
        model = nn.Linear(40, 1, bias=False, rng=np.random.default_rng(1)).to(dtype="float64")
        prior = MixturePrior([0.0, -0.8, 0.8], sigma=0.3, fixed_zero=True, dtype="float64")
        opt = optim.Adam([*model.parameters(), *prior.parameters()], lr=0.01)
        loss = sharing_loss(model, prior, 80, loss=F.mse_loss, strength=strength)
        Trainer(model, loss, opt).fit((x, y), epochs=400, batch_size=None, verbose=0)
        return model, prior
    plain, _ = train(0.0)
    shared, prior = train(1.0)
    centres = prior.means._data.copy()
    centres[0] = 0.0
    assert nearest_distance(shared.weight._data, centres) < 0.3 * nearest_distance(
        plain.weight._data, centres)
    assert np.allclose(np.sort(centres), [-1, 0, 1], atol=0.1)  # the centres found the values
    prior.quantize(shared.weight)
    assert len(np.unique(shared.weight._data)) <= 3
    assert np.array_equal(np.sign(np.round(shared.weight._data)), true)
