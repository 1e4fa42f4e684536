"""Fifteenth fuzz wave, explain: sensitivity analysis and NeuroRule on edge cases (constant
features, one class, tiny networks, arguments out of range).

Before this wave ``neurorule`` never returned when pruning removed every link and the training
accuracy still held (a one-class table, or ``max_accuracy_drop=1``): its pruning loop went on
removing one link of none; ``mean_abs_gradient(classes=[0.5])`` measured class 0 and
``classes=[-1]`` the last class under the label -1, silently; ``sensitivity_rules`` with
``threshold=0`` stated rules for a constant column ("if x1 rises by 0, P(class0) falls by at
least 0.00"); ``neurorule(levels=1)`` failed inside ``Linear`` and ``levels=2.5`` cut three bins.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explain import (
    TabularData,
    mean_abs_gradient,
    neurorule,
    permutation_importance,
    sensitivity_rules,
)
from chainrule.explain.tabular import make_encoding


def _table(y_of, *, categorical=True, seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, 3)) if categorical else rng.standard_normal((n, 3))
    y = y_of(x)
    k = 3 * n // 4
    names = sorted({int(v) for v in y})
    return TabularData("t", x[:k], y[:k], x[k:], y[k:], ["a", "b", "c"],
                       [f"c{c}" for c in range(max(names) + 1)], categorical=categorical)


@pytest.mark.parametrize("case", ["one_class", "accuracy_drop_1"])
def test_neurorule_returns_when_every_link_can_go(case):
    if case == "one_class":
        data, drop = _table(lambda x: np.zeros(len(x), dtype=np.int64)), 0.01
    else:
        data, drop = _table(lambda x: (x[:, 0] == 1).astype(np.int64)), 1.0
    result = neurorule(data, hidden=2, epochs=30, retrain=5, max_accuracy_drop=drop)
    assert result.metrics["links"] == 0
    assert result.rules.n_rules == 1  # the default rule alone: the majority class
    majority = np.bincount(data.y_train).argmax()
    assert (result.rules.predict(data.x_test) == majority).all()
    assert result.metrics["fidelity_test"] == 1.0


def test_neurorule_with_one_hidden_unit_and_a_constant_column():
    data = _table(lambda x: (x[:, 0] > 0).astype(np.int64), categorical=False)
    data.x_train[:, 1] = 2.5
    data.x_test[:, 1] = 2.5
    result = neurorule(data, hidden=1, epochs=200, retrain=20, max_accuracy_drop=0.0)
    assert "b" not in result.metrics["attributes_used"]
    assert result.metrics["fidelity_train"] == 1.0 and result.metrics["fidelity_test"] == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"levels": 1}, "levels must be an int >= 2, got 1"),
    ({"levels": 2.5}, "levels must be an int >= 2, got 2.5"),
    ({"prune_step": 0}, r"prune_step must be a number in \(0, 1\], got 0"),
    ({"prune_step": 1.5}, r"prune_step must be a number in \(0, 1\], got 1.5"),
    ({"max_accuracy_drop": -0.5}, r"max_accuracy_drop must be a number in \[0, 1\], got -0.5"),
    ({"epochs": -1}, "epochs must be an int >= 0, got -1"),
    ({"table": "x"}, "table must be 'auto', 'all' or 'seen', got 'x'"),
])
def test_neurorule_refuses_arguments_before_training(kwargs, message):
    data = _table(lambda x: (x[:, 0] == 1).astype(np.int64))
    with pytest.raises(ValueError, match=message):
        neurorule(data, **kwargs)
    with pytest.raises(ValueError, match=r"make_encoding: levels must be an int >= 2 \(bins per"):
        make_encoding(_table(lambda x: x[:, 0] > 0, categorical=False), levels=1)


def _mlp(seed=0, n_out=2):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Tanh(),
                         nn.Linear(4, n_out, rng=rng)).to(dtype="float64")


def test_mean_abs_gradient_refuses_classes_that_are_not_indices():
    model, x = _mlp(), np.random.default_rng(1).standard_normal((10, 3))
    full = mean_abs_gradient(model, x)
    np.testing.assert_array_equal(mean_abs_gradient(model, x, classes=[1]), full[1:])
    for bad in ([0.5], [-1], [2], [[0]]):
        with pytest.raises(ValueError, match=r"mean_abs_gradient: classes must be class indices "
                                             r"in \[0, 2\)"):
            mean_abs_gradient(model, x, classes=bad)


def test_sensitivity_rules_skip_constant_columns_and_need_a_positive_threshold():
    model = _mlp(2)
    x = np.random.default_rng(3).standard_normal((30, 3))
    x[:, 1] = 1.0
    rules = sensitivity_rules(model, x, threshold=1e-9, coverage=1.0)
    assert rules and all(r.feature != "x1" for r in rules)
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"threshold must be a probability change in "
                                             r"\(0, 1\]"):
            sensitivity_rules(model, x, threshold=bad)
    falling = sensitivity_rules(model, x, delta=-1.0, threshold=1e-9, coverage=1.0)
    assert falling and all(str(r).startswith(f"if {r.feature} falls by 1,") for r in falling)
    with pytest.raises(ValueError, match="delta must be finite"):
        sensitivity_rules(model, x, delta=np.inf)


def test_one_output_models_and_one_label_datasets():
    model = _mlp(4, n_out=1)
    x = np.random.default_rng(5).standard_normal((12, 3))
    assert sensitivity_rules(model, x, threshold=1e-6) == []  # softmax of one class is 1
    assert mean_abs_gradient(model, x).shape == (1, 3)
    assert np.abs(mean_abs_gradient(model, x)).max() == 0
    importance = permutation_importance(_mlp(6), x, np.zeros(12, dtype=np.int64), rng=0)
    assert importance["importances"].shape == (3, 5)
