"""chainrule.bayes at its public boundary: inputs that used to give silently wrong results or
tracebacks from deep inside NumPy, frozen parameters, fused models and NumPy scalars."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.bayes import (
    DiagonalLaplace,
    KFACLaplace,
    LastLayerLaplace,
    TemperatureScaling,
    bayesian_mlp,
    brier,
    choose_weight_decay,
    evidence_fixed_point,
    expected_calibration_error,
    fit_map,
    jacobian,
    linear_evidence,
    log_evidence,
    mc_dropout_predict,
    nll,
    reliability,
    sample_predict,
    to_bayesian,
)
from chainrule.models import MLP


def _net(out=2):
    r = np.random.default_rng(1)
    return nn.Sequential(nn.Linear(3, 4, rng=r, dtype="float64"), nn.Tanh(),
                         nn.Linear(4, out, rng=r, dtype="float64"))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 3)), rng.integers(0, 2, 6)


def test_calibration_refuses_nan_probabilities_and_fractional_labels():
    probs, labels = np.array([[np.nan, np.nan], [0.3, 0.7]]), np.array([0, 1])
    # the ECE was 0.65 and TemperatureScaling chose T = 1000 from NaNs
    with pytest.raises(ValueError, match="expected_calibration_error: probs must be finite, "
                                         "got 2 NaN"):
        expected_calibration_error(probs, labels)
    with pytest.raises(ValueError, match="nll: probs must be finite"):
        nll(probs, labels)
    with pytest.raises(ValueError, match="TemperatureScaling.fit: logits must be finite"):
        TemperatureScaling().fit(np.array([[np.nan, 1.0], [0.3, 0.7]]), labels)
    # 0.6 and 1.2 were truncated to classes 0 and 1
    with pytest.raises(ValueError, match=r"nll: labels must be integer class indices, got "
                                         r"dtype float64 \(first values \[0.6, 1.2\]\)"):
        nll(np.array([[0.5, 0.5], [0.3, 0.7]]), np.array([0.6, 1.2]))
    ok = np.array([[0.5, 0.5], [0.3, 0.7]])
    assert nll(ok, np.array([0.0, 1.0])) == nll(ok, np.array([0, 1]))


def test_scores_of_no_example_are_refused():
    empty, none = np.zeros((0, 3)), np.zeros(0, int)
    for fn in (nll, brier, expected_calibration_error, reliability):  # nan with warnings, or 0.0
        with pytest.raises(ValueError, match=f"{fn.__name__}: probs and labels hold no example"):
            fn(empty, none)
    with pytest.raises(ValueError, match="logits must be a non-empty real 2-D array"):
        TemperatureScaling().fit(empty, none)


def test_numpy_scalars_are_accepted(data):
    x, y = data
    la = LastLayerLaplace(_net(), prior_precision=np.float32(2.0)).fit(x, y)
    assert la.prior_precision == 2.0
    draws = la.predict(x, link="mc", samples=np.int64(5), rng=0)
    assert np.array_equal(draws, la.predict(x, link="mc", samples=5, rng=0))


def test_last_layer_laplace_checks_its_data(data):
    x, y = data
    la = LastLayerLaplace(_net()).fit(x, y)
    # a y of 3 labels for 6 inputs scored the first 3 inputs only
    with pytest.raises(ValueError, match=r"y must hold one class index per example, shape "
                                         r"\(6,\), got \(3,\)"):
        la.log_marginal_likelihood(x, y[:3])
    with pytest.raises(ValueError, match=r"log_marginal_likelihood: y must be in \[0, 2\), "
                                         "got 5..5"):
        la.log_marginal_likelihood(x, y + 5)
    with pytest.raises(ValueError, match=r"LastLayerLaplace.fit: x must hold at least one "
                                         r"example along axis 0, got shape \(0, 3\)"):
        LastLayerLaplace(_net()).fit(x[:0], y[:0])
    with pytest.raises(ValueError, match="logits_distribution: x must hold at least one"):
        la.predict(x[:0])
    reg = LastLayerLaplace(_net(), likelihood="regression").fit(x, y)
    with pytest.raises(ValueError, match="link must be 'probit' or 'mc', got 'bogus'"):
        reg.predict(x, link="bogus")
    with pytest.raises(ValueError, match=r"y must hold one target per output \(12 for outputs "
                                         r"of shape \(6, 2\)\), shape \(6, 2\), got shape \(6,\)"):
        reg.log_marginal_likelihood(x, np.zeros(6))


def test_laplace_refuses_empty_data_and_one_output_classifiers(data):
    x, _ = data
    # DiagonalLaplace "fitted" nothing: a zero GGN, the prior as posterior
    with pytest.raises(ValueError, match="DiagonalLaplace.fit: x must hold at least one example"):
        DiagonalLaplace(_net()).fit(x[:0])
    with pytest.raises(ValueError, match="KFACLaplace.fit: x must hold at least one example"):
        KFACLaplace(_net()).fit(x[:0])
    with pytest.raises(ValueError, match="KFACLaplace.logits_distribution: x must hold"):
        KFACLaplace(_net()).fit(x).predict(x[:0])
    # softmax of one logit is 1: the GGN was zero and the posterior silently the prior
    with pytest.raises(ValueError, match="LastLayerLaplace: a softmax classifier needs at least "
                                         "2 outputs, the last Linear has out_features=1"):
        LastLayerLaplace(_net(1))
    with pytest.raises(ValueError, match="DiagonalLaplace.fit: a softmax classifier needs"):
        DiagonalLaplace(_net(1)).fit(x)
    with pytest.raises(ValueError, match="KFACLaplace: a softmax classifier needs at least 2"):
        KFACLaplace(_net(1)).fit(x)
    assert KFACLaplace(_net(1), likelihood="regression").fit(x).factors[1][0].shape == (1, 1)
    flat = nn.Sequential(nn.Linear(3, 1, dtype="float64"), nn.Flatten(0))
    with pytest.raises(ValueError, match=r"output must be 2-D \(N, outputs\), got shape \(1,\)"):
        DiagonalLaplace(flat, likelihood="regression").fit(x)


def test_kfac_leaves_frozen_layers_out(data):
    x, _ = data
    full = KFACLaplace(_net()).fit(x)
    frozen = _net()
    for p in frozen[0].parameters():
        p.requires_grad = False
    # this raised "grad: inputs[0] (shape (6, 4)) does not require grad" from inside fit
    la = KFACLaplace(frozen).fit(x)
    assert la.layers == [frozen[2]] and len(la.factors) == 1
    for got, want in zip(la.factors[0], full.factors[1]):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(la.covariance(0), full.covariance(1), rtol=1e-12, atol=1e-15)
    before = frozen[0].weight.numpy().copy()
    la.sample_outputs(x, samples=2, rng=0)
    np.testing.assert_array_equal(frozen[0].weight.numpy(), before)
    half = _net()
    half[0].bias.requires_grad = False
    with pytest.raises(ValueError, match="has frozen and trainable parameters"):
        KFACLaplace(half)
    late = _net()
    la = KFACLaplace(late)
    late[0].weight.requires_grad = late[0].bias.requires_grad = False
    # frozen after the KFACLaplace was made: fit takes the model as it is now (it raised "a
    # layer's output does not require grad" before fit re-collected the layers)
    assert la.fit(x).layers == [late[2]] and len(la.factors) == 1


def test_evidence_of_a_net_with_a_frozen_body_is_the_linear_closed_form(data):
    x, _ = data
    rng = np.random.default_rng(3)
    net = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype="float64"), nn.Tanh(),
                        nn.Linear(4, 1, rng=rng, dtype="float64"))
    for p in net[0].parameters():
        p.requires_grad = False
    with cr.no_grad():
        phi = np.tanh(x @ net[0].weight.numpy().T + net[0].bias.numpy())
    phi = np.concatenate([phi, np.ones((len(x), 1))], axis=1)
    t = rng.standard_normal(len(x))
    exact = linear_evidence(phi, t, 0.7, 3.0)
    with cr.no_grad():  # the head at its MAP weights
        net[2].weight.copy_(exact["mean"][None, :4])
        net[2].bias.copy_(exact["mean"][4:])
    # this raised "grad: inputs[0] (shape (4, 3)) does not require grad"
    assert jacobian(net, x).shape == (6, 5)
    got = log_evidence(net, x, t, alpha=0.7, beta=3.0)
    assert got["log_evidence"] == pytest.approx(exact["log_evidence"], rel=1e-10)
    assert got["gamma"] == pytest.approx(exact["gamma"], rel=1e-10)
    # a y of one value was broadcast against the 6 outputs
    with pytest.raises(ValueError, match=r"log_evidence: y must hold one target per output "
                                         r"\(6 for outputs of shape \(6, 1\)\), shape \(6,\) "
                                         r"or \(6, 1\), got shape \(1,\)"):
        log_evidence(net, x, t[:1], alpha=0.7, beta=3.0)


def test_evidence_functions_check_their_arguments(data):
    x, _ = data
    with pytest.raises(ValueError, match=r"linear_evidence: t must hold one target per row of "
                                         r"phi \(6\), shape \(6,\) or \(6, 1\), got shape "
                                         r"\(5,\)"):
        linear_evidence(x, np.zeros(5), 1.0, 1.0)
    with pytest.raises(ValueError, match="evidence_fixed_point: alpha has grown to 1 and the "
                                         "posterior mean to 0"):
        evidence_fixed_point(x, np.zeros(6))  # ZeroDivisionError
    with pytest.raises(ValueError, match=r"evidence_fixed_point: phi must be a non-empty 2-D"):
        evidence_fixed_point(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="evidence_fixed_point: alpha must be a finite number"):
        evidence_fixed_point(x, np.ones(6), alpha=-1.0)
    with pytest.raises(ValueError, match="choose_weight_decay: alphas must list at least one"):
        choose_weight_decay(_net, x, np.zeros(6), [], beta=1.0)
    with pytest.raises(ValueError, match="fit_map: alpha must be a finite number >= 0, got -1.0"):
        fit_map(_net(1), x, np.zeros(6), alpha=-1.0, beta=1.0, steps=1)


def test_sampled_predictions_of_no_input_are_refused():
    empty = np.zeros((0, 3), "float32")
    with pytest.raises(ValueError, match=r"mc_dropout_predict: x must hold at least one example"):
        mc_dropout_predict(MLP((3, 4, 2), dropout=0.5), empty)
    with pytest.raises(ValueError, match=r"sample_predict: x must hold at least one example"):
        sample_predict(bayesian_mlp((3, 4, 2)), empty)
    with pytest.raises(ValueError, match="sample_predict: batch_size must be an int >= 1"):
        sample_predict(bayesian_mlp((3, 4, 2)), np.ones((2, 3), "float32"), batch_size=0)


def test_to_bayesian_converts_a_fused_model_whole():
    model = nn.fuse(MLP((3, 4, 2), rng=np.random.default_rng(0)))
    # the fused LinearReLU stayed a deterministic layer, without a word
    to_bayesian(model, rng=0)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Flatten", "BayesianLinear", "ReLU", "BayesianLinear"]


def test_bayesian_layer_checks_its_prior():
    with pytest.raises(ValueError, match=r"prior_mixture must be \(pi, sigma1, sigma2\), three "
                                         r"finite numbers, got \(0.5, 1.0\)"):
        nn.BayesianLinear(3, 2, prior_mixture=(0.5, 1.0))
    with pytest.raises(ValueError, match="init_rho must be a finite number, got nan"):
        nn.BayesianLinear(3, 2, init_rho=float("nan"))
    layer = nn.BayesianLinear(3, 2, prior_mixture=np.array([0.25, 1.0, 0.01]))
    assert layer.prior_mixture == (0.25, 1.0, 0.01)


def _fine_tuned(rng):
    """A model that trains with its BatchNorm statistics frozen (that module in eval mode)."""
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.BatchNorm1d(4), nn.ReLU(),
                          nn.Dropout(0.5, rng=rng), nn.Linear(4, 2, rng=rng))
    model.train()
    model[1].eval()
    return model


@pytest.mark.parametrize("method", ["mc_dropout", "last_layer", "diagonal", "kfac", "kfac_mc",
                                    "log_evidence", "sample_predict"])
def test_each_module_keeps_its_own_mode(method):
    # model.train(was) after the work put the frozen BatchNorm back in training mode, so the
    # next training step moved the statistics the user had frozen
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype("float32")
    y = rng.integers(0, 2, 5)
    model = _fine_tuned(rng)
    if method == "mc_dropout":
        mc_dropout_predict(model, x, samples=2)
    elif method == "last_layer":
        LastLayerLaplace(model).fit(x, y).predict(x)
    elif method == "diagonal":
        DiagonalLaplace(model).fit(x).predict(x, samples=2, rng=0)
    elif method == "kfac":
        KFACLaplace(model).fit(x).predict(x)
    elif method == "kfac_mc":
        KFACLaplace(nn.fuse(model)).fit(x).predict(x, link="mc", samples=2, rng=0)
    elif method == "log_evidence":
        model[4] = nn.Linear(4, 1, rng=rng)
        log_evidence(model, x, y.astype("float32"), alpha=1.0, beta=1.0)
    else:
        model = to_bayesian(model, rng=0)
        model[4].sampling = True
        sample_predict(model, x, samples=2)
        assert model[4].sampling and not model[0].sampling
    assert [m.training for m in model] == [True, False, True, True, True]


def test_last_layer_laplace_refuses_a_forward_that_does_more_than_its_sequential(data):
    x, y = data

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = _net()

        def forward(self, x):
            return self.layers(x) * 3.0

    # the posterior and predictive were those of self.layers, not of the model, silently
    with pytest.raises(ValueError, match=r"Scaled's output \(shape \(6, 2\)\) is not its last "
                                         r"Linear applied to the layers before it"):
        LastLayerLaplace(Scaled()).fit(x, y)
    model = Scaled()
    model.forward = model.layers.forward
    assert LastLayerLaplace(model).fit(x, y).mean.shape == (10,)


def test_scalar_settings_are_checked():
    from chainrule.bayes import MixturePrior, Snapshots, elbo_loss, sharing_loss

    z = np.random.default_rng(0).standard_normal((20, 3))
    y = np.arange(20) % 3
    # low and high swapped returned T = low, silently; a negative low failed in math.log
    with pytest.raises(ValueError, match="low must be below high, got low=10.0, high=0.1"):
        TemperatureScaling().fit(z, y, low=10.0, high=0.1)
    with pytest.raises(ValueError, match="TemperatureScaling.fit: low must be a finite number"):
        TemperatureScaling().fit(z, y, low=-1.0)
    # T = inf made every prediction uniform
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got inf"):
        TemperatureScaling(float("inf"))
    assert TemperatureScaling(np.float32(2.0)).temperature == 2.0
    bnn = bayesian_mlp((3, 2))
    with pytest.raises(ValueError, match="elbo_loss: kl_weight must be a finite number >= 0, got "
                                         "-1.0"):
        elbo_loss(bnn, 10, kl_weight=-1.0)
    with pytest.raises(ValueError, match="sharing_loss: strength must be a finite number >= 0"):
        sharing_loss(bnn, MixturePrior([0.0]), 10, loss=None, strength=float("nan"))
    with pytest.raises(ValueError, match=r"MixturePrior: means must list at least one centre, "
                                         r"all finite, got \[0.0, nan\]"):
        MixturePrior([0.0, float("nan")])
    with pytest.raises(ValueError, match="Snapshots: start must be an int >= 0, got -1"):
        Snapshots(start=-1)


def test_kfac_and_last_layer_refuse_a_linear_layer_on_a_sequence():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng, dtype="float64"), nn.Tanh(), nn.Flatten(),
                          nn.Linear(20, 2, rng=rng, dtype="float64"))
    # failed in NumPy: "all the input arrays must have same number of dimensions"
    with pytest.raises(ValueError, match=r"is applied to an input of shape \(6, 5, 3\); only "
                                         r"Linear layers on 2-D inputs"):
        KFACLaplace(model).fit(rng.standard_normal((6, 5, 3)))
    # failed in NumPy: "cannot reshape array of size 10 into shape (2,6)"
    with pytest.raises(ValueError, match=r"LastLayerLaplace: the last Linear's input must be 2-D "
                                         r"\(N, features\), got shape \(6, 5, 4\)"):
        LastLayerLaplace(_net()).fit(rng.standard_normal((6, 5, 3)), np.zeros(6, int))


@pytest.mark.parametrize("cls", [DiagonalLaplace, KFACLaplace])
def test_sampling_gives_back_the_weights_the_model_has_now(cls, data):
    x, _ = data
    model = _net()
    la = cls(model).fit(x)
    with cr.no_grad():  # training went on after fit
        model[0].weight.copy_(model[0].weight.numpy() + 1.0)
    now = [p.numpy().copy() for p in model.parameters()]
    # a stale posterior is refused (tests/bayes/test_fuzz22_stale.py), the weights untouched
    with pytest.raises(RuntimeError, match="the model changed since fit"):
        la.sample_outputs(x, samples=2, rng=0)
    # (sampling once left them overwritten with the weights of fit time)
    for p, w in zip(model.parameters(), now):
        np.testing.assert_array_equal(p.numpy(), w)


def test_softmax_probs_wants_a_matrix_of_logits():
    from chainrule.bayes import softmax_probs

    # numpy's AxisError "axis 1 is out of bounds for array of dimension 1"
    for fn in (softmax_probs, TemperatureScaling().probs):
        with pytest.raises(ValueError, match=r"softmax_probs: logits must be 2-D \(N, C\) with "
                                             r"C >= 1, got shape \(3,\)"):
            fn(np.zeros(3))
