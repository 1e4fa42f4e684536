"""Sampled predictives (MC dropout, Bayes by Backprop) take the softmax of the model's outputs.

A model with one output per example (a regressor) gave probabilities that were all exactly 1,
whatever the input: softmax over one entry. It is refused, naming the output shape, and the
model's modes (and the Bayesian layers' ``sampling`` flags) are given back.
"""

import numpy as np
import pytest

from chainrule.bayes import bayesian_mlp, mc_dropout_predict, sample_predict
from chainrule.models import MLP


def test_one_output_per_example_is_refused_and_the_modes_given_back():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    dropout = MLP((3, 8, 1), dropout=0.5, rng=np.random.default_rng(1)).train()
    bbb = bayesian_mlp([3, 4, 1], rng=0).eval()
    for fn, model in ((mc_dropout_predict, dropout), (sample_predict, bbb)):
        modes = [m.training for m in model.modules()]
        with pytest.raises(
            ValueError,
            match=rf"{fn.__name__}: the model's outputs must be "
            r"logits \(N, C\) with C >= 2 .*got shape \(4, 1\)",
        ):
            fn(model, x, samples=2)
        assert [m.training for m in model.modules()] == modes
    assert not any(getattr(m, "sampling", False) for m in bbb.modules())
    two = sample_predict(bayesian_mlp([3, 4, 2], rng=0), x, samples=3)
    assert two.shape == (3, 4, 2) and np.allclose(two.sum(-1), 1.0)


def test_entropies_refuse_logits_and_match_a_hand_formula():
    from chainrule.bayes import mutual_information, predictive_entropy

    rng = np.random.default_rng(2)
    logits = rng.standard_normal((3, 5, 4))
    # logits given for probabilities gave a number of nothing (here 1.06 nats, negative inputs)
    for fn, arg, name in (
        (predictive_entropy, logits[0], "probs"),
        (mutual_information, logits, "sample_probs"),
    ):
        with pytest.raises(
            ValueError,
            match=rf"{fn.__name__}: {name} must be finite, "
            r"non-negative and sum to 1 .*not logits",
        ):
            fn(arg)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    h = lambda q: -(q * np.log(q)).sum(-1)  # noqa: E731
    np.testing.assert_allclose(predictive_entropy(p[0]), h(p[0]), rtol=1e-12)
    np.testing.assert_allclose(mutual_information(p), h(p.mean(0)) - h(p).mean(0), rtol=1e-10)
    assert predictive_entropy(np.zeros((0, 4))).shape == (0,)


@pytest.mark.parametrize("bad", [3.7, True, "3", 0])
def test_bayesian_mlp_widths_must_be_positive_ints(bad):
    # int() made 3.7 a width of 3, True one of 1 and '3' one of 3, silently
    with pytest.raises(
        ValueError,
        match=rf"bayesian_mlp: sizes\[0\] must be an int >= 1, got "
        rf"{bad!r}",
    ):
        bayesian_mlp([bad, 2])
    assert bayesian_mlp([3, np.int64(2)], rng=0)[1].out_features == 2


def test_to_bayesian_keeps_frozen_layers_frozen_and_deterministic():
    from chainrule import nn
    from chainrule.bayes import to_bayesian

    # a frozen (pretrained) layer became a Bayesian one whose means and rhos all required grad:
    # unfrozen, and sampled, silently
    rng = np.random.default_rng(3)
    net = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU(), nn.Linear(4, 2, rng=rng))
    net[0].requires_grad_(False)
    to_bayesian(net, rng=0)
    assert type(net[0]) is nn.Linear and not any(p.requires_grad for p in net[0].parameters())
    assert type(net[2]).__name__ == "BayesianLinear"
    assert all(p.requires_grad for p in net[2].parameters())
    half = nn.Sequential(nn.Linear(3, 2))
    half[0].bias.requires_grad_(False)
    with pytest.raises(ValueError, match="has frozen and trainable parameters"):
        to_bayesian(half)
    frozen = nn.Sequential(nn.Linear(3, 2)).requires_grad_(False)
    with pytest.raises(ValueError, match=r"no Linear or Conv2d layer to make Bayesian \(1 frozen"):
        to_bayesian(frozen)


def test_elbo_and_sharing_losses_take_a_loss_name_as_trainer_does():
    import chainrule as cr
    from chainrule import nn
    from chainrule.bayes import MixturePrior, elbo_loss, sharing_loss

    # a name ("cross_entropy", as Trainer and train_ensemble take it) was a TypeError at the
    # first training step ('str' object is not callable)
    x = cr.tensor(np.ones((2, 3), "float32"))
    y = cr.tensor(np.array([0, 1]))
    bbb = bayesian_mlp([3, 2], rng=0).train()
    net = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(0))).train()
    prior = MixturePrior([0.0, 0.5])
    for make, model in (
        (lambda loss: elbo_loss(bbb, 10, loss=loss), bbb),
        (lambda loss: sharing_loss(net, prior, 10, loss=loss), net),
    ):
        model.eval()  # the data term alone, the same whichever way the loss is given
        by_name = make("cross_entropy")(model(x), y).item()
        assert by_name == make(cr.nn.functional.cross_entropy)(model(x), y).item()
        with pytest.raises(
            ValueError,
            match=r"loss must be a callable or the name of a "
            r"chainrule.ops loss function, got 'crossentropy'",
        ):
            make("crossentropy")
        with pytest.raises(TypeError, match="got int"):
            make(5)


def test_mc_dropout_switches_alpha_dropout_on_too():
    import chainrule as cr
    from chainrule import nn

    # AlphaDropout stayed in eval mode: a SELU net with it alone was refused as having no
    # dropout, and one with both kinds was only partly random, silently
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3)).astype("float32")
    for drop in (nn.AlphaDropout, nn.FeatureAlphaDropout):
        net = nn.Sequential(
            nn.Linear(3, 8, rng=rng),
            nn.SELU(),
            drop(0.5, rng=np.random.default_rng(5)),
            nn.Linear(8, 2, rng=rng),
        )
        net.eval()
        draws = mc_dropout_predict(net, x, samples=3)
        assert not np.allclose(draws[0], draws[1])
        assert not any(m.training for m in net.modules())
        np.testing.assert_array_equal(net(cr.tensor(x)).numpy(), net(cr.tensor(x)).numpy())
