"""Fifteenth fuzz wave, explain: NeuroRule on edge cases (constant features, one class, tiny
networks, arguments out of range).

Before this wave ``neurorule`` never returned when pruning removed every link and the training
accuracy still held (a one-class table, or ``max_accuracy_drop=1``): its pruning loop went on
removing one link of none; ``neurorule(levels=1)`` failed inside ``Linear`` and ``levels=2.5``
cut three bins.
"""

import numpy as np
import pytest

from chainrule.explain import (
    TabularData,
    neurorule,
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
    ({"levels": 1}, "levels must be an integer >= 2, got 1"),
    ({"levels": 2.5}, "levels must be an integer >= 2, got 2.5"),
    ({"prune_step": 0}, r"prune_step must be a number in \(0, 1\], got 0"),
    ({"prune_step": 1.5}, r"prune_step must be a number in \(0, 1\], got 1.5"),
    ({"max_accuracy_drop": -0.5}, r"max_accuracy_drop must be a number in \[0, 1\], got -0.5"),
    ({"epochs": -1}, "epochs must be an integer >= 0, got -1"),
    ({"table": "x"}, "table must be 'auto', 'all' or 'seen', got 'x'"),
])
def test_neurorule_refuses_arguments_before_training(kwargs, message):
    data = _table(lambda x: (x[:, 0] == 1).astype(np.int64))
    with pytest.raises(ValueError, match=message):
        neurorule(data, **kwargs)
    with pytest.raises(ValueError, match="make_encoding: levels must be an integer >= 2"):
        make_encoding(_table(lambda x: x[:, 0] > 0, categorical=False), levels=1)
