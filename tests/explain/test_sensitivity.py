"""Global sensitivity over a dataset, and sensitivity stated as rules."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import mean_abs_gradient, permutation_importance, sensitivity_rules


def _logistic(weights):
    """Two classes with logits (0, w . x): P(class 1) = sigmoid(w . x)."""
    model = nn.Linear(len(weights), 2, bias=False).to(dtype="float64")
    with cr.no_grad():
        model.weight.copy_(np.stack([np.zeros(len(weights)), np.asarray(weights, float)]))
    return model


def test_mean_abs_gradient_of_a_linear_model_is_its_weights(rng):
    model = _logistic([2.0, -1.0, 0.0])
    x = rng.normal(size=(50, 3))
    g = mean_abs_gradient(model, x, output="logit")
    np.testing.assert_allclose(g, [[0, 0, 0], [2, 1, 0]], atol=1e-12)
    p = 1 / (1 + np.exp(-(x @ [2.0, -1.0, 0.0])))
    np.testing.assert_allclose(mean_abs_gradient(model, x, classes=[1])[0],
                               np.abs(np.outer(p * (1 - p), [2, -1, 0])).mean(axis=0),
                               rtol=1e-10)


def test_permutation_importance_finds_the_feature_the_label_depends_on(rng):
    model = _logistic([3.0, 0.0, 0.0])
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] > 0).astype(int)
    res = permutation_importance(model, x, y, n_repeats=3, rng=0)
    assert res["baseline"] == 1.0
    assert res["mean"][0] > 0.3 and (res["mean"][1:] == 0).all()
    again = permutation_importance(model, x, y, n_repeats=3, rng=0)
    np.testing.assert_array_equal(again["importances"], res["importances"])


def test_sensitivity_rules_state_the_probability_change(rng):
    model = _logistic([4.0, -4.0, 0.05])
    x = rng.normal(size=(300, 3)) * 0.1            # near the boundary: P changes a lot
    rules = sensitivity_rules(model, x, feature_names=["a", "b", "c"], class_names=["A", "B"],
                              delta=0.5, threshold=0.2, coverage=0.9)
    text = [str(r) for r in rules]
    assert {(r.feature, r.class_name, r.change > 0) for r in rules} == {
        ("a", "B", True), ("a", "A", False), ("b", "B", False), ("b", "A", True)}
    assert text[0].startswith("if ") and "at least" in text[0] and "90% of 300 samples" in text[0]
    p0 = 1 / (1 + np.exp(-(x @ [4.0, -4.0, 0.05])))
    p1 = 1 / (1 + np.exp(-((x + [0.5, 0, 0]) @ [4.0, -4.0, 0.05])))
    rule = next(r for r in rules if r.feature == "a" and r.class_name == "B")
    assert rule.change == pytest.approx(np.quantile(p1 - p0, 0.1), rel=1e-9)
    near = sensitivity_rules(model, x, delta=0.5, max_confidence=0.6)
    assert 0 < near[0].n_samples < 300
    with pytest.raises(ValueError, match="coverage must be in"):
        sensitivity_rules(model, x, coverage=0)
