"""Argument checks of the global sensitivity functions: mean_abs_gradient took any output that
was not exactly "probability" as the logits (a misspelt name explained another quantity without a
word), and sensitivity_rules with too few class_names raised IndexError from inside."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import explain, nn

X = np.random.default_rng(0).standard_normal((6, 3)).astype("float64")


def _model():
    m = nn.Sequential(nn.Linear(3, 2, rng=np.random.default_rng(1))).double()
    with cr.no_grad():
        m[0].weight.copy_(np.array([[4.0, 0.0, 0.0], [-4.0, 0.0, 0.0]]))
    return m


def test_mean_abs_gradient_refuses_a_misspelt_output():
    m = _model()
    with pytest.raises(ValueError, match="output must be one of"):
        explain.mean_abs_gradient(m, X, output="probabilities")
    # the logits' gradients are the weights' rows
    np.testing.assert_allclose(explain.mean_abs_gradient(m, X, output="logit"),
                               np.abs(m[0].weight.numpy()))


def test_sensitivity_rules_checks_class_names():
    m = _model()
    with pytest.raises(ValueError, match="class_names has 1 names for a model with 2 classes"):
        explain.sensitivity_rules(m, X, class_names=["A"], delta=1.0, threshold=0.01,
                                  coverage=0.5)
    rules = explain.sensitivity_rules(m, X, class_names=["A", "B"], delta=1.0, threshold=0.01,
                                      coverage=0.5)
    assert {(r.feature, r.class_name, r.change > 0) for r in rules} == {("x0", "A", True),
                                                                        ("x0", "B", False)}
